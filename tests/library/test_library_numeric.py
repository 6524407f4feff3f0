"""Every numeric problem of the library (problems/course and problems/examples) against an
independent oracle (tests/library/library_oracles.py: PyTorch layers, autograd and optimisers,
NumPy, closed-form formulas, truth tables).

The oracles read each problem's `given` as written in its file, so a problem added to the
library later is pinned too. Hand-rounded problems (`round_intermediate`) are recomputed the way
a person does it on paper, rounding every written-down quantity.
"""

from __future__ import annotations

import random
import re

import numpy as np
import pytest
import sympy

import library_oracles as oracle
from library_support import is_custom_cell, library_keys


def compare(problem, expected: dict, rtol=1e-9, atol=1e-12):
    """Every expected answer must be present and agree; dict answers compare key by key."""
    assert problem.error is None, problem.error
    assert expected, "the oracle produced nothing to compare"
    for name, value in expected.items():
        assert name in problem.answers, f"{problem.id}: no answer {name!r} (has {sorted(problem.answers)})"
        actual = problem.answers[name]
        if isinstance(value, dict):
            assert isinstance(actual, dict) and set(actual) == set(value), f"{problem.id}.{name}"
            for key in value:
                oracle.assert_close(actual[key], value[key], rtol, atol, f"{problem.id}.{name}.{key}")
        elif isinstance(value, list) and value and isinstance(value[0], np.ndarray):
            for index, part in enumerate(value):
                oracle.assert_close(actual[index], part, rtol, atol, f"{problem.id}.{name}[{index}]")
        else:
            oracle.assert_close(actual, value, rtol, atol, f"{problem.id}.{name}")


# --- closed-form and layer-by-layer kinds -----------------------------------------------------------


@pytest.mark.parametrize("key", library_keys("posenc"))
def test_posenc_problems(library, key):
    problem = library[key]
    compare(problem, oracle.posenc(problem.given), rtol=1e-12)


@pytest.mark.parametrize("key", library_keys("activation"))
def test_activation_problems(library, key):
    problem = library[key]
    compare(problem, oracle.activation(problem.given))


@pytest.mark.parametrize("key", library_keys("batchnorm"))
def test_batchnorm_problems(library, key):
    problem = library[key]
    compare(problem, oracle.batchnorm(problem.given))


@pytest.mark.parametrize("key", library_keys("attention"))
def test_attention_problems(library, key):
    problem = library[key]
    compare(problem, oracle.attention(problem.given))


@pytest.mark.parametrize("key", library_keys("convolve"))
def test_convolve_problems(library, key):
    problem = library[key]
    compare(problem, oracle.convolve(problem.given))


@pytest.mark.parametrize("key", library_keys("layer"))
def test_layer_problems(library, key):
    problem = library[key]
    compare(problem, oracle.layer(problem.given))


@pytest.mark.parametrize("key", library_keys("loss"))
def test_loss_problems(library, key):
    problem = library[key]
    compare(problem, oracle.loss(problem.given))


