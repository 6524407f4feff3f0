"""`rnn` for the built-in cells without PyTorch: the exam's Jordan network (exact and hand-rounded)
against a plain-Python recomputation, conventions, bad input, and the exact terminal text."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from solver.numbers import round_half_away
from helpers import REPO, render_text, solve_text

EXAM_GIVEN = {
    "cell": "jordan", "weights": "in_out", "U": [[0.2, 0.3], [0.8, 0.9]], "W": [[2.0, 1.0]],
    "V": [[0.2], [-0.2]], "b": 0.2, "c": 0.2, "y0": [1.0], "inputs": [[1.5, 1.0], [-3.0, 2.0]],
    "activations": {"hidden": "tanh", "output": "sigmoid"},
}


def problem_set(given: dict, **extra) -> str:
    return yaml.safe_dump({"problems": [{"id": "p", "kind": "rnn", "given": given, **extra}]}, sort_keys=False)


def solve_one(given: dict, **extra):
    result = solve_text(problem_set(given, **extra)).problems[0]
    return result


def jordan_by_hand(decimals: int | None = None) -> list[tuple[list[float], float]]:
    """The exam's network written out with math only: h(t) = tanh(Uᵀx + Wᵀy(t−1) + b),
    y(t) = σ(Vᵀh + c); with `decimals`, every quantity rounded as a hand calculation does."""
    keep = (lambda v: round_half_away(v, decimals)) if decimals is not None else (lambda v: v)
    U, W, V, b, c = [[0.2, 0.3], [0.8, 0.9]], [2.0, 1.0], [0.2, -0.2], 0.2, 0.2
    y, out = 1.0, []
    for x in ([1.5, 1.0], [-3.0, 2.0]):
        u = [keep(U[0][j] * x[0] + U[1][j] * x[1] + W[j] * y + b) for j in range(2)]
        h = [keep(math.tanh(v)) for v in u]
        o = keep(V[0] * h[0] + V[1] * h[1] + c)
        y = keep(1 / (1 + math.exp(-o)))
        out.append((h, y))
    return out


def test_exam_jordan_network_matches_plain_recomputation():
    result = solve_one(EXAM_GIVEN, decimals=4)
    assert result.error is None, result.error
    for t, (h, y) in enumerate(jordan_by_hand(), 1):
        assert result.answers[f"h{t}"] == pytest.approx(h, abs=1e-12)
        assert result.answers[f"y{t}"] == pytest.approx([y], abs=1e-12)
    # The exam key's outputs, which the recomputation confirms at four decimals.
    assert [round_half_away(result.answers[f"y{t}"][0], 4) for t in (1, 2)] == [0.5503, 0.5524]


def test_exam_jordan_network_hand_rounded():
    result = solve_one(EXAM_GIVEN, decimals=4, round_intermediate=True)
    for t, (h, y) in enumerate(jordan_by_hand(decimals=4), 1):
        assert result.answers[f"h{t}"] == h
        assert result.answers[f"y{t}"] == [y]
    pre_activation = next(s for s in result.solution.steps if s.formula is not None
                          and s.formula.lhs.name == "u_h[2]")
    # The key's 2.3006 and 1.6503 come from the rounded y(1) = 0.5503.
    assert [round(v, 4) for v in pre_activation.value[:, 0]] == [2.3006, 1.6503]


def test_course_problems_solve_and_check():
    from solver.check import check_problem
    from solver.pipeline import solve_file

    result = solve_file(REPO / "problems/course/004-final-exam.yaml", only={"4a-jordan-rnn", "4a-jordan-rnn-hand-rounded"})
    assert [p.error for p in result.problems] == [None, None]
    assert [check_problem(p).verdict for p in result.problems] == ["match", "match"]


def test_conformance_rnn_file_solves(shared_dir: Path):
    from solver.pipeline import solve_file

    result = solve_file(shared_dir / "conformance" / "rnn.yaml")
    assert result.exit_code == 0
    assert all(p.answers for p in result.problems)


def test_elman_out_in_equals_in_out_with_transposed_weights():
    base = {"cell": "elman", "U": [[0.5, -0.3], [0.2, 0.1]], "W": [[0.1, 0.2], [-0.3, 0.4]],
            "b": [0.1, -0.1], "V": [[1.0], [-1.0]], "inputs": [[1, 2], [0.5, -1]],
            "activations": {"output": "sigmoid"}, "loss": "bce", "targets": [1, 0]}
    flipped = dict(base, weights="out_in", U=[[0.5, 0.2], [-0.3, 0.1]], W=[[0.1, -0.3], [0.2, 0.4]],
                   V=[[1.0, -1.0]])
    a, b = solve_one(base).answers, solve_one(flipped).answers
    assert a["y2"] == pytest.approx(b["y2"], abs=1e-14)
    for name in ("grad_U", "grad_W", "grad_V"):  # each gradient is shaped like its weights
        np.testing.assert_allclose(np.array(a[name]), np.array(b[name]).T, atol=1e-14)


def test_gradient_self_check_is_reported():
    given = dict(EXAM_GIVEN, loss="mse", targets=[[1], [0]])
    result = solve_one(given)
    checks = result.solution.checks
    gradient = [c for c in checks if "finite differences" in c.description]
    assert len(gradient) == 1 and all(c.passed for c in checks), checks
    notes = " ".join(s.text for s in result.solution.steps)
    assert "Vanishing or exploding" in notes and "products of Jacobians" not in result.solution.conventions


def test_vanishing_note_reports_product_of_jacobian_norms():
    """Elman, linear hidden units: ∂h(t)/∂h(t−1) = Wᵀ exactly, so the product is W^(T−1)ᵀ."""
    W = [[0.5, 0.1], [0.0, 0.4]]
    given = {"cell": "elman", "U": [[1.0, 0.0]], "W": W, "inputs": [1, 0, 0, 0],
             "activations": {"hidden": "linear"}, "loss": "sse", "targets": [None, None, None, [1, 1]]}
    table = next(s.table for s in solve_one(given).solution.steps if s.table is not None
                 and s.table.title == "products of Jacobians for the given weights")
    product = np.linalg.matrix_power(np.array(W).T, 3)
    assert table.rows[-1][2] == pytest.approx(np.linalg.norm(product, 2), rel=1e-12)
    assert table.rows[0][1] == pytest.approx(np.linalg.norm(np.array(W), 2), rel=1e-12)


def test_numeric_rnn_does_not_import_sympy_torch_or_matplotlib():
    import subprocess
    import sys

    code = ("import sys; from solver.cli import main\n"
            "try:\n main(['rnn', '--cell', 'lstm', '--gates', "
            "'{i: {U: [[1]], W: [[1]]}, f: {U: [[1]], W: [[1]]}, g: {U: [[1]], W: [[1]]}, o: {U: [[1]], W: [[1]]}}', "
            "'--inputs', '[1, 2]', '--loss', 'sse', '--targets', '[0, 1]', '--format', 'json'])\n"
            "except SystemExit: pass\n"
            "print(sorted(m for m in ('sympy', 'torch', 'matplotlib') if m in sys.modules), file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert done.stderr.strip().splitlines()[-1] == "[]", done.stderr
    assert '"grad_U"' in done.stdout


# --- bad input --------------------------------------------------------------------------------------

SIMPLE = {"cell": "elman", "U": [[1.0, 0.5]], "W": [[0.1, 0.0], [0.0, 0.1]], "inputs": [[1], [2]]}
LSTM_GATES = {q: {"U": [[1.0]], "W": [[0.5]]} for q in "ifgo"}


@pytest.mark.parametrize("change, field, words", [
    ({"U": [[1.0, 0.5], [0.2, 0.1]]}, "U", "must be 1×2"),
    ({"W": [[0.1, 0.0]]}, "W", "must be 2×2"),
    ({"inputs": [[1], [2, 3]]}, "inputs.1", "input 1 has 1"),
    ({"b": [1, 2, 3]}, "b", "must have 2"),
    ({"cell": "jordan"}, "V", "feeds its output back"),
    ({"cell": "elmann"}, "cell", "must be one of"),
    ({"loss": "mse"}, "targets", "give targets too"),
    ({"loss": "mse", "targets": [[0, 0]]}, "targets", "2 time steps"),
    ({"loss": "hinge", "targets": [[0, 0], [0, 0]]}, "loss", "must be one of"),
    ({"activations": {"hidden": "swish"}}, "activations", "must be one of"),
    ({"activations": {"output": "sigmoid"}}, "activations.output", "give V"),
    ({"V": [[1.0], [2.0]], "activations": {"output": "softmax"}}, "activations.output", "always 1"),
    ({"gates": {"i": {"U": [[1]], "W": [[1]]}}}, "gates", "not used by the elman cell"),
    ({"y0": [1.0]}, "y0", "Jordan"),
    ({"equations": ["h = x"]}, "equations", "custom cell"),
    ({"U": [[1.0, "a"]]}, "U", ""),
])
def test_bad_simple_input_names_the_field(change, field, words):
    result = solve_one(dict(SIMPLE, **change))
    assert result.error is not None and result.error.exit_code == 2
    assert result.error.field == field, result.error
    assert words in result.error.message


@pytest.mark.parametrize("gates, field, words", [
    ({q: LSTM_GATES[q] for q in "ifg"}, "gates", "needs gates i, f, g, o"),
    (dict(LSTM_GATES, g={"U": [[1.0, 2.0]], "W": [[0.5]]}), "gates.g.U", "must be 1×1"),
    (dict(LSTM_GATES, o={"U": [[1.0]], "W": [[0.5]], "b_hn": 1}), "gates.o.b_hn", "GRU"),
    (dict(LSTM_GATES, o={"U": [[1.0]], "Wx": [[0.5]]}), "gates.o.Wx", "unknown field"),
])
def test_bad_gate_input_names_the_field(gates, field, words):
    result = solve_one({"cell": "lstm", "gates": gates, "inputs": [1, 2]})
    assert result.error is not None and result.error.field == field, result.error
    assert words in result.error.message


def test_a_saturated_log_loss_is_bad_input_not_a_crash():
    given = dict(SIMPLE, U=[[100.0, 100.0]], V=[[100.0], [100.0]], activations={"output": "sigmoid"},
                 loss="bce", targets=[[0], [0]])
    result = solve_one(given)
    assert result.error is not None and result.error.field == "targets"


# --- exact text -------------------------------------------------------------------------------------

# The exam's network as a hand calculation; its numbers are those of jordan_by_hand(4) above.
EXPECTED_TEXT = """\
p  (rnn)
  Given: cell = jordan, weights = in_out, U = [[0.2, 0.3], [0.8, 0.9]], W = [[2, 1]], V = [0.2; 
-0.2], b = 0.2, c = 0.2, y0 = [1], inputs = [[1.5, 1], [-3, 2]], activations = {hidden: tanh, 
output: sigmoid}
  Convention: weights: in_out — every weight matrix is inputs × outputs and acts as Wᵀx (u = Uᵀx + 
Wᵀh + b).
  Convention: Activations: hidden tanh, output sigmoid.
  Every intermediate value is rounded to 4 decimals (hand calculation).
  1. Dimensions: D = 2 inputs, H = 2 hidden units, O = 1 outputs, T = 2 time steps. Vectors are 
