"""Kind `activation`: values and derivatives of an activation function at given points, each
from its formula; softmax with the max-shift shown and its Jacobian; an optional plot."""

from __future__ import annotations

from functools import partial
from typing import Any

from pydantic import Field, field_validator

from ...context import Context
from ...formula import Num, Sym, call, total
from ...activations import choose
from ...inputs import KindInput, parse_int_list
from ...registry import register
from ...steps import Figure, Formula, Solution
from . import _activations as act

FUNCTION_NAMES = (*act.NAMES, "softmax")
MAX_POINTS = 1000
Z = Sym("z")
M = Sym("m")
S = Sym("s")


class ActivationInput(KindInput):
    function: str = Field(description="relu, leaky-relu, elu, gelu (x·σ(1.702x)), gelu-exact, sigmoid, "
                                      "tanh or softmax")
    points: Any = Field(description="a number or a list of numbers (softmax: the input vector)")
    alpha: float | None = Field(None, description="leaky-relu slope (0.01) or elu scale (1)")
    plot: bool = Field(False, description="plot the function and its derivative in written keys")

    @field_validator("function")
    @classmethod
    def _function(cls, value):
        return choose(value, FUNCTION_NAMES, name="function", fold=act.FOLD, suggest=True,
                      message="unknown function {value}{suggestion}; functions: {options}")

    @field_validator("points")
    @classmethod
    def _points(cls, value):
        if isinstance(value, str):
            value = parse_int_list(value, name="points")
        items = value if isinstance(value, list) else [value]
        if not items:
            raise ValueError("points is empty")
        if len(items) > MAX_POINTS:
            raise ValueError(f"at most {MAX_POINTS} points, each is worked out in full")
        for item in items:
            if isinstance(item, bool) or not isinstance(item, (int, float)):
                raise ValueError(f"points must be numbers, got {item!r}")
            if item != item or abs(item) == float("inf"):
                raise ValueError("points must be finite numbers")
        return value

    @field_validator("alpha")
    @classmethod
    def _alpha_fits(cls, value, info):
        function = info.data.get("function")
        if value is not None and function is not None and function not in act.DEFAULT_ALPHA:
            raise ValueError(f"alpha is a parameter of {' and '.join(act.DEFAULT_ALPHA)}, not of {function}")
        return value


def _point_list(given: ActivationInput) -> list:
    return given.points if isinstance(given.points, list) else [given.points]


def _at(function: act.Activation, x, prime: bool = False) -> Sym:
    shown = repr(x) if isinstance(x, float) else str(x)
    mark = "′" if prime else ""
    latex_mark = "'" if prime else ""
    return Sym(f"f_{'d' if prime else 'v'}_{shown}", text=f"{function.text}{mark}({shown.replace('-', '−')})",
               latex=rf"{function.latex}{latex_mark}({shown})")


def _number_text(x) -> str:
    return (repr(x) if isinstance(x, float) else str(x)).replace("-", "−")


def _pointwise(sol: Solution, ctx: Context, given: ActivationInput) -> tuple[list, list]:
    function = act.ACTIVATIONS[given.function]
    alpha = act.DEFAULT_ALPHA.get(given.function) if given.alpha is None else given.alpha
    sol.convention(function.definition + (f", α = {alpha}" if function.takes_alpha else "") + ".")
    if given.function in ("relu", "leaky-relu", "elu"):
        sol.convention("At x = 0 the derivative is the left branch's (PyTorch's choice).")
    values, derivatives = [], []
    for x in _point_list(given):
        branch = function.branch(x)
        why = f" ({branch.condition})" if branch.condition else ""
        value = ctx.hand_round(sol.add(f"Value at x = {_number_text(x)}{why}:",
                                       Formula(_at(function, x), branch.value, act.bindings(x, alpha))))
        in_terms_of_f = function.from_output
        text = (f"Derivative at x = {_number_text(x)}, from the value f = {function.label}({_number_text(x)}):"
                if in_terms_of_f else f"Derivative at x = {_number_text(x)}{why}:")
        derivative = ctx.hand_round(sol.add(text, Formula(_at(function, x, prime=True), branch.derivative,
                                                          act.bindings(x, alpha, value))))
        values.append(value)
        derivatives.append(derivative)
    return values, derivatives


U = Sym("u")
E = Sym("e")
E_SUM = Sym("e_sum", text="Σe", latex=r"\Sigma e")


