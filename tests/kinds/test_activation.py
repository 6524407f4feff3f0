"""Kind `activation` against PyTorch's functions and autograd (derivatives, the softmax Jacobian)
on random points, including x = 0 where the piecewise functions take PyTorch's branch."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from solver.context import Context
from solver.kinds.activation.activation import ActivationInput, solve
from solver.pipeline import solve_problem_set
from solver.spec import load_problem_set

CASES = 520


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def run(given: dict, **ctx) -> dict:
    return solve(ActivationInput.model_validate(given), Context(**ctx)).answers


def torch_function(name: str, alpha: float | None):
    return {
        "relu": torch.relu,
        "leaky-relu": lambda t: F.leaky_relu(t, 0.01 if alpha is None else alpha),
        "elu": lambda t: F.elu(t, 1.0 if alpha is None else alpha),
        "gelu": lambda t: t * torch.sigmoid(1.702 * t),
        "gelu-exact": lambda t: F.gelu(t, approximate="none"),
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
    }[name]


def value_and_grad(name: str, points: list, alpha) -> tuple[np.ndarray, np.ndarray]:
    x = torch.tensor(points, dtype=torch.float64, requires_grad=True)
    y = torch_function(name, alpha)(x)
    (grad,) = torch.autograd.grad(y.sum(), x)  # element-wise function: the sum's gradient is f′
    return y.detach().numpy(), grad.numpy()


def test_random_points_match_torch_values_and_autograd():
    rng = np.random.default_rng(11)
    names = ["relu", "leaky-relu", "elu", "gelu", "gelu-exact", "sigmoid", "tanh"]
    for case in range(CASES):
        name = names[case % len(names)]
        points = np.round(rng.normal(scale=3, size=int(rng.integers(1, 5))), 3).tolist()
        if rng.random() < 0.2:
            points.append(0)
        if rng.random() < 0.2:
            points.append(int(rng.integers(-5, 6)))
        alpha = float(np.round(rng.uniform(0.01, 2), 2)) if name in ("leaky-relu", "elu") and rng.random() < 0.5 else None
        given = {"function": name, "points": points} | ({"alpha": alpha} if alpha is not None else {})
        answers = run(given)
        want_value, want_grad = value_and_grad(name, points, alpha)
        np.testing.assert_allclose(np.array(answers["value"], dtype=float), want_value, rtol=1e-9, atol=1e-12,
                                   err_msg=str(given))
        np.testing.assert_allclose(np.array(answers["derivative"], dtype=float), want_grad, rtol=1e-9,
                                   atol=1e-12, err_msg=str(given))


def test_random_softmax_values_and_jacobians_match_torch():
    rng = np.random.default_rng(12)
    for _ in range(CASES):
        z = np.round(rng.normal(scale=4, size=int(rng.integers(1, 6))), 3).tolist()
        answers = run({"function": "softmax", "points": z})
        tz = torch.tensor(z, dtype=torch.float64)
        np.testing.assert_allclose(answers["value"], torch.softmax(tz, 0).numpy(), rtol=1e-9, atol=1e-15)
        jacobian = torch.autograd.functional.jacobian(lambda t: torch.softmax(t, 0), tz)
        np.testing.assert_allclose(answers["derivative"], jacobian.numpy(), rtol=1e-9, atol=1e-15)


def test_softmax_of_huge_inputs_does_not_overflow():
    answers = run({"function": "softmax", "points": [1000, 1001]})
    np.testing.assert_allclose(answers["value"], torch.softmax(torch.tensor([1000., 1001.], dtype=torch.float64), 0))


def test_single_point_gives_single_numbers():
    # GELU(2) with the sigmoid approximation: 2·σ(3.404), by torch.
    answers = run({"function": "gelu", "points": 2})
    assert answers["value"] == pytest.approx(float(2 * torch.sigmoid(torch.tensor(3.404, dtype=torch.float64))))


def test_relu_keeps_integers_exact():
    assert run({"function": "relu", "points": [-2, 0, 3]}) == {"value": [0, 0, 3], "derivative": [0, 0, 1]}


def test_hand_rounding_takes_the_derivative_from_the_rounded_value():
    # σ(0.3) = 0.5744… → 0.57; by hand σ′ = 0.57·(1 − 0.57) = 0.2451 → 0.25, while the exact
    # σ′(0.3) = 0.2445 → 0.24.
    assert run({"function": "sigmoid", "points": [0.3]}, decimals=2, round_intermediate=True) == \
        {"value": [0.57], "derivative": [0.25]}
    exact = run({"function": "sigmoid", "points": [0.3]}, decimals=2)
    assert round(exact["derivative"][0], 2) == 0.24


@pytest.mark.parametrize("given, words", [
    ({"function": "reluu", "points": [1]}, "did you mean 'relu'"),
    ({"function": "relu", "points": [1], "alpha": 0.1}, "not of relu"),
    ({"function": "tanh", "points": ["a"]}, "must be numbers"),
    ({"function": "tanh", "points": []}, "empty"),
])
def test_bad_input(given, words):
    with pytest.raises(ValueError) as error:
        ActivationInput.model_validate(given)
    assert words in str(error.value)


EXAMPLE = """
problems:
  - id: gelu
    kind: activation
    given: {function: gelu, points: [-1, 2]}
"""

EXPECTED = """\
gelu  (activation)
  Given: function = gelu, points = [-1, 2]
  Convention: GELU(x) ≈ x·σ(1.702x) (the sigmoid approximation).
  1. Value at x = −1:
     GELU(−1) = x·σ(1.702x) = (−1)·σ(1.702·(−1)) = −0.1542
  2. Derivative at x = −1:
     GELU′(−1) = σ(1.702x) + 1.702x·σ(1.702x)·(1 − σ(1.702x)) = σ(1.702·(−1)) + 
1.702·(−1)·σ(1.702·(−1))·(1 − σ(1.702·(−1))) = −0.0678
  3. Value at x = 2:
     GELU(2) = x·σ(1.702x) = 2·σ(1.702·2) = 1.9357
  4. Derivative at x = 2:
     GELU′(2) = σ(1.702x) + 1.702x·σ(1.702x)·(1 − σ(1.702x)) = σ(1.702·2) + 1.702·2·σ(1.702·2)·(1 − 
σ(1.702·2)) = 1.0738
  Answer value = [-0.1542, 1.9357]
  Answer derivative = [-0.0678, 1.0738]

"""


def test_terminal_text_of_a_worked_example():
    from rich.console import Console

    from solver.render.terminal import render_terminal

    console = Console(file=io.StringIO(), width=100, color_system=None)
    render_terminal(console, [solve_problem_set(load_problem_set(EXAMPLE, "example.yaml"))])
    assert console.file.getvalue() == EXPECTED
