"""Kind `conv-shape`: output sizes of convolution, pooling and transposed convolution, any
field solved as an unknown (`?`) from a given output, or a general formula for symbols.

1-D, 2-D and 3-D inputs, with or without channels; per-dimension or shared kernel, stride,
padding (a number, `same`, `valid`, `full`), dilation and output padding.
"""

from __future__ import annotations

import difflib
import itertools
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field, field_validator

from ...context import Context
from ...errors import BadInput, did_you_mean
from ...formula import Sym
from ...inputs import MAX_SIZE, KindInput, is_symbol, is_unknown, int_or_unknown, parse_shape
from ...registry import register
from ...rules import integer_rule, rule_text
from ...steps import Formula, Solution, Table
from . import _conv_arith as arith

_OPS = {
    "conv": "conv", "convolution": "conv",
    "pool": "pool", "pooling": "pool", "maxpool": "pool", "max-pool": "pool",
    "avgpool": "pool", "avg-pool": "pool",
    "transposed-conv": "transposed-conv", "conv-transpose": "transposed-conv",
    "transposed": "transposed-conv", "deconv": "transposed-conv",
}
_PADDING_WORDS = ("same", "valid", "full")
_FIELD_MINIMUM = {"kernel": 1, "stride": 1, "dilation": 1, "output_padding": 0}
_MAX_SEARCH = 2_000_000  # candidate combinations tried when several fields are unknown


def _no_padding_word(value, name: str):
    """same, valid and full name paddings: as a size they would be read as symbols and then
    taken for padding rules, so they are refused outside `padding`."""
    for size in value if isinstance(value, list) else [value]:
        if isinstance(size, str) and size.lower() in _PADDING_WORDS:
            raise ValueError(f"{name} cannot be {size!r}: same, valid and full are values of `padding`; "
                             "a symbol for a size needs another name")
    return value


class ConvShapeInput(KindInput):
    input: Any = Field(description="L, H×W, C×H×W or C×D×H×W (10x11, [3, 32, 32]); '?' to solve for it")
    kernel: Any = Field(description="one size for every dimension, or a list per dimension; '?' to solve for it")
    stride: Any = Field(1, description="one number, or a list per dimension; '?' to solve for it")
    padding: Any = Field(0, description="a number, same, valid, full, or a list per dimension; '?' to solve for it")
    dilation: Any = Field(1, description="one number, or a list per dimension")
    filters: Any = Field(None, description="output channels of a convolution (pooling keeps the channels)")
    op: str = Field("conv", description="conv, pool (maxpool, avgpool) or transposed-conv")
    output_padding: Any = Field(0, description="transposed convolution only; smaller than the stride or dilation")
    ceil_mode: bool = Field(False, description="pooling: PyTorch's ceil mode")
    dims: Literal[1, 2, 3] | None = Field(None, description="spatial dimensions, when the input shape leaves "
                                                            "them open")
    output: Any = Field(None, description="the output shape: a constraint when a field is '?'")
    layout: Literal["chw", "hwc"] = Field("chw", description="chw (channels first) or hwc (H×W×C)")

    @field_validator("input")
    @classmethod
    def _input(cls, value):
        return _no_padding_word(parse_shape(value, name="input"), "input")

    @field_validator("output")
    @classmethod
    def _output(cls, value):
        return None if value is None else _no_padding_word(parse_shape(value, name="output"), "output")

    @field_validator("kernel", "stride", "dilation", "output_padding")
    @classmethod
    def _sizes(cls, value, info):
        name, minimum = info.field_name, _FIELD_MINIMUM[info.field_name]
        if isinstance(value, (list, tuple)):
            sizes = [int_or_unknown(v, name=name, minimum=minimum) for v in value]
        elif isinstance(value, str) and any(sep in value for sep in "x×,"):
            sizes = parse_shape(value, name=name, minimum=minimum)
        else:
            sizes = int_or_unknown(value, name=name, minimum=minimum)
        return _no_padding_word(sizes, name)

    @field_validator("padding")
    @classmethod
    def _padding(cls, value):
        def one(v):
            if isinstance(v, str) and v.strip().lower() in _PADDING_WORDS:
                return v.strip().lower()
            if isinstance(v, str) and difflib.get_close_matches(v.strip().lower(), _PADDING_WORDS, 1, 0.75):
                raise ValueError(f"padding must be a number, same, valid, full, '?' or a symbol; "
                                 f"{v!r}{did_you_mean(v.strip().lower(), _PADDING_WORDS)}")
            return int_or_unknown(v, name="padding", minimum=0)

        if isinstance(value, (list, tuple)):
            return [one(v) for v in value]
        return one(value)

    @field_validator("filters")
    @classmethod
    def _filters(cls, value):
        return None if value is None else _no_padding_word(int_or_unknown(value, name="filters", minimum=1),
                                                           "filters")

    @field_validator("op")
    @classmethod
    def _op(cls, value):
        key = str(value).strip().lower()
        if key not in _OPS:
            raise ValueError(f"op must be conv, pool or transposed-conv, got {value!r}")
        return _OPS[key]


