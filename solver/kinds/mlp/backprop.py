"""Kind `backprop`: one forward and backward pass through a fully connected network, and one
SGD step when a learning rate is given.

Any number of layers; activations sigmoid, tanh, relu, linear, softmax; losses bce, ce, mse,
sse, half-sse. Steps: u and h per layer, the output and the loss, f'(u), δ = ∇ᵤJ per layer,
∇W and ∇b, and the updated weights. Vectors are columns, as the course writes them. With
`round_intermediate` every named quantity is rounded as soon as it is computed (SPEC §5).
A list of input vectors is a mini-batch, worked one sample per row in `_backprop_batch`.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from ...activations import TABLE
from ...context import Context
from ...errors import BadInput
from ...formula import Expr, Sym, call, hadamard, total
from ...inputs import KindInput, LayerWeights, choice, matrix_value, vector_value, weight_layout
from ...registry import register
from ...steps import Formula, Solution, Table
from . import _mlp_functions as act

LOSSES = ("bce", "ce", "mse", "sse", "half-sse")
_LOSS_ALIASES = {"cross-entropy": "ce", "cross_entropy": "ce", "binary-cross-entropy": "bce",
                 "half_sse": "half-sse", "halfsse": "half-sse"}
_MAX_SUBSTITUTED = 30  # matrices with more entries are shown without the numbers line
_MAX_FD_PARAMETERS = 400  # the finite-difference check is skipped for bigger networks
_FD_TOLERANCE = 1e-5


class BackpropLayer(LayerWeights):
    activation: str = Field(description="sigmoid, tanh, relu, linear or softmax")

    @field_validator("activation")
    @classmethod
    def _activation(cls, value):
        return act.normalize_activation(value)


class BackpropInput(KindInput):
    x: Any = Field(description="the input vector (or one number); a list of input vectors is a mini-batch")
    target: Any = Field(description="desired output d: a number, a vector, or one-hot (a class index for ce); "
                                    "for a mini-batch one per sample")
    layers: list[BackpropLayer] = Field(description="the layers, input side first")
    weights: str = Field("in_out", description="in_out: u = Wᵀx + b; out_in: u = Wx + b")
    loss: str = Field("mse", description="bce, ce (with softmax), mse (mean), sse, half-sse")
    lr: float | None = Field(None, description="learning rate of one SGD step (no update without it)")
    reduction: str = Field("mean", description="mini-batch: J is the mean (default) or sum of the samples' losses")

    @field_validator("x", "target")
    @classmethod
    def _vector(cls, value, info):
        # One sample is a vector; a list of vectors is a mini-batch (decided in solve, where
        # the first layer's input size tells a D×1 column from N one-input samples).
        return matrix_value(value, name=info.field_name)

    @field_validator("reduction")
    @classmethod
    def _reduction(cls, value):
        return choice(value, ("mean", "sum"), name="reduction", either=True)

    @field_validator("layers")
    @classmethod
    def _layers(cls, value):
        if not value:
            raise ValueError("give at least one layer")
        return value

    @field_validator("weights")
    @classmethod
    def _layout(cls, value):
        return weight_layout(value)

    @field_validator("loss")
    @classmethod
    def _loss(cls, value):
        return choice(value, LOSSES, _LOSS_ALIASES, name="loss")

    @field_validator("lr")
    @classmethod
    def _lr(cls, value):
        if value is not None and not value > 0:
            raise ValueError("lr must be positive")
        return value


# --- values: columns, with one-element vectors as plain numbers ----------------------------------


def _column(values):
    """A vector as an (n, 1) column; one element as a NumPy scalar (it prints as a number)."""
    import numpy as np

    array = np.asarray(values, dtype=float).reshape(-1, 1)
    return array[0, 0] if array.size == 1 else array


def _matrix(values):
    import numpy as np

    array = np.asarray(values, dtype=float)
    return array[0, 0] if array.size == 1 else array


def _shrink(value):
    """Results of one element become scalars (Wᵀh of a one-output layer is a 1×1 matrix)."""
    import numpy as np

    if isinstance(value, np.ndarray) and value.size == 1:
        return value.reshape(-1)[0]
    return value


def _size(value) -> int:
    return int(getattr(value, "size", 1))


def _is_array(value) -> bool:
    return _size(value) > 1 or getattr(value, "ndim", 0) > 0


def _product(a: Expr, a_value, b: Expr, b_value) -> Expr:
    """a b as a matrix product, or a plain product when one side is a number."""
    return a @ b if (_is_array(a_value) and _is_array(b_value)) else a * b


def _plain(value, like_shape=None):
    """An answer value: numbers as floats, columns as flat lists, matrices as nested lists."""
    import numpy as np

    array = np.asarray(value, dtype=float)
    if like_shape is not None:
        return np.broadcast_to(array, like_shape).reshape(like_shape).tolist()
    if array.size == 1:
        return float(array.reshape(-1)[0])
    if array.ndim == 2 and 1 in array.shape:
        return array.reshape(-1).tolist()
    return array.tolist()


# --- the network ---------------------------------------------------------------------------------


class Layer:
    """One layer's given data, normalized: W as the layout says, b as a column."""

    def __init__(self, index: int, W, b, activation: str, n_in: int, n_out: int, w_shape):
        self.index = index
        self.W = W
        self.b = b
        self.activation = activation
        self.n_in = n_in
        self.n_out = n_out
        self.w_shape = w_shape  # (rows, cols) as the layout stores W


