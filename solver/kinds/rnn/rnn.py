"""Kind `rnn`: recurrent cells step by step — Elman, Jordan, LSTM, GRU, or a cell given as
equations — with every pre-activation, gate, state and output written out, the dimensions of
every quantity, and, given a loss, the gradients of every weight by backpropagation through time
with a note on vanishing or exploding products of Jacobians. Elman, LSTM and GRU layers also
stack (`stack:` one weight set per layer) and run in both directions (`bidirectional: true`),
worked in `_rnn_stacked`. The solver's own checks take their numbers from the cells' equations
in solver/nn/recurrent.py, not from the worked steps they check.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from ...context import Context
from ...errors import BadInput
from ...inputs import KindInput, choice, matrix_shape
from ...registry import register
from ...steps import Solution, Table
from . import _rnn_values as rv

CELLS = ("elman", "jordan", "lstm", "gru", "custom")
CELL_ALIASES = {"rnn": "elman", "simple": "elman", "vanilla": "elman"}
MAX_STEPS = 500
MAX_SIZE = 512
MAX_LAYERS = 16


def _numbers(value, name: str):
    """A number or a rectangular nested list of numbers (checked, returned unchanged)."""
    if value is None:
        return None
    matrix_shape(value, name=name)
    return value


class GateInput(KindInput):
    """One gate of an LSTM or GRU: input weights U, recurrent weights W, bias b (GRU `n`: b_hn)."""

    U: Any = Field(description="input weights of the gate")
    W: Any = Field(description="recurrent weights of the gate")
    b: Any = Field(0, description="bias of the gate (0)")
    b_hn: Any = Field(None, description="GRU gate n: the bias inside the reset product (0)")

    @field_validator("U", "W", "b", "b_hn")
    @classmethod
    def _values(cls, value, info):
        return _numbers(value, info.field_name)


class DirectionWeights(KindInput):
    """The weights and initial states of one layer in one direction (stacked or bidirectional)."""

    U: Any = Field(None, description="input weights (elman)")
    W: Any = Field(None, description="recurrent weights (elman)")
    b: Any = Field(None, description="bias (elman; 0)")
    gates: dict[str, GateInput] | None = Field(None, description="lstm {i, f, g, o} / gru {r, z, n}: each {U, W, b}")
    h0: Any = Field(None, description="initial hidden state of this layer and direction (zeros)")
    c0: Any = Field(None, description="lstm: initial cell state (zeros)")

    @field_validator("U", "W", "b", "h0", "c0")
    @classmethod
    def _values(cls, value, info):
        return _numbers(value, info.field_name)


class StackLayer(DirectionWeights):
    """One entry of `stack`: a layer's forward weights, and with bidirectional its `backward` ones."""

    backward: DirectionWeights | None = Field(None, description="bidirectional: the backward direction's weights")