@dataclass
class Layout:
    """How the input splits into channels and spatial sizes."""

    channels: int | str | None
    sizes: list[int | str]
    labels: list[str]  # H, W, L, Z (depth)
    names: list[str]  # height, width, length, depth


_LABELS = {1: (["L"], ["length"]), 2: (["H", "W"], ["height", "width"]),
           3: (["Z", "H", "W"], ["depth", "height", "width"])}


def split_input(given: ConvShapeInput) -> Layout:
    shape = list(given.input)
    n = len(shape)
    if given.dims is not None:
        if n == given.dims:
            channels = None
        elif n == given.dims + 1:
            channels = shape.pop(-1 if given.layout == "hwc" else 0)
        else:
            raise BadInput(f"input has {n} sizes, which does not fit dims: {given.dims} "
                           f"({given.dims} spatial sizes, optionally with channels)", field="input")
    elif n == 1 or n == 2:
        channels = None
    elif n in (3, 4):
        channels = shape.pop(-1 if given.layout == "hwc" else 0)
    else:
        raise BadInput(f"input has {n} sizes; conv-shape takes 1 to 4 (C×D×H×W at most)", field="input")
    labels, names = _LABELS[len(shape)]
    return Layout(channels, shape, list(labels), list(names))


def _per_dim(value, n: int, name: str) -> list:
    if isinstance(value, list):
        if len(value) != n:
            raise BadInput(f"{name} has {len(value)} values but the input has {n} spatial "
                           f"dimension{'s' if n > 1 else ''}", field=name)
        return list(value)
    return [value] * n


def _is_shared(value) -> bool:
    return not isinstance(value, list)


@dataclass
class Setting:
    """One spatial dimension's numbers (padding already a number or a word)."""

    size: Any
    kernel: Any
    stride: Any
    padding: Any
    dilation: Any
    output_padding: Any


def forward_size(op: str, s: Setting, ceil_mode: bool) -> int:
    """The output size of one dimension, all fields known; BadInput when it cannot be."""
    if s.padding == "same":
        if op == "transposed-conv":
            return s.size * s.stride
        return arith.same_out(s.size, s.stride)
    padding = _numeric_padding(s)
    if op == "transposed-conv":
        return arith.transposed_out(s.size, s.kernel, s.stride, padding, s.dilation, s.output_padding)
    _check_pool_padding(op, s, padding)
    if op == "pool" and ceil_mode:
        out = arith.pool_out_ceil(s.size, s.kernel, s.stride, padding, s.dilation)
        if out < 1:
            raise _window_too_wide(s, padding, "input")
        return out
    if arith.effective_kernel(s.kernel, s.dilation) > s.size + 2 * padding:
        raise _window_too_wide(s, padding, "input")
    return arith.conv_out(s.size, s.kernel, s.stride, padding, s.dilation)