def _weight_matrix(raw, n_in: int, layout: str, field: str):
    """W as a 2-D array in the given layout; a flat list is one output's weights."""
    import numpy as np

    array = np.asarray(raw, dtype=float)
    if array.ndim == 0:
        array = array.reshape(1, 1)
    elif array.ndim == 1:
        if len(array) != n_in:
            raise BadInput(f"W has {len(array)} entries but the layer receives {n_in} inputs; give W as "
                           f"a matrix ({'inputs×outputs' if layout == 'in_out' else 'outputs×inputs'})",
                           field=field)
        array = array.reshape(-1, 1) if layout == "in_out" else array.reshape(1, -1)
    rows_are_inputs = layout == "in_out"
    inputs = array.shape[0] if rows_are_inputs else array.shape[1]
    if inputs != n_in:
        other = array.shape[1] if rows_are_inputs else array.shape[0]
        hint = (" — is it written outputs×inputs? then set weights: out_in"
                if rows_are_inputs and other == n_in else
                " — is it written inputs×outputs? then set weights: in_out"
                if not rows_are_inputs and other == n_in else "")
        raise BadInput(f"W is {array.shape[0]}×{array.shape[1]} but the layer receives {n_in} inputs "
                       f"({'rows' if rows_are_inputs else 'columns'} must be inputs with weights: "
                       f"{layout}){hint}", field=field)
    return array


def build_layers(given: BackpropInput, n_inputs: int | None = None) -> tuple[Any, list[Layer]]:
    """The layers, and x as a column; `n_inputs` is the input size of a mini-batch's rows."""
    import numpy as np

    x = np.asarray(given.x, dtype=float).reshape(-1)
    layers, n_in = [], len(x) if n_inputs is None else n_inputs
    for index, spec in enumerate(given.layers):
        field = f"layers.{index}"
        array = _weight_matrix(spec.W, n_in, given.weights, f"{field}.W")
        n_out = array.shape[1] if given.weights == "in_out" else array.shape[0]
        bias = np.asarray(spec.b, dtype=float).reshape(-1)
        if bias.size == 1:
            bias = np.full(n_out, bias[0])
        elif bias.size != n_out:
            raise BadInput(f"b has {bias.size} entries but the layer has {n_out} neurons", field=f"{field}.b")
        if spec.activation == "softmax" and n_out == 1:
            raise BadInput("softmax over a single neuron is always 1; use sigmoid for one output",
                           field=f"{field}.activation")
        layers.append(Layer(index + 1, _matrix(array), _column(bias), spec.activation, n_in, n_out,
                            array.shape))
        n_in = n_out
    return _column(x), layers


def target_column(given: BackpropInput, n_out: int):
    import numpy as np

    d = np.asarray(given.target, dtype=float).reshape(-1)
    if given.loss == "ce" and d.size == 1 and n_out > 1:
        index = d[0]
        if not float(index).is_integer() or not 0 <= index < n_out:
            raise BadInput(f"a single target for ce is a class index from 0 to {n_out - 1}, got {given.target!r}",
                           field="target")
        d = np.eye(n_out)[int(index)]
    if d.size != n_out:
        raise BadInput(f"target has {d.size} values but the network has {n_out} outputs", field="target")
    if given.loss in ("bce", "ce") and (d.min() < 0 or (given.loss == "bce" and d.max() > 1)):
        raise BadInput(f"{given.loss} needs targets {'in [0, 1]' if given.loss == 'bce' else '≥ 0'}",
                       field="target")
    if given.loss == "ce" and abs(d.sum() - 1) > 1e-9:
        raise BadInput(f"ce targets must add up to 1 (one-hot, or a distribution); these add up to "
                       f"{d.sum():g}", field="target")
    return _column(d)


