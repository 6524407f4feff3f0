"""Kind `batchnorm` against torch.nn.BatchNorm1d: training (batch statistics, running-statistic
update) and inference (running statistics), on random batches."""

from __future__ import annotations

import io
from fractions import Fraction

import numpy as np
import pytest
import torch

from solver.context import Context
from solver.errors import BadInput
from solver.kinds.batchnorm import BatchnormInput, solve
from solver.pipeline import solve_problem_set
from solver.spec import load_problem_set

CASES = 520


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def run(given: dict, **ctx) -> dict:
    return solve(BatchnormInput.model_validate(given), Context(**ctx)).answers


def torch_batchnorm(x: np.ndarray, gamma, beta, eps, momentum, training, running):
    features = x.shape[1]
    layer = torch.nn.BatchNorm1d(features, eps=eps, momentum=momentum, dtype=torch.float64)
    plain = torch.nn.BatchNorm1d(features, eps=eps, momentum=momentum, affine=False, dtype=torch.float64)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(gamma, dtype=torch.float64))
        layer.bias.copy_(torch.tensor(beta, dtype=torch.float64))
        for module in (layer, plain):
            if running is not None:
                module.running_mean.copy_(torch.tensor(running[0], dtype=torch.float64))
                module.running_var.copy_(torch.tensor(running[1], dtype=torch.float64))
            module.train(training)
        tx = torch.tensor(x, dtype=torch.float64)
        y, x_hat = layer(tx), plain(tx)
    return y.numpy(), x_hat.numpy(), layer.running_mean.numpy(), layer.running_var.numpy()


def test_random_batches_match_batchnorm1d():
    rng = np.random.default_rng(5)
    for _ in range(CASES):
        n, features = int(rng.integers(2, 7)), int(rng.integers(1, 4))
        x = (rng.integers(-5, 6, size=(n, features)) if rng.random() < 0.5
             else np.round(rng.normal(scale=2, size=(n, features)), 3))
        gamma = np.round(rng.uniform(0.2, 2, size=features), 2)
        beta = np.round(rng.normal(size=features), 2)
        eps = [1e-5, 1e-3, 0.1][int(rng.integers(0, 3))]
        momentum = [0.1, 0.5][int(rng.integers(0, 2))]
        training = bool(rng.random() < 0.7)
        running = None
        if not training or rng.random() < 0.5:
            running = (np.round(rng.normal(size=features), 2), np.round(rng.uniform(0.5, 3, size=features), 2))
        flat = features == 1 and rng.random() < 0.5
        given = {"x": x[:, 0].tolist() if flat else x.tolist(), "eps": eps, "momentum": momentum,
                 "training": training,
                 "gamma": float(gamma[0]) if flat else gamma.tolist(),
                 "beta": float(beta[0]) if flat else beta.tolist()}
        if running is not None:
            given["running_mean"] = running[0].tolist()
            given["running_var"] = running[1].tolist()
        answers = run(given)
        y, x_hat, running_mean, running_var = torch_batchnorm(x.astype(float), gamma, beta, eps, momentum,
                                                              training, running)
        shape = (n,) if flat else (n, features)
        np.testing.assert_allclose(np.array(answers["y"], dtype=float).reshape(shape), y.reshape(shape),
                                   rtol=1e-9, atol=1e-9, err_msg=str(given))
        np.testing.assert_allclose(np.array(answers["x_hat"], dtype=float).reshape(shape),
                                   x_hat.reshape(shape), rtol=1e-9, atol=1e-9)
        if training:
            np.testing.assert_allclose(np.array(answers["mean"], dtype=float).ravel(), x.mean(axis=0), rtol=1e-12)
            np.testing.assert_allclose(np.array(answers["var"], dtype=float).ravel(), x.var(axis=0),
                                       rtol=1e-9, atol=1e-12)
            if running is not None:
                np.testing.assert_allclose(np.array(answers["running_mean_new"], dtype=float).ravel(),
                                           running_mean, rtol=1e-9, atol=1e-12)
                np.testing.assert_allclose(np.array(answers["running_var_new"], dtype=float).ravel(),
                                           running_var, rtol=1e-9, atol=1e-12)
        else:
            assert "running_mean_new" not in answers


