"""Mini-batch `backprop` (SPEC §12): the same pass as for one sample, with one sample per row.

X is N×D; U_l = H_{l−1}W_l + b_l (in_out) or H_{l−1}W_lᵀ + b_l (out_in), b_l added to every row;
the loss of sample n is the single-sample loss of row n, and J is their mean (`reduction:
mean`) or sum. δ rows are ∂J/∂u of each sample, so under mean they already carry the 1/N; the
weight and bias gradients are then the sums over the batch: ∇W = H_{l−1}ᵀΔ_l (in_out) or
Δ_lᵀH_{l−1}, ∇b = Σₙ δₙ.
"""

from __future__ import annotations

from typing import Any

from ...context import Context
from ...errors import BadInput
from ...formula import Sym, call, hadamard
from ...steps import Formula, Solution, Table
from . import _mlp_functions as act
# The single-sample pass's limits and the symbols the batch writes the same way.
from .backprop import (_FD_TOLERANCE, _MAX_FD_PARAMETERS, _MAX_SUBSTITUTED, ETA, LOSS_CONVENTIONS, J, K,
                       _check_log_domain, _simplified_output, _sym_b, _sym_grad_b, _sym_grad_W, _sym_W)


def batch_size(given, n_in: int) -> int | None:
    """N when `x` is a mini-batch, None when it is one sample.

    A single row (1×D) and a column of the first layer's input size (D×1) stay one sample, as
    before; any other list of lists holds one sample per row."""
    import numpy as np

    x = np.asarray(given.x, dtype=float)
    if x.ndim < 2 or x.shape[0] == 1 or (x.shape[1] == 1 and x.shape[0] == n_in):
        return None
    if x.shape[1] != n_in:
        raise BadInput(f"x holds {x.shape[0]} samples of {x.shape[1]} values, but layer 1 receives "
                       f"{n_in} inputs", field="x")
    return x.shape[0]


def first_layer_inputs(given) -> int:
    """The number of inputs layer 1's W expects (a flat W is one output's weights)."""
    import numpy as np

    W = np.asarray(given.layers[0].W, dtype=float)
    if W.ndim < 2:
        return max(W.size, 1) if W.ndim == 1 else 1
    return W.shape[0] if given.weights == "in_out" else W.shape[1]


# --- symbols: capitals for the batch matrices -----------------------------------------------


def _sym_h(l: int) -> Sym:
    return Sym("X") if l == 0 else Sym(f"H_{l}")


def _sym_u(l: int) -> Sym:
    return Sym(f"U_{l}")


def _sym_fprime(l: int) -> Sym:
    return Sym(f"fprime_{l}", text=f"f′(U_{l})", latex=f"f'(U_{{{l}}})")


def _sym_delta(l: int) -> Sym:
    return Sym(f"Delta_{l}", text=f"Δ_{l}", latex=rf"\Delta_{{{l}}}")


Y, D, N = Sym("Y"), Sym("D"), Sym("N")
J_N = Sym("J_n", text="Jₙ", latex="J_{n}")
DJ_DY = Sym("dJdY", text="∂J/∂Y", latex=r"\frac{\partial J}{\partial Y}")


# --- values -----------------------------------------------------------------------------------


def _plain(value, like_shape=None):
    import numpy as np

    array = np.asarray(value, dtype=float)
    if like_shape is not None:
        return array.reshape(like_shape).tolist()
    if array.ndim == 1 and array.size == 1:
        return float(array[0])
    return array.tolist()


def batch_targets(given, n: int, k: int):
    """D as N×K: one row per sample; a list of N class indices for ce, or N numbers for one output."""
    import numpy as np

    d = np.asarray(given.target, dtype=float)
    if d.ndim == 0:
        raise BadInput(f"x is a batch of {n} samples: give one target per sample", field="target")
    if d.ndim == 1:
        if len(d) != n:
            raise BadInput(f"target has {len(d)} entries but x has {n} samples", field="target")
        if k == 1:
            d = d.reshape(n, 1)
        elif given.loss == "ce":
            if not all(float(i).is_integer() and 0 <= i < k for i in d):
                raise BadInput(f"a list of targets for ce holds one class index from 0 to {k - 1} per "
                               "sample", field="target")
            d = np.eye(k)[d.astype(int)]
        else:
            raise BadInput(f"the network has {k} outputs: give target as one row of {k} values per "
                           "sample", field="target")
    if d.shape[0] != n:
        raise BadInput(f"target has {d.shape[0]} rows but x has {n} samples", field="target")
    if d.shape[1] != k:
        raise BadInput(f"target rows have {d.shape[1]} values but the network has {k} outputs",
                       field="target")
    if given.loss in ("bce", "ce") and (d.min() < 0 or (given.loss == "bce" and d.max() > 1)):
        raise BadInput(f"{given.loss} needs targets {'in [0, 1]' if given.loss == 'bce' else '≥ 0'}",
                       field="target")
    if given.loss == "ce" and np.any(np.abs(d.sum(axis=1) - 1) > 1e-9):
        raise BadInput("ce targets must add up to 1 in every row (one-hot, or a distribution)",
                       field="target")
    return d


