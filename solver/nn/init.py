"""Weight initialisers; biases start at zero.

fan_in / fan_out count the inputs and outputs of one unit: for a linear layer the input and
output sizes, for a convolution channels times kernel area.
"""

from __future__ import annotations

import numpy as np

INITIALISERS = ("normal", "xavier", "he")


def normal(shape, rng: np.random.Generator, std: float = 0.01, dtype=np.float32) -> np.ndarray:
    """N(0, std²): the plain small-random start."""
    return (rng.standard_normal(shape) * std).astype(dtype)


def xavier(shape, fan_in: int, fan_out: int, rng: np.random.Generator, dtype=np.float32) -> np.ndarray:
    """Glorot/Xavier uniform, U(±sqrt(6 / (fan_in + fan_out))): keeps the variance of
    activations and gradients level through tanh and sigmoid layers."""
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape).astype(dtype)


def he(shape, fan_in: int, rng: np.random.Generator, dtype=np.float32) -> np.ndarray:
    """He/Kaiming normal, N(0, 2 / fan_in): ReLU zeroes half the units, so twice Xavier's
    variance keeps the signal from shrinking layer after layer."""
    return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(dtype)


def zeros(shape, dtype=np.float32) -> np.ndarray:
    return np.zeros(shape, dtype=dtype)


def initialise(kind: str, shape, fan_in: int, fan_out: int, rng: np.random.Generator,
               dtype=np.float32) -> np.ndarray:
    """Weights by initialiser name: 'normal', 'xavier' or 'he'."""
    if kind == "normal":
        return normal(shape, rng, dtype=dtype)
    if kind == "xavier":
        return xavier(shape, fan_in, fan_out, rng, dtype=dtype)
    if kind == "he":
        return he(shape, fan_in, rng, dtype=dtype)
    raise ValueError(f"unknown initialiser {kind!r}; choose one of {', '.join(INITIALISERS)}")
