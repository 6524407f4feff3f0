"""Every catalogued mistake is recognised on random problems; the right answer draws no
diagnosis, and random wrong numbers draw none either (SPEC §9)."""

from __future__ import annotations

import copy
import random

import pytest
from judge_support import judged, solved

from solver.check import lookup, whole_field_matches
from solver.judge.diagnose import _mistaken_answers
from solver.judge.mistakes import catalogue

_SIZES = {"kernel": (1, 5), "padding": (0, 3), "stride": (1, 3), "dilation": (1, 3), "filters": (1, 16)}


def _perturb(value, key, rng):
    """A random problem of the same form as the mistake's example."""
    if isinstance(value, dict):
        return {k: _perturb(v, k, rng) for k, v in value.items()}
    if isinstance(value, list):
        return [_perturb(v, key, rng) for v in value]
    if isinstance(value, bool):
        return value
    if key in _SIZES and isinstance(value, int):
        low, high = _SIZES[key]
        return max(low, min(high, value + rng.randint(-1, 2))) if key != "dilation" or value > 1 else 1
    if key == "input" and isinstance(value, str) and "x" in value:
        parts = value.split("x")
        size = rng.randint(7, 40)
        return "x".join([parts[0]] + [str(size)] * (len(parts) - 1))
    if key == "lr":
        return round(rng.uniform(0.05, 0.3), 3)
    if key == "x0":
        return rng.choice([-3, -2, -1, 1, 2, 3])
    if key == "pos":
        return rng.randint(1, 60)
    if key in ("W", "U", "V", "b", "x", "inputs") and isinstance(value, (int, float)):
        return round(rng.uniform(-1, 1), 3)
    return value


def _cases(mistake, kind, count, seed):
    rng = random.Random(seed)
    example = mistake.example
    for _ in range(count):
        given = _perturb(copy.deepcopy(example["given"]), None, rng)
        extra = {"decimals": example["decimals"]} if "decimals" in example else {}
        result = solved(kind, given, **extra)
        if result.error is not None:
            continue
        answers, _ = _mistaken_answers(mistake, result)
        if answers is None:
            continue
        try:
            value, right = lookup(answers, example["field"]), lookup(result.solution.answers, example["field"])
        except KeyError:
            continue
        if whole_field_matches(value, right, result.decimals, kind, example["field"]):
            continue  # the slip changes nothing for this problem
        yield given, extra, value, right


def _nest(field, value):
    if "." in field and "[" not in field:
        head, tail = field.split(".", 1)
        return {head: {tail: value}}
    return {field: value}


_ALL = [(m, kind) for m in catalogue() for kind in m.kinds]


@pytest.mark.parametrize("mistake,kind", _ALL, ids=[f"{k}:{m.id}" for m, k in _ALL])
def test_injected_mistake_is_recognised(mistake, kind):
    field = mistake.example["field"]
    found = 0
    for given, extra, value, right in _cases(mistake, kind, 20, sum(map(ord, mistake.id + kind))):
        report = judged(kind, given, _nest(field, value), **extra)
        rows = [d for d in report.mismatches if d.field.startswith(field.split("[")[0])]
        assert rows and report.verdict == "mismatch", (given, value, right)
        assert mistake.id in {d["mistake"] for d in rows[0].diagnosis}, (given, value, rows[0].diagnosis)
        right_report = judged(kind, given, _nest(field, right), **extra)
        assert right_report.verdict == "match" and not right_report.mismatches
        found += 1
    assert found >= 3, f"only {found} random problems where {mistake.id} changes {field}"


def _nudged(value, rng):
    if isinstance(value, list):
        return [_nudged(v, rng) for v in value]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    if isinstance(value, int):
        return value + rng.choice([-7, 5, 11, 13])
    return value * rng.uniform(1.13, 1.37) + rng.choice([-0.37, 0.41])


