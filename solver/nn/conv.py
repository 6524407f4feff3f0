"""2-D convolution (cross-correlation, as in every deep-learning library: no kernel flip).

The arithmetic is solver.nn.functional's (shared with the worked `layer` kind): im2col makes
every receptive field one column of a matrix, so the whole layer is one matrix product with
the (F, C·K·K) weight matrix — the same arithmetic as a loop over pixels, done by BLAS.
"""

from __future__ import annotations

import numpy as np

from solver.nn.init import initialise, zeros
from solver.nn.layer import Layer
from solver.nn import functional


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
        self._cache: dict = {}  # im2col's columns, built once for forward and backward
        pair = (self.stride, self.stride), (self.padding, self.padding)
        return functional.conv_forward(x, self.params["W"], self.params["b"], *pair, (1, 1), self._cache)

    def backward(self, grad_out: np.ndarray) -> np.ndarray | None:
        pair = (self.stride, self.stride), (self.padding, self.padding)
        dx, dw, db = functional.conv_backward(grad_out, None, self.params["W"], *pair, (1, 1),
                                              self._cache, self.input_grad)
        self.grads["W"] += dw
        self.grads["b"] += db
        return dx
