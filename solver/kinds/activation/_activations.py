"""The element-wise activations of the `activation` kind (and of `convolve`'s activation layers):
its subset of solver/activations.py, and the scalar value and derivative computed from the
same formulas the steps show.

Conventions, as PyTorch computes them: the derivative of ReLU at 0 is 0; of leaky ReLU and
ELU at 0 is α (the left branch); `gelu` is the sigmoid approximation x·σ(1.702x) the course
uses, `gelu-exact` is x·Φ(x) = x·½(1 + erf(x/√2)).
"""

from __future__ import annotations

import math

from ... import activations as table
from ...activations import Activation

NAMES = ("relu", "leaky-relu", "elu", "gelu", "gelu-exact", "sigmoid", "tanh")
# Spellings with a space read as with a hyphen ("leaky relu").
FOLD = {" ": "-"}
ALIASES = {**{name: name for name in NAMES}, **table.aliases(NAMES)}
ACTIVATIONS: dict[str, Activation] = {name: table.TABLE[name] for name in NAMES}
DEFAULT_ALPHA = {name: entry.default_alpha for name, entry in ACTIVATIONS.items() if entry.takes_alpha}


def canonical_name(name: str) -> str | None:
    """The activation's standard name for any accepted spelling, or None."""
    key = str(name).strip().lower()
    for old, new in FOLD.items():
        key = key.replace(old, new)
    return ALIASES.get(key)


def bindings(x, alpha, f=None) -> dict:
    """Symbol values for an activation's formulas at the point x (f: the value there, which
    the sigmoid and tanh derivatives are written in)."""
    return {"x": x, "alpha": alpha, "pi": math.pi, "f": f}


def value(name: str, x, alpha=None):
    """f(x) for a scalar, computed from the same formula the steps show."""
    from ...formula import evaluate

    alpha = DEFAULT_ALPHA.get(name) if alpha is None else alpha
    return evaluate(ACTIVATIONS[name].branch(x).value, bindings(x, alpha))


def derivative(name: str, x, alpha=None):
    """f′(x) for a scalar."""
    from ...formula import evaluate

    alpha = DEFAULT_ALPHA.get(name) if alpha is None else alpha
    f = evaluate(ACTIVATIONS[name].branch(x).value, bindings(x, alpha))
    return evaluate(ACTIVATIONS[name].branch(x).derivative, bindings(x, alpha, f))


def apply_array(name: str, x, alpha=None):
    """f applied element-wise to a NumPy array (whole feature maps)."""
    return ACTIVATIONS[name](x, alpha)
