"""Kind `derive`: the course's symbolic questions (regressions with independently computed
values), the exact terminal text of one worked example, the other outputs, `check`, the
command line, and bad input naming its field."""

from __future__ import annotations

import json
import random

import pytest

torch = pytest.importorskip("torch")

from helpers import REPO, render_text, solve_text  # noqa: E402
from solver.check import check_problem  # noqa: E402
from solver.parse import compile_numeric, parse_expression  # noqa: E402
from solver.pipeline import solve_file  # noqa: E402


def solved(path) -> dict:
    result = solve_file(path)
    assert result.error is None and not [p.error for p in result.problems if p.error]
    return {p.id: p for p in result.problems}


def one(given: dict, **envelope):
    text = json.dumps({"problems": [{"id": "q", "kind": "derive", "given": given, **envelope}]})
    return solve_text(text).problems[0]


# --- course problems --------------------------------------------------------------------


def test_course_conv1d_derivatives():
    # 002 §1.1(c): C = 2, L = 5, k = 3, s = 2. Sizes independently from torch's conv1d.
    problem = solved(REPO / "problems" / "course" / "002-cnn-rnn-theory.yaml")["1.1c-conv1d-derivatives"]
    answers = problem.answers
    out = torch.nn.functional.conv1d(torch.zeros(1, 2, 5), torch.zeros(1, 2, 3), stride=2)
    length = out.shape[-1]  # 2
    assert answers["output_length"] == length
    assert answers["shape_f"] == [1, length]
    assert answers["shape_df_dW"] == [length, 2, 3]
    assert answers["shape_df_dx"] == [length, 2, 5]
    assert answers["shape_grad_W"] == [1, 2, 3]
    assert answers["f"] == "sum[c=1..2](sum[j=1..3](W[c, j] * x[c, 2 * (i - 1) + j]))"
    assert answers["grad_W"] == "sum[i=1..2](dl_df[i] * x[c, 2 * (i - 1) + j])"
    assert all(check.passed for check in problem.solution.checks)


def test_course_gated_rnn():
    # 002 §1.2(b)-(c): c[t] has the size m of h[t]; ∂ℓ/∂W_x is m × n (W_x's shape).
    answers = solved(REPO / "problems" / "course" / "002-cnn-rnn-theory.yaml")["1.2b-c-gated-rnn"].answers
    assert answers["shape_c"] == ["m"]
    assert answers["shape_grad_Wx"] == ["m", "n"]
    assert answers["grad_Wx"] == "sum[t=1..K]((delta[t] * (1 - c[t])) @ x[t].T)"
    assert answers["delta"] == "dl_dh[t] + c[t+1] * delta[t+1] + Wh.T @ eps[t+1]"


def test_course_softmax_and_input_gradient():
    # 003 Problem 3: the answers' values are checked against autograd in test_derive_templates.
    problems = solved(REPO / "problems" / "course" / "003-gradient-descent-gelu.yaml")
    assert problems["3a-softmax-ce-gradient"].answers["grad_f2"] == "o - y"
    input_gradient = problems["3b-mlp-input-gradient"].answers
    assert input_gradient["grad_x"] == "((o - y) @ W2.T * a * (1 - a)) @ W1.T"
    assert input_gradient["shape_grad_x"] == [1, "N"]
    assert input_gradient["shape_grad_W1"] == ["N", "M"]


def test_course_linear_neuron_layouts():
    # 004 Q1(b): W is n × K (y = Wᵀx + b). Autograd values in test_derive_templates.
    problems = solved(REPO / "problems" / "course" / "004-final-exam.yaml")
    plain = problems["1b-i-linear-neuron-gradients"].answers
    assert plain["grad_W"] == "-2 * x @ (d - y).T" and plain["shape_grad_W"] == ["n", "K"]
    assert plain["grad_y"] == plain["grad_b"] == "-2 * (d - y)"
    penalised = problems["1b-ii-linear-neuron-l2"].answers
    assert penalised["grad_W"] == "-2 * x @ (d - y).T + 2 * beta * W"
    assert penalised["grad_b"] == "-2 * (d - y)"


