"""The `layer` kind's types: reading each type's arrays (batch first, or one sample), then its
forward and backward steps. The numbers come from solver/nn/functional.py; the steps
(solver/kinds/layer/_layer_steps.py) write them out and check them element by element.
"""

from __future__ import annotations

import math

import numpy as np

from ...activations import TABLE
from ...errors import BadInput
from ...formula import Num, Sym, call, hadamard
from ...nn import functional as fn
from ...steps import Formula, Solution
from ..conv import _conv_arith as arith
from . import _layer_common as common
from . import _layer_steps as steps
from .layer import MAX_PRODUCTS, LayerInput

X, W, B, DOUT = Sym("x"), Sym("w"), Sym("b"), Sym("dout")
Y = Sym("y")
MASK, P_DROP, ALPHA = Sym("mask"), Sym("p"), Sym("alpha")
SLOPE = Sym("s", text="s", latex="s")
MU, VAR, EPS = Sym("mu"), Sym("var", text="σ²", latex=r"\sigma^2"), Sym("eps")
GAMMA, BETA = Sym("gamma"), Sym("beta")
X_HAT = Sym("x_hat", text="x̂", latex=r"\hat{x}")
DX_HAT = Sym("dx_hat", text="dx̂", latex=r"d\hat{x}")
MEAN_DXH = Sym("a", text="mean(dx̂)", latex=r"\overline{d\hat{x}}")
MEAN_DXH_XH = Sym("c", text="mean(dx̂⊙x̂)", latex=r"\overline{d\hat{x} \odot \hat{x}}")
MOMENTUM = Sym("m", text="momentum", latex=r"\mathrm{momentum}")
RM, RV = Sym("rm", text="running_mean", latex=r"\mu_{\mathrm{run}}"), Sym("rv", text="running_var",
                                                                           latex=r"\sigma^2_{\mathrm{run}}")
COUNT = Sym("M")
ROW_SUM = Sym("r", text="Σ dout⊙y", latex=r"\textstyle\sum dout \odot y")


def _place(index) -> str:
    return "[" + ", ".join(str(i + 1) for i in index) + "]"


def _shape(a) -> str:
    return common.shape_text(np.shape(a))


def _result(sol: Solution, name: str, text: str, value) -> None:
    sol.add(f"{text}; shape {_shape(value)}.", value=value, answer=name)


def _dout(given: LayerInput, out_shape: tuple):
    if given.dout is None:
        return None
    dout = common.array(given.dout)
    common.require_shape(dout, out_shape, "dout", "the upstream gradient is shaped like out")
    return dout


def _pairs(value, dims: int, field: str, neutral: int) -> tuple[int, int]:
    """A number or a per-dimension list as (height, width); a 1-D layer has height `neutral`."""
    items = value if isinstance(value, list) else [value]
    if len(items) == 1:
        items = items * dims
    if len(items) != dims:
        raise BadInput(f"{field} gives {len(items)} sizes but the layer is {dims}-D", field=field)
    return (neutral, items[0]) if dims == 1 else (items[0], items[1])


def _batch(x, sample_ndim: int, what: str):
    """(x with a batch axis, whether one was added); x must be a batch or one sample."""
    if x.ndim == sample_ndim + 1:
        return x, False
    if x.ndim == sample_ndim:
        return x[None], True
    raise BadInput(f"x has shape {_shape(x)}; a {what} takes N×{what_shape(sample_ndim)} (batch first) or one "
                   f"sample {what_shape(sample_ndim)}", field="x")


def what_shape(ndim: int) -> str:
    return {1: "D", 2: "C×L", 3: "C×H×W"}.get(ndim, f"{ndim} axes")


def _bias(given: LayerInput, shape: tuple):
    if given.b is None:
        return np.zeros(shape)
    b = common.array(given.b)
    if b.ndim == 0:
        return np.full(shape, float(b))
    common.require_shape(b, shape, "b", "one bias per output channel" if len(shape) == 1 else "F×OH×OW")
    return b


def _bound_work(products: int) -> None:
    if products > MAX_PRODUCTS:
        raise BadInput(f"this layer takes {products:,} multiply-adds; at most {MAX_PRODUCTS:,} are worked by hand",
                       field="x")


def _size_steps(sol: Solution, x_sizes, kernel, stride, padding, dilation, dims, transposed=False,
                output_padding=(0, 0)) -> list[int]:
    """Output size per spatial dimension, as conv-shape writes it."""
    labels = ["L"] if dims == 1 else ["H", "W"]
    offset = 2 - dims
    outs = []
    for d, label in enumerate(labels):
        k = d + offset
        bindings = {label: x_sizes[k], "K": kernel[k], "S": stride[k], "P": padding[k], "D": dilation[k]}
        expr = arith.transposed_expr(arith.size_symbol(label)) if transposed else arith.conv_expr(
            arith.size_symbol(label))
        if transposed:
            bindings["A"] = output_padding[k]
        size = sol.add(f"Output {'length' if dims == 1 else ('height' if label == 'H' else 'width')}:",
                       Formula(arith.out_symbol(label), expr, bindings))
        if size < 1:
            raise BadInput(f"the output {label} would be {size}: the kernel does not fit the (padded) input",
                           field="x")
        outs.append(int(size))
    return outs


# --- weighted layers -------------------------------------------------------------------------------