def _check_pool_padding(op: str, s: Setting, padding: int) -> None:
    """PyTorch's pooling layers refuse padding beyond half the kernel (⌊K/2⌋, whatever the
    dilation): a window could otherwise lie entirely in the padding."""
    if op == "pool" and 2 * padding > s.kernel:
        raise BadInput(f"pooling padding ({padding}) must be at most half the kernel "
                       f"(⌊{s.kernel}/2⌋ = {s.kernel // 2}), as PyTorch requires", field="padding")


def _window_too_wide(s: Setting, padding: int, name: str) -> BadInput:
    return BadInput(f"the kernel ({arith.effective_kernel(s.kernel, s.dilation)} wide with dilation) "
                    f"is larger than the padded {name} ({s.size} + 2·{padding} = {s.size + 2 * padding})",
                    field="kernel")


def _numeric_padding(s: Setting) -> int:
    if s.padding == "valid":
        return 0
    if s.padding == "full":
        return s.dilation * (s.kernel - 1)
    return s.padding


def _settings(given: ConvShapeInput, layout: Layout) -> list[Setting]:
    n = len(layout.sizes)
    per = {name: _per_dim(getattr(given, name), n, name)
           for name in ("kernel", "stride", "padding", "dilation", "output_padding")}
    return [Setting(layout.sizes[i], per["kernel"][i], per["stride"][i], per["padding"][i],
                    per["dilation"][i], per["output_padding"][i]) for i in range(n)]


def _state_conventions(sol: Solution, given: ConvShapeInput, settings: list[Setting]) -> None:
    if given.op == "conv":
        sol.convention("Convolution as in deep learning (cross-correlation); the output size "
                       "does not depend on kernel flipping.")
    if any(s.padding == "same" for s in settings):
        sol.convention("padding: same follows TF/Keras SAME: output ⌈H/S⌉, the odd padding pixel "
                       "on the right/bottom (PyTorch's 'same' agrees at stride 1).")
    if given.op == "pool":
        sol.convention("Pooling: stride defaults to 1 here when not given (PyTorch's own default "
                       "is the kernel size)." if "stride" not in given.model_fields_set
                       else "Pooling keeps the number of channels.")
        if given.ceil_mode:
            sol.convention("ceil_mode: PyTorch's rule — round up, then drop a last window that "
                           "would start beyond the input and left padding.")


# --- all fields known ---------------------------------------------------------------------


def _forward_steps(sol: Solution, op: str, s: Setting, label: str, name: str, ceil_mode: bool) -> int:
    size_sym = arith.size_symbol(label)
    out_sym = arith.out_symbol(label)
    bindings = {label: s.size, "K": s.kernel, "S": s.stride, "D": s.dilation, "A": s.output_padding}
    if s.padding == "same":
        if op == "transposed-conv":
            return sol.add(f"{name.capitalize()} with 'same' padding (transposed): {label}·S.",
                           Formula(out_sym, size_sym * arith.S, bindings))
        out = sol.add(f"{name.capitalize()} with 'same' padding: the output is ⌈{label}/S⌉.",
                      Formula(out_sym, arith.same_expr(size_sym), bindings))
        left, right = arith.same_padding(s.size, s.kernel, s.stride, s.dilation)
        total = sol.add(f"Total {name} padding that achieves it (clipped at 0); {left} before, "
                        f"{right} after.",
                        Formula(Sym(f"P_{label}", text="P_total", latex=r"P_{\mathrm{total}}"),
                                arith.same_total_padding_expr(size_sym, out_sym),
                                {**bindings, f"{label}_out": out}))
        del total
        return out
    if s.padding == "valid":
        sol.note(f"'valid' padding means no padding: P = 0 for the {name}.")
        bindings["P"] = 0
    elif s.padding == "full":
        bindings["P"] = sol.add(f"'full' padding pads every window position that still touches the "
                                f"input: P = D·(K − 1) for the {name}.",
                                Formula(arith.P, arith.full_padding_expr(), bindings))
    else:
        bindings["P"] = s.padding
    if op == "transposed-conv":
        if not s.output_padding < max(s.stride, s.dilation):
            raise BadInput(f"output_padding ({s.output_padding}) must be smaller than the stride or "
                           f"the dilation ({max(s.stride, s.dilation)})", field="output_padding")
        return sol.add(f"{name.capitalize()} of a transposed convolution.",
                       Formula(out_sym, arith.transposed_expr(size_sym), bindings))
    _check_pool_padding(op, s, bindings["P"])
    if arith.effective_kernel(s.kernel, s.dilation) > s.size + 2 * bindings["P"] and not (
            op == "pool" and ceil_mode and arith.pool_out_ceil(s.size, s.kernel, s.stride, bindings["P"],
                                                               s.dilation) >= 1):
        raise _window_too_wide(s, bindings["P"], name)
    if op == "pool" and ceil_mode:
        raw = sol.add(f"{name.capitalize()} with ceil mode: round up instead of down.",
                      Formula(out_sym, arith.ceil_expr(size_sym), bindings))
        if (raw - 1) * s.stride >= s.size + bindings["P"]:
            sol.note(f"The last window would start at {(raw - 1) * s.stride} ≥ {label} + P = "
                     f"{s.size + bindings['P']}, entirely in the right padding, so it is dropped: "
                     f"{label}_out = {raw - 1}.")
            return raw - 1
        return raw
    return sol.add(f"{name.capitalize()}: ⌊(input + 2·padding − dilation·(kernel − 1) − 1)/stride⌋ + 1.",
                   Formula(out_sym, arith.conv_expr(size_sym), bindings))


