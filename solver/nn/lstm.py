"""LSTM: one cell step with its backward step, and the cell unrolled through a sequence.

Gates, in PyTorch's order: z = x Wx + h Wh + b, split into i, f, g, o;
i, f, o = σ(·), g = tanh(·); c' = f ⊙ c + i ⊙ g; h' = o ⊙ tanh(c').
One bias vector (the textbook form; PyTorch keeps two, b_ih and b_hh, whose sum plays b).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from solver.nn.activations import sigmoid
from solver.nn.init import initialise, zeros
from solver.nn.layer import Layer


def lstm_equations(zi, zf, zg, zo, c):
    """The cell's equations from the gates' pre-activations and the previous cell state:
    i, f, o = σ(·), g = tanh(·), c' = f ⊙ c + i ⊙ g, h' = o ⊙ tanh(c'). Returns
    (i, f, g, o, c', tanh(c'), h'); every numeric LSTM step in the solver goes through here."""
    i, f, g, o = sigmoid(zi), sigmoid(zf), np.tanh(zg), sigmoid(zo)
    c_next = f * c + i * g
    tanh_c = np.tanh(c_next)
    return i, f, g, o, c_next, tanh_c, o * tanh_c


@dataclass
class StepCache:
    """What the backward step needs from one forward step."""

    x: np.ndarray
    h: np.ndarray
    c: np.ndarray
    i: np.ndarray
    f: np.ndarray
    g: np.ndarray
    o: np.ndarray
    tanh_c: np.ndarray


class LSTMCell(Layer):
    """Wx (D, 4H), Wh (H, 4H), b (4H); gate blocks in the order i, f, g, o."""

    def __init__(self, input_size: int, hidden_size: int, init: str = "xavier",
                 rng: np.random.Generator | None = None, dtype=np.float32):
        super().__init__()
        rng = rng if rng is not None else np.random.default_rng(0)
        self.hidden_size = hidden_size
        four_h = 4 * hidden_size
        self.add_param("Wx", initialise(init, (input_size, four_h), input_size, hidden_size, rng, dtype))
        self.add_param("Wh", initialise(init, (hidden_size, four_h), hidden_size, hidden_size, rng, dtype))
        self.add_param("b", zeros((four_h,), dtype))

    def step(self, x: np.ndarray, h: np.ndarray, c: np.ndarray):
        """One time step: returns (h_next, c_next, cache)."""
        z = x @ self.params["Wx"] + h @ self.params["Wh"] + self.params["b"]
        i, f, g, o, c_next, tanh_c, h_next = lstm_equations(*np.split(z, 4, axis=1), c)
        return h_next, c_next, StepCache(x, h, c, i, f, g, o, tanh_c)

    def step_backward(self, grad_h: np.ndarray, grad_c: np.ndarray, cache: StepCache):
        """Backward through one step, given dL/dh_next and dL/dc_next (the latter from the
        following step). Adds the parameter gradients; returns (dL/dx, dL/dh, dL/dc)."""
        i, f, g, o, tanh_c = cache.i, cache.f, cache.g, cache.o, cache.tanh_c
        grad_o = grad_h * tanh_c
        # c_next reaches the loss directly (next step) and through h_next = o tanh(c_next).
        grad_c_total = grad_c + grad_h * o * (1 - tanh_c * tanh_c)
        grad_z = np.concatenate([
            grad_c_total * g * i * (1 - i),
            grad_c_total * cache.c * f * (1 - f),
            grad_c_total * i * (1 - g * g),
            grad_o * o * (1 - o),
        ], axis=1)
        self.grads["Wx"] += cache.x.T @ grad_z
        self.grads["Wh"] += cache.h.T @ grad_z
        self.grads["b"] += grad_z.sum(axis=0)
        grad_x = grad_z @ self.params["Wx"].T
        grad_h_prev = grad_z @ self.params["Wh"].T
        return grad_x, grad_h_prev, grad_c_total * f

    def forward(self, x: np.ndarray) -> np.ndarray:
        """A single step from a zero state (the Layer interface); see `step` for the rest."""
        zero = np.zeros((len(x), self.hidden_size), dtype=x.dtype)
        h, _, self._cache = self.step(x, zero, zero)
        return h

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        grad_x, _, _ = self.step_backward(grad_out, np.zeros_like(grad_out), self._cache)
        return grad_x


class LSTM(Layer):
    """The cell unrolled over a time-major sequence x of shape (T, N, D) -> hs (T, N, H).

    forward(x, state) keeps the final (h, c) in `last_state`, to carry into the next chunk of
    a long text (truncated backpropagation through time). backward(grad_hs, grad_state)
    returns dL/dx and leaves dL/d(initial h, c) in `grad_initial_state`.
    """

    def __init__(self, input_size: int, hidden_size: int, init: str = "xavier",
                 rng: np.random.Generator | None = None, dtype=np.float32):
        super().__init__()
        self.cell = LSTMCell(input_size, hidden_size, init, rng, dtype)
        self.hidden_size = hidden_size
        # The sequence layer owns the cell's arrays: optimisers see one set of parameters.
        self.params, self.grads = self.cell.params, self.cell.grads

    def forward(self, x: np.ndarray, state: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
        steps, batch, _ = x.shape
        if state is None:
            zero = np.zeros((batch, self.hidden_size), dtype=x.dtype)
            state = (zero, zero)
        h, c = state
        self._caches, outputs = [], []
        for t in range(steps):
            h, c, cache = self.cell.step(x[t], h, c)
            self._caches.append(cache)
            outputs.append(h)
        self.last_state = (h, c)
        return np.stack(outputs)

    def backward(self, grad_hs: np.ndarray,
                 grad_state: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
        grad_h, grad_c = grad_state if grad_state is not None else (
            np.zeros_like(grad_hs[0]), np.zeros_like(grad_hs[0]))
        grad_x = [None] * len(self._caches)
        for t in reversed(range(len(self._caches))):
            grad_x[t], grad_h, grad_c = self.cell.step_backward(
                grad_hs[t] + grad_h, grad_c, self._caches[t])
        self.grad_initial_state = (grad_h, grad_c)
        return np.stack(grad_x)
