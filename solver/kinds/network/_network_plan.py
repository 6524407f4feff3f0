"""From parsed layers to concrete ones: unknown fields (`?` or a symbol) solved from stated
output shapes, and every layer checked against the input it actually gets.

An unknown is solved at the first later layer whose output is stated (`-> SHAPE` or
`output:`): every integer combination of the unknowns in between is tried (they are few and
the ranges small), and those that reproduce the stated shape are kept — with stride > 1 the
floor can make several work, and all are reported. A symbol used twice is one unknown. An
`in` field (the input channels or features a layer expects) is read off the actual input.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from ...errors import BadInput
from ...formula import Sym, floor, to_text
from ...inputs import is_symbol, is_unknown
from ...steps import Formula, Solution
from ._network_grammar import PADDING_WORDS, LayerSpec
from ._network_shapes import (CONV_TYPES, POOL_TYPES, Layer, LayerError, Shape, expand, forward, input_size,
                              matches, wanted_channels)

SEARCH_FIELDS = ("out", "kernel", "stride", "padding", "dilation")
FIELD_SYMBOL = {"out": "C_out", "kernel": "K", "stride": "S", "padding": "P", "dilation": "D", "in": "C_in"}
CHANNEL_SETTERS = CONV_TYPES + ("separable", "fc", "embedding", "rnn", "lstm", "gru", "flatten", "residual", "concat")
MAX_COMBINATIONS = 1_000_000
MAX_ROWS = 20_000  # rows after repeats are unrolled: DenseNet-201 has about 1,000
RESERVED_ANSWERS = ("layers", "totals", "ratio", "compare")


@dataclass
class Unknown:
    name: str  # the symbol, or layer{l}.field for '?'
    refs: list[tuple[LayerSpec, str]] = field(default_factory=list)

    @property
    def shown(self) -> str:
        spec, name = self.refs[0]
        return self.name if "." not in self.name else FIELD_SYMBOL[name] + str(spec.index)


@dataclass
class Step:
    """One concrete layer with the shape it gets and the shape it gives."""

    layer: Layer
    input: Shape
    output: Shape


@dataclass
class BlockStep:
    """A residual or concat block: its branches (each a list of steps; empty = the identity),
    the join row where they meet, and the activation after a residual add."""

    name: str
    kind: str  # residual | concat
    input: Shape
    branches: list[tuple[str, list]]
    join: Step
    after: Step | None = None

    @property
    def output(self) -> Shape:
        return (self.after or self.join).output

    @property
    def layer(self) -> Layer:
        """The block's last row: its join, or the activation after it."""
        return (self.after or self.join).layer


@dataclass
class Plan:
    steps: list  # Step | BlockStep, in order


class SpecError(LayerError):
    """A layer deep inside a block that cannot take its input: which one, and on what."""

    def __init__(self, spec: LayerSpec, shape: Shape, error: LayerError):
        super().__init__(error.message, error.field)
        self.spec, self.shape = spec, shape


class JoinError(LayerError):
    """Branches whose outputs cannot be added or concatenated; the message is complete."""


def unknown_name(spec: LayerSpec, field_name: str, value: Any) -> str | None:
    if field_name not in SEARCH_FIELDS + ("in",):
        return None
    if is_unknown(value):
        return f"{spec.scope}layer{spec.index}.{field_name}"
    if is_symbol(value) and not (field_name == "padding" and value in PADDING_WORDS):
        return value
    return None


def layer_error(spec: LayerSpec, shape: Shape, error: LayerError, layout: str) -> BadInput:
    if isinstance(error, SpecError):
        spec, shape = error.spec, error.shape
    if isinstance(error, JoinError):
        return BadInput(error.message, field=spec.path)
    where = spec.path if "." not in spec.path or not error.field else f"{spec.path}.{error.field}"
    if spec.path == "layers":
        where = spec.path
    return BadInput(f"{spec.where} ({spec.source}) cannot take its input {shape.text(layout)}: "
                    f"{error.message}", field=where)


def step_output(steps: list) -> Shape:
    return steps[-1].output