def test_integer_batch_statistics_are_exact():
    answers = run({"x": [1, 2, 4]})
    assert answers["mean"] == Fraction(7, 3)
    assert answers["var"] == Fraction(14, 9)  # ((−4/3)² + (−1/3)² + (5/3)²)/3


def test_hand_rounding_uses_rounded_statistics():
    # μ = 7/3 → 2.33; σ² = ((1−2.33)² + (2−2.33)² + (4−2.33)²)/3 = 1.5563 → 1.56 (from the rounded μ).
    answers = run({"x": [1, 2, 4]}, decimals=2, round_intermediate=True)
    assert answers["mean"] == 2.33
    assert answers["var"] == 1.56


@pytest.mark.parametrize("given, field", [
    ({"x": [[1, 2], [3, 4]], "gamma": [1, 2, 3]}, "gamma"),
    ({"x": [1]}, "x"),
    ({"x": [[1, 2], [3, 4]], "training": False, "running_mean": [0], "running_var": [1, 1]}, "running_mean"),
    ({"x": [1, 2], "running_mean": 0, "running_var": -1}, "running_var"),
    ({"x": [1, 2], "training": False}, "running_mean"),
    ({"x": [1, 2], "running_mean": 0}, "running_var"),
])
def test_inconsistent_input_names_the_field(given, field):
    with pytest.raises(BadInput) as error:
        run(given)
    assert error.value.field == field


@pytest.mark.parametrize("given, words", [
    ({"x": [[[1]]]}, "N×D"),
    ({"x": [1, 2], "momentum": 2}, "between 0 and 1"),
    ({"x": [1, 2], "gamma": "a"}, "number"),
])
def test_malformed_input(given, words):
    with pytest.raises(ValueError) as error:
        BatchnormInput.model_validate(given)
    assert words in str(error.value)


EXAMPLE = """
problems:
  - id: bn
    kind: batchnorm
    given: {x: [1, 2, 3, 6], gamma: 2, beta: 0.5}
"""

EXPECTED = """\
bn  (batchnorm)
  Given: x = [1, 2, 3, 6], gamma = 2, beta = 0.5
  Convention: x̂ = (x − μ)/√(σ² + ε) with ε = 1e-05, y = γ·x̂ + β, each feature (column) on its own.
  Convention: Training mode: μ and σ² are the batch's own; σ² is biased (divided by N).
  1. Batch mean: the average of its 4 values.
     μ = (1 + 2 + 3 + 6)/4 = 3
  2. Batch variance, biased (divided by N = 4, as batch norm does in training):
     σ² = ((1 − 3)^2 + (2 − 3)^2 + (3 − 3)^2 + (6 − 3)^2)/4 = 3.5
  3. Normalised values (batch statistics):
     x̂ = (x − μ)/√(σ² + ε) = ([1, 2, 3, 6] − 3)/√(3.5 + 0) = [−1.0690, −0.5345, 0, 1.6036]
  4. Scale and shift: y = γ·x̂ + β.
     y = γ·x̂ + β = 2·[−1.0690, −0.5345, 0, 1.6036] + 0.5 = [−1.6381, −0.5690, 0.5, 3.7071]
  Answer mean = 3
  Answer var = 3.5
  Answer x_hat = [-1.0690, -0.5345, 0, 1.6036]
  Answer y = [-1.6381, -0.5690, 0.5, 3.7071]

"""


def test_terminal_text_of_a_worked_example():
    from rich.console import Console

    from solver.render.terminal import render_terminal

    console = Console(file=io.StringIO(), width=100, color_system=None)
    render_terminal(console, [solve_problem_set(load_problem_set(EXAMPLE, "example.yaml"))])
    assert console.file.getvalue() == EXPECTED
