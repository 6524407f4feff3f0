"""Max and average pooling over K×K windows (stride defaults to K: non-overlapping).

The arithmetic is solver/nn/functional.py's, which the worked `layer` kind uses too: both work
offset by offset, the K² strided slices x[:, :, i::S, j::S] each holding one element of every
window, so a pass is K² whole-array operations and no window is ever copied out.
"""

from __future__ import annotations

import numpy as np

from solver.nn import functional
from solver.nn.layer import Layer


class _Pool2d(Layer):
    def __init__(self, kernel_size: int, stride: int | None = None, padding: int = 0):
        super().__init__()
        self.kernel = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding

    @property
    def _geometry(self) -> tuple:
        """(kernel, stride, padding) as the (height, width) pairs of the functional form."""
        return (self.kernel,) * 2, (self.stride,) * 2, (self.padding,) * 2


class MaxPool2d(_Pool2d):
    """Each output is its window's maximum; the gradient goes to that one input (the first
    maximum in row-major window order when several are equal, as PyTorch picks). Padding
    counts as −∞, as in PyTorch."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._x = x
        self._best = functional.max_pool_forward(x, *self._geometry)
        return self._best

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return functional.max_pool_backward(grad_out, self._x, *self._geometry, out=self._best)


class AvgPool2d(_Pool2d):
    """Each output is its window's mean; padding counts as zeros in the mean (PyTorch's
    default count_include_pad=True)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._x_shape = x.shape
        return functional.avg_pool_forward(x, *self._geometry)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return functional.avg_pool_backward(grad_out, self._x_shape, *self._geometry)
