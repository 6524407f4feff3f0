"""Kind `convolve`: feature maps computed by hand, every output element shown as its sum of
products over the window it came from.

1-D and 2-D inputs with channels; a sequence of layers: convolution (several filters, stride,
padding as a number / `same` / `valid` / `full`, dilation, bias), max and average pooling,
and element-wise activations. The depth of each layer's filters follows from the channels of
its input (the previous layer's filter count), and the solution says so. Cross-correlation is
the default, `flip: true` gives true convolution.

Maps are NumPy object arrays of Python numbers (C × L or C × H × W), so integer inputs stay
exact and average pooling gives exact fractions.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field, field_validator

from ...context import Context
from ...errors import BadInput, did_you_mean
from ...formula import Expr, Num, Sym, call, ceil, floor
from ...inputs import KindInput, matrix_shape
from ...registry import register
from ...steps import Formula, Highlight, Solution
from ..activation import _activations as act
from . import _conv_arith as arith

SMALL_MAP = 24  # a layer with at most this many outputs shows every element's working
FIRST_PER_CHANNEL = 3  # otherwise the first few of each output channel…
MAX_SHOWN = 12  # …up to this many in all
CROP_AT = 9  # a highlighted map wider or taller than this shows only the window's surroundings
CROP_MARGIN = 2
MAX_PRODUCTS = 10_000_000  # a 512×512 input with four 3×3 filters; ≈ 1 s. Bigger layers belong to `network`

_PADDING_WORDS = ("same", "valid", "full")
_POOL_TYPES = {"maxpool": "max", "max-pool": "max", "max_pool": "max", "max": "max",
               "avgpool": "avg", "avg-pool": "avg", "avg_pool": "avg", "avg": "avg",
               "averagepool": "avg", "average-pool": "avg", "average": "avg"}
_CONV_TYPES = ("conv", "convolution", "conv1d", "conv2d")
_CONV_KEYS = ("type", "filters", "bias", "stride", "padding", "dilation")
_POOL_KEYS = ("type", "kernel", "size", "stride", "padding", "ceil_mode")
_ACTIVATION_KEYS = ("type", "alpha")


# --- layer specifications -------------------------------------------------------------------


@dataclass
class ConvLayer:
    filters: list
    bias: Any = 0
    stride: Any = 1
    padding: Any = 0
    dilation: Any = 1
    field: str = "layers.0"  # where it was written, for error messages


@dataclass
class PoolLayer:
    mode: str  # "max" or "avg"
    kernel: Any
    stride: Any = None  # None: the kernel size, as PyTorch
    padding: Any = 0
    ceil_mode: bool = False
    field: str = "layers.0"


@dataclass
class ActivationLayer:
    function: str
    alpha: float | None = None
    field: str = "layers.0"


def _size_value(value, name: str, minimum: int, where: str):
    """An integer, or a list of integers (one per spatial dimension)."""
    items = value if isinstance(value, list) else [value]
    for item in items:
        if isinstance(item, bool) or not isinstance(item, int):
            raise ValueError(f"{where}: {name} must be an integer or a list of integers, got {value!r}")
        if item < minimum:
            raise ValueError(f"{where}: {name} must be at least {minimum}, got {item}")
    return value


def _padding_value(value, where: str, words: bool = True):
    def one(item):
        if isinstance(item, str) and words and item.strip().lower() in _PADDING_WORDS:
            return item.strip().lower()
        if isinstance(item, bool) or not isinstance(item, int) or item < 0:
            allowed = "a whole number ≥ 0, same, valid or full" if words else "a whole number ≥ 0"
            raise ValueError(f"{where}: padding must be {allowed}, got {item!r}")
        return item

    return [one(v) for v in value] if isinstance(value, list) else one(value)


def _numbers(value, name: str, where: str) -> tuple[int, ...]:
    try:
        shape = matrix_shape(value, name=name)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None
    if not _all_numbers(value):
        raise ValueError(f"{where}: {name} must hold numbers only")
    return shape


def _all_numbers(value) -> bool:
    if isinstance(value, list):
        return all(_all_numbers(v) for v in value)
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_keys(raw: dict, allowed: tuple, where: str) -> None:
    for key in raw:
        if key not in allowed:
            raise ValueError(f"{where}: unknown field {key!r}{did_you_mean(str(key), allowed)}; "
                             f"fields: {', '.join(allowed)}")


def _parse_conv(raw: dict, where: str, field: str) -> ConvLayer:
    _check_keys(raw, _CONV_KEYS, where)
    if "filters" not in raw:
        raise ValueError(f"{where}: a convolution needs `filters` (a list of weight arrays)")
    shape = _numbers(raw["filters"], "filters", where)
    if len(shape) == 0:
        raise ValueError(f"{where}: filters must be a list of weights, not one number")
    bias = raw.get("bias", 0)
    if bias is None:
        bias = 0
    if not _all_numbers(bias if isinstance(bias, list) else [bias]) or (
            isinstance(bias, list) and any(isinstance(b, list) for b in bias)):
        raise ValueError(f"{where}: bias must be a number or a list of numbers (one per filter)")
    return ConvLayer(filters=raw["filters"], bias=bias,
                     stride=_size_value(raw.get("stride", 1), "stride", 1, where),
                     padding=_padding_value(raw.get("padding", 0), where),
                     dilation=_size_value(raw.get("dilation", 1), "dilation", 1, where), field=field)


def _parse_pool(raw: dict, mode: str, where: str, field: str) -> PoolLayer:
    _check_keys(raw, _POOL_KEYS, where)
    if "kernel" in raw and "size" in raw:
        raise ValueError(f"{where}: give the pool size once (`kernel` or its alias `size`)")
    kernel = raw.get("kernel", raw.get("size"))
    if kernel is None:
        raise ValueError(f"{where}: pooling needs its window size (`kernel` or `size`)")
    stride = raw.get("stride")
    ceil_mode = raw.get("ceil_mode", False)
    if not isinstance(ceil_mode, bool):
        raise ValueError(f"{where}: ceil_mode must be true or false")
    return PoolLayer(mode=mode, kernel=_size_value(kernel, "kernel", 1, where),
                     stride=None if stride is None else _size_value(stride, "stride", 1, where),
                     padding=_padding_value(raw.get("padding", 0), where, words=False),
                     ceil_mode=ceil_mode, field=field)


def _parse_activation(raw: dict, name: str, where: str, field: str) -> ActivationLayer:
    _check_keys(raw, _ACTIVATION_KEYS, where)
    alpha = raw.get("alpha")
    if alpha is not None and (isinstance(alpha, bool) or not isinstance(alpha, (int, float))):
        raise ValueError(f"{where}: alpha must be a number")
    if alpha is not None and not act.ACTIVATIONS[name].takes_alpha:
        raise ValueError(f"{where}: {name} takes no alpha")
    return ActivationLayer(function=name, alpha=alpha, field=field)


def parse_layer(raw: Any, index: int):
    where = f"layer {index + 1}"
    field = f"layers.{index}"
    if not isinstance(raw, dict):
        raise ValueError(f"{where} must be a mapping with a `type` (conv, maxpool, avgpool, relu, …)")
    kind = str(raw.get("type", "")).strip().lower()
    if kind in _CONV_TYPES:
        return _parse_conv(raw, where, field)
    if kind in _POOL_TYPES:
        return _parse_pool(raw, _POOL_TYPES[kind], where, field)
    if act.canonical_name(kind) is not None:
        return _parse_activation(raw, act.canonical_name(kind), where, field)
    known = ["conv", "maxpool", "avgpool", *act.NAMES]
    if not kind:
        raise ValueError(f"{where} needs a `type`: one of {', '.join(known)}")
    raise ValueError(f"{where}: unknown type {raw.get('type')!r}{did_you_mean(kind, known)}; "
                     f"types: {', '.join(known)}")


class ConvolveInput(KindInput):
    input: Any = Field(description="1-D list (L), C×L, H×W or C×H×W nested list of numbers")
    layers: Any = Field(None, description="list of {type: conv, filters, bias, stride, padding, dilation}, "
                                          "{type: maxpool/avgpool, kernel (or size), stride, padding, "
                                          "ceil_mode}, {type: relu/…, alpha}")
    # Shorthand for a single convolution: `filters` with its bias/stride/padding/dilation.
    filters: Any = Field(None, description="one convolution without `layers`: its filters (F×K, F×C×K, …)")
    bias: Any = Field(None, description="with `filters`: a number or one per filter (0)")
    stride: Any = Field(None, description="with `filters`: stride (1)")
    padding: Any = Field(None, description="with `filters`: a number, same, valid or full (0)")
    dilation: Any = Field(None, description="with `filters`: dilation (1)")
    flip: bool = Field(False, description="true convolution (flip the kernels); default cross-correlation")
    show: Literal["first", "all"] = Field("first", description="full working for the first few elements "
                                                               "of big maps, or all")
    dims: Literal[1, 2] | None = Field(None, description="1 or 2 spatial dimensions, when a 2-D nested "
                                                         "input could be C×L or H×W")

    @field_validator("input")
    @classmethod
    def _input(cls, value):
        shape = _numbers(value, "input", "input")
        if not 1 <= len(shape) <= 3:
            raise ValueError("input must be a list (L), C×L, H×W or C×H×W nested lists of numbers")
        return value

    @field_validator("layers")
    @classmethod
    def _layers(cls, value):
        if value is None:
            return None
        if not isinstance(value, list) or not value:
            raise ValueError("layers must be a non-empty list of layers")
        return [parse_layer(raw, i) for i, raw in enumerate(value)]


def layer_list(given: ConvolveInput) -> list:
    """The layers, or the single convolution written with the shorthand fields."""
    shorthand = {k: getattr(given, k) for k in ("filters", "bias", "stride", "padding", "dilation")
                 if getattr(given, k) is not None}
    if given.layers is not None:
        if shorthand:
            raise BadInput(f"give either `layers` or the one-layer shorthand ({', '.join(shorthand)}), "
                           "not both", field=next(iter(shorthand)))
        return given.layers
    if "filters" not in shorthand:
        raise BadInput("give `layers` (a list of conv / pool / activation layers) or `filters` for a "
                       "single convolution", field="layers")
    try:
        layer = _parse_conv({"type": "conv", **shorthand}, "the convolution", "filters")
    except ValueError as exc:
        raise BadInput(str(exc), field="filters") from None
    layer.field = ""
    return [layer]


# --- reading the input ----------------------------------------------------------------------


def _np():
    import numpy as np

    return np


def _object_array(nested):
    np = _np()
    return np.array(nested, dtype=object)


def _first_filters_deep_as(layers: list, rows: int) -> bool:
    """True when the first layer is a convolution whose filters are written C×K with C = rows."""
    first = layers[0]
    if not isinstance(first, ConvLayer):
        return False
    shape = matrix_shape(first.filters)
    return len(shape) == 3 and shape[1] == rows


def read_input(sol: Solution, given: ConvolveInput, layers: list):
    """The input as a (C, *spatial) object array, and the number of spatial dimensions."""
    shape = matrix_shape(given.input)
    nd, dims = len(shape), given.dims
    if dims is None:
        if nd == 1:
            dims = 1
        elif nd == 3:
            dims = 2
        elif _first_filters_deep_as(layers, shape[0]):
            dims = 1
            sol.convention(f"The {shape[0]}×{shape[1]} input is read as C×L: {shape[0]} channels of a "
                           f"1-D signal of length {shape[1]}, because the first filters are {shape[0]} "
                           "deep (dims: 2 reads it as an H×W image).")
        else:
            dims = 2
            sol.convention(f"The {shape[0]}×{shape[1]} input is read as one H×W map (a single channel); "
                           "dims: 1 reads its rows as channels of a 1-D signal.")
    if dims == 1 and nd not in (1, 2):
        raise BadInput("dims: 1 takes a list (L) or channels × length (C×L)", field="input")
    if dims == 2 and nd not in (2, 3):
        raise BadInput("dims: 2 takes an H×W or C×H×W nested list", field="input")
    x = _object_array(given.input)
    if nd == dims:
        x = x.reshape((1,) + x.shape)
    return x, dims


# --- shared helpers ---------------------------------------------------------------------------


def _per_dim(value, n: int, name: str, field: str) -> list:
    if isinstance(value, list):
        if len(value) != n:
            raise BadInput(f"{name} has {len(value)} values but the maps have {n} spatial "
                           f"dimension{'s' if n > 1 else ''}", field=_join(field, name))
        return list(value)
    return [value] * n


def _join(field: str, name: str) -> str:
    return f"{field}.{name}" if field else name


def _labels(n: int) -> tuple[list[str], list[str]]:
    return (["L"], ["length"]) if n == 1 else (["H", "W"], ["height", "width"])


def _map_symbol(layer: int) -> Sym:
    if layer == 0:
        return Sym("x")
    return Sym(f"out{layer}", text=f"out{layer}", latex=rf"\mathrm{{out}}_{{{layer}}}")


def _map_name(layer: int) -> str:
    return "the input" if layer == 0 else f"out{layer}"


def _element_symbol(layer: int, index: tuple) -> Sym:
    shown = ", ".join(str(i + 1) for i in index)
    return Sym(f"out{layer}_" + "_".join(map(str, index)), text=f"out{layer}[{shown}]",
               latex=rf"\mathrm{{out}}_{{{layer}}}[{shown}]")


def _span(positions: list[int]) -> str:
    """1-based positions as `3–5` when consecutive, else `1, 3, 5`."""
    shown = [p + 1 for p in positions]
    if len(shown) > 1 and shown == list(range(shown[0], shown[-1] + 1)):
        return f"{shown[0]}–{shown[-1]}"
    return ", ".join(map(str, shown))


def _where_text(n: int, per_dim: list[list[int]]) -> str:
    if n == 1:
        return f"positions {_span(per_dim[0])}"
    return f"rows {_span(per_dim[0])}, columns {_span(per_dim[1])}"


def _place(position: tuple) -> str:
    """An output position in words, counted from 1."""
    if len(position) == 1:
        return f"position {position[0] + 1}"
    return f"row {position[0] + 1}, column {position[1] + 1}"


def _shown(out_shape: tuple, show: str) -> list[tuple]:
    """Which output elements get their full working (channel first, then row-major)."""
    everything = list(itertools.product(*(range(s) for s in out_shape)))
    if show == "all" or len(everything) <= SMALL_MAP:
        return everything
    chosen = []
    per_channel = list(itertools.product(*(range(s) for s in out_shape[1:])))[:FIRST_PER_CHANNEL]
    for channel in range(out_shape[0]):
        for spatial in per_channel:
            if len(chosen) < MAX_SHOWN:
                chosen.append((channel,) + spatial)
    return chosen


def _highlight(padded, per_dim: list[list[int]], label: str) -> Highlight:
    """The (padded) input map with the window's cells marked, cropped around a window in big maps."""
    np = _np()
    n = padded.ndim - 1
    marked = np.zeros(padded.shape, dtype=bool)
    marked[(slice(None),) + np.ix_(*per_dim)] = True
    crops = []
    for d in range(n):
        size = padded.shape[d + 1]
        if size > CROP_AT:
            lo = max(min(per_dim[d]) - CROP_MARGIN, 0)
            hi = min(max(per_dim[d]) + CROP_MARGIN + 1, size)
            crops.append(slice(lo, hi))
        else:
            crops.append(slice(None))
    if any(c != slice(None) for c in crops):
        ranges = [range(padded.shape[d + 1])[crops[d]] for d in range(n)]
        label += " (part: " + _where_text(n, [list(r) for r in ranges]) + ")"
    grid, mask = padded[(slice(None),) + tuple(crops)], marked[(slice(None),) + tuple(crops)]
    if grid.shape[0] == 1:
        grid, mask = grid[0], mask[0]
    return Highlight(grid.tolist(), mask.tolist(), label)


