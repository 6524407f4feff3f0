"""The layer language of kind `network`: a YAML list of layers or the compact string.

Compact string (SPEC §3/§4): segments joined by `|`; the first may be the input shape.

    1x32x32 | conv 6 5 | maxpool 2 | conv 16 5 s=1 p=0 | fc 120 | fc 84 | fc 10
    12x55x55 | conv n1 F1 -> 6x49x49 | conv 4 3 s=2 p=? -> 4x25x25 | fc 128

A segment is `TYPE [POSITIONAL ...] [key=value ...] [-> OUTPUT]`. Each type takes the
positional numbers listed in `TYPES` (conv: out, kernel; maxpool: kernel; fc: out; …); every
other field is `key=value`. `-> SHAPE` (or `output=SHAPE`) states the layer's output shape, a
constraint that unknowns (`?` or a symbol name) are solved from. A YAML list item is a mapping
with `type` and the same field names, or a compact segment as a string.

Blocks hold layer lists of their own, and nest:

    residual(conv 64 3 p=1 | bn | relu | conv 64 3 p=1 | bn) relu repeat=2
    residual(conv 128 3 s=2 p=1 | bn ; conv 128 1 s=2 | bn)      the part after `;`: the shortcut
    concat(conv 64 1 ; conv 96 1 | conv 128 3 p=1 ; )            `;` between branches, empty = identity

and in YAML `{type: residual, layers: [...], shortcut: [...], activation: relu}`,
`{type: concat, branches: [[...], [...]]}`. `|` and `;` split only outside parentheses.

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
    "fc": LayerType(("out",), ("out", "bias", "axis"), ("out",),
                    "fully connected: out features (axis=last: along the last axis only)"),
    "batchnorm": LayerType((), ("affine",), (), "batch normalisation (γ, β per channel)"),
    "layernorm": LayerType((), ("affine", "axis"), (), "layer normalisation (axis=last: over the last axis)"),
    "dropout": LayerType(("rate",), ("rate",), (), "dropout"),
    "embedding": LayerType(("out",), ("out", "vocab"), ("out", "vocab"), "lookup table: out = dimension"),
    "rnn": LayerType(("out",), _RECURRENT_FIELDS, ("out",), "Elman RNN: out = hidden size"),
    "lstm": LayerType(("out",), _RECURRENT_FIELDS, ("out",), "LSTM: out = hidden size"),
    "gru": LayerType(("out",), _RECURRENT_FIELDS, ("out",), "GRU: out = hidden size"),
    "attention": LayerType(("heads",), ("heads", "out", "bias"), (), "multi-head self-attention"),
    "upsample": LayerType(("scale",), ("scale", "mode"), ("scale",), "upsampling by a scale factor"),
    "maxunpool": LayerType(("kernel",), ("kernel", "stride", "padding"), ("kernel",),
                           "max unpooling (the inverse of a max pool's shape)"),
    "adaptiveavgpool": LayerType(("output_size",), ("output_size",), (),
                                 "adaptive average pooling to output_size (1: global)"),
    "adaptivemaxpool": LayerType(("output_size",), ("output_size",), (),
                                 "adaptive max pooling to output_size (1: global)"),
    "residual": LayerType((), ("activation",), (), "residual block: layers + shortcut (identity), added"),
    "concat": LayerType((), (), (), "parallel branches joined along channels"),
}
ACTIVATIONS = ("relu", "relu6", "tanh", "sigmoid", "gelu", "leaky-relu", "elu", "silu", "softmax")
BLOCK_TYPES = ("residual", "concat")
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
    "gap": "globalavgpool", "global-avg-pool": "globalavgpool", "global-max-pool": "globalmaxpool",
    "adaptiveavgpool2d": "adaptiveavgpool", "adaptive-avg-pool": "adaptiveavgpool",
    "adaptivemaxpool2d": "adaptivemaxpool", "adaptive-max-pool": "adaptivemaxpool",
    "upsampling": "upsample", "interpolate": "upsample", "maxunpool2d": "maxunpool", "unpool": "maxunpool",
    "res": "residual", "residual-block": "residual", "add": "residual",
    "cat": "concat", "branches": "concat", "inception": "concat",
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
COMMON_FIELDS = ("name", "in", "output", "repeat", "frozen")
# Per-type fields besides those of TYPES, shared by several types.
_EXTRA_FIELDS = {"conv": ("padding_mode",), "depthwise": ("padding_mode",), "separable": ("padding_mode",),
                 "avgpool": ("count_include_pad",)}
for _name, _extra in _EXTRA_FIELDS.items():
    TYPES[_name] = LayerType(TYPES[_name].positional, TYPES[_name].fields + _extra, TYPES[_name].required,
                             TYPES[_name].summary)
MAX_REPEAT = 1000
PADDING_MODES = ("zeros", "reflect", "replicate", "circular")
UPSAMPLE_MODES = ("nearest", "linear", "bilinear", "bicubic", "trilinear")

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
    scope: str = ""  # the address of the block branch holding it ("block2.", "block3.branch1.")
    # A block's branches: residual [("", layers), ("shortcut", layers)]; concat [("branch1", …), …].
    # An empty list of layers is the identity.
    branches: list[tuple[str, list["LayerSpec"]]] = field(default_factory=list)

    @property
    def where(self) -> str:
        """How messages name the layer: `layer 3`, or `layer block2.layer1` inside a block."""
        return f"layer {self.index}" if not self.scope else f"layer {self.scope}layer{self.index}"

    @property
    def repeat(self) -> int:
        return self.fields.get("repeat", 1)

    def walk(self):
        """This spec and every spec inside it."""
        yield self
        for _, layers in self.branches:
            for spec in layers:
                yield from spec.walk()

    @property
    def name(self) -> str | None:
        return self.fields.get("name")

    @property
    def output(self) -> list | None:
        return self.fields.get("output")


def all_specs(specs: list[LayerSpec]):
    """Every spec, blocks and what is inside them."""
    for spec in specs:
        yield from spec.walk()


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


def _known_sizes(value, name):
    """A size or one per dimension (7, 7x7, [6, 6]), every one a number."""
    parsed = _spatial(1)(value, name)
    if any(isinstance(v, str) for v in (parsed if isinstance(parsed, list) else [parsed])):
        raise ValueError(f"{name} must be a number or one per dimension (7 or 7x7)")
    return parsed


def _repeat(value, name):
    count = _int_known(1)(value, name)
    if count > MAX_REPEAT:
        raise ValueError(f"{name} may be at most {MAX_REPEAT}, got {count}")
    return count


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


def _choice(words: tuple[str, ...]) -> Callable:
    def parse(value, name):
        text = str(value).strip().lower()
        if text not in words:
            raise ValueError(f"{name} must be one of {', '.join(words)}, got {value!r}{did_you_mean(text, words)}")
        return text
    return parse


def _scale(value, name):
    """An upsampling factor: a positive number (2, 1.5) or one per dimension (2x1)."""
    def one(item):
        try:
            number = float(item)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be a positive number, got {item!r}") from None
        if not 0 < number <= 1000 or number != number:
            raise ValueError(f"{name} must be a positive number up to 1000, got {item!r}")
        return int(number) if number == int(number) else number
    if isinstance(value, (list, tuple)):
        return [one(v) for v in value] or one(None)
    if isinstance(value, str) and re.search(r"\d\s*[x×]\s*\d", value):
        return [one(v) for v in re.split(r"\s*[x×]\s*", value.strip())]
    return one(value)


def _activation(value, name):
    key = str(value).strip().lower().replace("_", "-")
    key = TYPE_ALIASES.get(key, key)
    if key not in ACTIVATIONS:
        raise ValueError(f"{name} must be an activation ({', '.join(ACTIVATIONS)}), got {value!r}"
                         f"{did_you_mean(key, ACTIVATIONS)}")
    return key


FIELD_PARSERS: dict[str, Callable] = {
    "out": _int(1), "in": _int(1), "kernel": _spatial(1), "stride": _spatial(1),
    "padding": _spatial(0, PADDING_WORDS), "dilation": _spatial(1),
    "groups": _int_known(1), "bias": _bool, "output_padding": _spatial(0),
    "ceil_mode": _bool, "affine": _bool, "rate": _rate, "vocab": _int_known(1),
    "num_layers": _int_known(1), "bidirectional": _bool, "bias_style": _bias_style,
    "return_sequences": _bool, "heads": _int_known(1), "name": _name, "output": _output,
    "repeat": _repeat, "frozen": _bool, "padding_mode": _choice(PADDING_MODES),
    "count_include_pad": _bool, "scale": _scale, "mode": _choice(UPSAMPLE_MODES),
    "output_size": _known_sizes, "activation": _activation, "axis": _choice(("all", "last")),
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
_BLOCK_OPEN = re.compile(r"^\s*([A-Za-z][\w\-]*)\s*\(")
MAX_DEPTH = 16  # nesting of blocks


def split_top(text: str, separator: str) -> list[str]:
    """`text` split at `separator` where it is outside every parenthesis."""
    parts, depth, current = [], 0, []
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == separator and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _check_parentheses(text: str, path: str) -> None:
    depth = 0
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            raise BadInput(f"the layer string has a `)` without its `(`: {text.strip()!r}", field=path)
        if depth > MAX_DEPTH:
            raise BadInput(f"blocks may nest at most {MAX_DEPTH} deep", field=path)
    if depth:
        raise BadInput(f"the layer string has a `(` without its `)`: {text.strip()!r}", field=path)


def parse_segment(text: str, index: int, path: str = "layers", scope: str = "") -> LayerSpec:
    """`conv 6 5 s=2 -> 6x14x14` -> LayerSpec; `residual(…) relu` or `concat(… ; …)` -> a block."""
    opening = _BLOCK_OPEN.match(text)
    if opening and canonical_type(opening.group(1), f"layer {index}", path) in BLOCK_TYPES:
        return _parse_block_segment(text, opening, index, path, scope)
    where = f"layer {scope}layer{index} ({text.strip()})" if scope else f"layer {index} ({text.strip()})"
    if "(" in text or ")" in text:
        raise BadInput(f"{where}: parentheses belong only to blocks, as in `residual(conv 64 3 p=1 | bn)` "
                       "or `concat(conv 64 1 ; conv 32 3 p=1)`", field=path)
    body, *rest = _ARROW.split(text.strip())
    if len(rest) > 1:
        raise BadInput(f"{where}: only one `-> OUTPUT` per layer", field=path)
    tokens = body.split()
    if not tokens:
        raise BadInput(f"layer {scope}{index} is empty (two `|` in a row?)", field=path)
    spec = LayerSpec(index, canonical_type(tokens[0], where, path), source=text.strip(), path=path, scope=scope)
    if spec.type in BLOCK_TYPES:
        raise BadInput(f"{where}: a {spec.type} block lists its layers in parentheses: "
                       + ("`residual(conv 64 3 p=1 | bn | relu | conv 64 3 p=1 | bn ; conv 64 1) relu`"
                          if spec.type == "residual" else "`concat(conv 64 1 ; conv 32 1 | conv 64 3 p=1 ; )`"),
                       field=path)
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
    return _normalised(spec)


def _normalised(spec: LayerSpec) -> LayerSpec:
    """An adaptive pool without an output size is a global pool (output size 1)."""
    if spec.type in ("adaptiveavgpool", "adaptivemaxpool") and "output_size" not in spec.fields:
        spec.type = "globalavgpool" if spec.type == "adaptiveavgpool" else "globalmaxpool"
    return spec


def _parse_block_segment(text: str, opening, index: int, path: str, scope: str) -> LayerSpec:
    """`residual(BODY ; SHORTCUT) [relu] [key=value …] [-> OUTPUT]`, `concat(B1 ; B2 ; …) …`."""
    kind = canonical_type(opening.group(1), f"layer {index}", path)
    where = f"layer {scope}layer{index}" if scope else f"layer {index}"
    start = opening.end() - 1
    depth, close = 0, None
    for position in range(start, len(text)):
        depth += {"(": 1, ")": -1}.get(text[position], 0)
        if depth == 0:
            close = position
            break
    if close is None:
        raise BadInput(f"{where}: the {kind} block's `(` has no `)`", field=path)
    inside, after = text[start + 1:close], text[close + 1:]
    spec = LayerSpec(index, kind, source=text.strip(), path=path, scope=scope)
    name = f"block{index}"
    body, *rest = _ARROW.split(after.strip()) if after.strip() else ("", )
    if len(rest) > 1:
        raise BadInput(f"{where}: only one `-> OUTPUT` per block", field=path)
    for token in body.split():
        key, equals, value = token.partition("=")
        if not equals and kind == "residual" and "activation" not in spec.fields:
            key, value = "activation", token
        elif not equals or not key or not value:
            raise BadInput(f"{where}: after a {kind} block's `)` come only key=value fields"
                           + (" and an activation (`) relu`)" if kind == "residual" else "")
                           + f", not {token!r}", field=path)
        _set_field(spec, key.strip().lower(), value.strip(), where, path)
    if rest:
        if not rest[0].strip():
            raise BadInput(f"{where}: `->` must be followed by the output shape", field=path)
        _set_field(spec, "output", rest[0].strip(), where, path)
    inner_scope = f"{scope}{spec.name or name}."
    parts = split_top(inside, ";")
    if kind == "residual":
        if len(parts) > 2:
            raise BadInput(f"{where}: a residual block has its layers and at most one shortcut: "
                           "`residual(LAYERS ; SHORTCUT)`", field=path)
        layers = _parse_chain(parts[0], path, inner_scope, where)
        if not layers:
            raise BadInput(f"{where}: a residual block needs layers before the `;`", field=path)
        spec.branches = [("", layers)]
        if len(parts) == 2:
            spec.branches.append(("shortcut", _parse_chain(parts[1], path, inner_scope + "shortcut.", where)))
    else:
        if len(parts) < 2:
            raise BadInput(f"{where}: a concat block joins two or more branches separated by `;` "
                           "(an empty branch is the identity)", field=path)
        spec.branches = [(f"branch{i}", _parse_chain(part, path, f"{inner_scope}branch{i}.", where))
                         for i, part in enumerate(parts, 1)]
    _propagate_frozen(spec)
    return spec


def _parse_chain(text: str, path: str, scope: str, where: str) -> list[LayerSpec]:
    """The `|`-separated layers of one branch; blank is the identity."""
    if not text.strip():
        return []
    segments = split_top(text, "|")
    if any(not s.strip() for s in segments):
        raise BadInput(f"{where}: a layer in the block is empty (two `|` in a row?)", field=path)
    return [parse_segment(s, i, path, scope) for i, s in enumerate(segments, 1)]


def _propagate_frozen(spec: LayerSpec) -> None:
    """`frozen: true` on a block freezes everything inside it."""
    if spec.fields.get("frozen"):
        for inner in spec.walk():
            inner.fields["frozen"] = True


def _positional_field(layer_type: str, positional: tuple, count: int, tokens: list[str]) -> str:
    """Which field the count-th bare number fills. A depthwise layer with a single number reads
    it as the kernel (its out defaults to the input channels)."""
    bare = [t for t in tokens[1:] if "=" not in t]
    if layer_type == "depthwise" and len(bare) == 1:
        return "kernel"
    return positional[count]


def parse_mapping(item: dict, index: int, path: str, scope: str = "") -> LayerSpec:
    where = f"layer {scope}layer{index}" if scope else f"layer {index}"
    if "type" not in item:
        raise BadInput(f"{where} needs a `type` (one of {', '.join(TYPES)})", field=path)
    spec = LayerSpec(index, canonical_type(item["type"], where, f"{path}.type"), path=path, scope=scope)
    where = f"{where} ({spec.type})"
    inner = {}
    for key, value in item.items():
        if key == "type":
            continue
        if spec.type in BLOCK_TYPES and str(key).strip().lower() in _BLOCK_KEYS[spec.type]:
            inner[str(key).strip().lower()] = value
            continue
        _set_field(spec, str(key).strip().lower(), value, where, path)
    if spec.type in BLOCK_TYPES:
        _block_branches(spec, inner, where, path)
    spec.source = describe(spec)
    _check_required(spec, where, path)
    return _normalised(spec)


_BLOCK_KEYS = {"residual": ("layers", "shortcut"), "concat": ("branches",)}


def _block_branches(spec: LayerSpec, inner: dict, where: str, path: str) -> None:
    scope = f"{spec.scope}{spec.name or f'block{spec.index}'}."
    if spec.type == "residual":
        if "layers" not in inner:
            raise BadInput(f"{where} needs `layers` (the block's layers; the shortcut is the identity "
                           "unless `shortcut` is given)", field=path)
        layers = _parse_list(inner["layers"], f"{path}.layers", scope, where)
        if not layers:
            raise BadInput(f"{where}: `layers` is empty", field=f"{path}.layers")
        spec.branches = [("", layers)]
        if inner.get("shortcut") is not None:
            spec.branches.append(("shortcut", _parse_list(inner["shortcut"], f"{path}.shortcut",
                                                          scope + "shortcut.", where)))
    else:
        branches = inner.get("branches")
        if not isinstance(branches, list) or len(branches) < 2:
            raise BadInput(f"{where} needs `branches`: a list of two or more layer lists (an empty list "
                           "[] is the identity)", field=f"{path}.branches")
        spec.branches = [(f"branch{i}", _parse_list(branch, f"{path}.branches.{i - 1}",
                                                    f"{scope}branch{i}.", where))
                         for i, branch in enumerate(branches, 1)]
    _propagate_frozen(spec)


def _parse_list(value: Any, path: str, scope: str, where: str) -> list[LayerSpec]:
    """A block's layer list: a YAML list (items mappings or segments), a compact string, or empty."""
    if value is None or value == [] or (isinstance(value, str) and not value.strip()):
        return []
    if len(scope.split(".")) > MAX_DEPTH:
        raise BadInput(f"blocks may nest at most {MAX_DEPTH} deep", field=path)
    if isinstance(value, str):
        _check_parentheses(value, path)
        return _parse_chain(value, path, scope, where)
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        raise BadInput(f"{where}: a branch is a list of layers or a compact string", field=path)
    return _parse_items(value, path, scope)


