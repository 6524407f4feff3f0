"""Helpers shared by the `layer` and `loss` kinds: reading numeric arrays from `given`, naming
single elements, and writing an element's sum of products with its numbers.

No heavy imports at top level: NumPy is imported inside the functions that build arrays.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

from ...errors import BadInput
from ...formula import Expr, Num, Sym
from ...inputs import matrix_shape

MAX_ELEMENTS = 20_000  # a hand-calculation kind: bigger arrays belong to the training module
FIRST_SHOWN = 3  # elements of each quantity worked in full unless `show: all`
ALL_SHOWN_UP_TO = 400  # `show: all` works at most this many elements of one quantity
MAX_TERMS_WRITTEN = 36  # a longer sum is written as Σ over the two arrays it multiplies


def numeric_array(value: Any, name: str, *, allow_scalar: bool = True) -> Any:
    """Validate a number or a rectangular nested list of finite numbers (pydantic validator)."""
    if isinstance(value, str):
        raise ValueError(f"{name} must be a number or a nested list of numbers, got {value!r}")
    shape = matrix_shape(value, name=name)
    if not shape and not allow_scalar:
        raise ValueError(f"{name} must be a (nested) list of numbers, not a single number")
    if math.prod(shape) > MAX_ELEMENTS:
        raise ValueError(f"{name} has {math.prod(shape):,} values; at most {MAX_ELEMENTS:,} are worked by hand")
    for item in _flat(value):
        if not isinstance(item, (int, float)) or isinstance(item, bool):
            raise ValueError(f"{name} must hold numbers, got {item!r}")
        if item != item or abs(item) == float("inf"):
            raise ValueError(f"{name} must hold finite numbers")
    return value


def _flat(value):
    if isinstance(value, (list, tuple)):
        for item in value:
            yield from _flat(item)
    else:
        yield value


def array(value: Any):
    import numpy as np

    return np.asarray(value, dtype=float)


def shape_text(shape) -> str:
    return "×".join(str(s) for s in shape) if len(shape) else "a single number"


def require_shape(arr, expected: tuple, field: str, what: str) -> None:
    if tuple(arr.shape) != tuple(expected):
        raise BadInput(f"{field} has shape {shape_text(arr.shape)} but must be {shape_text(expected)} "
                       f"({what})", field=field)


TEXT_NAMES = {"x_hat": "x̂", "dx_hat": "dx̂", "dgamma": "dγ", "dbeta": "dβ", "mean": "μ", "var": "σ²"}


def element_symbol(name: str, index: tuple, latex_name: str | None = None) -> Sym:
    """`dx[1, 2]`: indices counted from 1, as the key says."""
    shown = ", ".join(str(i + 1) for i in index)
    base = latex_name or (rf"\mathrm{{{name}}}" if len(name) > 1 else name)
    text = TEXT_NAMES.get(name, name)
    if not index:
        return Sym(f"{name}_el", text=text, latex=base)
    return Sym(f"{name}_" + "_".join(map(str, index)), text=f"{text}[{shown}]", latex=f"{base}[{shown}]")


def shown_indices(shape: tuple, show: str, limit: int | None = None) -> list[tuple]:
    """Which elements get their full working: the first few in row-major order, or all (at most
    ALL_SHOWN_UP_TO, and at most `limit` where each element costs a pass of the layer)."""
    count = ALL_SHOWN_UP_TO if show == "all" else FIRST_SHOWN
    if limit is not None:
        count = min(count, max(FIRST_SHOWN, limit))
    everything = itertools.product(*(range(s) for s in shape))
    return list(itertools.islice(everything, count))


def sum_expr(items: list[Expr]) -> Expr:
    out = items[0]
    for item in items[1:]:
        out = out + item
    return out


def products_expr(pairs: list[tuple[float, float]], extra: float | None = None) -> Expr:
    """a₁·b₁ + a₂·b₂ + … (+ extra) with the numbers written in."""
    terms: list[Expr] = [Num(a) * Num(b) for a, b in pairs]
    if extra is not None:
        terms.append(Num(extra))
    return sum_expr(terms) if terms else Num(0.0)


def plain(value):
    """A NumPy array or scalar as nested lists of Python floats."""
    if hasattr(value, "tolist"):
        return value.tolist()
    return value