class RnnInput(KindInput):
    cell: str = Field(description="elman, jordan, lstm, gru or custom")
    U: Any = Field(None, description="input → hidden weights (elman, jordan)")
    W: Any = Field(None, description="recurrent weights: h(t−1) → h(t); Jordan: y(t−1) → h(t)")
    b: Any = Field(None, description="hidden bias: a vector or one number for every unit (0)")
    V: Any = Field(None, description="hidden → output weights (required for jordan, optional otherwise)")
    c: Any = Field(None, description="output bias: a vector or one number (0)")
    gates: dict[str, GateInput] | None = Field(
        None, description="lstm {i, f, g, o} / gru {r, z, n}: each {U, W, b}; gru n also b_hn")
    equations: Any = Field(None, description="custom: ['c = sigmoid(W_c*x + W_h*h_prev)', …]; "
                                            "x the input, NAME_prev or NAME[t-1] the step before")
    params: dict[str, Any] | None = Field(None, description="custom: the weights the equations name")
    sizes: dict[str, Any] | None = Field(
        None, description="custom: dimensions (numbers or symbols, 'm x n') for a dimensions-only answer")
    h0: Any = Field(None, description="initial hidden state (zeros)")
    y0: Any = Field(None, description="jordan: initial fed-back output (zeros)")
    c0: Any = Field(None, description="lstm: initial cell state (zeros)")
    inputs: Any = Field(None, description="the input sequence: one vector (or number) per step")
    activations: dict[str, str] | None = Field(
        None, description="{hidden: tanh|sigmoid|relu|linear, output: …|softmax} (tanh, linear)")
    weights: Literal["in_out", "out_in"] = Field(
        "in_out", description="in_out: W is inputs×outputs, u = Wᵀx; out_in: u = Wx")
    loss: str | None = Field(None, description="bce, ce, mse, sse or half-sse: gradients through time")
    targets: Any = Field(None, description="one target per step (null for none), with loss")
    diagram: bool = Field(False, description="draw one cell's computation graph")
    layers: int | None = Field(None, description="stacked layers (1): give stack, one weight set per layer")
    stack: list[StackLayer] | None = Field(
        None, description="stacked elman / lstm / gru layers, input side first: each {U, W, b} or {gates}, "
                          "with h0, c0 and (bidirectional) backward")
    bidirectional: bool = Field(False, description="also run each layer backwards over the sequence "
                                                   "(weights under backward); the next layer reads both")
    backward: DirectionWeights | None = Field(
        None, description="bidirectional, one layer: the backward direction's {U, W, b} or {gates}, h0, c0")

    @field_validator("layers")
    @classmethod
    def _layers(cls, value):
        if value is not None and not 1 <= value <= MAX_LAYERS:
            raise ValueError(f"layers must be from 1 to {MAX_LAYERS}")
        return value

    @field_validator("stack")
    @classmethod
    def _stack(cls, value):
        if value is not None and not 1 <= len(value) <= MAX_LAYERS:
            raise ValueError(f"stack holds one weight set per layer: 1 to {MAX_LAYERS} of them")
        return value

    @field_validator("cell")
    @classmethod
    def _cell(cls, value):
        return choice(value, CELLS, CELL_ALIASES, name="cell")

    @field_validator("U", "W", "b", "V", "c", "h0", "y0", "c0")
    @classmethod
    def _values(cls, value, info):
        return _numbers(value, info.field_name)

    @field_validator("inputs")
    @classmethod
    def _inputs(cls, value):
        if value is None:
            return None
        if not isinstance(value, list) or not value:
            raise ValueError("inputs must be a list with one vector (or number) per time step")
        if len(value) > MAX_STEPS:
            raise ValueError(f"at most {MAX_STEPS} time steps")
        for index, item in enumerate(value):
            shape = matrix_shape(item, name=f"input {index + 1}")
            if len(shape) > 1 and not (len(shape) == 2 and 1 in shape):
                raise ValueError(f"input {index + 1} must be a vector, not a matrix")
        return value

    @field_validator("targets")
    @classmethod
    def _targets(cls, value):
        if value is None:
            return None
        if not isinstance(value, list) or not value:
            raise ValueError("targets must be a list with one target (or null) per time step")
        for index, item in enumerate(value):
            if item is not None:
                matrix_shape(item, name=f"target {index + 1}")
        return value

    @field_validator("activations")
    @classmethod
    def _activations(cls, value):
        if value is None:
            return None
        out = {}
        for key, name in value.items():
            if key not in ("hidden", "output"):
                raise ValueError(f"activations has the keys hidden and output, not {key!r}")
            allowed = rv.HIDDEN_ACTIVATIONS if key == "hidden" else rv.OUTPUT_ACTIVATIONS
            out[key] = rv.activation_name(name, allowed=allowed, name=f"activations.{key}")
        return out

    @field_validator("loss")
    @classmethod
    def _loss(cls, value):
        if value is None:
            return None
        return choice(value, rv.LOSSES, name="loss", fold={"_": "-"})


# --- from the given fields to a runnable setup ------------------------------------------------


def _forbid(given: RnnInput, fields: tuple[str, ...], reason: str) -> None:
    for name in fields:
        if getattr(given, name) is not None:
            raise BadInput(f"{name} is not used by the {given.cell} cell: {reason}", field=name)


