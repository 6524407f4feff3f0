"""Writing output files atomically, and only where output may go (SPEC §5, §6).

A reader sees the old file or the new one, never half of one. The temporary file is removed
on any exception, and on SIGINT, SIGTERM and SIGHUP (the command line turns them into
exceptions); only SIGKILL, which no process can handle, can leave a `.dlsolve-*` file behind.
Used for answer keys, figures, and training run folders.

An output replaces only a regular file or a new path: never a device, a FIFO or a folder,
and never an input of the same run (`solve a.yaml -o a.yaml`).
"""

from __future__ import annotations

import errno
import json
import os
import stat
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
    refuse_special(path)
    # A short fixed prefix: `.{name}.XXXX` would fail for names near the 255-byte limit.
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=".dlsolve-", suffix=path.suffix[:16])
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


def refuse_special(path: Path) -> None:
    """An output may replace a regular file or take a new path, nothing else."""
    try:
        status = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return
    if stat.S_ISDIR(status.st_mode):
        raise IsADirectoryError(errno.EISDIR, "it is a folder", str(path))
    if not stat.S_ISREG(status.st_mode):
        raise SpecialFileError(errno.EPERM, "it is not a regular file (a device, FIFO or socket); "
                                            "only regular files are replaced", str(path))


class SpecialFileError(OSError):
    """The output path names a device, FIFO or socket."""


def write_json(path: str | Path, value: object) -> None:
    write_atomic(path, json.dumps(value, indent=2, sort_keys=False) + "\n")


def draw_atomic(path: str | Path, draw: Callable[[Path], None]) -> None:
    """Let `draw(tmp_path)` write a figure, then move it into place."""
    with atomic_path(path) as temp:
        draw(temp)


# --- where a run's outputs go ------------------------------------------------------------------


def input_files(file_results) -> list[Path]:
    """The problem files a run read (not the command line or standard input)."""
    return [Path(result.file) for result in file_results
            if result.file not in ("command line", "-", "<stdin>")]


def refuse_input(path: Path, inputs: list[Path]) -> None:
    """An output never replaces a file the same run read."""
    if not path.exists():
        return
    for source in inputs:
        try:
            if os.path.samefile(path, source):
                raise SameAsInputError(errno.EEXIST, "it is one of this run's problem files; choose "
                                                     "another output", str(path))
        except FileNotFoundError:
            continue


class SameAsInputError(OSError):
    """The output path is a file the run reads."""


def output_names(files: list[str], suffix: str) -> list[Path]:
    """File names for one output per input under `-o DIR/`: the input's stem, or, when two
    inputs share a stem, the input tree mirrored from the folder the inputs have in common
    (`a/x.yaml` and `b/x.yaml` give `a/x.md` and `b/x.md`), so no key overwrites another."""
    files = ["stdin.yaml" if file == "<stdin>" else file for file in files]  # standard input: stdin.EXT
    stems = [Path(file).stem for file in files]
    if len(set(stems)) == len(stems):
        return [Path(stem + suffix) for stem in stems]
    resolved = [Path(os.path.abspath(file)) for file in files]
    common = Path(os.path.commonpath([str(path.parent) for path in resolved]))
    relative = [path.relative_to(common) for path in resolved]
    names = [path.with_suffix(suffix) for path in relative]
    if len(set(names)) < len(names):  # x.yaml and x.yml side by side: keep the input's suffix
        names = [path.with_name(path.name + suffix) for path in relative]
    return names


def write_requested_figures(problems, folder: Path, inputs: list[Path]) -> None:
    """Write the figures problems asked for by file name (`diagram: lenet.svg`) into `folder`.
    Names were checked to be plain when the problem was read; here a link, a special file, a
    file of this run's input or a name two problems share is refused: the problem becomes an
    error entry naming the field."""
    from .errors import BadInput

    written: set[str] = set()
    for problem in problems:
        if problem.solution is None:
            continue
        for figure in problem.solution.figures:
            if not figure.file:
                continue
            target = folder / figure.file
            field = "diagram" if "diagram" in problem.given else "picture"
            try:
                if figure.file in written:
                    raise BadInput(f"another problem of this run also writes {figure.file}; give each "
                                   "figure its own name")
                if target.is_symlink():
                    raise BadInput(f"{target} is a link; figures are written only as regular files in "
                                   "the figures folder")
                refuse_input(target, inputs)
                draw_atomic(target, figure.draw)
                written.add(figure.file)
            except (BadInput, OSError) as exc:
                message = exc.message if isinstance(exc, BadInput) else f"cannot write {target}: {exc.strerror or exc}"
                problem.error = BadInput(message, file=problem.file, problem_id=problem.id, field=field,
                                         line=problem.line)
                problem.solution = None
                break
