"""Elman and Jordan cells: the forward steps and backpropagation through time.

Elman feeds the previous hidden state back, Jordan the previous output:
    u_h(t) = Uᵀx(t) + Wᵀs(t−1) + b,  h(t) = f(u_h(t)),  u_y(t) = Vᵀh(t) + c,  y(t) = g(u_y(t)),
with s = h (Elman) or s = y (Jordan); `weights: out_in` writes U x instead of Uᵀx.
"""

from __future__ import annotations

from ...activations import TABLE
from ...formula import Sym
from ...steps import Solution
from . import _rnn_common as common
from . import _rnn_values as rv
from ._rnn_common import DJ_DH, DELTA_Y, H, U_Y, X, Y, Setup, Worksheet

U, W, B = Sym("U"), Sym("W"), Sym("b")
U_H = rv.name("u_h")
DELTA_H = rv.name("δ_h", r"\delta_{h}")
MAX_SLOPE = {name: TABLE[name].max_slope for name in rv.HIDDEN_ACTIVATIONS}  # sup |f′|


def fed_back(setup: Setup) -> rv.Name:
    return H if setup.cell == "elman" else Y


def quantities(setup: Setup) -> list[list]:
    """Every quantity with its dimensions (rows × columns) and meaning."""
    lay, d, h, o = setup.layout, setup.input_size, setup.hidden_size, setup.output_size
    rows = [["x(t)", common.size_text(d), "input at step t"],
            ["U", lay.shape_text(d, h), "input → hidden weights"]]
    if setup.cell == "elman":
        rows.append(["W", lay.shape_text(h, h), "hidden(t−1) → hidden(t) weights"])
    else:
        rows.append(["W", lay.shape_text(o, h), "output(t−1) → hidden(t) weights (Jordan feedback)"])
    rows += [["b", common.size_text(h), "hidden bias"],
             ["u_h(t), h(t)", common.size_text(h), "hidden pre-activation and state"]]
    return rows + common.output_rows(setup, lay, h, o)


def bind(ws: Worksheet, setup: Setup) -> None:
    for label in ("U", "W", "b", "V", "c"):
        if label in setup.params:
            ws.bind(Sym(label), setup.params[label])
    ws.bind(H.at(0), setup.initial["h"])
    if setup.cell == "jordan":
        ws.bind(Y.at(0), setup.initial["y"])
    for t, x in enumerate(setup.inputs, 1):
        ws.bind(X.at(t), x)


def forward(ws: Worksheet, setup: Setup, reverse: bool = False) -> None:
    """The steps t = 1…T; `reverse` runs t = T…1, each step fed by step t + 1 (the backward
    direction of a bidirectional layer, whose initial state is bound at T + 1)."""
    lay, back_name = setup.layout, fed_back(setup)
    source = "previous hidden state" if setup.cell == "elman" else "previous output (Jordan feedback)"
    if reverse:
        source = "hidden state of step t + 1 (this direction reads the sequence backwards)"
    for t, before in common.time_order(setup.steps, reverse):
        ws.step(f"t = {t}: hidden pre-activation from the input and the {source} "
                f"({common.size_text(setup.hidden_size)}).", U_H.at(t),
                lay.apply(U, X.at(t)) + lay.apply(W, back_name.at(before)) + B)
        ws.step(f"Hidden state h({t}) = {setup.hidden}(u_h({t})).", H.at(t),
                rv.activate(setup.hidden, U_H.at(t)), answer=f"h{t}")
        if setup.has_output:
            common.output_forward(ws, setup, t)


# --- backpropagation through time ---------------------------------------------------------------


def backward(sol: Solution, ws: Worksheet, setup: Setup) -> None:
    sol.note("Backpropagation through time: go from the last step to the first; the gradient "
             "reaching each state is the sum of what its own loss sends and what the next step "
             "sends back through the recurrent weights.")
    for t in range(setup.steps, 0, -1):
        if setup.cell == "elman":
            _elman_step(ws, setup, t)
        else:
            _jordan_step(ws, setup, t)
        ws.step(f"Through the hidden activation ({rv.derivative_text(setup.hidden)}).", DELTA_H.at(t),
                rv.backward_through(setup.hidden, DJ_DH.at(t), H.at(t), U_H.at(t)))
    _weight_gradients(ws, setup)


def _elman_step(ws: Worksheet, setup: Setup, t: int) -> None:
    terms = common.own_loss_terms(ws, setup, t)
    text = f"Gradient reaching h({t}): " + _sources(bool(terms), t < setup.steps, "h")
    if t < setup.steps:
        terms.append(setup.layout.back(W, DELTA_H.at(t + 1)))
    common.sum_step(ws, text, DJ_DH.at(t), terms, setup.hidden_size)