@pytest.mark.parametrize("kind,given,field", [
    ("conv-shape", {"input": "3x32x32", "kernel": 5, "padding": 2, "stride": 2, "filters": 6}, "output"),
    ("network", {"input": "3x32x32", "layers": "conv 8 3 padding=1 | maxpool 2 | fc 10"}, "totals.params"),
    ("optimize", {"f": "x**2", "x0": 2, "lr": 0.1, "steps": 3, "method": "momentum"}, "x3"),
    ("posenc", {"pos": 7, "dims": "0..5", "d_model": 16}, "PE"),
    ("backprop", {"x": [0.5, -1], "target": [1], "loss": "mse", "lr": 0.5,
                  "layers": [{"W": [[0.3, -0.2], [0.8, 0.1]], "b": 0.1, "activation": "tanh"},
                             {"W": [[0.5], [-0.4]], "b": 0, "activation": "sigmoid"}]}, "grad_W1"),
])
def test_random_wrong_numbers_draw_no_diagnosis(kind, given, field):
    rng = random.Random(7)
    right = lookup(solved(kind, given).solution.answers, field)
    for _ in range(15):
        report = judged(kind, given, _nest(field, _nudged(right, rng)))
        assert report.verdict == "mismatch"
        assert all(not d.diagnosis for d in report.mismatches), report.mismatches[0].diagnosis


def test_follow_through_of_optimize_rnn_and_backprop():
    # x1 wrong (uphill), x2 computed correctly from it: x2 follows, x1 is a diagnosed mismatch.
    report = judged("optimize", {"f": "x**2", "x0": 2, "lr": 0.1, "steps": 2}, {"x1": 2.4, "x2": 1.92})
    assert [f.field for f in report.follows] == ["x2"] and report.follows[0].sources == ["x1"]
    assert report.verdict == "mismatch" and report.mismatches[0].diagnosis[0]["mistake"] == "gradient-sign"
    rnn = {"cell": "elman", "U": [[0.5]], "W": [[0.4]], "inputs": [[1], [0.5]]}
    import math

    h2 = math.tanh(0.5 * 0.5 + 0.4 * 0.9)
    report = judged("rnn", rnn, {"h1": [0.9], "h2": [h2]})
    assert [f.field for f in report.follows] == ["h2"], (report.follows, report.mismatches)
    backprop = {"x": [1, 2], "target": [1], "loss": "mse", "layers": [{"W": [[0.1], [0.2]], "b": 0,
                                                                       "activation": "sigmoid"}]}
    report = judged("backprop", backprop, {"delta1": [0.5], "grad_W1": [[0.5], [1.0]]})
    assert [f.field for f in report.follows] == ["grad_W1", "grad_W1"]


def test_a_mistake_is_found_after_a_wrong_earlier_step():
    # x1 = 1.5 is wrong (no mistake explains it); x2 goes uphill from the student's own 1.5.
    given = {"f": "x**2", "x0": 2, "lr": 0.1, "steps": 2}
    report = judged("optimize", given, {"x1": 1.5, "x2": 1.5 + 0.1 * 2 * 1.5})
    rows = {d.field: d for d in report.mismatches}
    assert not rows["x1"].diagnosis and rows["x2"].diagnosis[0]["mistake"] == "gradient-sign"
    rnn = {"cell": "elman", "U": [[0.5]], "W": [[0.4]], "V": [[1.5]], "inputs": [[1], [0.5], [0.2]]}
    from solver.judge.mistakes import solve_given

    jordan = solve_given("rnn", {**rnn, "cell": "jordan", "inputs": [[0.5], [0.2]], "y0": [0.3]}, decimals=4)
    report = judged("rnn", rnn, {"y1": [0.3], "h1": [0.1], "h3": jordan["h2"]})
    assert "jordan-elman-swapped" in {d["mistake"] for r in report.mismatches if r.field == "h3"
                                      for d in r.diagnosis}


def test_a_coincidence_names_both_mistakes():
    # Padding 1 and stride 1: H + P − 2 + 1 and H + 2P − 2 are the same number.
    given = {"input": "3x10x10", "kernel": 3, "padding": 1, "stride": 1, "filters": 4}
    report = judged("conv-shape", given, {"output": "4x9x9"})
    named = {d["mistake"] for d in report.mismatches[0].diagnosis}
    assert named == {"padding-once", "missing-plus-one"}
    from solver.render.check import diagnosis_sentence

    assert diagnosis_sentence(report.mismatches[0].diagnosis).startswith("Likely one of these mistakes")
