"""Whatever value a problem file puts in a kind's field, the answer is a solution or a bad-input
message (exit 2), never an internal error: every kind's template with each field replaced, in
turn, by each value of a pool of awkward ones (wrong types, signs, sizes, words, expressions)."""

from __future__ import annotations

import copy

import pytest

from solver.errors import InternalError
from solver.pipeline import solve_problem
from solver.registry import get_kind, kind_names
from solver.spec import LineMap

AWKWARD = [0, -1, 1, 2, 3, 7, 2.5, -0.5, 10**9, True, False, None, "", "?", "x", "abc", "3x3", "0x3",
           "1..3", "3..1", [], [0], [1, 2], [[1, 2], [3, 4]], [[1], [2, 3]], [[[1]]], {"a": 1}, [None],
           ["a", "b"], "same", "valid", "full", "relu", "sigmoid", "softmax", "causal", "lstm", "gru",
           "nan", float("nan"), float("inf"), -1e308, [[0.5, -1], [2, 0]], [1.5, -2, 0], "x**2",
           "sin(x)", "1/0", "log(0)", "sqrt(-1)", "exp(1000)", "9**9**9"]


@pytest.mark.parametrize("name", kind_names())
def test_awkward_field_values_never_give_an_internal_error(name):
    kind = get_kind(name)
    failures = []
    for field in sorted(kind.input_model.model_fields):
        for value in AWKWARD:
            given_values = copy.deepcopy(dict(kind.template or {}))
            given_values[field] = copy.deepcopy(value)
            problem = {"id": "p", "kind": name, "given": given_values, "find": []}
            result = solve_problem(problem, file="fuzz.yaml", lines=LineMap(), prefix=(), decimals=None)
            if isinstance(result.error, InternalError):
                failures.append(f"{field} = {value!r}: {result.error}")
    assert not failures, "\n".join(failures)
