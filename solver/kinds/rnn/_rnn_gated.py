"""LSTM and GRU cells (PyTorch's equations): the forward steps and backpropagation through time.

LSTM: q(t) = act_q(U_qᵀx(t) + W_qᵀh(t−1) + b_q) for the gates i, f, o (σ) and g (tanh);
      c(t) = f ⊙ c(t−1) + i ⊙ g;  h(t) = o ⊙ tanh(c(t)).
GRU:  r, z = σ(U_qᵀx + W_qᵀh(t−1) + b_q);  n = tanh(U_nᵀx + b_n + r ⊙ (W_nᵀh(t−1) + b_hn));
      h(t) = (1 − z) ⊙ n + z ⊙ h(t−1).
An output layer y = g(Vᵀh + c) is optional; without it the loss acts on h(t) directly.
"""

from __future__ import annotations

from ...formula import Sym, call, hadamard
from ...steps import Solution
from . import _rnn_common as common
from . import _rnn_values as rv
from ._rnn_common import DJ_DH, H, X, Setup, Worksheet

GATES = {"lstm": ("i", "f", "g", "o"), "gru": ("r", "z", "n")}
GATE_ACTIVATION = {"i": "sigmoid", "f": "sigmoid", "g": "tanh", "o": "sigmoid",
                   "r": "sigmoid", "z": "sigmoid", "n": "tanh"}
GATE_MEANING = {"i": "input gate", "f": "forget gate", "g": "candidate cell value", "o": "output gate",
                "r": "reset gate", "z": "update gate", "n": "candidate state"}
CELL = rv.name("c")
U_HN = rv.name("u_hn")
DJ_DC = rv.name("∂J/∂c", r"\frac{\partial J}{\partial c}", r"\frac{\partial J}{\partial c^{{t}}}")


def gate(q: str) -> rv.Name:
    return rv.name(q)


def delta(q: str) -> rv.Name:
    return rv.name(f"δ_{q}", rf"\delta_{{{q}}}")


def weight(kind: str, q: str) -> Sym:
    return Sym(f"{kind}_{q}", text=f"{kind}_{q}", latex=f"{kind}_{{{q}}}")


B_HN = Sym("b_hn", text="b_hn", latex=r"b_{hn}")


def conventions(sol: Solution, cell: str) -> None:
    if cell == "lstm":
        sol.convention("LSTM as in PyTorch: gates i, f, g, o; c(t) = f ⊙ c(t−1) + i ⊙ g, "
                       "h(t) = o ⊙ tanh(c(t)). One bias per gate (PyTorch's b_ih + b_hh add up to it).")
    else:
        sol.convention("GRU as in PyTorch: the reset gate multiplies W_nᵀh(t−1) + b_hn after the matrix "
                       "product, and h(t) = (1 − z) ⊙ n + z ⊙ h(t−1). One bias per gate "
                       "(PyTorch's b_ih + b_hh for r and z) plus the separate b_hn.")


def quantities(setup: Setup) -> list[list]:
    lay, d, h, o = setup.layout, setup.input_size, setup.hidden_size, setup.output_size
    gates = GATES[setup.cell]
    names = ", ".join(gates)
    rows = [["x(t)", common.size_text(d), "input at step t"],
            [f"U_q (q = {names})", lay.shape_text(d, h), "input weights of each gate"],
            [f"W_q (q = {names})", lay.shape_text(h, h), "recurrent weights of each gate"],
            [f"b_q (q = {names})", common.size_text(h), "bias of each gate"]]
    if setup.cell == "gru":
        rows.append(["b_hn", common.size_text(h), "bias inside the reset product"])
        rows.append(["u_hn(t)", common.size_text(h), "W_nᵀh(t−1) + b_hn"])
    rows += [[f"{q}(t)", common.size_text(h), GATE_MEANING[q]] for q in gates]
    if setup.cell == "lstm":
        rows.append(["c(t)", common.size_text(h), "cell state"])
    rows.append(["h(t)", common.size_text(h), "hidden state"])
    return rows + common.output_rows(setup, lay, h, o)