def _affine(sol: Solution, given: LayerInput) -> dict:
    x = common.array(given.x)
    single = x.ndim == 1
    xb = x[None] if single else x
    w = common.array(given.w)
    d = int(math.prod(xb.shape[1:]))
    if w.ndim != 2 or w.shape[0] != d:
        raise BadInput(f"w has shape {_shape(w)} but must be D×M with D = {d} (the values of one sample"
                       f"{', flattened' if xb.ndim > 2 else ''})", field="w")
    _bound_work(len(xb) * w.size)
    b = _bias(given, (w.shape[1],))
    sol.convention("Affine layer (CS231n): each sample is flattened to a row of D values, out = x·w + b with "
                   "w of shape D×M.")
    sol.note(f"x is {_shape(x)} ({'one sample' if single else f'a batch of {len(xb)}'}), w is {_shape(w)}: "
             f"out has shape {'M = ' if single else 'N×M = '}{_shape(np.zeros((*(() if single else (len(xb),)), w.shape[1])))}.")
    out = fn.affine_forward(xb, w, b)
    dout = _dout(given, out[0].shape if single else out.shape)
    dout_b = None if dout is None else (dout[None] if single else dout)
    grads = fn.affine_backward(dout_b, xb, w) if dout is not None else None
    texts = {
        "index": lambda name, k: _unbatch_index(k, single) if name in ("out", "dx") else k,
        "out": lambda k, n: f"out{_place(_unbatch_index(k, single))}: row of x times column {k[-1] + 1} of w, plus "
                            f"b{_place(k[-1:])}",
        "dx": lambda k, n: f"dx{_place(_unbatch_index(k, single))} = Σ_m dout·w: the row of dout times row "
                           f"{int(np.ravel_multi_index(k[1:], xb.shape[1:])) + 1} of w",
        "dw": lambda k, n: f"dw{_place(k)} = Σ_n dout·x over the {n} sample{'s' if n > 1 else ''}",
        "db": lambda k, n: f"db{_place(k)} = Σ_n dout over the samples",
    }
    rows = xb.reshape(len(xb), -1)
    flattened = " (each sample flattened to a row)" if xb.ndim > 2 else ""
    unbatch = (lambda a: a[0]) if single else (lambda a: a)
    answers = {"out": unbatch(out)}
    _matrix_step(sol, "out", f"out = x·w + b{flattened}", X @ W + B, {"x": rows, "w": w, "b": b}, out)
    steps.bilinear_forward_steps(sol, fn.affine_forward, lambda g, xx, ww: fn.affine_backward(g, xx, ww)[0],
                                 xb, w, b, out, given.show, texts)
    sol.set_answer("out", answers["out"])  # the matrix step above shows it
    if dout is not None:
        dx, dw, db = grads
        _matrix_step(sol, "dx", "dx = dout·wᵀ" + (", then reshaped like x" if xb.ndim > 2 else ""), DOUT @ W.T,
                     {"dout": dout_b, "w": w}, dx.reshape(len(xb), -1))
        _matrix_step(sol, "dw", f"dw = xᵀ·dout{flattened}", X.T @ DOUT, {"x": rows, "dout": dout_b}, dw)
        sol.note("db = Σ_n dout: the column sums of dout, as the bias is added to every sample.")
        steps.bilinear_backward_steps(sol, fn.affine_forward, xb, w, b, given.show, texts, dout_b, grads)
        if single or xb.ndim > 2:
            _result(sol, "dx", "dx, shaped like x", unbatch(dx))
        else:
            sol.set_answer("dx", dx)
        sol.set_answer("dw", dw)
        _result(sol, "db", "db, like b", db)
    return answers


def _matrix_step(sol: Solution, name: str, text: str, expr, bindings: dict, reference) -> None:
    """A matrix formula over the whole batch, numbers substituted when they are few, checked
    against the layer's own pass."""
    size = sum(np.size(v) for v in bindings.values())
    written = sol.add(text + ":", Formula(Sym(name), expr, bindings, substitute=size <= steps.SUBSTITUTE_UP_TO))
    _check_same(sol, name, written, reference)


def _unbatch_index(index, single: bool):
    return index[1:] if single else index