class BatchPass:
    """Records each named matrix as a step, rounded when asked."""

    def __init__(self, sol: Solution, ctx: Context):
        self.sol = sol
        self.ctx = ctx
        self.values: dict[str, Any] = {}

    def step(self, text: str, lhs: Sym, expr, names: list[str], answer: str | None = None,
             like_shape=None):
        import numpy as np

        bindings = {name: self.values[name] for name in names}
        big = any(int(np.size(v)) > _MAX_SUBSTITUTED for v in bindings.values())
        formula = Formula(lhs, expr, bindings, substitute=not big)
        self.sol.add(text, formula)
        value = self.ctx.hand_round(formula.value)
        self.values[lhs.name] = value
        if answer is not None:
            self.sol.set_answer(answer, _plain(value, like_shape))
            self.sol.steps[-1].answer = answer
        return value


def _forward(p: BatchPass, layers, layout: str) -> None:
    for layer in layers:
        l = layer.index
        weighted = _sym_h(l - 1) @ (_sym_W(l) if layout == "in_out" else _sym_W(l).T)
        p.step(f"Layer {l}: synaptic inputs, one row per sample (b_{l} is added to every row).",
               _sym_u(l), weighted + _sym_b(l), [_sym_h(l - 1).name, _sym_W(l).name, _sym_b(l).name],
               answer=f"u{l}")
        p.step(f"Layer {l}: outputs ({layer.activation}"
               + (", over each row" if layer.activation == "softmax" else ", element-wise") + ").",
               _sym_h(l), act.apply_rows_expr(layer.activation, _sym_u(l)), [_sym_u(l).name],
               answer=f"h{l}")


def _sample_loss_expr(loss: str):
    log = lambda e: call("log", e)  # noqa: E731
    rows = lambda e: call("mlp_sum_outputs", e)  # noqa: E731
    if loss == "bce":
        return rows(hadamard(-D, log(Y)) - hadamard(1 - D, log(1 - Y)))
    if loss == "ce":
        return rows(hadamard(-D, log(Y)))
    squared = rows((D - Y) ** 2)
    return {"mse": squared / K, "half-sse": squared / 2, "sse": squared}[loss]


def _dloss_expr(loss: str, mean: bool):
    """∂J/∂Y element-wise: the single-sample derivative, over N under mean."""
    if loss == "bce":
        expr = (Y - D) / hadamard(Y, 1 - Y)
    elif loss == "ce":
        expr = -(D / Y)
    elif loss == "mse":
        expr = 2 * (Y - D) / K
    elif loss == "sse":
        expr = 2 * (Y - D)
    else:
        expr = Y - D
    return expr / N if mean else expr


def _output_and_loss(p: BatchPass, layers, given) -> None:
    last = layers[-1]
    y = p.step("The network outputs are the last layer's outputs.", Y, _sym_h(last.index),
               [_sym_h(last.index).name], answer="y")
    _check_log_domain(given.loss, y, p.values["D"])
    p.values["K"] = last.n_out
    names = ["D", "Y"] + (["K"] if given.loss == "mse" else [])
    p.step("Loss of each sample (its row's outputs summed as for one sample).", J_N,
           _sample_loss_expr(given.loss), names)
    if given.reduction == "mean":
        p.step("Loss of the batch: the mean of the samples' losses.", J, call("mlp_sum_samples", J_N) / N,
               [J_N.name, "N"], answer="J")
    else:
        p.step("Loss of the batch: the sum of the samples' losses.", J, call("mlp_sum_samples", J_N),
               [J_N.name], answer="J")


