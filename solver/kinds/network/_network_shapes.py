"""Shapes and the pure shape arithmetic of kind `network`: what each layer turns its input into.

A shape is one sample's tensor (no batch dimension) in one of four forms:
  map       C × spatial sizes (C×L, C×H×W, C×D×H×W): what convolutions and pooling take
  vector    F features: what a fully connected layer takes (a map is flattened first)
  sequence  T × F: T steps of F features (recurrent layers, attention; fc acts per step)
  tokens    T integer ids: what an embedding takes

`forward` is plain integer arithmetic with every field known; it validates the stack and is
fast enough for the unknown search. The worked formulas are in `_network_layers`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from math import prod

from ..conv import _conv_arith as arith
from ._network_grammar import LayerSpec

CONV_TYPES = ("conv", "convtranspose", "depthwise", "pointwise")
POOL_TYPES = ("maxpool", "avgpool")
GLOBAL_POOLS = ("globalavgpool", "globalmaxpool")
RECURRENT_GATES = {"rnn": 1, "lstm": 4, "gru": 3}
SPATIAL_LABELS = {1: ["L"], 2: ["H", "W"], 3: ["Z", "H", "W"]}
SHAPE_FREE = ("flatten", "dropout", "relu", "relu6", "tanh", "sigmoid", "gelu", "leaky-relu", "elu", "silu",
              "softmax", "batchnorm", "layernorm")
ADAPTIVE_POOLS = ("adaptiveavgpool", "adaptivemaxpool")
RESAMPLERS = ("upsample", "maxunpool") + ADAPTIVE_POOLS  # map layers without weights or a fixed window
JOINS = ("add", "concat")  # the rows where a block's branches meet

DEFAULTS = {
    "conv": {"stride": 1, "padding": 0, "dilation": 1, "groups": 1, "bias": True},
    "convtranspose": {"stride": 1, "padding": 0, "dilation": 1, "groups": 1, "bias": True,
                      "output_padding": 0},
    "depthwise": {"stride": 1, "padding": 0, "dilation": 1, "bias": True},
    "pointwise": {"stride": 1, "groups": 1, "bias": True},
    "separable": {"stride": 1, "padding": 0, "dilation": 1, "bias": True},
    "maxpool": {"padding": 0, "dilation": 1, "ceil_mode": False},
    "avgpool": {"padding": 0, "ceil_mode": False, "count_include_pad": True},
    "maxunpool": {"padding": 0},
    "upsample": {"mode": "nearest"},
    "fc": {"bias": True},
    "batchnorm": {"affine": True},
    "layernorm": {"affine": True},
    "rnn": {"num_layers": 1, "bidirectional": False, "bias": True, "return_sequences": True},
    "lstm": {"num_layers": 1, "bidirectional": False, "bias": True, "return_sequences": True},
    "gru": {"num_layers": 1, "bidirectional": False, "bias": True, "return_sequences": True},
    "attention": {"heads": 1, "bias": True},
}


class LayerError(Exception):
    """A layer that cannot take its input; `field` names the offending layer field."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class Shape:
    form: str  # map | vector | sequence | tokens
    dims: tuple

    @property
    def channels(self) -> int:
        return self.dims[0]

    @property
    def spatial(self) -> tuple:
        return self.dims[1:]

    @property
    def features(self) -> int:
        """What a fully connected layer sees: the flattened size (a sequence: per step)."""
        return self.dims[-1] if self.form == "sequence" else prod(self.dims)

    @property
    def steps(self) -> int:
        return self.dims[0]

    @property
    def labels(self) -> list[str]:
        return SPATIAL_LABELS[len(self.spatial)]

    def shown(self, layout: str = "chw") -> list:
        """The sizes as the user writes them (H×W×C with `layout: hwc`)."""
        if self.form == "map" and layout == "hwc":
            return list(self.dims[1:]) + [self.dims[0]]
        return list(self.dims)

    def text(self, layout: str = "chw") -> str:
        return "×".join(str(v) for v in self.shown(layout))


