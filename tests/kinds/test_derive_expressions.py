"""Kind `derive`, `expression` + `wrt`: the symbolic gradients of 40 random scalar expressions
and of random linear layers (vectors and matrices given by size) against PyTorch autograd.

The random expressions are built here as a tree that is written twice — as text for the solver
and as a PyTorch function — so the oracle never sees the solver's parse or derivative. The
solver's answers (strings) are read back through the safe parser and evaluated at random points.
"""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from helpers import solve_text  # noqa: E402
from solver.parse import compile_numeric, parse_expression  # noqa: E402

SYMBOLS = ("a", "b", "w", "x")
UNARY = {
    "sin": torch.sin, "cos": torch.cos, "tanh": torch.tanh, "sigmoid": torch.sigmoid,
    "exp": lambda v: torch.exp(v / 2),
}


def random_expression(rng: random.Random, depth: int):
    """(text, torch function of a {name: tensor} mapping) for a random smooth expression."""
    if depth == 0 or rng.random() < 0.2:
        if rng.random() < 0.75:
            name = rng.choice(SYMBOLS)
            return name, lambda env, name=name: env[name]
        constant = rng.choice([1, 2, 3, 0.5, 1.5])
        return str(constant), lambda env, c=constant: torch.tensor(float(c), dtype=torch.float64)
    choice = rng.random()
    left_text, left = random_expression(rng, depth - 1)
    if choice < 0.3:
        name = rng.choice(list(UNARY))
        text = f"exp(({left_text})/2)" if name == "exp" else f"{name}({left_text})"
        return text, lambda env, f=UNARY[name], g=left: f(g(env))
    if choice < 0.4:
        return f"log(1 + ({left_text})**2)", lambda env, g=left: torch.log(1 + g(env) ** 2)
    if choice < 0.5:
        power = rng.choice([2, 3])
        return f"({left_text})**{power}", lambda env, g=left, p=power: g(env) ** p
    right_text, right = random_expression(rng, depth - 1)
    if choice < 0.65:
        return f"({left_text}) + ({right_text})", lambda env, f=left, g=right: f(env) + g(env)
    if choice < 0.75:
        return f"({left_text}) - ({right_text})", lambda env, f=left, g=right: f(env) - g(env)
    if choice < 0.9:
        return f"({left_text})*({right_text})", lambda env, f=left, g=right: f(env) * g(env)
    return (f"({left_text})/(1 + ({right_text})**2)",
            lambda env, f=left, g=right: f(env) / (1 + g(env) ** 2))


def solve_one(given: dict) -> dict:
    problem = {"problems": [{"id": "q", "kind": "derive", "given": given}]}
    result = solve_text(json.dumps(problem)).problems[0]
    assert result.error is None, result.error
    assert result.solution.checks and all(c.passed for c in result.solution.checks)
    return result.answers


def autograd(function, point: dict, names) -> dict:
    env = {name: torch.tensor(value, dtype=torch.float64, requires_grad=True) for name, value in point.items()}
    function(env).backward()
    return {name: float(env[name].grad) if env[name].grad is not None else 0.0 for name in names}


@pytest.mark.parametrize("seed", range(40))
def test_random_scalar_expressions_against_autograd(seed):
    rng = random.Random(seed)
    present = []
    while not present:  # a constant has nothing to differentiate; draw again
        text, function = random_expression(rng, depth=3)
        present = sorted(str(v) for v in parse_expression(text).free_symbols)
    wrt = sorted(rng.sample(present, rng.randint(1, len(present))))
    answers = solve_one({"expression": text, "wrt": wrt})
    for _ in range(3):
        point = {name: rng.uniform(-1.5, 1.5) for name in SYMBOLS}
        expected = autograd(function, point, wrt)
        for name in wrt:
            derivative = compile_numeric(parse_expression(answers[f"grad_{name}"]), SYMBOLS)
            assert derivative(*[point[s] for s in SYMBOLS]) == pytest.approx(expected[name], rel=1e-9, abs=1e-9), \
                (text, name, answers[f"grad_{name}"])


def linear_layer_text(rows: int, cols: int, l2: bool) -> str:
    """Σⱼ (dⱼ − Σᵢ Wᵢⱼ xᵢ − bⱼ)² (+ β Σ W²) written with element names, W rows × cols."""
    terms = []
    for j in range(1, cols + 1):
        inner = " + ".join(f"W{i}{j}*x{i}" for i in range(1, rows + 1))
        terms.append(f"(d{j} - ({inner} + b{j}))**2")
    text = " + ".join(terms)
    if l2:
        squares = [f"W{i}{j}**2" for i in range(1, rows + 1) for j in range(1, cols + 1)]
        text += " + beta*(" + " + ".join(squares) + ")"
    return text


def torch_layer(point: dict, rows: int, cols: int, l2: bool):
    W = torch.tensor([[point[f"W{i}{j}"] for j in range(1, cols + 1)] for i in range(1, rows + 1)],
                     dtype=torch.float64, requires_grad=True)
    x = torch.tensor([point[f"x{i}"] for i in range(1, rows + 1)], dtype=torch.float64, requires_grad=True)
    d = torch.tensor([point[f"d{j}"] for j in range(1, cols + 1)], dtype=torch.float64)
    b = torch.tensor([point[f"b{j}"] for j in range(1, cols + 1)], dtype=torch.float64)
    loss = ((d - (W.T @ x + b)) ** 2).sum() + (point["beta"] * (W ** 2).sum() if l2 else 0)
    loss.backward()
    return W.grad.numpy(), x.grad.numpy()


