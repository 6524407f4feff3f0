"""The symbolic vocabulary: the functions a formula may name, and what each means in sympy.

One place for every symbolic reading of the course's functions:
  - `PARSER_FUNCTIONS`: what a user's expression may call (solver/parse.py), with its arity;
  - `sigma`: the logistic sigmoid kept whole, whose derivative sympy writes σ(1 − σ) as taught
    (the optimize kind; `with_sigma` folds the parser's 1/(1 + e⁻ᵃ) into it);
  - `FORMULA_WORDS`: the words of the numeric formula trees (solver/formula.py) in sympy, so a
    derivation can confirm each written step (the derive kind).
The numbers of the same functions live in solver/nn/functions.py; their names, derivatives
and typesetting as activations in solver/activations.py.

This module imports sympy: import it only inside the functions that need it (a numeric
command loads no sympy).
"""

from __future__ import annotations

import sympy


def sigmoid(x):
    """σ(x) = 1/(1 + e⁻ˣ), written out (what the parser gives for `sigmoid(x)` and `σ(x)`)."""
    return 1 / (1 + sympy.exp(-x))


def relu(x):
    if not x.is_commutative:  # Max needs comparable arguments; (x + |x|)/2 is the same function
        return (x + sympy.Abs(x)) / 2
    return sympy.Max(0, x)


def phi(x):
    """Φ(x) = ½(1 + erf(x/√2)), the standard normal CDF, for the exact GELU x·Φ(x)."""
    return (1 + sympy.erf(x / sympy.sqrt(2))) / 2


class sigma(sympy.Function):  # noqa: N801 - prints as σ, the course's name
    """The logistic sigmoid σ(a) = 1/(1 + e⁻ᵃ), with σ′ = σ(1 − σ)."""

    def fdiff(self, argindex=1):
        a = self.args[0]
        return sigma(a) * (1 - sigma(a))

    def _eval_rewrite_as_exp(self, a, **kwargs):
        return sigmoid(a)


def with_sigma(expr):
    """Write every 1/(1 + e^(−a)) in `expr` as σ(a)."""
    w = sympy.Wild("w")
    return expr.replace(1 / (1 + sympy.exp(-w)), lambda w: sigma(w))


# name: (sympy meaning, number of arguments; None: two or more)
PARSER_FUNCTIONS = {
    "sin": (sympy.sin, 1), "cos": (sympy.cos, 1), "tan": (sympy.tan, 1),
    "asin": (sympy.asin, 1), "acos": (sympy.acos, 1), "atan": (sympy.atan, 1),
    "sinh": (sympy.sinh, 1), "cosh": (sympy.cosh, 1), "tanh": (sympy.tanh, 1),
    "exp": (sympy.exp, 1), "log": (sympy.log, 1), "ln": (sympy.log, 1),
    "sqrt": (sympy.sqrt, 1), "abs": (sympy.Abs, 1), "erf": (sympy.erf, 1),
    "sigmoid": (sigmoid, 1), "relu": (relu, 1), "Phi": (phi, 1),
    "max": (sympy.Max, None), "min": (sympy.Min, None),
}

# The formula trees' function words (solver/formula.py's FUNCTIONS) that have a sympy reading.
FORMULA_WORDS = {
    "exp": sympy.exp, "tanh": sympy.tanh, "log": sympy.log, "sqrt": sympy.sqrt, "sigmoid": sigmoid,
    "erf": sympy.erf, "sin": sympy.sin, "cos": sympy.cos, "abs": sympy.Abs,
}
