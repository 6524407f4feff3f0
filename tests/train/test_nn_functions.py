"""The one numeric home of the course's functions (solver/nn/functions.py) and of finite
differences (solver/nn/gradcheck.py), against PyTorch on seeded random inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
torch.set_num_threads(1)

from solver.nn import functions as fn  # noqa: E402
from solver.nn.gradcheck import (directional_difference, numeric_gradient, numeric_jacobian,  # noqa: E402
                                 worst_difference)

CASES = 300


def arrays(seed: int):
    rng = np.random.default_rng(seed)
    for _ in range(CASES):
        shape = tuple(rng.integers(1, 6, size=rng.integers(1, 4)))
        yield rng, rng.standard_normal(shape) * rng.choice([0.1, 1.0, 10.0, 100.0])


def test_scalar_sigmoid_matches_torch_without_overflow():
    rng = np.random.default_rng(0)
    for x in list(rng.standard_normal(500) * 20) + [-800.0, -50.0, 0.0, 50.0, 800.0]:
        expected = torch.sigmoid(torch.tensor(x, dtype=torch.float64)).item()
        assert math.isclose(fn.sigmoid(x), expected, rel_tol=1e-14, abs_tol=1e-300), x


def test_array_functions_match_torch():
    for _, x in arrays(1):
        t = torch.tensor(x, dtype=torch.float64)
        # ½(1 + tanh(x/2)) is exact to an absolute 1e-16; far below zero that is all of σ.
        np.testing.assert_allclose(fn.sigmoid_array(x), torch.sigmoid(t).numpy(), rtol=1e-13, atol=1e-16)
        np.testing.assert_array_equal(fn.relu_array(x), torch.relu(t).numpy())
        np.testing.assert_array_equal(fn.positive_array(x), (t > 0).double().numpy())
        np.testing.assert_array_equal(fn.step_array(x), (t >= 0).double().numpy())


def test_softmax_along_every_axis_and_over_the_whole_array():
    for _, x in arrays(2):
        t = torch.tensor(x, dtype=torch.float64)
        for axis in range(x.ndim):
            np.testing.assert_allclose(fn.softmax_array(x, axis=axis), torch.softmax(t, dim=axis).numpy(),
                                       rtol=1e-12, atol=1e-300)
        whole = torch.softmax(t.reshape(-1), dim=0).reshape(x.shape).numpy()
        np.testing.assert_allclose(fn.softmax_array(x, axis=None), whole, rtol=1e-12, atol=1e-300)


def test_dtypes_lists_and_masked_entries():
    assert fn.sigmoid_array(np.zeros(3, dtype=np.float32)).dtype == np.float32
    assert fn.softmax_array(np.zeros((2, 3), dtype=np.float32), axis=1).dtype == np.float32
    assert fn.relu_array([1, -2]).tolist() == [1.0, 0.0]
    weights = fn.softmax_array([[0.0, -np.inf, 1.0]])
    assert weights[0, 1] == 0.0 and math.isclose(weights.sum(), 1.0)


def test_numeric_gradient_and_jacobian_match_autograd():
    rng = np.random.default_rng(3)
    for _ in range(100):
        n, m = rng.integers(1, 5, size=2)
        a, x = rng.standard_normal((m, n)), rng.standard_normal(n)

        def output():
            return np.tanh(a @ x) * np.sin(x[: 1])

        tx = torch.tensor(x, requires_grad=True)
        jac = torch.autograd.functional.jacobian(
            lambda v: torch.tanh(torch.tensor(a) @ v) * torch.sin(v[:1]), tx).numpy()
        np.testing.assert_allclose(numeric_jacobian(output, x), jac, rtol=1e-6, atol=1e-8)
        loss = torch.sum(torch.tanh(torch.tensor(a) @ tx) ** 2)
        loss.backward()
        numeric = numeric_gradient(lambda: float(np.sum(np.tanh(a @ x) ** 2)), x)
        np.testing.assert_allclose(numeric, tx.grad.numpy(), rtol=1e-6, atol=1e-8)


def test_worst_and_directional_differences_tell_right_from_wrong_gradients():
    rng = np.random.default_rng(4)
    for _ in range(100):
        w = rng.standard_normal((3, 2))
        right = 2 * w * np.cos(w ** 2)
        wrong = right + rng.choice([-1, 1]) * 0.01 * (1 + np.abs(right))

        def loss():
            return float(np.sum(np.sin(w ** 2)))

        assert worst_difference(loss, [(w, right)]) < 1e-7
        assert worst_difference(loss, [(w, wrong)]) > 1e-3

        def loss_of(params):
            return float(np.sum(np.sin(params["w"] ** 2)))

        good, _ = directional_difference(loss_of, {"w": w}, {"w": right}, 3, np.random.default_rng(0))
        bad, _ = directional_difference(loss_of, {"w": w}, {"w": wrong}, 3, np.random.default_rng(0))
        assert good < 1e-6 < bad