def _output_channels(sol: Solution, given: ConvShapeInput, layout: Layout):
    if given.op == "pool":
        if layout.channels is not None:
            sol.note(f"Pooling works on each channel separately: {layout.channels} channels in, "
                     f"{layout.channels} out.")
        return layout.channels
    if given.filters is not None:
        sol.note(f"Each of the {given.filters} filters gives one output channel"
                 + (f" (each filter is {layout.channels} deep, like the input)." if layout.channels is not None
                    else "."))
        return given.filters
    if layout.channels is not None:
        sol.note("The number of filters is not given, so the output channels are unknown; "
                 "the answer lists the spatial sizes only.")
    return None


def _shape_latex(shape: list) -> str:
    return r" \times ".join(str(v) for v in shape)


def _solve_forward(sol: Solution, given: ConvShapeInput, layout: Layout, settings: list[Setting]) -> None:
    sizes = [_forward_steps(sol, given.op, s, label, name, given.ceil_mode)
             for s, label, name in zip(settings, layout.labels, layout.names)]
    for size, name in zip(sizes, layout.names):
        if size < 1:
            raise BadInput(f"the output {name} would be {size}: the window does not fit", field="kernel")
    channels = _output_channels(sol, given, layout)
    shape = ([channels] if channels is not None else []) + sizes
    sol.set_answer("output", shape, _shape_latex(shape))
    if given.output is not None:
        wanted = list(given.output)
        if wanted not in (shape, sizes):
            raise BadInput(f"the given output {_shape_text(wanted)} does not match the computed "
                           f"{_shape_text(shape)}; mark the field to solve for with '?'", field="output")
        sol.check("the given output matches the computed shape", True, _shape_text(shape))


def _shape_text(shape: list) -> str:
    return " × ".join(str(v) for v in shape)


# --- unknowns (`?`) ------------------------------------------------------------------------


@dataclass
class Unknown:
    field: str  # kernel, stride, padding, dilation, output_padding, input
    dim: int | None  # None: one value shared by all dimensions

    @property
    def label(self) -> str:
        return self.field if self.dim is None else f"{self.field}[{self.dim}]"


def _wanted_sizes(given: ConvShapeInput, layout: Layout) -> tuple[list[int], Any]:
    if given.output is None:
        raise BadInput("a field marked '?' is solved from the output: give `output`", field="output")
    wanted = list(given.output)
    n = len(layout.sizes)
    if len(wanted) == n + 1:
        channels, spatial = wanted[0], wanted[1:]
    elif len(wanted) == n:
        channels, spatial = None, wanted
    else:
        raise BadInput(f"output has {len(wanted)} sizes but the input has {n} spatial "
                       f"dimension{'s' if n > 1 else ''}", field="output")
    if any(not isinstance(v, int) for v in spatial):
        raise BadInput("the output sizes must be numbers when solving for a '?'", field="output")
    return spatial, channels