@dataclass
class Layer:
    """One computing layer with every field known and defaults applied. A separable layer
    becomes two (its depthwise and pointwise parts)."""

    spec: LayerSpec
    type: str
    name: str
    values: dict

    def __getitem__(self, key):
        return self.values[key]

    def get(self, key, default=None):
        return self.values.get(key, default)


# --- the input ---------------------------------------------------------------------------------


def interpret_input(dims: list[int], specs: list[LayerSpec], layout: str) -> Shape:
    """Which form the input has, read from the first layer that cares."""
    # fc, flatten, normalisation and activations work on any form; the first other layer decides
    # (inside a block, the first layer of its first branch that has one).
    first = next((s.type for s in _in_order(specs) if s.type not in SHAPE_FREE + ("fc",)), None)
    if first in CONV_TYPES + POOL_TYPES + GLOBAL_POOLS + RESAMPLERS + ("separable",):
        if len(dims) < 2 or len(dims) > 4:
            raise LayerError(f"a {first} layer needs channels and 1 to 3 spatial sizes "
                             f"(C×L, C×H×W or C×D×H×W), but the input has {len(dims)} size"
                             f"{'s' if len(dims) != 1 else ''}", field="input")
        return Shape("map", _channels_first(dims, layout))
    if first == "embedding":
        if len(dims) != 1:
            raise LayerError("an embedding takes a sequence of T token ids: give the input as T",
                             field="input")
        return Shape("tokens", tuple(dims))
    if first in RECURRENT_GATES or first == "attention":
        if len(dims) != 2:
            raise LayerError(f"a {first} layer takes a sequence T×F (steps × features), but the input "
                             f"has {len(dims)} size{'s' if len(dims) != 1 else ''}", field="input")
        return Shape("sequence", tuple(dims))
    if len(dims) == 1:
        return Shape("vector", tuple(dims))
    return Shape("map", _channels_first(dims, layout))


def _in_order(specs: list[LayerSpec]):
    """Every layer spec, blocks opened, in the order the input reaches them."""
    for spec in specs:
        if spec.branches:
            yield from _in_order([inner for _, layers in spec.branches for inner in layers])
        else:
            yield spec


def _channels_first(dims: list[int], layout: str) -> tuple:
    return tuple([dims[-1]] + list(dims[:-1])) if layout == "hwc" else tuple(dims)


def matches(shape: Shape, wanted: list, layout: str) -> bool:
    """A stated output: the full shape, or a map's spatial sizes alone."""
    wanted = list(wanted)
    if shape.shown(layout) == wanted:
        return True
    return shape.form == "map" and list(shape.spatial) == wanted


def wanted_channels(shape_form: str, wanted: list, layout: str, spatial_dims: int) -> int | None:
    """The channel (or feature) count a stated output fixes, if it states one."""
    if shape_form == "map":
        if len(wanted) != spatial_dims + 1:
            return None
        return wanted[-1] if layout == "hwc" else wanted[0]
    return wanted[-1]


# --- resolving defaults ---------------------------------------------------------------------------


def default_name(spec: LayerSpec) -> str:
    return spec.name or f"{spec.type}{spec.index}"


def expand(spec: LayerSpec, values: dict, shape: Shape, prefix: str = "", suffix: str = "") -> list[Layer]:
    """Concrete layers for a spec whose fields are all known (`values`: the given ones)."""
    full = {**DEFAULTS.get(spec.type, {}), **values}
    for key in ("name", "output", "repeat"):
        full.pop(key, None)
    name = prefix + default_name(spec) + suffix
    if spec.type in POOL_TYPES + ("maxunpool",):
        full.setdefault("stride", full["kernel"])
    if spec.type == "separable":
        if shape.form != "map":
            raise LayerError(f"a separable convolution needs a C×H×W map, not {_form_text(shape)}")
        depthwise = {k: full[k] for k in ("kernel", "stride", "padding", "dilation", "bias")}
        for key in ("padding_mode", "frozen"):
            if key in full:
                depthwise[key] = full[key]
        depthwise["out"] = shape.channels
        if "in" in full:
            depthwise["in"] = full["in"]
        pointwise = {"out": full["out"], "bias": full["bias"], "stride": 1, "groups": 1}
        if "frozen" in full:
            pointwise["frozen"] = full["frozen"]
        return [Layer(spec, "depthwise", f"{name}.dw", _conv_defaults("depthwise", depthwise, shape)),
                Layer(spec, "pointwise", f"{name}.pw", _conv_defaults("pointwise", pointwise, shape))]
    if spec.type in ("depthwise", "pointwise"):
        full = _conv_defaults(spec.type, full, shape)
    return [Layer(spec, spec.type, name, full)]


