"""One layer's forward and backward pass as plain functions on float64 arrays, batch first.

The worked `layer` kind calls these; each backward takes the upstream gradient `dout` (shaped
like the forward's output) and returns the gradients named as CS231n names them (dx, dw, db,
dgamma, dbeta). Spatial layers work on 2-D maps (N, C, H, W); a 1-D layer (N, C, L) is the
same computation on maps of height 1, so `stride`, `padding`, `dilation` and kernels are
(height, width) pairs here and the caller pads a 1-D layer's pairs with a 1 (or 0).

Every window loop runs over the K_H·K_W kernel offsets and moves whole arrays at each one, so
no Python loop runs over pixels. The training module's layers (linear, conv and pooling in
solver/nn/) are these functions: one home for each layer's maths.
"""

from __future__ import annotations

import numpy as np

from solver.nn.loss import softmax
from solver.nn.windows import col2im, im2col, output_size, pad, unpad


def _window(offset: int, dilation: int, stride: int, count: int) -> slice:
    """The padded-input positions that kernel offset `offset` meets, one per output position."""
    start = offset * dilation
    return slice(start, start + stride * (count - 1) + 1, stride)


def _pad(x: np.ndarray, padding: tuple[int, int], value: float = 0.0) -> np.ndarray:
    ph, pw = padding
    if ph == pw == 0:
        return x
    return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=value)


def conv_out_size(size: int, kernel: int, stride: int, padding: int, dilation: int = 1) -> int:
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


# --- affine ------------------------------------------------------------------------------------


def affine_forward(x, w, b):
    """out = x·w + b with each sample flattened to a row: x (N, d1, …) , w (D, M), b (M)."""
    return x.reshape(len(x), -1) @ w + b


def affine_backward(dout, x, w, input_grad: bool = True):
    """(dx, dw, db); dx is None with input_grad=False (a network's first layer never needs it)."""
    rows = x.reshape(len(x), -1)
    dx = (dout @ w.T).reshape(x.shape) if input_grad else None
    return dx, rows.T @ dout, dout.sum(axis=0)


# --- convolution (cross-correlation), transposed convolution, locally connected ---------------


def _square(w, stride, padding, dilation) -> bool:
    """The common case: a square kernel, the same stride and padding both ways, no dilation."""
    return w.shape[2] == w.shape[3] and stride[0] == stride[1] and padding[0] == padding[1] \
        and tuple(dilation) == (1, 1)


def conv_forward(x, w, b, stride=(1, 1), padding=(0, 0), dilation=(1, 1), cache: dict | None = None):
    """x (N, C, H, W), w (F, C, KH, KW), b (F) -> (N, F, H_out, W_out).

    A square undilated kernel is one matrix product over im2col's columns (BLAS; the training
    module's Conv2d); any other, a sum over the kernel offsets. `cache` (a dict) keeps the
    columns for conv_backward, so a training step builds them once."""
    if _square(w, stride, padding, dilation):
        return _conv_forward_columns(x, w, b, stride[0], padding[0], cache)
    n, _, h, wd = x.shape
    f, _, kh, kw = w.shape
    ho = conv_out_size(h, kh, stride[0], padding[0], dilation[0])
    wo = conv_out_size(wd, kw, stride[1], padding[1], dilation[1])
    xp = _pad(x, padding)
    out = np.zeros((n, f, ho, wo))
    for i in range(kh):
        for j in range(kw):
            patch = xp[:, :, _window(i, dilation[0], stride[0], ho), _window(j, dilation[1], stride[1], wo)]
            out += np.einsum("nchw,fc->nfhw", patch, w[:, :, i, j])
    return out + b[None, :, None, None]


