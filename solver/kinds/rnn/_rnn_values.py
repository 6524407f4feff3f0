"""Shared pieces of the recurrent kinds: column vectors, activations and losses as formula
expressions, time-indexed symbols, and the `weights` convention.

Everything numeric is NumPy (imported inside the functions); a vector is an n×1 column so
that Uᵀx, W h and x δᵀ read and evaluate as written in the course.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...activations import POSITIVE, TABLE, aliases, choose
from ...errors import BadInput
from ...formula import Expr, Num, Op, Sym, call, hadamard, total

# The activations of the recurrent kinds (names of solver/activations.py).
HIDDEN_ACTIVATIONS = ("tanh", "sigmoid", "relu", "linear")
OUTPUT_ACTIVATIONS = HIDDEN_ACTIVATIONS + ("softmax",)
ACTIVATION_ALIASES = aliases(OUTPUT_ACTIVATIONS)
LOSSES = ("bce", "ce", "mse", "sse", "half-sse")



def activation_name(value: str, *, allowed=OUTPUT_ACTIVATIONS, name: str = "activation") -> str:
    return choose(value, allowed, name=name, suggest=True)


def activate(name: str, pre: Expr) -> Expr:
    """f(u) as a formula expression (softmax of the whole column u; the rest element-wise)."""
    return call("softmax", pre) if name == "softmax" else TABLE[name].expr(pre)


def backward_through(name: str, upstream: Expr, out: Expr, pre: Expr) -> Expr:
    """∂J/∂u from ∂J/∂f(u) = `upstream`, written with the activation's output `out` where the
    derivative is usually written that way (σ′ = σ(1 − σ), tanh′ = 1 − tanh²)."""
    if name == "linear":
        return upstream
    if name == "sigmoid":
        return hadamard(upstream, hadamard(out, 1 - out))
    if name == "tanh":
        return hadamard(upstream, 1 - out ** 2)
    if name == "relu":
        return hadamard(upstream, call(POSITIVE, pre))
    if name == "softmax":  # the softmax Jacobian applied to the upstream gradient
        return hadamard(out, upstream - total(hadamard(out, upstream)))
    return hadamard(upstream, TABLE[name].slope_expr(pre))


def derivative_text(name: str) -> str:
    return TABLE[name].derivative_text


# --- losses ---------------------------------------------------------------------------------


def loss_expr(loss: str, y: Expr, d: Expr, size: int) -> Expr:
    """L(y, d) for one time step (SPEC §4 losses; natural log)."""
    squared = total((y - d) ** 2)
    if loss == "mse":
        return squared / Num(size)
    if loss == "sse":
        return squared
    if loss == "half-sse":
        return squared / Num(2)
    if loss == "bce":
        return -total(hadamard(d, call("log", y)) + hadamard(1 - d, call("log", 1 - y)))
    if loss == "ce":
        return -total(hadamard(d, call("log", y)))
    raise AssertionError(loss)


def loss_gradient_expr(loss: str, y: Expr, d: Expr, size: int) -> Expr:
    """∂L/∂y for one time step."""
    if loss == "mse":
        return Num(2) * (y - d) / Num(size)
    if loss == "sse":
        return Num(2) * (y - d)
    if loss == "half-sse":
        return y - d
    if loss == "bce":
        return (y - d) / hadamard(y, 1 - y)
    if loss == "ce":
        return -(d / y)
    raise AssertionError(loss)


def output_delta_expr(loss: str, activation: str, y: Expr, u: Expr, d: Expr, size: int) -> Expr:
    """∂L/∂u_y: the simple y − d where the activation and the loss are made for each other."""
    if (loss, activation) in (("bce", "sigmoid"), ("ce", "softmax")):
        return y - d
    return backward_through(activation, loss_gradient_expr(loss, y, d, size), y, u)


def loss_convention(loss: str) -> str:
    what = {"mse": "mse = mean over the outputs of (y − d)²", "sse": "sse = Σ(y − d)²",
            "half-sse": "half-sse = ½Σ(y − d)²", "bce": "bce = −Σ[d ln y + (1 − d) ln(1 − y)]",
            "ce": "ce = −Σ d ln y (y a probability vector)"}[loss]
    return f"Loss: J = Σₜ L(y(t), d(t)) over the steps that have a target; {what} at each step."


# --- symbols ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Name:
    """How a quantity is written: `h` -> text h(t), LaTeX h^{(t)}; `u_h` -> u_h(t), u_{h}^{(t)}.
    `latex_at`, a template with {t}, places the step elsewhere (∂J/∂h^{(t)})."""

    text: str
    latex: str
    latex_at: str | None = None

    def at(self, t) -> Sym:
        # Braced, so that a power or a transpose can follow: {h^{(2)}}^{2}, {δ^{(1)}}^{\top}.
        latex = (self.latex_at.replace("{t}", f"({t})") if self.latex_at
                 else f"{{{self.latex}^{{({t})}}}}")
        return Sym(f"{self.text}[{t}]", text=f"{self.text}({t})", latex=latex)


def name(text: str, latex: str | None = None, latex_at: str | None = None) -> Name:
    if latex is None:
        base, _, sub = text.partition("_")
        latex = f"{base}_{{{sub}}}" if sub else base
    return Name(text, latex, latex_at)


def symbols_in(expr: Expr) -> list[Sym]:
    """Every symbol of an expression tree (for the bindings of a formula)."""
    found: list[Sym] = []
    stack = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, Sym):
            found.append(node)
        elif isinstance(node, Op):
            stack.extend(node.args)
    return found


# --- the `weights` convention -------------------------------------------------------------------


@dataclass(frozen=True)
class Layout:
    """`in_out`: W is inputs×outputs, u = Wᵀx; `out_in`: W is outputs×inputs, u = Wx."""

    weights: str

    @property
    def in_out(self) -> bool:
        return self.weights == "in_out"

    def apply(self, matrix: Expr, vector: Expr) -> Expr:
        return matrix.T @ vector if self.in_out else matrix @ vector

    def back(self, matrix: Expr, delta: Expr) -> Expr:
        """The gradient reaching the input of `apply(matrix, ·)`."""
        return matrix @ delta if self.in_out else matrix.T @ delta

    def outer(self, inputs: Expr, delta: Expr) -> Expr:
        """The weight gradient: shaped like the matrix itself."""
        return inputs @ delta.T if self.in_out else delta @ inputs.T

    def shape(self, n_in: int, n_out: int) -> tuple[int, int]:
        return (n_in, n_out) if self.in_out else (n_out, n_in)

    def shape_text(self, n_in, n_out) -> str:
        rows, cols = self.shape(n_in, n_out)
        return f"{rows}×{cols}"

    def convention(self) -> str:
        if self.in_out:
            return ("weights: in_out — every weight matrix is inputs × outputs and acts as Wᵀx "
                    "(u = Uᵀx + Wᵀh + b).")
        return "weights: out_in — every weight matrix is outputs × inputs and acts as Wx (u = Ux + Wh + b)."


# --- values -----------------------------------------------------------------------------------


def matrix(value, field: str, shape: tuple[int, int] | None = None, why: str = ""):
    """A 2-D float array; a plain list is one row. BadInput when the shape is wrong (`why`
    says where the expected shape comes from)."""
    import numpy as np

    array = np.asarray(value, dtype=float)
    if array.ndim == 1:
        array = array.reshape(1, -1)
    if array.ndim != 2:
        raise BadInput(f"{field} must be a matrix (a list of rows)", field=field)
    if shape is not None and array.shape != tuple(shape):
        raise BadInput(f"{field} is {array.shape[0]}×{array.shape[1]} but must be "
                       f"{shape[0]}×{shape[1]}" + (f" ({why})" if why else ""), field=field)
    return array


def column(value, field: str, size: int | None = None):
    """An n×1 column from a number, a list, or a nested single column; one number with `size`
    fills every entry (each unit has its own bias, all with that value)."""
    import numpy as np

    array = np.asarray(value, dtype=float)
    if array.ndim == 0:
        return np.full((size if size is not None else 1, 1), float(array))
    if array.ndim == 2 and 1 in array.shape:
        array = array.reshape(-1)
    if array.ndim != 1:
        raise BadInput(f"{field} must be a vector (a list of numbers)", field=field)
    if size is not None and array.size != size:
        raise BadInput(f"{field} has {array.size} values but must have {size}", field=field)
    return array.reshape(-1, 1)


def plain(value, matrix: bool = False):
    """An answer value: a column as a flat list, a matrix (`matrix`: always) as nested lists,
    a number as float."""
    import numpy as np

    array = np.asarray(value, dtype=float)
    if array.ndim == 2 and array.shape[1] == 1 and not matrix:
        return [float(v) for v in array[:, 0]]
    if array.ndim == 0:
        return float(array)
    return array.tolist()


def read_targets(loss: str | None, targets: list | None, steps: int, size: int) -> list:
    """One column (or None) per step; with `ce` a class index becomes a one-hot column."""
    import numpy as np

    if (loss is None) != (targets is None):
        missing = "targets" if targets is None else "loss"
        raise BadInput(f"gradients need both loss and targets; give {missing} too", field=missing)
    if targets is None:
        return []
    if len(targets) != steps:
        raise BadInput(f"targets has {len(targets)} entries but there are {steps} time steps "
                       "(write null for a step without a target)", field="targets")
    out = []
    for i, target in enumerate(targets):
        if target is None:
            out.append(None)
        elif loss == "ce" and isinstance(target, int) and not isinstance(target, bool) and size > 1:
            if not 0 <= target < size:
                raise BadInput(f"class index {target} is outside 0…{size - 1}", field=f"targets.{i}")
            one_hot = np.zeros((size, 1))
            one_hot[target, 0] = 1.0
            out.append(one_hot)
        else:
            out.append(column(target, f"targets.{i}", size))
    if all(t is None for t in out):
        raise BadInput("every target is null: give at least one", field="targets")
    return out