def _derivatives(p: BatchPass, layers) -> None:
    import numpy as np

    for layer in layers:
        l = layer.index
        if layer.activation == "softmax":
            expr, rule = call("mlp_jacobian_rows", _sym_h(l)), "each sample's softmax Jacobian diag(h) − h hᵀ"
        else:
            expr = act.derivative_expr(layer.activation, _sym_u(l), _sym_h(l))
            rule = {"sigmoid": "σ′(u) = h(1 − h)", "tanh": "tanh′(u) = 1 − h²",
                    "relu": "ReLU′(u) = 1 if u > 0 else 0", "linear": "the identity's derivative is 1"}[
                layer.activation]
        value = p.step(f"Layer {l}: derivative of the activation, {rule}.", _sym_fprime(l), expr,
                       [_sym_u(l).name, _sym_h(l).name], answer=f"fprime{l}")
        if layer.activation == "linear":
            ones = np.ones_like(np.asarray(p.values[_sym_u(l).name], dtype=float)) * value
            p.values[_sym_fprime(l).name] = ones
            p.sol.set_answer(f"fprime{l}", _plain(ones))


def _output_delta(p: BatchPass, layer, given) -> None:
    l, mean = layer.index, given.reduction == "mean"
    per = " over N (the mean)" if mean else ""
    if _simplified_output(layer, given.loss):
        why = {"bce": "σ′ cancels the denominator of ∂J/∂y", "ce": "softmax and cross-entropy combine",
               "half-sse": "a linear output with ½Σ(d − y)² needs no f′"}[given.loss]
        p.step(f"Output layer: Δ = ∂J/∂U row by row; {why}, so each row is y − d{per}.", _sym_delta(l),
               (Y - D) / N if mean else Y - D, ["Y", "D"] + (["N"] if mean else []), answer=f"delta{l}")
        return
    names = ["Y", "D"] + (["K"] if given.loss == "mse" else []) + (["N"] if mean else [])
    p.step(f"Derivative of the batch loss with respect to every output{per}.", DJ_DY,
           _dloss_expr(given.loss, mean), names)
    if layer.activation == "softmax":
        expr, text = call("mlp_rows_times", _sym_fprime(l), DJ_DY), "each sample's Jacobian times its row of ∂J/∂Y"
    else:
        expr, text = hadamard(DJ_DY, _sym_fprime(l)), "∂J/∂Y times f′(U), element-wise"
    p.step(f"Output layer: Δ = ∂J/∂U is {text}.", _sym_delta(l), expr, [DJ_DY.name, _sym_fprime(l).name],
           answer=f"delta{l}")


def _hidden_deltas(p: BatchPass, layers, layout: str) -> None:
    for layer, above in zip(reversed(layers[:-1]), reversed(layers[1:])):
        l, m = layer.index, above.index
        back = _sym_delta(m) @ (_sym_W(m).T if layout == "in_out" else _sym_W(m))
        if layer.activation == "softmax":
            expr = call("mlp_rows_times", _sym_fprime(l), back)
        else:
            expr = hadamard(back, _sym_fprime(l))
        p.step(f"Layer {l}: Δ carried back through W_{m} (one row per sample), times f′(U_{l}).",
               _sym_delta(l), expr,
               [_sym_W(m).name, _sym_delta(m).name, _sym_fprime(l).name], answer=f"delta{l}")


def _gradients(p: BatchPass, layers, layout: str) -> None:
    for layer in reversed(layers):
        l = layer.index
        h_prev, delta = _sym_h(l - 1), _sym_delta(l)
        expr = h_prev.T @ delta if layout == "in_out" else delta.T @ h_prev
        p.step(f"Layer {l}: weight gradient, summed over the batch "
               f"({'inputsᵀ Δ' if layout == 'in_out' else 'Δᵀ inputs'}).", _sym_grad_W(l), expr,
               [h_prev.name, delta.name], answer=f"grad_W{l}", like_shape=layer.w_shape)
        p.step(f"Layer {l}: bias gradient, the sum of the δ rows.", _sym_grad_b(l),
               call("mlp_sum_samples", delta), [delta.name], answer=f"grad_b{l}")


