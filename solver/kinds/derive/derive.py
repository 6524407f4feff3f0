"""Kind `derive`: the written derivation a course expects — every step with the dimensions of
its quantities — closed by a numerical check against finite differences.

Two ways in: a `template` (softmax + cross-entropy, the sigmoid MLP's input gradient, the linear
neuron with square error and optional L2, 1-D convolution gradients, the course's gated RNN,
logistic + BCE, sigmoid / tanh derivatives, one LSTM step), or a scalar `expression` and `wrt`
(scalars, or vectors / matrices given by their sizes), differentiated element by element with
sympy and collected into matrix form where a pattern is found.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from collections.abc import Callable
from typing import Any, Literal

from pydantic import Field, field_validator

from ...context import Context
from ...errors import BadInput, did_you_mean
from ...inputs import KindInput, choice, is_symbol
from ...registry import register
from ...steps import Solution


@dataclass(frozen=True)
class Template:
    summary: str
    sizes: dict[str, int] = field(default_factory=dict)  # size name -> value of the check instance
    options: frozenset[str] = frozenset()  # optional `given` fields the template uses


TEMPLATES: dict[str, Template] = {
    "softmax-cross-entropy": Template(
        "∂E/∂f₂ = o − y for E = −Σ y log o, o = softmax(f₂)", {"K": 5}),
    "sigmoid-mlp-input-gradient": Template(
        "∂E/∂x (and every weight) of f₁ = xW₁ + b₁, a = σ(f₁), f₂ = aW₂ + b₂, softmax + cross-entropy",
        {"N": 4, "M": 3, "K": 5}),
    "linear-square-error": Template(
        "∇y J, ∇W J, ∇b J of y = Wᵀx + b, J = (d − y)ᵀ(d − y) (+ β‖W‖² with l2)",
        {"n": 3, "K": 2}, frozenset({"l2", "layout", "weights"})),
    "conv1d-gradients": Template(
        "1-D convolution, C channels, length L, one filter of width k, stride s: output, ∂f/∂W, ∂f/∂x, "
        "∂ℓ/∂W, ∂ℓ/∂x", {"C": 2, "L": 7, "k": 3, "s": 2}),
    "gated-rnn": Template(
        "c[t] = σ(W_c x[t] + W_h h[t−1]), h[t] = c[t] ⊙ h[t−1] + (1 − c[t]) ⊙ W_x x[t]: ∂ℓ/∂W_x "
        "through time", {"n": 3, "m": 4, "K": 4}),
    "lstm-cell": Template(
        "one LSTM step backwards: gate, cell and weight gradients from ∂ℓ/∂h[t] and ∂ℓ/∂c[t]",
        {"n": 3, "m": 4}),
    "logistic-bce": Template(
        "y = σ(wᵀx + b), J = −[d log y + (1 − d) log(1 − y)]: ∂J/∂u = y − d", {"n": 3}),
    "sigmoid-derivative": Template(
        "σ′(u) = σ(u)(1 − σ(u)) = y(1 − y)"),
    "tanh-derivative": Template(
        "tanh′(u) = 1 − tanh²(u) = 1 − h²"),
}
ALIASES = {"softmax-ce": "softmax-cross-entropy", "sigmoid-mlp": "sigmoid-mlp-input-gradient",
           "linear-neuron": "linear-square-error", "conv1d": "conv1d-gradients", "lstm": "lstm-cell",
           "sigmoid": "sigmoid-derivative", "tanh": "tanh-derivative", "bce": "logistic-bce"}

TEMPLATE_OPTIONS = ("l2", "layout", "weights")
GENERIC_OPTIONS = ("layout", "at")
MAX_SIZE = 12  # template sizes of the check instance stay small: finite differences cost O(size²)


class DeriveInput(KindInput):
    template: str | None = Field(None, description="a named derivation: " + ", ".join(TEMPLATES))
    expression: str | None = Field(None, description="a scalar expression to differentiate (safe parser)")
    wrt: Any = Field(None, description="with expression: a name, a list of names, or {name: size} with "
                                       "size 3 (vector x1..x3) or [3, 2] (matrix W11..W32)")
    sizes: dict[str, Any] | None = Field(None, description="template dimensions, a number or a symbol "
                                                           "(e.g. {C: 2, L: 5, k: 3, s: 2})")
    l2: bool = Field(False, description="linear-square-error: add the penalty β‖W‖²")
    layout: Literal["denominator", "numerator"] = Field(
        "denominator", description="denominator: a gradient has the variable's shape; numerator: transposed")
    weights: Literal["in_out", "out_in"] = Field(
        "in_out", description="linear-square-error: in_out y = Wᵀx + b, out_in y = Wx + b")
    at: dict[str, Any] | None = Field(None, description="with expression: values of the symbols at which "
                                                        "the derivative is also evaluated")
    seed: int = Field(0, ge=0, description="seed of the random instance used for the numerical check")

    @field_validator("template")
    @classmethod
    def _template(cls, value):
        if value is None:
            return None
        return choice(value, tuple(TEMPLATES), ALIASES, name="template", fold={"_": "-", " ": "-"}, suggest=True,
                      message="unknown template {value}{suggestion}; templates: {options}")

    @field_validator("expression", mode="before")
    @classmethod
    def _expression(cls, value):
        if isinstance(value, bool):
            raise ValueError("expression must be text, not a boolean")
        return str(value) if isinstance(value, (int, float)) else value

    @field_validator("sizes")
    @classmethod
    def _sizes(cls, value):
        if value is None:
            return None
        checked = {}
        for name, size in value.items():
            if isinstance(size, bool):
                raise ValueError(f"size {name} must be a positive integer or a symbol, not a boolean")
            if isinstance(size, float) and size.is_integer():
                size = int(size)
            if isinstance(size, str) and re.fullmatch(r"\s*\d+\s*", size):
                size = int(size)
            if isinstance(size, int):
                if size < 1:
                    raise ValueError(f"size {name} must be at least 1, got {size}")
            elif not is_symbol(size):
                raise ValueError(f"size {name} must be a positive integer or a symbol name, got {size!r}")
            checked[str(name)] = size
        return checked

    @field_validator("at")
    @classmethod
    def _at(cls, value):
        if value is None:
            return None
        for name, number in value.items():
            if isinstance(number, bool) or not isinstance(number, (int, float)):
                raise ValueError(f"at.{name} must be a number, got {number!r}")
        return {str(name): number for name, number in value.items()}



def _check_way_in(given: DeriveInput) -> None:
    if given.template is not None and given.expression is not None:
        raise BadInput("give either a `template` or an `expression` with `wrt`, not both", field="expression")
    if given.template is None and given.expression is None:
        raise BadInput("give a `template` (" + ", ".join(TEMPLATES) + ") or an `expression` with `wrt`",
                       field="template")
    if given.expression is not None and given.wrt is None:
        raise BadInput("an expression needs `wrt`: the name(s) to differentiate with respect to", field="wrt")


def _reject_unused(given: DeriveInput, allowed: tuple[str, ...] | frozenset, what: str) -> None:
    """Options that the chosen derivation does not use are mistakes worth naming."""
    for name in ("l2", "layout", "weights", "at", "wrt", "sizes"):
        if name in given.model_fields_set and name not in allowed and getattr(given, name) not in (None, False):
            if name == "layout" and given.layout == "denominator":
                continue
            if name == "weights" and given.weights == "in_out":
                continue
            raise BadInput(f"`{name}` does not apply to {what}", field=name)


def _template_sizes(given: DeriveInput, template: Template) -> dict:
    from ._derive_common import number_size, symbol_size

    supplied = dict(given.sizes or {})
    for name in supplied:
        if name not in template.sizes:
            known = list(template.sizes)
            raise BadInput(f"template {given.template} has no size {name!r}{did_you_mean(name, known)}"
                           + (f"; its sizes: {', '.join(known)}" if known else "; it takes no sizes"),
                           field=f"sizes.{name}")
    sizes = {}
    for name, check_value in template.sizes.items():
        value = supplied.get(name, name)
        if isinstance(value, int):
            if value > MAX_SIZE:
                sizes[name] = _large_size(name, value, check_value)
            else:
                sizes[name] = number_size(value)
        else:
            sizes[name] = symbol_size(value, check_value)
    return sizes


def _large_size(name: str, value: int, check_value: int):
    """A big dimension is written as given; the check instance uses a small stand-in."""
    from ._derive_common import Size

    return Size(str(value), str(value), value, check_value)


@register(
    "derive",
    DeriveInput,
    imports=("numpy", "sympy"),
    summary="A symbolic derivation with every step and the dimensions of each quantity, verified "
            "numerically: a named template (softmax + cross-entropy, MLP input gradient, linear neuron "
            "± L2, conv1d, gated RNN, LSTM, …) or any scalar expression `wrt` named variables.",
    answers={
        "grad_<var>": "expression + wrt: the derivative (scalar: a string; vector/matrix: a nested list of "
                      "strings in the variable's shape, transposed with layout: numerator)",
        "grad_<var>_matrix": "expression + wrt (vector/matrix): the collected matrix form, when one is found",
        "value_<var>": "expression + wrt with `at`: the derivative's value there",
        "grad_o, jacobian, grad_f2": "softmax-cross-entropy: ∂E/∂o, ∂o/∂f₂, ∂E/∂f₂ = o − y",
        "grad_f2, grad_W2, grad_b2, grad_a, grad_f1, grad_W1, grad_b1, grad_x":
            "sigmoid-mlp-input-gradient: every gradient down to ∂E/∂x",
        "grad_y, grad_W, grad_b": "linear-square-error: ∇y J, ∇W J, ∇b J (J₁ with l2)",
        "output_length, f, df_dW, df_dx, grad_W, grad_x":
            "conv1d-gradients: output length, element expression of f, ∂f/∂W, ∂f/∂x, ∂ℓ/∂W, ∂ℓ/∂x",
        "shape_c, delta, grad_Wx, grad_Wc, grad_Wh": "gated-rnn: dim of c[t], the backward recursion, "
                                                    "∂ℓ/∂W_x, ∂ℓ/∂W_c, ∂ℓ/∂W_h",
        "delta_c, delta_i, delta_f, delta_g, delta_o, grad_c_prev, grad_h_prev, grad_x, grad_U, grad_W, "
        "grad_b": "lstm-cell: gradients of one step",
        "grad_y, grad_u, grad_w, grad_b": "logistic-bce: ∂J/∂y, ∂J/∂u = y − d, ∂J/∂w, ∂J/∂b",
        "derivative, derivative_u": "sigmoid-derivative / tanh-derivative: via the output, and in u",
        "shape_<answer>": "the dimensions of that answer (a list of sizes)",
    },
    example='--expression "(d - (w*x + b))**2" --wrt w',
    template={"template": "sigmoid-mlp-input-gradient", "sizes": {"N": "N", "M": "M", "K": "K"}},
)
def solve(given: DeriveInput, ctx: Context) -> Solution:
    import numpy as np

    sol = Solution()
    _check_way_in(given)
    if given.expression is not None:
        _reject_unused(given, ("wrt",) + GENERIC_OPTIONS, "an expression")
        from ._derive_generic import derive_expression

        derive_expression(sol, given)
        return sol
    template = TEMPLATES[given.template]
    _reject_unused(given, tuple(template.options) + ("sizes",), f"template {given.template}")
    sizes = _template_sizes(given, template)
    derivation(given.template)(sol, given, sizes, np.random.default_rng(given.seed))
    return sol


def derivation(template: str) -> Callable:
    """The function that writes a template's derivation: `(sol, given, sizes, rng) -> Derivation`.

    The template modules are imported here, when a template runs, not when the kind is listed
    or a problem is validated."""
    from . import _derive_activation, _derive_conv1d, _derive_linear, _derive_rnn, _derive_softmax

    return {
        "softmax-cross-entropy": _derive_softmax.softmax_cross_entropy,
        "sigmoid-mlp-input-gradient": _derive_softmax.sigmoid_mlp_input_gradient,
        "linear-square-error": _derive_linear.linear_square_error,
        "conv1d-gradients": _derive_conv1d.conv1d_gradients,
        "gated-rnn": _derive_rnn.gated_rnn,
        "lstm-cell": _derive_rnn.lstm_cell,
        "logistic-bce": _derive_softmax.logistic_bce,
        "sigmoid-derivative": _derive_activation.sigmoid_derivative,
        "tanh-derivative": _derive_activation.tanh_derivative,
    }[template]