def bind(ws: Worksheet, setup: Setup) -> None:
    for label, value in setup.params.items():
        if "_" in label:
            ws.bind(B_HN if label == "b_hn" else weight(*label.split("_")), value)
        else:
            ws.bind(Sym(label), value)
    ws.bind(H.at(0), setup.initial["h"])
    if setup.cell == "lstm":
        ws.bind(CELL.at(0), setup.initial["c"])
    for t, x in enumerate(setup.inputs, 1):
        ws.bind(X.at(t), x)


def _gate_input(setup: Setup, q: str, t: int, before: int | None = None):
    lay = setup.layout
    before = t - 1 if before is None else before
    return lay.apply(weight("U", q), X.at(t)) + lay.apply(weight("W", q), H.at(before)) + weight("b", q)


def forward(ws: Worksheet, setup: Setup, reverse: bool = False) -> None:
    """The steps t = 1…T; `reverse` runs t = T…1, each step fed by step t + 1 (the backward
    direction of a bidirectional layer, whose initial states are bound at T + 1)."""
    lay, size = setup.layout, common.size_text(setup.hidden_size)
    for t, before in common.time_order(setup.steps, reverse):
        for q in GATES[setup.cell]:
            if q == "n":
                ws.step(f"Hidden part of the candidate, before the reset gate ({size}).", U_HN.at(t),
                        lay.apply(weight("W", "n"), H.at(before)) + B_HN)
                expr = lay.apply(weight("U", "n"), X.at(t)) + weight("b", "n") + hadamard(gate("r").at(t), U_HN.at(t))
            else:
                expr = _gate_input(setup, q, t, before)
            prefix = f"t = {t}: " if q == GATES[setup.cell][0] else ""
            ws.step(f"{prefix}{GATE_MEANING[q].capitalize()} {q}({t}) ({size}).", gate(q).at(t),
                    rv.activate(GATE_ACTIVATION[q], expr))
        if setup.cell == "lstm":
            ws.step(f"Cell state: keep f ⊙ c({before}), add i ⊙ g ({size}).", CELL.at(t),
                    hadamard(gate("f").at(t), CELL.at(before)) + hadamard(gate("i").at(t), gate("g").at(t)),
                    answer=f"c{t}")
            ws.step(f"Hidden state h({t}) = o ⊙ tanh(c({t})) ({size}).", H.at(t),
                    hadamard(gate("o").at(t), call("tanh", CELL.at(t))), answer=f"h{t}")
        else:
            z = gate("z").at(t)
            ws.step(f"Hidden state: blend the candidate and h({before}) with the update gate ({size}).",
                    H.at(t), hadamard(1 - z, gate("n").at(t)) + hadamard(z, H.at(before)), answer=f"h{t}")
        if setup.has_output:
            common.output_forward(ws, setup, t)


# --- backpropagation through time ---------------------------------------------------------------


def backward(sol: Solution, ws: Worksheet, setup: Setup) -> None:
    sol.note("Backpropagation through time, from the last step to the first: δ_q(t) is the "
             "gradient of J with respect to gate q's pre-activation at step t.")
    for t in range(setup.steps, 0, -1):
        _hidden_gradient(ws, setup, t)
        if setup.cell == "lstm":
            _lstm_deltas(ws, setup, t)
        else:
            _gru_deltas(ws, setup, t)
    _weight_gradients(ws, setup)


def _hidden_gradient(ws: Worksheet, setup: Setup, t: int) -> None:
    terms = common.own_loss_terms(ws, setup, t)
    own = bool(terms)
    if t < setup.steps:
        lay = setup.layout
        if setup.cell == "lstm":
            terms += [lay.back(weight("W", q), delta(q).at(t + 1)) for q in GATES["lstm"]]
        else:
            terms += [hadamard(DJ_DH.at(t + 1), gate("z").at(t + 1)),
                      lay.back(weight("W", "z"), delta("z").at(t + 1)),
                      lay.back(weight("W", "r"), delta("r").at(t + 1)),
                      lay.back(weight("W", "n"), delta("hn").at(t + 1))]
    sources = (["its own loss"] if own else []) + (
        ["every gate of step t + 1" + (" and the direct path z ⊙ h" if setup.cell == "gru" else "")]
        if t < setup.steps else [])
    text = f"Gradient reaching h({t}): " + (" and ".join(sources) + "." if sources else "nothing (zero).")
    common.sum_step(ws, text, DJ_DH.at(t), terms, setup.hidden_size)


