"""PyTorch training checkpoints without pickle (SPEC §6).

`torch.save` writes a pickle, and even `torch.load(weights_only=True)` runs an unpickler on
whatever file `--resume` finds. A checkpoint here is a NumPy `.npz` archive instead, read with
`allow_pickle=False`: the tensors as arrays, and the structure around them (dicts with text
or integer keys, lists, tuples, numbers, text, None) as JSON in the entry `__tree__`. A file
that is not such an archive, or one whose structure is malformed, is one DataError.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

from .data import DataError

_TREE = "__tree__"


def save_tree(path: Path, tree: Any) -> None:
    """Write `tree` (the training state: nested containers of tensors and plain values)."""
    import numpy as np

    arrays: dict[str, Any] = {}
    encoded = _encode(tree, arrays)
    arrays[_TREE] = np.array(json.dumps(encoded))
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)


def load_tree(path: Path, device: Any = "cpu") -> Any:
    """Read a checkpoint written by `save_tree`; tensors are placed on `device`."""
    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in stored.files}
        encoded = json.loads(str(arrays.pop(_TREE)))
        return _decode(encoded, arrays, device)
    except (OSError, ValueError, KeyError, TypeError, IndexError, EOFError, zipfile.BadZipFile,
            json.JSONDecodeError, RecursionError) as error:
        raise DataError(f"{path}: not a readable dlsolve checkpoint ({type(error).__name__}: "
                        f"{str(error)[:120]}); start without --resume or remove the file") from None


def _encode(value: Any, arrays: dict) -> Any:
    import numpy as np

    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dict):
        return {"dict": [[_key(key), _encode(item, arrays)] for key, item in value.items()]}
    if isinstance(value, (list, tuple)):
        return {"list" if isinstance(value, list) else "tuple": [_encode(item, arrays) for item in value]}
    if isinstance(value, np.ndarray):
        name = f"a{len(arrays)}"
        arrays[name] = value
        return {"array": name}
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor
        name = f"a{len(arrays)}"
        arrays[name] = value.detach().cpu().numpy()
        return {"tensor": name}
    if hasattr(value, "item"):  # a NumPy scalar
        return value.item()
    raise TypeError(f"a checkpoint cannot hold {type(value).__name__}")


def _key(key: Any) -> Any:
    if isinstance(key, (str, int)) and not isinstance(key, bool):
        return key
    raise TypeError(f"a checkpoint key must be text or an integer, not {type(key).__name__}")


def _decode(value: Any, arrays: dict, device: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if not isinstance(value, dict) or len(value) != 1:
        raise ValueError("malformed checkpoint structure")
    (kind, content), = value.items()
    if kind == "dict":
        return {_key(key): _decode(item, arrays, device) for key, item in content}
    if kind in ("list", "tuple"):
        items = [_decode(item, arrays, device) for item in content]
        return items if kind == "list" else tuple(items)
    if kind == "array":
        return arrays[content]
    if kind == "tensor":
        import torch

        return torch.from_numpy(arrays[content].copy()).to(device)
    raise ValueError(f"unknown entry {kind!r} in the checkpoint")
