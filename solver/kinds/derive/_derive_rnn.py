"""`derive` templates of recurrent cells: the course's gated RNN (gradient of W_x through time)
and one step of an LSTM cell backwards. Column vectors: x[t] ∈ ℝⁿ, h[t] ∈ ℝᵐ, W_c x[t]."""

from __future__ import annotations

from ...formula import Sym, call, hadamard
from ._derive_common import (ONE, THIN, Derivation, fn, group, index_view, instance_text, matrix,
                             numerical_gradient, numerical_jacobian, sigmoid, transposed)

COLUMN_CONVENTION = ("Column vectors: x[t] is n × 1 and h[t] is m × 1; weight matrices multiply from the "
                     "left; a gradient has the shape of the quantity it differentiates (denominator "
                     "layout); diag(v) is the diagonal matrix with v on its diagonal.")


def _at(base: str, when: str, text: str | None = None, latex: str | None = None) -> Sym:
    """A time-indexed quantity such as h[t−1]; `when` is t, t-1 or t+1."""
    shown = when.replace("-", "−")
    base_text = text or base
    base_latex = latex or base
    return Sym(f"{base}[{when}]", text=f"{base_text}[{shown}]", latex=f"{base_latex}[{when}]")


# --- gated-rnn ------------------------------------------------------------------------------

Wc, Wh, Wx = matrix("Wc", "W_c", "W_c"), matrix("Wh", "W_h", "W_h"), matrix("Wx", "W_x", "W_x")


def _gate(x_t, h_prev):
    return call("sigmoid", Wc @ x_t + Wh @ h_prev)


def _state(c_t, h_prev, x_t):
    return hadamard(c_t, h_prev) + hadamard(1 - c_t, Wx @ x_t)


def _gate_delta(delta_t, h_prev, x_t, c_t):
    """ε[t]: the gradient at the gate's pre-activation W_c x[t] + W_h h[t−1]."""
    return hadamard(hadamard(hadamard(delta_t, group(h_prev - Wx @ x_t)), c_t), 1 - c_t)


def _run_gated(values: dict, offsets=None):
    """The forward pass from the definition, NumPy only; `offsets[t]` is added to h[t]
    (at zero offsets its derivative is the total gradient δ[t])."""
    import numpy as np

    h = np.zeros((values["Wh"].shape[0], 1))
    states, gates = [h], []
    for t, x_t in enumerate(values["xs"]):
        c = sigmoid(values["Wc"] @ x_t + values["Wh"] @ h)
        h = c * h + (1 - c) * (values["Wx"] @ x_t)
        if offsets is not None:
            h = h + offsets[:, t:t + 1]
        states.append(h)
        gates.append(c)
    return states, gates