def _stable_softmax(sol: Solution, ctx: Context, points: list) -> tuple[list, list]:
    import numpy as np

    sol.convention("softmax(z)ᵢ = e^(zᵢ − m)/Σⱼ e^(zⱼ − m) with m = max z: subtracting the maximum "
                   "leaves the result unchanged and keeps every exponent ≤ 0 (no overflow).")
    z = np.array(points)
    m = ctx.hand_round(sol.add("The largest input:",
                               Formula(M, call("max", *points) if len(points) > 1 else Num(points[0]))))
    u = ctx.hand_round(sol.add("Shift every input by the maximum:", Formula(U, Z - M, {"z": z, "m": m})))
    e = ctx.hand_round(sol.add("Exponentials of the shifted inputs:",
                               Formula(E, call("exp", U), {"u": np.asarray(u, dtype=float)})))
    e_sum = ctx.hand_round(sol.add("Their sum:", Formula(E_SUM, total(E), {"e": np.asarray(e)})))
    s = ctx.hand_round(sol.add("Softmax: each exponential over the sum.",
                               Formula(S, E / E_SUM, {"e": np.asarray(e), "e_sum": e_sum})))
    column = np.asarray(s, dtype=float).reshape(-1, 1)
    jacobian = ctx.hand_round(sol.add(
        "Jacobian ∂sᵢ/∂zⱼ = sᵢ(δᵢⱼ − sⱼ), that is diag(s) − s sᵀ:",
        Formula(Sym("J"), call("diag", S) - S @ S.T, {"s": column}, substitute=False)))
    return _plain(s), _plain(jacobian)


def _plain(value):
    return value.tolist() if hasattr(value, "tolist") else value


def plot_chart(given: ActivationInput, points: list, values: list, derivatives: list):
    """The function and its derivative over the points' range (at least −3…3), points marked."""
    from ...svgplot import PALETTE, Chart, Series

    low, high = min(points + [-3]), max(points + [3])
    margin = 0.1 * (high - low)
    xs = [low - margin + (high - low + 2 * margin) * k / 399 for k in range(400)]
    alpha = act.DEFAULT_ALPHA.get(given.function) if given.alpha is None else given.alpha
    label = act.ACTIVATIONS[given.function].label
    chart = Chart(title=act.ACTIVATIONS[given.function].definition, xlabel="x", zero_lines=True, grid=False)
    chart.add(Series(xs, [act.value(given.function, x, alpha) for x in xs], f"{label}(x)", PALETTE[0]))
    chart.add(Series(xs, [act.derivative(given.function, x, alpha) for x in xs], f"{label}′(x)", PALETTE[1],
                     line="dashed"))
    chart.add(Series([float(p) for p in points], [float(v) for v in values], color=PALETTE[0], line=None,
                     marker="o", size=7, order=3))
    chart.add(Series([float(p) for p in points], [float(v) for v in derivatives], color=PALETTE[1], line=None,
                     marker="s", size=7, order=3))
    return chart


def _draw_plot(given: ActivationInput, points: list, values: list, derivatives: list, path) -> None:
    plot_chart(given, points, values, derivatives).write(path)


def _plot(given: ActivationInput, values: list, derivatives: list) -> Figure:
    points = _point_list(given)
    draw = partial(_draw_plot, given, points, values, derivatives)
    return Figure(f"{given.function}-plot", f"{given.function} and its derivative, given points marked", draw,
                  suffix=".svg")


@register(
    "activation",
    ActivationInput,
    summary="Activation values and derivatives at given points (relu, leaky-relu, elu, gelu, "
            "gelu-exact, sigmoid, tanh; softmax with the max-shift and its Jacobian), optional plot.",
    answers={"value": "f at each point, in `points` order (softmax: the output vector)",
             "derivative": "f′ at each point (softmax: the Jacobian ∂sᵢ/∂zⱼ)"},
    example="--function gelu --points \"[-1, 0, 2]\"",
    template={"function": "gelu", "points": [-1, 0, 2]},
)
def solve(given: ActivationInput, ctx: Context) -> Solution:
    sol = Solution()
    if given.function == "softmax":
        values, derivatives = _stable_softmax(sol, ctx, _point_list(given))
    else:
        values, derivatives = _pointwise(sol, ctx, given)
    if given.plot and given.function != "softmax":
        sol.add("The function and its derivative:", figure=_plot(given, values, derivatives))
    single = not isinstance(given.points, list) and given.function != "softmax"
    sol.set_answer("value", values[0] if single else values)
    sol.set_answer("derivative", derivatives[0] if single else derivatives)
    return sol