def _conv_like(sol: Solution, given: LayerInput) -> dict:
    """conv, transposed-conv and locally-connected: 1-D layers run as 2-D maps of height 1."""
    kind = given.type
    x, w = common.array(given.x), common.array(given.w)
    if kind == "locally-connected":
        if w.ndim not in (4, 6):
            raise BadInput(f"w of a locally connected layer is OH×OW×F×C×KH×KW (1-D: OL×F×C×K), got {_shape(w)}",
                           field="w")
        dims = 1 if w.ndim == 4 else 2
    else:
        if w.ndim not in (3, 4):
            layout = "F×C×KH×KW (1-D: F×C×K)" if kind == "conv" else "C×F×KH×KW (1-D: C×F×K), PyTorch's layout"
            raise BadInput(f"w of a {kind} layer is {layout}, got {_shape(w)}", field="w")
        dims = w.ndim - 2
    xb, single = _batch(x, dims + 1, f"{dims}-D {kind} layer")
    x4 = xb[:, :, None, :] if dims == 1 else xb
    stride = _pairs(1 if given.stride is None else given.stride, dims, "stride", 1)
    padding = _pairs(given.padding, dims, "padding", 0)
    dilation = _pairs(given.dilation, dims, "dilation", 1)
    n, c = x4.shape[:2]
    if kind == "locally-connected":
        w4 = w[None, :, :, :, None, :] if dims == 1 else w
        f, kernel = w4.shape[2], w4.shape[4:]
        in_channels = w4.shape[3]
        if dilation != (1, 1):
            raise BadInput("a locally connected layer takes no dilation", field="dilation")
    else:
        w4 = w[:, :, None, :] if dims == 1 else w
        kernel = w4.shape[2:]
        in_channels, f = (w4.shape[1], w4.shape[0]) if kind == "conv" else (w4.shape[0], w4.shape[1])
    if in_channels != c:
        axis = "second" if kind == "conv" else ("first" if kind == "transposed-conv" else "fourth")
        raise BadInput(f"x has {c} channel{'s' if c > 1 else ''} but w's {axis} axis (input channels) is "
                       f"{in_channels}", field="w")
    output_padding = (0, 0)
    if kind == "transposed-conv":
        output_padding = _pairs(given.output_padding, dims, "output_padding", 0)
        for op, s, d in zip(output_padding, stride, dilation):
            if op >= max(s, d):
                raise BadInput("output_padding must be smaller than the stride or the dilation (PyTorch)",
                               field="output_padding")
    sol.note(f"x is {_shape(x)} ({'one sample' if single else f'a batch of {n}'}), w is {_shape(w)}.")
    outs = _size_steps(sol, x4.shape[2:], kernel, stride, padding, dilation, dims, kind == "transposed-conv",
                       output_padding)
    _bound_work(n * f * math.prod(outs) * c * math.prod(kernel))
    if kind == "conv":
        sol.convention("Convolution is cross-correlation (no kernel flip), as in every deep-learning library; "
                       "w is F×C×KH×KW (1-D: F×C×K).")
        b = _bias(given, (f,))
        forward = lambda xx, ww, bb: fn.conv_forward(xx, ww, bb, stride, padding, dilation)  # noqa: E731
        backward = lambda g, xx, ww: fn.conv_backward(g, xx, ww, stride, padding, dilation)  # noqa: E731
    elif kind == "transposed-conv":
        sol.convention("Transposed convolution with PyTorch's weight layout C_in×C_out×KH×KW: every input value "
                       "adds value·kernel into the output at stride S (dilation D between kernel taps); then P "
                       "rows/columns are cropped from each side and output_padding extra ones kept at the "
                       "bottom/right. It is the gradient of a convolution with respect to its input.")
        b = _bias(given, (f,))
        forward = lambda xx, ww, bb: fn.conv_transpose_forward(  # noqa: E731
            xx, ww, bb, stride, padding, dilation, output_padding)
        backward = lambda g, xx, ww: fn.conv_transpose_backward(  # noqa: E731
            g, xx, ww, stride, padding, dilation, output_padding)
    else:
        expected = tuple(outs) if dims == 2 else (outs[0],)
        if tuple(w.shape[:dims]) != expected:
            raise BadInput(f"w's first axes give {'×'.join(map(str, w.shape[:dims]))} output positions but the "
                           f"output is {'×'.join(map(str, expected))}", field="w")
        sol.convention("Locally connected layer: like a convolution, but every output position has its own "
                       "filter bank (w is OH×OW×F×C×KH×KW, nothing shared) and its own bias b (F×OH×OW).")
        b_user = _bias(given, (f, *expected))
        b = b_user[:, None, :] if dims == 1 else b_user
        forward = lambda xx, ww, bb: fn.local_forward(xx, ww, bb, stride, padding)  # noqa: E731
        backward = lambda g, xx, ww: fn.local_backward(g, xx, ww, stride, padding)  # noqa: E731
    out4 = forward(x4, w4, b)

    def user(a4, batched=True):
        """An internal 4-D map back to the user's shape (1-D: drop the height axis)."""
        a = a4[:, :, 0, :] if dims == 1 else a4
        return a[0] if (single and batched) else a

    out = user(out4)
    dout = _dout(given, out.shape)
    dout4 = None
    grads = None
    if dout is not None:
        dout_b = dout[None] if single else dout
        dout4 = dout_b[:, :, None, :] if dims == 1 else dout_b
        grads = backward(dout4, x4, w4)
    texts = _conv_texts(kind, dims, single, given.b is not None)
    texts = _internal_index_texts(texts, dims, single)
    steps.bilinear_forward_steps(sol, forward, lambda g, xx, ww: backward(g, xx, ww)[0], x4, w4, b, out4,
                                 given.show, texts)
    answers = {"out": out}
    _result(sol, "out", "out, every element computed as above", out)
    if dout is not None:
        steps.bilinear_backward_steps(sol, forward, x4, w4, b, given.show, texts, dout4, grads)
        dx4, dw4, db4 = grads
        dw = dw4[:, :, 0, :] if dims == 1 and kind != "locally-connected" else (
            dw4[0, :, :, :, 0, :] if dims == 1 else dw4)
        db = db4[:, 0, :] if (kind == "locally-connected" and dims == 1) else db4
        formulas = {
            "conv": ("dx = the transposed convolution of dout with w (every output's gradient flows back through "
                     "the weights of its window)", "dw[f,c,i,j] = Σ over n and output positions of dout·x_pad at "
                     "offset (i, j), like w", "db[f] = Σ of dout over the batch and positions of channel f"),
            "transposed-conv": ("dx = the convolution of dout with w (stride S): each input value's gradient "
                                "gathers dout over the outputs it scattered to", "dw[c,f,i,j] = Σ over n and "
                                "input positions of x·dout at the output it reached through (i, j); C×F×KH×KW like "
                                "w", "db[f] = Σ of dout over the batch and positions of channel f"),
            "locally-connected": ("dx = each output position's gradient back through its own filter bank",
                                  "dw[h,w,f,c,i,j] = Σ_n dout[n,f,h,w]·x_pad at its window offset (i, j)",
                                  "db[f,h,w] = Σ_n dout[n,f,h,w]"),
        }[kind]
        _result(sol, "dx", formulas[0] + ", like x", user(dx4))
        _result(sol, "dw", formulas[1], dw)
        _result(sol, "db", formulas[2], db)
    return answers


def _conv_texts(kind, dims, single, has_bias):
    bias = " plus its bias" if has_bias else ""
    reach = ("the {n} input value{s} that scatter into it, each times the kernel tap between them"
             if kind == "transposed-conv" else "its window, {n} product{s}")
    return {
        "out": lambda k, n: f"out{k}: Σ of x·w over " + reach.format(n=n, s="s" if n != 1 else "") + bias,
        "dx": lambda k, n: f"dx{k}: Σ of dout·w over the {n} output{'s' if n != 1 else ''} whose window "
                           "reads this input",
        "dw": lambda k, n: f"dw{k}: Σ of dout·x over the {n} output{'s' if n != 1 else ''} this weight touches",
        "db": lambda k, n: f"db{k}: Σ of dout over its {n} output{'s' if n != 1 else ''}",
    }


