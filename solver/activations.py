"""The activation functions, each described once: its names, its numbers, its derivative and
how it is written.

Every kind that takes an activation reads it from `TABLE`: the `activation`, `backprop`, `gate`,
`layer`, `rnn` and `derive` kinds, and the element-wise layers of `convolve`. A kind accepts its
own *subset* of the names (a tuple of table names, e.g. backprop's sigmoid, tanh, relu, linear,
softmax) and reads any of them through `choose`, which knows every entry's spellings. Adding an
activation is one entry here plus its name in the subsets that should take it
(docs/adding-an-activation.md).

An entry holds
  - `name` and `aliases`: the standard name and the other spellings accepted for it;
  - `text`, `latex`: how the function's name is written (ReLU, σ, tanh), and `definition`, one
    line for the conventions of a key;
  - `scalar` and `array`: the numbers, for one float and element-wise for an array (the array
    forms are solver/nn/functions.py's);
  - `slope(x, y, alpha)`: f′ element-wise from the input x and/or the output y, with PyTorch's
    values at the kinks (ReLU′(0) = 0, LeakyReLU′(0) = ELU′(0) = α); softmax, not element-wise,
    has its Jacobian in `jacobian(y)` instead;
  - `derivative_text`: f′ in one line of the input u; `from_output`: whether f′ is taught in
    terms of the output (σ′ = y(1 − y), tanh′ = 1 − y²);
  - `max_slope`: sup |f′| over all inputs, the factor bounding how fast a gradient can grow
    through the function (None where it depends on α or is not needed);
  - `branch(x)`: the formulas of the value and the derivative that apply at one point x, for
    the worked steps (`ELU(−1) = α(eˣ − 1) = …`).
Every element-wise entry is also a word of the formula vocabulary for whole maps (`ReLU(out1)`):
`act_<name>` unless `formula_function` names another (sigmoid, tanh: the core's own), and
`act_<name>_slope` for its derivative, so a kind writes f(u) and f′(u) with `expr` and
`slope_expr`.

Only the standard library at import time: NumPy is imported inside the array functions, so a
kind module may import this one.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from .formula import FUNCTIONS, Expr, Function, Num, Sym, call, define_function
from .nn import functions as nf

X = Sym("x")
F = Sym("f")  # the function's value at x: σ′ and tanh′ are written in terms of it, as by hand
ALPHA = Sym("alpha")
PI = Sym("pi", text="π", latex=r"\pi")
GELU_SCALE = nf.GELU_SCALE


@dataclass(frozen=True)
class Branch:
    """The formula that applies at one point: `condition` says why (empty when one formula)."""

    condition: str
    value: Expr
    derivative: Expr


@dataclass(frozen=True)
class Activation:
    name: str
    text: str  # how the function's name is written: ReLU, GELU, σ
    latex: str
    definition: str  # one line for the key: "GELU(x) ≈ x·σ(1.702x)"
    scalar: Callable  # f(x) for one float (f(x, α) when the function takes α)
    array: Callable  # f element-wise on an array (f(x, α) when the function takes α)
    slope: Callable | None  # f′ element-wise: slope(x, y, alpha), y = f(x)
    derivative_text: str  # f′ in words of the input u
    aliases: tuple[str, ...] = ()
    from_output: bool = False  # f′ is taught in terms of the output y
    max_slope: float | None = None  # sup |f′|
    default_alpha: float | None = None  # α of the functions that take one
    branch: Callable[[float], Branch] | None = None  # the formulas at one point
    formula_function: str | None = None  # its word in the formula vocabulary (default act_<name>; "": f(x) = x)
    jacobian: Callable | None = None  # ∂f/∂x from the output, for a function that is not element-wise

    @property
    def label(self) -> str:
        return self.text

    @property
    def takes_alpha(self) -> bool:
        return self.default_alpha is not None

    def alpha(self, alpha: float | None = None) -> float | None:
        """The α to use: the given one, else the default (None for a function without α)."""
        return self.default_alpha if alpha is None else alpha

    @property
    def word(self) -> str:
        """Its word in the formula vocabulary ("" for the identity)."""
        return _word(self.name) if self.formula_function is None else self.formula_function

    def expr(self, argument: Expr) -> Expr:
        """`f(argument)` as a formula node (α bound separately as `alpha`)."""
        if not self.word:
            return argument
        if self.takes_alpha:
            return call(self.word, argument, ALPHA)
        return call(self.word, argument)

    def slope_expr(self, argument: Expr) -> Expr:
        """`f′(argument)` as a formula node, element-wise (α bound separately as `alpha`)."""
        word = _word(self.name) + "_slope"
        if self.takes_alpha:
            return call(word, argument, ALPHA)
        return call(word, argument)

    def __call__(self, x, alpha: float | None = None):
        """f element-wise on an array."""
        return self.array(x, self.alpha(alpha)) if self.takes_alpha else self.array(x)

    def derivative(self, x, y=None, alpha: float | None = None):
        """f′ element-wise at the inputs x (y: the outputs f(x), computed when not given)."""
        if self.slope is None:
            raise ValueError(f"{self.name} is not element-wise: use its jacobian")
        if y is None and self.from_output:
            y = self(x, alpha)
        return self.slope(x, y, self.alpha(alpha))


# --- the exact forms of the formula vocabulary --------------------------------------------------
# A whole map written `ReLU(out1)` is evaluated by these: the piecewise-linear functions keep
# exact numbers (integers, fractions in an object array) exact, and never give −0.0.


def _exact_relu(x):
    import numpy as np

    x = np.asarray(x)
    return np.where(x > 0, x, 0)


def _scalar_relu(x):
    return x if x > 0 else 0


def _scalar_leaky_relu(x, alpha):
    return x if x > 0 else alpha * x


def _scalar_elu(x, alpha):
    return x if x > 0 else alpha * math.expm1(x)


def _scalar_sigmoid(x):
    return nf.sigmoid(float(x))


def _scalar_gelu(x):
    return x * _scalar_sigmoid(GELU_SCALE * x)


def _scalar_gelu_exact(x):
    return x * 0.5 * (1 + math.erf(x / math.sqrt(2)))


# The activations get words of their own (act_…) so that another module's "gelu" can never
# silently stand in for one of these.
_FORMULA_FUNCTIONS = {
    "erf": Function("erf", r"\operatorname{erf}", math.erf, nf.erf_array),
    "act_relu": Function("ReLU", r"\mathrm{ReLU}", _scalar_relu, _exact_relu),
    "act_leaky_relu": Function("LeakyReLU", r"\mathrm{LeakyReLU}", _scalar_leaky_relu, nf.leaky_relu_array),
    "act_elu": Function("ELU", r"\mathrm{ELU}", _scalar_elu, nf.elu_array),
    "act_gelu": Function("GELU", r"\mathrm{GELU}", _scalar_gelu, nf.gelu_array),
    "act_gelu_exact": Function("GELU", r"\mathrm{GELU}", _scalar_gelu_exact, nf.gelu_exact_array),
}
for _name, _function in _FORMULA_FUNCTIONS.items():
    if _name not in FUNCTIONS:  # another module may already have added the same word
        define_function(_name, _function)

# ReLU's derivative as the worked steps write it, 𝟙[u > 0]: 0 at u = 0, as PyTorch takes it.
POSITIVE = "positive"


def _positive(x) -> float:
    return 1.0 if x > 0 else 0.0


if POSITIVE not in FUNCTIONS:
    define_function(POSITIVE, Function("𝟙", r"\mathbb{1}", _positive, nf.positive_array,
                                       ("𝟙[", " > 0]", r"\mathbb{1}\left[", r" > 0\right]")))


# --- the formulas at one point -----------------------------------------------------------------


def _sigma(x: Expr) -> Expr:
    return call("sigmoid", x)


def _phi_cdf(x: Expr) -> Expr:
    """Φ(x) = ½(1 + erf(x/√2)), the standard normal CDF."""
    return Num(0.5) * (1 + call("erf", x / call("sqrt", 2)))


def _phi_pdf(x: Expr) -> Expr:
    """φ(x) = e^(−x²/2)/√(2π), the standard normal density."""
    return call("exp", -(x ** 2) / 2) / call("sqrt", 2 * PI)


def _relu_branch(x) -> Branch:
    if x > 0:
        return Branch("x > 0", call("max", 0, X), Num(1))
    return Branch("x ≤ 0", call("max", 0, X), Num(0))


def _leaky_branch(x) -> Branch:
    if x > 0:
        return Branch("x > 0", X, Num(1))
    return Branch("x ≤ 0", ALPHA * X, ALPHA)


def _elu_branch(x) -> Branch:
    if x > 0:
        return Branch("x > 0", X, Num(1))
    return Branch("x ≤ 0", ALPHA * (call("exp", X) - 1), ALPHA * call("exp", X))


def _gelu_branch(x) -> Branch:
    s = _sigma(GELU_SCALE * X)
    return Branch("", X * s, s + GELU_SCALE * X * s * (1 - s))


def _gelu_exact_branch(x) -> Branch:
    return Branch("", X * _phi_cdf(X), _phi_cdf(X) + X * _phi_pdf(X))


def _sigmoid_branch(x) -> Branch:
    return Branch("", 1 / (1 + call("exp", -X)), F * (1 - F))


def _tanh_branch(x) -> Branch:
    return Branch("", call("tanh", X), 1 - F ** 2)


def _linear_branch(x) -> Branch:
    return Branch("", X, Num(1))


def _step(x) -> int:
    return 1 if x >= 0 else 0


# --- the table ----------------------------------------------------------------------------------


def _entries() -> tuple[Activation, ...]:
    return (
        Activation("relu", "ReLU", r"\mathrm{ReLU}", "ReLU(x) = max(0, x)", _scalar_relu, nf.relu_array,
                   lambda x, y, alpha: nf.positive_array(x), "ReLU′(u) = 1 if u > 0 else 0",
                   max_slope=1.0, branch=_relu_branch),
        Activation("leaky-relu", "LeakyReLU", r"\mathrm{LeakyReLU}", "LeakyReLU(x) = x for x > 0, αx otherwise",
                   _scalar_leaky_relu, nf.leaky_relu_array, lambda x, y, alpha: nf.leaky_relu_slope_array(x, alpha),
                   "LeakyReLU′(u) = 1 if u > 0 else α", aliases=("leaky_relu", "leakyrelu", "lrelu"),
                   default_alpha=0.01, branch=_leaky_branch),
        Activation("elu", "ELU", r"\mathrm{ELU}", "ELU(x) = x for x > 0, α(eˣ − 1) otherwise", _scalar_elu,
                   nf.elu_array, lambda x, y, alpha: nf.elu_slope_array(x, alpha),
                   "ELU′(u) = 1 if u > 0 else α·eᵘ", default_alpha=1.0, branch=_elu_branch),
        Activation("gelu", "GELU", r"\mathrm{GELU}", "GELU(x) ≈ x·σ(1.702x) (the sigmoid approximation)",
                   _scalar_gelu, nf.gelu_array, lambda x, y, alpha: nf.gelu_slope_array(x),
                   "GELU′(u) = σ(1.702u) + 1.702u·σ(1.702u)(1 − σ(1.702u))", aliases=("gelu-approx",),
                   branch=_gelu_branch),
        Activation("gelu-exact", "GELU", r"\mathrm{GELU}", "GELU(x) = x·Φ(x) = x·½(1 + erf(x/√2))",
                   _scalar_gelu_exact, nf.gelu_exact_array, lambda x, y, alpha: nf.gelu_exact_slope_array(x),
                   "GELU′(u) = Φ(u) + u·φ(u)", aliases=("gelu_exact",), branch=_gelu_exact_branch),
        Activation("sigmoid", "σ", r"\sigma", "σ(x) = 1/(1 + e⁻ˣ)", _scalar_sigmoid, nf.sigmoid_array,
                   lambda x, y, alpha: nf.sigmoid_slope_array(y), "σ′(u) = σ(u)(1 − σ(u))",
                   aliases=("logistic",), from_output=True, max_slope=0.25, branch=_sigmoid_branch,
                   formula_function="sigmoid"),
        Activation("tanh", "tanh", r"\tanh", "tanh(x) = (eˣ − e⁻ˣ)/(eˣ + e⁻ˣ)", math.tanh, nf.tanh_array,
                   lambda x, y, alpha: nf.tanh_slope_array(y), "tanh′(u) = 1 − tanh²(u)", from_output=True,
                   max_slope=1.0, branch=_tanh_branch, formula_function="tanh"),
        Activation("linear", "f", "f", "f(x) = x (no activation)", float, nf.identity_array,
                   lambda x, y, alpha: nf.identity_slope_array(x), "f′(u) = 1",
                   aliases=("identity", "none", "purelin"), max_slope=1.0, branch=_linear_branch,
                   formula_function=""),
        Activation("softmax", "softmax", r"\operatorname{softmax}", "softmax(z)ᵢ = e^(zᵢ)/Σⱼ e^(zⱼ)",
                   lambda x: 1.0, nf.softmax_array, None, "∂softmax/∂u = diag(y) − y yᵀ",  # of one number: 1
                   jacobian=nf.softmax_jacobian_array),
        Activation("step", "step", r"\operatorname{step}", "step(x) = 1 for x ≥ 0, 0 otherwise", _step,
                   nf.step_array, lambda x, y, alpha: nf.step_slope_array(x), "step′(u) = 0 for u ≠ 0",
                   aliases=("threshold", "heaviside")),
    )


TABLE: dict[str, Activation] = {entry.name: entry for entry in _entries()}
NAMES: tuple[str, ...] = tuple(TABLE)


def _word(name: str) -> str:
    return "act_" + name.replace("-", "_")


def _slope_of_one(name: str, x, *alpha):
    return float(TABLE[name].derivative(float(x), alpha=alpha[0] if alpha else None))


def _slope_of_array(name: str, x, *alpha):
    return TABLE[name].derivative(x, alpha=alpha[0] if alpha else None)


# Every element-wise entry is a word of the formula vocabulary, with its derivative beside it
# (act_elu and act_elu_slope), so that a kind can write f(u) and f′(u) of any of them.
for _entry in TABLE.values():
    if _entry.slope is None:
        continue
    if _entry.word and _entry.word not in FUNCTIONS:
        define_function(_entry.word, Function(_entry.text, _entry.latex, _entry.scalar, _entry.array))
    if _word(_entry.name) + "_slope" not in FUNCTIONS:
        define_function(_word(_entry.name) + "_slope", Function(
            _entry.text + "′", _entry.latex + "'", partial(_slope_of_one, _entry.name),
            partial(_slope_of_array, _entry.name)))


def aliases(names) -> dict[str, str]:
    """Every other spelling of the given names: {alias: name}."""
    return {alias: name for name in names for alias in TABLE[name].aliases}


def choose(value, names: tuple[str, ...], *, name: str, **wording) -> str:
    """One of `names` (a kind's subset of the table) from any spelling of it; a ValueError
    otherwise, worded by solver.inputs.choice (`wording`: its options fold, either, suggest,
    message)."""
    from .inputs import choice

    return choice(value, names, aliases(names), name=name, **wording)