# --- symbols ------------------------------------------------------------------------------------


def _sym_h(l: int) -> Sym:
    return Sym("x") if l == 0 else Sym(f"h_{l}")


def _sym_W(l: int) -> Sym:
    return Sym(f"W_{l}")


def _sym_b(l: int) -> Sym:
    return Sym(f"b_{l}")


def _sym_u(l: int) -> Sym:
    return Sym(f"u_{l}")


def _sym_fprime(l: int) -> Sym:
    return Sym(f"fprime_{l}", text=f"f′(u_{l})", latex=f"f'(u_{{{l}}})")


def _sym_delta(l: int) -> Sym:
    return Sym(f"delta_{l}")


def _sym_grad_W(l: int) -> Sym:
    return Sym(f"gradW_{l}", text=f"∇W_{l}", latex=rf"\nabla_{{W_{{{l}}}}} J")


def _sym_grad_b(l: int) -> Sym:
    return Sym(f"gradb_{l}", text=f"∇b_{l}", latex=rf"\nabla_{{b_{{{l}}}}} J")


Y, D, J, ETA, K = Sym("y"), Sym("d"), Sym("J"), Sym("eta"), Sym("K")
DJ_DY = Sym("dJdy", text="∂J/∂y", latex=r"\frac{\partial J}{\partial y}")


# --- the solver ---------------------------------------------------------------------------------


class _Formula(Formula):
    """A formula whose one-element result is a number (Wᵀh of a one-output layer is 1×1)."""

    @property
    def value(self):
        return _shrink(super().value)


class Pass:
    """The worked pass: records each named quantity as a step, rounded when asked."""

    def __init__(self, sol: Solution, ctx: Context):
        self.sol = sol
        self.ctx = ctx
        self.values: dict[str, Any] = {}

    def step(self, text: str, lhs: Sym, expr: Expr, names: list[str], answer: str | None = None,
             like_shape=None):
        bindings = {name: self.values[name] for name in names}
        big = any(_size(v) > _MAX_SUBSTITUTED for v in bindings.values())
        formula = _Formula(lhs, expr, bindings, substitute=not big)
        self.sol.add(text, formula)
        value = self.ctx.hand_round(formula.value)
        self.values[lhs.name] = value
        if answer is not None:
            self.sol.set_answer(answer, _plain(value, like_shape))
        return value


def _forward(p: Pass, layers: list[Layer], layout: str) -> None:
    for layer in layers:
        l = layer.index
        W, h_prev = _sym_W(l), _sym_h(l - 1)
        weighted = (_product(W.T, layer.W, h_prev, p.values[h_prev.name]) if layout == "in_out"
                    else _product(W, layer.W, h_prev, p.values[h_prev.name]))
        p.step(f"Layer {l}: synaptic input.", _sym_u(l), weighted + _sym_b(l),
               [W.name, h_prev.name, _sym_b(l).name], answer=f"u{l}")
        p.step(f"Layer {l}: output ({layer.activation}).", _sym_h(l),
               act.apply_expr(layer.activation, _sym_u(l)), [_sym_u(l).name], answer=f"h{l}")


def _loss_expr(loss: str, vector: bool) -> Expr:
    log = lambda e: call("log", e)  # noqa: E731
    # Written as Σ(−d ⊙ ln y) rather than −Σ(d ⊙ ln y): the same number, fewer brackets.
    if loss == "bce":
        if vector:
            return total(hadamard(-D, log(Y)) - hadamard(1 - D, log(1 - Y)))
        return (-D) * log(Y) - (1 - D) * log(1 - Y)
    if loss == "ce":
        return total(hadamard(-D, log(Y))) if vector else (-D) * log(Y)
    squared = (D - Y) ** 2
    summed = total(squared) if vector else squared
    if loss == "mse":
        return summed / K
    if loss == "half-sse":
        return summed / 2
    return summed


def _dloss_expr(loss: str) -> Expr:
    """∂J/∂y, element-wise."""
    if loss == "bce":
        return (Y - D) / hadamard(Y, 1 - Y)
    if loss == "ce":
        return -(D / Y)
    if loss == "mse":
        return 2 * (Y - D) / K
    if loss == "sse":
        return 2 * (Y - D)
    return Y - D


