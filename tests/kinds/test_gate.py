"""gate: every designed network's truth table checked exhaustively with an independent NumPy
forward pass against Python's own logic operators; given networks verified; `check` claims
matched by truth table; the command line; bad input; the rendered key."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
import yaml

from solver.check import check_problem
from solver.context import Context
from solver.errors import BadInput
from solver.kinds.mlp.gate import GateInput, solve

from helpers import REPO, answers_of, render_text, solve_text

# The gates written with Python's operators, independently of the solver's tables.
LOGIC = {
    "AND": lambda a, b: a & b, "OR": lambda a, b: a | b, "NAND": lambda a, b: 1 - (a & b),
    "NOR": lambda a, b: 1 - (a | b), "XOR": lambda a, b: a ^ b, "XNOR": lambda a, b: 1 - (a ^ b),
    "NOT": lambda a: 1 - a,
}


def arity(gate: str) -> int:
    return 1 if gate == "NOT" else 2


def numpy_network_output(weights, biases, activation, inputs, layout="in_out") -> int:
    """Hidden units σ(u) or step(u); the answer is 1 when the output pre-activation is ≥ 0."""
    h = np.array(inputs, dtype=float)
    for index, (W, b) in enumerate(zip(weights, biases)):
        W = np.array(W, dtype=float)
        u = (W.T @ h if layout == "in_out" else W @ h) + np.array(b, dtype=float)
        if index == len(weights) - 1:
            return int(u[0] >= 0)
        h = 1 / (1 + np.exp(-u)) if activation == "sigmoid" else (u >= 0).astype(float)
    raise AssertionError("no layers")


def design(gate: str, activation: str) -> dict:
    return solve(GateInput.model_validate({"gate": gate, "activation": activation}), Context()).answers


@pytest.mark.parametrize("activation", ["sigmoid", "step"])
@pytest.mark.parametrize("gate", list(LOGIC))
def test_designed_network_passes_the_truth_table_exhaustively(gate, activation):
    answers = design(gate, activation)
    layers = len(answers["layers"])
    weights = [answers[f"W{l}"] for l in range(1, layers + 1)]
    biases = [answers[f"b{l}"] for l in range(1, layers + 1)]
    for inputs in itertools.product((0, 1), repeat=arity(gate)):
        assert numpy_network_output(weights, biases, activation, inputs) == LOGIC[gate](*inputs), inputs
    expected_table = [list(r) + [LOGIC[gate](*r)] for r in itertools.product((0, 1), repeat=arity(gate))]
    assert answers["truth_table"] == expected_table
    # Integer-friendly: integer weights, biases in steps of one half.
    assert all(float(w) == int(w) for W in weights for row in W for w in row)
    assert all(float(2 * b) == int(2 * b) for b_l in biases for b in b_l)


@pytest.mark.parametrize("gate", list(LOGIC))
def test_smallest_structure(gate):
    # XOR and XNOR are not linearly separable (no line splits their 1s from their 0s) and need a
    # hidden layer of two; every other gate here is one threshold unit.
    expected = [2, 1] if gate in ("XOR", "XNOR") else [1]
    assert design(gate, "step")["layers"] == expected


def test_xor_explains_why_one_neuron_fails():
    solution = solve(GateInput.model_validate({"gate": "XOR"}), Context())
    text = " ".join(step.text for step in solution.steps)
    assert "not linearly separable" in text and "w1 + w2 + 2b" in text
    and_text = " ".join(s.text for s in solve(GateInput.model_validate({"gate": "AND"}), Context()).steps)
    assert "not linearly separable" not in and_text


VERIFY = [
    # (gate, activation, layout, network, implements the gate?)
    ("XOR", "step", "in_out", [{"W": [[1, 1], [1, 1]], "b": [-0.5, -1.5]}, {"W": [[1], [-1]], "b": -0.5}], True),
    ("XOR", "sigmoid", "in_out", [{"W": [[20, -20], [20, -20]], "b": [-10, 30]}, {"W": [[20], [20]], "b": -30}], True),
    ("XOR", "sigmoid", "in_out", [{"W": [[1, 1], [1, 1]], "b": [-0.5, -1.5]}, {"W": [[1], [-1]], "b": -0.5}], False),
    ("XNOR", "step", "out_in", [{"W": [[1, 1], [-1, -1]], "b": [-1.5, 0.5]}, {"W": [[1, 1]], "b": -0.5}], True),
    ("AND", "step", "in_out", [{"W": [[1], [1]], "b": -0.5}], False),
    ("NOT", "sigmoid", "in_out", [{"W": [[-1]], "b": -0.5}], False),
    ("NOT", "sigmoid", "in_out", [{"W": -1, "b": 0.5}], True),
]


@pytest.mark.parametrize("gate, activation, layout, network, implements", VERIFY)
def test_verifying_a_given_network(gate, activation, layout, network, implements):
    answers = solve(GateInput.model_validate({"gate": gate, "activation": activation, "weights": layout,
                                              "network": network}), Context()).answers
    weights = [np.atleast_2d(np.array(layer["W"], dtype=float)).tolist() for layer in network]
    biases = [np.atleast_1d(np.array(layer["b"], dtype=float)).tolist() for layer in network]
    rows = list(itertools.product((0, 1), repeat=arity(gate)))
    outputs = [numpy_network_output(weights, biases, activation, r, layout) for r in rows]
    assert answers["truth_table"] == [list(r) + [o] for r, o in zip(rows, outputs)]
    assert answers["passes"] is (outputs == [LOGIC[gate](*r) for r in rows]) is implements


def _checked(claims: dict, gate="XOR", activation="sigmoid"):
    text = yaml.safe_dump({"problems": [{"id": "q", "kind": "gate", "given": {"gate": gate, "activation": activation},
                                         "answer": claims}]})
    return check_problem(solve_text(text).problems[0])


def test_check_accepts_any_network_that_passes_and_rejects_one_that_does_not():
    good = _checked({"W1": [[20, -20], [20, -20]], "b1": [-10, 30], "W2": [[20], [20]], "b2": [-30]})
    assert good.verdict == "match"
    bad = _checked({"W1": [[1, 1], [1, 1]], "b1": [-0.5, -1.5], "W2": [[1], [-1]], "b2": [-0.5]})
    assert bad.verdict == "mismatch"
    # With step units the same network is a correct XOR.
    assert _checked({"W1": [[1, 1], [1, 1]], "b1": [-0.5, -1.5], "W2": [[1], [-1]], "b2": [-0.5]},
                    activation="step").verdict == "match"
    assert _checked({"layers": [1]}).verdict == "mismatch"  # XOR needs [2, 1]


def test_course_gates_and_conformance(shared_dir):
    course = answers_of((REPO / "problems" / "course" / "003-gradient-descent-gelu.yaml").read_text())
    assert course["2-gate-xor"]["layers"] == [2, 1] and course["2-gate-and"]["layers"] == [1]
    problems = yaml.safe_load((shared_dir / "conformance" / "misc.yaml").read_text())["problems"]
    gates = [p for p in problems if p["kind"] == "gate"]
    result = solve_text(yaml.safe_dump({"problems": gates}))
    assert gates and all(p.error is None and p.answers for p in result.problems)


def test_command_line_gate_xor():
    from typer.testing import CliRunner

    from solver.cli import build_app

    done = CliRunner().invoke(build_app("gate"), ["gate", "XOR", "--format", "json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["problems"][0]["answers"]["layers"] == [2, 1]


@pytest.mark.parametrize("given, field", [
    ({"gate": "XAND"}, "gate"),
    ({"gate": "AND", "activation": "relu"}, "activation"),
    ({"gate": "AND", "weights": "rows"}, "weights"),
    ({"gate": "AND", "network": []}, "network"),
    ({"gate": "AND", "network": [{"W": [[1, 1], [1, 1]], "b": 0}]}, "network.0.W"),
    ({"gate": "AND", "network": [{"W": [[1], [1], [1]], "b": 0}]}, "network.0.W"),
    ({"gate": "AND", "network": [{"W": [[1, 1], [1, 1]], "b": [0, 0, 0]}, {"W": [[1], [1]]}]}, "network.0.b"),
    ({"gate": "AND", "network": [{"W": [[1], [1]], "bias": 0}]}, "network.0.bias"),
])
def test_bad_input_names_the_field(given, field):
    result = solve_text(json.dumps({"problems": [{"id": "bad", "kind": "gate", "given": given}]}))
    error = result.problems[0].error
    assert isinstance(error, BadInput), error
    assert error.field == field, (error.field, error.message)


EXAMPLE = """
problems:
  - id: and
    kind: gate
    title: AND with one threshold unit
    given: {gate: AND, activation: step}