@pytest.mark.parametrize("problem_id, loss", [
    ("1b-scalar-neuron-dJ-dw", lambda w, b, x, d, beta: (d - (w * x + b)) ** 2),
    ("1b-scalar-neuron-l2", lambda w, b, x, d, beta: (d - (w * x + b)) ** 2 + beta * w ** 2),
])
def test_course_scalar_neuron_against_autograd(problem_id, loss):
    answers = solved(REPO / "problems" / "course" / "004-final-exam.yaml")[problem_id].answers
    rng = random.Random(problem_id)
    names = ("w", "b", "x", "d", "beta")
    for _ in range(5):
        point = {n: torch.tensor(rng.uniform(-2, 2), dtype=torch.float64, requires_grad=True) for n in names}
        loss(**point).backward()
        for var in ("w", "b"):
            derived = compile_numeric(parse_expression(answers[f"grad_{var}"]), names)
            value = derived(*[float(point[n].detach()) for n in names])
            assert value == pytest.approx(float(point[var].grad), rel=1e-12)


def test_conformance_derive_problems_solve(shared_dir):
    result = solve_text((shared_dir / "conformance" / "misc.yaml").read_text())
    derive = [p for p in result.problems if p.kind == "derive"]
    assert len(derive) == 3 and all(p.error is None for p in derive)
    # dJ/dw of (d − (wx + b))² is −2x(d − wx − b): compared at a point with autograd.
    w, b, x, d = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (0.3, -0.2, 1.5, 0.7))
    ((d - (w * x + b)) ** 2).backward()
    claim = compile_numeric(parse_expression(derive[0].answers["grad_w"]), ("w", "b", "x", "d"))
    assert claim(0.3, -0.2, 1.5, 0.7) == pytest.approx(float(w.grad), rel=1e-12)


# --- rendering ------------------------------------------------------------------------------

EXAMPLE = """\
problems:
  - id: sce
    kind: derive
    title: Softmax with cross-entropy
    given: {template: softmax-cross-entropy, sizes: {K: K}}
"""

EXPECTED_TEXT = """\
sce — Softmax with cross-entropy  (derive)
  Given: template = softmax-cross-entropy, sizes = {K: K}
  Convention: Row vectors as in the course (x is 1 × N, f = xW + b); a gradient has the shape of the
quantity it differentiates (denominator layout); log is the natural logarithm.
  1. The softmax turns the scores f₂ into probabilities (1 × K)
     o = softmax(f₂)
  2. element by element:
     o[i] = exp(f₂[i])/Σⱼ(exp(f₂[j]))
  3. The cross-entropy loss with the one-hot label y (1 × K):
     E = −Σᵢ(y[i]·ln(o[i]))
  4. The loss depends on each probability through one term:
     ∂E/∂o[i] = −y[i]/o[i]
  5. so, dividing element by element (1 × K)
     ∂E/∂o = −y/o
  6. Each probability depends on every score (δ[i, j] is 1 when i = j, else 0):
     ∂o[i]/∂f₂[j] = o[i]·(δ[i, j] − o[j])
  7. so the softmax Jacobian, row i and column j holding ∂o[i]/∂f₂[j], is (K × K)
     ∂o/∂f₂ = diag(o) − oᵀo
  8. The chain rule sums over every probability o[i]:
     ∂E/∂f₂[j] = Σᵢ((∂E/∂o[i])·(∂o[i]/∂f₂[j])) = Σᵢ((−y[i]/o[i])·o[i]·(δ[i, j] − o[j])) = −y[j] + 
o[j]·Σᵢ(y[i])
  9. The labels sum to one (Σᵢ y[i] = 1), so the gradient is the prediction minus the label (1 × K):
     ∂E/∂f₂ = (∂E/∂o)(∂o/∂f₂) = o − y
  10. Numerical check on a random instance (K = 5, seed 0): each derived result evaluated and 
compared with central finite differences — every result agrees (relative tolerance 1e-06).
     ┏━━━━━━━┳━━━━━━━┳━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━┳━━━━━━━┓                                      
     ┃result ┃ shape ┃ max abs difference ┃ relative ┃ agrees┃                                      
     ┡━━━━━━━╇━━━━━━━╇━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━╇━━━━━━━┩                                      
     │ ∂E/∂o │   1×5 │            < 1e-10 │  < 1e-11 │      ✓│                                      
     │∂o/∂f₂ │   5×5 │            < 1e-10 │  < 1e-10 │      ✓│                                      
     │∂E/∂f₂ │   1×5 │            < 1e-10 │  < 1e-10 │      ✓│                                      
     └───────┴───────┴────────────────────┴──────────┴───────┘                                      
  ✓ ∂E/∂o vs finite differences — largest difference < 1e-10, relative < 1e-11
  ✓ ∂o/∂f₂ vs finite differences — largest difference < 1e-10, relative < 1e-10
  ✓ ∂E/∂f₂ vs finite differences — largest difference < 1e-10, relative < 1e-10
  Answer grad_o = -y / o
  Answer shape_grad_o = [1, K]
  Answer jacobian = diag(o) - o.T @ o
  Answer shape_jacobian = [K, K]
  Answer grad_f2 = o - y
  Answer shape_grad_f2 = [1, K]

"""