def _check_log_domain(loss: str, y, d) -> None:
    """ln 0 would make the loss infinite: say so instead of printing inf."""
    import numpy as np

    y, d = np.asarray(y, dtype=float), np.asarray(d, dtype=float)
    if loss == "bce" and (np.any((y <= 0) & (d > 0)) or np.any((y >= 1) & (d < 1))):
        raise BadInput("the output saturates at 0 or 1, so the binary cross-entropy is infinite "
                       "(ln 0); use smaller weights or more decimals", field="layers")
    if loss == "bce" and (np.any(y < 0) or np.any(y > 1)):
        raise BadInput("bce needs outputs between 0 and 1 (a sigmoid output layer)", field="layers")
    if loss == "ce" and np.any((y <= 0) & (d > 0)):
        raise BadInput("an output is 0 where the target is not, so the cross-entropy is infinite "
                       "(ln 0); ce needs positive outputs (softmax)", field="layers")


def _output_and_loss(p: Pass, layers: list[Layer], loss: str) -> None:
    last = layers[-1]
    y = p.step("The network output is the last layer's output.", Y, _sym_h(last.index),
               [_sym_h(last.index).name], answer="y")
    _check_log_domain(loss, y, p.values["d"])
    p.values["K"] = last.n_out
    names = ["d", "y"] + (["K"] if loss == "mse" else [])
    p.step(f"Loss ({_LOSS_TEXT[loss]}).", J, _loss_expr(loss, last.n_out > 1), names, answer="J")


_LOSS_TEXT = {"bce": "binary cross-entropy", "ce": "cross-entropy", "mse": "mean squared error",
              "sse": "sum of squared errors", "half-sse": "half the sum of squared errors"}


def _derivatives(p: Pass, layers: list[Layer]) -> None:
    import numpy as np

    for layer in layers:
        l = layer.index
        expr = act.derivative_expr(layer.activation, _sym_u(l), _sym_h(l))
        rule = {"sigmoid": "σ′(u) = h(1 − h)", "tanh": "tanh′(u) = 1 − h²", "relu": "ReLU′(u) = 1 if u > 0 else 0",
                "linear": "the identity's derivative is 1",
                "softmax": "the softmax Jacobian diag(h) − h hᵀ"}.get(layer.activation)
        rule = rule or TABLE[layer.activation].derivative_text  # an activation written only by the table
        like = (layer.n_out, layer.n_out) if layer.activation == "softmax" else None
        value = p.step(f"Layer {l}: derivative of the activation, {rule}.", _sym_fprime(l), expr,
                       [_sym_u(l).name, _sym_h(l).name], answer=f"fprime{l}", like_shape=like)
        if layer.activation == "linear" and layer.n_out > 1:
            ones = _column(np.ones(layer.n_out)) * value
            p.values[_sym_fprime(l).name] = ones
            p.sol.set_answer(f"fprime{l}", _plain(ones))


def _simplified_output(layer: Layer, loss: str) -> bool:
    return (layer.activation, loss) in (("sigmoid", "bce"), ("softmax", "ce"), ("linear", "half-sse"))


def _output_delta(p: Pass, layer: Layer, loss: str) -> None:
    l = layer.index
    if _simplified_output(layer, loss):
        why = {"bce": "σ′ cancels the denominator of ∂J/∂y, so δ = y − d",
               "ce": "softmax and cross-entropy together give δ = y − d",
               "half-sse": "a linear output with ½Σ(d − y)² gives δ = y − d"}[loss]
        p.step(f"Output layer: δ = ∇ᵤJ; {why}.", _sym_delta(l), Y - D, ["y", "d"], answer=f"delta{l}")
        return
    names = ["y", "d"] + (["K"] if loss == "mse" else [])
    p.step("Derivative of the loss with respect to the output.", DJ_DY, _dloss_expr(loss), names)
    if layer.activation == "softmax":
        expr, text = _sym_fprime(l) @ DJ_DY, "the Jacobian (symmetric) times ∂J/∂y"
    else:
        expr, text = hadamard(DJ_DY, _sym_fprime(l)), "∂J/∂y times f′(u), element-wise"
    p.step(f"Output layer: δ = ∇ᵤJ is {text}.", _sym_delta(l), expr, [DJ_DY.name, _sym_fprime(l).name],
           answer=f"delta{l}")


