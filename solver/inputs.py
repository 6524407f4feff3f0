"""Building blocks for the kinds' input models (pydantic).

Every kind's `given` is a `KindInput`: unknown fields are rejected (the pipeline adds a
"did you mean"). Helpers here parse the spellings SPEC §4 allows: shapes written as
`3x32x32`, `3×32×32`, `3,32,32` or lists, `a..b` ranges, unknowns `?` and plain symbols.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

UNKNOWN = "?"
MAX_SIZE = 1_000_000  # no course exercise has a size beyond this; it keeps searches bounded
_SYMBOL = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,30}$")
_SHAPE_SPLIT = re.compile(r"\s*[x×,*]\s*")
_RANGE = re.compile(r"^\s*(-?\d+)\s*\.\.\s*(-?\d+)\s*$")


class KindInput(BaseModel):
    """Base of every kind's `given` model."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)


def is_unknown(value: Any) -> bool:
    return value == UNKNOWN


def is_symbol(value: Any) -> bool:
    """A plain symbol name (never a sympy built-in: `S`, `N`, `E`, `I` are just letters)."""
    return isinstance(value, str) and bool(_SYMBOL.match(value)) and value != UNKNOWN


def int_or_unknown(value: Any, *, name: str = "value", minimum: int | None = None) -> int | str:
    """An integer, `?`, or a symbol name; anything else is a ValueError pydantic reports."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be an integer, '?' or a symbol, not a boolean")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        if minimum is not None and value < minimum:
            raise ValueError(f"{name} must be at least {minimum}, got {value}")
        if abs(value) > MAX_SIZE:
            raise ValueError(f"{name} {value} is larger than {MAX_SIZE:,}")
        return value
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"-?\d+", text):
            return int_or_unknown(int(text), name=name, minimum=minimum)
        if text == UNKNOWN or is_symbol(text):
            return text
    raise ValueError(f"{name} must be an integer, '?' or a symbol name, got {value!r}")


def parse_shape(value: Any, *, name: str = "shape", minimum: int = 1) -> list[int | str]:
    """`"3x32x32"`, `"3×32×32"`, `"C,H,W"`, `[3, 32, 32]` or `49` -> a list of sizes."""
    if isinstance(value, (list, tuple)):
        parts = list(value)
    elif isinstance(value, str):
        parts = _SHAPE_SPLIT.split(value.strip())
        if any(p == "" for p in parts):
            raise ValueError(f"{name} {value!r} has an empty size (write e.g. 3x32x32)")
    else:
        parts = [value]
    if not parts:
        raise ValueError(f"{name} is empty")
    return [int_or_unknown(p, name=f"{name} size", minimum=minimum) for p in parts]


def parse_int_list(value: Any, *, name: str = "value") -> list[int]:
    """An integer, a list of integers, or an inclusive range `a..b`."""
    if isinstance(value, str):
        match = _RANGE.match(value)
        if not match:
            raise ValueError(f"{name} must be an integer, a list or a range a..b, got {value!r}")
        start, stop = int(match.group(1)), int(match.group(2))
        if stop < start:
            raise ValueError(f"{name} range {value!r} is empty")
        if stop - start > 100_000:
            raise ValueError(f"{name} range {value!r} is too long")
        return list(range(start, stop + 1))
    if isinstance(value, bool):
        raise ValueError(f"{name} must be integers, not a boolean")
    if isinstance(value, int):
        return [value]
    if isinstance(value, (list, tuple)):
        out = []
        for item in value:
            if isinstance(item, bool) or not isinstance(item, int):
                raise ValueError(f"{name} must be integers, got {item!r}")
            out.append(item)
        return out
    raise ValueError(f"{name} must be an integer, a list or a range a..b, got {value!r}")


def matrix_shape(value: Any, *, name: str = "matrix") -> tuple[int, ...]:
    """Shape of a rectangular nested list of numbers; ValueError when ragged or non-numeric."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must hold numbers, not booleans")
    if isinstance(value, (int, float)):
        return ()
    if not isinstance(value, (list, tuple)) or not value:
        raise ValueError(f"{name} must be a number or a non-empty (nested) list of numbers")
    shapes = {matrix_shape(v, name=name) for v in value}
    if len(shapes) != 1:
        raise ValueError(f"{name} is ragged: its rows have different lengths")
    return (len(value),) + shapes.pop()


