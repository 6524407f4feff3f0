"""Kind `conv-design`: choose the padding or stride that gives a wanted output size, or
express average pooling as a convolution (its kernel values, stride and padding)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from ...context import Context
from ...errors import BadInput
from ...formula import Sym
from ...inputs import KindInput, int_or_unknown
from ...registry import register
from ...rules import integer_rule, rule_text
from ...steps import Formula, Solution
from . import _conv_arith as arith

_OUT = Sym("H_out", text="H_out", latex=r"H_{\mathrm{out}}")
_H = Sym("H")


def _positive(value, name, minimum=1):
    if value is None:
        return None
    result = int_or_unknown(value, name=name, minimum=minimum)
    if not isinstance(result, int):
        raise ValueError(f"{name} must be a number here (leave it out to solve for it)")
    return result


class ConvDesignInput(KindInput):
    input: Any = Field(None, description="input size (one spatial dimension; square maps use one number)")
    kernel: Any = Field(None, description="kernel size")
    output: Any = Field(None, description="wanted output size, or 'same'")
    stride: Any = Field(None, description="stride (leave out to solve for it)")
    padding: Any = Field(None, description="padding per side (leave out to solve for it)")
    dilation: Any = Field(1, description="dilation")
    pool: Literal["avg", "max"] | None = Field(None, description="express this pooling as a convolution")
    pool_kernel: Any = Field(None, description="pooling window")
    pool_stride: Any = Field(None, description="pooling stride (default: the window)")
    pool_padding: Any = Field(0, description="pooling padding")
    channels: Any = Field(None, description="channels, for the depthwise form of pooling")

    @field_validator("input", "kernel", "dilation", "pool_kernel", "pool_stride", "channels")
    @classmethod
    def _sizes(cls, value, info):
        if isinstance(value, (list, tuple)):
            raise ValueError(f"{info.field_name} must be one number (one spatial dimension)")
        return _positive(value, info.field_name)

    @field_validator("stride")
    @classmethod
    def _stride(cls, value):
        return None if value is None or value == "?" else _positive(value, "stride")

    @field_validator("padding", "pool_padding")
    @classmethod
    def _padding(cls, value, info):
        return None if value is None or value == "?" else _positive(value, info.field_name, minimum=0)

    @field_validator("output")
    @classmethod
    def _output(cls, value):
        if isinstance(value, str) and value.strip().lower() == "same":
            return "same"
        return _positive(value, "output")

    @model_validator(mode="after")
    def _mode(self):
        if self.pool is None:
            missing = [n for n in ("input", "kernel", "output") if getattr(self, n) is None]
            if missing:
                raise ValueError(f"give {', '.join(missing)} (or `pool` to express pooling as a convolution)")
            if self.stride is None and self.padding is None:
                raise ValueError("give the stride to find the padding, or the padding to find the stride")
        elif self.pool_kernel is None:
            raise ValueError("pooling as a convolution needs pool_kernel")
        return self


def _bindings(given: ConvDesignInput, **extra) -> dict:
    return {"H": given.input, "K": given.kernel, "D": given.dilation, **extra}


def _wanted(sol: Solution, given: ConvDesignInput, stride: int | None) -> int:
    if given.output != "same":
        return given.output
    if stride is None:
        raise BadInput("with output 'same' give the stride; 'same' then means ⌈H/S⌉", field="stride")
    return sol.add("'same' output size (TF/Keras convention: ⌈H/S⌉; the input size at stride 1).",
                   Formula(_OUT, arith.same_expr(_H), {"H": given.input, "S": stride}))


def _solve_padding(sol: Solution, given: ConvDesignInput) -> None:
    stride = given.stride
    wanted = _wanted(sol, given, stride)
    exact = sol.add("Solving H_out = (H + 2P − D(K − 1) − 1)/S + 1 for P (windows that tile exactly):",
                    Formula(arith.P, ((_OUT - 1) * arith.S - _H + arith.D * (arith.K - 1) + 1) / 2,
                            _bindings(given, S=stride, H_out=wanted)))
    found = _paddings(given.input, given.kernel, stride, given.dilation, wanted)
    if not found:
        reason = (f"no padding works: with stride {stride} the output grows by 1 for every {stride} "
                  f"extra pixels, and P = {_fraction(exact)} is not a whole number ≥ 0"
                  if exact < 0 or not _is_whole(exact) else "no padding works")
        sol.note(reason + ".")
        sol.set_answer("padding", reason)
        return
    sol.add(("The only padding that gives " if len(found) == 1 else "Every padding that gives ")
            + f"{wanted}: " + ", ".join(map(str, found))
            + ("" if len(found) == 1 else " (the floor in the formula lets several work)") + ".",
            value=found[0] if len(found) == 1 else found, answer="padding")
    for p in found[:3]:
        _forward(sol, given, stride, p)


def _solve_stride(sol: Solution, given: ConvDesignInput) -> None:
    padding = given.padding
    if given.output == "same":
        raise BadInput("to find the stride, give the output size as a number", field="output")
    wanted = given.output
    padded = given.input + 2 * padding
    if arith.effective_kernel(given.kernel, given.dilation) > padded:
        raise BadInput(f"the kernel does not fit the padded input ({padded})", field="kernel")
    span = padded - arith.effective_kernel(given.kernel, given.dilation)
    sol.add("The window can move this many pixels:",
            Formula(Sym("R", text="room", latex=r"\mathrm{room}"), _H + 2 * arith.P - arith.D * (arith.K - 1) - 1,
                    _bindings(given, P=padding)))
    found = _strides(span, wanted)
    if wanted == 1:  # one window: every stride larger than the room it has works
        rule = integer_rule([], span + 1)
        sol.add(f"One output needs a stride larger than the room the window has ({span}): "
                f"{rule_text(rule)}.", value=rule, answer="stride")
        _forward(sol, given, span + 1, padding)
        return
    if not found:
        reason = (f"no stride works: {wanted} outputs need (H_out − 1)·S ≤ {span} < H_out·S, "
                  "and no whole S satisfies both")
        sol.note(reason + ".")
        sol.set_answer("stride", reason)
        return
    exact = [s for s in found if span % s == 0]
    sol.add(("The stride that gives " if len(found) == 1 else "Every stride that gives ")
            + f"{wanted}: {', '.join(map(str, found))}"
            + (f"; the windows tile the input exactly for {', '.join(map(str, exact))}" if exact
               else "; none tiles exactly (the last pixels are not covered)") + ".",
            value=found[0] if len(found) == 1 else found, answer="stride")
    for s in found[:3]:
        _forward(sol, given, s, padding)


def _paddings(size: int, kernel: int, stride: int, dilation: int, wanted: int) -> list[int]:
    """Every P ≥ 0 with ⌊(size + 2P − D(K−1) − 1)/S⌋ + 1 = wanted, from the two inequalities
    (wanted−1)·S ≤ size + 2P − D(K−1) − 1 ≤ (wanted−1)·S + S − 1, with the kernel fitting."""
    base = size - dilation * (kernel - 1) - 1
    low = max(0, -(-((wanted - 1) * stride - base) // 2), -(-(arith.effective_kernel(kernel, dilation) - size) // 2))
    high = ((wanted - 1) * stride + stride - 1 - base) // 2
    return list(range(low, high + 1))


def _strides(span: int, wanted: int) -> list[int]:
    """Every S ≥ 1 with ⌊span/S⌋ = wanted − 1 (span: pixels the window can move). One output
    needs S > span; then every larger stride gives the same, so the smallest is listed."""
    if wanted == 1:
        return [span + 1]
    low = span // wanted + 1  # S > span / wanted
    high = span // (wanted - 1)  # S ≤ span / (wanted − 1)
    return list(range(max(low, 1), high + 1))


def _check_both(sol: Solution, given: ConvDesignInput) -> None:
    out = _forward(sol, given, given.stride, given.padding)
    wanted = _wanted(sol, given, given.stride)
    span = given.input + 2 * given.padding - arith.effective_kernel(given.kernel, given.dilation)
    tiles = span % given.stride == 0
    sol.note(f"(H + 2P − D(K − 1) − 1) = {span} is {'' if tiles else 'not '}a multiple of the stride "
             f"{given.stride}: the windows {'tile the input exactly' if tiles else 'leave the last pixels uncovered'}.")
    sol.set_answer("output", out)
    sol.set_answer("possible", out == wanted and tiles)
    sol.note(f"Wanted {wanted}: " + ("possible." if out == wanted and tiles else
                                     "possible, but not every pixel is used." if out == wanted else
                                     f"not possible with these settings (they give {out})."))


def _forward(sol: Solution, given: ConvDesignInput, stride: int, padding: int) -> int:
    bindings = _bindings(given, S=stride, P=padding)
    return sol.add(f"Check with S = {stride}, P = {padding}:",
                   Formula(_OUT, arith.conv_expr(_H), bindings))


def _is_whole(value) -> bool:
    return getattr(value, "denominator", 1) == 1


def _fraction(value) -> str:
    return str(value)


def _pooling_as_conv(sol: Solution, given: ConvDesignInput) -> None:
    if given.pool == "max":
        raise BadInput("max pooling is not linear, so no convolution (a weighted sum) can express it; "
                       "only average pooling can", field="pool")
    k = given.pool_kernel
    stride = given.pool_stride or k
    sol.convention("Average pooling with padding counts the zero padding in the average "
                   "(PyTorch's count_include_pad=True), which is exactly a convolution.")
    weight = sol.add(f"Each output is the mean of a {k}×{k} window: a {k}×{k} kernel whose weights "
                     "are all 1/K².", Formula(Sym("w"), 1 / (arith.K * arith.K), {"K": k}))
    sol.set_answer("pool_kernel", k)
    sol.add(f"The convolution moves like the pooling window: stride {stride}.", value=stride,
            answer="pool_stride")
    sol.set_answer("pool_padding", given.pool_padding)
    values = [[weight] * k for _ in range(k)]
    sol.add("Kernel values:", value=values, answer="kernel_values")
    if given.channels:
        sol.note(f"With {given.channels} channels, pooling acts on each channel alone: use a depthwise "
                 f"convolution (groups = {given.channels}), or a full kernel of shape "
                 f"{given.channels}×{given.channels}×{k}×{k} that is this matrix where input channel = "
                 "output channel and zero elsewhere. No bias.")
    if given.input is not None:
        out = sol.add("Output size (same formula as a convolution):",
                      Formula(_OUT, arith.conv_expr(_H), {"H": given.input, "K": k, "S": stride,
                                                         "P": given.pool_padding, "D": 1}))
        sol.set_answer("output", out)


@register(
    "conv-design",
    ConvDesignInput,
    summary="Find the padding or stride that gives a wanted output size; express average pooling "
            "as a convolution.",
    answers={"padding": "the padding (or all of them, or why none exists)",
             "stride": "the stride (or all of them, or why none exists)",
             "output": "the output size, when stride and padding are both given",
             "possible": "whether both given settings give the wanted size with every pixel used",
             "pool_kernel": "kernel size of the equivalent convolution",
             "pool_stride": "its stride", "pool_padding": "its padding",
             "kernel_values": "its kernel (all 1/K²)"},
    example="--input 32 --kernel 5 --output same --stride 1",
    template={"input": 32, "kernel": 5, "stride": 1, "output": "same"},
)
def solve(given: ConvDesignInput, ctx: Context) -> Solution:
    sol = Solution()
    if given.pool is not None:
        _pooling_as_conv(sol, given)
    elif given.padding is None:
        _solve_padding(sol, given)
    elif given.stride is None:
        _solve_stride(sol, given)
    else:
        _check_both(sol, given)
    return sol