class Planner:
    def __init__(self, specs: list[LayerSpec], shape: Shape, layout: str, sol: Solution,
                 answer_prefix: str = "", assignment: dict | None = None, name_prefix: str = "",
                 symbol_prefix: str | None = None):
        self.specs = specs
        self.input = shape
        self.layout = layout
        self.sol = sol
        self.prefix = answer_prefix
        self.symbols = answer_prefix if symbol_prefix is None else symbol_prefix  # a symbol's own answer
        self.names = name_prefix  # the row names' prefix inside a block ("block2.shortcut.")
        # Shared with the planners of the blocks inside, so that a symbol is one unknown throughout.
        self.assignment: dict[str, int] = {} if assignment is None else assignment
        self.unknowns: dict[str, Unknown] = {}
        for spec in specs:
            for name, value in spec.fields.items():
                var = unknown_name(spec, name, value)
                if var is not None:
                    self.unknowns.setdefault(var, Unknown(var)).refs.append((spec, name))
                    if spec.repeat > 1:
                        raise BadInput(f"{spec.where} ({spec.source}): a repeated layer cannot have an "
                                       f"unknown {name}; state it", field=spec.path)
            if spec.repeat > 1:
                _known_inside(spec)
        rows = sum(_row_count(spec) for spec in specs)
        if rows > MAX_ROWS:
            raise BadInput(f"the network unrolls to about {rows:,} rows (repeats multiply); at most "
                           f"{MAX_ROWS:,} are analysed", field=specs[0].path.split(".")[0])

    # --- concrete values ---------------------------------------------------------------------

    def values(self, spec: LayerSpec, assignment: dict) -> dict:
        """The spec's fields with solved unknowns filled in; an unsolved `in` is left out."""
        values = {}
        for name, value in spec.fields.items():
            var = unknown_name(spec, name, value)
            if var is None:
                values[name] = value
            elif var in assignment:
                values[name] = assignment[var]
            elif name != "in":
                raise AssertionError(f"unsolved {var}")
        return values

    def run_spec(self, spec: LayerSpec, shape: Shape, assignment: dict, prefix: str = "",
                 solving: bool = False) -> list:
        """Concrete steps of one spec (every copy of a repeated one) with their input and output
        shapes; LayerError if one cannot take its input. `solving`: unknowns inside a block are
        solved (with their steps) rather than required known, as in a trial of the search."""
        steps = []
        for copy in range(1, spec.repeat + 1):
            suffix = f".{copy}" if spec.repeat > 1 else ""
            if spec.branches:
                steps.append(self._run_block(spec, shape, prefix, suffix, solving))
                shape = steps[-1].output
                continue
            for layer in expand(spec, self.values(spec, assignment), shape, prefix, suffix):
                output = forward(layer, shape)
                steps.append(Step(layer, shape, output))
                shape = output
        return steps

    def _run_chain(self, specs: list[LayerSpec], shape: Shape, prefix: str) -> list:
        steps = []
        for spec in specs:
            try:
                steps += self.run_spec(spec, shape, self.assignment, prefix)
            except SpecError:
                raise
            except JoinError:
                raise
            except LayerError as error:
                raise SpecError(spec, shape, error) from None
            shape = steps[-1].output
            if spec.output is not None and not matches(shape, spec.output, self.layout):
                raise JoinError(f"{spec.where} ({spec.source}) gives {shape.text(self.layout)}, not the stated "
                                f"output {'×'.join(map(str, spec.output))}")
        return steps

    def _run_block(self, spec: LayerSpec, shape: Shape, prefix: str, suffix: str, solving: bool = False) -> BlockStep:
        name = prefix + (spec.name or f"block{spec.index}") + suffix
        branches = []
        for label, layers in spec.branches:
            names = f"{name}.{label + '.' if label else ''}"
            if solving and _has_unknowns(layers, self.assignment):
                # A branch with unknowns is a network of its own: solved from its stated shapes,
                # its answers under the branch's address (block2.layer1.kernel).
                planner = Planner(layers, shape, self.layout, self.sol, self.prefix + layers[0].scope,
                                  self.assignment, names, self.symbols)
                branches.append((label, planner.run().steps))
            else:
                branches.append((label, self._run_chain(layers, shape, names)))
        if spec.type == "residual" and len(branches) == 1:
            branches.append(("shortcut", []))
        ends = [(label, step_output(steps) if steps else shape, steps[-1].layer.name if steps else None)
                for label, steps in branches]
        join_type = "add" if spec.type == "residual" else "concat"
        output = _joined(spec, name, ends, self.layout)
        join = Step(Layer(spec, join_type, f"{name}.{join_type}", {"frozen": spec.fields.get("frozen", False)}),
                    shape, output)
        after = None
        if spec.fields.get("activation"):
            activation = spec.fields["activation"]
            after = Step(Layer(spec, activation, f"{name}.{activation}", {}), output, output)
        return BlockStep(name, spec.type, shape, branches, join, after)

    def searched(self, spec: LayerSpec) -> list[str]:
        return [var for name, value in spec.fields.items()
                if name in SEARCH_FIELDS and (var := unknown_name(spec, name, value)) is not None
                and var not in self.assignment]

    # --- the walk ----------------------------------------------------------------------------------

    def run(self) -> Plan:
        plan = Plan([])
        shape = self.input
        segment: list[LayerSpec] = []
        segment_input = shape
        for spec in self.specs:
            if segment and spec.branches and _has_unknowns([spec], self.assignment):
                raise BadInput(f"{spec.where} ({spec.type} block): its unknowns are solved inside it, so the "
                               f"unknowns before it need a stated output before the block", field=spec.path)
            if not segment and not self.searched(spec):
                shape = self._add(plan, spec, shape)
                continue
            if not segment:
                segment_input = shape
            segment.append(spec)
            if spec.output is None:
                continue
            self._solve_segment(segment, segment_input)
            for solved in segment:
                shape = self._add(plan, solved, shape)
            segment = []
        if segment:
            var = next(v for s in segment for v in self.searched(s))
            spec, name = self.unknowns[var].refs[0]
            raise BadInput(f"{spec.where} ({spec.source}): {name} is unknown ({self.unknowns[var].shown}) "
                           "but no layer from there on states its output shape to solve it from; add "
                           "`-> SHAPE` (compact) or `output:` to that layer or a later one", field=spec.path)
        return plan

    def _add(self, plan: Plan, spec: LayerSpec, shape: Shape) -> Shape:
        try:
            steps = self.run_spec(spec, shape, self.assignment, self.names, solving=True)
        except LayerError as error:
            raise layer_error(spec, shape, error, self.layout) from None
        self._derive_inputs(spec, shape)
        plan.steps += steps
        output = steps[-1].output
        if spec.output is not None and not matches(output, spec.output, self.layout):
            raise BadInput(f"{spec.where} ({spec.source}) turns its input {shape.text(self.layout)} into "
                           f"{output.text(self.layout)}, not the stated output "
                           f"{'×'.join(map(str, spec.output))}", field=spec.path)
        return output

    def _derive_inputs(self, spec: LayerSpec, shape: Shape) -> None:
        """An unknown `in` is what the layer actually receives."""
        value = spec.fields.get("in")
        var = unknown_name(spec, "in", value) if value is not None else None
        if var is None or var in self.assignment:
            return
        size = input_size(spec.type, shape)
        if size is None:
            raise BadInput(f"{spec.where} ({spec.source}): in has no meaning for token ids", field=spec.path)
        unknown = self.unknowns[var]
        channels = shape.form == "map" and spec.type in CONV_TYPES + ("separable", "batchnorm")
        what = ("its filters are as deep as its input has channels" if channels
                else "it takes every feature of its input")
        symbol = "C_in" if channels else "F_in"
        self.assignment[var] = self.sol.add(
            f"{spec.where}: {what} ({shape.text(self.layout)}).",
            Formula(Sym(unknown.shown), Sym(symbol), {symbol: size}))
        self._answer(unknown, size)

    # --- solving -----------------------------------------------------------------------------------

    def _solve_segment(self, segment: list[LayerSpec], shape: Shape) -> None:
        target = segment[-1].output
        names = list(dict.fromkeys(v for spec in segment for v in self.searched(spec)))
        ranges = [self._candidates(name, segment, shape, target) for name in names]
        total = 1
        for candidates in ranges:
            total *= len(candidates)
        if total > MAX_COMBINATIONS:
            raise BadInput(f"layers {segment[0].index}–{segment[-1].index} have too many unknown combinations "
                           f"({total:,}) to search; state more fields or intermediate outputs",
                           field=segment[0].path)
        solutions = []
        for combo in itertools.product(*ranges):
            trial = {**self.assignment, **dict(zip(names, combo))}
            if self._fits(segment, shape, trial, target):
                solutions.append(combo)
        if not solutions:
            shown = ", ".join(self.unknowns[n].shown for n in names)
            raise BadInput(f"no integer {shown} make{'s' if len(names) == 1 else ''} layer"
                           f"{'s' if len(segment) > 1 else ''} {segment[0].index}"
                           f"{'–' + str(segment[-1].index) if len(segment) > 1 else ''} turn "
                           f"{shape.text(self.layout)} into the stated {'×'.join(map(str, target))}",
                           field=segment[-1].path)
        self._report(names, solutions, ranges, segment, shape)

    def _fits(self, segment: list[LayerSpec], shape: Shape, trial: dict, target: list) -> bool:
        try:
            for spec in segment:
                shape = self.run_spec(spec, shape, trial)[-1].output
        except LayerError:
            return False
        return matches(shape, target, self.layout)

    def _candidates(self, name: str, segment: list[LayerSpec], shape: Shape, target: list) -> list[int]:
        unknown = self.unknowns[name]
        fields = {f for _, f in unknown.refs}
        if "out" in fields:
            spec = next(s for s, f in unknown.refs if f == "out")
            later = [s for s in segment if s.index > spec.index and s.type in CHANNEL_SETTERS]
            last = segment[-1]
            form = "map" if (last.type in CONV_TYPES + POOL_TYPES + ("separable",) and shape.form == "map") else "flat"
            channels = wanted_channels(form, target, self.layout, len(shape.spatial) if shape.form == "map" else 0)
            if spec not in segment or later or channels is None:
                raise BadInput(f"{spec.where} ({spec.source}): out ({unknown.shown}) cannot be found from "
                               "the stated shapes; state this layer's own output with its channels",
                               field=spec.path)
            return [channels]
        known = [v for v in shape.dims] + [v for v in target if isinstance(v, int)]
        for spec in segment:
            for value in spec.fields.values():
                if isinstance(value, int) and not isinstance(value, bool):
                    known.append(value)
        bound = min(2 * max(known + [1]) + 2, 1024)
        return list(range(0 if fields <= {"padding"} else 1, bound + 1))

    def _explain(self, segment: list[LayerSpec], shape: Shape, names: list[str]) -> None:
        spec = segment[-1]
        lines = (_equations(spec, shape, self, names)
                 if len(segment) == 1 and spec.type in CONV_TYPES + POOL_TYPES and shape.form == "map" else [])
        if lines:
            for line in lines:
                self.sol.note(line)
            return
        shown = ", ".join(self.unknowns[n].shown for n in names)
        which = (spec.where[0].upper() + spec.where[1:] if len(segment) == 1
                 else f"Layers {segment[0].index}–{spec.index}")
        kept = "the values that give it are kept" if len(names) == 1 else "the combinations that give it are kept"
        self.sol.note(f"{which} must turn {shape.text(self.layout)} into {'×'.join(map(str, spec.output))}: "
                      f"every integer value of {shown} is tried and {kept}.")

    def _report(self, names: list[str], solutions: list[tuple], ranges: list, segment, shape) -> None:
        channel_unknowns = [n for n in names if any(f == "out" for _, f in self.unknowns[n].refs)]
        for name in channel_unknowns:
            unknown = self.unknowns[name]
            spec = next(s for s, f in unknown.refs if f == "out")
            value = self.sol.add(f"{spec.where}: every filter (output unit) gives one channel of the "
                                 "stated output, so", Formula(Sym(unknown.shown), Sym("C_out"),
                                                              {"C_out": solutions[0][names.index(name)]}))
            self._answer(unknown, value)
        if len(channel_unknowns) < len(names):
            self._explain(segment, shape, names)
        for position, name in enumerate(names):
            unknown = self.unknowns[name]
            if name in channel_unknowns:
                continue
            found = sorted({combo[position] for combo in solutions})
            if len(found) == 1:
                text = f"The only integer solution: {unknown.shown} = {found[0]}."
            else:
                text = (f"All integer solutions for {unknown.shown}: {', '.join(map(str, found[:30]))}"
                        f"{', …' if len(found) > 30 else ''} (the floor lets several work).")
                if ranges[position][-1] in found:
                    text += f" The search stops at {ranges[position][-1]}; larger values work as well."
            self.sol.add(text, value=found[0] if len(found) == 1 else found)
            self._answer(unknown, found[0] if len(found) == 1 else found)
        chosen = solutions[0]
        if len(solutions) > 1:
            picked = ", ".join(f"{self.unknowns[n].shown} = {v}" for n, v in zip(names, chosen))
            self.sol.note(f"The layer table below uses the first solution, {picked}.")
        self.assignment.update(zip(names, chosen))

    def _answer(self, unknown: Unknown, value) -> None:
        for spec, field_name in unknown.refs:
            self.sol.set_answer(f"{self.prefix}layer{spec.index}.{field_name}", value)
        if "." not in unknown.name and unknown.name not in RESERVED_ANSWERS \
                and not unknown.name.startswith("layer"):
            self.sol.set_answer(f"{self.symbols}{unknown.name}", value)