def _check_size(products: int, number: int, field: str) -> None:
    if products > MAX_PRODUCTS:
        raise BadInput(f"layer {number} needs {products:,} multiplications, too many to work by hand "
                       f"(at most {MAX_PRODUCTS:,}); `network` gives the sizes of big layers",
                       field=field or "input")


def _sum_expr(terms: list[Expr]) -> Expr:
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total


def _as_number(value):
    """Fractions that are whole become ints, so maps read 3 rather than 3/1."""
    if hasattr(value, "denominator") and not isinstance(value, int) and value.denominator == 1:
        return int(value.numerator)
    return value


# --- convolution ------------------------------------------------------------------------------


@dataclass
class ConvGeometry:
    kernel: list[int]
    stride: list[int]
    dilation: list[int]
    pads: list[tuple[int, int]]  # (before, after) per spatial dimension
    out: list[int]


def _filter_bank(sol: Solution, layer: ConvLayer, n: int, channels: int, number: int,
                 origin: str, flip: bool):
    """The filters as an (F, C, *K) object array; the depth is checked or derived and said."""
    np = _np()
    shape = matrix_shape(layer.filters)
    field = _join(layer.field, "filters")
    weights = _object_array(layer.filters)
    if len(shape) == n:
        weights = weights.reshape((1,) + weights.shape)
        shape = (1,) + shape
    if len(shape) == n + 1:
        weights = np.stack([np.stack([w] * channels) for w in weights])
        if channels > 1:
            sol.note(f"Layer {number}'s filters are given without depth. Each must be {channels} deep "
                     f"because {origin}, so the given weights are used at every depth.")
        elif number > 1:
            sol.note(f"Layer {number}'s filters are 1 deep because {origin}.")
    elif len(shape) == n + 2:
        if shape[1] != channels:
            raise BadInput(f"layer {number}'s filters are {shape[1]} deep, but {origin}: each filter "
                           f"must be {channels} deep", field=field)
        sol.note(f"Each filter of layer {number} is {channels} deep because {origin}.")
    else:
        kinds = ("K", "F×K", "F×C×K") if n == 1 else ("K×K", "F×K×K", "F×C×K×K")
        raise BadInput(f"filters for a {n}-D convolution are written {', '.join(kinds)}; got "
                       f"{len(shape)} levels of nesting", field=field)
    if flip:
        spatial_axes = tuple(range(2, 2 + n))
        weights = np.flip(weights, axis=spatial_axes)
        sol.add(f"True convolution: layer {number}'s filters flipped along every spatial axis.",
                value=[w.tolist() if channels > 1 else w[0].tolist() for w in weights])
    elif len(shape) == n + 1 and channels > 1:
        sol.add(f"Layer {number}'s filters with their depth:",
                value=[w.tolist() for w in weights])
    return weights


