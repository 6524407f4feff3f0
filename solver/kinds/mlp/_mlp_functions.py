"""Activations of a fully connected layer as formula functions, for `backprop` and `gate`.

Each activation is written into the steps as a function call (`ReLU(u)`, `softmax(u)`), and
its derivative as an expression of the layer's output h where the course writes it that way
(σ' = h(1 − h), tanh' = 1 − h²), so under hand rounding the derivative uses the rounded h.
The words a whole network needs (ReLU, its indicator derivative, softmax, diag) are the shared
vocabulary's (solver/activations.py, solver/formula.py); the mini-batch words here carry an
`mlp_` prefix so they never clash with another kind's definitions.
NumPy is imported inside the functions: this module sits on the import path of the kinds.
"""

from __future__ import annotations

from ...activations import POSITIVE, TABLE, aliases, choose
from ...formula import Expr, Function, Num, call, define_function, hadamard

# The activations a fully connected layer of `backprop` takes (names of solver/activations.py).
ACTIVATIONS = ("sigmoid", "tanh", "relu", "linear", "softmax")
ALIASES = aliases(ACTIVATIONS)




# Mini-batches: one sample per row. Softmax and its Jacobian act on each row on its own, and
# the sums of a batch are written with their index (Σₖ over a sample's outputs, Σₙ over samples).
def _jacobian_rows_array(h):
    """diag(hₙ) − hₙhₙᵀ for every row hₙ: an N×K×K stack."""
    import numpy as np

    h = np.asarray(h, dtype=float)
    return np.einsum("ni,ij->nij", h, np.eye(h.shape[1])) - np.einsum("ni,nj->nij", h, h)


def _rows_times_array(jacobians, g):
    import numpy as np

    return np.einsum("nij,nj->ni", np.asarray(jacobians, dtype=float), np.asarray(g, dtype=float))


def _sum_rows_array(x):
    import numpy as np

    return np.asarray(x, dtype=float).sum(axis=1)


def _sum_samples_array(x):
    import numpy as np

    return np.asarray(x, dtype=float).sum(axis=0)


define_function("mlp_jacobian_rows", Function("softmax′", r"\operatorname{softmax}'", lambda x: 0.0,
                                              _jacobian_rows_array))
# ⟨J, G⟩ₙ: row n of the result is the n-th Jacobian times row n of G.
define_function("mlp_rows_times", Function("rows", "rows", lambda a, b: a * b, _rows_times_array,
                                           ("⟨", "⟩ₙ", r"\left\langle ", r"\right\rangle_{n}")))
define_function("mlp_sum_outputs", Function("Σₖ", r"\sum_k", lambda x: x, _sum_rows_array,
                                            ("Σₖ[", "]", r"\sum_{k}\left[", r"\right]")))
define_function("mlp_sum_samples", Function("Σₙ", r"\sum_n", lambda x: x, _sum_samples_array,
                                            ("Σₙ[", "]", r"\sum_{n}\left[", r"\right]")))


def normalize_activation(name: str) -> str:
    return choose(name, ACTIVATIONS, name="activation", suggest=True)


def apply_expr(activation: str, u: Expr) -> Expr:
    """h = f(u) as a formula (softmax of the whole column u; the rest element-wise)."""
    return call("softmax", u) if activation == "softmax" else TABLE[activation].expr(u)


def apply_rows_expr(activation: str, u: Expr) -> Expr:
    """H = f(U) for a mini-batch (one sample per row)."""
    return call("softmax_rows", u) if activation == "softmax" else apply_expr(activation, u)


def derivative_expr(activation: str, u: Expr, h: Expr) -> Expr:
    """f'(u) as a formula; for softmax the Jacobian diag(h) − h hᵀ (a matrix)."""
    if activation == "sigmoid":
        return hadamard(h, 1 - h)
    if activation == "tanh":
        return 1 - h ** 2
    if activation == "relu":
        return call(POSITIVE, u)
    if activation == "softmax":
        return call("diag", h) - h @ h.T
    if activation == "linear":
        return Num(1)
    return TABLE[activation].slope_expr(u)

