"""Kind `tensor`: an example tensor of a given shape, written as nested lists (as in Python)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from ..context import Context
from ..errors import BadInput
from ..inputs import KindInput, parse_shape
from ..registry import register
from ..steps import Solution

_MAX_ELEMENTS = 10_000
_MAX_LITERAL_ELEMENTS = 1_000  # a longer Python literal is left to the JSON answer


class TensorInput(KindInput):
    shape: Any = Field(description="the shape, e.g. [2, 1, 3] or 2x1x3")
    dtype: Literal["int", "float"] = Field("int", description="element type")

    @field_validator("shape")
    @classmethod
    def _shape(cls, value):
        sizes = parse_shape(value, name="shape")
        if any(not isinstance(s, int) for s in sizes):
            raise ValueError("shape sizes must be numbers")
        return sizes


def _fill(shape: list[int], counter: list[int], as_float: bool):
    if not shape:
        counter[0] += 1
        return float(counter[0]) if as_float else counter[0]
    return [_fill(shape[1:], counter, as_float) for _ in range(shape[0])]


@register(
    "tensor",
    TensorInput,
    summary="An example tensor of a given shape as nested lists, with how the shape reads "
            "(outermost size first).",
    answers={"tensor": "an example nested list of that shape (elements 1, 2, 3, … in row-major order), "
                       "shown as its Python literal"},
    example='--shape "[2, 1, 3]"',
    template={"shape": [2, 1, 3], "dtype": "int"},
)
def solve(given: TensorInput, ctx: Context) -> Solution:
    sol = Solution()
    count = 1
    for size in given.shape:
        count *= size
    if count > _MAX_ELEMENTS:
        raise BadInput(f"the tensor would have {count:,} elements; the limit is {_MAX_ELEMENTS:,}",
                       field="shape")
    for depth, size in enumerate(given.shape):
        level = "the outermost list" if depth == 0 else f"each list at depth {depth}"
        noun = "element" if depth == len(given.shape) - 1 else "list"
        sol.note(f"Size {size} at axis {depth}: {level} holds {size} {noun}{'s' if size != 1 else ''}.")
    tensor = _fill(list(given.shape), [0], given.dtype == "float")
    sol.add(f"{count} elements filled in row-major order (the last axis varies fastest).",
            value=tensor, answer="tensor")
    if count <= _MAX_LITERAL_ELEMENTS:
        # The exercise asks for the tensor as a Python list: the key shows the literal itself
        # (repr of nested lists), which torch.tensor() turns back into this shape.
        literal = repr(tensor)
        sol.note(f"As a Python list: {literal}")
        sol.answer_latex["tensor"] = r"\texttt{" + literal + "}"
    return sol
