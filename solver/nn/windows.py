"""im2col and its adjoint col2im, plus padding helpers, for (N, C, H, W) arrays.

The column matrix is laid out (C·K·K, N·H_out·W_out): row (c, i, j) holds input channel c
shifted by kernel offset (i, j) for every output position. Built from a strided view with
one copy, and in this order the copy moves whole image rows at a time, several times faster
than the (N·H_out·W_out, C·K·K) order. No Python loop runs over pixels.
"""

from __future__ import annotations

import numpy as np


def output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """floor((H + 2P − K) / S) + 1."""
    return (size + 2 * padding - kernel) // stride + 1


def pad(x: np.ndarray, padding: int, value: float = 0.0) -> np.ndarray:
    if padding == 0:
        return x
    widths = ((0, 0), (0, 0), (padding, padding), (padding, padding))
    return np.pad(x, widths, constant_values=value)


def unpad(x: np.ndarray, padding: int) -> np.ndarray:
    if padding == 0:
        return x
    return x[:, :, padding:-padding, padding:-padding]


def im2col(x_padded: np.ndarray, kernel: int, stride: int, h_out: int, w_out: int) -> np.ndarray:
    """(C·K·K, N·H_out·W_out) matrix of every receptive field of a padded input."""
    n, c = x_padded.shape[:2]
    view = np.lib.stride_tricks.sliding_window_view(x_padded, (kernel, kernel), axis=(2, 3))
    view = view[:, :, ::stride, ::stride][:, :, :h_out, :w_out]  # (N, C, Ho, Wo, K, K)
    return view.transpose(1, 4, 5, 0, 2, 3).reshape(c * kernel * kernel, n * h_out * w_out)


def col2im(cols: np.ndarray, padded_shape: tuple, kernel: int, stride: int,
           h_out: int, w_out: int) -> np.ndarray:
    """Adjoint of im2col: add every column entry back onto the input position it was read
    from (overlapping windows sum). One vectorised add per kernel offset, K² in all."""
    n, c, h, w = padded_shape
    cols = cols.reshape(c, kernel, kernel, n, h_out, w_out)
    grad = np.zeros((c, n, h, w), dtype=cols.dtype)  # channel-major, like the columns
    rows_span, cols_span = stride * (h_out - 1) + 1, stride * (w_out - 1) + 1
    for i in range(kernel):
        for j in range(kernel):
            grad[:, :, i:i + rows_span:stride, j:j + cols_span:stride] += cols[:, i, j]
    return grad.transpose(1, 0, 2, 3)