columns.
     ┏━━━━━━━━━━━━━┳━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┓              
     ┃    quantity ┃ rows×columns ┃                                           meaning┃              
     ┡━━━━━━━━━━━━━╇━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┩              
     │        x(t) │          2×1 │                                   input at step t│              
     │           U │          2×2 │                            input → hidden weights│              
     │           W │          1×2 │ output(t−1) → hidden(t) weights (Jordan feedback)│              
     │           b │          2×1 │                                       hidden bias│              
     │u_h(t), h(t) │          2×1 │                   hidden pre-activation and state│              
     │           V │          2×1 │                           hidden → output weights│              
     │           c │          1×1 │                                       output bias│              
     │u_y(t), y(t) │          1×1 │                  output pre-activation and output│              
     └─────────────┴──────────────┴──────────────────────────────────────────────────┘              
  2. Parameter count of the recurrent layer (with its output layer).
     ┏━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━┓                                  
     ┃   convention ┃                        formula ┃ parameters┃                                  
     ┡━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━┩                                  
     │as given here │ all given matrices and vectors │         11│                                  
     └──────────────┴────────────────────────────────┴───────────┘                                  
  3. b = 0.2 is the bias of every hidden unit.
  4. c = 0.2 is the bias of every output unit.
  5. t = 1: hidden pre-activation from the input and the previous output (Jordan feedback) (2×1).
     u_h(1) = Uᵀx(1) + Wᵀy(0) + b = [[0.2, 0.3], [0.8, 0.9]]ᵀ[1.5; 1] + [[2, 1]]ᵀ[1] + [0.2; 0.2] =
       ⎡ 3.3000 ⎤
       ⎣ 2.5500 ⎦
  6. Hidden state h(1) = tanh(u_h(1)).
     h(1) = tanh(u_h(1)) = tanh([3.3; 2.55]) =
       ⎡ 0.9973 ⎤
       ⎣ 0.9879 ⎦
  7. Output pre-activation (1×1).
     u_y(1) = Vᵀh(1) + c = [0.2; −0.2]ᵀ[0.9973; 0.9879] + [0.2] =
       [ 0.2019 ]
  8. Output y(1) = sigmoid(u_y(1)) (1×1).
     y(1) = σ(u_y(1)) = σ([0.2019]) =
       [ 0.5503 ]
  9. t = 2: hidden pre-activation from the input and the previous output (Jordan feedback) (2×1).
     u_h(2) = Uᵀx(2) + Wᵀy(1) + b = [[0.2, 0.3], [0.8, 0.9]]ᵀ[−3; 2] + [[2, 1]]ᵀ[0.5503] + [0.2; 
0.2] =
       ⎡ 2.3006 ⎤
       ⎣ 1.6503 ⎦
  10. Hidden state h(2) = tanh(u_h(2)).
     h(2) = tanh(u_h(2)) = tanh([2.3006; 1.6503]) =
       ⎡ 0.9801 ⎤
       ⎣ 0.9289 ⎦
  11. Output pre-activation (1×1).
     u_y(2) = Vᵀh(2) + c = [0.2; −0.2]ᵀ[0.9801; 0.9289] + [0.2] =
       [ 0.2102 ]
  12. Output y(2) = sigmoid(u_y(2)) (1×1).
     y(2) = σ(u_y(2)) = σ([0.2102]) =
       [ 0.5524 ]
  Answer h1 = [0.9973, 0.9879]
  Answer y1 = [0.5503]
  Answer h2 = [0.9801, 0.9289]
  Answer y2 = [0.5524]

"""


def test_exact_terminal_text_of_the_exam_network():
    text = render_text(solve_text(problem_set(EXAM_GIVEN, decimals=4, round_intermediate=True)))
    assert text == EXPECTED_TEXT
