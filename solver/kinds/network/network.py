"""Kind `network`: a layer-by-layer analysis of a network written as a YAML layer list or a
compact string — output shapes, weights, biases, parameters, MACs, FLOPs and receptive fields,
each from its formula; unknown fields solved from stated shapes; a second network compared.

    dlsolve network "1x32x32 | conv 6 5 | maxpool 2 | conv 16 5 | maxpool 2 | fc 120 | fc 84 | fc 10"

Residual and concat blocks (nested, repeated) make it a graph: rows come in order with dotted
names (block2.conv1, block2.add). The grammar is in _network_grammar, shapes in _network_shapes,
the worked arithmetic in _network_layers, unknowns and blocks in _network_plan, receptive fields
in _network_rf, the peer tools' FLOP counts in _network_conventions, the figure in
_network_diagram.
"""

from __future__ import annotations

from fractions import Fraction
from functools import partial
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from ...context import Context
from ...errors import BadInput
from ...formula import Sym
from ...inputs import KindInput, figure_file_name, parse_shape
from ...registry import register
from ...steps import Formula, Solution, Table
from ._network_grammar import LayerSpec, all_specs, parse_layers
from ._network_layers import Analyst, Options, Row
from ._network_plan import Planner
from ._network_shapes import CONV_TYPES, POOL_TYPES, LayerError, Shape, interpret_input

_FLOPS_WORDS = {"2mac": "2mac", "2macs": "2mac", "2*mac": "2mac", "2·mac": "2mac", "flop": "2mac",
                "flops": "2mac", "mac": "mac", "macs": "mac"}
_TOTALS = ("params", "weights", "biases", "macs", "flops", "trainable", "buffers")
DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8}
_DTYPE_WORDS = {"fp32": "float32", "float": "float32", "single": "float32", "fp16": "float16", "half": "float16",
                "bf16": "bfloat16", "fp64": "float64", "double": "float64"}


class NetworkInput(KindInput):
    input: Any = Field(None, description="input shape without the batch (3x32x32, 784, T×F); or the "
                                         "first segment of the layer string")
    layers: Any = Field(..., description="a list of {type, out, kernel, stride, padding, …} or the "
                                         "compact string 'conv 6 5 | maxpool 2 | fc 10'")
    flops: str = Field("2mac", description="2mac: FLOPs = 2·MACs; mac: count MACs")
    bias_flops: bool = Field(False, description="count one FLOP per bias add")
    bias_style: Literal["pytorch", "single"] = Field(
        "pytorch", description="recurrent biases: pytorch (b_ih and b_hh) or single")
    compare: Any = Field(None, description="a second layer list (or string) on the same input")
    layout: Literal["chw", "hwc"] = Field("chw", description="hwc reads and writes maps as H×W×C")
    diagram: Any = Field(None, description="a .svg/.png file to draw the architecture in (true: "
                                           "only in the Markdown key)")
    flops_convention: Any = Field(None, description="count FLOPs as a peer tool reports them: pytorch "
                                                    "(torch.utils.flop_counter), fvcore, ptflops, thop, torchinfo")
    dtype: str = Field("float32", description="the element type of the activations: float32 (4 bytes), "
                                              "float16 or bfloat16 (2), float64 (8)")

    @field_validator("flops_convention")
    @classmethod
    def _convention(cls, value):
        if value is None:
            return None
        key = str(value).strip().lower().replace("torch.utils.flop_counter", "pytorch").replace("torch", "pytorch")
        key = {"pypytorch": "pytorch", "flop_counter": "pytorch", "pytorchinfo": "torchinfo"}.get(key, key)
        if key not in ("pytorch", "fvcore", "ptflops", "thop", "torchinfo"):
            raise ValueError("flops_convention must be one of pytorch, fvcore, ptflops, thop, torchinfo")
        return key

    @field_validator("dtype")
    @classmethod
    def _dtype(cls, value):
        key = str(value).strip().lower()
        key = _DTYPE_WORDS.get(key, key)
        if key not in DTYPE_BYTES:
            raise ValueError(f"dtype must be one of {', '.join(DTYPE_BYTES)}, got {value!r}")
        return key

    @field_validator("input")
    @classmethod
    def _input(cls, value):
        return None if value is None else _numeric_shape(value, "input")

    @field_validator("layers", "compare")
    @classmethod
    def _layers(cls, value, info):
        if value is None and info.field_name == "compare":
            return None
        if not isinstance(value, (str, list, dict)):
            raise ValueError("give a list of layers or a compact string such as 'conv 6 5 | fc 10'")
        return value

    @field_validator("flops")
    @classmethod
    def _flops(cls, value):
        key = str(value).strip().lower().replace(" ", "")
        if key not in _FLOPS_WORDS:
            raise ValueError("flops must be 2mac (FLOPs = 2·MACs) or mac (count MACs)")
        return _FLOPS_WORDS[key]

    @field_validator("diagram")
    @classmethod
    def _diagram(cls, value):
        if value is None or isinstance(value, bool):
            return value
        return figure_file_name(value, (".svg", ".png", ".pdf"), name="diagram")


