"""`derive` template `linear-square-error`: a linear layer y = Wᵀx + b (or Wx + b) with the
square error J = (d − y)ᵀ(d − y), optionally plus the L2 penalty β‖W‖², and the gradients
∇y J, ∇W J, ∇b J in a stated layout."""

from __future__ import annotations

from ...formula import Num, Sym
from ._derive_common import (ONE, Derivation, const, element, element_partial, fn, index_sum,
                             index_view, instance_text, numerical_gradient, sym)

x, W, b, d_, y, beta = sym("x"), sym("W"), sym("b"), sym("d"), sym("y"), sym("beta", "β", r"\beta")


def _gradient_symbol(loss: Sym, var: Sym, numerator: bool, name: str) -> Sym:
    """∇_W J in denominator layout (the variable's shape), ∂J/∂W in numerator layout."""
    if numerator:
        return Sym(name, text=f"(∂{loss.text_name()}/∂{var.text_name()})",
                   latex=rf"\frac{{\partial {loss.latex_name()}}}{{\partial {var.latex_name()}}}")
    return Sym(name, text=f"∇_{var.text_name()} {loss.text_name()}",
               latex=rf"\nabla_{{{var.latex_name()}}} {loss.latex_name()}")


def linear_square_error(sol, given, sizes, rng) -> Derivation:
    n, K = sizes["n"], sizes["K"]
    numerator, out_in = given.layout == "numerator", given.weights == "out_in"
    J = Sym("J1", text="J₁", latex="J_1") if given.l2 else Sym("J")
    w_shape = (K, n) if out_in else (n, K)
    _state_conventions(sol, numerator, out_in)
    values = {"x": rng.normal(size=(n.value, 1)), "W": rng.normal(size=(w_shape[0].value, w_shape[1].value)),
              "b": rng.normal(size=(K.value, 1)), "d": rng.normal(size=(K.value, 1)),
              "beta": float(rng.uniform(0.1, 1.0))}
    der = Derivation(sol, values)

    pre = (W @ x if out_in else W.T @ x) + b
    der.define("The layer's output", y, pre, (K, ONE))
    loss = (d_ - y).T @ (d_ - y)
    if given.l2:
        loss = loss + beta * fn("sqnorm", W)
    der.define("The loss, a number" + (" (square error plus the L2 penalty β‖W‖²)" if given.l2 else ""),
               J, loss)
    _element_loss(der, J, given.l2, out_in)

    grad_y_sym = _gradient_symbol(J, y, numerator, "grad_y")
    grad_y_expr = const(-2) * (d_ - y).T if numerator else const(-2) * (d_ - y)
    y_j, d_j = element(y, "j"), element(d_, "j")
    views = {y_j.name: index_view(der.values["y"], "j"), d_j.name: index_view(der.values["d"], "j")}
    der.elementwise("Each output enters the loss through one square:", element_partial(J, y, "j"),
                    const(-2) * (d_j - y_j), bindings=views, expected=der.evaluate(const(-2) * (d_ - y)),
                    letters="j")
    der.derive("so, collected", grad_y_sym, grad_y_expr, shape=(ONE, K) if numerator else (K, ONE),
               answer="grad_y")

    _weight_gradient(der, J, given.l2, numerator, out_in, w_shape, views)

    grad_b_sym = _gradient_symbol(J, b, numerator, "grad_b")
    der.derive("y[j] depends on b[j] with coefficient 1, so the bias gets the output gradient itself"
               + ("; the penalty does not involve b, so it is unchanged by L2" if given.l2 else ""),
               grad_b_sym, grad_y_expr, via=grad_y_sym, shape=(ONE, K) if numerator else (K, ONE),
               answer="grad_b")

    _verify(der, given.l2, numerator, out_in, values)
    return der.finish(instance_text(sizes, given.seed) + (f", β = {values['beta']:.3f}" if given.l2 else ""))


def _state_conventions(sol, numerator: bool, out_in: bool) -> None:
    sol.convention("Column vectors: x is n × 1; y, b and d are K × 1; "
                   + ("W is K × n (outputs × inputs) and y = Wx + b." if out_in
                      else "W is n × K (inputs × outputs) and y = Wᵀx + b."))
    sol.convention("Numerator layout: the derivative of the number J by a quantity has that quantity's "
                   "shape transposed (∂J/∂y is a row)." if numerator else
                   "Denominator layout: a gradient has the shape of the quantity it differentiates "
                   "(∇W J is shaped like W).")