def gated_rnn(sol, given, sizes, rng) -> Derivation:
    n, m, K = sizes["n"], sizes["m"], sizes["K"]
    sol.convention(COLUMN_CONVENTION)
    values = {"Wc": rng.normal(size=(m.value, n.value)), "Wh": rng.normal(size=(m.value, m.value)) * 0.8,
              "Wx": rng.normal(size=(m.value, n.value)),
              "xs": [rng.normal(size=(n.value, 1)) for _ in range(K.value)],
              "gs": [rng.normal(size=(m.value, 1)) for _ in range(K.value)]}
    der = Derivation(sol, values)
    x_t, x_next, h_t, h_prev = _at("x", "t"), _at("x", "t+1"), _at("h", "t"), _at("h", "t-1")
    c_t, c_next = _at("c", "t"), _at("c", "t+1")
    delta_t, delta_next = _at("delta", "t", "δ", r"\delta"), _at("delta", "t+1", "δ", r"\delta")
    eps_t, eps_next = _at("eps", "t", "ε", r"\varepsilon"), _at("eps", "t+1", "ε", r"\varepsilon")
    given_t = Sym("dl_dh[t]", text="(∂ℓ/∂h[t])", latex=r"\frac{\partial \ell}{\partial h[t]}")

    states, gates = _forward(der, values, x_t, h_prev, c_t, h_t, n, m)
    der.shape_answer("c", (m,))
    jacobian_expr = (fn("diag", c_t)
                     + fn("diag", hadamard(hadamard(group(h_prev - Wx @ x_t), c_t), 1 - c_t)) @ Wh)
    last = {x_t.name: values["xs"][-1], h_prev.name: states[-2], c_t.name: gates[-1]}
    jacobian_last = der.evaluate(jacobian_expr, last)
    der.show("One step's Jacobian: h[t−1] acts directly through c[t] ⊙ h[t−1], and through the gate, "
             "whose derivative is c[t] ⊙ (1 − c[t]) (m × m)",
             Sym("J[t]", text="∂h[t]/∂h[t−1]", latex=r"\frac{\partial h[t]}{\partial h[t-1]}"), jacobian_expr)

    deltas = _backward(der, values, states, gates, (x_next, h_t, c_next, delta_next, eps_next, given_t, delta_t),
                       K, m)
    epsilons = [der.evaluate(_gate_delta(delta_t, h_prev, x_t, c_t),
                             {delta_t.name: deltas[t], h_prev.name: states[t], x_t.name: values["xs"][t],
                              c_t.name: gates[t]}) for t in range(K.value)]

    grad_wx = _sum_over_time(der, "The direct dependence: h[t] contains (1 − c[t]) ⊙ W_x x[t], so each "
                             "step adds an outer product with x[t]ᵀ, and the total δ[t] carries every later "
                             "use of h[t]", "grad_Wx", Wx,
                             group(hadamard(delta_t, 1 - c_t)) @ x_t.T,
                             [{delta_t.name: deltas[t], c_t.name: gates[t], x_t.name: values["xs"][t]}
                              for t in range(K.value)], (m, n), K)
    _element_grad_wx(der, deltas, gates, values["xs"], grad_wx)
    grad_wc = _sum_over_time(der, "The gate weights receive ε[t], the gradient at the gate's "
                             "pre-activation", "grad_Wc", Wc,
                             eps_t @ x_t.T,
                             [{eps_t.name: epsilons[t], x_t.name: values["xs"][t]} for t in range(K.value)],
                             (m, n), K)
    grad_wh = _sum_over_time(der, "and the recurrent weights", "grad_Wh", Wh, eps_t @ h_prev.T,
                             [{eps_t.name: epsilons[t], h_prev.name: states[t]} for t in range(K.value)],
                             (m, m), K)
    sol.note("Backward and forward passes are alike: both are recurrences gated by c — forward, "
             "h[t] = c[t] ⊙ h[t−1] + …; backward, δ[t] = c[t+1] ⊙ δ[t+1] + … — run in opposite "
             "directions, one matrix product (W_h, then W_hᵀ) per step. Gradients pass through the product "
             "of the Jacobians J[t], so they can vanish (gates c near 0, small W_h) or explode (large W_h), "
             "although c near 1 keeps a direct path as an LSTM's forget gate does.")

    der.values.update({"deltas": deltas, "states": states, "gates": gates})
    _verify_gated(der, values, states, deltas, jacobian_last, grad_wx, grad_wc, grad_wh, m)
    return der.finish(instance_text(sizes, given.seed)
               + "; ℓ = Σₜ g[t]ᵀh[t] with random g[t], so ∂ℓ/∂h[t] = g[t]")