def _numeric_shape(value, name: str) -> list[int]:
    shape = parse_shape(value, name=name)
    if any(isinstance(v, str) for v in shape):
        raise ValueError(f"the {name} sizes must be numbers (unknowns go in layer fields)")
    return shape


# --- the pieces --------------------------------------------------------------------------------


def _read_network(value, field: str, given_input: list | None) -> tuple[list[int], list[LayerSpec]]:
    """The input sizes and layers, from a layer list or a compact string with the input first."""
    text_input, specs = parse_layers(value, field)
    if text_input is not None:
        try:
            sizes = _numeric_shape(text_input, "input")
        except ValueError as exc:
            raise BadInput(str(exc), field=field) from None
        if given_input is not None and sizes != given_input:
            raise BadInput(f"the layer string starts with the input {text_input}, but `input` is "
                           f"{'×'.join(map(str, given_input))}", field=field)
        return sizes, specs
    if given_input is None:
        raise BadInput("give the input shape: `input: 3x32x32`, or start the layer string with it "
                       "(\"3x32x32 | conv 6 5 | …\")", field="input")
    return given_input, specs


def _input_shape(sizes: list[int], specs: list[LayerSpec], layout: str) -> Shape:
    try:
        return interpret_input(sizes, specs, layout)
    except LayerError as error:
        raise BadInput(error.message, field="input") from None


_MAP_TYPES = {"conv", "convtranspose", "depthwise", "pointwise", "separable", "maxpool", "avgpool", "globalavgpool",
              "globalmaxpool", "adaptiveavgpool", "adaptivemaxpool", "upsample", "maxunpool", "batchnorm"}


def _state_conventions(sol: Solution, options: Options, specs: list[LayerSpec], shape: Shape) -> None:
    if options.convention:
        from ._network_conventions import TOOL_NAMES

        sol.convention(f"FLOPs as {TOOL_NAMES[options.convention]} reports them (flops_convention: "
                       f"{options.convention}), each layer read as the PyTorch module of its name, batch 1, "
                       "eval mode; MACs stay one per multiply-accumulate of weighted layers.")
    elif options.flops == "mac":
        sol.convention("FLOPs are counted as MACs (flops: mac), one per multiply-accumulate.")
    else:
        sol.convention("FLOPs = 2·MACs, a multiply and an add each (as torch.utils.flop_counter and fvcore).")
    if not options.convention:
        sol.convention("Bias adds count one FLOP per output value (bias_flops: true)." if options.bias_flops
                       else "Bias adds are not counted (bias_flops: false), as torch.utils.flop_counter and "
                            "fvcore; torchinfo counts them.")
    sol.convention("Only weighted layers have MACs (conv, fc, recurrent, attention); pooling, activations, "
                   "normalisation and embeddings count 0.")
    types = {s.type for s in all_specs(specs)}
    if shape.form == "map" and not types & _MAP_TYPES and types & {"fc", "layernorm"}:
        rows = "×".join(map(str, shape.dims[:-1]))
        sol.convention(f"The {shape.text(options.layout)} input is read whole: fc flattens it and layernorm normalises "
                       f"all {shape.text(options.layout)} values (as Keras's Flatten + Dense). For PyTorch's "
                       f"nn.Linear({shape.dims[-1]}, …) or nn.LayerNorm({shape.dims[-1]}) on each of the {rows} rows, "
                       "write axis=last on the layer.")
    if types & {"conv", "convtranspose", "depthwise", "pointwise", "separable", "maxpool", "avgpool"}:
        sol.convention("Convolution as in deep learning (cross-correlation); output = "
                       "⌊(H + 2P − D(K − 1) − 1)/S⌋ + 1; pooling stride defaults to its kernel; "
                       "padding: same is TF/Keras SAME (⌈H/S⌉).")
        sol.convention("Receptive field: r = r_in + (K − 1)·D·j_in, jump j = j_in·S, start = start_in + "
                       "(D(K − 1)/2 − P)·j_in, from r = 1, j = 1, start = 0 (input pixel centres 0, 1, 2, …).")
    if types & {"rnn", "lstm", "gru"}:
        sol.convention("Recurrent biases: two vectors b_ih and b_hh per gate, as PyTorch (bias_style: pytorch)."
                       if options.bias_style == "pytorch"
                       else "Recurrent biases: one vector per gate, as textbooks and Keras (bias_style: single).")


