"""A recurrent cell given as equations, e.g. the course's gated cell
    c = sigmoid(W_c*x + W_h*h_prev),   h = c*h_prev + (1 - c)*W_x*x.

Each equation goes through the safe parser with every name non-commuting, so a product keeps
the order it was written in: a matrix followed by a vector is the matrix product (Wᵀx under
`weights: in_out`), two vectors multiply element-wise (⊙), a number scales. `x` is the input
at step t, `NAME_prev` (or `NAME[t-1]`) the quantity NAME of the step before. The equations
are turned into the formula trees of the numeric kinds, so the steps show and compute them like
any other cell; with symbolic `sizes` only the dimensions are derived.
"""

from __future__ import annotations

import re
from typing import Any

from ...context import Context
from ...errors import BadInput
from ...formula import Sym
from ...inputs import matrix_shape, parse_shape
from ...steps import Solution, Table
from . import _rnn_values as rv
from ._rnn_equations import (INPUT, PREVIOUS, STATE_FIELDS, Cell, Converted, Converter, Equation,
                             shape_text, text_of)

STANDARD_PARAMS = ("U", "W", "b", "V", "c")
_PREVIOUS_INDEX = re.compile(r"([A-Za-z][A-Za-z0-9_]*)\s*\[\s*t\s*[-−]\s*1\s*\]")
_CURRENT_INDEX = re.compile(r"([A-Za-z][A-Za-z0-9_]*)\s*\[\s*t\s*\]")
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
# A name, number or closing bracket, then spaces, then a name, number or opening bracket.
_JUXTAPOSED = re.compile(r"([A-Za-z][A-Za-z0-9_]*|\d+(?:\.\d*)?|\))[ \t]+(?=[A-Za-z0-9(])")
FUNCTION_WORDS = {"sin", "cos", "tan", "exp", "log", "ln", "sqrt", "tanh", "sigmoid", "relu", "abs",
                  "erf", "max", "min", "asin", "acos", "atan", "sinh", "cosh", "Phi"}
_ELEMENTWISE = {"⊙": "*", "∘": "*", "⋅": "*"}


# --- reading the equations ------------------------------------------------------------------


def _normalise(text: str) -> str:
    """Course notation to parser input: h[t-1] -> h_prev, x[t] -> x, ⊙ -> *, and a product
    written by juxtaposition (`W_c x`) gets its `*`."""
    text = _PREVIOUS_INDEX.sub(lambda m: m.group(1) + PREVIOUS, text)
    text = _CURRENT_INDEX.sub(lambda m: m.group(1), text)
    for old, new in _ELEMENTWISE.items():
        text = text.replace(old, new)
    return _JUXTAPOSED.sub(_insert_product, text)


def _insert_product(match: re.Match) -> str:
    left = match.group(1)
    if left in FUNCTION_WORDS:  # `tanh (u)` is a call, not a product
        return match.group(0)
    return left + "*"


def _raw_equations(value) -> list[tuple[str, str, str]]:
    """(name, expression text, field path) from a mapping, a list of `name = expr`, or text."""
    if value is None:
        raise BadInput("a custom cell needs its equations, e.g. ['c = sigmoid(W_c*x + W_h*h_prev)', "
                       "'h = c*h_prev + (1 - c)*W_x*x']", field="equations")
    if isinstance(value, dict):
        return [(str(k), v if isinstance(v, str) else str(v), f"equations.{k}") for k, v in value.items()]
    if isinstance(value, str):
        value = [line for line in re.split(r"[;\n]", value) if line.strip()]
    if not isinstance(value, list) or not value:
        raise BadInput("equations must be a list of 'name = expression' or a mapping name: expression",
                       field="equations")
    out = []
    for index, line in enumerate(value):
        where = f"equations.{index}"
        if not isinstance(line, str) or line.count("=") != 1:
            raise BadInput(f"expected one equation 'name = expression', got {line!r}", field=where)
        name, expression = (part.strip() for part in line.split("="))
        out.append((name, expression, where))
    return out


def read_equations(given) -> list[tuple[Equation, str]]:
    seen: set[str] = set()
    result = []
    for name, expression, where in _raw_equations(given.equations):
        name = _normalise(name).strip()
        if not _NAME.match(name):
            raise BadInput(f"the left side {name!r} must be a name such as h or c", field=where)
        if name == INPUT or name.endswith(PREVIOUS):
            raise BadInput(f"{name!r} cannot be computed: x is the input and NAME_prev a previous "
                           "value", field=where)
        if name in seen:
            raise BadInput(f"{name} is defined twice", field=where)
        seen.add(name)
        result.append((Equation(name, _normalise(expression)), where))
    return result