def _lstm_deltas(ws: Worksheet, setup: Setup, t: int) -> None:
    dh, i, f, g, o, c = (DJ_DH.at(t), gate("i").at(t), gate("f").at(t), gate("g").at(t),
                         gate("o").at(t), CELL.at(t))
    tanh_c = call("tanh", c)
    ws.step("Output gate (σ′ = o(1 − o)).", delta("o").at(t), hadamard(hadamard(dh, tanh_c), hadamard(o, 1 - o)))
    cell_grad = hadamard(hadamard(dh, o), 1 - tanh_c ** 2)
    if t < setup.steps:
        cell_grad = cell_grad + hadamard(DJ_DC.at(t + 1), gate("f").at(t + 1))
    ws.step(f"Gradient reaching the cell state c({t}): through h = o ⊙ tanh(c)"
            + (" and along the cell path of step t + 1 (× its forget gate)." if t < setup.steps else "."),
            DJ_DC.at(t), cell_grad)
    dc = DJ_DC.at(t)
    ws.step("Input gate.", delta("i").at(t), hadamard(hadamard(dc, g), hadamard(i, 1 - i)))
    ws.step("Forget gate.", delta("f").at(t), hadamard(hadamard(dc, CELL.at(t - 1)), hadamard(f, 1 - f)))
    ws.step("Candidate (tanh′ = 1 − g²).", delta("g").at(t), hadamard(hadamard(dc, i), 1 - g ** 2))


def _gru_deltas(ws: Worksheet, setup: Setup, t: int) -> None:
    dh, r, z, n = DJ_DH.at(t), gate("r").at(t), gate("z").at(t), gate("n").at(t)
    ws.step("Candidate (tanh′ = 1 − n²), weighted by 1 − z.", delta("n").at(t),
            hadamard(hadamard(dh, 1 - z), 1 - n ** 2))
    ws.step("Update gate: h(t) moves from n towards h(t−1) as z grows.", delta("z").at(t),
            hadamard(hadamard(dh, H.at(t - 1) - n), hadamard(z, 1 - z)))
    ws.step("Into the hidden part u_hn of the candidate (scaled by the reset gate).", delta("hn").at(t),
            hadamard(delta("n").at(t), r))
    ws.step("Reset gate.", delta("r").at(t), hadamard(hadamard(delta("n").at(t), U_HN.at(t)), hadamard(r, 1 - r)))


def _weight_gradients(ws: Worksheet, setup: Setup) -> None:
    lay, steps = setup.layout, range(1, setup.steps + 1)
    d, h = setup.input_size, setup.hidden_size
    ws.sol.note("Each weight gradient sums one outer product per time step (the weights are shared).")
    grads = {"U": {}, "W": {}, "b": {}}
    for q in GATES[setup.cell]:
        recurrent = delta("hn") if q == "n" else delta(q)
        grads["U"][q] = ws.step(f"Gate {q}: gradient of U_{q} ({lay.shape_text(d, h)}).",
                                common.grad_sym(f"U_{q}", f"U_{{{q}}}"),
                                common.sum_expr([lay.outer(X.at(t), delta(q).at(t)) for t in steps]))
        grads["W"][q] = ws.step(f"Gate {q}: gradient of W_{q} ({lay.shape_text(h, h)})"
                                + (", through the reset product." if q == "n" else "."),
                                common.grad_sym(f"W_{q}", f"W_{{{q}}}"),
                                common.sum_expr([lay.outer(H.at(t - 1), recurrent.at(t)) for t in steps]))
        grads["b"][q] = ws.step(f"Gate {q}: gradient of b_{q} ({common.size_text(h)}).",
                                common.grad_sym(f"b_{q}", f"b_{{{q}}}"),
                                common.sum_expr([delta(q).at(t) for t in steps]))
    for label in ("U", "W", "b"):
        ws.sol.set_answer(f"grad_{label}", {q: rv.plain(v, matrix=label != "b") for q, v in grads[label].items()})
    if setup.cell == "gru":
        ws.step(f"Gradient of b_hn ({common.size_text(h)}).", common.grad_sym("b_hn", "b_{hn}"),
                common.sum_expr([delta("hn").at(t) for t in steps]), answer="grad_b_hn")
    if setup.has_output:
        with_target = [t for t in steps if setup.targets[t - 1] is not None]
        ws.step(f"Gradient of V ({lay.shape_text(h, setup.output_size)}).", common.grad_sym("V", "V"),
                common.sum_expr([lay.outer(H.at(t), common.DELTA_Y.at(t)) for t in with_target]),
                answer="grad_V", matrix=True)
        ws.step(f"Gradient of the output bias c ({common.size_text(setup.output_size)}).",
                common.grad_sym("c", "c"), common.sum_expr([common.DELTA_Y.at(t) for t in with_target]),
                answer="grad_c")