def _inputs(given: RnnInput) -> list:
    if given.inputs is None:
        raise BadInput("give the input sequence: one vector per time step", field="inputs")
    columns = [rv.column(x, f"inputs.{i}") for i, x in enumerate(given.inputs)]
    size = columns[0].shape[0]
    for i, x in enumerate(columns):
        if x.shape[0] != size:
            raise BadInput(f"input {i + 1} has {x.shape[0]} values but input 1 has {size}", field=f"inputs.{i}")
    return columns


def _hidden_size(layout: rv.Layout, matrix) -> int:
    return matrix.shape[1] if layout.in_out else matrix.shape[0]


def _why(layout: rv.Layout, source: str, target: str) -> str:
    order = f"{source} × {target}" if layout.in_out else f"{target} × {source}"
    return f"{order} under weights: {layout.weights}"


def _check_size(value: int, field: str) -> int:
    if value > MAX_SIZE:
        raise BadInput(f"{field} gives a layer of {value} units; at most {MAX_SIZE} are supported", field=field)
    return value


def _output_layer(given: RnnInput, setup_params: dict, layout: rv.Layout, hidden: int) -> int:
    """Validate V and c; returns the output size (0 when there is no output layer)."""
    if given.V is None:
        if given.c is not None:
            raise BadInput("c is the output bias: give V (hidden → output weights) with it", field="V")
        return 0
    first = rv.matrix(given.V, "V")
    output = _check_size(first.shape[1] if layout.in_out else first.shape[0], "V")
    setup_params["V"] = rv.matrix(given.V, "V", layout.shape(hidden, output),
                                  _why(layout, f"{hidden} hidden units", f"{output} outputs"))
    setup_params["c"] = rv.column(given.c if given.c is not None else 0, "c", output)
    return output


def _simple_params(given: RnnInput, layout: rv.Layout, inputs: list) -> tuple[dict, int, int]:
    _forbid(given, ("gates",), "give U, W, b (and V, c)")
    for name in ("U", "W"):
        if getattr(given, name) is None:
            raise BadInput(f"the {given.cell} cell needs {name}", field=name)
    d = inputs[0].shape[0]
    first = rv.matrix(given.U, "U")
    hidden = _check_size(_hidden_size(layout, first), "U")
    params = {"U": rv.matrix(given.U, "U", layout.shape(d, hidden),
                             _why(layout, f"{d} inputs", f"{hidden} hidden units"))}
    output = _output_layer(given, params, layout, hidden)
    if given.cell == "jordan" and not output:
        raise BadInput("a Jordan network feeds its output back: give V (hidden → output) and c", field="V")
    fed = output if given.cell == "jordan" else hidden
    params["W"] = rv.matrix(given.W, "W", layout.shape(fed, hidden),
                            _why(layout, f"{fed} {'outputs' if given.cell == 'jordan' else 'hidden units'} "
                                 "of the step before", f"{hidden} hidden units"))
    params["b"] = rv.column(given.b if given.b is not None else 0, "b", hidden)
    return params, hidden, output


def _gated_params(given: RnnInput, layout: rv.Layout, inputs: list) -> tuple[dict, int, int]:
    from ._rnn_gated import GATES

    _forbid(given, ("U", "W", "b"),
            "each gate's weights go under gates: {name: {U, W, b}}")
    names = GATES[given.cell]
    if given.gates is None or set(given.gates) != set(names):
        got = sorted(given.gates) if given.gates else []
        raise BadInput(f"the {given.cell} cell needs gates {', '.join(names)} (got {', '.join(got) or 'none'})",
                       field="gates")
    d = inputs[0].shape[0]
    first = rv.matrix(given.gates[names[0]].U, f"gates.{names[0]}.U")
    hidden = _check_size(_hidden_size(layout, first), f"gates.{names[0]}.U")
    params = {}
    for q in names:
        g, where = given.gates[q], f"gates.{q}"
        params[f"U_{q}"] = rv.matrix(g.U, f"{where}.U", layout.shape(d, hidden),
                                     _why(layout, f"{d} inputs", f"{hidden} hidden units"))
        params[f"W_{q}"] = rv.matrix(g.W, f"{where}.W", layout.shape(hidden, hidden),
                                     _why(layout, f"{hidden} hidden units", f"{hidden} hidden units"))
        params[f"b_{q}"] = rv.column(g.b, f"{where}.b", hidden)
        if g.b_hn is not None and q != "n":
            raise BadInput("b_hn belongs to the GRU's candidate gate n", field=f"{where}.b_hn")
    if given.cell == "gru":
        b_hn = given.gates["n"].b_hn
        params["b_hn"] = rv.column(b_hn if b_hn is not None else 0, "gates.n.b_hn", hidden)
    output = _output_layer(given, params, layout, hidden)
    return params, hidden, output