def _conv_defaults(kind: str, values: dict, shape: Shape) -> dict:
    values = dict(values)
    if kind == "depthwise":
        if shape.form == "map":
            values.setdefault("out", shape.channels)
            values["groups"] = shape.channels
    if kind == "pointwise":
        values.update(kernel=1, padding=0, dilation=1)
    return values


# --- forward ---------------------------------------------------------------------------------------


def _form_text(shape: Shape) -> str:
    if shape.form == "vector":
        return f"a vector of {shape.dims[0]} features"
    return {"map": "a map", "sequence": "a sequence", "tokens": "token ids"}[shape.form] + f" ({shape.text()})"


def per_dim(value, n: int, name: str) -> list:
    if isinstance(value, list):
        if len(value) != n:
            raise LayerError(f"{name} has {len(value)} values but the map has {n} spatial "
                             f"dimension{'s' if n != 1 else ''}", field=name)
        return list(value)
    return [value] * n


def input_size(layer_type: str, shape: Shape) -> int | None:
    """What a layer's `in` field refers to: input channels, or features."""
    if shape.form == "map" and layer_type in CONV_TYPES + ("separable", "batchnorm"):
        return shape.channels
    if shape.form == "tokens":
        return None
    return shape.features


def _check_in(layer: Layer, shape: Shape) -> None:
    expected = layer.get("in")
    actual = input_size(layer.type, shape)
    if expected is not None and actual is not None and expected != actual:
        what = "channels" if shape.form == "map" and layer.type in CONV_TYPES + ("batchnorm",) else "features"
        raise LayerError(f"it expects in={expected} input {what}, but its input {shape.text()} has "
                         f"{actual}", field="in")


def windows(layer: Layer, shape: Shape) -> list[tuple]:
    """(size, kernel, stride, padding, dilation, output_padding) per spatial dimension."""
    n = len(shape.spatial)
    kernel = per_dim(layer["kernel"], n, "kernel")
    stride = per_dim(layer["stride"], n, "stride")
    padding = per_dim(layer.get("padding", 0), n, "padding")
    dilation = per_dim(layer.get("dilation", 1), n, "dilation")
    extra = per_dim(layer.get("output_padding", 0), n, "output_padding")
    return list(zip(shape.spatial, kernel, stride, padding, dilation, extra))


def numeric_padding(padding, size: int, kernel: int, stride: int, dilation: int) -> int:
    """The left padding a padding word stands for."""
    if padding == "valid":
        return 0
    if padding == "full":
        return dilation * (kernel - 1)
    if padding == "same":
        return arith.same_padding(size, kernel, stride, dilation)[0]
    return padding


