"""Fully connected layer y = x W + b."""

from __future__ import annotations

import numpy as np

from solver.nn import functional
from solver.nn.init import initialise, zeros
from solver.nn.layer import Layer


class Linear(Layer):
    """W has shape (in_features, out_features): rows of x are samples, so y = x @ W + b.

    (PyTorch stores the transpose, (out, in), and computes x @ W.T + b.)
    input_grad=False skips dL/dx, which the first layer of a network never needs; on MNIST's
    784 inputs that product is a quarter of the training arithmetic.
    """

    def __init__(self, in_features: int, out_features: int, init: str = "he",
                 rng: np.random.Generator | None = None, dtype=np.float32,
                 input_grad: bool = True):
        super().__init__()
        self.input_grad = input_grad
        rng = rng if rng is not None else np.random.default_rng(0)
        self.add_param("W", initialise(init, (in_features, out_features), in_features,
                                       out_features, rng, dtype))
        self.add_param("b", zeros((out_features,), dtype))
        self._x = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._x = x
        return functional.affine_forward(x, self.params["W"], self.params["b"])

    def backward(self, grad_out: np.ndarray) -> np.ndarray | None:
        dx, dw, db = functional.affine_backward(grad_out, self._x, self.params["W"], self.input_grad)
        self.grads["W"] += dw
        self.grads["b"] += db
        return dx