# --- shapes --------------------------------------------------------------------------------------


def _declared_sizes(given) -> dict[str, tuple]:
    sizes = {}
    for name, value in (given.sizes or {}).items():
        try:
            shape = tuple(parse_shape(value, name=f"sizes.{name}"))
        except ValueError as exc:
            raise BadInput(str(exc), field=f"sizes.{name}") from None
        if len(shape) > 2:
            raise BadInput("a size is one number (a vector) or rows×columns (a matrix)", field=f"sizes.{name}")
        sizes[name] = shape
    return sizes


def _parameter_values(given) -> dict[str, tuple[Any, tuple]]:
    """Named weights with their shapes: `params` plus any of U, W, b, V, c given as fields."""
    import numpy as np

    values = {}
    for name in STANDARD_PARAMS:
        if getattr(given, name) is not None:
            values[name] = getattr(given, name)
    for name, value in (given.params or {}).items():
        if not _NAME.match(str(name)) or str(name) == INPUT or str(name).endswith(PREVIOUS):
            raise BadInput(f"{name!r} cannot name a weight", field=f"params.{name}")
        if name in values:
            raise BadInput(f"{name} is given twice (as a field and in params)", field=f"params.{name}")
        try:
            matrix_shape(value, name=f"params.{name}")
        except ValueError as exc:
            raise BadInput(str(exc), field=f"params.{name}") from None
        values[str(name)] = value
    out = {}
    for name, value in values.items():
        array = np.asarray(value, dtype=float)
        if array.ndim > 2:
            raise BadInput(f"{name} must be a number, a vector or a matrix", field=f"params.{name}")
        # A flat list is a vector (kept as a column); nested lists are a matrix, even 2×1.
        out[name] = (array.reshape(-1, 1), (array.size,)) if array.ndim == 1 else (array, array.shape)
    return out


# --- building the cell ------------------------------------------------------------------------------


def _parse_all(cell: Cell, pairs: list[tuple[Equation, str]]) -> None:
    from ...parse import parse_expression

    defined = [eq.name for eq, _ in pairs]
    names = set(cell.shapes) | set(defined) | {INPUT} | {n + PREVIOUS for n in defined}
    for index, (eq, where) in enumerate(pairs):
        try:
            eq.expr = parse_expression(eq.text, names, field=where, noncommutative=names)
        except (TypeError, ValueError) as exc:  # sympy refusing an operation on vectors
            raise BadInput(f"cannot use {eq.text!r} in a cell equation ({exc})", field=where) from None
        used = {str(s) for s in eq.expr.free_symbols}
        later = sorted(n for n in used if n in defined[index:])
        if later:
            raise BadInput(f"{later[0]} is computed {'here' if later[0] == eq.name else 'below'}; "
                           f"write {later[0]}_prev for its value at the step before", field=where)
        cell.states += [n[: -len(PREVIOUS)] for n in used if n.endswith(PREVIOUS)
                        and n[: -len(PREVIOUS)] not in cell.states]


def _initial_values(given, cell: Cell, params: dict) -> dict[str, Any]:
    values = {}
    for state in cell.states:
        field_name = STATE_FIELDS.get(state)
        raw = getattr(given, field_name) if field_name else None
        if raw is None and f"{state}0" in params:
            raw = params.pop(f"{state}0")
            cell.shapes.pop(f"{state}0", None)
        if raw is not None:
            values[state] = rv.column(raw, field_name or f"params.{state}0")
            cell.shapes.setdefault(state, (values[state].shape[0],))
    for name, field_name in STATE_FIELDS.items():
        if getattr(given, field_name) is not None and name not in cell.states:
            raise BadInput(f"{field_name} is the initial value of {name}, but no equation reads "
                           f"{name}_prev", field=field_name)
    return values


def _infer_state_shapes(cell: Cell, pairs) -> None:
    """A state's size is its equation's result size; try the equations until nothing changes."""
    for _ in range(len(pairs) + 1):
        changed = False
        for eq, where in pairs:
            if eq.name in cell.shapes:
                continue
            try:
                shape = _convert(cell, eq, where, 1).shape
            except BadInput:
                continue
            if shape is not None:
                cell.shapes[eq.name] = shape
                changed = True
        if not changed:
            break


def _convert(cell: Cell, eq: Equation, where: str, t) -> Converted:
    current, previous = _time_symbols(cell, t)
    return Converter(cell, current, previous, where, eq.text).convert(eq.expr)


