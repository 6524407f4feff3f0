"""The layer language of kind `network`: a YAML list of layers or the compact string.

Compact string (SPEC §3/§4): segments joined by `|`; the first may be the input shape.

    1x32x32 | conv 6 5 | maxpool 2 | conv 16 5 s=1 p=0 | fc 120 | fc 84 | fc 10
    12x55x55 | conv n1 F1 -> 6x49x49 | conv 4 3 s=2 p=? -> 4x25x25 | fc 128

A segment is `TYPE [POSITIONAL ...] [key=value ...] [-> OUTPUT]`. Each type takes the
positional numbers listed in `TYPES` (conv: out, kernel; maxpool: kernel; fc: out; …); every
other field is `key=value`. `-> SHAPE` (or `output=SHAPE`) states the layer's output shape, a
constraint that unknowns (`?` or a symbol name) are solved from. A YAML list item is a mapping
with `type` and the same field names, or a compact segment as a string.

This module only reads and checks the spelling; shapes and arithmetic live elsewhere. No
heavy imports: it is on the fast path.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ...errors import BadInput, did_you_mean
from ...inputs import is_symbol, is_unknown, int_or_unknown, parse_shape

# --- layer types -----------------------------------------------------------------------------

_CONV_FIELDS = ("out", "kernel", "stride", "padding", "dilation", "groups", "bias")
_POOL_FIELDS = ("kernel", "stride", "padding", "ceil_mode")
_RECURRENT_FIELDS = ("out", "num_layers", "bidirectional", "bias", "bias_style", "return_sequences")


@dataclass(frozen=True)
class LayerType:
    positional: tuple[str, ...]  # the fields bare numbers fill, in order
    fields: tuple[str, ...]  # every field besides name, in, output
    required: tuple[str, ...] = ()
    summary: str = ""


TYPES: dict[str, LayerType] = {
    "conv": LayerType(("out", "kernel"), _CONV_FIELDS, ("out", "kernel"),
                      "convolution: out channels, kernel"),
    "convtranspose": LayerType(("out", "kernel"), _CONV_FIELDS + ("output_padding",), ("out", "kernel"),
                               "transposed convolution"),
    "depthwise": LayerType(("out", "kernel"), ("out", "kernel", "stride", "padding", "dilation", "bias"),
                           ("kernel",), "one filter per input channel (out = multiple of in)"),
    "pointwise": LayerType(("out",), ("out", "stride", "groups", "bias"), ("out",), "1×1 convolution"),
    "separable": LayerType(("out", "kernel"), ("out", "kernel", "stride", "padding", "dilation", "bias"),
                           ("out", "kernel"), "depthwise + pointwise (two rows)"),
    "maxpool": LayerType(("kernel",), _POOL_FIELDS + ("dilation",), ("kernel",), "max pooling"),
    "avgpool": LayerType(("kernel",), _POOL_FIELDS, ("kernel",), "average pooling"),
    "globalavgpool": LayerType((), (), (), "global average pooling (C×1×1)"),
    "globalmaxpool": LayerType((), (), (), "global max pooling (C×1×1)"),
    "flatten": LayerType((), (), (), "reshape to one vector"),
    "fc": LayerType(("out",), ("out", "bias"), ("out",), "fully connected: out features"),
    "batchnorm": LayerType((), ("affine",), (), "batch normalisation (γ, β per channel)"),
    "layernorm": LayerType((), ("affine",), (), "layer normalisation"),
    "dropout": LayerType(("rate",), ("rate",), (), "dropout"),
    "embedding": LayerType(("out",), ("out", "vocab"), ("out", "vocab"), "lookup table: out = dimension"),
    "rnn": LayerType(("out",), _RECURRENT_FIELDS, ("out",), "Elman RNN: out = hidden size"),
    "lstm": LayerType(("out",), _RECURRENT_FIELDS, ("out",), "LSTM: out = hidden size"),
    "gru": LayerType(("out",), _RECURRENT_FIELDS, ("out",), "GRU: out = hidden size"),
    "attention": LayerType(("heads",), ("heads", "out", "bias"), (), "multi-head self-attention"),
}
ACTIVATIONS = ("relu", "tanh", "sigmoid", "gelu", "leaky-relu", "elu", "silu", "softmax")
for _name in ACTIVATIONS:
    TYPES[_name] = LayerType((), (), (), "activation")

TYPE_ALIASES = {
    "conv2d": "conv", "conv1d": "conv", "conv3d": "conv", "convolution": "conv",
    "transposed-conv": "convtranspose", "conv-transpose": "convtranspose", "deconv": "convtranspose",
    "convtranspose2d": "convtranspose",
    "dwconv": "depthwise", "depthwise-conv": "depthwise", "dw": "depthwise",
    "pwconv": "pointwise", "pointwise-conv": "pointwise", "pw": "pointwise",
    "sepconv": "separable", "separable-conv": "separable", "depthwise-separable": "separable",
    "pool": "maxpool", "max-pool": "maxpool", "maxpool2d": "maxpool", "max": "maxpool",
    "avg-pool": "avgpool", "avgpool2d": "avgpool", "averagepool": "avgpool", "avg": "avgpool",
    "gap": "globalavgpool", "global-avg-pool": "globalavgpool", "adaptiveavgpool": "globalavgpool",
    "global-max-pool": "globalmaxpool",
    "linear": "fc", "dense": "fc", "fully-connected": "fc",
    "bn": "batchnorm", "batch-norm": "batchnorm", "ln": "layernorm", "layer-norm": "layernorm",
    "embed": "embedding", "mha": "attention", "multihead-attention": "attention",
    "self-attention": "attention", "leakyrelu": "leaky-relu", "swish": "silu",
}

# Short keys accepted in both spellings (`s=2` for `stride: 2`).
KEY_ALIASES = {"k": "kernel", "s": "stride", "p": "padding", "d": "dilation", "g": "groups",
               "filters": "out", "units": "out", "hidden": "out", "channels": "out",
               "layers": "num_layers", "bidir": "bidirectional", "h": "heads",
               "kernel_size": "kernel", "in_channels": "in", "in_features": "in", "out_channels": "out",
               "out_features": "out", "hidden_size": "out", "p_drop": "rate"}
COMMON_FIELDS = ("name", "in", "output")

# Fields whose value may be `?` or a symbol: the unknowns solved from given shapes.
UNKNOWN_FIELDS = ("out", "kernel", "stride", "padding", "dilation", "in")
PADDING_WORDS = ("same", "valid", "full")
_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")


@dataclass
class LayerSpec:
    """One layer as the user wrote it: canonical type, parsed field values (only those given)."""

    index: int  # 1-based position in the user's list
    type: str
    fields: dict[str, Any] = field(default_factory=dict)
    source: str = ""  # the layer as written, for messages
    path: str = "layers"  # the given field that holds it, for BadInput

    @property
    def name(self) -> str | None:
        return self.fields.get("name")

    @property
    def output(self) -> list | None:
        return self.fields.get("output")


# --- field values --------------------------------------------------------------------------------


def _int(minimum: int) -> Callable:
    def parse(value, name):
        return int_or_unknown(value, name=name, minimum=minimum)
    return parse


def _int_known(minimum: int) -> Callable:
    def parse(value, name):
        parsed = int_or_unknown(value, name=name, minimum=minimum)
        if isinstance(parsed, str):
            raise ValueError(f"{name} must be a number here; unknowns are allowed in "
                             f"{', '.join(UNKNOWN_FIELDS)}")
        return parsed
    return parse


def _spatial(minimum: int, words: tuple[str, ...] = ()) -> Callable:
    """One size for every dimension, a list per dimension, or `3x5`; unknowns only as one value."""

    def one(value, name):
        if isinstance(value, str) and value.strip().lower() in words:
            return value.strip().lower()
        return int_or_unknown(value, name=name, minimum=minimum)

    def parse(value, name):
        if isinstance(value, (list, tuple)):
            parts = [one(v, name) for v in value]
        elif isinstance(value, str) and re.search(r"\d\s*[x×,]\s*\d", value):
            parts = [one(v, name) for v in re.split(r"\s*[x×,]\s*", value.strip())]
        else:
            return one(value, name)
        if not parts:
            raise ValueError(f"{name} is empty")
        if any(is_unknown(p) or (is_symbol(p) and p not in words) for p in parts):
            raise ValueError(f"an unknown {name} must be one value for all dimensions, not a list")
        return parts

    return parse


def _bool(value, name):
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"{name} must be true or false, got {value!r}")


def _rate(value, name):
    try:
        rate = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a probability from 0 to 1, got {value!r}") from None
    if not 0 <= rate < 1:
        raise ValueError(f"{name} must be at least 0 and below 1, got {value!r}")
    return rate


def _bias_style(value, name):
    text = str(value).strip().lower()
    if text not in ("pytorch", "single"):
        raise ValueError(f"{name} must be pytorch (two bias vectors) or single, got {value!r}")
    return text


def _name(value, name):
    text = str(value).strip()
    if not text or len(text) > 40 or not re.fullmatch(r"[\w.\-]+", text):
        raise ValueError(f"{name} must be a short name of letters, digits, '_', '.' or '-', got {value!r}")
    return text


def _output(value, name):
    return parse_shape(value, name=name)


FIELD_PARSERS: dict[str, Callable] = {
    "out": _int(1), "in": _int(1), "kernel": _spatial(1), "stride": _spatial(1),
    "padding": _spatial(0, PADDING_WORDS), "dilation": _spatial(1),
    "groups": _int_known(1), "bias": _bool, "output_padding": _spatial(0),
    "ceil_mode": _bool, "affine": _bool, "rate": _rate, "vocab": _int_known(1),
    "num_layers": _int_known(1), "bidirectional": _bool, "bias_style": _bias_style,
    "return_sequences": _bool, "heads": _int_known(1), "name": _name, "output": _output,
}


# --- parsing -------------------------------------------------------------------------------------


def canonical_type(word: Any, where: str, path: str) -> str:
    key = str(word).strip().lower().replace("_", "-")
    key = TYPE_ALIASES.get(key, key)
    if key not in TYPES:
        names = sorted(TYPES) + sorted(TYPE_ALIASES)
        raise BadInput(f"{where}: unknown layer type {str(word)!r}{did_you_mean(str(word).lower(), names)}; "
                       f"types: {', '.join(TYPES)}", field=path)
    return key


def _set_field(spec: LayerSpec, key: str, value: Any, where: str, path: str) -> None:
    canonical = "rate" if (spec.type == "dropout" and key == "p") else KEY_ALIASES.get(key, key)
    layer_type = TYPES[spec.type]
    allowed = layer_type.fields + COMMON_FIELDS
    if canonical not in allowed:
        raise BadInput(f"{where}: {spec.type} has no field {key!r}"
                       f"{did_you_mean(canonical, allowed)}; its fields: {', '.join(allowed)}",
                       field=f"{path}.{key}" if path != "layers" else path)
    if canonical in spec.fields:
        raise BadInput(f"{where}: {canonical} is given twice", field=path)
    try:
        spec.fields[canonical] = FIELD_PARSERS[canonical](value, canonical)
    except ValueError as exc:
        raise BadInput(f"{where}: {exc}", field=f"{path}.{key}" if path != "layers" else path) from None


def _check_required(spec: LayerSpec, where: str, path: str) -> None:
    for name in TYPES[spec.type].required:
        if name not in spec.fields:
            positional = TYPES[spec.type].positional
            how = (f" (compact: `{spec.type} {' '.join(p.upper() for p in positional)}`)"
                   if name in positional else f" ({name}=…)")
            raise BadInput(f"{where}: {spec.type} needs `{name}`{how}", field=path)


_ARROW = re.compile(r"\s*(?:->|→)\s*")


def parse_segment(text: str, index: int, path: str = "layers") -> LayerSpec:
    """`conv 6 5 s=2 -> 6x14x14` -> LayerSpec."""
    where = f"layer {index} ({text.strip()})"
    body, *rest = _ARROW.split(text.strip())
    if len(rest) > 1:
        raise BadInput(f"{where}: only one `-> OUTPUT` per layer", field=path)
    tokens = body.split()
    if not tokens:
        raise BadInput(f"layer {index} is empty (two `|` in a row?)", field=path)
    spec = LayerSpec(index, canonical_type(tokens[0], where, path), source=text.strip(), path=path)
    positional = TYPES[spec.type].positional
    count = 0
    for token in tokens[1:]:
        key, equals, value = token.partition("=")
        if equals:
            if not key or not value:
                raise BadInput(f"{where}: {token!r} should be key=value", field=path)
            _set_field(spec, key.strip().lower(), value.strip(), where, path)
            continue
        if count >= len(positional):
            takes = (f"takes {len(positional)} number{'s' if len(positional) != 1 else ''} "
                     f"({', '.join(positional)})" if positional else "takes no numbers")
            raise BadInput(f"{where}: {spec.type} {takes}; write the rest as key=value "
                           f"(e.g. stride=2)", field=path)
        _set_field(spec, _positional_field(spec.type, positional, count, tokens), token, where, path)
        count += 1
    if rest:
        if not rest[0].strip():
            raise BadInput(f"{where}: `->` must be followed by the output shape", field=path)
        _set_field(spec, "output", rest[0].strip(), where, path)
    _check_required(spec, where, path)
    return spec


def _positional_field(layer_type: str, positional: tuple, count: int, tokens: list[str]) -> str:
    """Which field the count-th bare number fills. A depthwise layer with a single number reads
    it as the kernel (its out defaults to the input channels)."""
    bare = [t for t in tokens[1:] if "=" not in t]
    if layer_type == "depthwise" and len(bare) == 1:
        return "kernel"
    return positional[count]


def parse_mapping(item: dict, index: int, path: str) -> LayerSpec:
    where = f"layer {index}"
    if "type" not in item:
        raise BadInput(f"{where} needs a `type` (one of {', '.join(TYPES)})", field=path)
    spec = LayerSpec(index, canonical_type(item["type"], where, f"{path}.type"), path=path)
    where = f"layer {index} ({spec.type})"
    for key, value in item.items():
        if key == "type":
            continue
        _set_field(spec, str(key).strip().lower(), value, where, path)
    spec.source = describe(spec)
    _check_required(spec, where, path)
    return spec


def describe(spec: LayerSpec) -> str:
    """A layer in compact spelling, for messages and headings."""
    positional = TYPES[spec.type].positional
    words = [spec.type] + [str(_show(spec.fields[p])) for p in positional if p in spec.fields]
    for key, value in spec.fields.items():
        if key not in positional and key not in ("name", "output"):
            words.append(f"{key}={_show(value)}")
    return " ".join(words)


def _show(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "x".join(str(v) for v in value)
    return str(value)


_SHAPE_SEGMENT = re.compile(r"^\s*[\w?]+(\s*[x×,*]\s*[\w?]+)*\s*$")


def looks_like_shape(text: str) -> bool:
    """The first segment of a compact string is the input shape unless it names a layer type."""
    if not _SHAPE_SEGMENT.match(text):
        return False
    first = re.split(r"\s*[x×,*]\s*", text.strip())[0].lower().replace("_", "-")
    return first not in TYPES and first not in TYPE_ALIASES and " " not in text.strip()


def parse_layers(value: Any, path: str = "layers") -> tuple[Any, list[LayerSpec]]:
    """(input shape written as the string's first segment or None, the layers)."""
    if isinstance(value, str):
        segments = value.split("|")
        input_shape = None
        if segments and looks_like_shape(segments[0]):
            input_shape = segments.pop(0).strip()
        if not segments or not any(s.strip() for s in segments):
            raise BadInput("the layer string has no layers after the input", field=path)
        return input_shape, [parse_segment(s, i, path) for i, s in enumerate(segments, 1)]
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list) or not value:
        raise BadInput("`layers` must be a list of layers or a compact string such as "
                       "\"1x32x32 | conv 6 5 | maxpool 2 | fc 10\"", field=path)
    specs = []
    for i, item in enumerate(value):
        item_path = f"{path}.{i}"
        if isinstance(item, str):
            if "|" in item:
                raise BadInput(f"layer {i + 1}: one layer per list item (found `|`)", field=item_path)
            specs.append(parse_segment(item, i + 1, item_path))
        elif isinstance(item, dict):
            specs.append(parse_mapping(item, i + 1, item_path))
        else:
            raise BadInput(f"layer {i + 1} must be a mapping with `type` or a string like 'conv 6 5'",
                           field=item_path)
    return None, specs
