"""Shape mistakes of `conv-shape` and `network`: the output-size formula with one slip.

conv-shape is recomputed with the kind's own reading of the input (layout, per-dimension
settings, unknowns and their search ranges) and a formula variant; network by its own solve
on a layer list with the slip written in (padding 0 or halved, dilation 1, ceil mode flipped).
"""

from __future__ import annotations

from . import Coincidence, Mistake

_SHAPE_FIELDS = r"^(output|kernel|stride|padding|dilation|output_padding|input)(\[\d+\])?$"
_NETWORK_SHAPES = r"^layers(\[\d+\])?(\.output)?$"


def _forward(variant: str, op: str, s, ceil_mode: bool) -> int | None:
    """One dimension's output size as the mistaken student computes it."""
    if s.padding == "same":
        return None
    padding = 0 if s.padding == "valid" else s.dilation * (s.kernel - 1) if s.padding == "full" else s.padding
    factor = {"padding-ignored": 0, "padding-once": 1}.get(variant, 2)
    dilation = 1 if variant == "dilation-ignored" else s.dilation
    plus = 0 if variant == "missing-plus-one" else 1
    if op == "transposed-conv" and variant != "conv-formula-for-transposed":
        return (s.size - 1) * s.stride - factor * padding + dilation * (s.kernel - 1) + s.output_padding + plus
    span = s.size + factor * padding - dilation * (s.kernel - 1) - 1
    if span < 0:
        return None
    if variant == "floor-for-ceil" and not (op == "pool" and ceil_mode):
        return None
    if variant == "ceil-for-floor":
        if op == "pool" and ceil_mode:
            return None
        return -(-span // s.stride) + plus
    if op == "pool" and ceil_mode and variant != "floor-for-ceil":
        return -(-span // s.stride) + plus
    return span // s.stride + plus


def _conv_shape(variant: str):
    def recompute(result) -> dict | None:
        from ...kinds.conv import conv_shape as kind

        model = kind.ConvShapeInput.model_validate({k: v for k, v in result.given.items() if v is not None})
        layout = kind.split_input(model)
        settings = kind._settings(model, layout)
        unknowns = kind._collect_unknowns(model, layout)
        if variant == "conv-formula-for-transposed" and model.op != "transposed-conv":
            return None
        if not unknowns:
            sizes = [_forward(variant, model.op, s, model.ceil_mode) for s in settings]
            if any(size is None for size in sizes):
                return None
            right = result.solution.answers.get("output", [])
            channels = right[:len(right) - len(sizes)] if isinstance(right, list) else []
            return {"output": list(channels) + sizes}
        wanted, _ = kind._wanted_sizes(model, layout)
        answers = {}
        for index, unknown in enumerate(unknowns):
            if len(unknowns) > 1:
                return None  # several unknowns: the slip is not told apart from the search
            found = [value for value in kind._search_range(unknown.field, settings, wanted)
                     if [_forward(variant, model.op, s, model.ceil_mode)
                         for s in kind._assign(settings, [unknown], (value,))] == wanted]
            if not found:
                return None
            answers[unknown.label if unknown.dim is not None else unknown.field] = \
                found[0] if len(found) == 1 else found
        return answers

    return recompute


def _network_layers(result):
    """(input, the layers as a list of mappings) from the network's given."""
    from ...kinds.network._network_grammar import parse_layers

    first, specs = parse_layers(result.given.get("layers"))
    layers = [{"type": spec.type, **spec.fields} for spec in specs]
    return result.given.get("input") or first, layers


def _network_with(change):
    """A network mistake: every layer rewritten by `change(layer) -> layer | None` (None: the
    mistake cannot be written for this network)."""
    def modify(given: dict, result):
        try:
            first, layers = _network_layers(result)
        except Exception:
            return None
        changed = []
        for layer in layers:
            new = change(dict(layer))
            if new is None:
                return None
            changed.append(new)
        if changed == layers:
            return None  # nothing the slip would change
        return {**given, "input": first, "layers": changed}, result.round_intermediate

    return modify


def _set(key, value, types=None):
    def change(layer: dict):
        if key in layer and (types is None or layer["type"] in types):
            layer[key] = value
        return layer
    return change


def _ceil_on(layer: dict):
    if layer["type"] in ("maxpool", "avgpool") and not layer.get("ceil_mode"):
        layer["ceil_mode"] = True
    return layer


def _transposed_as_conv(layer: dict):
    if layer["type"] == "convtranspose":
        layer = {key: value for key, value in layer.items() if key != "output_padding"}
        layer["type"] = "conv"
    return layer


_SPATIAL_TYPES = ("conv", "convtranspose", "depthwise", "pointwise", "maxpool", "avgpool")


def _network_layerwise(adjust=None, narrow=None):
    """A network mistake in the output-size formula that no `given` can express: the network is
    solved one layer at a time by the kind's own solve, and what a layer passes on is what the
    mistaken student computes — its output changed by `adjust(size)`, or the layer solved on an
    input narrowed by `narrow(layer, shape)` (H − P with padding P gives the H + P of a padding
    added once). A layer's MACs and FLOPs scale with its number of outputs; its parameters do
    not depend on them."""
    def recompute(result):
        from ...inputs import parse_shape
        from . import solve_given

        first, layers = _network_layers(result)
        if result.given.get("layout") == "hwc" or any(layer["type"] == "separable" or layer.get("output") is not None
                                                      for layer in layers):
            return None
        shape, rows, changed = first, [], False
        options = {k: v for k, v in result.given.items() if k not in ("input", "layers", "compare", "diagram")}
        for layer in layers:
            solved_on = shape
            if narrow is not None and layer["type"] in _SPATIAL_TYPES:
                dims = parse_shape(shape, name="input")
                narrowed = narrow(layer, dims)
                if narrowed is None:
                    return None
                changed |= narrowed != dims
                solved_on = "x".join(map(str, narrowed))
            answers = solve_given("network", {**options, "input": solved_on, "layers": [layer]},
                                  decimals=result.decimals)
            if answers is None or len(answers["layers"]) != 1:
                return None
            row = dict(answers["layers"][0])
            if adjust is not None and layer["type"] in _SPATIAL_TYPES and len(row["output"]) > 1:
                wrong = [row["output"][0]] + [adjust(size) for size in row["output"][1:]]
                if min(wrong) < 1:
                    return None
                scale = _count(wrong) / _count(row["output"])
                changed |= wrong != row["output"]
                row.update(output=wrong, macs=row["macs"] * scale, flops=row["flops"] * scale)
                row = {k: (int(v) if isinstance(v, float) and v.is_integer() else v) for k, v in row.items()}
            rows.append(row)
            shape = "x".join(map(str, row["output"]))
        if not changed:
            return None
        totals = {name: sum(r[name] for r in rows) for name in ("params", "weights", "biases", "macs", "flops")}
        return {"layers": rows, "totals": totals}

    return recompute


def _padding_once_input(layer: dict, dims: list):
    """The input on which the right formula gives the output of a padding added once."""
    padding = layer.get("padding", 0)
    if padding in (0, "valid") or len(dims) < 2:
        return dims
    if layer["type"] == "convtranspose" or not (isinstance(padding, int) or (
            isinstance(padding, list) and all(isinstance(p, int) for p in padding))):
        return None  # `same`, `full`, or a transposed convolution: not this slip's formula
    spatial = dims[1:]
    pads = padding if isinstance(padding, list) else [padding] * len(spatial)
    if len(pads) != len(spatial) or any(size - p < 1 for size, p in zip(spatial, pads)):
        return None
    return [dims[0]] + [size - p for size, p in zip(spatial, pads)]


def _count(shape) -> int:
    total = 1
    for size in shape:
        total *= size
    return total


def _conv_example(**given):
    return {"kind": "conv-shape", "given": given, "field": "output"}


MISTAKES = [
    Mistake("padding-ignored", ("conv-shape",), "The padding was left out of the output-size formula.",
            _SHAPE_FIELDS, recompute=_conv_shape("padding-ignored"),
            example=_conv_example(input="3x32x32", kernel=5, padding=2, filters=6)),
    Mistake("padding-once", ("conv-shape",), "The padding was added once (H + P) instead of on both "
            "sides (H + 2P).", _SHAPE_FIELDS, recompute=_conv_shape("padding-once"),
            example=_conv_example(input="3x32x32", kernel=5, padding=2, filters=6)),
    Mistake("missing-plus-one", ("conv-shape",), "The + 1 of the output-size formula was forgotten "
            "(it counts the first window).", _SHAPE_FIELDS, recompute=_conv_shape("missing-plus-one"),
            example=_conv_example(input="1x28x28", kernel=3, stride=2, filters=4)),
    Mistake("ceil-for-floor", ("conv-shape",), "The division was rounded up where the formula rounds "
            "down (a partial window counted).", _SHAPE_FIELDS, recompute=_conv_shape("ceil-for-floor"),
            example=_conv_example(input="1x28x28", kernel=3, stride=2, filters=4)),
    Mistake("floor-for-ceil", ("conv-shape",), "The division was rounded down although ceil mode "
            "rounds up.", _SHAPE_FIELDS, recompute=_conv_shape("floor-for-ceil"),
            example=_conv_example(input="16x7x7", kernel=2, stride=2, op="pool", ceil_mode=True)),
    Mistake("dilation-ignored", ("conv-shape",), "The dilation was ignored: the kernel was taken as "
            "K wide instead of D·(K − 1) + 1.", _SHAPE_FIELDS, recompute=_conv_shape("dilation-ignored"),
            example=_conv_example(input="1x32x32", kernel=3, dilation=2, filters=8)),
    Mistake("conv-formula-for-transposed", ("conv-shape",), "The ordinary convolution formula was "
            "used for a transposed convolution.", _SHAPE_FIELDS,
            recompute=_conv_shape("conv-formula-for-transposed"),
            example=_conv_example(input="16x8x8", kernel=4, stride=2, padding=1, op="transposed-conv", filters=8)),
    Mistake("padding-ignored", ("network",), "The padding was left out of the output-size formula.",
            _NETWORK_SHAPES + r"|^totals\.(macs|flops)$|^layers\[\d+\]\.(macs|flops|rf)$|^layers\[\d+\]\.params$",
            modify=_network_with(_set("padding", 0)),
            example={"kind": "network", "given": {"input": "3x32x32", "layers": "conv 8 3 padding=1 | fc 10"},
                     "field": "layers[1].output"}),
    Mistake("padding-once", ("network",), "The padding was added once (H + P) instead of on both "
            "sides (H + 2P).", _NETWORK_SHAPES + r"|^totals\.(macs|flops|params|weights)$|^layers\[\d+\]\.\w+$",
            recompute=_network_layerwise(narrow=_padding_once_input),
            example={"kind": "network", "given": {"input": "3x32x32", "layers": "conv 8 5 padding=1 | fc 10"},
                     "field": "layers[1].output"}),
    Mistake("missing-plus-one", ("network",), "The + 1 of the output-size formula was forgotten (it "
            "counts the first window).", _NETWORK_SHAPES + r"|^totals\.\w+$|^layers\[\d+\]\.\w+$",
            recompute=_network_layerwise(lambda size: size - 1),
            example={"kind": "network", "given": {"input": "1x28x28", "layers": "conv 4 3 stride=2 | fc 10"},
                     "field": "layers[1].output"}),
    Mistake("dilation-ignored", ("network",), "The dilation was ignored: the kernel was taken as K wide "
            "instead of D·(K − 1) + 1.", _NETWORK_SHAPES + r"|^totals\.(macs|flops|params|weights)$|^layers\[\d+\]\.\w+$",
            modify=_network_with(_set("dilation", 1)),
            example={"kind": "network", "given": {"input": "1x32x32", "layers": "conv 8 3 dilation=2 | fc 10"},
                     "field": "layers[1].output"}),
    Mistake("conv-formula-for-transposed", ("network",), "The ordinary convolution formula was used "
            "for a transposed convolution.", _NETWORK_SHAPES + r"|^totals\.\w+$|^layers\[\d+\]\.\w+$",
            modify=_network_with(_transposed_as_conv),
            example={"kind": "network", "given": {"input": "16x8x8",
                                                  "layers": "convtranspose 8 4 stride=2 padding=1 | fc 10"},
                     "field": "layers[1].output"}),
    Mistake("ceil-for-floor", ("network",), "Pooling sizes were rounded up (ceil mode) where the "
            "default rounds down.", _NETWORK_SHAPES + r"|^totals\.\w+$|^layers\[\d+\]\.\w+$",
            modify=_network_with(_ceil_on),
            example={"kind": "network", "given": {"input": "3x7x7", "layers": "maxpool 2 | fc 10"},
                     "field": "layers[1].output"}),
    Mistake("floor-for-ceil", ("network",), "Pooling sizes were rounded down although ceil mode "
            "rounds up.", _NETWORK_SHAPES + r"|^totals\.\w+$|^layers\[\d+\]\.\w+$",
            modify=_network_with(_set("ceil_mode", False)),
            example={"kind": "network", "given": {"input": "3x7x7",
                                                  "layers": [{"type": "maxpool", "kernel": 2, "ceil_mode": True},
                                                             {"type": "fc", "out": 10}]},
                     "field": "layers[1].output"}),
]

COINCIDENCES = [
    Coincidence("conv-shape", ("padding-once", "missing-plus-one"),
                "the padding equals the stride (e.g. both 1): H + P − … and H + 2P − S − … floor alike"),
    Coincidence("conv-shape", ("padding-ignored", "missing-plus-one"), "twice the padding equals the stride"),
]
