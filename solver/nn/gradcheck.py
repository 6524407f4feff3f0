"""Gradient check: every layer's analytic backward against centred finite differences.

Each check builds the layer in float64, draws an input x and fixed upstream weights R, and
takes the scalar L = Σ R ⊙ layer(x). Then dL/dθ from backward(R) is compared with
(L(θ + ε) − L(θ − ε)) / 2ε for every entry θ of the input and of each parameter. The error
is ‖analytic − numeric‖ / (‖analytic‖ + ‖numeric‖): a norm ratio, so entries that are
nearly zero in both do not blow it up.

Inputs keep clear of the kinks: ReLU inputs stay away from 0 and max-pooling inputs have no
near-ties, where a finite difference would straddle a change of branch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

TOLERANCE = 1e-7
EPSILON = 1e-6


class UnknownLayerError(ValueError):
    """A layer name with no gradient check."""


@dataclass(frozen=True)
class GradResult:
    layer: str
    name: str  # 'input' or the parameter's name
    error: float

    @property
    def passed(self) -> bool:
        return self.error < TOLERANCE


def relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    scale = np.linalg.norm(analytic) + np.linalg.norm(numeric)
    return float(np.linalg.norm(analytic - numeric) / max(scale, 1e-300))


def numeric_gradient(loss: Callable[[], float], array: np.ndarray, eps: float = EPSILON) -> np.ndarray:
    """Centred differences of loss() with respect to every entry of `array` (changed in
    place and restored)."""
    grad = np.zeros_like(array)
    flat, flat_grad = array.reshape(-1), grad.reshape(-1)
    assert np.shares_memory(flat, array), "the array must be contiguous to perturb it in place"
    for k in range(flat.size):
        original = flat[k]
        flat[k] = original + eps
        plus = loss()
        flat[k] = original - eps
        minus = loss()
        flat[k] = original
        flat_grad[k] = (plus - minus) / (2 * eps)
    return grad


def numeric_jacobian(output: Callable[[], np.ndarray], array: np.ndarray, eps: float = EPSILON) -> np.ndarray:
    """Centred differences of every entry of output() with respect to every entry of `array`
    (changed in place and restored), shaped output.shape + array.shape."""
    base = np.asarray(output(), dtype=float)
    jac = np.zeros(base.shape + array.shape, dtype=float)
    flat = array.reshape(-1)
    for k in range(flat.size):
        saved = flat[k]
        flat[k] = saved + eps
        plus = np.asarray(output(), dtype=float)
        flat[k] = saved - eps
        minus = np.asarray(output(), dtype=float)
        flat[k] = saved
        jac.reshape(base.shape + (-1,))[..., k] = (plus - minus) / (2 * eps)
    return jac


def worst_difference(loss: Callable[[], float], pairs, eps: float = EPSILON) -> float:
    """The largest |numeric − analytic| / max(1, |numeric|) over every entry of each
    (array, analytic gradient) pair, the numeric gradient by centred differences of loss()."""
    worst = 0.0
    for array, analytic in pairs:
        numeric = numeric_gradient(loss, array, eps)
        ratios = np.abs(numeric - analytic) / np.maximum(1.0, np.abs(numeric))
        worst = max(worst, float(np.max(ratios[~np.isnan(ratios)], initial=0.0)))  # NaN: no verdict
    return worst


def directional_difference(loss_of: Callable[[dict], float], params: dict, gradients: dict, directions: int,
                           rng: np.random.Generator, eps: float = EPSILON) -> tuple[float, float]:
    """Centred differences of loss_of(params) along random directions of all parameters at once,
    against the same directional derivatives from `gradients`: (largest difference, largest
    |directional derivative|). Cheaper than entry by entry when there are many parameters."""
    worst, scale = 0.0, 0.0
    for _ in range(directions):
        direction = {name: rng.standard_normal(np.shape(value)) for name, value in params.items()}
        predicted = sum(float(np.sum(np.reshape(gradients[name], d.shape) * d)) for name, d in direction.items())
        shifted = [loss_of({name: value + sign * eps * direction[name] for name, value in params.items()})
                   for sign in (1, -1)]
        worst = max(worst, abs((shifted[0] - shifted[1]) / (2 * eps) - predicted))
        scale = max(scale, abs(predicted))
    return worst, scale


def check_layer(name: str, layer, x: np.ndarray, rng: np.random.Generator) -> list[GradResult]:
    """Compare input and parameter gradients of one Layer (forward(x) / backward(g))."""
    upstream = rng.standard_normal(layer.forward(x).shape)

    def loss() -> float:
        return float((layer.forward(x) * upstream).sum())

    layer.zero_grads()
    layer.forward(x)
    grad_x = layer.backward(upstream)
    analytic = {"input": grad_x, **{k: v.copy() for k, v in layer.grads.items()}}
    targets = {"input": x, **layer.params}
    return [GradResult(name, key, relative_error(analytic[key], numeric_gradient(loss, array)))
            for key, array in targets.items()]


def _away_from_zero(values: np.ndarray, gap: float = 0.1) -> np.ndarray:
    return values + np.sign(values) * gap


def _distinct(shape, rng) -> np.ndarray:
    """Values with gaps of at least 0.05 between any two: no ties inside a pooling window."""
    return rng.permutation(np.prod(shape)).reshape(shape) * 0.05 - 1.0


def _softmax_cross_entropy(rng) -> list[GradResult]:
    from solver.nn.loss import SoftmaxCrossEntropy

    loss_layer = SoftmaxCrossEntropy()
    logits = rng.standard_normal((4, 5))
    labels = rng.integers(0, 5, size=4)
    loss_layer.forward(logits, labels)
    analytic = loss_layer.backward()
    numeric = numeric_gradient(lambda: loss_layer.forward(logits, labels), logits)
    return [GradResult("softmax-cross-entropy", "input", relative_error(analytic, numeric))]


def _lstm_cell(rng) -> list[GradResult]:
    """One cell step from a random state, with gradients arriving at both h' and c'."""
    from solver.nn.lstm import LSTMCell

    cell = LSTMCell(3, 4, rng=rng, dtype=np.float64)
    cell.params["b"][:] = rng.standard_normal(cell.params["b"].shape) * 0.5
    x, h, c = rng.standard_normal((2, 3)), rng.standard_normal((2, 4)), rng.standard_normal((2, 4))
    upstream_h, upstream_c = rng.standard_normal((2, 4)), rng.standard_normal((2, 4))

    def loss() -> float:
        h_next, c_next, _ = cell.step(x, h, c)
        return float((h_next * upstream_h).sum() + (c_next * upstream_c).sum())

    cell.zero_grads()
    _, _, cache = cell.step(x, h, c)
    grad_x, grad_h, grad_c = cell.step_backward(upstream_h, upstream_c, cache)
    analytic = {"input": grad_x, "h": grad_h, "c": grad_c,
                **{k: v.copy() for k, v in cell.grads.items()}}
    targets = {"input": x, "h": h, "c": c, **cell.params}
    return [GradResult("lstm-cell", key, relative_error(analytic[key], numeric_gradient(loss, array)))
            for key, array in targets.items()]


def _lstm_sequence(rng) -> list[GradResult]:
    """The unrolled LSTM, including the gradient into the initial state."""
    from solver.nn.lstm import LSTM

    lstm = LSTM(3, 4, rng=rng, dtype=np.float64)
    lstm.params["b"][:] = rng.standard_normal(lstm.params["b"].shape) * 0.5
    x = rng.standard_normal((5, 2, 3))
    h0, c0 = rng.standard_normal((2, 4)), rng.standard_normal((2, 4))
    upstream = rng.standard_normal((5, 2, 4))
    upstream_state = (rng.standard_normal((2, 4)), rng.standard_normal((2, 4)))

    def loss() -> float:
        hs = lstm.forward(x, (h0, c0))
        h, c = lstm.last_state
        return float((hs * upstream).sum() + (h * upstream_state[0]).sum()
                     + (c * upstream_state[1]).sum())

    lstm.zero_grads()
    lstm.forward(x, (h0, c0))
    grad_x = lstm.backward(upstream, upstream_state)
    analytic = {"input": grad_x, "h0": lstm.grad_initial_state[0],
                "c0": lstm.grad_initial_state[1], **{k: v.copy() for k, v in lstm.grads.items()}}
    targets = {"input": x, "h0": h0, "c0": c0, **lstm.params}
    return [GradResult("lstm", key, relative_error(analytic[key], numeric_gradient(loss, array)))
            for key, array in targets.items()]


def _layer_checks() -> dict[str, Callable[[np.random.Generator], list[GradResult]]]:
    from solver.nn.activations import ReLU, Sigmoid, Tanh
    from solver.nn.conv import Conv2d
    from solver.nn.flatten import Flatten
    from solver.nn.linear import Linear
    from solver.nn.pool import AvgPool2d, MaxPool2d

    f64 = np.float64

    def with_bias(layer, rng):
        # Zero biases would leave part of the bias gradient path untested.
        layer.params["b"][:] = rng.standard_normal(layer.params["b"].shape) * 0.5
        return layer

    return {
        "linear": lambda rng: check_layer(
            "linear", with_bias(Linear(5, 3, rng=rng, dtype=f64), rng), rng.standard_normal((4, 5)), rng),
        "relu": lambda rng: check_layer(
            "relu", ReLU(), _away_from_zero(rng.standard_normal((4, 6))), rng),
        "sigmoid": lambda rng: check_layer("sigmoid", Sigmoid(), rng.standard_normal((4, 6)) * 3, rng),
        "tanh": lambda rng: check_layer("tanh", Tanh(), rng.standard_normal((4, 6)) * 2, rng),
        "softmax-cross-entropy": _softmax_cross_entropy,
        "conv2d": lambda rng: check_layer(
            "conv2d", with_bias(Conv2d(2, 3, 3, stride=2, padding=1, rng=rng, dtype=f64), rng),
            rng.standard_normal((2, 2, 7, 6)), rng),
        "maxpool2d": lambda rng: check_layer(
            "maxpool2d", MaxPool2d(2), _distinct((2, 2, 6, 6), rng), rng),
        "maxpool2d-overlap": lambda rng: check_layer(
            "maxpool2d-overlap", MaxPool2d(3, stride=2, padding=1), _distinct((2, 2, 7, 7), rng), rng),
        "avgpool2d": lambda rng: check_layer(
            "avgpool2d", AvgPool2d(3, stride=2, padding=1), rng.standard_normal((2, 2, 7, 7)), rng),
        "flatten": lambda rng: check_layer("flatten", Flatten(), rng.standard_normal((2, 3, 2, 2)), rng),
        "lstm-cell": _lstm_cell,
        "lstm": _lstm_sequence,
    }


def check_layers(layer: str | None = None, seed: int = 0) -> list[GradResult]:
    """Gradient checks of one named layer, or of all of them."""
    checks = _layer_checks()
    if layer is not None and layer not in checks:
        raise UnknownLayerError(f"no gradient check for {layer!r}; layers: {', '.join(checks)}")
    names = [layer] if layer is not None else list(checks)
    results = []
    for name in names:
        results += checks[name](np.random.default_rng(seed))
    return results