def _update(p: BatchPass, layers, lr: float) -> None:
    p.values["eta"] = lr
    for layer in layers:
        l = layer.index
        p.step(f"Layer {l}: SGD step on the weights.", Sym(f"Wnew_{l}", text=f"W_{l}′", latex=f"W_{{{l}}}'"),
               _sym_W(l) - ETA * _sym_grad_W(l), [_sym_W(l).name, "eta", _sym_grad_W(l).name],
               answer=f"W{l}_new", like_shape=layer.w_shape)
        p.step(f"Layer {l}: SGD step on the bias.", Sym(f"bnew_{l}", text=f"b_{l}′", latex=f"b_{{{l}}}'"),
               _sym_b(l) - ETA * _sym_grad_b(l), [_sym_b(l).name, "eta", _sym_grad_b(l).name],
               answer=f"b{l}_new")


def _finite_difference_check(sol: Solution, x, d, layers, given) -> None:
    import numpy as np

    from ...nn.gradcheck import worst_difference
    from ._mlp_numeric import loss_of_parameters

    count = sum(layer.n_in * layer.n_out + layer.n_out for layer in layers)
    if count * len(x) > _MAX_FD_PARAMETERS * 4:
        return
    params = [(np.array(layer.W, dtype=float).reshape(layer.w_shape),
               np.array(layer.b, dtype=float).reshape(-1)) for layer in layers]
    activations = [layer.activation for layer in layers]
    scale_of_sum = 1 / len(x) if given.reduction == "mean" else 1

    def J(ps):
        return scale_of_sum * sum(loss_of_parameters(xn, dn, ps, activations, given.weights, given.loss)
                                  for xn, dn in zip(x, d))

    worst = worst_difference(lambda: J(params), [
        pair for index, (W, b) in enumerate(params)
        for pair in ((W, np.asarray(sol.answers[f"grad_W{index + 1}"], dtype=float).reshape(W.shape)),
                     (b, np.asarray(sol.answers[f"grad_b{index + 1}"], dtype=float).reshape(b.shape)))])
    passed = worst < _FD_TOLERANCE
    detail = (f"every relative difference below {_FD_TOLERANCE:g}" if passed
              else f"largest relative difference {worst:.1e}")
    sol.check("gradients match central finite differences of J", passed, detail, worst)


def _forward_table(p: BatchPass, layers) -> None:
    rows = [[str(layer.index), layer.activation, _plain(p.values[_sym_u(layer.index).name]),
             _plain(p.values[_sym_h(layer.index).name])] for layer in layers]
    p.sol.add("Forward pass, layer by layer (one row per sample).", table=Table(["layer", "activation", "U", "H"], rows))


def solve_batch(sol: Solution, given, ctx: Context, layers, n: int) -> None:
    """The whole worked pass for a mini-batch of n samples (layers as backprop.build_layers gives)."""
    import numpy as np

    x = np.asarray(given.x, dtype=float).reshape(n, -1)
    d = batch_targets(given, n, layers[-1].n_out)
    if given.weights == "in_out":
        sol.convention("weights: in_out — W is inputs×outputs; one sample per row: U = XW + b, ∇W = XᵀΔ")
    else:
        sol.convention("weights: out_in — W is outputs×inputs; one sample per row: U = XWᵀ + b, ∇W = ΔᵀX")
    sol.convention(LOSS_CONVENTIONS[given.loss])
    sol.convention("δ = ∇ᵤJ, the gradient of the loss with respect to a layer's synaptic input u; "
                   "Δ stacks the samples' δ as rows")
    sol.convention(f"mini-batch of N = {n} samples, one per row; reduction: {given.reduction} — J is the "
                   + ("mean" if given.reduction == "mean" else "sum")
                   + " of the per-sample losses; ∇W and ∇b are summed over the batch"
                   + (" of δ rows that carry the 1/N" if given.reduction == "mean" else ""))
    p = BatchPass(sol, ctx)
    p.values.update({"X": ctx.hand_round(x), "D": d, "N": n})
    for layer in layers:
        p.values[_sym_W(layer.index).name] = ctx.hand_round(np.asarray(layer.W, dtype=float).reshape(layer.w_shape))
        p.values[_sym_b(layer.index).name] = ctx.hand_round(np.asarray(layer.b, dtype=float).reshape(-1))
    _forward(p, layers, given.weights)
    _output_and_loss(p, layers, given)
    _forward_table(p, layers)
    _derivatives(p, layers)
    _output_delta(p, layers[-1], given)
    _hidden_deltas(p, layers, given.weights)
    _gradients(p, layers, given.weights)
    if given.lr is not None:
        _update(p, layers, given.lr)
    else:
        sol.note("No learning rate is given, so no update step is taken.")
    if not ctx.round_intermediate:
        _finite_difference_check(sol, x, d, layers, given)