def _row_count(spec: LayerSpec) -> int:
    """Rows a spec gives once its repeats are unrolled (a separable layer's two counted as two)."""
    inside = sum(_row_count(inner) for _, layers in spec.branches for inner in layers) + 2 if spec.branches else 2
    return spec.repeat * inside


def _known_inside(block: LayerSpec) -> None:
    """A repeated block is one description for several copies: every field inside it is given."""
    for spec in block.walk():
        if spec is block:
            continue
        for name, value in spec.fields.items():
            if unknown_name(spec, name, value) is not None:
                raise BadInput(f"{spec.where} ({spec.source}): a repeated block cannot have unknowns; "
                               f"state {name}", field=spec.path)


def _has_unknowns(specs: list[LayerSpec], assignment: dict) -> bool:
    return any(var is not None and var not in assignment
               for top in specs for spec in top.walk()
               for name, value in spec.fields.items() if (var := unknown_name(spec, name, value)) is not None)


def _joined(spec: LayerSpec, name: str, ends: list[tuple[str, Shape, str | None]], layout: str) -> Shape:
    """The shape where the branches meet; JoinError naming both shapes and where they come from."""
    def origin(label: str, layer_name: str | None) -> str:
        what = {"": "its layers", "shortcut": "the shortcut"}.get(label, label)
        return f"{what} give{'s' if label else ''} {{}} ({layer_name or 'the block input, unchanged'})"

    first_label, first_shape, first_layer = ends[0]
    for label, shape, layer_name in ends[1:]:
        if spec.type == "residual":
            if shape != first_shape:
                raise JoinError(f"{spec.where} (residual block {name}): "
                                + origin(first_label, first_layer).format(first_shape.text(layout)) + " but "
                                + origin(label, layer_name).format(shape.text(layout))
                                + "; to be added they must have the same shape (a projection shortcut "
                                  "such as `conv C 1 s=2` matches them)")
            continue
        if shape.form != first_shape.form or (shape.form == "map" and shape.spatial != first_shape.spatial) \
                or (shape.form == "sequence" and shape.steps != first_shape.steps) or shape.form == "tokens":
            raise JoinError(f"{spec.where} (concat block {name}): "
                            + origin(first_label, first_layer).format(first_shape.text(layout)) + " but "
                            + origin(label, layer_name).format(shape.text(layout))
                            + "; branches are joined along channels, so every other size must agree")
    if spec.type == "residual":
        return first_shape
    width = sum(shape.dims[0] if shape.form in ("map", "vector") else shape.dims[-1] for _, shape, _ in ends)
    if first_shape.form == "sequence":
        return Shape("sequence", (first_shape.steps, width))
    return Shape(first_shape.form, tuple([width] + list(first_shape.dims[1:])))


