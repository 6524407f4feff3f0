"""The interface every NumPy layer follows."""

from __future__ import annotations

import numpy as np


class Layer:
    """A layer with a hand-written backward pass.

    forward(x) keeps what backward needs; backward(grad_out) returns the gradient with
    respect to the input and *adds* the parameter gradients into `grads` (so a layer used at
    several time steps sums them, as autograd does); zero_grads() clears them.
    `params` and `grads` map the same names to arrays of the same shape.
    """

    def __init__(self) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}

    def forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)

    def add_param(self, name: str, value: np.ndarray) -> None:
        self.params[name] = value
        self.grads[name] = np.zeros_like(value)

    def zero_grads(self) -> None:
        for grad in self.grads.values():
            grad.fill(0)

    def __repr__(self) -> str:
        shapes = ", ".join(f"{k}{tuple(v.shape)}" for k, v in self.params.items())
        return f"{type(self).__name__}({shapes})"