def _internal_index_texts(texts, dims, single):
    """The steps see 4-D indices (N, C, 1, L for 1-D); the text shows the user's indices."""

    def user_index(name, k):
        return _place(internal_to_user(name, k))

    def internal_to_user(name, k):
        k = tuple(k)
        if name in ("out", "dx"):
            if dims == 1:
                k = k[:2] + k[3:]
            if single:
                k = k[1:]
        elif name == "dw" and dims == 1:
            k = k[:2] + k[3:] if len(k) == 4 else (k[1], k[2], k[3], k[5])
        elif name == "db" and dims == 1 and len(k) == 3:
            k = (k[0], k[2])
        return k

    mapped = {name: (lambda k, n, name=name: texts[name](user_index(name, k), n)) for name in texts}
    mapped["index"] = internal_to_user
    return mapped


# --- pooling ---------------------------------------------------------------------------------------


def _pool(sol: Solution, given: LayerInput) -> dict:
    if given.kernel is None:
        raise BadInput(f"{given.type} needs kernel, the pooling window size", field="kernel")
    x = common.array(given.x)
    if isinstance(given.kernel, list):
        dims = len(given.kernel)
    else:
        dims = 2 if x.ndim == 4 else 1
    xb, single = _batch(x, dims + 1, f"{dims}-D pooling layer")
    x4 = xb[:, :, None, :] if dims == 1 else xb
    kernel = _pairs(given.kernel, dims, "kernel", 1)
    stride = _pairs(given.kernel if given.stride is None else given.stride, dims, "stride", 1)
    padding = _pairs(given.padding, dims, "padding", 0)
    for p, k in zip(padding, kernel):
        if 2 * p > k:
            raise BadInput("padding must be at most half the kernel (PyTorch's rule for pooling)", field="padding")
    outs = _size_steps(sol, x4.shape[2:], kernel, stride, padding, (1, 1), dims)
    _bound_work(x4.shape[0] * x4.shape[1] * math.prod(outs) * math.prod(kernel))
    is_max = given.type == "maxpool"
    if given.stride is None:
        sol.convention("The pooling stride equals the kernel when not given (PyTorch's default).")
    if is_max:
        sol.convention("Max pooling: padding counts as −∞; the gradient of each window goes to its maximum, "
                       "at a tie to the first one in row-major window order (as PyTorch).")
        out4 = fn.max_pool_forward(x4, kernel, stride, padding)
    else:
        sol.convention("Average pooling: " + ("padding zeros count in the average (PyTorch's "
                                              "count_include_pad=True)" if given.count_include_pad else
                                              "only real input values count in the average "
                                              "(count_include_pad=false)") + ".")
        out4 = fn.avg_pool_forward(x4, kernel, stride, padding, given.count_include_pad)

    def user(a4):
        a = a4[:, :, 0, :] if dims == 1 else a4
        return a[0] if single else a

    def user_place(k):
        k = tuple(k)
        k = k[:2] + k[3:] if dims == 1 else k
        return _place(k[1:] if single else k)

    out = user(out4)
    divisor = fn.avg_pool_divisor(x4.shape, kernel, stride, padding, given.count_include_pad)

    def window(k):
        """The real input positions of output k's window (rows, columns), clipped to the input."""
        spans = [slice(max(0, o * s - p), min(size, o * s - p + kk))
                 for o, s, p, kk, size in zip(k[2:], stride, padding, kernel, x4.shape[2:])]
        return (k[0], k[1], spans[0], spans[1])

    def windows_containing(k):
        """The outputs whose window holds input position k, in row-major order."""
        per_axis = [[o for o in range(count) if o * s - p <= position < o * s - p + kk]
                    for position, count, s, p, kk in zip(k[2:], out4.shape[2:], stride, padding, kernel)]
        return [(k[0], k[1], i, j) for i in per_axis[0] for j in per_axis[1]]

    def first_maximum(m):
        """Where output m's maximum sits: the first one in row-major window order."""
        where = window(m)
        cells = x4[where]
        row, col = np.unravel_index(int(np.argmax(cells)), cells.shape)
        return (m[0], m[1], where[2].start + int(row), where[3].start + int(col))

    written = []
    for k in common.shown_indices(out4.shape, given.show):
        cells = [float(v) for v in x4[window(k)].ravel()]
        symbol = common.element_symbol("out", k)
        symbol = Sym(symbol.name, text="out" + user_place(k), latex=r"\mathrm{out}" + user_place(k))
        if len(cells) > common.MAX_TERMS_WRITTEN:
            sol.add(f"out{user_place(k)}: the {'maximum' if is_max else 'average'} of its window's {len(cells)} "
                    "values", value=float(out4[k]))
            continue
        if is_max:
            expr = call("max", *[Num(v) for v in cells]) if len(cells) > 1 else Num(cells[0])
            at = first_maximum(k)
            where = "" if len(cells) == 1 else f"; the first maximum in row-major order is x{user_place(at)}"
            got = sol.add(f"out{user_place(k)}: the maximum of its window's {len(cells)} values{where}",
                          Formula(symbol, expr))
        else:
            expr = common.sum_expr([Num(v) for v in cells]) / Num(float(divisor[k[2:]]))
            got = sol.add(f"out{user_place(k)}: the window's sum over {divisor[k[2:]]:g}", Formula(symbol, expr))
        written.append((float(got), float(out4[k])))
    steps._agree(sol, "out", written)
    _result(sol, "out", "out, every window pooled as above", out)
    answers = {"out": out}
    dout = _dout(given, out.shape)
    if dout is None:
        return answers
    dout_b = dout[None] if single else dout
    dout4 = dout_b[:, :, None, :] if dims == 1 else dout_b
    if is_max:
        dx4 = fn.max_pool_backward(dout4, x4, kernel, stride, padding)
    else:
        dx4 = fn.avg_pool_backward(dout4, x4.shape, kernel, stride, padding, given.count_include_pad)
    written = []
    for k in common.shown_indices(x4.shape, given.show):
        windows = windows_containing(k)
        symbol = Sym(f"dx_{k}", text="dx" + user_place(k), latex="dx" + user_place(k))
        if is_max:
            wins = [float(dout4[m]) for m in windows if first_maximum(m) == tuple(k)]
            expr = common.sum_expr([Num(v) for v in wins]) if wins else Num(0.0)
            many = len(windows) != 1
            text = (f"dx{user_place(k)}: this input is the (first) maximum of {len(wins)} of the {len(windows)} "
                    f"window{'s' if many else ''} that contain{'' if many else 's'} it; "
                    + ("their dout flows back" if wins else "no gradient reaches it"))
        else:
            terms = [Num(float(dout4[m])) / Num(float(divisor[m[2:]])) for m in windows]
            expr = common.sum_expr(terms) if terms else Num(0.0)
            many = len(windows) != 1
            text = (f"dx{user_place(k)}: the {len(windows)} window{'s' if many else ''} containing it pass"
                    f"{'' if many else 'es'} back dout over {'their divisors' if many else 'its divisor'}")
        if len(windows) > common.MAX_TERMS_WRITTEN:
            sol.add(text, value=float(dx4[k]))
            continue
        got = sol.add(text, Formula(symbol, expr))
        written.append((float(got), float(dx4[k])))
    steps._agree(sol, "dx", written)
    _result(sol, "dx", "dx: the pooled gradients routed back" + (" to each window's maximum" if is_max else
                                                                  ", spread evenly over each window"), user(dx4))
    answers["dx"] = user(dx4)
    return answers


