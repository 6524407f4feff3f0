"""`derive` templates of classifier outputs: softmax with cross-entropy, the course's
sigmoid-hidden-layer MLP (gradient with respect to its input), and a logistic neuron with
binary cross-entropy. Row vectors as the course writes them (x is 1 × N, f₁ = xW₁ + b₁)."""

from __future__ import annotations

from ...formula import call, hadamard
from ...nn.functions import softmax_array
from ._derive_common import (ONE, Derivation, element, element_partial, fn, group, index_sum,
                             index_view, instance_text, kronecker, numerical_gradient,
                             numerical_jacobian, one_hot, partial, sigmoid, sym)

ROW_CONVENTION = ("Row vectors as in the course (x is 1 × N, f = xW + b); a gradient has the shape of "
                  "the quantity it differentiates (denominator layout); log is the natural logarithm.")

x, W1, b1, f1, a = sym("x"), sym("W1", "W₁", "W_1"), sym("b1", "b₁", "b_1"), sym("f1", "f₁", "f_1"), sym("a")
W2, b2, f2 = sym("W2", "W₂", "W_2"), sym("b2", "b₂", "b_2"), sym("f2", "f₂", "f_2")
o, y, E = sym("o"), sym("y"), sym("E")


def _softmax(v):
    return softmax_array(v, axis=-1)


def _cross_entropy(probabilities, labels) -> float:
    import numpy as np

    return float(-np.sum(labels * np.log(probabilities)))


# --- softmax-cross-entropy ---------------------------------------------------------------


def _softmax_forward(d: Derivation, K) -> None:
    d.define("The softmax turns the scores f₂ into probabilities", o, fn("softmax", f2), (ONE, K))
    f2_i, f2_j, o_i, y_i = element(f2, "i"), element(f2, "j"), element(o, "i"), element(y, "i")
    d.elementwise("element by element:", o_i,
                  call("exp", f2_i) / index_sum("j", call("exp", f2_j)),
                  bindings={f2_i.name: index_view(d.values["f2"], "i"),
                            f2_j.name: index_view(d.values["f2"], "j")},
                  expected=d.values["o"], letters="i")
    loss = _cross_entropy(d.values["o"], d.values["y"])
    d.elementwise("The cross-entropy loss with the one-hot label y (1 × K):", E,
                  -index_sum("i", y_i * call("log", o_i)),
                  bindings={y_i.name: index_view(d.values["y"], "i"), o_i.name: index_view(d.values["o"], "i")},
                  expected=loss, letters="")


def softmax_cross_entropy(sol, given, sizes, rng) -> Derivation:
    import numpy as np

    K = sizes["K"]
    sol.convention(ROW_CONVENTION)
    values = {"f2": rng.normal(size=(1, K.value)), "y": one_hot(rng, K.value)}
    d = Derivation(sol, values)
    _softmax_forward(d, K)

    dE_do, do_df2, dE_df2 = partial(E, o, "dE_do"), partial(o, f2, "do_df2"), partial(E, f2, "dE_df2")
    o_i, o_j, y_i, y_j = element(o, "i"), element(o, "j"), element(y, "i"), element(y, "j")
    delta = kronecker("ij")
    views = {o_i.name: index_view(d.values["o"], "i"), o_j.name: index_view(d.values["o"], "j"),
             y_i.name: index_view(d.values["y"], "i"), y_j.name: index_view(d.values["y"], "j"),
             delta.name: index_view(np.eye(K.value), "ij")}

    grad_o = d.evaluate((-y) / o)
    d.elementwise("The loss depends on each probability through one term:",
                  element_partial(E, o, "i"), (-y_i) / o_i,
                  bindings=views, expected=grad_o, letters="i")
    d.derive("so, dividing element by element", dE_do, (-y) / o, shape=(ONE, K), answer="grad_o")

    jacobian = d.evaluate(fn("diag", o) - o.T @ o)
    d.elementwise("Each probability depends on every score (δ[i, j] is 1 when i = j, else 0):",
                  element_partial(o, f2, "j", "i"), o_i * (delta - o_j),
                  bindings=views, expected=jacobian, letters="ij")
    d.derive("so the softmax Jacobian, row i and column j holding ∂o[i]/∂f₂[j], is",
             do_df2, fn("diag", o) - o.T @ o, shape=(K, K), answer="jacobian")

    grad_f2 = d.evaluate(o - y)
    dE_do_i, do_df2_ij = element_partial(E, o, "i", paren=True), element_partial(o, f2, "j", "i", paren=True)
    chain_views = {**views, dE_do_i.name: index_view(grad_o, "i"), do_df2_ij.name: index_view(jacobian, "ij")}
    d.elementwise("The chain rule sums over every probability o[i]:",
                  element_partial(E, f2, "j"),
                  index_sum("i", dE_do_i * do_df2_ij),
                  index_sum("i", group((-y_i) / o_i) * o_i * group(delta - o_j)),
                  -y_j + o_j * index_sum("i", y_i),
                  bindings=chain_views, expected=grad_f2, letters="j")
    d.derive("The labels sum to one (Σᵢ y[i] = 1), so the gradient is the prediction minus the label:",
             dE_df2, o - y, via=dE_do @ do_df2, shape=(ONE, K), answer="grad_f2")

    f2_value, y_value = d.values["f2"], d.values["y"]
    o_value = d.values["o"].copy()
    d.verify("∂E/∂o", grad_o, numerical_gradient(lambda: _cross_entropy(o_value, y_value), o_value))
    d.verify("∂o/∂f₂", jacobian,
             numerical_jacobian(lambda: _softmax(f2_value), f2_value).reshape(K.value, K.value))
    d.verify("∂E/∂f₂", grad_f2,
             numerical_gradient(lambda: _cross_entropy(_softmax(f2_value), y_value), f2_value))
    return d.finish(instance_text(sizes, given.seed))


