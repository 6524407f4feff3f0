"""Stacked and bidirectional recurrent layers (SPEC §12), as PyTorch's nn.RNN / nn.LSTM / nn.GRU
with `num_layers` and `bidirectional=True`.

Every layer and direction is one ordinary cell run, worked by the cell's own forward steps:
layer 1 reads the input sequence; layer l reads layer l − 1's states, h(t) or, when
bidirectional, [h→(t); h←(t)] (forward first, as PyTorch concatenates them). The backward
direction has its own weights and runs t = T…1, each step fed by step t + 1; its initial state
sits at T + 1.

Answer names: one layer keeps `h{t}` (`c{t}`) for the forward direction and adds `backward.h{t}`
(`backward.c{t}`); stacked layers name every layer, `layer{l}.h{t}` and `layer{l}.backward.h{t}`.
"""

from __future__ import annotations

from ...context import Context
from ...errors import BadInput
from ...steps import Solution, Table
from ._rnn_common import H, Worksheet

CELLS = ("elman", "lstm", "gru")
_SINGLE_ONLY = ("V", "c", "y0", "loss", "targets")
_WEIGHT_FIELDS = ("U", "W", "b", "gates", "h0", "c0")


def _layer_sets(given) -> list[tuple[object, object, str]]:
    """(forward weights, backward weights or None, field prefix) for every layer."""
    from .rnn import DirectionWeights

    if given.stack is not None:
        for name in _WEIGHT_FIELDS + ("backward",):
            if getattr(given, name) is not None:
                raise BadInput(f"with stack, {name} goes inside each layer's entry of stack", field=name)
        if given.layers is not None and given.layers != len(given.stack):
            raise BadInput(f"layers is {given.layers} but stack holds {len(given.stack)} weight "
                           f"set{'s' if len(given.stack) != 1 else ''} (one per layer)", field="layers")
        sets = [(entry, entry.backward, f"stack.{index}.") for index, entry in enumerate(given.stack)]
    else:
        if (given.layers or 1) > 1:
            raise BadInput(f"{given.layers} stacked layers need stack: one weight set per layer", field="stack")
        forward = DirectionWeights.model_construct(**{name: getattr(given, name) for name in _WEIGHT_FIELDS})
        sets = [(forward, given.backward, "")]
    for forward, backward, where in sets:
        if given.bidirectional and backward is None:
            raise BadInput("bidirectional: give the backward direction's weights under backward",
                           field=f"{where}backward")
        if not given.bidirectional and backward is not None:
            raise BadInput("backward holds the backward direction's weights: set bidirectional: true",
                           field=f"{where}backward")
    return sets


def _setup(given, weights, sequence: list, field: str):
    """The cell's own validated setup for one layer and direction; errors name the field in full."""
    from .rnn import build_setup

    sub = given.model_copy(update={**{name: getattr(weights, name) for name in _WEIGHT_FIELDS},
                                   "inputs": sequence, "stack": None, "backward": None,
                                   "bidirectional": False, "layers": None, "diagram": False})
    try:
        return build_setup(sub)
    except BadInput as error:
        if field and error.field != "inputs":
            error.field = field + error.field if error.field else field.rstrip(".")
        raise


ARROWS = {"forward": ("→", r"\overrightarrow"), "backward": ("←", r"\overleftarrow")}


def _marked(expr, arrow: tuple[str, str]):
    """The formula with every weight and state of one direction written with its arrow (h←(3),
    U←); names, and so the bound values, stay as they are. The input x(t) is shared."""
    from ...formula import Op, Sym

    if isinstance(expr, Sym):
        if expr.name.startswith("x["):
            return expr
        text, latex = expr.text_name(), expr.latex_name()
        head, bracket, rest = text.partition("(")
        text = f"{head}{arrow[0]}{bracket}{rest}" if bracket else text + arrow[0]
        return Sym(expr.name, text=text, latex=f"{arrow[1]}{{{latex}}}")
    if isinstance(expr, Op):
        return Op(expr.op, tuple(_marked(a, arrow) for a in expr.args))
    return expr


def _run(sol: Solution, ctx: Context, setup, reverse: bool, prefix: str,
         arrow: tuple[str, str] | None = None, checked: list | None = None) -> list:
    """One direction's forward steps into `sol`, answers renamed with `prefix` and, with both
    directions, every symbol marked with the direction's arrow; its states h(t). `checked`
    collects how far the worked states are from the cell's equations evaluated directly."""
    from .rnn import _cell_module, states_error

    module = _cell_module(setup.cell)
    block = Solution()
    ws = Worksheet(block, ctx)
    module.bind(ws, setup)
    if reverse:
        ws.bind(H.at(setup.steps + 1), setup.initial["h"])
        if setup.cell == "lstm":
            from ._rnn_gated import CELL

            ws.bind(CELL.at(setup.steps + 1), setup.initial["c"])
    module.forward(ws, setup, reverse=reverse)
    if checked is not None:
        checked.append(states_error(setup, ws.values, reverse))
    for step in block.steps:
        if step.answer is not None:
            step.answer = prefix + step.answer
        if arrow is not None and step.formula is not None:
            step.formula.lhs = _marked(step.formula.lhs, arrow)
            step.formula.expr = _marked(step.formula.expr, arrow)
        sol.steps.append(step)
    for name, value in block.answers.items():
        sol.set_answer(prefix + name, value)
    return [ws.value(H.at(t)) for t in range(1, setup.steps + 1)]