def _forward(der, values, x_t, h_prev, c_t, h_t, n, m):
    states, gates = _run_gated(values)
    for t in range(len(values["xs"])):
        step = {x_t.name: values["xs"][t], h_prev.name: states[t]}
        gate = der.evaluate(_gate(x_t, h_prev), step)
        state = der.evaluate(_state(c_t, h_prev, x_t), {**step, c_t.name: gate})
        assert gate.shape == (m.value, 1) and state.shape == (m.value, 1)
        assert abs(gate - gates[t]).max() < 1e-12 and abs(state - states[t + 1]).max() < 1e-12
    der.show(f"The gate: W_c x[t] is {m.text} × {n.text} times {n.text} × 1 and W_h h[t−1] is "
             f"{m.text} × {m.text} times {m.text} × 1, so c[t] ∈ ℝ^{m.text}, the size of h[t]",
             c_t, _gate(x_t, h_prev))
    der.show("The state, starting from h[0] = 0", h_t, _state(c_t, h_prev, x_t))
    return states, gates


def _backward(der, values, states, gates, symbols, K, m):
    x_next, h_t, c_next, delta_next, eps_next, given_t, delta_t = symbols
    recursion = given_t + hadamard(c_next, delta_next) + transposed(Wh) @ eps_next
    via = given_t + Sym("J[t+1]", text="(∂h[t+1]/∂h[t])", latex=r"\frac{\partial h[t+1]}{\partial h[t]}").T \
        @ delta_next
    steps = len(values["xs"])
    deltas = [None] * steps
    deltas[-1] = values["gs"][-1]
    for t in range(steps - 2, -1, -1):  # δ[t] from δ[t+1]; list index t is time t + 1
        bindings = {given_t.name: values["gs"][t], c_next.name: gates[t + 1], delta_next.name: deltas[t + 1],
                    h_t.name: states[t + 1], x_next.name: values["xs"][t + 1]}
        bindings[eps_next.name] = der.evaluate(_gate_delta(delta_next, h_t, x_next, c_next), bindings)
        local = {_at("x", "t").name: values["xs"][t + 1], _at("h", "t-1").name: states[t + 1],
                 _at("c", "t").name: gates[t + 1]}
        jac = der.evaluate(fn("diag", _at("c", "t"))
                           + fn("diag", hadamard(hadamard(group(_at("h", "t-1") - Wx @ _at("x", "t")),
                                                            _at("c", "t")), 1 - _at("c", "t"))) @ Wh, local)
        deltas[t] = der.evaluate(recursion, bindings)
        assert abs(deltas[t] - der.evaluate(via, {**bindings, "J[t+1]": jac})).max() < 1e-10
    der.show("The gradient reaching the gate's pre-activation W_c x[t] + W_h h[t−1] at step t is",
             _at("eps", "t", "ε", r"\varepsilon"),
             _gate_delta(delta_t, _at("h", "t-1"), _at("x", "t"), _at("c", "t")))
    der.show(f"Backwards in time: the total gradient δ[t] = dℓ/dh[t] adds the given ∂ℓ/∂h[t] and what "
             f"reaches h[t] through h[t+1]; δ[{K.text}] = ∂ℓ/∂h[{K.text}], then t = {K.text} − 1, …, 1",
             delta_t, via, recursion)
    der.answer("delta", recursion)
    der.shape_answer("delta", (m,))
    return deltas


def _sum_over_time(der, text, answer, weight, body, per_step, shape, K):
    from ._derive_common import index_sum

    total = sum(der.evaluate(body, bindings) for bindings in per_step)
    lhs = Sym(f"dl_d{weight.name}", text=f"∂ℓ/∂{weight.text_name().rstrip(THIN)}",
              latex=rf"\frac{{\partial \ell}}{{\partial {weight.latex_name()}}}")
    expr = index_sum("t", body, ONE, K)
    der.derive(text, lhs, expr, shape=shape, answer=answer, value=total)
    return total