# --- sigmoid-mlp-input-gradient ---------------------------------------------------------


def sigmoid_mlp_input_gradient(sol, given, sizes, rng) -> Derivation:
    N, M, K = sizes["N"], sizes["M"], sizes["K"]
    sol.convention(ROW_CONVENTION)
    values = {"x": rng.normal(size=(1, N.value)), "W1": rng.normal(size=(N.value, M.value)),
              "b1": rng.normal(size=(1, M.value)), "W2": rng.normal(size=(M.value, K.value)),
              "b2": rng.normal(size=(1, K.value)), "y": one_hot(rng, K.value)}
    d = Derivation(sol, values)
    d.define(f"Hidden layer scores, 1 × {N.text} times {N.text} × {M.text}", f1, x @ W1 + b1, (ONE, M))
    d.define("Sigmoid activations", a, call("sigmoid", f1), (ONE, M))
    d.define(f"Output scores, 1 × {M.text} times {M.text} × {K.text}", f2, a @ W2 + b2, (ONE, K))
    d.define("Softmax probabilities", o, fn("softmax", f2), (ONE, K))
    y_i, o_i = element(y, "i"), element(o, "i")
    d.elementwise("Cross-entropy loss", E, -index_sum("i", y_i * call("log", o_i)),
                  bindings={y_i.name: index_view(d.values["y"], "i"), o_i.name: index_view(d.values["o"], "i")},
                  expected=_cross_entropy(d.values["o"], d.values["y"]), letters="")

    dE_df2, dE_da, dE_df1 = partial(E, f2, "dE_df2"), partial(E, a, "dE_da"), partial(E, f1, "dE_df1")
    hidden_delta = hadamard(hadamard((o - y) @ W2.T, a), 1 - a)
    d.derive("Softmax with cross-entropy (template softmax-cross-entropy) gives at the output scores",
             dE_df2, o - y, shape=(ONE, K), answer="grad_f2")
    d.derive(f"f₂ = aW₂ + b₂, so the output weights get aᵀ ({M.text} × 1) times ∂E/∂f₂ (1 × {K.text})",
             partial(E, W2, "dE_dW2"), a.T @ (o - y), via=a.T @ dE_df2, shape=(M, K), answer="grad_W2")
    d.derive("and the output bias gets ∂E/∂f₂ itself", partial(E, b2, "dE_db2"), o - y, via=dE_df2,
             shape=(ONE, K), answer="grad_b2")
    d.derive(f"Back through W₂: 1 × {K.text} times {K.text} × {M.text}", dE_da, (o - y) @ W2.T,
             via=dE_df2 @ W2.T, shape=(ONE, M), answer="grad_a")
    sigma_prime = sym("sigma_prime_f1", "σ′(f₁)", r"\sigma'(f_1)")
    d.derive("The sigmoid's derivative, written with its output a = σ(f₁)", sigma_prime,
             hadamard(a, 1 - a), via=hadamard(call("sigmoid", f1), 1 - call("sigmoid", f1)), shape=(ONE, M))
    d.derive("Through the element-wise sigmoid: multiply element by element", dE_df1, hidden_delta,
             via=hadamard(dE_da, sigma_prime), shape=(ONE, M), answer="grad_f1")
    d.derive(f"f₁ = xW₁ + b₁, so the hidden weights get xᵀ ({N.text} × 1) times ∂E/∂f₁",
             partial(E, W1, "dE_dW1"), x.T @ hidden_delta, via=x.T @ dE_df1, shape=(N, M), answer="grad_W1")
    d.derive("and the hidden bias gets ∂E/∂f₁", partial(E, b1, "dE_db1"), hidden_delta, via=dE_df1,
             shape=(ONE, M), answer="grad_b1")
    grad_x = d.derive(f"Back through W₁ to the input: 1 × {M.text} times {M.text} × {N.text}",
                      partial(E, x, "dE_dx"), group(hidden_delta) @ W1.T, via=dE_df1 @ W1.T,
                      shape=(ONE, N), answer="grad_x")

    W1_nm, W2_mk, a_m = element(W1, "nm"), element(W2, "mk"), element(a, "m")
    o_k, y_k = element(o, "k"), element(y, "k")
    d.elementwise("Element by element, summing over the hidden units m and the classes k:",
                  element_partial(E, x, "n"),
                  index_sum("m", W1_nm * a_m * group(1 - a_m) * index_sum("k", W2_mk * group(o_k - y_k))),
                  bindings={W1_nm.name: index_view(d.values["W1"], "nm"),
                            W2_mk.name: index_view(d.values["W2"], "mk"),
                            a_m.name: index_view(d.values["a"], "m"), o_k.name: index_view(d.values["o"], "k"),
                            y_k.name: index_view(d.values["y"], "k")},
                  expected=grad_x, letters="n")

    inputs = {name: values[name] for name in ("x", "W1", "b1", "W2", "b2")}

    def loss() -> float:
        hidden = sigmoid(inputs["x"] @ inputs["W1"] + inputs["b1"])
        return _cross_entropy(_softmax(hidden @ inputs["W2"] + inputs["b2"]), values["y"])

    f2_probe = d.values["f2"].copy()
    d.verify("∂E/∂f₂", d.values["dE_df2"],
             numerical_gradient(lambda: _cross_entropy(_softmax(f2_probe), values["y"]), f2_probe))
    for label, name, result in (("∂E/∂W₂", "W2", "dE_dW2"), ("∂E/∂b₂", "b2", "dE_db2"),
                                ("∂E/∂W₁", "W1", "dE_dW1"), ("∂E/∂b₁", "b1", "dE_db1"),
                                ("∂E/∂x", "x", "dE_dx")):
        d.verify(label, d.values[result], numerical_gradient(loss, inputs[name]))
    a_probe = d.values["a"].copy()
    d.verify("∂E/∂a", d.values["dE_da"], numerical_gradient(
        lambda: _cross_entropy(_softmax(a_probe @ values["W2"] + values["b2"]), values["y"]), a_probe))
    f1_probe = d.values["f1"].copy()
    d.verify("∂E/∂f₁", d.values["dE_df1"], numerical_gradient(
        lambda: _cross_entropy(_softmax(sigmoid(f1_probe) @ values["W2"] + values["b2"]), values["y"]),
        f1_probe))
    return d.finish(instance_text(sizes, given.seed))