def _hidden_deltas(p: Pass, layers: list[Layer], layout: str) -> None:
    for layer, above in zip(reversed(layers[:-1]), reversed(layers[1:])):
        l, m = layer.index, above.index
        W, delta = _sym_W(m), _sym_delta(m)
        back = (_product(W, above.W, delta, p.values[delta.name]) if layout == "in_out"
                else _product(W.T, above.W, delta, p.values[delta.name]))
        if layer.activation == "softmax":
            expr = _sym_fprime(l) @ back
        else:
            expr = hadamard(back, _sym_fprime(l))
        carried = "W" if layout == "in_out" else "Wᵀ"
        p.step(f"Layer {l}: δ carried back through {carried}_{m}, times f′(u_{l}).", _sym_delta(l), expr,
               [W.name, delta.name, _sym_fprime(l).name], answer=f"delta{l}")


def _gradients(p: Pass, layers: list[Layer], layout: str) -> None:
    for layer in reversed(layers):
        l = layer.index
        h_prev, delta = _sym_h(l - 1), _sym_delta(l)
        h_value, d_value = p.values[h_prev.name], p.values[delta.name]
        # A number needs no transpose: x δᵀ with one output is just x·δ.
        delta_t = delta.T if _is_array(d_value) else delta
        h_t = h_prev.T if _is_array(h_value) else h_prev
        expr = (_product(h_prev, h_value, delta_t, d_value) if layout == "in_out"
                else _product(delta, d_value, h_t, h_value))
        p.step(f"Layer {l}: weight gradient ({'input times δᵀ' if layout == 'in_out' else 'δ times inputᵀ'}).",
               _sym_grad_W(l), expr, [h_prev.name, delta.name], answer=f"grad_W{l}", like_shape=layer.w_shape)
        p.step(f"Layer {l}: bias gradient.", _sym_grad_b(l), delta, [delta.name], answer=f"grad_b{l}")


def _update(p: Pass, layers: list[Layer], lr: float) -> None:
    p.values["eta"] = lr
    for layer in layers:
        l = layer.index
        p.step(f"Layer {l}: SGD step on the weights.", Sym(f"Wnew_{l}", text=f"W_{l}′", latex=f"W_{{{l}}}'"),
               _sym_W(l) - ETA * _sym_grad_W(l), [_sym_W(l).name, "eta", _sym_grad_W(l).name],
               answer=f"W{l}_new", like_shape=layer.w_shape)
        p.step(f"Layer {l}: SGD step on the bias.", Sym(f"bnew_{l}", text=f"b_{l}′", latex=f"b_{{{l}}}'"),
               _sym_b(l) - ETA * _sym_grad_b(l), [_sym_b(l).name, "eta", _sym_grad_b(l).name],
               answer=f"b{l}_new")


def _forward_table(p: Pass, layers: list[Layer]) -> None:
    rows = [[str(layer.index), layer.activation, _plain(p.values[_sym_u(layer.index).name]),
             _plain(p.values[_sym_h(layer.index).name])] for layer in layers]
    p.sol.add("Forward pass, layer by layer.", table=Table(["layer", "activation", "u", "h"], rows))


LOSS_CONVENTIONS = {"bce": "loss bce: J = −Σ [d ln y + (1 − d) ln(1 − y)] (summed over outputs, natural log)",
                    "ce": "loss ce: J = −Σ d ln y (natural log)",
                    "mse": "loss mse: J = (1/K) Σ (d − y)², the mean over the K outputs",
                    "sse": "loss sse: J = Σ (d − y)²",
                    "half-sse": "loss half-sse: J = ½ Σ (d − y)²"}


def _state_conventions(sol: Solution, given: BackpropInput) -> None:
    if given.weights == "in_out":
        sol.convention("weights: in_out — W is inputs×outputs and u = Wᵀx + b; ∇W = x δᵀ")
    else:
        sol.convention("weights: out_in — W is outputs×inputs and u = Wx + b; ∇W = δ xᵀ")
    sol.convention(LOSS_CONVENTIONS[given.loss])
    sol.convention("δ = ∇ᵤJ, the gradient of the loss with respect to a layer's synaptic input u")