def matrix_value(value: Any, *, name: str) -> Any:
    """A number, a vector or a matrix (a list of rows): at most two dimensions."""
    if len(matrix_shape(value, name=name)) > 2:
        raise ValueError(f"{name} must be a matrix (a list of rows), a vector or a number")
    return value


def vector_value(value: Any, *, name: str) -> Any:
    """A number or a vector; a single row or column (1×n or n×1) counts as a vector."""
    shape = matrix_shape(value, name=name)
    if len(shape) > 1 and not (len(shape) == 2 and 1 in shape):
        raise ValueError(f"{name} must be a number or a vector")
    return value


def choice(value: Any, options: tuple[str, ...], aliases: dict[str, str] | None = None, *, name: str,
           either: bool = False, fold: dict[str, str] | None = None, upper: bool = False,
           suggest: bool = False, message: str | None = None) -> str:
    """One of a field's words: `value` trimmed and lower-cased (upper-cased with `upper`;
    characters in `fold` replaced, e.g. `{"_": "-"}`), then read through `aliases`; anything
    else is a ValueError naming the field and listing the options ("a or b" with `either`, else
    "one of a, b, c").

    With `suggest`, the message ends in " (did you mean 'x'?)" when an option is close to the
    word (difflib, as errors.did_you_mean). `message` words the error instead, a format string
    with {value} (the given value's repr), {options} (the options, comma-separated) and
    {suggestion} (the did-you-mean, or nothing)."""
    key = str(value).strip()
    key = key.upper() if upper else key.lower()
    for old, new in (fold or {}).items():
        key = key.replace(old, new)
    key = (aliases or {}).get(key, key)
    if key not in options:
        suggestion = ""
        if suggest:
            from .errors import did_you_mean

            suggestion = did_you_mean(key, options)
        if message is not None:
            raise ValueError(message.format(value=repr(value), options=", ".join(options), suggestion=suggestion))
        listing = " or ".join(options) if either else "one of " + ", ".join(options)
        raise ValueError(f"{name} must be {listing}, got {value!r}{suggestion}")
    return key


WEIGHT_LAYOUTS = ("in_out", "out_in")


def weight_layout(value: Any) -> str:
    """`in_out` (u = Wᵀx + b, W is inputs×outputs) or `out_in` (u = Wx + b); `-` reads as `_`."""
    return choice(value, WEIGHT_LAYOUTS, name="weights", either=True, fold={"-": "_"})


class LayerWeights(KindInput):
    """One fully connected layer's W and b, as the backprop and gate kinds take them."""

    W: Any = Field(description="weights: inputs×outputs (in_out) or outputs×inputs (out_in)")
    b: Any = Field(0, description="bias: a vector, or one number for every neuron")

    @field_validator("W")
    @classmethod
    def _weights(cls, value):
        return matrix_value(value, name="W")

    @field_validator("b")
    @classmethod
    def _bias(cls, value):
        return vector_value(value, name="b")


_FIGURE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


def figure_file_name(value: Any, suffixes: tuple[str, ...], *, name: str) -> str:
    """A figure's file name as a problem may give it: a plain name (letters, digits, `_`, `-`,
    `.`; at most 100 characters) ending in one of `suffixes`. A problem file is untrusted, so
    folders, `..`, `~` and absolute paths are refused: the figure goes only into the figures
    folder beside the key (SPEC §6), and only `-o` chooses where output goes."""
    text = str(value).strip() if isinstance(value, (str, int, float)) and not isinstance(value, bool) else None
    if text is None:
        raise ValueError(f"{name} must be a file name such as figure{suffixes[0]}")
    if not _FIGURE_NAME.match(text) or ".." in text:
        raise ValueError(f"{name} must be a plain file name such as figure{suffixes[0]} (letters, digits, "
                         f"'_', '-', '.'; no folders, '..', '~' or absolute paths): it is written into the "
                         f"figures folder beside the answer key, got {text[:60]!r}")
    if not text.lower().endswith(suffixes):
        raise ValueError(f"{name} must end in {', '.join(suffixes)}, got {text[:60]!r}")
    return text
