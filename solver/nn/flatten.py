"""Flatten (N, C, H, W) feature maps into (N, C·H·W) rows for the fully connected layers."""

from __future__ import annotations

import numpy as np

from solver.nn.layer import Layer


class Flatten(Layer):
    def forward(self, x: np.ndarray) -> np.ndarray:
        self._shape = x.shape
        return x.reshape(len(x), -1)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return grad_out.reshape(self._shape)