def conv_backward(dout, x, w, stride=(1, 1), padding=(0, 0), dilation=(1, 1), cache: dict | None = None,
                  input_grad: bool = True):
    """(dx, dw, db); dx is None with input_grad=False. `cache`: conv_forward's, when it kept one
    (then `x` may be None)."""
    if _square(w, stride, padding, dilation):
        return _conv_backward_columns(dout, x, w, stride[0], padding[0], cache, input_grad)
    _, _, h, wd = x.shape
    _, _, kh, kw = w.shape
    ho, wo = dout.shape[2:]
    xp = _pad(x, padding)
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for i in range(kh):
        for j in range(kw):
            where = (slice(None), slice(None), _window(i, dilation[0], stride[0], ho),
                     _window(j, dilation[1], stride[1], wo))
            dw[:, :, i, j] = np.einsum("nfhw,nchw->fc", dout, xp[where])
            dxp[where] += np.einsum("nfhw,fc->nchw", dout, w[:, :, i, j])
    dx = dxp[:, :, padding[0]:padding[0] + h, padding[1]:padding[1] + wd]
    return dx, dw, dout.sum(axis=(0, 2, 3))


def _conv_forward_columns(x, w, b, stride: int, padding: int, cache: dict | None):
    n, _, h, wd = x.shape
    f, k = w.shape[0], w.shape[2]
    h_out, w_out = output_size(h, k, stride, padding), output_size(wd, k, stride, padding)
    x_padded = pad(x, padding)
    cols = im2col(x_padded, k, stride, h_out, w_out)
    if cache is not None:
        cache.update(cols=cols, padded_shape=x_padded.shape, size=(h_out, w_out))
    out = w.reshape(f, -1) @ cols + b[:, None]  # (F, N·Ho·Wo)
    # Contiguous NCHW: the layers that follow run several times faster on it than on the
    # strided view a bare transpose would give.
    return np.ascontiguousarray(out.reshape(f, n, h_out, w_out).transpose(1, 0, 2, 3))


def _conv_backward_columns(dout, x, w, stride: int, padding: int, cache: dict | None, input_grad: bool):
    if cache is None:
        cache = {}
        _conv_forward_columns(x, w, np.zeros(len(w), dtype=w.dtype), stride, padding, cache)
    f, k = w.shape[0], w.shape[2]
    rows = dout.transpose(1, 0, 2, 3).reshape(f, -1)  # (F, N·Ho·Wo)
    dw = (rows @ cache["cols"].T).reshape(w.shape)
    db = rows.sum(axis=1)
    if not input_grad:
        return None, dw, db
    h_out, w_out = cache["size"]
    dx_padded = col2im(w.reshape(f, -1).T @ rows, cache["padded_shape"], k, stride, h_out, w_out)
    return np.ascontiguousarray(unpad(dx_padded, padding)), dw, db