def _equations(spec: LayerSpec, shape: Shape, planner: Planner, names: list[str]) -> list[str]:
    """`49 = ⌊(55 + 2·0 − 1·(F1 − 1) − 1)/1⌋ + 1` for each spatial dimension of a conv/pool layer."""
    from ..conv import _conv_arith as arith

    target = list(spec.output)
    spatial = target
    if len(target) == len(shape.spatial) + 1:
        spatial = target[:-1] if planner.layout == "hwc" else target[1:]
    symbols = {}
    bindings = {}
    for key in ("kernel", "stride", "padding", "dilation"):
        value = spec.fields.get(key, 1 if key != "padding" else 0)
        if key == "stride" and "stride" not in spec.fields and spec.type in POOL_TYPES:
            value = spec.fields.get("kernel")
        var = unknown_name(spec, key, value)
        letter = FIELD_SYMBOL[key]
        if isinstance(value, str) and var is None:
            return []  # a padding word: the plain search note explains it instead
        if var is not None and var not in planner.assignment:
            symbols[letter] = Sym(letter, text=planner.unknowns[var].shown)
        else:
            symbols[letter] = Sym(letter)
            known = planner.assignment.get(var, value) if var else value
            if isinstance(known, list):
                if len(set(known)) > 1:
                    return []  # a different size per dimension: the plain search note instead
                known = known[0]
            bindings[letter] = known
    lines = []
    labels = shape.labels
    distinct = {(size, want) for size, want in zip(shape.spatial, spatial)}
    for size, want, label in zip(shape.spatial, spatial, labels):
        if (size, want) not in distinct:
            continue
        distinct.discard((size, want))
        h = Sym(label)
        if spec.type == "convtranspose":
            expr = arith.transposed_expr(h)
        else:
            two = Sym("two", text="2")  # bound, so that it reads 2·p2 rather than 2p2
            expr = floor((h + two * symbols["P"] - symbols["D"] * (symbols["K"] - 1) - 1) / symbols["S"]) + 1
        text = to_text(expr, {**bindings, label: size, "two": 2})
        lines.append(f"{spec.where}, output {label}: {want} = {text}.")
    return lines