def _search_range(field: str, settings: list[Setting], wanted: list[int]) -> range:
    """Every value that could matter: beyond these bounds the output can only repeat or break."""
    known = [v for s in settings for v in (s.size, s.kernel, s.stride, s.padding, s.dilation)
             if isinstance(v, int)] + wanted
    bound = min(2 * max(known + [1]) + 2, 4096)
    start = {"padding": 0, "output_padding": 0}.get(field, 1)
    return range(start, bound + 1)


def _collect_unknowns(given: ConvShapeInput, layout: Layout) -> list[Unknown]:
    unknowns = []
    for field in ("kernel", "stride", "padding", "dilation", "output_padding"):
        value = getattr(given, field)
        if isinstance(value, list):
            unknowns += [Unknown(field, i) for i, v in enumerate(value) if is_unknown(v)]
        elif is_unknown(value):
            unknowns.append(Unknown(field, None))
    unknowns += [Unknown("input", i) for i, v in enumerate(layout.sizes) if is_unknown(v)]
    return unknowns


def _assign(settings: list[Setting], unknowns: list[Unknown], values: tuple) -> list[Setting]:
    out = [Setting(**vars(s)) for s in settings]
    for unknown, value in zip(unknowns, values):
        attribute = "size" if unknown.field == "input" else unknown.field
        targets = range(len(out)) if unknown.dim is None else [unknown.dim]
        for i in targets:
            setattr(out[i], attribute, value)
    return out


def _solve_unknowns(sol: Solution, given: ConvShapeInput, layout: Layout, settings: list[Setting],
                    unknowns: list[Unknown]) -> None:
    wanted, wanted_channels = _wanted_sizes(given, layout)
    channels = _solve_channels(sol, given, layout, wanted_channels)
    spatial_unknowns = [u for u in unknowns]
    solutions: list[tuple] = []
    if spatial_unknowns:
        ranges = [_search_range(u.field, settings, wanted) for u in spatial_unknowns]
        combos = 1
        for r in ranges:
            combos *= len(r)
        if combos > _MAX_SEARCH:
            raise BadInput(f"too many unknowns to search ({combos:,} combinations); give more fields",
                           field=spatial_unknowns[0].field)
        for i, (s, label, name) in enumerate(zip(settings, layout.labels, layout.names)):
            sol.note(_equation_text(given.op, s, label, name, wanted[i], given.ceil_mode))
        for values in itertools.product(*ranges):
            candidate = _assign(settings, spatial_unknowns, values)
            if _fits(given.op, candidate, wanted, given.ceil_mode):
                solutions.append(values)
        if not solutions:
            raise BadInput(_no_solution_reason(given.op, spatial_unknowns, settings, wanted),
                           field=spatial_unknowns[0].field)
        unbounded = _unbounded_tails(given, settings, spatial_unknowns, solutions, ranges, wanted)
        if len(spatial_unknowns) == 1 and not unbounded[0] and solutions[-1][0] == ranges[0][-1]:
            solutions += _beyond_bound(given, settings, spatial_unknowns[0], solutions, ranges[0][-1], wanted)
        _report_solutions(sol, spatial_unknowns, solutions, ranges, unbounded)
        shown = solutions[:4]
        for values in shown:
            candidate = _assign(settings, spatial_unknowns, values)
            picked = ", ".join(f"{u.label} = {v}" for u, v in zip(spatial_unknowns, values))
            sizes = [_forward_check(sol, given.op, s, label, name, given.ceil_mode, picked)
                     for s, label, name in zip(candidate, layout.labels, layout.names)]
            sol.check(f"forward pass with {picked}", sizes == wanted,
                      f"gives {_shape_text(sizes)}, wanted {_shape_text(wanted)}")
        if len(solutions) > len(shown):
            sol.note(f"…and {len(solutions) - len(shown)} more solutions, each checked the same way.")
            for values in solutions[len(shown):]:
                candidate = _assign(settings, spatial_unknowns, values)
                assert _fits(given.op, candidate, wanted, given.ceil_mode)
    shape = ([channels] if channels is not None else []) + wanted
    sol.set_answer("output", shape, _shape_latex(shape))