# --- logistic-bce --------------------------------------------------------------------------


def logistic_bce(sol, given, sizes, rng) -> Derivation:
    import numpy as np

    n = sizes["n"]
    sol.convention("Column vectors: x and w are n × 1 and u = wᵀx + b; a gradient has the shape of the "
                   "quantity it differentiates (denominator layout); natural log.")
    w, b, u, d_, J = sym("w"), sym("b"), sym("u"), sym("d"), sym("J")
    values = {"x": rng.normal(size=(n.value, 1)), "w": rng.normal(size=(n.value, 1)),
              "b": rng.normal(size=(1, 1)), "d": rng.uniform(0.05, 0.95, size=(1, 1))}
    deriv = Derivation(sol, values)
    deriv.define("Weighted input of the neuron (a number)", u, w.T @ x + b)
    deriv.define("Logistic (sigmoid) output", y, call("sigmoid", u))
    loss_expr = -(d_ * call("log", y) + (1 - d_) * call("log", 1 - y))
    deriv.define("Binary cross-entropy with target d (0 or 1, or any value in between)", J, loss_expr)

    dJ_dy, dy_du, dJ_du = partial(J, y, "dJ_dy"), partial(y, u, "dy_du"), partial(J, u, "dJ_du")
    deriv.derive("Derivative of the loss with respect to the output", dJ_dy,
                 (y - d_) / (y * (1 - y)), via=-(d_ / y) + (1 - d_) / (1 - y), answer="grad_y")
    deriv.derive("The sigmoid's derivative, written with its output", dy_du, y * (1 - y),
                 via=call("sigmoid", u) * (1 - call("sigmoid", u)))
    deriv.derive("Chain rule: the y(1 − y) factors cancel", dJ_du, y - d_, via=dJ_dy * dy_du, answer="grad_u")
    deriv.derive("u = wᵀx + b, so ∂u/∂w = x", partial(J, w, "dJ_dw"), (y - d_) * x, via=dJ_du * x,
                 shape=(n, ONE), answer="grad_w")
    deriv.derive("and ∂u/∂b = 1", partial(J, b, "dJ_db"), y - d_, via=dJ_du, answer="grad_b")

    target = values["d"]

    def bce(probability) -> float:
        return float(-(target * np.log(probability) + (1 - target) * np.log(1 - probability)).sum())

    def loss() -> float:
        return bce(sigmoid(values["w"].T @ values["x"] + values["b"]))

    y_probe, u_probe = deriv.values["y"].copy(), deriv.values["u"].copy()
    deriv.verify("∂J/∂y", deriv.values["dJ_dy"], numerical_gradient(lambda: bce(y_probe), y_probe))
    deriv.verify("∂J/∂u", deriv.values["dJ_du"], numerical_gradient(lambda: bce(sigmoid(u_probe)), u_probe))
    deriv.verify("∂J/∂w", deriv.values["dJ_dw"], numerical_gradient(loss, values["w"]))
    deriv.verify("∂J/∂b", deriv.values["dJ_db"], numerical_gradient(loss, values["b"]))
    return deriv.finish(instance_text(sizes, given.seed))
