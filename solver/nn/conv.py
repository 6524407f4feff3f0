"""2-D convolution (cross-correlation, as in every deep-learning library: no kernel flip).

im2col: every receptive field becomes one column of a matrix, so the whole layer is one
matrix product with the (F, C·K·K) weight matrix — the same arithmetic as a loop over
pixels, done by BLAS.
"""

from __future__ import annotations

import numpy as np

from solver.nn.init import initialise, zeros
from solver.nn.layer import Layer
from solver.nn.windows import col2im, im2col, output_size, pad, unpad


class Conv2d(Layer):
    """Input (N, C, H, W), weight (F, C, K, K) as in PyTorch, output (N, F, H_out, W_out)
    with H_out = floor((H + 2P − K) / S) + 1.

    input_grad=False skips the gradient with respect to the input: the first layer of a
    network never needs it, and it is the costliest part of the backward pass.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 padding: int = 0, init: str = "he", rng: np.random.Generator | None = None,
                 dtype=np.float32, input_grad: bool = True):
        super().__init__()
        rng = rng if rng is not None else np.random.default_rng(0)
        self.kernel, self.stride, self.padding = kernel_size, stride, padding
        self.input_grad = input_grad
        fan_in = in_channels * kernel_size ** 2
        fan_out = out_channels * kernel_size ** 2
        shape = (out_channels, in_channels, kernel_size, kernel_size)
        self.add_param("W", initialise(init, shape, fan_in, fan_out, rng, dtype))
        self.add_param("b", zeros((out_channels,), dtype))

    def forward(self, x: np.ndarray) -> np.ndarray:
        n, _, h, w = x.shape
        k, s = self.kernel, self.stride
        h_out, w_out = output_size(h, k, s, self.padding), output_size(w, k, s, self.padding)
        x_padded = pad(x, self.padding)
        self._cols = im2col(x_padded, k, s, h_out, w_out)
        self._geometry = (x_padded.shape, h_out, w_out)
        weights = self.params["W"].reshape(len(self.params["W"]), -1)
        out = weights @ self._cols + self.params["b"][:, None]  # (F, N·Ho·Wo)
        # Contiguous NCHW: the layers that follow run several times faster on it than on
        # the strided view a bare transpose would give.
        return np.ascontiguousarray(out.reshape(-1, n, h_out, w_out).transpose(1, 0, 2, 3))

    def backward(self, grad_out: np.ndarray) -> np.ndarray | None:
        f = grad_out.shape[1]
        grad_rows = grad_out.transpose(1, 0, 2, 3).reshape(f, -1)  # (F, N·Ho·Wo)
        weights = self.params["W"].reshape(f, -1)
        self.grads["W"] += (grad_rows @ self._cols.T).reshape(self.params["W"].shape)
        self.grads["b"] += grad_rows.sum(axis=1)
        if not self.input_grad:
            return None
        padded_shape, h_out, w_out = self._geometry
        grad_padded = col2im(weights.T @ grad_rows, padded_shape, self.kernel, self.stride,
                             h_out, w_out)
        return np.ascontiguousarray(unpad(grad_padded, self.padding))
