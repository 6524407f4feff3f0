"""Layer arithmetic with worked steps: output sizes, weights, biases, parameters, MACs and
FLOPs of each layer, every number computed from the formula shown for it.

Conventions (stated in the output by network.py):
  - MACs count the multiply-accumulates of weighted layers only (convolutions, fully connected,
    recurrent, attention); pooling, activations, normalisation and embeddings count 0, as in
    torch.utils.flop_counter.
  - FLOPs = 2·MACs by default (`flops: mac` counts one per MAC); a bias add is one FLOP per
    output value only with `bias_flops: true`.
  - Batch-norm running statistics are buffers, not parameters (as `model.parameters()`).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from math import prod

from ...formula import Expr, Num, Sym
from ...steps import Formula, Solution
from ..conv import _conv_arith as arith
from . import _network_rf as rf
from ._network_shapes import (ADAPTIVE_POOLS, GLOBAL_POOLS, POOL_TYPES, RECURRENT_GATES, Layer, Shape,
                              along_last_axis, numeric_padding, per_dim, windows)

C_IN, C_OUT, G = Sym("C_in"), Sym("C_out"), Sym("g")
F_IN, F_OUT, T = Sym("F_in"), Sym("F_out"), Sym("T")
W_SYM = Sym("W")
B_SYM = Sym("b")
PARAMS = Sym("params", latex=r"\mathrm{params}")
MACS = Sym("MACs", latex=r"\mathrm{MACs}")
FLOPS = Sym("FLOPs", latex=r"\mathrm{FLOPs}")
TWO = Sym("two", text="2", latex="2")  # a bound symbol, so it reads 2·MACs, not 2MACs
BIAS_ADDS = Sym("B", text="bias_adds", latex=r"\mathrm{bias\ adds}")
GATE_NAMES = {"rnn": "1 (the cell itself)", "lstm": "4 (i, f, g, o)", "gru": "3 (r, z, n)"}


@dataclass
class Options:
    flops: str = "2mac"  # or "mac"
    bias_flops: bool = False
    bias_style: str = "pytorch"
    layout: str = "chw"
    convention: str | None = None  # a peer tool's FLOP count (_network_conventions), set after the walk


@dataclass
class Row:
    """One row of the layer table (a separable layer gives two)."""

    index: int  # the user's layer number
    name: str
    type: str
    output: Shape
    filters: int | None = None
    filter_shape: list | None = None
    weights: int = 0
    biases: int = 0
    params: int = 0
    macs: int = 0
    bias_adds: int = 0
    flops: int = 0
    rf: object = None
    jump: object = None
    start: object = None
    buffers: int = 0  # running statistics: state, not parameters
    activations: int = 0  # values in the output (batch 1)
    frozen: bool = False
    detail: str = ""  # a few words for the architecture figure (conv: "6@5×5")
    block: str = ""  # the block and branch holding the row ("block2", "block2.shortcut")
    # The enclosing blocks, outermost first, as (block name, branch label): the label is "layers",
    # "shortcut" or "branchN" inside a branch, "join" for the join row and the activation after it.
    lane: tuple = ()
    joins: tuple = ()  # a join row: the labels of the branches it joins (empty ones too)
    layer: object = None  # the concrete Layer and its input shape, for the peer FLOP conventions
    input: object = None

    def as_answer(self, layout: str) -> dict:
        return {"name": self.name, "type": self.type, "output": self.output.shown(layout),
                "filters": self.filters, "filter_shape": self.filter_shape, "weights": self.weights,
                "biases": self.biases, "params": self.params, "macs": self.macs, "flops": self.flops,
                "rf": self.rf, "jump": self.jump, "start": self.start, "buffers": self.buffers,
                "activations": self.activations}


def _int(value):
    """Formula values of integer quantities come back as Fractions when a division is written."""
    if isinstance(value, Fraction):
        assert value.denominator == 1, value
        return value.numerator
    return value


def _product(symbols: list[Expr]) -> Expr:
    expr = symbols[0]
    for symbol in symbols[1:]:
        expr = expr * symbol
    return expr


def _kernel_expr(kernels: list[int], labels: list[str]) -> tuple[Expr, dict]:
    """K² for a square 2-D kernel (K³, K), else K_h·K_w with one symbol per dimension."""
    if len(set(kernels)) == 1:
        k = Sym("K")
        return (k if len(kernels) == 1 else k ** len(kernels)), {"K": kernels[0]}
    symbols = [Sym(f"K_{label.lower()}") for label in labels]
    return _product(symbols), {s.name: v for s, v in zip(symbols, kernels)}


def _size_factors(sizes: list[int], labels: list[str], suffix: str) -> tuple[list[Expr], dict]:
    symbols = [Sym(f"{label}{suffix}") for label in labels]
    return symbols, {s.name: v for s, v in zip(symbols, sizes)}


class Analyst:
    """Walks the concrete layers, adding each one's steps and returning the table rows."""

    def __init__(self, sol: Solution, options: Options, track_field: bool, shape: Shape):
        self.sol = sol
        self.options = options
        is_map = shape.form == "map"
        self.field = rf.FieldState.of_input(shape.labels) if track_field and is_map else None
        # The spatial sizes of the last map: what an fc layer or a global pool sees whole.
        self.extent: list[int] | None = list(shape.spatial) if is_map else None

    # --- shared steps ------------------------------------------------------------------------

    def add(self, layer: Layer, text: str, formula: Formula):
        return self.sol.add(f"{layer.name}: {text}", formula)

    def note(self, layer: Layer, text: str) -> None:
        self.sol.note(f"{layer.name}: {text}")

    def params(self, layer: Layer, weights_expr: Expr, bias_expr: Expr, bindings: dict,
               weights_text: str, biases_text: str) -> tuple[int, int, int]:
        """Weights, biases (when the layer has them) and their sum, each from its formula."""
        weights = _int(self.add(layer, weights_text, Formula(W_SYM, weights_expr, bindings)))
        if layer.get("bias") is False:
            self.note(layer, "no biases (bias: false).")
            return weights, 0, weights
        biases = _int(self.add(layer, biases_text, Formula(B_SYM, bias_expr, bindings)))
        params = self.add(layer, "parameters = weights + biases.",
                          Formula(PARAMS, W_SYM + B_SYM, {"W": weights, "b": biases}))
        return weights, biases, params

    def flops(self, layer: Layer, macs: int, bias_adds: int) -> int:
        if self.options.convention:
            return 0  # the tool's own count replaces it after the walk
        counted_adds = bias_adds if self.options.bias_flops else 0
        if macs == 0 and counted_adds == 0:
            return 0
        bindings = {"MACs": macs, "B": counted_adds, "two": 2}
        if self.options.flops == "mac":
            if not counted_adds:
                self.note(layer, f"FLOPs counted as MACs (flops: mac): {macs}.")
                return macs
            return self.add(layer, "FLOPs counted as MACs, plus one per bias add.",
                            Formula(FLOPS, MACS + BIAS_ADDS, bindings))
        if counted_adds:
            return self.add(layer, "FLOPs = 2·MACs (a multiply and an add each) plus one per bias add.",
                            Formula(FLOPS, TWO * MACS + BIAS_ADDS, bindings))
        return self.add(layer, "FLOPs = 2·MACs (a multiply and an add each).", Formula(FLOPS, TWO * MACS, bindings))

    def row(self, layer: Layer, output: Shape, **values) -> Row:
        row = Row(layer.spec.index, layer.name, layer.type, output, activations=prod(output.dims),
                  frozen=bool(layer.get("frozen")), **values)
        if self.field is not None:
            row.rf, row.jump, row.start = self.field.values()
        return row

    # --- blocks ------------------------------------------------------------------------------------

    def walk(self, steps: list, block: str = "", lane: tuple = ()) -> list[Row]:
        """Rows of a plan's steps in order; a block's branches each start from the block's input
        (receptive field included) and meet at its join row."""
        rows = []
        for step in steps:
            if not hasattr(step, "branches"):
                row = self.analyse(step.layer, step.input, step.output)
                row.block, row.layer, row.input, row.lane = block, step.layer, step.input, lane
                rows.append(row)
                continue
            start = (self.field, self.extent)
            ends = []
            for label, branch in step.branches:
                self.field, self.extent = start
                rows += self.walk(branch, f"{step.name}.{label}" if label else step.name,
                                  lane + ((step.name, label or "layers"),))
                ends.append((label, self.field, branch[-1].layer.name if branch else None))
            self.field, self.extent = start
            self._join_field(step, ends)
            joined = lane + ((step.name, "join"),)
            rows.append(self._join(step))
            rows[-1].block, rows[-1].layer, rows[-1].input, rows[-1].lane = step.name, step.join.layer, step.input, joined
            rows[-1].joins = tuple(label or "layers" for label, _ in step.branches)
            if step.after is not None:
                rows.append(self.analyse(step.after.layer, step.after.input, step.after.output))
                rows[-1].block, rows[-1].layer, rows[-1].input = step.name, step.after.layer, step.after.input
                rows[-1].lane = joined
        return rows

    def _join_field(self, step, ends: list) -> None:
        if self.field is None or any(state is None for _, state, _ in ends):
            if self.field is not None:
                self.note(step.join.layer, "a branch without a tracked receptive field: none from here on.")
            self.field = None
            return
        states = [state for _, state, _ in ends]
        if all(state.values() == states[0].values() for state in states):
            self.field = states[0]
            return
        self.field = rf.join(self.sol, step.join.layer.name, states)

    def _join(self, step) -> Row:
        layer, layout = step.join.layer, self.options.layout
        inputs = [(label, branch[-1].output if branch else step.input) for label, branch in step.branches]
        if len(inputs) == 1:
            inputs.append(("shortcut", step.input))
        words = {"": "the layers", "shortcut": "the shortcut"}
        if layer.type == "add":
            shortcut = "the shortcut" if step.branches[-1][1] and len(step.branches) > 1 else "the identity (the block input)"
            self.note(layer, f"{words['']} give {inputs[0][1].text(layout)} and {shortcut} "
                             f"{inputs[1][1].text(layout)}: added value by value, {step.join.output.text(layout)}; "
                             "no parameters.")
        else:
            symbols = [Sym(f"C{i}", text=f"C_{label}") for i, (label, _) in enumerate(inputs, 1)]
            bindings = {f"C{i}": (shape.dims[-1] if shape.form == "sequence" else shape.dims[0])
                        for i, (_, shape) in enumerate(inputs, 1)}
            what = "features" if step.join.output.form != "map" else "channels"
            self.add(layer, f"the branches are stacked along {what} (every other size agrees): "
                            f"{step.join.output.text(layout)}.",
                     Formula(Sym("C_out"), _sum(symbols), bindings))
        if step.join.output.form == "map":
            self.extent = list(step.join.output.spatial)
        return self.row(layer, step.join.output)

    # --- spatial sizes -------------------------------------------------------------------------

    def sizes(self, layer: Layer, shape: Shape) -> list[int]:
        """Each output size from its formula; one formula when every dimension is alike."""
        wins = windows(layer, shape)
        labels = shape.labels
        alike = len(set(wins)) == 1 and len(wins) > 1
        dims = [0] if alike else range(len(wins))
        sizes = [0] * len(wins)
        for dim in dims:
            size = self._size_step(layer, wins[dim], labels[dim],
                                   f" (the same for {', '.join(labels[1:])})" if alike else "")
            for target in (range(len(wins)) if alike else [dim]):
                sizes[target] = size
        return sizes

    def _size_step(self, layer: Layer, window: tuple, label: str, same_note: str) -> int:
        size, kernel, stride, padding, dilation, extra = window
        size_sym, out_sym = arith.size_symbol(label), arith.out_symbol(label)
        bindings = {label: size, "K": kernel, "S": stride, "D": dilation, "A": extra,
                    "P": numeric_padding(padding, size, kernel, stride, dilation)}
        if layer.type == "convtranspose":
            return self.add(layer, f"output {label} of a transposed convolution{same_note}.",
                            Formula(out_sym, arith.transposed_expr(size_sym), bindings))
        if padding == "same":
            left, right = arith.same_padding(size, kernel, stride, dilation)
            return self.add(layer, f"'same' padding ({left} before, {right} after): output {label} = "
                                   f"⌈{label}/S⌉{same_note}.",
                            Formula(out_sym, arith.same_expr(size_sym), bindings))
        word = {"valid": " ('valid': no padding)", "full": " ('full': P = D·(K − 1))"}.get(padding, "")
        if layer.type in POOL_TYPES and layer.get("ceil_mode"):
            raw = self.add(layer, f"output {label} in ceil mode{word}{same_note}.",
                           Formula(out_sym, arith.ceil_expr(size_sym), bindings))
            if (raw - 1) * stride >= size + bindings["P"]:
                self.note(layer, f"the last window would start at {(raw - 1) * stride} ≥ {label} + P = "
                                 f"{size + bindings['P']}, inside the right padding only, so it is dropped: "
                                 f"{label}_out = {raw - 1}.")
                return raw - 1
            return raw
        return self.add(layer, f"output {label}{word}{same_note}.",
                        Formula(out_sym, arith.conv_expr(size_sym), bindings))

    def advance_field(self, layer: Layer, kernels: list, strides: list, paddings: list, dilations: list) -> None:
        if self.field is None:
            return
        wins = [rf.Window(*window) for window in zip(kernels, strides, paddings, dilations)]
        if all((w.kernel, w.stride, w.padding) == (1, 1, 0) for w in wins):
            self.note(layer, "a 1×1 window with stride 1 leaves the receptive field as it was.")
            return
        self.field = rf.advance(self.sol, layer.name, self.field, wins)

    def _window_field(self, layer: Layer, shape: Shape) -> None:
        if self.field is None:
            return
        wins = windows(layer, shape)
        self.advance_field(layer, [w[1] for w in wins], [w[2] for w in wins],
                           [numeric_padding(w[3], w[0], w[1], w[2], w[4]) for w in wins], [w[4] for w in wins])

    def _whole_field(self, layer: Layer, why: str) -> None:
        """A layer that sees the whole map acts like a convolution with K = the map's size."""
        if self.field is None or self.extent is None or all(e == 1 for e in self.extent):
            return
        self.note(layer, f"{why}, like a convolution whose kernel is the whole "
                         f"{'×'.join(map(str, self.extent))} map (K = size, S = 1, P = 0).")
        n = len(self.extent)
        self.advance_field(layer, list(self.extent), [1] * n, [0] * n, [1] * n)
        self.extent = [1] * n

    # --- layer types ---------------------------------------------------------------------------

    def analyse(self, layer: Layer, shape: Shape, output: Shape) -> Row:
        kind = layer.type
        if kind in ("conv", "convtranspose", "depthwise", "pointwise"):
            row = self._conv(layer, shape, output)
        elif kind in POOL_TYPES:
            row = self._pool(layer, shape, output)
        elif kind in GLOBAL_POOLS:
            row = self._global_pool(layer, shape, output)
        elif kind in ADAPTIVE_POOLS:
            row = self._adaptive_pool(layer, shape, output)
        elif kind in ("upsample", "maxunpool"):
            row = self._resample(layer, shape, output)
        elif kind == "flatten":
            row = self._flatten(layer, shape, output)
        elif kind == "fc":
            row = self._fc(layer, shape, output)
        elif kind in ("batchnorm", "layernorm"):
            row = self._norm(layer, shape, output)
        elif kind == "embedding":
            row = self._embedding(layer, shape, output)
        elif kind in RECURRENT_GATES:
            row = self._recurrent(layer, shape, output)
        elif kind == "attention":
            row = self._attention(layer, shape, output)
        else:
            what = "dropout" if kind == "dropout" else f"the {kind} activation"
            self.note(layer, f"{what} has no parameters and keeps the shape {shape.text(self.options.layout)}.")
            row = self.row(layer, output)
        if output.form == "map":
            self.extent = list(output.spatial)
        return row

    def _conv(self, layer: Layer, shape: Shape, output: Shape) -> Row:
        kind, layout = layer.type, self.options.layout
        c_in, c_out, groups = shape.channels, layer["out"], layer.get("groups", 1)
        self.note(layer, f"{_describe(layer, len(shape.spatial))} on the input {shape.text(layout)}.")
        if kind == "pointwise" and set(per_dim(layer["stride"], len(shape.spatial), "stride")) == {1}:
            sizes = list(shape.spatial)
            self.note(layer, "a 1×1 convolution with stride 1 keeps the spatial size.")
        else:
            sizes = self.sizes(layer, shape)
        assert sizes == list(output.spatial), (sizes, output)
        kernels = [w[1] for w in windows(layer, shape)]
        k_expr, k_bind = _kernel_expr(kernels, shape.labels)
        out_factors, out_bind = _size_factors(sizes, shape.labels, "_out")
        in_factors, in_bind = _size_factors(list(shape.spatial), shape.labels, "")
        bindings = {"C_in": c_in, "C_out": c_out, "g": groups, **k_bind, **out_bind, **in_bind}
        depth = c_in // groups
        depth_factors, depth_text, weights_text = _filter_depth(kind, groups, depth)
        k_factors = [] if kind == "pointwise" else [k_expr]
        per_filter = depth_factors + k_factors or [Num(1)]
        weights, biases, params = self.params(layer, _product([C_OUT] + per_filter), C_OUT, bindings, weights_text,
                                              "biases: one per filter.")
        if kind == "convtranspose":
            macs_text = ("MACs: every input value is multiplied into a K-sized window of each of the "
                         "C_out/g output channels of its group.")
            macs_expr = _product([C_IN] + in_factors + [(C_OUT / G) if groups != 1 else C_OUT] + k_factors)
        else:
            macs_text = {"depthwise": "MACs: each output value takes K² multiply-accumulates (one channel).",
                         "pointwise": "MACs: each output value takes C_in multiply-accumulates."}.get(
                kind, f"MACs: each output value takes {depth_text}·(kernel size) multiply-accumulates.")
            macs_expr = _product([C_OUT] + out_factors + per_filter)
        macs = _int(self.add(layer, macs_text, Formula(MACS, macs_expr, bindings)))
        bias_adds = c_out * prod(sizes) if biases else 0
        flops = self.flops(layer, macs, bias_adds)
        if kind == "convtranspose":
            if self.field is not None:
                wins = windows(layer, shape)
                self.field = rf.advance_transposed(self.sol, layer.name, self.field,
                                                   [rf.Window(w[1], w[2], w[3], w[4]) for w in wins])
        else:
            self._window_field(layer, shape)
        filter_shape = [1 if kind == "depthwise" else depth] + kernels
        return self.row(layer, output, filters=c_out, filter_shape=filter_shape, weights=weights,
                        biases=biases, params=params, macs=macs, bias_adds=bias_adds, flops=flops,
                        detail=f"{c_out}@{'×'.join(map(str, kernels))}" + _stride_text(layer, shape))

    def _pool(self, layer: Layer, shape: Shape, output: Shape) -> Row:
        self.note(layer, f"{_describe(layer, len(shape.spatial))} on {shape.text(self.options.layout)}: no parameters, "
                         f"and it keeps the {shape.channels} channels.")
        sizes = self.sizes(layer, shape)
        assert sizes == list(output.spatial), (sizes, output)
        self._window_field(layer, shape)
        kernels = per_dim(layer["kernel"], len(shape.spatial), "kernel")
        return self.row(layer, output, detail=f"{'×'.join(map(str, kernels))}" + _stride_text(layer, shape))

    def _global_pool(self, layer: Layer, shape: Shape, output: Shape) -> Row:
        self.note(layer, f"one {'average' if layer.type == 'globalavgpool' else 'maximum'} per channel: "
                         f"{shape.text(self.options.layout)} → {output.text(self.options.layout)}; "
                         "no parameters.")
        self._whole_field(layer, "each output sees its whole channel")
        return self.row(layer, output)

    def _adaptive_pool(self, layer: Layer, shape: Shape, output: Shape) -> Row:
        layout = self.options.layout
        kind = "average" if layer.type == "adaptiveavgpool" else "maximum"
        self.note(layer, f"adaptive pooling to {'×'.join(map(str, output.spatial))}: output cell i of a size-H "
                         f"dimension takes the {kind} of rows ⌊i·H/out⌋ to ⌈(i + 1)·H/out⌉ − 1; "
                         f"{shape.text(layout)} → {output.text(layout)}, no parameters.")
        sizes, outs = list(shape.spatial), list(output.spatial)
        if all(size % out == 0 for size, out in zip(sizes, outs)):
            if self.field is not None:
                kernels = [size // out for size, out in zip(sizes, outs)]
                self.note(layer, "each output size divides its input size, so the windows are a plain pooling "
                                 f"with K = S = {'×'.join(map(str, kernels))}.")
                self.advance_field(layer, kernels, kernels, [0] * len(sizes), [1] * len(sizes))
        else:
            self._stop_field(layer, "its windows differ in size (an output size does not divide the input size)")
        return self.row(layer, output)

    def _resample(self, layer: Layer, shape: Shape, output: Shape) -> Row:
        layout = self.options.layout
        if layer.type == "upsample":
            scales = per_dim(layer["scale"], len(shape.spatial), "scale")
            for size, scale, out, label in zip(shape.spatial, scales, output.spatial, shape.labels):
                self.add(layer, f"{layer['mode']} upsampling: output {label} = ⌊{label}·scale⌋.",
                         Formula(arith.out_symbol(label), _floor_product(arith.size_symbol(label)),
                                 {label: size, "s": Fraction(str(scale))}))
        else:
            self.note(layer, "max unpooling puts each value back where its max pool found it, so each size "
                             "is the one before that pooling.")
            for (size, kernel, stride, padding, _, _), label in zip(windows(layer, shape), shape.labels):
                self.add(layer, f"output {label} = (H − 1)·S − 2P + K.",
                         Formula(arith.out_symbol(label), _unpool_expr(arith.size_symbol(label)),
                                 {label: size, "K": kernel, "S": stride, "P": padding}))
        self.note(layer, f"{shape.text(layout)} → {output.text(layout)}; no parameters and no MACs.")
        self._stop_field(layer, f"{layer.type} spreads each input value over several output positions")
        return self.row(layer, output)

    def _stop_field(self, layer: Layer, why: str) -> None:
        if self.field is not None:
            self.note(layer, f"the receptive field is not tracked past this layer: {why}.")
        self.field = None

    def _flatten(self, layer: Layer, shape: Shape, output: Shape) -> Row:
        if shape.form == "vector":
            self.note(layer, "the input is already a vector.")
        else:
            symbols = [Sym("C")] + [Sym(label) for label in shape.labels] if shape.form == "map" else [T, Sym("F")]
            bindings = {s.name: v for s, v in zip(symbols, shape.dims)}
            self.add(layer, f"one vector of all {shape.text(self.options.layout)} values.",
                     Formula(Sym("N"), _product(symbols), bindings))
        return self.row(layer, output)

    def _fc(self, layer: Layer, shape: Shape, output: Shape) -> Row:
        f_out = layer["out"]
        if along_last_axis(layer, shape):
            return self._fc_last_axis(layer, shape, output)
        if shape.form == "map":
            symbols = [Sym("C")] + [Sym(label) for label in shape.labels]
            f_in = self.add(layer, f"the {shape.text(self.options.layout)} input is flattened first "
                                   "(implicit flatten).",
                            Formula(F_IN, _product(symbols), {s.name: v for s, v in zip(symbols, shape.dims)}))
        else:
            f_in = shape.features
        bindings = {"F_in": f_in, "F_out": f_out, "T": shape.steps if shape.form == "sequence" else 1}
        weights, biases, params = self.params(layer, F_IN * F_OUT, F_OUT, bindings,
                                              f"weights: every one of the {f_out} outputs connects to all "
                                              f"{f_in} inputs.", "biases: one per output.")
        if shape.form == "sequence":
            macs = self.add(layer, f"MACs: F_in·F_out at each of the T = {shape.steps} steps.",
                            Formula(MACS, T * F_IN * F_OUT, bindings))
        else:
            macs = self.add(layer, "MACs: one per weight.", Formula(MACS, F_IN * F_OUT, bindings))
        bias_adds = biases * (shape.steps if shape.form == "sequence" else 1)
        flops = self.flops(layer, macs, bias_adds)
        self._whole_field(layer, "each output sees every input value")
        return self.row(layer, output, weights=weights, biases=biases, params=params, macs=macs,
                        bias_adds=bias_adds, flops=flops)

    def _fc_last_axis(self, layer: Layer, shape: Shape, output: Shape) -> Row:
        """nn.Linear(F) on a map or T×F input: one F_in → F_out product per position of the other axes."""
        f_in, f_out = shape.dims[-1], layer["out"]
        positions = prod(shape.dims[:-1])
        self.note(layer, f"axis: last — the same weights act on each of the {positions} rows of length {f_in} "
                         f"along the last axis of {shape.text()} (PyTorch's nn.Linear({f_in}, {f_out})), "
                         "nothing is flattened.")
        bindings = {"F_in": f_in, "F_out": f_out, "N": positions}
        weights, biases, params = self.params(layer, F_IN * F_OUT, F_OUT, bindings,
                                              f"weights: every one of the {f_out} outputs connects to the {f_in} "
                                              "values of its row.", "biases: one per output.")
        macs = self.add(layer, "MACs: F_in·F_out for each of the N rows.", Formula(MACS, Sym("N") * F_IN * F_OUT,
                                                                                   bindings))
        bias_adds = biases * positions
        flops = self.flops(layer, macs, bias_adds)
        self._stop_field(layer, "it mixes the whole last axis of each row")
        return self.row(layer, output, weights=weights, biases=biases, params=params, macs=macs,
                        bias_adds=bias_adds, flops=flops)

    def _norm(self, layer: Layer, shape: Shape, output: Shape) -> Row:
        if layer.type == "batchnorm":
            size = shape.channels if shape.form == "map" else shape.features
            what = ("a scale γ and a shift β per channel; the running mean and variance are buffers, "
                    "not parameters")
            symbol = Sym("C") if shape.form == "map" else Sym("F")
        elif along_last_axis(layer, shape):
            size = shape.dims[-1]
            what = (f"axis: last — each row of the last axis is normalised on its own, with a γ and a β per "
                    f"value of that axis (PyTorch's nn.LayerNorm({size}))")
            symbol = Sym("N")
        else:
            size = prod(shape.dims) if shape.form == "map" else shape.features
            what = ("a γ and a β per normalised value (over C×H×W for a map, over the features of each "
                    "step for a sequence; axis=last normalises the last axis only)")
            symbol = Sym("N")
        buffers = 0
        if layer.type == "batchnorm":
            buffers = self.add(layer, "buffers: a running mean and a running variance per channel — state kept "
                                      "for inference, not parameters (PyTorch's parameters() leaves them out; "
                                      "Keras counts them as non-trainable).",
                               Formula(Sym("buffers", latex=r"\mathrm{buffers}"), 2 * symbol, {symbol.name: size}))
        if not layer["affine"]:
            self.note(layer, "affine: false, so no γ or β: no parameters.")
            return self.row(layer, output, buffers=buffers)
        self.note(layer, what + ".")
        bindings = {symbol.name: size}
        weights = self.add(layer, "weights (γ).", Formula(Sym("gamma", text="#γ", latex=r"\#\gamma"), symbol, bindings))
        biases = self.add(layer, "biases (β).", Formula(Sym("beta", text="#β", latex=r"\#\beta"), symbol, bindings))
        params = self.add(layer, "parameters.", Formula(PARAMS, W_SYM + B_SYM, {"W": weights, "b": biases}))
        return self.row(layer, output, weights=weights, biases=biases, params=params, buffers=buffers)

    def _embedding(self, layer: Layer, shape: Shape, output: Shape) -> Row:
        bindings = {"V": layer["vocab"], "E": layer["out"]}
        self.note(layer, f"a table of one {layer['out']}-vector per token: a lookup, no MACs.")
        weights = self.add(layer, "weights: vocabulary × dimension.",
                           Formula(W_SYM, Sym("V") * Sym("E"), bindings))
        return self.row(layer, output, weights=weights, params=weights)

    def _recurrent(self, layer: Layer, shape: Shape, output: Shape) -> Row:
        kind, hidden, stacked = layer.type, layer["out"], layer["num_layers"]
        directions = 2 if layer["bidirectional"] else 1
        gates = RECURRENT_GATES[kind]
        style = self.options.bias_style if layer.get("bias_style") is None else layer["bias_style"]
        self.note(layer, f"{_describe(layer, 1)} on {shape.text()}: gates {GATE_NAMES[kind]}, each with input "
                         f"weights H×F, recurrent weights H×H and "
                         + ("two bias vectors b_ih, b_hh (bias_style: pytorch)." if style == "pytorch"
                            else "one bias vector (bias_style: single)."))
        bindings = {"G": gates, "H": hidden, "F": shape.features, "n": directions, "L": stacked,
                    "T": shape.steps}
        g, h, f, n, big_l = Sym("G"), Sym("H"), Sym("F"), Sym("n", text="dirs", latex=r"n_{\mathrm{dir}}"), Sym("L")
        direction_factor = [n] if directions > 1 else []
        first = _product(direction_factor + [g, h, f + h])
        deeper = _product(direction_factor + [g, h, n * h + h])
        weights_expr = first if stacked == 1 else first + (big_l - 1) * deeper
        text = ("weights: G·H·(F + H) per direction" + ("; layers after the first take the "
                f"{directions}·H outputs of the one below as F" if stacked > 1 else "") + ".")
        bias_expr = _product(([big_l] if stacked > 1 else []) + direction_factor
                             + ([Num(2)] if style == "pytorch" else []) + [g, h])
        weights = self.add(layer, text, Formula(W_SYM, weights_expr, bindings))
        biases = 0
        if layer["bias"]:
            biases = self.add(layer, "biases.", Formula(B_SYM, bias_expr, bindings))
        else:
            self.note(layer, "no biases (bias: false).")
        params = self.add(layer, "parameters.", Formula(PARAMS, W_SYM + B_SYM, {"W": weights, "b": biases}))
        macs = self.add(layer, f"MACs: every weight is used once per step, T = {shape.steps} steps (gate "
                               "nonlinearities and element-wise products are not counted).",
                        Formula(MACS, T * W_SYM, {"T": shape.steps, "W": weights}))
        flops = self.flops(layer, macs, biases * shape.steps)
        return self.row(layer, output, weights=weights, biases=biases, params=params, macs=macs,
                        bias_adds=biases * shape.steps, flops=flops)

    def _attention(self, layer: Layer, shape: Shape, output: Shape) -> Row:
        embed, heads, steps = shape.features, layer["heads"], shape.steps
        e, t = Sym("E"), T
        bindings = {"E": embed, "T": steps, "h": heads}
        self.note(layer, f"self-attention with {heads} head{'s' if heads != 1 else ''} of size "
                         f"E/h = {embed // heads} on {shape.text()}: projections W_q, W_k, W_v, W_o, each E×E "
                         "(the heads split E, so the count does not depend on h).")
        weights = self.add(layer, "weights.", Formula(W_SYM, 4 * e ** 2, bindings))
        biases = self.add(layer, "biases.", Formula(B_SYM, 4 * e, bindings)) if layer["bias"] else 0
        params = self.add(layer, "parameters.", Formula(PARAMS, W_SYM + B_SYM, {"W": weights, "b": biases}))
        macs = self.add(layer, "MACs: Q, K, V and output projections (4·T·E²), scores QKᵀ (T²·E) and "
                               "weights × V (T²·E).", Formula(MACS, 4 * t * e ** 2 + 2 * t ** 2 * e, bindings))
        bias_adds = 4 * embed * steps if biases else 0
        flops = self.flops(layer, macs, bias_adds)
        return self.row(layer, output, weights=weights, biases=biases, params=params, macs=macs,
                        bias_adds=bias_adds, flops=flops)


def _sum(symbols: list[Expr]) -> Expr:
    expr = symbols[0]
    for symbol in symbols[1:]:
        expr = expr + symbol
    return expr


def _floor_product(size: Expr) -> Expr:
    from ...formula import floor

    return floor(size * Sym("s", text="scale", latex=r"\mathrm{scale}"))


def _unpool_expr(size: Expr) -> Expr:
    return (size - 1) * Sym("S") - 2 * Sym("P") + Sym("K")


def _filter_depth(kind: str, groups: int, depth: int) -> tuple[list[Expr], str, str]:
    """How deep each filter is: (formula factors, words, the weights step's text)."""
    if kind == "depthwise":
        return [], "1", "weights: each filter sees one input channel (1×K×K)."
    if kind == "pointwise":
        factors = [C_IN] if groups == 1 else [C_IN / G]
        return factors, "C_in", "weights: a 1×1 filter per output channel, as deep as the input."
    if groups == 1:
        return [C_IN], "C_in", "weights: each of the C_out filters is C_in deep."
    return [C_IN / G], "C_in/g", f"weights: in {groups} groups each filter is C_in/g = {depth} deep."


def _stride_text(layer: Layer, shape: Shape) -> str:
    strides = per_dim(layer["stride"], len(shape.spatial), "stride")
    return "" if set(strides) == {1} else f" /{'×'.join(map(str, strides)) if len(set(strides)) > 1 else strides[0]}"


def _describe(layer: Layer, dims: int) -> str:
    """`conv 6 5×5, stride 2` style words for a heading."""
    kind = layer.type
    if kind in ("conv", "convtranspose", "depthwise", "pointwise"):
        words = {"conv": "convolution", "convtranspose": "transposed convolution",
                 "depthwise": "depthwise convolution", "pointwise": "pointwise (1×1) convolution"}[kind]
        text = f"{words}, {layer['out']} filters"
        if kind != "pointwise":
            text += f" of {_size_text(layer['kernel'], dims)}"
    elif kind in POOL_TYPES:
        text = f"{'max' if kind == 'maxpool' else 'average'} pooling {_size_text(layer['kernel'], dims)}"
    else:
        return f"{kind} with hidden size {layer['out']}" + (
            f", {layer['num_layers']} layers" if layer.get("num_layers", 1) > 1 else "") + (
            ", bidirectional" if layer.get("bidirectional") else "")
    extras = [f"{key} {_size_text(layer[key], 1)}" for key in ("stride", "padding", "dilation")
              if key in layer.values and layer[key] not in (0, 1)]
    if layer.get("groups", 1) != 1 and kind != "depthwise":
        extras.append(f"groups {layer['groups']}")
    return text + (", " + ", ".join(extras) if extras else "")


def _size_text(value, dims: int) -> str:
    if isinstance(value, list):
        return "×".join(str(v) for v in value)
    return "×".join([str(value)] * dims)