def _solve_channels(sol: Solution, given: ConvShapeInput, layout: Layout, wanted_channels):
    channels = wanted_channels
    if is_unknown(given.filters):
        if given.op == "pool":
            raise BadInput("pooling has no filters to solve for", field="filters")
        if wanted_channels is None:
            raise BadInput("to find the number of filters, give the output with its channels "
                           "(e.g. 6x49x49)", field="output")
        sol.add("Every filter produces one output channel, so the number of filters equals the "
                "output depth.", Formula(Sym("F"), Sym("C_out", text="C_out", latex=r"C_{\mathrm{out}}"),
                                         {"C_out": wanted_channels}), answer="filters")
    elif given.filters is not None and wanted_channels is not None and given.filters != wanted_channels:
        raise BadInput(f"{given.filters} filters give {given.filters} output channels, not "
                       f"{wanted_channels}", field="filters")
    if is_unknown(layout.channels):
        if given.op != "pool":
            raise BadInput("the input channels cannot be found from the output size of a "
                           "convolution (they only set each filter's depth)", field="input")
        if wanted_channels is None:
            raise BadInput("give the output with its channels to find the input channels", field="output")
        sol.note(f"Pooling keeps the channels: the input has {wanted_channels}.")
        sol.set_answer("input", wanted_channels)
    if channels is None and given.op == "pool" and isinstance(layout.channels, int):
        channels = layout.channels
    return channels


def _fits(op: str, candidate: list[Setting], wanted: list[int], ceil_mode: bool) -> bool:
    for s, target in zip(candidate, wanted):
        if op == "transposed-conv" and not s.output_padding < max(s.stride, s.dilation):
            return False
        try:
            if forward_size(op, s, ceil_mode) != target:
                return False
        except BadInput:
            return False
    return True


def _equation_text(op: str, s: Setting, label: str, name: str, target: int, ceil_mode: bool) -> str:
    def show(value, symbol):
        return symbol if is_unknown(value) else str(value)

    h, k, st, p, d = (show(s.size, label), show(s.kernel, "K"), show(s.stride, "S"),
                      show(s.padding, "P"), show(s.dilation, "D"))
    if op == "transposed-conv":
        a = show(s.output_padding, "P_out")
        return f"{name.capitalize()}: {target} = ({h} − 1)·{st} − 2·{p} + {d}·({k} − 1) + {a} + 1."
    if s.padding == "same":
        return f"{name.capitalize()}: {target} = ⌈{h}/{st}⌉ ('same' padding)."
    bracket = ("⌈", "⌉") if (op == "pool" and ceil_mode) else ("⌊", "⌋")
    equation = (f"{name.capitalize()}: {target} = {bracket[0]}({h} + 2·{p} − {d}·({k} − 1) − 1)/{st}"
                f"{bracket[1]} + 1")
    if bracket[0] == "⌊":
        equation += (f"; the floor equals {target - 1} exactly when {target - 1}·{st} ≤ "
                     f"{h} + 2·{p} − {d}·({k} − 1) − 1 ≤ {target - 1}·{st} + {st} − 1")
    return equation + "."


def _unbounded_tails(given: ConvShapeInput, settings: list[Setting], unknowns: list[Unknown],
                     solutions: list[tuple], ranges, wanted: list[int]) -> list[bool]:
    """For each unknown, whether its solutions go on forever: a solution at the search bound
    that still fits with the value pushed to the largest size allowed (a stride larger than the
    padded input always gives one window, however large)."""
    tails = []
    for index in range(len(unknowns)):
        upper = ranges[index][-1]
        at_bound = [values for values in solutions if values[index] == upper]
        tails.append(any(_fits(given.op, _assign(settings, unknowns, values[:index] + (MAX_SIZE,)
                                                 + values[index + 1:]), wanted, given.ceil_mode)
                         for values in at_bound[:8]))
    return tails