# --- vanishing / exploding -----------------------------------------------------------------------


def jacobians(ws: Worksheet, setup: Setup) -> list:
    """∂s(t)/∂s(t−1) for t = 2…T: s = h (GRU) or the pair (h, c) (LSTM), from the forward values."""
    import numpy as np

    v = {key: np.asarray(value, dtype=float) for key, value in ws.values.items()}
    maps = {q: common.map_matrix(setup.layout, setup.params[f"W_{q}"]) for q in GATES[setup.cell]}
    result = []
    for t in range(2, setup.steps + 1):
        at = {q: v[gate(q).at(t).name].reshape(-1) for q in GATES[setup.cell]}
        h_prev = v[H.at(t - 1).name].reshape(-1)
        if setup.cell == "gru":
            r, z, n = at["r"], at["z"], at["n"]
            hidden_part = v[U_HN.at(t).name].reshape(-1)
            through_n = np.diag((1 - z) * (1 - n ** 2)) @ (
                np.diag(r) @ maps["n"] + np.diag(hidden_part * r * (1 - r)) @ maps["r"])
            result.append(np.diag(z) + np.diag((h_prev - n) * z * (1 - z)) @ maps["z"] + through_n)
            continue
        i, f, g, o = at["i"], at["f"], at["g"], at["o"]
        c, c_prev = v[CELL.at(t).name].reshape(-1), v[CELL.at(t - 1).name].reshape(-1)
        tanh_c = np.tanh(c)
        dc_dh = (np.diag(c_prev * f * (1 - f)) @ maps["f"] + np.diag(g * i * (1 - i)) @ maps["i"]
                 + np.diag(i * (1 - g ** 2)) @ maps["g"])
        dh_dh = np.diag(tanh_c * o * (1 - o)) @ maps["o"] + np.diag(o * (1 - tanh_c ** 2)) @ dc_dh
        dh_dc = np.diag(o * (1 - tanh_c ** 2) * f)
        result.append(np.block([[dh_dh, dh_dc], [dc_dh, np.diag(f)]]))
    return result


def vanishing_note(sol: Solution, ws: Worksheet, setup: Setup) -> None:
    import numpy as np

    jacs = jacobians(ws, setup)
    if setup.cell == "gru":
        common.jacobian_note(sol, "h", "∂h(t)/∂h(t−1) = diag(z) + (terms through z, r and n)", jacs,
                             "The diag(z) term is a direct path: where z ≈ 1 the gradient passes "
                             "unchanged, which is how the GRU resists vanishing.")
        return
    forget = [float(np.max(ws.values[gate("f").at(t).name])) for t in range(2, setup.steps + 1)]
    common.jacobian_note(sol, "s", "s = (h, c) and ∂c(t)/∂c(t−1) = diag(f(t)) on the cell path", jacs,
                         ("Along the cell path alone the factor is the forget gate (largest entries "
                          + ", ".join(f"{x:.3g}" for x in forget)
                          + "): with f ≈ 1 the gradient flows without shrinking (the constant error carousel)."
                          ) if forget else "")