def build_setup(given: RnnInput):
    from ._rnn_common import Setup

    layout = rv.Layout(given.weights)
    inputs = _inputs(given)
    activations = dict(given.activations or {})
    if given.cell in ("lstm", "gru"):
        if "hidden" in activations:
            raise BadInput(f"the {given.cell} gates have fixed activations (σ and tanh); only "
                           "activations.output (for V) can be chosen", field="activations.hidden")
        params, hidden, output = _gated_params(given, layout, inputs)
    else:
        params, hidden, output = _simple_params(given, layout, inputs)
    if given.cell != "jordan" and given.y0 is not None:
        raise BadInput("y0 is the fed-back output of a Jordan network", field="y0")
    if given.cell != "lstm" and given.c0 is not None:
        raise BadInput("c0 is the LSTM's initial cell state", field="c0")
    if "output" in activations and not output:
        raise BadInput("activations.output applies to the output layer: give V", field="activations.output")
    if activations.get("output") == "softmax" and output == 1:
        raise BadInput("softmax over a single output is always 1; use sigmoid for one output",
                       field="activations.output")
    initial = {"h": rv.column(given.h0 if given.h0 is not None else 0, "h0", hidden)}
    if given.cell == "jordan":
        initial["y"] = rv.column(given.y0 if given.y0 is not None else 0, "y0", output)
    if given.cell == "lstm":
        initial["c"] = rv.column(given.c0 if given.c0 is not None else 0, "c0", hidden)
    return Setup(cell=given.cell, layout=layout, inputs=inputs, params=params,
                 hidden=activations.get("hidden", "tanh"), output=activations.get("output", "linear"),
                 has_output=bool(output), initial=initial, loss=given.loss,
                 targets=rv.read_targets(given.loss, given.targets, len(inputs), output or hidden),
                 input_size=inputs[0].shape[0], hidden_size=hidden, output_size=output)


# --- solving ---------------------------------------------------------------------------------


def _cell_module(cell: str):
    if cell in ("elman", "jordan"):
        from . import _rnn_simple as module
    else:
        from . import _rnn_gated as module
    return module


def _state_conventions(sol: Solution, setup) -> None:
    sol.convention(setup.layout.convention())
    if setup.cell in ("elman", "jordan"):
        sol.convention(f"Activations: hidden {setup.hidden}"
                       + (f", output {setup.output}" if setup.has_output else "") + ".")
    elif setup.has_output:
        sol.convention(f"Output activation: {setup.output}.")
    if setup.cell in ("lstm", "gru"):
        from ._rnn_gated import conventions

        conventions(sol, setup.cell)


def _defaults_notes(sol: Solution, given: RnnInput, setup) -> None:
    """Say where a number came from when the problem did not spell it out as a vector."""
    for name, what in (("b", "hidden"), ("c", "output")):
        value = getattr(given, name)
        if name not in setup.params:
            continue
        if value is None:
            sol.note(f"{name} is not given: every {what} bias is 0.")
        elif not isinstance(value, list):
            sol.note(f"{name} = {value} is the bias of every {what} unit.")
    used = {"elman": ["h0"], "jordan": ["y0"], "lstm": ["h0", "c0"], "gru": ["h0"]}[setup.cell]
    missing = [name for name in used if getattr(given, name) is None]
    if missing:
        sol.note(f"{' and '.join(missing)} not given: the recurrence starts from zeros.")
    if setup.cell == "jordan" and given.h0 is not None:
        sol.note("h0 is not used: a Jordan network feeds back the output y, not the hidden state.")