def _beyond_bound(given: ConvShapeInput, settings: list[Setting], unknown: Unknown, solutions: list[tuple],
                  bound: int, wanted: list[int]) -> list[tuple]:
    """One unknown whose solutions reach the search bound but do not go on forever: the rest
    of them, found by going on past the bound until one does not fit."""
    more, value = [], bound + 1
    while value <= MAX_SIZE and _fits(given.op, _assign(settings, [unknown], (value,)), wanted, given.ceil_mode):
        more.append((value,))
        value += 1
    return more


def _report_solutions(sol: Solution, unknowns: list[Unknown], solutions: list[tuple], ranges,
                      unbounded: list[bool]) -> None:
    if len(unknowns) > 1:
        sol.add(f"Searching every integer combination gives {len(solutions)} solution"
                f"{'s' if len(solutions) != 1 else ''}.",
                table=Table([u.label for u in unknowns], [list(v) for v in solutions[:50]],
                            title="integer solutions" + (" (first 50)" if len(solutions) > 50 else "")))
    for index, unknown in enumerate(unknowns):
        found = sorted({values[index] for values in solutions})
        upper = ranges[index][-1]
        name = unknown.field if unknown.dim is None else unknown.label
        if unbounded[index]:
            rule = integer_rule(found, _first_of_tail(found, upper))
            sol.add(f"Every {unknown.label} from {_first_of_tail(found, upper)} upward gives the same "
                    f"output (the window always fits once): infinitely many solutions, "
                    f"{rule_text(rule)}.", value=rule, answer=name)
            continue
        value = found[0] if len(found) == 1 else found
        text = (f"The only integer solution: {unknown.label} = {found[0]}." if len(found) == 1 else
                f"All integer solutions for {unknown.label}: {', '.join(map(str, found[:30]))}"
                f"{', …' if len(found) > 30 else ''} (with stride > 1 the floor makes several work).")
        sol.add(text, value=value, answer=name)


def _first_of_tail(found: list[int], upper: int) -> int:
    start = upper
    while start - 1 in found:
        start -= 1
    return start


def _forward_check(sol: Solution, op: str, s: Setting, label: str, name: str, ceil_mode: bool,
                   picked: str) -> int:
    marker = Solution()
    size = _forward_steps(marker, op, s, label, name, ceil_mode)
    last = marker.steps[-1]
    if last.formula is not None:
        sol.add(f"Check {name} with {picked}:", last.formula)
    return size


def _no_solution_reason(op: str, unknowns: list[Unknown], settings: list[Setting], wanted: list[int]) -> str:
    names = ", ".join(u.label for u in unknowns)
    if op != "transposed-conv" and any(u.field == "stride" for u in unknowns):
        return (f"no integer {names} gives output {_shape_text(wanted)}: the window positions "
                "never line up with that many outputs")
    return (f"no integer value of {names} gives output {_shape_text(wanted)} "
            "(every candidate was tried; check the given sizes)")


# --- symbols: the general formula ------------------------------------------------------------