def _element_grad_wx(der, deltas, gates, xs, grad_wx) -> None:
    from ._derive_common import element, index_sum

    delta_i, c_i, x_j = element(_at("delta", "t", "δ", r"\delta"), "i"), element(_at("c", "t"), "i"), \
        element(_at("x", "t"), "j")
    body = delta_i * group(1 - c_i) * x_j
    total = sum(der.evaluate(body, {delta_i.name: index_view(deltas[t], "i"), c_i.name: index_view(gates[t], "i"),
                                    x_j.name: index_view(xs[t], "j")}) for t in range(len(xs)))
    assert abs(total - index_view(grad_wx, "ij")).max() < 1e-10
    der.show("element by element:", Sym("dl_dWx[i, j]", text="∂ℓ/∂W_x[i, j]",
                                         latex=r"\frac{\partial \ell}{\partial {W_x}_{ij}}"),
             index_sum("t", body))


def _verify_gated(der, values, states, deltas, jacobian_last, grad_wx, grad_wc, grad_wh, m) -> None:
    import numpy as np

    def loss() -> float:
        hs, _ = _run_gated(values)
        return float(sum((g * h).sum() for g, h in zip(values["gs"], hs[1:])))

    offsets = np.zeros((m.value, len(values["xs"])))

    def loss_with_offsets() -> float:
        hs, _ = _run_gated(values, offsets)
        return float(sum((g * h).sum() for g, h in zip(values["gs"], hs[1:])))

    h_before = states[-2].copy()
    x_last = values["xs"][-1]

    def last_step():
        c = sigmoid(values["Wc"] @ x_last + values["Wh"] @ h_before)
        return c * h_before + (1 - c) * (values["Wx"] @ x_last)

    jac = numerical_jacobian(last_step, h_before)
    der.verify("Jacobian J at t = K", jacobian_last, jac.reshape(m.value, m.value))
    der.verify("δ at every t", np.hstack(deltas), numerical_gradient(loss_with_offsets, offsets))
    der.verify("∂ℓ/∂W_x", grad_wx, numerical_gradient(loss, values["Wx"]))
    der.verify("∂ℓ/∂W_c", grad_wc, numerical_gradient(loss, values["Wc"]))
    der.verify("∂ℓ/∂W_h", grad_wh, numerical_gradient(loss, values["Wh"]))


# --- lstm-cell -----------------------------------------------------------------------------

GATES = ("i", "f", "g", "o")


def lstm_cell(sol, given, sizes, rng) -> Derivation:
    n, m = sizes["n"], sizes["m"]
    sol.convention(COLUMN_CONVENTION)
    sol.convention("LSTM gates i (input), f (forget), g (candidate, tanh), o (output), each with input "
                   "weights U, recurrent weights W and one bias b: a = U x[t] + W h[t−1] + b.")
    values = {"x": rng.normal(size=(n.value, 1)), "h_prev": rng.normal(size=(m.value, 1)),
              "c_prev": rng.normal(size=(m.value, 1)), "dl_dh": rng.normal(size=(m.value, 1)),
              "dl_dc": rng.normal(size=(m.value, 1))}
    for gate in GATES:
        values[f"U_{gate}"] = rng.normal(size=(m.value, n.value))
        values[f"W_{gate}"] = rng.normal(size=(m.value, m.value))
        values[f"b_{gate}"] = rng.normal(size=(m.value, 1))
    der = Derivation(sol, values)
    s = _lstm_symbols()
    _lstm_forward(der, s, n, m)
    _lstm_backward(der, s, m)
    _lstm_weights(der, s, n, m)
    _verify_lstm(der, values)
    return der.finish(instance_text(sizes, given.seed)
               + "; ℓ = gᵀh[t] + g′ᵀc[t] with random g, g′, so ∂ℓ/∂h[t] = g and ∂ℓ/∂c[t] = g′")