# --- element-wise layers ------------------------------------------------------------------------------


def _activation(sol: Solution, given: LayerInput) -> dict:
    x = common.array(given.x)
    show = given.show
    kind = given.type
    if kind == "relu":
        sol.convention("relu(x) = max(x, 0); its derivative at x = 0 is taken as 0 (PyTorch).")
        out = steps.elementwise(sol, "out = max(x, 0), element by element:", "out", call("max", X, Num(0)),
                                {"x": x}, show)
        slope = TABLE["relu"].derivative(x)
    elif kind == "leaky-relu":
        sol.convention(f"leaky-relu(x) = x for x > 0, αx otherwise, α = {given.alpha:g}; the slope at x = 0 is α "
                       "(PyTorch).")
        slope = TABLE["leaky-relu"].derivative(x, alpha=given.alpha)
        sol.add("The slope s of each element: 1 where x > 0, α elsewhere:", value=slope)
        out = steps.elementwise(sol, "out = s ⊙ x:", "out", hadamard(SLOPE, X), {"s": slope, "x": x}, show)
    elif kind == "sigmoid":
        sol.convention("σ(x) = 1/(1 + e^(−x)); σ′ = σ(1 − σ), written with the output y.")
        out = steps.elementwise(sol, "out = σ(x):", "out", call("sigmoid", X), {"x": x}, show)
    elif kind == "tanh":
        sol.convention("tanh′ = 1 − tanh², written with the output y.")
        out = steps.elementwise(sol, "out = tanh(x):", "out", call("tanh", X), {"x": x}, show)
    else:
        sol.convention("Softmax over the last axis, each row shifted by its maximum first (the result is the "
                       "same; no exponential overflows).")
        if x.ndim == 0:
            raise BadInput("softmax needs a list of values", field="x")
        out = fn.softmax_forward(x)
        rows = x.reshape(-1, x.shape[-1])
        shown_rows = 0 if x.shape[-1] > common.MAX_TERMS_WRITTEN else min(
            len(rows), common.ALL_SHOWN_UP_TO if show == "all" else common.FIRST_SHOWN)
        for r in range(shown_rows):
            m = float(rows[r].max())
            denominator = common.sum_expr([call("exp", Num(float(v)) - Num(m)) for v in rows[r]])
            index = np.unravel_index(r * x.shape[-1], x.shape)
            sol.add(f"Row {_place(index[:-1]) if x.ndim > 1 else ''} shifted by its maximum m = {m:g}; first "
                    "element:", Formula(common.element_symbol("out", tuple(int(i) for i in index)),
                                        call("exp", Num(float(rows[r][0])) - Num(m)) / denominator))
    out = np.asarray(out, dtype=float)
    if kind == "softmax":
        _result(sol, "out", "out", out)
    else:
        sol.set_answer("out", out)  # the formula step above shows every value
    answers = {"out": out}
    dout = _dout(given, out.shape)
    if dout is None:
        return answers
    if kind in ("relu", "leaky-relu"):
        if kind == "relu":
            sol.add("The slope s of each element: 1 where x > 0, 0 elsewhere (also at 0):", value=slope)
        dx = steps.elementwise(sol, "dx = dout ⊙ s:", "dx", hadamard(DOUT, SLOPE), {"dout": dout, "s": slope}, show)
    elif kind == "sigmoid":
        dx = steps.elementwise(sol, "dx = dout ⊙ y ⊙ (1 − y), y = σ(x) the output:", "dx",
                               hadamard(hadamard(DOUT, Y), 1 - Y), {"dout": dout, "y": out}, show)
    elif kind == "tanh":
        dx = steps.elementwise(sol, "dx = dout ⊙ (1 − y²), y = tanh(x) the output:", "dx",
                               hadamard(DOUT, 1 - Y ** 2), {"dout": dout, "y": out}, show)
    else:
        row_sum = (dout * out).sum(axis=-1, keepdims=True)
        sol.add("Per row, r = Σ_j dout_j·y_j (the softmax Jacobian diag(y) − y·yᵀ applied to dout needs only this):",
                value=row_sum[..., 0])
        dx = steps.elementwise(sol, "dx = y ⊙ (dout − r):", "dx", hadamard(Y, DOUT - ROW_SUM),
                               {"y": out, "dout": dout, "r": row_sum}, show)
    reference = {"relu": lambda: fn.relu_backward(dout, x),
                 "leaky-relu": lambda: fn.leaky_relu_backward(dout, x, given.alpha),
                 "sigmoid": lambda: fn.sigmoid_backward(dout, out), "tanh": lambda: fn.tanh_backward(dout, out),
                 "softmax": lambda: fn.softmax_backward(dout, out)}[kind]()
    _check_same(sol, "dx", dx, reference)
    sol.set_answer("dx", reference)
    answers["dx"] = reference
    return answers