def _biases(layer: ConvLayer, count: int, number: int) -> list:
    if isinstance(layer.bias, list):
        if len(layer.bias) != count:
            raise BadInput(f"layer {number} has {count} filters but {len(layer.bias)} biases",
                           field=_join(layer.field, "bias"))
        return list(layer.bias)
    return [layer.bias] * count


def _resolve_padding(word, size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    if word == "same":
        return arith.same_padding(size, kernel, stride, dilation)
    if word == "valid":
        return 0, 0
    if word == "full":
        return dilation * (kernel - 1), dilation * (kernel - 1)
    return word, word


def _conv_size_steps(sol: Solution, layer: ConvLayer, sizes: list[int], geometry: ConvGeometry,
                     paddings: list, number: int) -> list[int]:
    """Each output size from its formula (the size used is the formula's value)."""
    labels, names = _labels(len(sizes))
    outs = []
    for d, (size, label, name) in enumerate(zip(sizes, labels, names)):
        bindings = {label: size, "K": geometry.kernel[d], "S": geometry.stride[d],
                    "D": geometry.dilation[d]}
        out_sym, size_sym = arith.out_symbol(label), arith.size_symbol(label)
        before, after = geometry.pads[d]
        if paddings[d] == "same":
            out = sol.add(f"Layer {number} output {name} with 'same' padding: ⌈{label}/S⌉; the "
                          f"padding is {before} before and {after} after.",
                          Formula(out_sym, arith.same_expr(size_sym), bindings))
        else:
            bindings["P"] = before
            why = {"valid": " ('valid': no padding)", "full": " ('full': P = D·(K − 1))"}.get(paddings[d], "")
            out = sol.add(f"Layer {number} output {name}{why}:",
                          Formula(out_sym, arith.conv_expr(size_sym), bindings))
        if out < 1:
            raise BadInput(f"layer {number}'s kernel does not fit the padded input {name} "
                           f"({size} + {before + after})", field=_join(layer.field, "filters"))
        outs.append(out)
    return outs


def _pad(x, pads: list[tuple[int, int]], fill):
    np = _np()
    if all(p == (0, 0) for p in pads):
        return x
    padded = np.full((x.shape[0],) + tuple(s + a + b for s, (a, b) in zip(x.shape[1:], pads)), fill,
                     dtype=object)
    padded[(slice(None),) + tuple(slice(a, a + s) for s, (a, _) in zip(x.shape[1:], pads))] = x
    return padded


def conv_layer(sol: Solution, layer: ConvLayer, x, number: int, origin: str, flip: bool, show: str):
    """Apply one convolution layer; returns the output map (F, *out)."""
    np = _np()
    n, channels = x.ndim - 1, x.shape[0]
    weights = _filter_bank(sol, layer, n, channels, number, origin, flip)
    count, kernel = weights.shape[0], list(weights.shape[2:])
    biases = _biases(layer, count, number)
    stride = _per_dim(layer.stride, n, "stride", layer.field)
    dilation = _per_dim(layer.dilation, n, "dilation", layer.field)
    paddings = _per_dim(layer.padding, n, "padding", layer.field)
    sizes = list(x.shape[1:])
    pads = [_resolve_padding(p, s, k, st, dl)
            for p, s, k, st, dl in zip(paddings, sizes, kernel, stride, dilation)]
    geometry = ConvGeometry(kernel, stride, dilation, pads, [])
    geometry.out = _conv_size_steps(sol, layer, sizes, geometry, paddings, number)
    padded = _pad(x, pads, 0)
    if padded is not x:
        sol.add(f"{_map_name(number - 1).capitalize()} with zero padding:",
                value=padded.tolist() if channels > 1 else padded[0].tolist())
    out = np.empty((count, *geometry.out), dtype=object)
    _check_size(out.size * channels * int(np.prod(kernel)), number, layer.field)
    shown = set(_shown(out.shape, show))
    label = _map_name(number - 1) + (", zero-padded" if padded is not x else "")
    if n == 1 and channels > 1:
        label += " (a row per channel)"
    for f in range(count):
        out[f] = _correlate(padded, weights[f], geometry) + biases[f]
    for index in sorted(shown):  # the order of the output elements
        f, position = index[0], index[1:]
        per_dim = [[o * s + k * d for k in range(kk)]
                   for o, s, d, kk in zip(position, stride, dilation, kernel)]
        window = padded[(slice(None),) + np.ix_(*per_dim)]
        products = list(zip(window.ravel().tolist(), weights[f].ravel().tolist()))
        out[index] = _show_conv_element(sol, number, index, products, biases[f], per_dim,
                                        padded, label, count)
    if len(shown) < out.size:
        sol.note(f"The other {out.size - len(shown)} elements of layer {number} are computed the same "
                 "way (show: all writes every one).")
    return out


def _correlate(padded, weights, geometry: ConvGeometry):
    """One filter's output map, every element the sum 0 + x₁w₁ + x₂w₂ + … over its window in
    the window's order (channels, then kernel offsets row by row), as a hand calculation adds
    them: whole shifted slices at a time, so a 512×512 input costs one pass per kernel tap
    instead of one Python loop per output element. Object arrays keep exact numbers exact."""
    np = _np()
    total = np.full(tuple(geometry.out), 0, dtype=object)
    for channel in range(padded.shape[0]):
        for offsets in itertools.product(*(range(k) for k in geometry.kernel)):
            window = tuple(slice(o * d, o * d + (n - 1) * s + 1, s) for o, d, s, n in
                           zip(offsets, geometry.dilation, geometry.stride, geometry.out))
            total = total + padded[(channel,) + window] * weights[(channel,) + offsets]
    return total


def _show_conv_element(sol, number, index, products, bias, per_dim, padded, label, count):
    terms = [Num(a) * Num(b) for a, b in products]
    if bias != 0:
        terms.append(Num(bias))
    n = len(per_dim)
    head = f"Filter {index[0] + 1}" if count > 1 else "Output"
    where = _where_text(n, per_dim)
    text = (f"{head} at {_place(index[1:])}: the window is {where} of {label}"
            + (f"; plus the bias {bias}." if bias != 0 else "."))
    return sol.add(text, Formula(_element_symbol(number, index), _sum_expr(terms)),
                   highlight=_highlight(padded, per_dim, label))


# --- pooling ----------------------------------------------------------------------------------


def _pool_size_steps(sol: Solution, layer: PoolLayer, sizes, kernel, stride, padding, number) -> list[int]:
    labels, names = _labels(len(sizes))
    k, s, p = arith.K, arith.S, arith.P
    outs = []
    for d, (size, label, name) in enumerate(zip(sizes, labels, names)):
        size_sym = arith.size_symbol(label)
        bindings = {label: size, "K": kernel[d], "S": stride[d], "P": padding[d]}
        if kernel[d] > size + 2 * padding[d] and not layer.ceil_mode:
            raise BadInput(f"layer {number}'s pool window ({kernel[d]}) is larger than the input {name} "
                           f"({size} + 2·{padding[d]})", field=_join(layer.field, "kernel"))
        if layer.ceil_mode:
            out = sol.add(f"Layer {number} output {name} (ceil mode: round up):",
                          Formula(arith.out_symbol(label), ceil((size_sym + 2 * p - k) / s) + 1, bindings))
            if (out - 1) * stride[d] >= size + padding[d]:
                sol.note(f"The last window would start at {(out - 1) * stride[d]} ≥ {label} + P = "
                         f"{size + padding[d]}, inside the right padding only, so it is dropped "
                         f"(PyTorch's rule): {out - 1}.")
                out -= 1
        else:
            out = sol.add(f"Layer {number} output {name}:",
                          Formula(arith.out_symbol(label), floor((size_sym + 2 * p - k) / s) + 1, bindings))
        outs.append(out)
    return outs


def pool_layer(sol: Solution, layer: PoolLayer, x, number: int, show: str):
    np = _np()
    n = x.ndim - 1
    kernel = _per_dim(layer.kernel, n, "kernel", layer.field)
    stride = kernel if layer.stride is None else _per_dim(layer.stride, n, "stride", layer.field)
    padding = _per_dim(layer.padding, n, "padding", layer.field)
    for k, p in zip(kernel, padding):
        if p > k // 2:
            raise BadInput(f"layer {number}'s pool padding ({p}) must be at most half the window ({k}), "
                           "as in PyTorch", field=_join(layer.field, "padding"))
    sizes = list(x.shape[1:])
    out_sizes = _pool_size_steps(sol, layer, sizes, kernel, stride, padding, number)
    fill = float("-inf") if layer.mode == "max" else 0
    padded = _pad(x, [(p, p) for p in padding], fill)
    if padded is not x:
        what = "−∞ (never the maximum)" if layer.mode == "max" else "zeros (counted in the average)"
        sol.add(f"{_map_name(number - 1).capitalize()} padded with {what}:",
                value=padded.tolist() if x.shape[0] > 1 else padded[0].tolist())
    out = np.empty((x.shape[0], *out_sizes), dtype=object)
    _check_size(out.size * int(np.prod(kernel)), number, layer.field)
    shown = set(_shown(out.shape, show))
    label = _map_name(number - 1) + (", padded" if padded is not x else "")
    for index in itertools.product(*(range(s) for s in out.shape)):
        c, position = index[0], index[1:]
        # A ceil-mode window may run past the padded input: it is clipped there (PyTorch).
        per_dim = [[o * s + k for k in range(kk) if o * s + k < padded.shape[d + 1]]
                   for d, (o, s, kk) in enumerate(zip(position, stride, kernel))]
        cells = padded[c][np.ix_(*per_dim)].ravel().tolist()
        if index in shown:
            out[index] = _show_pool_element(sol, layer.mode, number, index, cells, per_dim, padded,
                                            padding, label, x.shape[0])
        elif layer.mode == "max":
            out[index] = max(cells)
        else:
            out[index] = _as_number(_average(cells))
    if len(shown) < out.size:
        sol.note(f"The other {out.size - len(shown)} elements of layer {number} are computed the same "
                 "way (show: all writes every one).")
    return out


def _average(cells: list):
    from fractions import Fraction

    total = sum(cells, 0)
    if all(isinstance(v, (int, Fraction)) for v in cells):
        return Fraction(total, 1) / len(cells)
    return total / len(cells)


def _show_pool_element(sol, mode, number, index, cells, per_dim, padded, padding, label, channels):
    n = len(per_dim)
    head = f"Channel {index[0] + 1}" if channels > 1 else "Output"
    where = _where_text(n, per_dim)
    place = _place(index[1:])
    symbol = _element_symbol(number, index)
    highlight = _highlight(padded, per_dim, label)
    if mode == "max":
        best = max(cells)
        flat = cells.index(best)  # the first maximum in reading order, as PyTorch reports it
        spot = list(itertools.product(*per_dim))[flat]
        at = _place(tuple(s - p for s, p in zip(spot, padding)))
        return sol.add(f"{head} at {place}: the maximum of {where} of {label}; it sits at {at} of "
                       f"{_map_name(number - 1)}.",
                       Formula(symbol, call("max", *[Num(v) for v in cells]) if len(cells) > 1
                               else Num(cells[0])), highlight=highlight)
    value = sol.add(f"{head} at {place}: the average of {where} of {label} ({len(cells)} values).",
                    Formula(symbol, _sum_expr([Num(v) for v in cells]) / Num(len(cells))),
                    highlight=highlight)
    return _as_number(value)


# --- activation -------------------------------------------------------------------------------


def activation_layer(sol: Solution, layer: ActivationLayer, x, number: int):
    np = _np()
    function = act.ACTIVATIONS[layer.function]
    alpha = act.DEFAULT_ALPHA.get(layer.function) if layer.alpha is None else layer.alpha
    before = _map_symbol(number - 1)
    if layer.function not in ("relu", "leaky-relu"):  # only the piecewise-linear ones stay exact
        x = np.array(x.tolist(), dtype=float)
    text = f"Layer {number}: {function.definition}, element by element"
    text += f" (α = {alpha})." if function.takes_alpha else "."
    value = sol.add(text, Formula(_map_symbol(number), function.expr(before),
                                  {before.name: x, "alpha": alpha}, substitute=False))
    return np.array(np.asarray(value).tolist(), dtype=object)


# --- entry point ------------------------------------------------------------------------------


def _state_conventions(sol: Solution, given: ConvolveInput, layers: list) -> None:
    if any(isinstance(layer, ConvLayer) for layer in layers):
        if given.flip:
            sol.convention("True convolution (flip: true): each filter is flipped along every spatial "
                           "axis before it slides over the input.")
        else:
            sol.convention("Cross-correlation, as deep-learning layers compute it: the filters are not "
                           "flipped (flip: true gives true convolution).")
    if any(isinstance(layer, ConvLayer) and "same" in (layer.padding if isinstance(layer.padding, list)
                                                       else [layer.padding]) for layer in layers):
        sol.convention("padding: same follows TF/Keras SAME: output ⌈size/stride⌉, an odd padding pixel "
                       "on the right/bottom (PyTorch's 'same' agrees at stride 1).")
    pools = [layer for layer in layers if isinstance(layer, PoolLayer)]
    if any(layer.stride is None for layer in pools):
        sol.convention("A pooling stride that is not given equals the pool size (PyTorch's default).")
    if any(layer.mode == "avg" and layer.padding != 0 for layer in pools):
        sol.convention("Average pooling counts padding zeros in the average (PyTorch's "
                       "count_include_pad=True).")
    sol.convention("Positions, rows, columns, filters and channels are counted from 1.")


def _shape_text(x) -> str:
    return "×".join(str(s) for s in x.shape)


@register(
    "convolve",
    ConvolveInput,
    imports=("numpy",),
    summary="Feature maps by hand: 1-D/2-D convolution with channels, several filters and layers, "
            "stride, padding, dilation, bias, max/average pooling and activations; every output "
            "element as its sum of products over its window.",
    answers={"out{l}": "the map after layer l (channels first: C×L or C×H×W nested list)"},
    example='--input "[1, 2, 6, 7, 8, 9, 1]" --filters "[[0, 1, 0], [1, 0, 1]]"',
    template={"input": [1, 2, 6, 7, 8, 9, 1],
              "layers": [{"type": "conv", "filters": [[0, 1, 0], [0, 0, 1]], "bias": 0, "stride": 1,
                          "padding": 0},
                         {"type": "maxpool", "kernel": 2}]},
)
def solve(given: ConvolveInput, ctx: Context) -> Solution:
    sol = Solution()
    layers = layer_list(given)
    x, _ = read_input(sol, given, layers)
    _state_conventions(sol, given, layers)
    origin = (f"the input has {x.shape[0]} channel{'s' if x.shape[0] > 1 else ''}")
    for number, layer in enumerate(layers, 1):
        if isinstance(layer, ConvLayer):
            x = conv_layer(sol, layer, x, number, origin, given.flip, given.show)
            origin = f"layer {number} has {x.shape[0]} filter{'s' if x.shape[0] > 1 else ''}"
            x = _finish(sol, ctx, x, number,
                        f"Layer {number} output: one channel per filter, {_shape_text(x)}.")
        elif isinstance(layer, PoolLayer):
            x = pool_layer(sol, layer, x, number, given.show)
            kind = "max" if layer.mode == "max" else "average"
            x = _finish(sol, ctx, x, number, f"Layer {number} output ({kind} pooling, each channel "
                                             f"on its own), {_shape_text(x)}.")
        else:
            x = activation_layer(sol, layer, x, number)
            rounded = ctx.hand_round(x.tolist())
            sol.set_answer(f"out{number}", rounded)
            x = _object_array(rounded)
    return sol


def _finish(sol: Solution, ctx: Context, x, number: int, text: str):
    values = ctx.hand_round(x.tolist())
    sol.add(text, value=values, answer=f"out{number}")
    return _object_array(values)
