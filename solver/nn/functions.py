"""The course's element-wise functions and softmax, defined once for every part of the solver.

The kinds' worked steps, their own numerical checks, the derivations and the training layers
all take their numbers from here, so a change of formula (or a new activation) happens in one
place. Scalar forms use `math`; array forms use NumPy, imported inside them, so a kind module
can refer to them without loading NumPy at start-up (this module imports only `math`).

Array forms keep a floating dtype they are given (float32 training stays float32) and read
anything else (lists, integers) as float64.
"""

from __future__ import annotations

import math


def _floats(x):
    import numpy as np

    x = np.asarray(x)
    return x if x.dtype.kind == "f" else x.astype(float)


def sigmoid(x: float) -> float:
    """σ(x) = 1 / (1 + e^−x) for one number; e^x / (1 + e^x) below zero, so exp never overflows."""
    return 1 / (1 + math.exp(-x)) if x >= 0 else math.exp(x) / (1 + math.exp(x))


def sigmoid_array(x):
    """σ element-wise as ½(1 + tanh(x/2)): the same function, and tanh never overflows. Exact to
    an absolute 1e-16 (far below zero, where σ itself is smaller than that, it reads 0)."""
    import numpy as np

    return 0.5 * (1 + np.tanh(0.5 * _floats(x)))


def relu_array(x):
    import numpy as np

    return np.maximum(_floats(x), 0.0)


def positive_array(x):
    """1 where x > 0, else 0: ReLU's derivative, taken as 0 at x = 0 as PyTorch does."""
    x = _floats(x)
    return (x > 0).astype(x.dtype)


def step_array(x):
    """The threshold unit: 1 where x ≥ 0, else 0."""
    x = _floats(x)
    return (x >= 0).astype(x.dtype)


def softmax_array(x, axis: int | None = -1):
    """Softmax along `axis` (None: over the whole array), shifted by the maximum so exp never
    overflows; an entry of −∞ gets weight 0."""
    import numpy as np

    x = _floats(x)
    z = np.exp(x - x.max(axis=axis, keepdims=True))
    return z / z.sum(axis=axis, keepdims=True)