def _check_same(sol: Solution, name: str, written, reference) -> None:
    error = float(np.max(np.abs(np.asarray(written, dtype=float) - reference), initial=0.0))
    sol.check(f"{name}: the formula's values equal the layer's vectorised pass", error < 1e-9, error=error)


def _dropout(sol: Solution, given: LayerInput) -> dict:
    x = common.array(given.x)
    show = given.show
    if not given.training:
        sol.convention("Dropout in eval mode is the identity: out = x, dx = dout (inverted dropout scaled "
                       "during training instead).")
        _result(sol, "out", "out = x", x)
        answers = {"out": x}
        dout = _dout(given, x.shape)
        if dout is not None:
            _result(sol, "dx", "dx = dout", dout)
            answers["dx"] = dout
        return answers
    if given.p is None:
        raise BadInput("dropout needs p, the drop probability", field="p")
    if given.mask is None:
        raise BadInput("dropout in training needs mask, the keep mask (1 = kept, 0 = dropped) shaped like x",
                       field="mask")
    mask = common.array(given.mask)
    common.require_shape(mask, x.shape, "mask", "one keep flag per input value")
    if not np.all((mask == 0) | (mask == 1)):
        raise BadInput("mask holds 0 (dropped) and 1 (kept) only", field="mask")
    sol.convention(f"Inverted dropout: p = {given.p:g} is the drop probability; kept units are scaled by "
                   "1/(1 − p) during training, so the layer is the identity at test time.")
    out = steps.elementwise(sol, "out = x ⊙ mask/(1 − p):", "out", hadamard(X, MASK) / (1 - P_DROP),
                            {"x": x, "mask": mask, "p": given.p}, show)
    reference = fn.dropout_forward(x, mask, given.p)
    _check_same(sol, "out", out, reference)
    sol.set_answer("out", reference)
    answers = {"out": reference}
    dout = _dout(given, x.shape)
    if dout is not None:
        dx = steps.elementwise(sol, "dx = dout ⊙ mask/(1 − p):", "dx", hadamard(DOUT, MASK) / (1 - P_DROP),
                               {"dout": dout, "mask": mask, "p": given.p}, show)
        reference = fn.dropout_backward(dout, mask, given.p)
        _check_same(sol, "dx", dx, reference)
        sol.set_answer("dx", reference)
        answers["dx"] = reference
    return answers


# --- normalisation ------------------------------------------------------------------------------------


def _per_channel_param(given: LayerInput, name: str, channels: int, default: float):
    value = getattr(given, name)
    a = common.array(default if value is None else value)
    if a.ndim == 0:
        return np.full(channels, float(a))
    common.require_shape(a, (channels,), name, "one value per channel / feature")
    return a