def spatial_size(layer: Layer, size: int, kernel: int, stride: int, padding, dilation: int,
                 extra: int, label: str) -> int:
    """One output size, with the reason when the window does not fit."""
    if layer.type == "convtranspose":
        if isinstance(padding, str):
            raise LayerError("a transposed convolution takes a number as padding", field="padding")
        if not extra < max(stride, dilation):
            raise LayerError(f"output_padding ({extra}) must be smaller than the stride or the dilation",
                             field="output_padding")
        return arith.transposed_out(size, kernel, stride, padding, dilation, extra)
    if padding == "same":
        return arith.same_out(size, stride)
    pad = numeric_padding(padding, size, kernel, stride, dilation)
    span = arith.effective_kernel(kernel, dilation)
    if span > size + 2 * pad:
        dilated = f" ({span} with dilation {dilation})" if dilation != 1 else ""
        raise LayerError(f"its {kernel}-wide kernel{dilated} does not fit the {label} of {size} with "
                         f"padding {pad}: it needs {label} + 2·P ≥ {span}", field="kernel")
    _check_padding_mode(layer, size, padding, kernel, stride, dilation, label)
    if layer.type in POOL_TYPES and pad > kernel // 2:
        raise LayerError(f"pooling padding ({pad}) may be at most half the kernel ({kernel}), as in PyTorch",
                         field="padding")
    if layer.type in POOL_TYPES and layer.get("ceil_mode"):
        return arith.pool_out_ceil(size, kernel, stride, pad, dilation)
    return arith.conv_out(size, kernel, stride, pad, dilation)


def _check_padding_mode(layer: Layer, size: int, padding, kernel: int, stride: int, dilation: int,
                        label: str) -> None:
    """Reflect padding mirrors inside the input (P < size); circular wraps it (P ≤ size), as PyTorch."""
    mode = layer.get("padding_mode", "zeros")
    if mode not in ("reflect", "circular"):
        return
    pads = (arith.same_padding(size, kernel, stride, dilation) if padding == "same"
            else (numeric_padding(padding, size, kernel, stride, dilation),) * 2)
    if mode == "reflect" and max(pads) >= size:
        raise LayerError(f"reflect padding of {max(pads)} needs a {label} larger than the padding, "
                         f"but the {label} is {size}", field="padding")
    if mode == "circular" and max(pads) > size:
        raise LayerError(f"circular padding of {max(pads)} may be at most the {label} ({size})",
                         field="padding")


def _needs_map(layer: Layer, shape: Shape) -> None:
    if shape.form != "map":
        hint = " (an fc or recurrent layer before it made it one)" if shape.form in ("vector", "sequence") else ""
        raise LayerError(f"{layer.type} needs a C×H×W (or C×L) map, not {_form_text(shape)}{hint}")


def _conv_forward(layer: Layer, shape: Shape) -> Shape:
    _needs_map(layer, shape)
    channels, groups, out = shape.channels, layer.get("groups", 1), layer["out"]
    if layer.type == "depthwise" and out % channels:
        raise LayerError(f"a depthwise layer's out ({out}) must be a multiple of its {channels} input "
                         "channels (one or more filters per channel)", field="out")
    if channels % groups:
        raise LayerError(f"groups={groups} does not divide its {channels} input channels", field="groups")
    if out % groups:
        raise LayerError(f"groups={groups} does not divide its {out} output channels", field="groups")
    sizes = [spatial_size(layer, *w, label) for w, label in zip(windows(layer, shape), shape.labels)]
    return _checked_map(layer, out, sizes)


def _checked_map(layer: Layer, channels: int, sizes: list[int]) -> Shape:
    for size in sizes:
        if size < 1:
            raise LayerError(f"its output would be {size} wide: the window does not fit", field="kernel")
    return Shape("map", tuple([channels] + sizes))


def _pool_forward(layer: Layer, shape: Shape) -> Shape:
    _needs_map(layer, shape)
    sizes = [spatial_size(layer, *w, label) for w, label in zip(windows(layer, shape), shape.labels)]
    return _checked_map(layer, shape.channels, sizes)


def _recurrent_forward(layer: Layer, shape: Shape) -> Shape:
    if shape.form != "sequence":
        raise LayerError(f"{layer.type} takes a sequence T×F (steps × features), not {_form_text(shape)}")
    width = layer["out"] * (2 if layer["bidirectional"] else 1)
    if layer["return_sequences"]:
        return Shape("sequence", (shape.steps, width))
    return Shape("vector", (width,))


