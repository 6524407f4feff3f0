"""Recurrent cells as numbers: one step of each cell, a sequence run through it, and the loss of
a sequence. The `rnn` kind's worked steps are checked against these, and its finite-difference
check of the gradients differentiates them.

A batch holds one row per sample: x is (N, D), h is (N, H); a single vector (D,) works as well.
Weights follow the problem's `weights` layout: `in_out` (U is D × H, u = Uᵀx, on rows x @ U) or
`out_in` (U is H × D, u = Ux, on rows x @ Uᵀ). Weights are looked up by the course's names:
U, W, b (Elman, Jordan), U_q, W_q, b_q for every gate q (LSTM i, f, g, o; GRU r, z, n) and the
GRU's b_hn, V and c for the output layer; a bias is any array with one entry per unit, 0 when
absent.

    Elman   h(t) = f(Uᵀx(t) + Wᵀh(t−1) + b)
    Jordan  h(t) = f(Uᵀx(t) + Wᵀy(t−1) + b),  y(t) = g(Vᵀh(t) + c)   (the output is fed back)
    LSTM    q(t) = U_qᵀx(t) + W_qᵀh(t−1) + b_q for q = i, f, g, o, then `lstm.lstm_equations`:
            c(t) = σ(f) ⊙ c(t−1) + σ(i) ⊙ tanh(g),  h(t) = σ(o) ⊙ tanh(c(t))
    GRU     r, z = σ(U_qᵀx(t) + W_qᵀh(t−1) + b_q)   (PyTorch's form)
            n = tanh(U_nᵀx(t) + b_n + r ⊙ (W_nᵀh(t−1) + b_hn)),  h(t) = (1 − z) ⊙ n + z ⊙ h(t−1)
    output  y(t) = g(Vᵀh(t) + c)   (optional, except for Jordan)

The activations come from `functions` (and NumPy's tanh); the per-step losses from `loss`.
"""

from __future__ import annotations

import numpy as np

from solver.nn.functions import relu_array, sigmoid_array, softmax_array
from solver.nn.loss import binary_cross_entropy, mean_squared_error, negative_log_likelihood
from solver.nn.lstm import lstm_equations

CELLS = ("elman", "jordan", "lstm", "gru")
GATES = {"lstm": ("i", "f", "g", "o"), "gru": ("r", "z", "n")}
ACTIVATIONS = ("linear", "tanh", "sigmoid", "relu", "softmax")
LOSSES = ("bce", "ce", "mse", "sse", "half-sse")


def activation(name: str, u):
    """f(u) by the activation's name; softmax acts on each row (the units of one sample)."""
    if name == "linear":
        return u
    if name == "tanh":
        return np.tanh(u)
    if name == "sigmoid":
        return sigmoid_array(u)
    if name == "relu":
        return relu_array(u)
    if name == "softmax":
        return softmax_array(u, axis=-1)
    raise ValueError(f"unknown activation {name!r}; known: {', '.join(ACTIVATIONS)}")


def affine(x, weights, bias=None, in_out: bool = True):
    """Uᵀx (+ b) for `in_out` weights, Ux (+ b) for `out_in`, on rows of x."""
    out = x @ (weights if in_out else weights.T)
    return out if bias is None else out + np.reshape(bias, -1)


def _pre(weights: dict, gate: str, x, h_prev, in_out: bool):
    """U_qᵀx + W_qᵀh(t−1) + b_q (gate "" is the Elman / Jordan cell's own U, W, b)."""
    name = f"_{gate}" if gate else ""
    u = affine(x, weights[f"U{name}"], None, in_out) + affine(h_prev, weights[f"W{name}"], None, in_out)
    bias = weights.get(f"b{name}")
    return u if bias is None else u + np.reshape(bias, -1)  # summed in the order the course writes it


def elman_step(x, h_prev, weights: dict, hidden: str = "tanh", in_out: bool = True):
    """h = f(Uᵀx + Wᵀh_prev + b)."""
    return activation(hidden, _pre(weights, "", x, h_prev, in_out))


def output_step(h, weights: dict, output: str = "linear", in_out: bool = True):
    """y = g(Vᵀh + c); c is 0 when absent."""
    return activation(output, affine(h, weights["V"], weights.get("c"), in_out))


def jordan_step(x, y_prev, weights: dict, hidden: str = "tanh", output: str = "linear", in_out: bool = True):
    """h = f(Uᵀx + Wᵀy_prev + b), y = g(Vᵀh + c): the previous output, not h, is fed back.
    Returns (h, y)."""
    h = activation(hidden, _pre(weights, "", x, y_prev, in_out))
    return h, output_step(h, weights, output, in_out)


def lstm_step(x, h_prev, c_prev, weights: dict, in_out: bool = True):
    """One LSTM step through `lstm_equations`; returns (h, c)."""
    pre = [_pre(weights, q, x, h_prev, in_out) for q in GATES["lstm"]]
    *_, c, _, h = lstm_equations(*pre, c_prev)
    return h, c