def _time_symbols(cell: Cell, t) -> tuple[dict, dict]:
    before = t - 1 if isinstance(t, int) else "t−1"
    current = {INPUT: rv.name(INPUT).at(t)}
    current.update({eq.name: rv.name(eq.name).at(t) for eq in cell.equations})
    previous = {name: rv.name(name).at(before) for name in cell.states}
    return current, previous


def build_cell(given) -> tuple[Cell, list]:
    pairs = read_equations(given)
    params = _parameter_values(given)
    cell = Cell([eq for eq, _ in pairs], {}, layout=rv.Layout(given.weights))
    declared = _declared_sizes(given)
    for name, (_, shape) in params.items():
        cell.shapes[name] = shape
    for name, shape in declared.items():
        known = cell.shapes.get(name)
        if known is not None and known != shape:
            raise BadInput(f"sizes gives {name} as {shape_text(shape)} but its value is "
                           f"{shape_text(known)}", field=f"sizes.{name}")
        cell.shapes[name] = shape
    cell.values.update({name: value for name, (value, _) in params.items()})
    _parse_all(cell, pairs)
    initial = _initial_values(given, cell, cell.values)
    cell.values.update({f"{k}@0": v for k, v in initial.items()})
    return cell, pairs


# --- solving -----------------------------------------------------------------------------------------


def solve_custom(sol: Solution, given, ctx: Context) -> None:
    for name in ("gates", "activations"):
        if getattr(given, name) is not None:
            raise BadInput(f"{name} is not used by a custom cell: write the functions into the equations",
                           field=name)
    cell, pairs = build_cell(given)
    inputs = None
    if given.inputs is not None:
        inputs = [rv.column(x, f"inputs.{i}") for i, x in enumerate(given.inputs)]
        size = (inputs[0].shape[0],)
        if any(x.shape[0] != size[0] for x in inputs):
            raise BadInput("every input must have the same size", field="inputs")
        if cell.shapes.get(INPUT, size) != size:
            raise BadInput(f"sizes gives x as {shape_text(cell.shapes[INPUT])} but the inputs have "
                           f"{size[0]} values", field="sizes.x")
        cell.shapes[INPUT] = size
    if INPUT in _used_names(cell) and INPUT not in cell.shapes:
        raise BadInput("the size of the input x is unknown: give inputs (numbers) or sizes.x "
                       "(dimensions)", field="inputs")
    _infer_state_shapes(cell, pairs)
    sol.convention(cell.layout.convention().replace("(u = Uᵀx + Wᵀh + b)", "(W*x in an equation means Wᵀx)")
                   .replace("(u = Ux + Wh + b)", "(W*x in an equation means Wx)"))
    _dimension_steps(sol, cell, pairs)
    if given.diagram:
        from ._rnn_graph import custom_diagram

        sol.add("Computation graph of one step of the cell.",
                diagram=custom_diagram([(rv.name(eq.name).at("t"), _convert(cell, eq, where, "t").expr)
                                        for eq, where in pairs], cell.states))
    if inputs is None:
        if given.loss is not None or given.targets is not None:
            raise BadInput("gradients need numbers: give the inputs and the weights (params)", field="inputs")
        sol.note("No input sequence is given, so only the dimensions are derived.")
        return
    unresolved = [s for s in cell.states if s not in cell.shapes]
    if unresolved:
        raise BadInput(f"the size of {unresolved[0]} cannot be found: give {STATE_FIELDS.get(unresolved[0], 'sizes')}",
                       field=STATE_FIELDS.get(unresolved[0], "sizes"))
    ws, trees = _numeric_steps(sol, ctx, cell, pairs, inputs)
    if given.loss is not None or given.targets is not None:
        _gradients(sol, ctx, cell, pairs, inputs, ws, trees, given)


def _used_names(cell: Cell) -> set[str]:
    names = set()
    for eq in cell.equations:
        names |= {str(s) for s in eq.expr.free_symbols if not str(s).endswith(PREVIOUS)}
    return names


def _dimension_steps(sol: Solution, cell: Cell, pairs) -> None:
    rows = [[name, shape_text(shape), "given" if name != INPUT else "input at step t"]
            for name, shape in cell.shapes.items() if name not in {eq.name for eq in cell.equations}
            and name not in cell.states]
    for eq, where in pairs:
        converter = Converter(cell, *_time_symbols(cell, "t"), where, eq.text)
        result = converter.convert(eq.expr)
        if result.shape is None:
            raise BadInput(f"the size of {eq.name} cannot be found: give the initial value or `sizes` of "
                           "the states it reads", field=where)
        cell.shapes[eq.name] = result.shape
        reasons = "; ".join(converter.products)
        text = (f"Dimensions of {eq.name}(t) = {text_of(result.expr)}: "
                + (reasons + "; " if reasons else "")
                + "sums, element-wise products (⊙) and functions keep the size, "
                + f"so {eq.name}(t) is {shape_text(result.shape)}.")
        shape = list(result.shape)
        sol.add(text, value=_shape_value(shape), answer=f"shape_{eq.name}")
        sol.answer_latex[f"shape_{eq.name}"] = _shape_latex(shape)
        rows.append([f"{eq.name}(t)", shape_text(result.shape), "computed"])
    sol.add("Dimensions of every quantity (vectors are columns).",
            table=Table(["quantity", "size", "from"], rows))