def _lstm_symbols() -> dict:
    s = {"x": Sym("x", text="x[t]", latex="x[t]"), "h_prev": Sym("h_prev", text="h[t−1]", latex="h[t-1]"),
         "c_prev": Sym("c_prev", text="c[t−1]", latex="c[t-1]"), "c": Sym("c", text="c[t]", latex="c[t]"),
         "h": Sym("h", text="h[t]", latex="h[t]"),
         "dl_dh": Sym("dl_dh", text="(∂ℓ/∂h[t])", latex=r"\frac{\partial \ell}{\partial h[t]}"),
         "dl_dc": Sym("dl_dc", text="(∂ℓ/∂c[t])", latex=r"\frac{\partial \ell}{\partial c[t]}"),
         "delta_c": Sym("delta_c", text="δ_c", latex=r"\delta_c")}
    for gate in GATES:
        s[gate] = Sym(gate)
        s[f"a_{gate}"] = Sym(f"a_{gate}", text=f"a_{gate}", latex=f"a_{gate}")
        s[f"U_{gate}"], s[f"W_{gate}"] = matrix(f"U_{gate}"), matrix(f"W_{gate}")
        s[f"b_{gate}"] = Sym(f"b_{gate}")
        s[f"delta_{gate}"] = Sym(f"delta_{gate}", text=f"δ_{gate}", latex=rf"\delta_{gate}")
        s[f"delta_{gate}*"] = matrix(f"delta_{gate}", f"δ_{gate}", rf"\delta_{gate}")  # as a left factor
    return s


def _lstm_forward(der, s, n, m) -> None:
    for gate in GATES:
        pre = s[f"U_{gate}"] @ s["x"] + s[f"W_{gate}"] @ s["h_prev"] + s[f"b_{gate}"]
        der.define(f"Pre-activation of gate {gate}: {m.text} × {n.text} times {n.text} × 1 plus "
                   f"{m.text} × {m.text} times {m.text} × 1", s[f"a_{gate}"], pre, (m, ONE))
        function = "tanh" if gate == "g" else "sigmoid"
        der.define(f"Gate {gate}" + (" (candidate values, tanh)" if gate == "g" else " (sigmoid)"),
                   s[gate], call(function, s[f"a_{gate}"]), (m, ONE))
    der.define("New cell state", s["c"], hadamard(s["f"], s["c_prev"]) + hadamard(s["i"], s["g"]), (m, ONE))
    der.define("New hidden state", s["h"], hadamard(s["o"], call("tanh", s["c"])), (m, ONE))


def _lstm_backward(der, s, m) -> None:
    tanh_c = call("tanh", s["c"])
    delta_c_expr = s["dl_dc"] + hadamard(hadamard(s["dl_dh"], s["o"]), 1 - tanh_c ** 2)
    der.derive("Total gradient at c[t]: the given ∂ℓ/∂c[t] (from later steps) plus the path through "
               "h[t] = o ⊙ tanh(c[t]), with tanh′ = 1 − tanh²", s["delta_c"], delta_c_expr,
               shape=(m, ONE), answer="delta_c")
    local = {
        "o": hadamard(hadamard(hadamard(s["dl_dh"], tanh_c), s["o"]), 1 - s["o"]),
        "f": hadamard(hadamard(hadamard(s["delta_c"], s["c_prev"]), s["f"]), 1 - s["f"]),
        "i": hadamard(hadamard(hadamard(s["delta_c"], s["g"]), s["i"]), 1 - s["i"]),
        "g": hadamard(hadamard(s["delta_c"], s["i"]), 1 - s["g"] ** 2),
    }
    reasons = {"o": "h[t] = o ⊙ tanh(c[t]), and σ′ = o(1 − o)",
               "f": "c[t] = f ⊙ c[t−1] + …, and σ′ = f(1 − f)",
               "i": "c[t] = … + i ⊙ g, and σ′ = i(1 − i)",
               "g": "c[t] = … + i ⊙ g, and tanh′ = 1 − g²"}
    for gate in ("o", "f", "i", "g"):
        der.derive(f"Gradient at the pre-activation of gate {gate}: {reasons[gate]}",
                   s[f"delta_{gate}"], local[gate], shape=(m, ONE), answer=f"delta_{gate}")
    der.derive("The previous cell state is reached through the forget gate",
               Sym("dl_dc_prev", text="∂ℓ/∂c[t−1]", latex=r"\frac{\partial \ell}{\partial c[t-1]}"),
               hadamard(s["delta_c"], s["f"]), shape=(m, ONE), answer="grad_c_prev")


