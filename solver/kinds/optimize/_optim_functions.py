"""The objective of `optimize`: presets and user expressions as sympy, the symbolic gradient,
and fast float functions for f and ∇f.

The sigmoid is kept as a function σ whose derivative sympy knows as σ(1 − σ), so the derived
GELU gradient reads σ(1.702x) + 1.702x·σ(1.702x)(1 − σ(1.702x)) as taught, rather than a
tangle of exponentials. Imported only inside solve(): sympy is loaded here at import.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import sympy

from ...activations import GELU_SCALE as GELU_CONSTANT, TABLE
from ...errors import BadInput
from ...nn.functions import sigmoid
from ...parse import make_symbol, parse_expression
from ...sympy_functions import sigma, with_sigma

# The activations among the presets are names of solver/activations.py (with its default α).
ACTIVATION_PRESETS = ("gelu", "gelu-exact", "relu", "leaky-relu", "elu", "sigmoid", "tanh")
PRESET_NAMES = ACTIVATION_PRESETS + ("rosenbrock", "himmelblau", "booth", "beale", "sphere")
GELU_SCALE = sympy.Float(GELU_CONSTANT)


stable_sigmoid = sigmoid  # what lambdify calls for sigma


@dataclass
class Objective:
    expr: object  # sympy expression
    variables: list[str]
    gradient: list  # one sympy expression per variable
    f: Callable  # f(*values) -> float
    grad: Callable  # grad(*values) -> list of floats
    description: str  # what the preset is, for the key ("" for a user expression)


def _x():
    return make_symbol("x")


def _y():
    return make_symbol("y")


def _positive_part(value, otherwise):
    x = _x()
    return sympy.Piecewise((value, x > 0), (otherwise, True))


DEFAULT_ALPHA = {name: TABLE[name].default_alpha for name in ACTIVATION_PRESETS if TABLE[name].takes_alpha}


def preset(name: str, alpha: float | None):
    """(sympy expression, variables, description) of a named function."""
    x, y = _x(), _y()
    alpha = DEFAULT_ALPHA.get(name, 1.0) if alpha is None else alpha
    a = sympy.Float(alpha) if not float(alpha).is_integer() else sympy.Integer(int(alpha))
    table = {
        "gelu": (x * sigma(GELU_SCALE * x), ["x"], "GELU(x) ≈ x·σ(1.702x), the sigmoid approximation"),
        "gelu-exact": (x * (1 + sympy.erf(x / sympy.sqrt(2))) / 2, ["x"],
                       "GELU(x) = x·Φ(x) = x·½(1 + erf(x/√2))"),
        "relu": (_positive_part(x, sympy.Integer(0)), ["x"],
                 "ReLU(x) = max(0, x); its derivative at 0 is taken as 0, as PyTorch does"),
        "leaky-relu": (_positive_part(x, a * x), ["x"], f"LeakyReLU(x) = x for x > 0, {alpha:g}·x otherwise"),
        "elu": (_positive_part(x, a * (sympy.exp(x) - 1)), ["x"],
                f"ELU(x) = x for x > 0, {alpha:g}·(eˣ − 1) otherwise"),
        "sigmoid": (sigma(x), ["x"], "σ(x) = 1/(1 + e⁻ˣ)"),
        "tanh": (sympy.tanh(x), ["x"], "tanh(x)"),
        "rosenbrock": ((1 - x) ** 2 + 100 * (y - x ** 2) ** 2, ["x", "y"],
                       "Rosenbrock's banana valley, minimum 0 at (1, 1)"),
        "himmelblau": ((x ** 2 + y - 11) ** 2 + (x + y ** 2 - 7) ** 2, ["x", "y"],
                       "Himmelblau's function, four minima of 0 (one at (3, 2))"),
        "booth": ((x + 2 * y - 7) ** 2 + (2 * x + y - 5) ** 2, ["x", "y"],
                  "Booth's function, minimum 0 at (1, 3)"),
        "beale": ((sympy.Rational(3, 2) - x + x * y) ** 2 + (sympy.Rational(9, 4) - x + x * y ** 2) ** 2
                  + (sympy.Rational(21, 8) - x + x * y ** 3) ** 2, ["x", "y"],
                  "Beale's function, minimum 0 at (3, 0.5)"),
        "sphere": (x ** 2 + y ** 2, ["x", "y"], "the sphere x² + y², minimum 0 at the origin"),
    }
    return table[name]


def _heaviside_as_pytorch(expr):
    """The derivative of max(0, x) is the step H(x); PyTorch takes H(0) = 0."""
    return expr.replace(sympy.Heaviside, lambda *args: sympy.Heaviside(args[0], 0))


def parse_objective(text: str, variables: list[str] | None, alpha: float | None, field: str = "f") -> Objective:
    key = str(text).strip().lower()
    if key in PRESET_NAMES:
        expr, names, description = preset(key, alpha)
        if variables is not None and list(variables) != names:
            raise BadInput(f"the preset {key} is a function of {', '.join(names)}", field="variables")
    else:
        expr = with_sigma(parse_expression(text, variables, field=field))
        names = list(variables) if variables is not None else sorted(str(s) for s in expr.free_symbols)
        description = ""
        if not names:
            raise BadInput(f"f = {text!r} has no variable to optimize", field=field)
    symbols = [make_symbol(n) for n in names]
    gradient = [_heaviside_as_pytorch(sympy.diff(expr, s)) for s in symbols]
    return Objective(expr, names, gradient, _compile(expr, names), _compile_vector(gradient, names),
                     description)


def _compile(expr, names: list[str]) -> Callable:
    # lambdify prints the whitelisted tree (never the user's text); σ gets a stable float version.
    symbols = [make_symbol(n) for n in names]
    return sympy.lambdify(symbols, expr, modules=[{"sigma": stable_sigmoid, "erf": math.erf}, "math"])


def _compile_vector(exprs: list, names: list[str]) -> Callable:
    functions = [_compile(e, names) for e in exprs]
    return lambda *values: [float(fn(*values)) for fn in functions]


def latex(expr) -> str:
    return sympy.latex(expr)