def transposed_out_size(size, kernel, stride, padding, dilation=1, output_padding=0) -> int:
    return (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1


def conv_transpose_forward(x, w, b, stride=(1, 1), padding=(0, 0), dilation=(1, 1),
                           output_padding=(0, 0)):
    """x (N, C, H, W), w (C, F, KH, KW) as PyTorch stores it, b (F): every input value adds
    value·kernel into the output at stride S; then P is cropped from each side (the extra
    `output_padding` rows and columns stay at the bottom and right)."""
    n, _, h, wd = x.shape
    _, f, kh, kw = w.shape
    full = [(h - 1) * stride[0] + dilation[0] * (kh - 1) + 1 + output_padding[0],
            (wd - 1) * stride[1] + dilation[1] * (kw - 1) + 1 + output_padding[1]]
    y = np.zeros((n, f, *full))
    for i in range(kh):
        for j in range(kw):
            where = (slice(None), slice(None), _window(i, dilation[0], stride[0], h),
                     _window(j, dilation[1], stride[1], wd))
            y[where] += np.einsum("nchw,cf->nfhw", x, w[:, :, i, j])
    ho, wo = full[0] - 2 * padding[0], full[1] - 2 * padding[1]
    return y[:, :, padding[0]:padding[0] + ho, padding[1]:padding[1] + wo] + b[None, :, None, None]


def conv_transpose_backward(dout, x, w, stride=(1, 1), padding=(0, 0), dilation=(1, 1),
                            output_padding=(0, 0)):
    _, _, h, wd = x.shape
    _, _, kh, kw = w.shape
    ho, wo = dout.shape[2:]
    dy = np.zeros((*dout.shape[:2], ho + 2 * padding[0], wo + 2 * padding[1]))
    dy[:, :, padding[0]:padding[0] + ho, padding[1]:padding[1] + wo] = dout
    dx, dw = np.zeros_like(x), np.zeros_like(w)
    for i in range(kh):
        for j in range(kw):
            where = (slice(None), slice(None), _window(i, dilation[0], stride[0], h),
                     _window(j, dilation[1], stride[1], wd))
            dx += np.einsum("nfhw,cf->nchw", dy[where], w[:, :, i, j])
            dw[:, :, i, j] = np.einsum("nchw,nfhw->cf", x, dy[where])
    return dx, dw, dout.sum(axis=(0, 2, 3))


def local_forward(x, w, b, stride=(1, 1), padding=(0, 0)):
    """Locally connected: x (N, C, H, W), w (OH, OW, F, C, KH, KW) — one filter bank per
    output position, nothing shared — b (F, OH, OW)."""
    oh, ow, _, _, kh, kw = w.shape
    xp = _pad(x, padding)
    out = np.zeros((len(x), w.shape[2], oh, ow))
    for i in range(kh):
        for j in range(kw):
            patch = xp[:, :, _window(i, 1, stride[0], oh), _window(j, 1, stride[1], ow)]
            out += np.einsum("nchw,hwfc->nfhw", patch, w[:, :, :, :, i, j])
    return out + b[None]


def local_backward(dout, x, w, stride=(1, 1), padding=(0, 0)):
    _, _, h, wd = x.shape
    oh, ow, _, _, kh, kw = w.shape
    xp = _pad(x, padding)
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for i in range(kh):
        for j in range(kw):
            where = (slice(None), slice(None), _window(i, 1, stride[0], oh), _window(j, 1, stride[1], ow))
            dw[:, :, :, :, i, j] = np.einsum("nfhw,nchw->hwfc", dout, xp[where])
            dxp[where] += np.einsum("nfhw,hwfc->nchw", dout, w[:, :, :, :, i, j])
    dx = dxp[:, :, padding[0]:padding[0] + h, padding[1]:padding[1] + wd]
    return dx, dw, dout.sum(axis=0)


# --- pooling -------------------------------------------------------------------------------------


def pool_out_shape(x_shape, kernel, stride, padding) -> tuple[int, int]:
    return tuple(conv_out_size(s, k, st, p) for s, k, st, p in zip(x_shape[2:], kernel, stride, padding))


def max_pool_forward(x, kernel, stride, padding=(0, 0)):
    """Padding counts as −∞ (it never wins), as in PyTorch."""
    ho, wo = pool_out_shape(x.shape, kernel, stride, padding)
    xp = _pad(x, padding, -np.inf)
    best = np.full((*x.shape[:2], ho, wo), -np.inf, dtype=x.dtype)
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            np.maximum(best, xp[:, :, _window(i, 1, stride[0], ho), _window(j, 1, stride[1], wo)], out=best)
    return best


def max_pool_backward(dout, x, kernel, stride, padding=(0, 0), out=None):
    """Each window's gradient goes to its maximum; at a tie to the first one in row-major
    window order (the offsets are visited in that order), as PyTorch picks it. `out`, the
    forward's result, saves finding the maxima again."""
    ho, wo = dout.shape[2:]
    xp = _pad(x, padding, -np.inf)
    best = max_pool_forward(x, kernel, stride, padding) if out is None else out
    dxp = np.zeros(xp.shape, dtype=dout.dtype)
    routed = np.zeros(dout.shape, dtype=bool)
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            where = (slice(None), slice(None), _window(i, 1, stride[0], ho), _window(j, 1, stride[1], wo))
            wins = (xp[where] == best) & ~routed
            routed |= wins
            dxp[where] += dout * wins
    return dxp[:, :, padding[0]:padding[0] + x.shape[2], padding[1]:padding[1] + x.shape[3]]


def avg_pool_divisor(x_shape, kernel, stride, padding, count_include_pad=True) -> np.ndarray:
    """What each window's sum is divided by: K_H·K_W (padding counted, PyTorch's default), or
    the number of real input values in the window."""
    ho, wo = pool_out_shape(x_shape, kernel, stride, padding)
    if count_include_pad:
        return np.full((ho, wo), float(kernel[0] * kernel[1]))
    ones = _pad(np.ones((1, 1, *x_shape[2:])), padding)
    count = np.zeros((ho, wo))
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            count += ones[0, 0, _window(i, 1, stride[0], ho), _window(j, 1, stride[1], wo)]
    return count


def avg_pool_forward(x, kernel, stride, padding=(0, 0), count_include_pad=True):
    ho, wo = pool_out_shape(x.shape, kernel, stride, padding)
    xp = _pad(x, padding)
    total = np.zeros((*x.shape[:2], ho, wo), dtype=x.dtype)
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            total += xp[:, :, _window(i, 1, stride[0], ho), _window(j, 1, stride[1], wo)]
    return total / avg_pool_divisor(x.shape, kernel, stride, padding, count_include_pad).astype(x.dtype)


def avg_pool_backward(dout, x_shape, kernel, stride, padding=(0, 0), count_include_pad=True):
    """Each window passes dout over its divisor back to every value in it (only x's shape matters)."""
    ho, wo = dout.shape[2:]
    share = dout / avg_pool_divisor(x_shape, kernel, stride, padding, count_include_pad).astype(dout.dtype)
    h, w = x_shape[2] + 2 * padding[0], x_shape[3] + 2 * padding[1]
    dxp = np.zeros((*x_shape[:2], h, w), dtype=dout.dtype)
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            dxp[:, :, _window(i, 1, stride[0], ho), _window(j, 1, stride[1], wo)] += share
    return dxp[:, :, padding[0]:padding[0] + x_shape[2], padding[1]:padding[1] + x_shape[3]]


# --- element-wise --------------------------------------------------------------------------------


def relu_backward(dout, x):
    return dout * (x > 0)  # relu′(0) = 0, as PyTorch


def leaky_relu_forward(x, alpha):
    return np.where(x > 0, x, alpha * x)


def leaky_relu_backward(dout, x, alpha):
    return dout * np.where(x > 0, 1.0, alpha)  # the slope at 0 is alpha, as PyTorch


def sigmoid_backward(dout, out):
    return dout * out * (1 - out)


def tanh_backward(dout, out):
    return dout * (1 - out * out)


def softmax_forward(x):
    """Softmax over the last axis (solver.nn.loss.softmax row by row)."""
    return softmax(x.reshape(-1, x.shape[-1])).reshape(x.shape)


def softmax_backward(dout, out):
    """dx = y ⊙ (dout − Σ_j dout_j·y_j): the softmax Jacobian diag(y) − y·yᵀ applied to dout."""
    return out * (dout - (dout * out).sum(axis=-1, keepdims=True))


def dropout_forward(x, mask, p):
    """Inverted dropout: kept units are scaled by 1/(1 − p) so that eval needs no change."""
    return x * mask / (1 - p)


def dropout_backward(dout, mask, p):
    return dout * mask / (1 - p)


# --- normalisation -------------------------------------------------------------------------------


def _normalise(x, axes, eps):
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)  # biased: divided by the count
    return mean, var, (x - mean) / np.sqrt(var + eps)