def _lstm_weights(der, s, n, m) -> None:
    sum_h = sum_x = None
    for gate in GATES:
        term_h = transposed(s[f"W_{gate}"]) @ s[f"delta_{gate}"]
        term_x = transposed(s[f"U_{gate}"]) @ s[f"delta_{gate}"]
        sum_h = term_h if sum_h is None else sum_h + term_h
        sum_x = term_x if sum_x is None else sum_x + term_x
        der.derive(f"Weights of gate {gate}: outer products with the inputs of a_{gate}",
                   Sym(f"dl_dU_{gate}", text=f"∂ℓ/∂U_{gate}",
                       latex=rf"\frac{{\partial \ell}}{{\partial U_{gate}}}"),
                   s[f"delta_{gate}*"] @ s["x"].T, shape=(m, n))
        der.derive("and the recurrent ones", Sym(f"dl_dW_{gate}", text=f"∂ℓ/∂W_{gate}",
                           latex=rf"\frac{{\partial \ell}}{{\partial W_{gate}}}"),
                   s[f"delta_{gate}*"] @ s["h_prev"].T, shape=(m, m))
        der.values[f"dl_db_{gate}"] = der.values[f"delta_{gate}"]
    star = matrix("delta_*", "δ_•", r"\delta_\bullet")
    der.answer("grad_U", star @ s["x"].T, (m, n))
    der.answer("grad_W", star @ s["h_prev"].T, (m, m))
    der.answer("grad_b", star, (m, ONE))
    der.sol.note("For every gate • ∈ {i, f, g, o}: ∂ℓ/∂U_• = δ_• x[t]ᵀ, ∂ℓ/∂W_• = δ_• h[t−1]ᵀ and "
                 "∂ℓ/∂b_• = δ_•.")
    der.derive("The previous hidden state feeds all four gates", Sym(
        "dl_dh_prev", text="∂ℓ/∂h[t−1]", latex=r"\frac{\partial \ell}{\partial h[t-1]}"), sum_h,
        shape=(m, ONE), answer="grad_h_prev")
    der.derive("and so does the input",
               Sym("dl_dx", text="∂ℓ/∂x[t]", latex=r"\frac{\partial \ell}{\partial x[t]}"),
               sum_x, shape=(n, ONE), answer="grad_x")


def _verify_lstm(der, values) -> None:
    from ...nn.recurrent import lstm_step

    def loss() -> float:
        # The derivation's vectors are columns and its weights act as U x (out_in); the cell
        # of solver/nn takes rows.
        h, c = lstm_step(values["x"].T, values["h_prev"].T, values["c_prev"].T, values, in_out=False)
        return float((values["dl_dh"].T * h).sum() + (values["dl_dc"].T * c).sum())

    for gate in GATES:
        der.verify(f"∂ℓ/∂U_{gate}", der.values[f"dl_dU_{gate}"], numerical_gradient(loss, values[f"U_{gate}"]))
        der.verify(f"∂ℓ/∂W_{gate}", der.values[f"dl_dW_{gate}"], numerical_gradient(loss, values[f"W_{gate}"]))
        der.verify(f"∂ℓ/∂b_{gate}", der.values[f"dl_db_{gate}"], numerical_gradient(loss, values[f"b_{gate}"]))
    der.verify("∂ℓ/∂c(t−1)", der.values["dl_dc_prev"], numerical_gradient(loss, values["c_prev"]))
    der.verify("∂ℓ/∂h(t−1)", der.values["dl_dh_prev"], numerical_gradient(loss, values["h_prev"]))
    der.verify("∂ℓ/∂x(t)", der.values["dl_dx"], numerical_gradient(loss, values["x"]))