class _Groups:
    """Where a norm's statistics are taken: `expand` broadcasts a statistic over x, `members`
    lists the x values of one statistic's group, `param_axes` are summed for dgamma/dbeta."""

    def __init__(self, kind: str, x, groups: int | None = None):
        self.kind, self.x, self.groups = kind, x, groups
        if kind == "batchnorm":
            self.stat_shape = (x.shape[1],)
        elif kind == "layernorm":
            self.stat_shape = (x.shape[0],)
        else:
            self.stat_shape = (x.shape[0], groups)

    def expand(self, stat):
        x = self.x
        if self.kind == "batchnorm":
            return stat.reshape((1, -1) + (1,) * (x.ndim - 2))
        if self.kind == "layernorm":
            return stat.reshape((-1,) + (1,) * (x.ndim - 1))
        per_channel = np.repeat(stat, x.shape[1] // self.groups, axis=1)
        return per_channel.reshape(x.shape[:2] + (1,) * (x.ndim - 2))

    def members(self, a, index):
        if self.kind == "batchnorm":
            return np.moveaxis(a, 1, 0)[index[0]].reshape(-1)
        if self.kind == "layernorm":
            return a[index[0]].reshape(-1)
        return a[index[0]].reshape(self.groups, -1)[index[1]]

    def reduce_mean(self, a):
        if self.kind == "batchnorm":
            return a.mean(axis=(0,) + tuple(range(2, a.ndim)))
        if self.kind == "layernorm":
            return a.reshape(len(a), -1).mean(axis=1)
        return a.reshape(len(a), self.groups, -1).mean(axis=2)

    def describe(self, index) -> str:
        if self.kind == "batchnorm":
            return f"channel {index[0] + 1}" if self.x.ndim > 2 else f"feature {index[0] + 1}"
        if self.kind == "layernorm":
            return f"sample {index[0] + 1}"
        return f"sample {index[0] + 1}, group {index[1] + 1}"


def _norm(sol: Solution, given: LayerInput) -> dict:
    kind = given.type
    x_user = common.array(given.x)
    flat = False
    if kind == "batchnorm":
        if x_user.ndim == 0 or x_user.ndim > 5:
            raise BadInput("batchnorm takes x as N values, N×D, N×C×L or N×C×H×W", field="x")
        flat = x_user.ndim == 1
        x = x_user[:, None] if flat else x_user
    elif kind == "layernorm":
        if x_user.ndim == 0:
            raise BadInput("layernorm needs a list of values", field="x")
        flat = x_user.ndim == 1  # one sample
        x = x_user[None] if flat else x_user
    else:
        if x_user.ndim < 2:
            raise BadInput("groupnorm takes x batch first: N×C, N×C×L or N×C×H×W", field="x")
        x = x_user
        if given.groups is None:
            raise BadInput("groupnorm needs groups, the number of channel groups", field="groups")
        if x.shape[1] % given.groups:
            raise BadInput(f"groups = {given.groups} does not divide the {x.shape[1]} channels", field="groups")
    groups = _Groups(kind, x, given.groups)
    channels = x.shape[1]
    eps = given.eps
    if kind == "layernorm":
        gamma, beta = _sample_param(given, "gamma", x.shape[1:], 1.0), _sample_param(given, "beta", x.shape[1:], 0.0)
        g_b, b_b = gamma, beta
    else:
        gamma = _per_channel_param(given, "gamma", channels, 1.0)
        beta = _per_channel_param(given, "beta", channels, 0.0)
        shape = (1, -1) + (1,) * (x.ndim - 2)
        g_b, b_b = gamma.reshape(shape), beta.reshape(shape)
    training = given.training if kind == "batchnorm" else True
    group_size = x.size // math.prod(groups.stat_shape)
    if kind == "batchnorm":
        what = ("Batch norm: each " + ("channel over N, H and W (spatial batch norm)" if x.ndim > 2 else
                                       "feature (column) over the batch") + "; x̂ = (x − μ)/√(σ² + ε)")
    elif kind == "layernorm":
        what = ("Layer norm: each sample over all its values (PyTorch's LayerNorm(x.shape[1:])); γ and β shaped "
                "like one sample")
    else:
        what = (f"Group norm: the {channels} channels in {given.groups} groups of {channels // given.groups}; each "
                "sample's group over its channels and positions; γ, β per channel")
    sol.convention(what + f"; ε = {eps:g}.")
    if kind == "batchnorm":
        running_mean = _per_channel_param(given, "running_mean", channels, 0.0)
        running_var = _per_channel_param(given, "running_var", channels, 1.0)
        if np.any(running_var < 0):
            raise BadInput("running_var cannot be negative", field="running_var")
        if training and group_size < 2:
            raise BadInput("batch norm in training needs more than one value per channel (PyTorch refuses it too)",
                           field="x")
        out, mean, var, x_hat, new_mean, new_var = fn.batchnorm_forward(
            x, gamma, beta, eps, training, running_mean, running_var, given.momentum)
    elif kind == "layernorm":
        out, mean, var, x_hat = fn.layernorm_forward(x, gamma, beta, eps)
    else:
        out, mean, var, x_hat = fn.groupnorm_forward(x, gamma, beta, given.groups, eps)
    show = given.show
    stat_indices = common.shown_indices(groups.stat_shape, show)
    if training:
        sol.convention("The variance is biased (divided by the number of values M), as normalisation uses it.")
        steps.sums(sol, "mean", mean, stat_indices, lambda k: list(groups.members(x, k)),
                   lambda k, n: f"Mean μ of {groups.describe(k)}: its {n} values over M = {n}",
                   divide_by=lambda k: group_size, latex=r"\mu")
        _variance_steps(sol, groups, x, mean, var, stat_indices, group_size)
    else:
        sol.convention("Eval mode: the running statistics replace the batch's; they are not updated.")
    mean_b, var_b = groups.expand(np.asarray(mean)), groups.expand(np.asarray(var))
    source = {"batchnorm": "the batch statistics" if training else "the running statistics",
              "layernorm": "each sample's own statistics", "groupnorm": "each group's statistics"}[kind]
    written = steps.elementwise(sol, f"x̂ = (x − μ)/√(σ² + ε) with {source}:", "x_hat",
                                (X - MU) / call("sqrt", VAR + EPS), {"x": x, "mu": mean_b, "var": var_b, "eps": eps},
                                show, latex=r"\hat{x}")
    _check_same(sol, "x_hat", written, x_hat)
    written = steps.elementwise(sol, "out = γ ⊙ x̂ + β:", "out", hadamard(GAMMA, X_HAT) + BETA,
                                {"gamma": np.broadcast_to(g_b, x.shape).copy(), "x_hat": x_hat,
                                 "beta": np.broadcast_to(b_b, x.shape).copy()}, show)
    _check_same(sol, "out", written, out)

    def user(a):
        if kind == "batchnorm" and flat:
            return a[:, 0]
        if kind == "layernorm" and flat:
            return a[0]
        return a

    def user_stat(s):
        s = np.asarray(s)
        return float(s[0]) if flat else s

    answers = {"mean": user_stat(mean), "var": user_stat(var), "x_hat": user(x_hat), "out": user(out)}
    _result(sol, "mean", "mean μ", answers["mean"])
    _result(sol, "var", "var σ² (biased)", answers["var"])
    sol.set_answer("x_hat", answers["x_hat"])  # the formula steps above show them
    sol.set_answer("out", answers["out"])
    if kind == "batchnorm" and training:
        sol.convention(f"Running statistics (PyTorch): new = (1 − momentum)·old + momentum·batch, momentum = "
                       f"{given.momentum:g}; the running variance takes the unbiased batch variance σ²·M/(M − 1)"
                       + ("" if given.running_mean is not None else "; not given, they start at 0 and 1") + ".")
        got = steps.elementwise(sol, "running_mean_new = (1 − momentum)·running_mean + momentum·μ:", "running_mean_new",
                                (1 - MOMENTUM) * RM + MOMENTUM * MU,
                                {"m": given.momentum, "rm": running_mean, "mu": np.asarray(mean)}, show)
        _check_same(sol, "running_mean_new", got, new_mean)
        got = steps.elementwise(sol, "running_var_new = (1 − momentum)·running_var + momentum·σ²·M/(M − 1):",
                                "running_var_new", (1 - MOMENTUM) * RV + MOMENTUM * VAR * COUNT / (COUNT - 1),
                                {"m": given.momentum, "rv": running_var, "var": np.asarray(var), "M": group_size},
                                show)
        _check_same(sol, "running_var_new", got, new_var)
        answers["running_mean_new"] = user_stat(new_mean)
        answers["running_var_new"] = user_stat(new_var)
        sol.set_answer("running_mean_new", answers["running_mean_new"])
        sol.set_answer("running_var_new", answers["running_var_new"])
    dout_user = _dout(given, np.shape(answers["out"]))
    if dout_user is None:
        return answers
    dout = dout_user[:, None] if (kind == "batchnorm" and flat) else (dout_user[None] if flat else dout_user)
    if kind == "batchnorm":
        dx, dgamma, dbeta = fn.batchnorm_backward(dout, x_hat, gamma, var, eps, training)
    elif kind == "layernorm":
        dx, dgamma, dbeta = fn.layernorm_backward(dout, x_hat, gamma, var, eps)
    else:
        dx, dgamma, dbeta = fn.groupnorm_backward(dout, x_hat, gamma, var, given.groups, eps)
    param_indices = common.shown_indices(dgamma.shape, show)
    if kind == "layernorm":
        members = lambda a, k: a[(slice(None),) + k]  # noqa: E731 - over the batch
        where = lambda k: f"position {_place(k)} over the {len(x)} sample{'s' if len(x) > 1 else ''}"  # noqa: E731
    else:
        members = lambda a, k: np.moveaxis(a, 1, 0)[k[0]].reshape(-1)  # noqa: E731
        unit = "channel" if x.ndim > 2 else "feature"
        where = lambda k: f"{unit} {k[0] + 1} over {x.size // channels} values"  # noqa: E731
    steps.sums(sol, "dbeta", dbeta, param_indices, lambda k: [float(v) for v in np.ravel(members(dout, k))],
               lambda k, n: f"dβ{_place(k)} = Σ dout at {where(k)}", latex=r"d\beta")
    steps.sums(sol, "dgamma", dgamma, param_indices,
               lambda k: list(zip(np.ravel(members(dout, k)).tolist(), np.ravel(members(x_hat, k)).tolist())),
               lambda k, n: f"dγ{_place(k)} = Σ dout·x̂ at {where(k)}", latex=r"d\gamma")
    dx_hat = steps.elementwise(sol, "dx̂ = dout ⊙ γ:", "dx_hat", hadamard(DOUT, GAMMA),
                               {"dout": dout, "gamma": np.broadcast_to(g_b, x.shape).copy()}, show,
                               latex=r"d\hat{x}")
    if training:
        a, c = groups.reduce_mean(dx_hat), groups.reduce_mean(dx_hat * x_hat)
        sol.add(f"mean(dx̂) over each group of M = {group_size} (the group of μ):", value=a)
        sol.add("mean(dx̂ ⊙ x̂) over each group:", value=c)
        sol.convention("dx = (dx̂ − mean(dx̂) − x̂ ⊙ mean(dx̂ ⊙ x̂))/√(σ² + ε): μ and σ² depend on every x of the "
                       "group, which adds the two mean terms (CS231n's compact form).")
        written = steps.elementwise(
            sol, "dx = (dx̂ − mean(dx̂) − x̂ ⊙ mean(dx̂ ⊙ x̂))/√(σ² + ε):", "dx",
            (DX_HAT - MEAN_DXH - hadamard(X_HAT, MEAN_DXH_XH)) / call("sqrt", VAR + EPS),
            {"dx_hat": dx_hat, "a": groups.expand(a), "x_hat": x_hat, "c": groups.expand(c), "var": var_b,
             "eps": eps}, show)
    else:
        written = steps.elementwise(sol, "dx = dx̂/√(σ²_run + ε): the running statistics are constants:", "dx",
                                    DX_HAT / call("sqrt", VAR + EPS), {"dx_hat": dx_hat, "var": var_b, "eps": eps},
                                    show)
    _check_same(sol, "dx", written, dx)
    answers.update(dx=user(dx), dgamma=dgamma, dbeta=dbeta)
    sol.set_answer("dx", answers["dx"])
    _result(sol, "dgamma", "dγ", dgamma)
    _result(sol, "dbeta", "dβ", dbeta)
    return answers


def _sample_param(given: LayerInput, name: str, shape: tuple, default: float):
    value = getattr(given, name)
    a = common.array(default if value is None else value)
    if a.ndim == 0:
        return np.full(shape, float(a))
    common.require_shape(a, shape, name, "layer norm's γ and β are shaped like one sample")
    return a


def _variance_steps(sol, groups, x, mean, var, indices, group_size):
    written = []
    for k in indices:
        values = groups.members(x, k)
        mu = float(np.asarray(mean)[k])
        symbol = common.element_symbol("var", k, r"\sigma^2")
        text = f"Variance σ² of {groups.describe(k)} (biased, over M = {group_size})"
        if len(values) <= common.MAX_TERMS_WRITTEN:
            expr = common.sum_expr([(Num(float(v)) - Num(mu)) ** 2 for v in values]) / Num(group_size)
            got = sol.add(text + ":", Formula(symbol, expr))
        else:
            got = sol.add(text + ":", value=float(((values - mu) ** 2).sum() / group_size))
        written.append((float(got), float(np.asarray(var)[k])))
    steps._agree(sol, "var", written)


def solve_layer(sol: Solution, given: LayerInput) -> dict:
    if given.type == "affine" or given.type in ("conv", "transposed-conv", "locally-connected"):
        if given.w is None:
            raise BadInput(f"a {given.type} layer needs w, its weights", field="w")
        return _affine(sol, given) if given.type == "affine" else _conv_like(sol, given)
    if given.type in ("maxpool", "avgpool"):
        return _pool(sol, given)
    if given.type == "dropout":
        return _dropout(sol, given)
    if given.type in ("batchnorm", "layernorm", "groupnorm"):
        return _norm(sol, given)
    return _activation(sol, given)
