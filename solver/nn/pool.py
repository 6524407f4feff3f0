"""Max and average pooling over K×K windows (stride defaults to K: non-overlapping).

Both work offset by offset: the K² strided slices x[:, :, i::S, j::S] each hold one element
of every window, so a pass is K² whole-array operations and no window is ever copied out.
"""

from __future__ import annotations

import numpy as np

from solver.nn.layer import Layer
from solver.nn.windows import output_size, pad, unpad


class _Pool2d(Layer):
    def __init__(self, kernel_size: int, stride: int | None = None, padding: int = 0):
        super().__init__()
        self.kernel = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding

    def _offsets(self, x_padded: np.ndarray, h_out: int, w_out: int):
        """(offset number, slice of the padded input) for each of the K² window positions."""
        s, rows, cols = self.stride, self.stride * (h_out - 1) + 1, self.stride * (w_out - 1) + 1
        for i in range(self.kernel):
            for j in range(self.kernel):
                yield i * self.kernel + j, (slice(None), slice(None), slice(i, i + rows, s),
                                            slice(j, j + cols, s))

    def _prepare(self, x: np.ndarray, fill: float) -> np.ndarray:
        self._h_out = output_size(x.shape[2], self.kernel, self.stride, self.padding)
        self._w_out = output_size(x.shape[3], self.kernel, self.stride, self.padding)
        x_padded = pad(x, self.padding, fill)
        self._padded_shape, self._dtype = x_padded.shape, x.dtype
        return x_padded


class MaxPool2d(_Pool2d):
    """Each output is its window's maximum; the gradient goes to that one input (the first
    maximum in row-major window order when several are equal, as PyTorch picks). Padding
    counts as −∞, as in PyTorch."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._x_padded = self._prepare(x, -np.inf)
        best = None
        for _, where in self._offsets(self._x_padded, self._h_out, self._w_out):
            values = self._x_padded[where]
            best = values.copy() if best is None else np.maximum(best, values, out=best)
        self._best = best
        return best

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        # The winner of a window is found again here, not stored by forward: comparing with
        # the maximum is cheaper than tracking an argmax through the forward pass.
        grad = np.zeros(self._padded_shape, dtype=grad_out.dtype)
        routed = np.zeros(grad_out.shape, dtype=bool)
        for _, where in self._offsets(grad, self._h_out, self._w_out):
            wins = (self._x_padded[where] == self._best) & ~routed
            routed |= wins
            grad[where] += grad_out * wins
        return unpad(grad, self.padding)


class AvgPool2d(_Pool2d):
    """Each output is its window's mean; padding counts as zeros in the mean (PyTorch's
    default count_include_pad=True)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        x_padded = self._prepare(x, 0.0)
        total = np.zeros((*x.shape[:2], self._h_out, self._w_out), dtype=x.dtype)
        for _, where in self._offsets(x_padded, self._h_out, self._w_out):
            total += x_padded[where]
        return total / self.kernel ** 2

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        grad = np.zeros(self._padded_shape, dtype=grad_out.dtype)
        share = grad_out / self.kernel ** 2
        for _, where in self._offsets(grad, self._h_out, self._w_out):
            grad[where] += share
        return unpad(grad, self.padding)