@pytest.mark.parametrize("key", library_keys("optimize"))
def test_optimize_problems(library, key):
    problem = library[key]
    compare(problem, oracle.optimize(problem.given), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("key", library_keys("backprop"))
def test_backprop_problems(library, key):
    problem = library[key]
    if problem.round_intermediate:
        compare(problem, oracle.backprop_hand_rounded(problem.given, problem.decimals), atol=1e-12)
    else:
        compare(problem, oracle.backprop(problem.given))


@pytest.mark.parametrize("key", library_keys("rnn", where=lambda raw: not is_custom_cell(raw)))
def test_rnn_problems(library, key):
    """Elman, Jordan, LSTM and GRU cells (custom cells: test_library_symbolic.py)."""
    problem = library[key]
    if problem.round_intermediate:
        compare(problem, oracle.rnn_hand_rounded(problem.given, problem.decimals), atol=1e-12)
    else:
        compare(problem, oracle.rnn(problem.given))


@pytest.mark.parametrize("key", library_keys("rnn-unroll"))
def test_rnn_unroll_problems(library, key):
    problem = library[key]
    compare(problem, oracle.rnn_unroll(problem.given))


# --- gate: any network that passes the truth table ------------------------------------------------


@pytest.mark.parametrize("key", library_keys("gate"))
def test_gate_problems(library, key):
    problem = library[key]
    given, answers = problem.given, problem.answers
    gate, activation = given["gate"], given.get("activation", "sigmoid")
    if "network" in given:  # verify a given network: its own truth table, and whether it is the gate
        layers = [(layer["W"], layer["b"]) for layer in given["network"]]
        table = oracle.gate_table(layers, gate, activation)
        assert answers["truth_table"] == table
        assert answers["passes"] is (table == oracle.gate_rows(gate))
        return
    layers = [(answers[f"W{l}"], answers[f"b{l}"]) for l in range(1, len(answers["layers"]) + 1)]
    assert oracle.gate_table(layers, gate, activation) == oracle.gate_rows(gate) == answers["truth_table"]
    # The smallest network: one unit when the gate is linearly separable, else one hidden layer of two.
    separable = gate not in ("XOR", "XNOR")
    assert answers["layers"] == ([1] if separable else [2, 1])


# --- conv-shape and conv-design: PyTorch's layers, brute-force search for unknowns ---------------------


def _unknown_fields(given: dict) -> list[str]:
    return [name for name, value in given.items() if value == "?"]


def _is_symbolic(given: dict) -> bool:
    values = [v for v in given.values() if isinstance(v, str) and v != "?"]
    values += [v for v in given.values() if isinstance(v, list) for v in v if isinstance(v, str)]
    return any(re.fullmatch(r"[A-Za-z_]\w*", v) for v in values)


SYMBOL_RANGES = {"C": (1, 4), "H": (12, 40), "W": (12, 40), "K": (1, 5), "P": (0, 2), "S": (1, 3),
                 "D": (1, 2), "F": (1, 8)}


def _symbolic_conv_shape(problem):
    """The answer's formulas evaluated at random sizes must give PyTorch's output shape."""
    given = problem.given
    rng = random.Random(7)
    for _ in range(25):
        values = {name: rng.randint(*bounds) for name, bounds in SYMBOL_RANGES.items()}
        numeric = {}
        for field, value in given.items():
            if isinstance(value, list):
                numeric[field] = [values.get(v, v) for v in value]
            else:
                numeric[field] = values.get(value, value) if isinstance(value, str) else value
        spatial = numeric["input"][1:]
        if min(spatial) + 2 * numeric.get("padding", 0) < numeric.get("dilation", 1) * (numeric["kernel"] - 1) + 1:
            continue
        expected = oracle.conv_shape_numeric(numeric)
        symbols = {name: sympy.Symbol(name) for name in values}
        formula_values = [sympy.parse_expr(str(entry), local_dict={**symbols, "floor": sympy.floor})
                          .subs({symbols[n]: v for n, v in values.items()}) for entry in problem.answers["output"]]
        assert [int(v) for v in formula_values] == expected, (values, problem.answers["output"])


def _search_unknowns(problem):
    """All integer values of the unknown field that give the stated output (filters from its channels)."""
    given = problem.given
    unknown = [u for u in _unknown_fields(given) if u != "filters"]
    wanted = oracle.parse_shape_text(given["output"])
    overrides = {"filters": wanted[0]} if "filters" in _unknown_fields(given) else {}
    spatial = oracle.split_conv_input(oracle.parse_shape_text(given["input"]))[1]
    assert len(unknown) == 1, unknown
    field = unknown[0]
    start = 0 if field == "padding" else 1
    solutions = [value for value in range(start, max(spatial) + 3)
                 if oracle.conv_shape_numeric(given, **overrides, **{field: value}) == wanted]
    expected = {field: solutions[0] if len(solutions) == 1 else solutions, "output": wanted}
    if overrides:
        expected["filters"] = overrides["filters"]
    return expected


@pytest.mark.parametrize("key", library_keys("conv-shape"))
def test_conv_shape_problems(library, key):
    problem = library[key]
    assert problem.error is None, problem.error
    if _is_symbolic(problem.given):
        _symbolic_conv_shape(problem)
    elif _unknown_fields(problem.given):
        expected = _search_unknowns(problem)
        for name, value in expected.items():
            if isinstance(problem.answers[name], dict):  # infinitely many: every value from min on
                rule = problem.answers[name]
                far = oracle.conv_shape_numeric(problem.given, **{name: 100 * rule["min"] + 7})
                assert rule["min"] == value[0] and value == list(range(value[0], value[-1] + 1)), (rule, value)
                assert far == expected["output"], (rule, far)
                continue
            assert problem.answers[name] == value, (name, problem.answers[name], value)
    else:
        assert problem.answers["output"] == oracle.conv_shape_numeric(problem.given)


@pytest.mark.parametrize("key", library_keys("conv-design"))
def test_conv_design_problems(library, key):
    problem = library[key]
    given, answers = problem.given, problem.answers
    assert problem.error is None, problem.error
    if given.get("pool") == "avg":
        # The answer's kernel, stride and padding, run as a depthwise convolution, must equal
        # PyTorch's average pooling on a random 3-channel map.
        x = oracle.torch.rand(1, 3, 9, 9, dtype=oracle.torch.float64)
        kernel = oracle.torch.tensor(answers["kernel_values"], dtype=oracle.torch.float64).expand(3, 1, -1, -1)
        pooled = oracle.F.avg_pool2d(x, given["pool_kernel"], given.get("pool_stride", given["pool_kernel"]),
                                     given.get("pool_padding", 0))
        conv = oracle.F.conv2d(x, kernel, stride=answers["pool_stride"], padding=answers["pool_padding"], groups=3)
        oracle.assert_close(conv, pooled, what=problem.id)
        assert answers["pool_kernel"] == given["pool_kernel"]
        return
    size, kernel = given["input"], given["kernel"]
    wanted = size if given["output"] == "same" else given["output"]
    field = "stride" if "stride" not in given else "padding"

    def output_with(value):
        stride = value if field == "stride" else given["stride"]
        padding = value if field == "padding" else given["padding"]
        return oracle.torch_conv_output([size], kernel, stride, padding, given.get("dilation", 1))

    start = 1 if field == "stride" else 0
    solutions = [v for v in range(start, size + kernel + 2) if output_with(v) == [wanted]]
    if not solutions:
        assert isinstance(answers[field], str) and answers[field], "an explanation why none exists"
    elif isinstance(answers[field], dict):  # an unbounded set: every stride from min on
        assert solutions[-1] == size + kernel + 1 and answers[field]["min"] == solutions[0]
    else:
        assert answers[field] == (solutions[0] if len(solutions) == 1 else solutions)


# --- tensor and text: nothing to compute beyond their form --------------------------------------------


@pytest.mark.parametrize("key", library_keys("tensor"))
def test_tensor_problems(library, key):
    problem = library[key]
    array = np.array(problem.answers["tensor"])
    assert list(array.shape) == oracle.parse_shape_text(problem.given["shape"])
    wanted = problem.given.get("dtype", "int")
    assert array.dtype.kind == ("i" if wanted == "int" else "f")


@pytest.mark.parametrize("key", library_keys("text"))
def test_text_problems_pass_their_answer_through(library, key):
    problem = library[key]
    assert problem.error is None, problem.error
    assert problem.answers == {"answer": problem.given["answer"]}
    assert problem.raw.get("title"), "every written question has a title of its own"
