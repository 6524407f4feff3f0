"""Plain NumPy forward passes of small fully connected networks, for the solvers' own checks
(`backprop`'s finite differences, `gate`'s truth tables). Imported only inside solve()."""

from __future__ import annotations

import numpy as np

from ...activations import TABLE
from ...nn.functions import softmax_array


def activate(name: str, u: np.ndarray) -> np.ndarray:
    """f(u) for a layer's column: softmax over the whole column, the rest element-wise."""
    if name == "softmax":
        return softmax_array(u, axis=None)
    return TABLE[name](u)


def forward(x: np.ndarray, params: list[tuple[np.ndarray, np.ndarray]], activations: list[str],
            layout: str) -> np.ndarray:
    """The network's output for one input vector; W in_out (inputs×outputs) or out_in."""
    h = np.asarray(x, dtype=float).reshape(-1)
    for (W, b), name in zip(params, activations):
        u = (W.T @ h if layout == "in_out" else W @ h) + b
        h = activate(name, u)
    return h


def loss(y: np.ndarray, d: np.ndarray, kind: str) -> float:
    if kind == "bce":
        return float(-np.sum(d * np.log(y) + (1 - d) * np.log(1 - y)))
    if kind == "ce":
        return float(-np.sum(d * np.log(y)))
    squared = float(np.sum((d - y) ** 2))
    if kind == "mse":
        return squared / len(y)
    if kind == "half-sse":
        return squared / 2
    return squared


def loss_of_parameters(x, d, params, activations, layout: str, kind: str) -> float:
    return loss(forward(x, params, activations, layout), d, kind)
