"""solver/activations.py, the one table of activations: every entry's numbers, derivatives,
formula words and bound on the slope against PyTorch (values and autograd) on seeded random
inputs, the kinks (0) included."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
torch.set_num_threads(1)
import torch.nn.functional as F  # noqa: E402

from solver.activations import NAMES, TABLE, aliases  # noqa: E402
from solver.formula import Sym, evaluate  # noqa: E402

CASES = 200


def torch_function(name: str, alpha: float | None):
    """The entry as PyTorch computes it (GELU: the course's sigmoid approximation written out)."""
    return {
        "relu": torch.relu,
        "leaky-relu": lambda t: F.leaky_relu(t, alpha),
        "elu": lambda t: F.elu(t, alpha),
        "gelu": lambda t: t * torch.sigmoid(1.702 * t),
        "gelu-exact": lambda t: F.gelu(t, approximate="none"),
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
        "linear": lambda t: t * 1,
        "step": lambda t: torch.heaviside(t, torch.ones_like(t)),
    }[name]


ELEMENT_WISE = [name for name in NAMES if TABLE[name].slope is not None]


def inputs(rng) -> np.ndarray:
    """A random array of a random shape, with zeros (the kinks) and large values mixed in."""
    shape = tuple(int(n) for n in rng.integers(1, 5, size=rng.integers(1, 3)))
    x = rng.standard_normal(shape) * rng.choice([0.1, 1.0, 5.0, 30.0])
    x[rng.random(shape) < 0.2] = 0.0
    return x


def random_alpha(rng, name: str) -> float | None:
    if not TABLE[name].takes_alpha:
        return None
    return TABLE[name].default_alpha if rng.random() < 0.3 else float(rng.uniform(0.01, 2.0))


def test_table_lists_every_activation_once_with_distinct_spellings():
    assert set(ELEMENT_WISE) | {"softmax"} == set(NAMES)
    spellings = [name for name in NAMES] + [a for name in NAMES for a in TABLE[name].aliases]
    assert len(spellings) == len(set(spellings))
    assert aliases(("relu", "sigmoid")) == {"logistic": "sigmoid"}


@pytest.mark.parametrize("name", ELEMENT_WISE)
def test_values_and_derivatives_match_torch_and_autograd(name):
    rng = np.random.default_rng(sum(map(ord, name)))
    entry = TABLE[name]
    for _ in range(CASES):
        x = inputs(rng)
        alpha = random_alpha(rng, name)
        t = torch.tensor(x, dtype=torch.float64, requires_grad=name != "step")
        want = torch_function(name, entry.alpha(alpha))(t)
        got = entry(x, alpha)
        np.testing.assert_allclose(got, want.detach().numpy(), rtol=1e-12, atol=1e-15, err_msg=f"{name} {x}")
        if name == "step":  # PyTorch's heaviside has no derivative: flat wherever there is one
            np.testing.assert_array_equal(entry.derivative(x), np.zeros_like(x))
            continue
        (grad,) = torch.autograd.grad(want.sum(), t)  # element-wise: the sum's gradient is f′
        # σ = ½(1 + tanh(x/2)) is exact to an absolute 1e-16, so far below zero a slope that small
        # is compared absolutely
        np.testing.assert_allclose(entry.derivative(x, alpha=alpha), grad.numpy(), rtol=1e-12, atol=1e-14,
                                   err_msg=f"{name}′ {x}")
        # from the output, as a backward pass has it
        np.testing.assert_allclose(entry.derivative(x, got, alpha), grad.numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", ELEMENT_WISE)
def test_kinks_take_pytorchs_value(name):
    entry = TABLE[name]
    alpha = entry.default_alpha
    t = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    y = torch_function(name, alpha)(t)
    expected = np.zeros(3) if name == "step" else torch.autograd.grad(y.sum(), t)[0].numpy()
    assert entry.derivative(np.zeros(3)).tolist() == expected.tolist()
    assert float(entry.scalar(0.0, alpha) if entry.takes_alpha else entry.scalar(0.0)) == y[0].item()


@pytest.mark.parametrize("name", ELEMENT_WISE)
def test_scalar_form_and_formula_words_agree_with_the_array_form(name):
    rng = np.random.default_rng(7)
    entry = TABLE[name]
    u = Sym("u")
    for _ in range(CASES):
        x = float(rng.normal(scale=4)) if rng.random() > 0.1 else 0.0
        alpha = random_alpha(rng, name)
        args = (x, entry.alpha(alpha)) if entry.takes_alpha else (x,)
        expected = float(entry(np.array([x]), alpha)[0])
        assert math.isclose(float(entry.scalar(*args)), expected, rel_tol=1e-12, abs_tol=1e-15)
        bindings = {"u": x, "alpha": entry.alpha(alpha)}
        assert math.isclose(float(evaluate(entry.expr(u), bindings)), expected, rel_tol=1e-12, abs_tol=1e-15)
        slope = float(entry.derivative(np.array([x]), alpha=alpha)[0])
        assert math.isclose(float(evaluate(entry.slope_expr(u), bindings)), slope, rel_tol=1e-12, abs_tol=1e-15)
        array = rng.normal(scale=4, size=3)
        np.testing.assert_allclose(evaluate(entry.slope_expr(u), {"u": array, "alpha": entry.alpha(alpha)}),
                                   entry.derivative(array, alpha=alpha), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", ELEMENT_WISE)
def test_point_formulas_give_the_same_numbers(name):
    """The formulas the worked steps show at one point evaluate to the table's numbers."""
    entry = TABLE[name]
    if entry.branch is None:
        pytest.skip(f"{name} is not worked point by point")
    rng = np.random.default_rng(3)
    for _ in range(CASES):
        x = float(np.round(rng.normal(scale=3), 3)) if rng.random() > 0.1 else 0.0
        alpha = entry.alpha(random_alpha(rng, name))
        branch = entry.branch(x)
        value = evaluate(branch.value, {"x": x, "alpha": alpha, "pi": math.pi})
        slope = evaluate(branch.derivative, {"x": x, "alpha": alpha, "pi": math.pi, "f": value})
        assert math.isclose(float(value), float(entry(np.array([x]), alpha)[0]), rel_tol=1e-12, abs_tol=1e-15)
        assert math.isclose(float(slope), float(entry.derivative(np.array([x]), alpha=alpha)[0]),
                            rel_tol=1e-9, abs_tol=1e-12)


def test_softmax_and_its_jacobian_match_torch():
    rng = np.random.default_rng(5)
    entry = TABLE["softmax"]
    for _ in range(CASES):
        x = rng.standard_normal(int(rng.integers(1, 7))) * rng.choice([0.1, 1.0, 30.0])
        t = torch.tensor(x, dtype=torch.float64)
        y = entry(x)
        np.testing.assert_allclose(y, torch.softmax(t, dim=0).numpy(), rtol=1e-12, atol=1e-300)
        jacobian = torch.autograd.functional.jacobian(lambda v: torch.softmax(v, dim=0), t)
        np.testing.assert_allclose(entry.jacobian(y), jacobian.numpy(), rtol=1e-10, atol=1e-15)
    with pytest.raises(ValueError):
        entry.derivative(np.zeros(2))


@pytest.mark.parametrize("name", [n for n in ELEMENT_WISE if TABLE[n].max_slope is not None])
def test_max_slope_is_the_supremum_of_autograds_slope(name):
    t = torch.linspace(-20, 20, 400_001, dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(torch_function(name, None)(t).sum(), t)
    assert math.isclose(float(grad.abs().max()), TABLE[name].max_slope, rel_tol=1e-9)


def test_float32_stays_float32_where_the_numeric_home_keeps_it():
    x = np.linspace(-3, 3, 7, dtype=np.float32)
    for name in ("relu", "sigmoid", "tanh", "linear", "step"):
        assert TABLE[name](x).dtype == np.float32, name