def _finite_difference_check(sol: Solution, x, layers: list[Layer], d, given: BackpropInput,
                             answers: dict) -> None:
    """The solver's own check: every gradient against central differences of J."""
    import numpy as np

    from ...nn.gradcheck import worst_difference
    from ._mlp_numeric import loss_of_parameters

    count = sum(layer.n_in * layer.n_out + layer.n_out for layer in layers)
    if count > _MAX_FD_PARAMETERS:
        return
    params = [(np.array(layer.W, dtype=float).reshape(layer.w_shape),
               np.array(layer.b, dtype=float).reshape(-1)) for layer in layers]
    activations = [layer.activation for layer in layers]
    x_flat, d_flat = np.asarray(x, dtype=float).reshape(-1), np.asarray(d, dtype=float).reshape(-1)

    def J(ps):
        return loss_of_parameters(x_flat, d_flat, ps, activations, given.weights, given.loss)

    worst = worst_difference(lambda: J(params), [
        pair for index, (W, b) in enumerate(params)
        for pair in ((W, np.asarray(answers[f"grad_W{index + 1}"], dtype=float).reshape(W.shape)),
                     (b, np.asarray(answers[f"grad_b{index + 1}"], dtype=float).reshape(b.shape)))])
    passed = worst < _FD_TOLERANCE
    # The exact difference depends on floating-point details; the detail says only what matters.
    detail = (f"every relative difference below {_FD_TOLERANCE:g}" if passed
              else f"largest relative difference {worst:.1e}")
    sol.check("gradients match central finite differences of J", passed, detail, worst)


@register(
    "backprop",
    BackpropInput,
    imports=("numpy",),
    summary="Forward and backward pass of a fully connected network: u, h, loss, f'(u), "
            "δ per layer, weight and bias gradients, and one SGD step.",
    answers={"u{l}": "synaptic input of layer l (a mini-batch: N×K, one row per sample)",
             "h{l}": "output of layer l (a mini-batch: N×K)", "y": "network output (a mini-batch: N×K)",
             "J": "loss (a mini-batch: the mean or sum of the samples' losses, as reduction says)",
             "fprime{l}": "f'(u) of layer l (softmax: the Jacobian; a mini-batch: one per sample)",
             "delta{l}": "δ = ∇ᵤJ at layer l (a mini-batch: N×K; under mean the rows carry the 1/N)",
             "grad_W{l}": "∇W of layer l, shaped like W{l} (a mini-batch: the batch total)",
             "grad_b{l}": "∇b of layer l (a mini-batch: the batch total)", "W{l}_new": "weights after one SGD step (with lr)",
             "b{l}_new": "bias after one SGD step (with lr)"},
    example="--x \"[1, 2]\" --target 0 --loss bce --lr 0.1 "
            "--layers \"[{W: [[0.5], [-0.3]], b: 0.1, activation: sigmoid}]\"",
    template={"x": [1.0, 2.0], "target": 0, "loss": "bce", "weights": "in_out", "lr": 0.1,
              "layers": [{"W": [[3.2, -2.4, -2.1], [-1.2, -1.4, 2.6]], "b": 0.5, "activation": "tanh"},
                         {"W": [[2.0], [-1.0], [0.5]], "b": 0.5, "activation": "sigmoid"}]},
)
def solve(given: BackpropInput, ctx: Context) -> Solution:
    from ._backprop_batch import batch_size, first_layer_inputs, solve_batch

    sol = Solution()
    n_in = first_layer_inputs(given)
    batch = batch_size(given, n_in)
    if batch is not None:
        _, layers = build_layers(given, n_in)
        solve_batch(sol, given, ctx, layers, batch)
        return sol
    for name in ("x", "target"):
        try:
            vector_value(getattr(given, name), name=name)
        except ValueError as error:
            raise BadInput(str(error), field=name) from None
    x, layers = build_layers(given)
    d = target_column(given, layers[-1].n_out)
    _state_conventions(sol, given)
    p = Pass(sol, ctx)
    p.values["x"] = ctx.hand_round(x)
    p.values["d"] = d
    for layer in layers:
        p.values[_sym_W(layer.index).name] = ctx.hand_round(layer.W)
        p.values[_sym_b(layer.index).name] = ctx.hand_round(layer.b)
    _forward(p, layers, given.weights)
    _output_and_loss(p, layers, given.loss)
    _forward_table(p, layers)
    _derivatives(p, layers)
    if _simplified_output(layers[-1], given.loss):
        sol.note(f"The output layer's f′ is not needed: with {layers[-1].activation} and {given.loss} "
                 "it cancels against ∂J/∂y.")
    _output_delta(p, layers[-1], given.loss)
    _hidden_deltas(p, layers, given.weights)
    _gradients(p, layers, given.weights)
    if given.lr is not None:
        _update(p, layers, given.lr)
    else:
        sol.note("No learning rate is given, so no update step is taken.")
    if not ctx.round_intermediate:
        _finite_difference_check(sol, x, layers, d, given, sol.answers)
    return sol