def _solve_symbolic(sol: Solution, given: ConvShapeInput, layout: Layout, settings: list[Setting]) -> None:
    import sympy

    from ...steps import Symbolic

    def sym(value):
        return sympy.Symbol(value) if isinstance(value, str) else sympy.Integer(value)

    # Built unevaluated so the formula reads as taught: ⌊(H + 2P − D(K − 1) − 1)/S⌋ + 1. Parts
    # made of numbers only are evaluated: ⌊31/S⌋ + 1 reads better than ⌊(32 − 1·(1 − 1) − 1)/S⌋ + 1,
    # and sympy's assumptions are unreliable on unevaluated numeric terms such as 1·(1 − 1).
    def symbolic(args) -> bool:
        return any(getattr(a, "free_symbols", None) for a in args)

    def add(*args):
        return sympy.Add(*args, evaluate=not symbolic(args))

    def mul(*args):
        return sympy.Mul(*args, evaluate=not symbolic(args))
    sizes = []
    for s, label, name in zip(settings, layout.labels, layout.names):
        h, k, st, d, a = sym(s.size), sym(s.kernel), sym(s.stride), sym(s.dilation), sym(s.output_padding)
        per_stride = sympy.Pow(st, -1, evaluate=False)
        if s.padding == "same":
            expr = mul(h, st) if given.op == "transposed-conv" else sympy.ceiling(mul(h, per_stride))
        else:
            p = (sympy.Integer(0) if s.padding == "valid" else mul(d, add(k, -1)) if s.padding == "full"
                 else sym(s.padding))
            if given.op == "transposed-conv":
                expr = add(mul(add(h, -1), st), mul(-2, p), mul(d, add(k, -1)), a, 1)
            else:
                span = mul(add(h, mul(2, p), mul(-1, d, add(k, -1)), -1), per_stride)
                rounding = sympy.ceiling if (given.op == "pool" and given.ceil_mode) else sympy.floor
                expr = add(rounding(span), 1)
        if given.op == "pool" and given.ceil_mode:
            sol.note("In ceil mode the result is one less when the last window would start in the "
                     "right padding.")
        sol.add(f"{name.capitalize()} of the output:", symbolic=Symbolic(
            expr, lhs=f"{label}_out", lhs_latex=rf"{label}_{{\mathrm{{out}}}}"))
        sizes.append(expr)
    if given.op == "pool":
        channels = None if layout.channels is None else sym(layout.channels)
    else:
        channels = None if given.filters is None else sym(given.filters)
    if channels is not None:
        sol.note("Each filter gives one output channel." if given.op != "pool"
                 else "Pooling keeps the channels.")
    shape = ([channels] if channels is not None else []) + sizes
    sol.set_answer("output", [sympy.sstr(v, order="none") for v in shape],
                   r" \times ".join(_latex_factor(v) for v in shape))
    formula = " x ".join(sympy.sstr(v, order="none") if v.is_Atom else f"({sympy.sstr(v, order='none')})"
                         for v in shape)
    sol.set_answer("formula", formula, r" \times ".join(_latex_factor(v) for v in shape))


def _latex_factor(value) -> str:
    import sympy

    text = sympy.latex(value, order="none")
    return text if value.is_Atom else rf"\left({text}\right)"


# --- entry point ------------------------------------------------------------------------------


def _has_symbol(given: ConvShapeInput, layout: Layout) -> bool:
    values = list(layout.sizes) + [layout.channels, given.filters]
    for field in ("kernel", "stride", "padding", "dilation", "output_padding"):
        value = getattr(given, field)
        values += value if isinstance(value, list) else [value]
    return any(is_symbol(v) and v not in _PADDING_WORDS for v in values)


@register(
    "conv-shape",
    ConvShapeInput,
    summary="Output size of a convolution, pooling or transposed convolution; solve any field "
            "marked '?' from the output, or give symbols for the general formula.",
    answers={"output": "output shape (channels first when known)",
             "<field>": "each unknown by its field name: one value or the sorted list of all solutions",
             "formula": "the general output shape when fields are symbols (string, LaTeX twin)"},
    example="--input 10x11 --kernel 3 --stride 2",
    template={"input": "3x32x32", "kernel": 5, "stride": 1, "padding": 0, "filters": 6},
)
def solve(given: ConvShapeInput, ctx: Context) -> Solution:
    sol = Solution()
    layout = split_input(given)
    if given.op == "pool" and given.filters is not None and not is_unknown(given.filters):
        raise BadInput("pooling has no filters; the channels stay as they are", field="filters")
    settings = _settings(given, layout)
    _state_conventions(sol, given, settings)
    unknowns = _collect_unknowns(given, layout)
    has_unknown = bool(unknowns) or is_unknown(given.filters) or is_unknown(layout.channels)
    if _has_symbol(given, layout):
        if has_unknown:
            raise BadInput("use either '?' unknowns (solved from the output) or symbols (for the "
                           "general formula), not both", field="input")
        _solve_symbolic(sol, given, layout, settings)
    elif has_unknown:
        _solve_unknowns(sol, given, layout, settings, unknowns)
    else:
        _solve_forward(sol, given, layout, settings)
    return sol
