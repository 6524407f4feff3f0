"""Activation functions shared by the kinds: values, derivatives, and the formulas that show them.

Each activation knows, for one point x, the formula of its value and of its derivative (the
branch that applies for piecewise functions), so a kind can show `ELU(−1) = α(eˣ − 1) = …`.
The same functions are added to the formula vocabulary (`ReLU(out1)`) for whole maps.

Conventions, as PyTorch computes them: the derivative of ReLU at 0 is 0; of leaky ReLU and
ELU at 0 is α (the left branch); `gelu` is the sigmoid approximation x·σ(1.702x) the course
uses, `gelu-exact` is x·Φ(x) = x·½(1 + erf(x/√2)).

Only the standard library at import time; NumPy is imported inside the array functions.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from ..formula import FUNCTIONS, Expr, Function, Num, Sym, call, define_function
from ..nn.functions import sigmoid, sigmoid_array

X = Sym("x")
F = Sym("f")  # the function's value at x: σ′ and tanh′ are written in terms of it, as by hand
ALPHA = Sym("alpha")
PI = Sym("pi", text="π", latex=r"\pi")
GELU_SCALE = 1.702  # the sigmoid approximation's constant: GELU(x) ≈ x·σ(1.702x)

NAMES = ("relu", "leaky-relu", "elu", "gelu", "gelu-exact", "sigmoid", "tanh")
ALIASES = {
    "relu": "relu", "leaky-relu": "leaky-relu", "leaky_relu": "leaky-relu", "leakyrelu": "leaky-relu",
    "lrelu": "leaky-relu", "elu": "elu", "gelu": "gelu", "gelu-approx": "gelu",
    "gelu-exact": "gelu-exact", "gelu_exact": "gelu-exact", "sigmoid": "sigmoid",
    "logistic": "sigmoid", "tanh": "tanh",
}
DEFAULT_ALPHA = {"leaky-relu": 0.01, "elu": 1.0}


# --- array implementations (NumPy imported lazily) -------------------------------------------


def _np():
    import numpy as np

    return np


def _array_erf(x):
    np = _np()
    return np.vectorize(math.erf, otypes=[float])(np.asarray(x, dtype=float))


def _array_sigmoid(x):
    return sigmoid_array(_np().asarray(x, dtype=float))


def _array_relu(x):
    np = _np()
    x = np.asarray(x)
    return np.where(x > 0, x, 0)  # 0, not 0·x: no −0.0 for negative inputs


def _array_leaky_relu(x, alpha):
    np = _np()
    x = np.asarray(x)
    return np.where(x > 0, x, alpha * x)


def _array_elu(x, alpha):
    np = _np()
    x = np.asarray(x, dtype=float)
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


def _array_gelu(x):
    x = _np().asarray(x, dtype=float)
    return x * _array_sigmoid(GELU_SCALE * x)


def _array_gelu_exact(x):
    x = _np().asarray(x, dtype=float)
    return x * 0.5 * (1 + _array_erf(x / math.sqrt(2)))


def _scalar_sigmoid(x):
    return sigmoid(float(x))


def _scalar_relu(x):
    return x if x > 0 else 0


def _scalar_leaky_relu(x, alpha):
    return x if x > 0 else alpha * x


def _scalar_elu(x, alpha):
    return x if x > 0 else alpha * math.expm1(x)


def _scalar_gelu(x):
    return x * _scalar_sigmoid(GELU_SCALE * x)


def _scalar_gelu_exact(x):
    return x * 0.5 * (1 + math.erf(x / math.sqrt(2)))


# Words for the formula vocabulary: `ReLU(out1)`, `erf(x/√2)`. The activations get names of
# their own (act_…) so that another module's "gelu" can never silently stand in for this one.
_FORMULA_FUNCTIONS = {
    "erf": Function("erf", r"\operatorname{erf}", math.erf, _array_erf),
    "act_relu": Function("ReLU", r"\mathrm{ReLU}", _scalar_relu, _array_relu),
    "act_leaky_relu": Function("LeakyReLU", r"\mathrm{LeakyReLU}", _scalar_leaky_relu, _array_leaky_relu),
    "act_elu": Function("ELU", r"\mathrm{ELU}", _scalar_elu, _array_elu),
    "act_gelu": Function("GELU", r"\mathrm{GELU}", _scalar_gelu, _array_gelu),
    "act_gelu_exact": Function("GELU", r"\mathrm{GELU}", _scalar_gelu_exact, _array_gelu_exact),
}
for _name, _function in _FORMULA_FUNCTIONS.items():
    if _name not in FUNCTIONS:  # another module may already have added the same word
        define_function(_name, _function)


# --- the activations --------------------------------------------------------------------------


def _sigma(x: Expr) -> Expr:
    return call("sigmoid", x)


def _phi_cdf(x: Expr) -> Expr:
    """Φ(x) = ½(1 + erf(x/√2)), the standard normal CDF."""
    return Num(0.5) * (1 + call("erf", x / call("sqrt", 2)))


def _phi_pdf(x: Expr) -> Expr:
    """φ(x) = e^(−x²/2)/√(2π), the standard normal density."""
    return call("exp", -(x ** 2) / 2) / call("sqrt", 2 * PI)


@dataclass(frozen=True)
class Branch:
    """The formula that applies at one point: `condition` says why (empty when one formula)."""

    condition: str
    value: Expr
    derivative: Expr


@dataclass(frozen=True)
class Activation:
    name: str
    label: str  # how the function is written: ReLU, GELU, σ
    definition: str  # one line for the key: "GELU(x) ≈ x·σ(1.702x)"
    branch: Callable[[float], Branch]
    formula_function: str  # its name in the formula vocabulary, for whole maps
    takes_alpha: bool = False

    def expr(self, argument: Expr) -> Expr:
        """`f(argument)` as a formula node (α bound separately as `alpha`)."""
        if self.takes_alpha:
            return call(self.formula_function, argument, ALPHA)
        return call(self.formula_function, argument)


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


ACTIVATIONS: dict[str, Activation] = {
    "relu": Activation("relu", "ReLU", "ReLU(x) = max(0, x)", _relu_branch, "act_relu"),
    "leaky-relu": Activation("leaky-relu", "LeakyReLU", "LeakyReLU(x) = x for x > 0, αx otherwise",
                             _leaky_branch, "act_leaky_relu", takes_alpha=True),
    "elu": Activation("elu", "ELU", "ELU(x) = x for x > 0, α(eˣ − 1) otherwise", _elu_branch, "act_elu",
                      takes_alpha=True),
    "gelu": Activation("gelu", "GELU", "GELU(x) ≈ x·σ(1.702x) (the sigmoid approximation)",
                       _gelu_branch, "act_gelu"),
    "gelu-exact": Activation("gelu-exact", "GELU", "GELU(x) = x·Φ(x) = x·½(1 + erf(x/√2))",
                             _gelu_exact_branch, "act_gelu_exact"),
    "sigmoid": Activation("sigmoid", "σ", "σ(x) = 1/(1 + e⁻ˣ)", _sigmoid_branch, "sigmoid"),
    "tanh": Activation("tanh", "tanh", "tanh(x) = (eˣ − e⁻ˣ)/(eˣ + e⁻ˣ)", _tanh_branch, "tanh"),
}


def canonical_name(name: str) -> str | None:
    """The activation's standard name for any accepted spelling, or None."""
    return ALIASES.get(str(name).strip().lower().replace(" ", "-"))