def _has_field(specs: list[LayerSpec], shape: Shape) -> bool:
    return shape.form == "map" and any(s.type in CONV_TYPES + POOL_TYPES + ("separable",) for s in all_specs(specs))


def _analyse(sol: Solution, specs: list[LayerSpec], shape: Shape, options: Options,
             prefix: str = "") -> list[Row]:
    plan = Planner(specs, shape, options.layout, sol, prefix).run()
    analyst = Analyst(sol, options, _has_field(specs, shape), shape)
    rows = analyst.walk(plan.steps)
    if options.convention:
        from . import _network_conventions as conventions

        sol.note(f"FLOPs per layer as {conventions.TOOL_NAMES[options.convention]} counts them:")
        conventions.apply(sol, rows, options.convention)
    return rows


def _cell(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, list):
        return "×".join(_cell(v) for v in value)
    if isinstance(value, Fraction):
        return f"{float(value):g}"
    return str(value)


def _table_step(sol: Solution, rows: list[Row], shape: Shape, layout: str, title: str) -> None:
    """Two tables, so that each fits a terminal: shapes and parameters; cost and receptive field."""
    columns = ["layer", "type", "output", "filters", "filter", "weights", "biases", "params"]
    table_rows = [["input", "", shape.text(layout)] + [""] * 5]
    for row in rows:
        table_rows.append([row.name, row.type, row.output.text(layout), _cell(row.filters), _cell(row.filter_shape),
                           str(row.weights), str(row.biases), str(row.params)])
    sol.add("Output shapes and parameters per layer.", table=Table(columns, table_rows, title=title))
    has_field = any(row.rf is not None for row in rows)
    columns = ["layer", "MACs", "FLOPs"] + (["rf", "jump", "start"] if has_field else [])
    table_rows = [["input", "", ""] + (["1", "1", "0"] if has_field else [])]
    for row in rows:
        table_rows.append([row.name, str(row.macs), str(row.flops)]
                          + ([_cell(row.rf), _cell(row.jump), _cell(row.start)] if has_field else []))
    sol.add("Cost per layer" + (", and the receptive field of one output value (size, jump and start "
                                "in input pixels)." if has_field else "."),
            table=Table(columns, table_rows, title=f"{title}: cost" + (" and receptive field" if has_field else "")))


def _totals(sol: Solution, rows: list[Row], what: str, dtype: str = "float32") -> dict:
    totals = {}
    labels = {"params": "parameters", "weights": "weights", "biases": "biases", "macs": "MACs", "flops": "FLOPs",
              "trainable": "trainable parameters", "buffers": "buffers (running statistics)"}
    for key in _TOTALS:
        if key == "trainable":
            contributing = [(i, row) for i, row in enumerate(rows) if row.params and not row.frozen]
            value_of = (lambda row: row.params)
            if any(row.frozen and row.params for row in rows):
                sol.note(f"Frozen layers ({', '.join(row.name for row in rows if row.frozen and row.params)}) "
                         "keep their parameters but are not trained.")
        else:
            contributing = [(i, row) for i, row in enumerate(rows) if getattr(row, key)]
            value_of = (lambda row, key=key: getattr(row, key))
        lhs = Sym(f"total_{key}", text=f"total {labels[key]}",
                  latex=rf"\mathrm{{{labels[key].split(' (')[0].replace(' ', '~')}}}_{{\mathrm{{total}}}}")
        if not contributing:
            totals[key] = sol.add(f"Total {labels[key]} of {what}: no layer has any.", value=0)
            continue
        if key == "trainable" and len(contributing) == len([r for r in rows if r.params]):
            totals[key] = sol.add(f"Trainable parameters of {what}: every parameter (no layer is frozen).",
                                  value=totals["params"])
            continue
        totals[key] = sol.add(f"Total {labels[key]} of {what}.", _sum_formula(lhs, contributing, value_of))
    totals["activation_bytes"] = _activation_bytes(sol, rows, what, dtype)
    return totals


def _sum_formula(lhs: Sym, contributing: list, value_of) -> Formula:
    symbols = [Sym(f"x{i}", text=row.name, latex=r"\mathrm{" + _latex_name(row.name) + "}")
               for i, row in contributing]
    expr = symbols[0]
    for symbol in symbols[1:]:
        expr = expr + symbol
    return Formula(lhs, expr, {f"x{i}": value_of(row) for i, row in contributing})


