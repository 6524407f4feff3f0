"""Whatever a problem file holds, the answer is a solution, a bad-input message (exit 2) or a
check verdict, never an internal error: every kind's template with each field replaced, in
turn, by each value of a pool of awkward ones (wrong types, signs, sizes, words, expressions),
and the same values claimed as answers for `check`."""

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


@pytest.mark.parametrize("name", kind_names())
def test_awkward_claimed_answers_are_compared_without_failing(name):
    """`check` on a hand-written key: whatever a claimed answer holds, the verdict is match,
    mismatch or error, never an exception."""
    from solver.check import check_problem

    kind = get_kind(name)
    problem = {"id": "p", "kind": name, "given": dict(kind.template or {}), "find": []}
    result = solve_problem(problem, file="key.yaml", lines=LineMap(), prefix=(), decimals=None)
    assert result.error is None, result.error
    failures = []
    for answer in [*list(result.answers)[:6], "not_an_answer"]:
        for value in AWKWARD:
            result.claimed = {answer: copy.deepcopy(value)}
            try:
                verdict = check_problem(result).verdict
            except Exception as exc:  # noqa: BLE001 - any exception is the failure under test
                failures.append(f"{answer} = {value!r}: {type(exc).__name__}: {exc}")
                continue
            assert verdict in ("match", "mismatch", "error")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("name", kind_names())
def test_awkward_pairs_of_field_values_never_give_an_internal_error(name):
    """Two fields replaced at once (a number beside a symbol, a list beside a word), drawn
    reproducibly by hypothesis."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    kind = get_kind(name)
    fields = sorted(kind.input_model.model_fields)

    @settings(max_examples=150, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(st.tuples(st.sampled_from(fields), st.sampled_from(AWKWARD)),
           st.tuples(st.sampled_from(fields), st.sampled_from(AWKWARD)))
    def check(first, second):
        given_values = copy.deepcopy(dict(kind.template or {}))
        for field, value in (first, second):
            given_values[field] = copy.deepcopy(value)
        problem = {"id": "p", "kind": name, "given": given_values, "find": []}
        result = solve_problem(problem, file="fuzz.yaml", lines=LineMap(), prefix=(), decimals=None)
        assert not isinstance(result.error, InternalError), (given_values, str(result.error))

    check()


PROBLEM_KEYS = ["id", "kind", "title", "notes", "given", "find", "decimals", "round_intermediate",
                "answer", "vary"]


def test_awkward_problem_keys_and_defaults_never_give_an_internal_error():
    """Whole problem files: the problem keys and the file's `defaults` set to awkward values,
    solved and checked (2,000 files, drawn from a fixed seed)."""
    import random

    import yaml

    from solver.check import check_problem
    from solver.errors import DlsolveError
    from solver.pipeline import solve_problem_set
    from solver.spec import load_problem_set

    rng = random.Random(0)
    failures = []
    for number in range(2000):
        name = rng.choice(kind_names())
        problem = {"id": f"p{number}", "kind": name, "given": copy.deepcopy(dict(get_kind(name).template or {}))}
        for _ in range(rng.randint(1, 3)):
            key = rng.choice(PROBLEM_KEYS)
            value = copy.deepcopy(rng.choice(AWKWARD))
            problem[key] = {rng.choice(["output", "x1", "J", "PE", "W1", "answer"]): value} \
                if key in ("answer", "vary") and rng.random() < 0.7 else value
        document = {"problems": [problem]}
        if rng.random() < 0.3:
            document["defaults"] = {rng.choice(PROBLEM_KEYS): copy.deepcopy(rng.choice(AWKWARD))}
        text = yaml.safe_dump(document)
        try:
            results = solve_problem_set(load_problem_set(text, "f.yaml"))
            for result in results.problems:
                assert not isinstance(result.error, InternalError), str(result.error)
                check_problem(result)
        except DlsolveError as error:
            if isinstance(error, InternalError):
                failures.append(f"{text}\n{error}")
        except Exception as exc:  # noqa: BLE001 - any other exception is the failure under test
            failures.append(f"{text}\n{type(exc).__name__}: {exc}")
    assert not failures, "\n\n".join(failures[:3])