def _dimensions(sol: Solution, setup, module) -> None:
    sol.add(f"Dimensions: D = {setup.input_size} inputs, H = {setup.hidden_size} hidden units"
            + (f", O = {setup.output_size} outputs" if setup.has_output else "")
            + f", T = {setup.steps} time steps. Vectors are columns.",
            table=Table(["quantity", "rows×columns", "meaning"], module.quantities(setup)))


def _parameter_count(sol: Solution, setup) -> None:
    from ._rnn_params import count_formula_text, recurrent_params

    d, h, o = setup.input_size, setup.hidden_size, setup.output_size
    given_count = sum(int(v.size) for v in setup.params.values())
    rows = [["as given here", "all given matrices and vectors", given_count]]
    if setup.cell != "jordan":
        base = "rnn" if setup.cell == "elman" else setup.cell
        extra = (o * h + o) if setup.has_output else 0
        for style, label in (("pytorch", "PyTorch layer (b_ih and b_hh)"), ("single", "one bias per gate")):
            formula = count_formula_text(base, style) + (" + O·H + O" if extra else "")
            rows.append([label, formula, recurrent_params(base, d, h, style) + extra])
    sol.add("Parameter count of the recurrent layer"
            + (" (with its output layer)" if setup.has_output else "") + ".",
            table=Table(["convention", "formula", "parameters"], rows))


def solve_numeric(sol: Solution, setup, ctx: Context, diagram: bool, given: RnnInput | None = None):
    from . import _rnn_common as common

    module = _cell_module(setup.cell)
    _state_conventions(sol, setup)
    _dimensions(sol, setup, module)
    _parameter_count(sol, setup)
    if given is not None:
        _defaults_notes(sol, given, setup)
    if diagram:
        from ._rnn_graph import cell_diagram

        sol.add(f"Computation graph of one {setup.cell} cell.", diagram=cell_diagram(setup.cell, setup))
    ws = common.Worksheet(sol, ctx)
    module.bind(ws, setup)
    module.forward(ws, setup)
    if not ctx.round_intermediate:
        forward_check(sol, setup.cell, [states_error(setup, ws.values)])
    if setup.loss is None:
        return ws
    common.bind_targets(ws, setup)
    common.loss_steps(sol, ws, setup)
    module.backward(sol, ws, setup)
    module.vanishing_note(sol, ws, setup)
    if not ctx.round_intermediate:
        _finite_difference_check(sol, setup, ws)
    return ws


def numeric_states(setup, reverse: bool = False) -> dict:
    """The setup's states straight from the cell's equations (solver/nn/recurrent.py), one row
    per step: {"h": (T, H)}, with "c" (LSTM) and "y" (an output layer)."""
    import numpy as np

    from ...nn.recurrent import run

    initial = {name: value.reshape(-1) for name, value in setup.initial.items()}
    return run(setup.cell, np.stack([x.reshape(-1) for x in setup.inputs]), setup.params, initial,
               hidden=setup.hidden, output=setup.output, in_out=setup.layout.in_out, reverse=reverse)


def loss_value(setup, ctx: Context | None = None) -> float:
    """J for the setup's weights from the cell's equations and the per-step losses of solver/nn,
    not from the worked steps, so that the finite-difference check is independent of them."""
    from ...nn.recurrent import sequence_loss

    states = numeric_states(setup)
    targets = [None if d is None else d.reshape(-1) for d in setup.targets]
    return float(sequence_loss(setup.loss, states["y"] if setup.has_output else states["h"], targets))


STATE_NAMES = {"h": "h(t)", "c": "c(t)", "y": "y(t)"}


def states_error(setup, values: dict, reverse: bool = False) -> tuple[float, int, tuple[str, ...]]:
    """How far the worked states (`values`, a worksheet's) are from the cell's equations:
    (largest |worked − direct| / max(1, |direct|), how many values, which states)."""
    import numpy as np

    from ._rnn_common import H, Y
    from ._rnn_gated import CELL

    symbols = {"h": H, "c": CELL, "y": Y}
    errors = [0.0]
    direct = numeric_states(setup, reverse)
    for key, series in direct.items():
        for t, expected in enumerate(series, 1):
            worked = np.asarray(values[symbols[key].at(t).name], dtype=float).reshape(-1)
            errors.extend(np.abs(worked - expected) / np.maximum(1.0, np.abs(expected)))
    worst, count = float(np.max(errors)), len(errors) - 1  # NaN, if any, wins: the check fails
    return worst, count, tuple(direct)