def _activation_bytes(sol: Solution, rows: list[Row], what: str, dtype: str) -> int:
    """Bytes of every row's output for one sample in a forward pass (the input not counted)."""
    count = sol.add(f"Activations of {what}: the values every layer writes (batch 1, the input not counted).",
                    _sum_formula(Sym("activations", latex=r"\mathrm{activations}"), list(enumerate(rows)),
                                 lambda row: row.activations))
    size = Sym("bytes", text=f"bytes({dtype})", latex=rf"\mathrm{{bytes}}_{{\mathrm{{{dtype}}}}}")
    return sol.add(f"Activation memory in {dtype} ({DTYPE_BYTES[dtype]} bytes per value).",
                   Formula(Sym("activation_bytes", latex=r"\mathrm{activation\ bytes}"),
                           size * Sym("A", text="activations", latex=r"\mathrm{activations}"),
                           {"bytes": DTYPE_BYTES[dtype], "A": count}))


def _latex_name(name: str) -> str:
    return name.replace("_", r"\_")


def _rows_answer(rows: list[Row], layout: str) -> list[dict]:
    return [row.as_answer(layout) for row in rows]


def _network_answers(sol: Solution, rows: list[Row], totals: dict, layout: str, prefix: str = "") -> None:
    sol.set_answer(f"{prefix}layers", _rows_answer(rows, layout),
                   rf"\text{{{len(rows)} rows: see the layer table}}")
    sol.set_answer(f"{prefix}totals", totals)


# --- comparison ----------------------------------------------------------------------------------


def _compare(sol: Solution, given: NetworkInput, sizes: list[int], main_rows: list[Row], main_totals: dict,
             options: Options) -> None:
    other_sizes, specs = _read_network(given.compare, "compare", sizes)
    shape = _input_shape(other_sizes, specs, options.layout)
    sol.note("Comparison network, on the same input:")
    rows = _analyse(sol, specs, shape, options, prefix="compare.")
    _table_step(sol, rows, shape, options.layout, "comparison network")
    totals = _totals(sol, rows, "the comparison network", given.dtype)
    _network_answers(sol, rows, totals, options.layout, prefix="compare.")
    ratio = {}
    for key, label in (("flops", "FLOPs"), ("params", "parameters")):
        if main_totals[key] == 0:
            sol.note(f"The main network has no {label}, so there is no {label} ratio.")
            ratio[key] = None
            continue
        lhs = _named(f"ratio_{key}", "ratio", label)
        expr = _named("a", label, "compare") / _named("b", label, "main")
        ratio[key] = sol.add(f"Ratio of {label}, comparison ÷ main.",
                             Formula(lhs, expr, {"a": totals[key], "b": main_totals[key]}))
    sol.set_answer("ratio", ratio)
    _separable_rule(sol, main_rows, rows, ratio, options)


def _named(name: str, base: str, subscript: str) -> Sym:
    """A symbol written base_subscript, in words (FLOPs_compare)."""
    return Sym(name, text=f"{base}_{subscript}", latex=rf"\mathrm{{{base}}}_{{\mathrm{{{subscript}}}}}")


def _separable_rule(sol: Solution, main_rows: list[Row], other_rows: list[Row], ratio: dict,
                    options: Options) -> None:
    """Where one side is a single standard convolution and the other its depthwise-separable
    replacement, derive the general ratio 1/C_out + 1/K² and check it against the counts."""
    pair = _separable_pair(main_rows, other_rows)
    flipped = False
    if pair is None:
        pair = _separable_pair(other_rows, main_rows)
        flipped = True
    if pair is None:
        return
    standard, depthwise, pointwise = pair
    k2 = 1
    for k in depthwise.filter_shape[1:]:
        k2 *= k
    sol.note("General ratio, depthwise-separable ÷ standard, per output position (H_out·W_out cancels): "
             "(C_in·K² + C_in·C_out) / (C_out·C_in·K²) = 1/C_out + 1/K².")
    general = sol.add("The general ratio for these sizes (without biases).",
                      Formula(Sym("rho", text="ratio", latex=r"\rho"),
                              1 / Sym("C_out") + 1 / Sym("K2", text="K²", latex="K^2"),
                              {"C_out": standard.filters, "K2": k2}))
    expected = 1 / general if flipped else general
    exact_flops = not (options.bias_flops and (standard.biases or depthwise.biases or pointwise.biases)) \
        and not options.convention
    if ratio.get("flops") is not None:
        if exact_flops:
            sol.check("the FLOPs ratio equals 1/C_out + 1/K²" + (" (inverted: the separable layer is the "
                      "main network)" if flipped else ""), ratio["flops"] == expected,
                      f"{float(ratio['flops']):.6g} vs {float(expected):.6g}")
        else:
            sol.note("With bias adds counted the FLOPs ratio differs slightly from 1/C_out + 1/K².")
    if standard.biases or depthwise.biases or pointwise.biases:
        sol.note("The parameter ratio includes biases, so it differs slightly from 1/C_out + 1/K².")


