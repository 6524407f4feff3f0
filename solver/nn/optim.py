"""Update rules: SGD with momentum, and Adam. Both update the parameters in place.

An optimiser holds a list of layers (anything with `params` and `grads` dicts) and reads
their gradients at each step, so a layer may replace or accumulate its grads freely.
"""

from __future__ import annotations

import numpy as np


class Optimizer:
    def __init__(self, layers: list, lr: float):
        self.layers = list(layers)
        self.lr = lr
        self.steps = 0

    def named(self):
        """(key, param, grad) for every parameter; the key names it in the state dict."""
        for index, layer in enumerate(self.layers):
            for name, param in layer.params.items():
                yield f"{index}.{name}", param, layer.grads[name]

    def zero_grads(self) -> None:
        for layer in self.layers:
            layer.zero_grads()

    def step(self) -> None:
        self.steps += 1
        for key, param, grad in self.named():
            self.update(key, param, grad)

    def update(self, key: str, param: np.ndarray, grad: np.ndarray) -> None:
        raise NotImplementedError

    # Checkpoints: the moment estimates are part of the training state; resuming without
    # them would not continue the same run.
    def state_dict(self) -> dict:
        return {"steps": self.steps, "lr": self.lr, **self._state()}

    def load_state_dict(self, state: dict) -> None:
        self.steps = int(state["steps"])
        self.lr = float(state["lr"])
        for name, buffers in self._state().items():
            for key, value in state.get(name, {}).items():
                buffers[key] = np.array(value, dtype=value.dtype)

    def _state(self) -> dict[str, dict[str, np.ndarray]]:
        return {}


class SGD(Optimizer):
    """Classic (PyTorch) momentum: v ← βv + g, then p ← p − lr·v. β = 0 is plain SGD.

    The velocity starts at zero. Weight decay adds λp to the gradient (L2 regularisation).
    """

    def __init__(self, layers: list, lr: float, momentum: float = 0.0, weight_decay: float = 0.0):
        super().__init__(layers, lr)
        self.momentum, self.weight_decay = momentum, weight_decay
        self.velocity: dict[str, np.ndarray] = {}

    def update(self, key, param, grad):
        if self.weight_decay:
            grad = grad + self.weight_decay * param
        if self.momentum:
            velocity = self.velocity.setdefault(key, np.zeros_like(param))
            velocity *= self.momentum
            velocity += grad
            grad = velocity
        param -= self.lr * grad

    def _state(self):
        return {"velocity": self.velocity}


class Adam(Optimizer):
    """m ← β1 m + (1−β1) g; v ← β2 v + (1−β2) g²; p ← p − lr · m̂ / (√v̂ + ε),
    with the bias corrections m̂ = m / (1−β1^t), v̂ = v / (1−β2^t)."""

    def __init__(self, layers: list, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0):
        super().__init__(layers, lr)
        self.beta1, self.beta2 = betas
        self.eps, self.weight_decay = eps, weight_decay
        self.m: dict[str, np.ndarray] = {}
        self.v: dict[str, np.ndarray] = {}

    def update(self, key, param, grad):
        if self.weight_decay:
            grad = grad + self.weight_decay * param
        m = self.m.setdefault(key, np.zeros_like(param))
        v = self.v.setdefault(key, np.zeros_like(param))
        m *= self.beta1
        m += (1 - self.beta1) * grad
        v *= self.beta2
        v += (1 - self.beta2) * grad * grad
        m_hat = m / (1 - self.beta1 ** self.steps)
        v_hat = v / (1 - self.beta2 ** self.steps)
        param -= (self.lr * m_hat / (np.sqrt(v_hat) + self.eps)).astype(param.dtype, copy=False)

    def _state(self):
        return {"m": self.m, "v": self.v}


def clip_grad_norm(layers: list, max_norm: float) -> float:
    """Scale all gradients down together so their joint L2 norm is at most max_norm (keeps
    one exploding step of a recurrent net from wrecking it); returns the norm before."""
    grads = [g for layer in layers for g in layer.grads.values()]
    norm = float(np.sqrt(sum(float((g.astype(np.float64) ** 2).sum()) for g in grads)))
    if norm > max_norm:
        for g in grads:
            g *= max_norm / (norm + 1e-12)
    return norm