def test_worked_example_terminal_text():
    assert render_text(solve_text(EXAMPLE)) == EXPECTED_TEXT


def test_markdown_and_json_carry_latex_twins():
    from solver.render.json import render_json
    from solver.render.markdown import render_markdown

    result = solve_text(EXAMPLE)
    markdown = render_markdown([result])
    chain = r"\frac{\partial E}{\partial f_2} = \frac{\partial E}{\partial o} \frac{\partial o}{\partial f_2} = o - y"
    assert chain in markdown
    assert r"\sum_{i}" in markdown and r"\operatorname{diag}\left(o\right) - o^{\top} o" in markdown
    entry = json.loads(render_json([result]))["problems"][0]
    assert entry["answers"]["grad_f2"] == "o - y"
    assert entry["answers_latex"]["grad_f2"] == "o - y"
    assert entry["answers_latex"]["shape_jacobian"] == r"K \times K"
    assert entry["steps"][-1]["table"]["columns"][0] == "result"  # the check is the last step
    assert entry["checks"] and all(check["passed"] for check in entry["checks"])


# --- check, command line ------------------------------------------------------------------


def test_check_compares_symbolic_claims():
    text = json.dumps({"problems": [
        {"id": "a", "kind": "derive", "given": {"expression": "(d - (w*x + b))**2", "wrt": "w"},
         "answer": {"grad_w": "-2*x*(d - (w*x + b))"}},
        {"id": "b", "kind": "derive", "given": {"template": "softmax-cross-entropy"},
         "answer": {"grad_f2": "-(y - o)", "shape_grad_f2": [1, "K"]}},
        {"id": "c", "kind": "derive", "given": {"expression": "x**3", "wrt": "x"},
         "answer": {"grad_x": "3*x"}},
    ]})
    verdicts = [check_problem(p).verdict for p in solve_text(text).problems]
    assert verdicts == ["match", "match", "mismatch"]


def test_command_line_expression():
    from typer.testing import CliRunner

    from solver.cli import build_app

    run = CliRunner().invoke(build_app("derive"), ["derive", "--expression", "(d - (w*x + b))**2", "--wrt", "w",
                                                   "--format", "json"])
    assert run.exit_code == 0, run.output
    answers = json.loads(run.output)["problems"][0]["answers"]
    assert parse_expression(answers["grad_w"]).equals(parse_expression("-2*x*(d - w*x - b)"))


# --- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize("given, field", [
    ({"template": "softmax-crossentropy"}, "template"),
    ({}, "template"),
    ({"template": "logistic-bce", "expression": "x", "wrt": "x"}, "expression"),
    ({"expression": "x**2"}, "wrt"),
    ({"template": "conv1d", "sizes": {"C": 2, "L": 2, "k": 3}}, "sizes.k"),
    ({"template": "conv1d", "sizes": {"channels": 2}}, "sizes.channels"),
    ({"template": "gated-rnn", "sizes": {"n": 0}}, "sizes"),
    ({"template": "softmax-cross-entropy", "l2": True}, "l2"),
    ({"template": "lstm-cell", "layout": "numerator"}, "layout"),
    ({"template": "tanh", "wrt": "x"}, "wrt"),
    ({"expression": "W11 + W", "wrt": {"W": [2, 2]}}, "expression"),
    ({"expression": "x +* 2", "wrt": "x"}, "expression"),
    ({"expression": "x**2", "wrt": {"x": [2, 3, 4]}}, "wrt.x"),
    ({"expression": "x**2 + y", "wrt": "x", "at": {"x": 1}}, "at"),
    ({"expression": "x**2", "wrt": "x", "at": {"x": "one"}}, "at"),
    ({"expression": "x**2", "wrt": {"x": 200}}, "wrt"),
])
def test_bad_input_names_the_field(given, field):
    problem = one(given)
    assert problem.error is not None and problem.error.exit_code == 2, problem.error
    assert problem.error.field == field, (problem.error.field, problem.error.message)