def _separable_pair(first: list[Row], second: list[Row]):
    weighted_first = [r for r in first if r.params or r.macs]
    weighted_second = [r for r in second if r.params or r.macs]
    if len(weighted_first) != 1 or len(weighted_second) != 2:
        return None
    standard = weighted_first[0]
    depthwise, pointwise = weighted_second
    if (standard.type != "conv" or depthwise.type != "depthwise" or pointwise.type != "pointwise"
            or standard.filter_shape[1:] != depthwise.filter_shape[1:]
            or depthwise.filters != standard.filter_shape[0] or pointwise.filters != standard.filters
            or standard.output.dims != pointwise.output.dims):
        return None
    return standard, depthwise, pointwise


# --- the diagram ----------------------------------------------------------------------------------


def _diagram(sol: Solution, given: NetworkInput, shape: Shape, rows: list[Row]) -> None:
    from ...steps import Figure
    from ._network_diagram import draw_network

    draw = partial(draw_network, shape=shape, rows=rows, layout=given.layout)
    file = given.diagram if isinstance(given.diagram, str) else None
    suffix = Path(file).suffix.lower() if file else ".png"
    if file:
        sol.note(f"The architecture figure is written to {file} in the figures folder.")
    sol.add("Architecture, with the output shape under each layer.",
            figure=Figure("architecture", "block diagram of the network with each layer's output shape",
                          draw, suffix=suffix if suffix in (".png", ".svg") else ".png", file=file))


# --- entry point -----------------------------------------------------------------------------------


@register(
    "network",
    NetworkInput,
    summary="Per-layer output shapes, weights, biases, parameters, MACs, FLOPs and receptive fields "
            "of a network from a layer list or compact string; unknown fields solved from stated "
            "shapes; two networks compared.",
    answers={"layers": "one row per layer (separable: two; a block's rows with dotted names, then its join) "
                       "{name, type, output, filters, filter_shape, weights, biases, params, macs, flops, rf, "
                       "jump, start, buffers, activations}",
             "totals": "{params, weights, biases, macs, flops, trainable, buffers, activation_bytes}",
             "layer{l}.<field>": "each unknown ('?' or a symbol) of layer l (from 1); a symbol also "
                                 "under its own name",
             "ratio": "{flops, params} of the comparison network ÷ the main one (with `compare`)",
             "compare.layers, compare.totals": "the comparison network's rows and totals"},
    positional="layers",
    example='"1x32x32 | conv 6 5 | maxpool 2 | conv 16 5 | maxpool 2 | fc 120 | fc 84 | fc 10"',
    template={"input": "1x32x32",
              "layers": [{"type": "conv", "out": 6, "kernel": 5}, {"type": "maxpool", "kernel": 2},
                         {"type": "conv", "out": 16, "kernel": 5}, {"type": "maxpool", "kernel": 2},
                         {"type": "fc", "out": 120}, {"type": "fc", "out": 84}, {"type": "fc", "out": 10}]},
)
def solve(given: NetworkInput, ctx: Context) -> Solution:
    sol = Solution()
    if given.flops_convention and (given.flops != "2mac" or given.bias_flops):
        raise BadInput("flops_convention fixes how FLOPs are counted; leave out flops and bias_flops",
                       field="flops_convention")
    options = Options(given.flops, given.bias_flops, given.bias_style, given.layout, given.flops_convention)
    sizes, specs = _read_network(given.layers, "layers", given.input)
    shape = _input_shape(sizes, specs, given.layout)
    _state_conventions(sol, options, specs, shape)
    rows = _analyse(sol, specs, shape, options)
    _table_step(sol, rows, shape, given.layout, "layers")
    if given.flops_convention:
        from ._network_conventions import tables

        for part in tables(given.flops_convention):
            sol.add("Why the tools disagree: what each convention counts and omits.", table=part)
    totals = _totals(sol, rows, "the network", given.dtype)
    _network_answers(sol, rows, totals, given.layout)
    if given.compare is not None:
        _compare(sol, given, sizes, rows, totals, options)
    if given.diagram:
        _diagram(sol, given, shape, rows)
    return sol
