"""A chain of layers: forward in order, backward in reverse."""

from __future__ import annotations

import numpy as np

from solver.nn.layer import Layer


class Sequential:
    def __init__(self, layers: list[Layer]):
        self.layers = list(layers)

    def forward(self, x: np.ndarray) -> np.ndarray:
        for layer in self.layers:
            x = layer.forward(x)
        return x

    __call__ = forward

    def backward(self, grad: np.ndarray) -> np.ndarray | None:
        for layer in reversed(self.layers):
            grad = layer.backward(grad)
            if grad is None:  # a first layer that skips its input gradient
                break
        return grad

    def zero_grads(self) -> None:
        for layer in self.layers:
            layer.zero_grads()

    def state_dict(self) -> dict[str, np.ndarray]:
        """Every parameter under 'INDEX.NAME' (the keys of the saved .npz model)."""
        return {f"{i}.{name}": value for i, layer in enumerate(self.layers)
                for name, value in layer.params.items()}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        for i, layer in enumerate(self.layers):
            for name, value in layer.params.items():
                stored = state[f"{i}.{name}"]
                if stored.shape != value.shape:
                    raise ValueError(f"{i}.{name}: stored shape {stored.shape}, model {value.shape}")
                value[...] = stored  # in place: optimisers keep references to these arrays