def bindings(x, alpha, f=None) -> dict:
    """Symbol values for an activation's formulas at the point x (f: the value there, which
    the sigmoid and tanh derivatives are written in)."""
    return {"x": x, "alpha": alpha, "pi": math.pi, "f": f}


def value(name: str, x, alpha=None):
    """f(x) for a scalar, computed from the same formula the steps show."""
    from ..formula import evaluate

    alpha = DEFAULT_ALPHA.get(name) if alpha is None else alpha
    return evaluate(ACTIVATIONS[name].branch(x).value, bindings(x, alpha))


def derivative(name: str, x, alpha=None):
    """f′(x) for a scalar."""
    from ..formula import evaluate

    alpha = DEFAULT_ALPHA.get(name) if alpha is None else alpha
    f = evaluate(ACTIVATIONS[name].branch(x).value, bindings(x, alpha))
    return evaluate(ACTIVATIONS[name].branch(x).derivative, bindings(x, alpha, f))


def apply_array(name: str, x, alpha=None):
    """f applied element-wise to a NumPy array (whole feature maps)."""
    alpha = DEFAULT_ALPHA.get(name) if alpha is None else alpha
    function = _FORMULA_FUNCTIONS.get(ACTIVATIONS[name].formula_function)
    if name == "sigmoid":
        return _array_sigmoid(x)
    if name == "tanh":
        return _np().tanh(_np().asarray(x, dtype=float))
    return function.array(x, alpha) if ACTIVATIONS[name].takes_alpha else function.array(x)
