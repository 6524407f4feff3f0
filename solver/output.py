"""Writing output files atomically: a temporary file beside the target, then a rename.

A reader sees the old file or the new one, never half of one; a crash in between leaves at
most a stray temporary file. Used for answer keys, figures, and the training run folders.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path to write to; it becomes `path` when the block ends without error.

    For writers that want a file name (savefig, np.savez, torch.save): the suffix is kept,
    since they choose the format from it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix)
    os.close(handle)
    try:
        yield Path(temp_name)
        os.chmod(temp_name, 0o666 & ~_umask())  # mkstemp makes owner-only files
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def write_atomic(path: str | Path, data: str | bytes) -> None:
    with atomic_path(path) as temp:
        with open(temp, "wb") as handle:
            handle.write(data.encode("utf-8") if isinstance(data, str) else data)
            handle.flush()
            os.fsync(handle.fileno())


def write_json(path: str | Path, value: object) -> None:
    write_atomic(path, json.dumps(value, indent=2, sort_keys=False) + "\n")


def draw_atomic(path: str | Path, draw: Callable[[Path], None]) -> None:
    """Let `draw(tmp_path)` write a figure, then move it into place."""
    with atomic_path(path) as temp:
        draw(temp)
