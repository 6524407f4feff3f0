"""How `given` values are read before a kind sees them: an explicit null is "not given" (the
default applies), and values a kind cannot use are bad input (exit 2), never an internal error.
Cases found by feeding every kind random field values."""

from __future__ import annotations

import pytest
from helpers import solve_text

from solver.errors import InternalError


def solved(problem: str):
    return solve_text("problems:\n  - " + problem).problems[0]


@pytest.mark.parametrize("without, with_null", [
    ("{id: a, kind: conv-design, given: {input: 32, kernel: 5, stride: 1, output: same}}",
     "{id: a, kind: conv-design, given: {input: 32, kernel: 5, stride: 1, output: same, dilation: null}}"),
    ("{id: a, kind: conv-shape, given: {input: 10x11, kernel: 3, stride: 2}}",
     "{id: a, kind: conv-shape, given: {input: 10x11, kernel: 3, stride: 2, padding: , filters: ~}}"),
])
def test_a_null_field_takes_its_default(without, with_null):
    plain, nulled = solved(without), solved(with_null)
    assert plain.error is None and nulled.error is None, (plain.error, nulled.error)
    assert nulled.answers == plain.answers


@pytest.mark.parametrize("problem, field", [
    ("{id: a, kind: derive, given: {template: softmax-cross-entropy, seed: -1}}", "seed"),
    ("{id: a, kind: conv-shape, given: {input: full, kernel: 5}}", "input"),
    ("{id: a, kind: conv-shape, given: {input: 3x32x32, kernel: 5, stride: same}}", "stride"),
])
def test_unusable_values_are_bad_input(problem, field):
    result = solved(problem)
    assert result.error is not None and not isinstance(result.error, InternalError), result.error
    assert result.error.field == field and result.error.exit_code == 2


def test_a_rejected_problem_leaves_nothing_alive():
    """The error kept in a result holds no traceback: the frames of the failed solve (and the
    result itself, through pydantic-core's error objects) would otherwise never be freed."""
    import gc
    import weakref

    from solver.pipeline import solve_problem
    from solver.spec import LineMap

    problem = {"id": "p", "kind": "conv-design", "find": [],
               "given": {"input": 32, "kernel": 5, "output": "same", "stride": 2.5}}
    result = solve_problem(problem, file="f.yaml", lines=LineMap(), prefix=(), decimals=None)
    assert result.error is not None and result.error.field == "stride"
    alive = weakref.ref(result)
    del result
    gc.collect()
    assert alive() is None