def _element_loss(der: Derivation, J: Sym, l2: bool, out_in: bool) -> None:
    y_j, d_j = element(y, "j"), element(d_, "j")
    body = index_sum("j", (d_j - y_j) ** 2)
    w_el = element(W, "ji" if out_in else "ij")
    if l2:
        body = body + beta * index_sum("i", index_sum("j", w_el ** 2))
    der.elementwise("element by element:", J, body,
                    bindings={y_j.name: index_view(der.values["y"], "j"),
                              d_j.name: index_view(der.values["d"], "j"),
                              w_el.name: index_view(der.values["W"], "ji" if out_in else "ij")},
                    expected=der.values[J.name], letters="")


def _weight_gradient(der: Derivation, J: Sym, l2: bool, numerator: bool, out_in: bool,
                     w_shape, views: dict) -> None:
    letters = "ji" if out_in else "ij"
    w_el, x_i = element(W, letters), element(x, "i")
    y_j, d_j = element(y, "j"), element(d_, "j")
    b_j = element(b, "j")
    der.elementwise("Each output is linear in the weights:", y_j,
                    index_sum("i", w_el * x_i) + b_j,
                    bindings={**views, w_el.name: index_view(der.values["W"], letters),
                              x_i.name: index_view(der.values["x"], "i"),
                              b_j.name: index_view(der.values["b"], "j")},
                    expected=der.values["y"], letters="j")
    element_form = const(-2) * (d_j - y_j) * x_i
    collected = const(-2) * (d_ - y) @ x.T if out_in else const(-2) * x @ (d_ - y).T
    if l2:
        element_form = element_form + Num(2) * beta * w_el
        collected = collected + Num(2) * beta * W
    der.elementwise(f"so W[{', '.join(letters)}] reaches the loss only through y[j]"
                    + (", and the penalty adds 2βW" + f"[{', '.join(letters)}]" if l2 else "") + ":",
                    element_partial(J, W, letters), element_form,
                    bindings={**views, w_el.name: index_view(der.values["W"], letters),
                              x_i.name: index_view(der.values["x"], "i")},
                    expected=der.evaluate(collected), letters=letters)
    transposed = const(-2) * x @ (d_ - y).T if out_in else const(-2) * (d_ - y) @ x.T
    if l2:
        transposed = transposed + Num(2) * beta * W.T
    form, other = (transposed, collected) if numerator else (collected, transposed)
    shape = (w_shape[1], w_shape[0]) if numerator else w_shape
    der.derive(f"Collected into a matrix, shaped like {'Wᵀ' if numerator else 'W'}",
               _gradient_symbol(J, W, numerator, "grad_W"), form, shape=shape, answer="grad_W")
    der.show(f"(In {'denominator' if numerator else 'numerator'} layout the same derivative is the "
             f"transpose, shaped like {'W' if numerator else 'Wᵀ'}:)",
             _gradient_symbol(J, W, not numerator, "grad_W_other"), other)


def _verify(der: Derivation, l2: bool, numerator: bool, out_in: bool, values: dict) -> None:
    import numpy as np

    def loss_of(output) -> float:
        error = values["d"] - output
        return float((error.T @ error).item())

    def loss() -> float:
        weights = values["W"]
        output = (weights @ values["x"] if out_in else weights.T @ values["x"]) + values["b"]
        penalty = values["beta"] * float(np.sum(weights ** 2)) if l2 else 0.0
        return loss_of(output) + penalty

    def oriented(gradient):
        return gradient.T if numerator else gradient

    y_probe = der.values["y"].copy()
    der.verify("∇y J", oriented(der.values["grad_y"]), numerical_gradient(lambda: loss_of(y_probe), y_probe))
    der.verify("∇W J", oriented(der.values["grad_W"]), numerical_gradient(loss, values["W"]))
    der.verify("∇b J", oriented(der.values["grad_b"]), numerical_gradient(loss, values["b"]))