def _plain_sequence(states: list) -> list[list[float]]:
    return [[float(v) for v in state.reshape(-1)] for state in states]


def _check_fields(given) -> None:
    if given.cell not in CELLS:
        raise BadInput(f"stacked and bidirectional layers are worked for elman, lstm and gru cells, "
                       f"not {given.cell}", field="cell")
    for name in _SINGLE_ONLY:
        if getattr(given, name) is not None:
            raise BadInput(f"{name} is worked for one layer in one direction; stacked and bidirectional "
                           "layers give the hidden states", field=name)
    if given.inputs is None:
        raise BadInput("give the input sequence: one vector per time step", field="inputs")


def solve_stacked(sol: Solution, given, ctx: Context) -> None:
    from .rnn import _state_conventions, forward_check

    _check_fields(given)
    sets = _layer_sets(given)
    several = len(sets) > 1
    sequence = given.inputs
    rows, first = [], None
    checked = None if ctx.round_intermediate else []  # rounded steps cannot equal exact ones
    for l, (forward, backward, where) in enumerate(sets, 1):
        layer_name = f"layer{l}." if several else ""
        states = {}
        for direction, weights in (("forward", forward), ("backward", backward)):
            if weights is None:
                continue
            field = where + ("backward." if direction == "backward" else "")
            setup = _setup(given, weights, sequence, field)
            if first is None:
                first = setup
                _state_conventions(sol, setup)
                sol.convention(_convention(given, several))
            source = ("the input sequence x(t)" if l == 1 else
                      f"layer {l - 1}'s states: x(t) = [h→(t); h←(t)]" if given.bidirectional else
                      f"layer {l - 1}'s states: x(t) = h(t) of layer {l - 1}")
            mark = ARROWS[direction][0] if given.bidirectional else ""
            runs = "t = 1…T" if direction == "forward" else f"t = T…1 from h{mark}({setup.steps + 1}) = h0"
            title = (f"Layer {l}" if several else "The layer") + (f", {direction} direction" if given.bidirectional else "")
            sizes = f"{_count(setup.input_size, 'input')} → {_count(setup.hidden_size, 'unit')}"
            sol.note(f"{title} ({sizes}) reads {source}; it runs {runs}.")
            rows.append([l, direction, setup.input_size, setup.hidden_size])
            prefix = layer_name + ("backward." if direction == "backward" else "")
            states[direction] = _run(sol, ctx, setup, direction == "backward", prefix,
                                     ARROWS[direction] if given.bidirectional else None, checked)
        if "backward" in states:
            sequence = [f + b for f, b in zip(_plain_sequence(states["forward"]),
                                              _plain_sequence(states["backward"]))]
        else:
            sequence = _plain_sequence(states["forward"])
    sol.add("Layers and directions.", table=Table(["layer", "direction", "inputs", "units"], rows))
    shown = "[h→(t); h←(t)]" if given.bidirectional else "h(t)"
    sol.add(f"Outputs of the {'top ' if several else ''}layer at every step, {shown} (PyTorch's output).",
            table=Table(["t", "output"], [[t, values] for t, values in enumerate(sequence, 1)]))
    if given.diagram:
        from ._rnn_graph import cell_diagram

        sol.add(f"Computation graph of one {first.cell} cell.", diagram=cell_diagram(first.cell, first))
    if checked:
        where = {(True, True): " of every layer and direction", (True, False): " of every layer",
                 (False, True): " of both directions", (False, False): ""}[several, given.bidirectional]
        forward_check(sol, first.cell, checked, where)


def _convention(given, several: bool) -> str:
    parts = []
    if several:
        parts.append("stacked layers: layer l reads layer l − 1's state at the same step")
    if given.bidirectional:
        parts.append("bidirectional: the backward direction has its own weights and runs t = T…1, "
                     "fed by step t + 1; the next layer (and PyTorch's output) reads [h→(t); h←(t)], "
                     "forward first")
    names = ("answers layer{l}.h{t}" + (" and layer{l}.backward.h{t}" if given.bidirectional else "")
             if several else "answers h{t} (forward) and backward.h{t}")
    return "; ".join(parts) + f"; {names}"


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"