def _normalise_backward(dx_hat, x_hat, var, eps, axes):
    """dx = (1/√(σ² + ε))·(dx̂ − mean(dx̂) − x̂·mean(dx̂ ⊙ x̂)), the means over the normalised group."""
    return (dx_hat - dx_hat.mean(axis=axes, keepdims=True)
            - x_hat * (dx_hat * x_hat).mean(axis=axes, keepdims=True)) / np.sqrt(var + eps)


def _channel_axes(x):
    return (0,) + tuple(range(2, x.ndim))


def _per_channel(v, x):
    return v.reshape((1, -1) + (1,) * (x.ndim - 2))


def batchnorm_forward(x, gamma, beta, eps, training, running_mean, running_var, momentum):
    """x (N, D) or (N, C, …): statistics per feature / channel over N (and every spatial
    position). Returns out, mean, var (biased), x_hat and the new running statistics (training;
    PyTorch updates the running variance with the unbiased batch variance)."""
    axes = _channel_axes(x)
    if training:
        mean, var, x_hat = _normalise(x, axes, eps)
        mean, var = mean.reshape(-1), var.reshape(-1)
        count = x.size // x.shape[1]
        new_mean = (1 - momentum) * running_mean + momentum * mean
        new_var = (1 - momentum) * running_var + momentum * var * count / (count - 1)
    else:
        mean, var = running_mean, running_var
        x_hat = (x - _per_channel(mean, x)) / np.sqrt(_per_channel(var, x) + eps)
        new_mean = new_var = None
    out = _per_channel(gamma, x) * x_hat + _per_channel(beta, x)
    return out, mean, var, x_hat, new_mean, new_var