def gru_step(x, h_prev, weights: dict, in_out: bool = True):
    """One GRU step in PyTorch's form (the reset gate scales W_nᵀh_prev + b_hn); returns h."""
    r = sigmoid_array(_pre(weights, "r", x, h_prev, in_out))
    z = sigmoid_array(_pre(weights, "z", x, h_prev, in_out))
    hidden_part = affine(h_prev, weights["W_n"], weights.get("b_hn"), in_out)
    n = np.tanh(affine(x, weights["U_n"], weights.get("b_n"), in_out) + r * hidden_part)
    return (1 - z) * n + z * h_prev


def _units(weights, in_out: bool) -> int:
    """How many units a weight matrix feeds: its columns under in_out, its rows under out_in."""
    return np.shape(weights)[1 if in_out else 0]


def _initial(value, batch: int, size: int):
    """An initial state as (batch, size): zeros when absent, one vector for every sample."""
    if value is None:
        return np.zeros((batch, size))
    value = np.asarray(value, dtype=float)
    return value if value.ndim == 2 else np.zeros((batch, size)) + value.reshape(1, -1)


def run(cell: str, inputs, weights: dict, initial: dict | None = None, hidden: str = "tanh",
        output: str = "linear", in_out: bool = True, reverse: bool = False) -> dict:
    """The cell over a time-major sequence: inputs (T, N, D), or (T, D) for one sample.

    `initial` holds h (c for the LSTM, y for Jordan), zeros when absent. `reverse` reads the
    sequence from x(T) back to x(1), as the backward direction of a bidirectional layer; the
    states stay in time order (entry t is the state after reading x(T)…x(t), PyTorch's output).
    Returns {"h": (T, N, H)} with "c" (LSTM) and "y" (with V: the output layer, Jordan always),
    each (T, H) for one sample. `hidden` is the Elman / Jordan activation, `output` the output
    layer's; the LSTM and GRU gates have their own.
    """
    if cell not in CELLS:
        raise ValueError(f"unknown cell {cell!r}; known: {', '.join(CELLS)}")
    xs = np.asarray(inputs, dtype=float)
    single = xs.ndim == 2
    if single:
        xs = xs[:, None, :]
    steps, batch = xs.shape[:2]
    initial = initial or {}
    first = weights["U"] if cell in ("elman", "jordan") else weights[f"U_{GATES[cell][0]}"]
    size = _units(first, in_out)
    h = _initial(initial.get("h"), batch, size)
    c = _initial(initial.get("c"), batch, size)
    has_output = "V" in weights
    y = _initial(initial.get("y"), batch, _units(weights["V"], in_out)) if has_output else None
    states = {"h": [None] * steps}
    if cell == "lstm":
        states["c"] = [None] * steps
    if has_output:
        states["y"] = [None] * steps
    for t in (range(steps - 1, -1, -1) if reverse else range(steps)):
        x = xs[t]
        if cell == "elman":
            h = elman_step(x, h, weights, hidden, in_out)
        elif cell == "jordan":
            h, y = jordan_step(x, y, weights, hidden, output, in_out)
        elif cell == "lstm":
            h, c = lstm_step(x, h, c, weights, in_out)
            states["c"][t] = c
        else:
            h = gru_step(x, h, weights, in_out)
        states["h"][t] = h
        if has_output:
            if cell != "jordan":
                y = output_step(h, weights, output, in_out)
            states["y"][t] = y
    return {name: np.stack(values)[:, 0] if single else np.stack(values) for name, values in states.items()}


def step_loss(loss: str, y, d):
    """L(y, d) of one step, one value per sample (a single vector gives one number):
    bce −Σ[d ln y + (1 − d) ln(1 − y)], ce −Σ d ln y (y a probability vector),
    mse the mean of (y − d)² over the outputs, sse Σ(y − d)², half-sse ½Σ(y − d)²."""
    y, d = np.asarray(y, dtype=float), np.asarray(d, dtype=float)
    single = y.ndim == 1
    y, d = np.atleast_2d(y), np.atleast_2d(d)
    if loss in ("mse", "sse", "half-sse"):
        squared = mean_squared_error(y, d, 1.0)[0].sum(axis=1)
        value = squared / {"mse": y.shape[1], "sse": 1.0, "half-sse": 2.0}[loss]
    elif loss == "bce":
        value = binary_cross_entropy(y, d, 1.0)[0].sum(axis=1)
    elif loss == "ce":
        with np.errstate(divide="ignore"):
            value = negative_log_likelihood(np.log(y), d, 1.0)[0]
    else:
        raise ValueError(f"unknown loss {loss!r}; known: {', '.join(LOSSES)}")
    return float(value[0]) if single else value


def sequence_loss(loss: str, outputs, targets: list):
    """J = Σₜ L(y(t), d(t)) over the steps whose target is not None; `outputs` as `run` gives
    them (T, N, O) or (T, O), one target per step shaped like one step's output."""
    terms = [step_loss(loss, outputs[t], d) for t, d in enumerate(targets) if d is not None]
    if not terms:
        raise ValueError("a sequence loss needs at least one target")
    return sum(terms)