def _shape_value(shape: list) -> list:
    return [s if isinstance(s, int) else str(s) for s in shape]


def _shape_latex(shape: list) -> str:
    return r"\mathbb{R}^{" + r" \times ".join(str(s) for s in shape) + "}" if shape else r"\mathbb{R}"


def _weights(cell: Cell) -> dict[str, Any]:
    return {name: value for name, value in cell.values.items() if "@" not in name}


def _numeric_steps(sol: Solution, ctx: Context, cell: Cell, pairs, inputs: list,
                   weights: dict | None = None):
    """The forward pass; returns the worksheet and each step's equation trees."""
    import numpy as np

    from ._rnn_common import Worksheet

    ws = Worksheet(sol, ctx)
    for name, value in (weights if weights is not None else _weights(cell)).items():
        ws.bind(Sym(name), value)
    for state in cell.states:
        start = cell.values.get(f"{state}@0")
        if start is None:
            start = np.zeros((cell.shapes[state][0], 1))
            sol.note(f"{state}(0) is not given: it starts at zeros.")
        ws.bind(rv.name(state).at(0), start)
    trees = {}
    for t, x in enumerate(inputs, 1):
        ws.bind(rv.name(INPUT).at(t), x)
        trees[t] = []
        for index, (eq, where) in enumerate(pairs):
            converted = _convert(cell, eq, where, t)
            prefix = f"t = {t}: " if index == 0 else ""
            ws.step(f"{prefix}{eq.name}({t}) ({shape_text(converted.shape)}).", rv.name(eq.name).at(t),
                    converted.expr, answer=f"{eq.name}{t}")
            trees[t].append((eq.name, converted.expr))
    return ws, trees


# --- gradients through time ----------------------------------------------------------------------


def output_quantity(cell: Cell) -> str:
    """The quantity the loss acts on: y if an equation defines it, else h, else the last one."""
    names = [eq.name for eq in cell.equations]
    return "y" if "y" in names else "h" if "h" in names else names[-1]


def _loss(ws, cell: Cell, loss: str, targets: list, output: str, answer: bool = True) -> float:
    from ...formula import Sym as Symbol
    from ._rnn_common import sum_expr

    size = cell.shapes[output][0]
    terms = []
    for t, target in enumerate(targets, 1):
        if target is None:
            continue
        ws.bind(rv.name("d").at(t), target)
        lhs = rv.name("L").at(t)
        ws.step(f"Loss at t = {t}.", lhs, rv.loss_expr(loss, rv.name(output).at(t), rv.name("d").at(t), size),
                field="targets")
        terms.append(lhs)
    return ws.step("Total loss over the sequence.", Symbol("J"), sum_expr(terms),
                   answer="J" if answer else None, field="targets")


def _gradients(sol: Solution, ctx: Context, cell: Cell, pairs, inputs, ws, trees, given) -> None:
    from ._rnn_common import finite_difference_check
    from ._rnn_custom_bptt import backward

    output = output_quantity(cell)
    if len(cell.shapes[output]) != 1:
        raise BadInput(f"the loss acts on {output}, which must be a vector", field="loss")
    targets = rv.read_targets(given.loss, given.targets, len(inputs), cell.shapes[output][0])
    sol.convention(rv.loss_convention(given.loss) + f" The loss acts on {output}(t), the cell's output.")
    _loss(ws, cell, given.loss, targets, output)
    weights = _weights(cell)
    sizes = {eq.name: cell.shapes[eq.name][0] for eq in cell.equations}
    backward(ws, trees, output, given.loss, targets, sizes,
             {name: cell.shapes[name] for name in weights}, cell.layout)
    if ctx.round_intermediate:
        return
    reached = {name: value for name, value in weights.items() if f"grad_{name}" in ws.values}

    def loss_of(changed: dict) -> float:
        scratch, _ = _numeric_steps(Solution(), Context(), cell, pairs, inputs, dict(weights, **changed))
        return float(_loss(scratch, cell, given.loss, targets, output, answer=False))

    finite_difference_check(sol, reached, {name: ws.values[f"grad_{name}"] for name in reached}, loss_of)