def batchnorm_backward(dout, x_hat, gamma, var, eps, training):
    axes = _channel_axes(dout)
    dgamma, dbeta = (dout * x_hat).sum(axis=axes), dout.sum(axis=axes)
    dx_hat = dout * _per_channel(gamma, dout)
    if training:
        dx = _normalise_backward(dx_hat, x_hat, _per_channel(var, dout), eps, axes)
    else:  # the running statistics are constants: an affine map per channel
        dx = dx_hat / np.sqrt(_per_channel(var, dout) + eps)
    return dx, dgamma, dbeta


def layernorm_forward(x, gamma, beta, eps):
    """Each sample over all its non-batch axes; gamma, beta shaped like one sample."""
    axes = tuple(range(1, x.ndim))
    mean, var, x_hat = _normalise(x, axes, eps)
    return gamma * x_hat + beta, mean.reshape(len(x)), var.reshape(len(x)), x_hat


def layernorm_backward(dout, x_hat, gamma, var, eps):
    axes = tuple(range(1, dout.ndim))
    var = var.reshape((-1,) + (1,) * (dout.ndim - 1))
    dx = _normalise_backward(dout * gamma, x_hat, var, eps, axes)
    return dx, (dout * x_hat).sum(axis=0), dout.sum(axis=0)


def groupnorm_forward(x, gamma, beta, groups, eps):
    """x (N, C, …): the C channels in `groups` consecutive groups, each sample's group
    normalised over its channels and positions; gamma, beta per channel. mean, var: (N, G)."""
    n, c = x.shape[:2]
    grouped = x.reshape(n, groups, -1)
    mean, var, x_hat = _normalise(grouped, (2,), eps)
    x_hat = x_hat.reshape(x.shape)
    out = _per_channel(gamma, x) * x_hat + _per_channel(beta, x)
    return out, mean.reshape(n, groups), var.reshape(n, groups), x_hat


def groupnorm_backward(dout, x_hat, gamma, var, groups, eps):
    n = len(dout)
    axes = _channel_axes(dout)
    dx_hat = (dout * _per_channel(gamma, dout)).reshape(n, groups, -1)
    dx = _normalise_backward(dx_hat, x_hat.reshape(n, groups, -1), var.reshape(n, groups, 1), eps, (2,))
    return dx.reshape(dout.shape), (dout * x_hat).sum(axis=axes), dout.sum(axis=axes)
