"""The shapes values take, independent of how they are written: NumPy arrays and tuples as
plain lists, whether a value is a sympy expression, how deep a list nests. `check`, `vary`,
the judge and the renderers all use these; the writing itself is in render/values.py."""

from __future__ import annotations

from typing import Any


def is_sympy(value: Any) -> bool:
    return type(value).__module__.startswith("sympy")


def to_plain(value: Any) -> Any:
    """NumPy arrays and scalars to Python lists and numbers; tuples to lists."""
    if hasattr(value, "tolist") and hasattr(value, "dtype"):
        return value.tolist()
    if isinstance(value, tuple):
        return [to_plain(v) for v in value]
    if isinstance(value, list):
        return [to_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items()}
    return value


def depth(value: Any) -> int:
    """Nesting depth of a list (0 for a scalar)."""
    d = 0
    while isinstance(value, list) and value:
        d += 1
        value = value[0]
    return d
