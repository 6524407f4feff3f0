"""Element-wise activations; each backward uses what its forward already computed."""

from __future__ import annotations

import numpy as np

from solver.nn import functional
from solver.nn.functions import relu_array, sigmoid_array
from solver.nn.layer import Layer


class ReLU(Layer):
    def forward(self, x: np.ndarray) -> np.ndarray:
        self._positive = x > 0
        return relu_array(x)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        # The derivative at exactly 0 is taken as 0, as PyTorch does.
        return grad_out * self._positive


def sigmoid(x: np.ndarray) -> np.ndarray:
    """σ element-wise in the array's own dtype (one definition: solver.nn.functions)."""
    return sigmoid_array(x)


class Sigmoid(Layer):
    def forward(self, x: np.ndarray) -> np.ndarray:
        self._y = sigmoid(x)
        return self._y

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return functional.sigmoid_backward(grad_out, self._y)  # σ' = σ(1 − σ)


class Tanh(Layer):
    def forward(self, x: np.ndarray) -> np.ndarray:
        self._y = np.tanh(x)
        return self._y

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return functional.tanh_backward(grad_out, self._y)  # tanh' = 1 − tanh²