def _attention_forward(layer: Layer, shape: Shape) -> Shape:
    if shape.form != "sequence":
        raise LayerError(f"attention takes a sequence T×E, not {_form_text(shape)}")
    embed = shape.features
    if layer.get("out") is not None and layer["out"] != embed:
        raise LayerError(f"self-attention keeps the embedding size: out must be {embed}, not "
                         f"{layer['out']}", field="out")
    if embed % layer["heads"]:
        raise LayerError(f"{layer['heads']} heads do not divide the embedding size {embed}", field="heads")
    return shape


def _resample_forward(layer: Layer, shape: Shape) -> Shape:
    """upsample, maxunpool and the adaptive pools: sizes from their own rules."""
    _needs_map(layer, shape)
    n = len(shape.spatial)
    if layer.type in ADAPTIVE_POOLS:
        return Shape("map", tuple([shape.channels] + per_dim(layer["output_size"], n, "output_size")))
    if layer.type == "upsample":
        wanted = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}.get(layer["mode"])
        if wanted is not None and wanted != n:
            raise LayerError(f"{layer['mode']} upsampling works on {wanted}-D maps, but this map has {n} "
                             f"spatial dimension{'s' if n != 1 else ''}", field="mode")
        sizes = [upsampled(size, scale) for size, scale in zip(shape.spatial, per_dim(layer["scale"], n, "scale"))]
    else:
        if any(isinstance(p, str) for p in per_dim(layer["padding"], n, "padding")):
            raise LayerError("max unpooling takes a number as padding (that of the max pool it undoes)",
                             field="padding")
        sizes = [(size - 1) * stride - 2 * padding + kernel for size, kernel, stride, padding, _, _ in
                 windows(layer, shape)]
    return _checked_map(layer, shape.channels, sizes)


def upsampled(size: int, scale) -> int:
    """⌊size·scale⌋, exactly for the decimal scale written (PyTorch multiplies in floating point, so
    a scale such as 2.3 can give one less there)."""
    from fractions import Fraction

    return math.floor(size * Fraction(str(scale)))


def along_last_axis(layer: Layer, shape: Shape) -> bool:
    """fc or layernorm with `axis: last` on a map: it acts on each row of the last axis, as PyTorch's
    nn.Linear(F) and nn.LayerNorm(F) do; by default a map is flattened (fc) or normalised whole."""
    return layer.get("axis") == "last" and shape.form == "map"


def forward(layer: Layer, shape: Shape) -> Shape:
    """The layer's output shape; LayerError when the input does not suit it."""
    _check_in(layer, shape)
    kind = layer.type
    if kind in RESAMPLERS:
        return _resample_forward(layer, shape)
    if kind in CONV_TYPES:
        return _conv_forward(layer, shape)
    if kind in POOL_TYPES:
        return _pool_forward(layer, shape)
    if kind in GLOBAL_POOLS:
        _needs_map(layer, shape)
        return Shape("map", tuple([shape.channels] + [1] * len(shape.spatial)))
    if kind == "flatten":
        if shape.form == "tokens":
            raise LayerError("token ids cannot be flattened; start with an embedding")
        return Shape("vector", (prod(shape.dims),))
    if kind == "fc":
        if shape.form == "tokens":
            raise LayerError("an fc layer cannot take token ids; start with an embedding")
        if along_last_axis(layer, shape):
            return Shape(shape.form, tuple(shape.dims[:-1]) + (layer["out"],))
        if shape.form == "sequence":
            return Shape("sequence", (shape.steps, layer["out"]))
        return Shape("vector", (layer["out"],))
    if kind == "embedding":
        if shape.form != "tokens":
            raise LayerError(f"an embedding takes token ids and must be the first layer, not {_form_text(shape)}")
        return Shape("sequence", (shape.steps, layer["out"]))
    if kind in RECURRENT_GATES:
        return _recurrent_forward(layer, shape)
    if kind == "attention":
        return _attention_forward(layer, shape)
    if shape.form == "tokens":
        raise LayerError(f"{kind} cannot take token ids; start with an embedding")
    return shape  # normalisation, dropout, activations keep the shape