@pytest.mark.parametrize("seed", range(10))
def test_linear_layer_by_matrix_and_vector_against_autograd(seed):
    rng = random.Random(100 + seed)
    rows, cols, l2 = rng.randint(1, 3), rng.randint(1, 3), seed % 2 == 1
    numerator = seed % 3 == 0
    text = linear_layer_text(rows, cols, l2)
    given = {"expression": text, "wrt": {"W": [rows, cols], "x": rows if rows > 1 else [1]}}
    if numerator:
        given["layout"] = "numerator"
    answers = solve_one(given)
    names = sorted({str(s) for s in parse_expression(text).free_symbols})
    point = {name: rng.uniform(-1, 1) for name in names}
    grad_W, grad_x = torch_layer(point, rows, cols, l2)
    computed = np.array([[compile_numeric(parse_expression(entry), names)(*[point[n] for n in names])
                          for entry in row] for row in answers["grad_W"]])
    np.testing.assert_allclose(computed, grad_W.T if numerator else grad_W, rtol=1e-9, atol=1e-12)
    assert answers["shape_grad_W"] == ([cols, rows] if numerator else [rows, cols])
    if "grad_W_matrix" in answers:  # the collected form, evaluated with NumPy on the same point
        value = _numpy_form(answers["grad_W_matrix"], point, rows, cols)
        np.testing.assert_allclose(np.broadcast_to(value, computed.shape), computed, rtol=1e-9, atol=1e-12)
    entries = answers["grad_x"] if isinstance(answers["grad_x"], list) else [answers["grad_x"]]
    by_x = [compile_numeric(parse_expression(e), names)(*[point[n] for n in names]) for e in entries]
    np.testing.assert_allclose(by_x, grad_x, rtol=1e-9, atol=1e-12)


def _numpy_form(form: str, point: dict, rows: int, cols: int):
    """The collected form's plain spelling (NumPy-like: outer, .T, named vectors) evaluated
    with the point's numbers; only the solver's own output is evaluated, without builtins."""
    namespace = dict(point)
    namespace["W"] = np.array([[point[f"W{i}{j}"] for j in range(1, cols + 1)] for i in range(1, rows + 1)])
    namespace["x"] = np.array([point[f"x{i}"] for i in range(1, rows + 1)])
    namespace["outer"] = lambda u, v: np.outer(np.asarray(u, dtype=float), np.asarray(v, dtype=float))
    return eval(form, {"__builtins__": {}}, namespace)  # noqa: S307


def test_linear_layer_collects_into_an_outer_product():
    # 3 inputs, 2 outputs, no penalty: ∇W f = 2·x (Wᵀx + b − d)ᵀ, an outer product with x.
    answers = solve_one({"expression": linear_layer_text(3, 2, False), "wrt": {"W": [3, 2]}})
    assert answers["grad_W_matrix"].startswith("2 * outer(x, [")


def test_penalty_collects_into_a_multiple_of_the_matrix():
    answers = solve_one({"expression": "beta*(W11**2 + W12**2 + W21**2 + W22**2)", "wrt": {"W": [2, 2]}})
    assert answers["grad_W_matrix"] == "2*beta * W"
    assert answers["grad_W"] == [["2*W11*beta", "2*W12*beta"], ["2*W21*beta", "2*W22*beta"]]


def test_value_at_a_point_matches_autograd():
    # d/dx of x·σ(1.702x) at x = −3, by autograd.
    x = torch.tensor(-3.0, dtype=torch.float64, requires_grad=True)
    (x * torch.sigmoid(1.702 * x)).backward()
    answers = solve_one({"expression": "x*sigmoid(1.702*x)", "wrt": "x", "at": {"x": -3}})
    assert answers["value_x"] == pytest.approx(float(x.grad), rel=1e-12)


def test_vector_named_elements_and_values():
    # f = (d − (w1·x1 + w2·x2 + b))² + β(w1² + w2²) at a point: gradient by w against autograd.
    point = {"w1": 0.5, "w2": -1.0, "x1": 1.0, "x2": 2.0, "b": 0.5, "d": 0.0, "beta": 0.1}
    w = torch.tensor([0.5, -1.0], dtype=torch.float64, requires_grad=True)
    ((0.0 - (w[0] * 1.0 + w[1] * 2.0 + 0.5)) ** 2 + 0.1 * (w ** 2).sum()).backward()
    answers = solve_one({"expression": "(d - (w1*x1 + w2*x2 + b))**2 + beta*(w1**2 + w2**2)",
                         "wrt": {"w": 2}, "at": point})
    assert answers["value_w"] == pytest.approx(w.grad.tolist(), rel=1e-12)
    assert answers["grad_w_matrix"] == "2*beta * w + 2*(b - d + w1*x1 + w2*x2) * x"
    assert answers["shape_grad_w"] == [2]