def _jordan_step(ws: Worksheet, setup: Setup, t: int) -> None:
    terms = []
    own = setup.targets[t - 1] is not None
    if own:
        terms.append(rv.output_delta_expr(setup.loss, setup.output, Y.at(t), U_Y.at(t),
                                          common.D.at(t), setup.output_size))
    if t < setup.steps:
        terms.append(rv.backward_through(setup.output, setup.layout.back(W, DELTA_H.at(t + 1)),
                                         Y.at(t), U_Y.at(t)))
    text = (f"Output delta at t = {t}: " + _sources(own, t < setup.steps, "y")
            + " (the feedback term passes through the output activation).")
    common.sum_step(ws, text, DELTA_Y.at(t), terms, setup.output_size)
    ws.step(f"Gradient reaching h({t}) through V.", DJ_DH.at(t), setup.layout.back(V_SYM, DELTA_Y.at(t)))


V_SYM = Sym("V")


def _sources(own: bool, later: bool, state: str) -> str:
    parts = (["its own loss"] if own else []) + ([f"step t + 1 through W (it fed {state} forward)"] if later else [])
    return " and ".join(parts) + "." if parts else "no loss reaches it (zero)."


def _weight_gradients(ws: Worksheet, setup: Setup) -> None:
    lay, steps, back_name = setup.layout, range(1, setup.steps + 1), fed_back(setup)
    d, h = setup.input_size, setup.hidden_size
    ws.sol.note("Each weight gradient sums one outer product per time step: the weights are "
                "shared by all steps.")
    ws.step(f"Gradient of U ({lay.shape_text(d, h)}).", common.grad_sym("U", "U"),
            common.sum_expr([lay.outer(X.at(t), DELTA_H.at(t)) for t in steps]), answer="grad_U", matrix=True)
    rows = h if setup.cell == "elman" else setup.output_size
    ws.step(f"Gradient of W ({lay.shape_text(rows, h)}), with the fed-back "
            f"{'state' if setup.cell == 'elman' else 'output'} of the step before.",
            common.grad_sym("W", "W"),
            common.sum_expr([lay.outer(back_name.at(t - 1), DELTA_H.at(t)) for t in steps]), answer="grad_W", matrix=True)
    ws.step(f"Gradient of the hidden bias b ({common.size_text(h)}; one entry per unit even when b "
            "was given as one number).", common.grad_sym("b", "b"),
            common.sum_expr([DELTA_H.at(t) for t in steps]), answer="grad_b")
    if setup.has_output:
        with_delta = list(steps) if setup.cell == "jordan" else [
            t for t in steps if setup.targets[t - 1] is not None]
        ws.step(f"Gradient of V ({lay.shape_text(h, setup.output_size)}).", common.grad_sym("V", "V"),
                common.sum_expr([lay.outer(H.at(t), DELTA_Y.at(t)) for t in with_delta]), answer="grad_V", matrix=True)
        ws.step(f"Gradient of the output bias c ({common.size_text(setup.output_size)}).",
                common.grad_sym("c", "c"), common.sum_expr([DELTA_Y.at(t) for t in with_delta]),
                answer="grad_c")


# --- vanishing / exploding -------------------------------------------------------------------------


def jacobians(ws: Worksheet, setup: Setup) -> list:
    """∂s(t)/∂s(t−1) for t = 2…T, s the fed-back quantity, from the forward values."""
    lay, values = setup.layout, ws.values
    w_map = common.map_matrix(lay, setup.params["W"])
    result = []
    for t in range(2, setup.steps + 1):
        f_prime = common.activation_derivative(setup.hidden, values[H.at(t).name], values[U_H.at(t).name])
        jac = f_prime @ w_map
        if setup.cell == "jordan":
            g_prime = common.activation_derivative(setup.output, values[Y.at(t).name], values[U_Y.at(t).name])
            jac = g_prime @ common.map_matrix(lay, setup.params["V"]) @ jac
        result.append(jac)
    return result


def vanishing_note(sol: Solution, ws: Worksheet, setup: Setup) -> None:
    import numpy as np

    t_w = "Wᵀ" if setup.layout.in_out else "W"
    t_v = "Vᵀ" if setup.layout.in_out else "V"
    if setup.cell == "elman":
        formula = f"∂h(t)/∂h(t−1) = diag(f′(u_h(t)))·{t_w}"
        sigma = float(np.linalg.norm(setup.params["W"], 2))
        slope = MAX_SLOPE[setup.hidden]
        bound = (f"Each factor is at most max|f′|·σ_max(W) = {slope:g}·{sigma:.4g} = {slope * sigma:.4g}"
                 + ("; below 1, so the gradient must shrink geometrically with the distance in time."
                    if slope * sigma < 1 else "; at or above 1, so growth is possible."))
        common.jacobian_note(sol, "h", formula, jacobians(ws, setup), bound)
    else:
        formula = f"∂y(t)/∂y(t−1) = g′(u_y(t))·{t_v}·diag(f′(u_h(t)))·{t_w}"
        common.jacobian_note(sol, "y", formula, jacobians(ws, setup))