"""

# By hand: u = A + B − 1.5 is ≥ 0 only for A = B = 1.
EXPECTED_TEXT = (
    'and — AND with one threshold unit  (gate)\n'
    '  Given: gate = AND, activation = step\n'
    '  Convention: activation step: every unit outputs 1 when its pre-activation u ≥ 0, else 0\n'
    '  Convention: weights in_out: W is inputs×outputs, u = Wᵀx + b\n'
    '  1. The truth table of AND: each row is a classification example.\n'
    '     ┏━━┳━━━┳━━━━┓                                                                                  \n'
    '     ┃A ┃ B ┃ AND┃                                                                                  \n'
    '     ┡━━╇━━━╇━━━━┩                                                                                  \n'
    '     │0 │ 0 │   0│                                                                                  \n'
    '     │0 │ 1 │   0│                                                                                  \n'
    '     │1 │ 0 │   0│                                                                                  \n'
    '     │1 │ 1 │   1│                                                                                  \n'
    '     └──┴───┴────┘                                                                                  \n'
    '  2. The smallest network found: a single neuron (searched layer sizes from the smallest, weights in\n'
    '{−2, …, 2}, biases in {±0.5, ±1.5, ±2.5}).\n'
    '     [1]\n'
    '  3. Weights of the output layer (inputs×outputs, u = Wᵀx + b).\n'
    '     ⎡ 1 ⎤\n'
    '     ⎣ 1 ⎦\n'
    '  4. Bias of the output layer.\n'
    '     [-1.5]\n'
    '  5. Every input row through the network (the answer is 1 when u_out ≥ 0).\n'
    '     verified truth table                                                                           \n'
    '     ┏━━┳━━━┳━━━━━━━┳━━━━━━━━┳━━━━━┳━━━┓                                                            \n'
    '     ┃A ┃ B ┃ u_out ┃ output ┃ AND ┃ ok┃                                                            \n'
    '     ┡━━╇━━━╇━━━━━━━╇━━━━━━━━╇━━━━━╇━━━┩                                                            \n'
    '     │0 │ 0 │  -1.5 │      0 │   0 │  ✓│                                                            \n'
    '     │0 │ 1 │  -0.5 │      0 │   0 │  ✓│                                                            \n'
    '     │1 │ 0 │  -0.5 │      0 │   0 │  ✓│                                                            \n'
    '     │1 │ 1 │   0.5 │      1 │   1 │  ✓│                                                            \n'
    '     └──┴───┴───────┴────────┴─────┴───┘                                                            \n'
    '  ✓ the network reproduces AND on all 4 rows\n'
    '  Answer layers = [1]\n'
    '  Answer W1 =\n'
    '     ⎡ 1 ⎤\n'
    '     ⎣ 1 ⎦\n'
    '  Answer b1 = [-1.5]\n'
    '  Answer truth_table =\n'
    '     ⎡ 0  0  0 ⎤\n'
    '     ⎢ 0  1  0 ⎥\n'
    '     ⎢ 1  0  0 ⎥\n'
    '     ⎣ 1  1  1 ⎦\n'
    '\n'
)


def test_rendered_example_exactly():
    assert render_text(solve_text(EXAMPLE)) == "".join(EXPECTED_TEXT)