def _parse_items(value: list, path: str, scope: str = "") -> list[LayerSpec]:
    specs = []
    for i, item in enumerate(value):
        item_path = f"{path}.{i}"
        where = f"layer {scope}layer{i + 1}" if scope else f"layer {i + 1}"
        if isinstance(item, str):
            _check_parentheses(item, item_path)
            if len(split_top(item, "|")) > 1:
                raise BadInput(f"{where}: one layer per list item (found `|`)", field=item_path)
            specs.append(parse_segment(item, i + 1, item_path, scope))
        elif isinstance(item, dict):
            specs.append(parse_mapping(item, i + 1, item_path, scope))
        else:
            raise BadInput(f"{where} must be a mapping with `type` or a string like 'conv 6 5'",
                           field=item_path)
    return specs


def describe(spec: LayerSpec) -> str:
    """A layer in compact spelling, for messages and headings."""
    positional = TYPES[spec.type].positional
    words = [spec.type] + [str(_show(spec.fields[p])) for p in positional if p in spec.fields]
    if spec.branches:
        inside = " ; ".join(" | ".join(describe(inner) for inner in layers) for _, layers in spec.branches)
        words = [f"{spec.type}({inside})"]
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
    word = text.strip().lower().replace("_", "-")
    if word in TYPES or word in TYPE_ALIASES:
        return False  # `softmax`, `relu6` read as a type, not as sizes split at their x
    first = re.split(r"\s*[x×,*]\s*", text.strip())[0].lower().replace("_", "-")
    return first not in TYPES and first not in TYPE_ALIASES and " " not in text.strip()


def parse_layers(value: Any, path: str = "layers") -> tuple[Any, list[LayerSpec]]:
    """(input shape written as the string's first segment or None, the layers)."""
    if isinstance(value, str):
        _check_parentheses(value, path)
        segments = split_top(value, "|")
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
    return None, _parse_items(value, path)