def forward_check(sol: Solution, cell: str, results: list[tuple[float, int, tuple[str, ...]]],
                  what: str = "") -> None:
    """One check that every worked state equals the cell's equations evaluated directly."""
    import numpy as np

    worst = float(np.max([r[0] for r in results]))
    count = sum(r[1] for r in results)
    states = ", ".join(STATE_NAMES[key] for key in ("h", "c", "y") if any(key in r[2] for r in results))
    sol.check(f"the worked states {states}{what} equal the {cell} cell's equations evaluated directly",
              worst < 1e-9, f"all {count} values agree to 1e-9 relative", worst)


def _finite_difference_check(sol: Solution, setup, ws) -> None:
    import dataclasses

    from ._rnn_common import finite_difference_check

    gradients = {name: ws.values[f"grad_{name}"] for name in setup.params}
    finite_difference_check(sol, setup.params, gradients,
                            lambda params: loss_value(dataclasses.replace(setup, params=params), Context()))


@register(
    "rnn",
    RnnInput,
    imports=("numpy",),
    summary="Recurrent cells step by step (Elman, Jordan, LSTM, GRU or your own equations): "
            "every gate, state and output, dimensions, and gradients through time.",
    answers={"h{t}": "hidden state after step t (a vector)",
             "y{t}": "output at step t (with an output layer V, c)",
             "c{t}": "LSTM cell state after step t",
             "backward.h{t}": "bidirectional: the backward direction's state at step t (it runs t = T…1); "
                              "also backward.c{t}",
             "layer{l}.h{t}": "stacked layers: layer l's state at step t (also layer{l}.c{t}, "
                              "layer{l}.backward.h{t}, layer{l}.backward.c{t})",
             "J": "total loss over the steps with a target (with a loss)",
             "grad_U": "∂J/∂U (LSTM/GRU: one matrix per gate)",
             "grad_W": "∂J/∂W (LSTM/GRU: one matrix per gate)",
             "grad_V": "∂J/∂V (with an output layer)",
             "grad_b": "∂J/∂b, one entry per unit (LSTM/GRU: one vector per gate)",
             "grad_c": "∂J/∂c, the output bias (with an output layer)",
             "grad_b_hn": "GRU: ∂J/∂b_hn",
             "<name>{t}": "custom cell: each equation's quantity at step t",
             "grad_<name>": "custom cell, with a loss: ∂J/∂ each weight the equations use",
             "shape_<name>": "custom cell: the dimensions of each quantity"},
    example="--cell elman --U \"[[0.5, -0.3]]\" --W \"[[0.1, 0.2], [0.0, 0.4]]\" --inputs \"[1, 2]\"",
    template={"cell": "jordan", "weights": "in_out",
              "U": [[0.2, 0.3], [0.8, 0.9]], "W": [[2.0, 1.0]], "V": [[0.2], [-0.2]],
              "b": 0.2, "c": 0.2, "y0": [1.0], "inputs": [[1.5, 1.0], [-3.0, 2.0]],
              "activations": {"hidden": "tanh", "output": "sigmoid"}},
)
def solve(given: RnnInput, ctx: Context) -> Solution:
    sol = Solution()
    if given.cell == "custom":
        from ._rnn_custom import solve_custom

        _forbid(given, ("stack", "backward"), "stacked and bidirectional layers take elman, lstm or gru cells")
        if given.bidirectional or (given.layers or 1) > 1:
            raise BadInput("stacked and bidirectional layers take elman, lstm or gru cells", field="cell")

        solve_custom(sol, given, ctx)
        return sol
    _forbid(given, ("equations", "params", "sizes"), "these describe a custom cell")
    if given.stack is not None or given.bidirectional or given.backward is not None or (given.layers or 1) > 1:
        from ._rnn_stacked import solve_stacked

        solve_stacked(sol, given, ctx)
        return sol
    setup = build_setup(given)
    solve_numeric(sol, setup, ctx, given.diagram, given)
    return sol
