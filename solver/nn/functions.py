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


# --- the other activations and the derivatives of all of them --------------------------------
# Derivatives follow PyTorch's autograd at the kinks: ReLU′(0) = 0, LeakyReLU′(0) = α, ELU′(0) = α
# (the left branch). σ′ and tanh′ are taken from the output y, as a backward pass has it.

GELU_SCALE = 1.702  # the sigmoid approximation the course uses: GELU(x) ≈ x·σ(1.702x)


def tanh_array(x):
    import numpy as np

    return np.tanh(_floats(x))


def identity_array(x):
    return _floats(x)


def erf_array(x):
    """erf element-wise (math.erf: NumPy has none)."""
    import numpy as np

    return np.vectorize(math.erf, otypes=[float])(np.asarray(x, dtype=float))


def leaky_relu_array(x, alpha):
    """x where x > 0, else αx; exact numbers (an object array) stay exact."""
    import numpy as np

    x = np.asarray(x)
    return np.where(x > 0, x, alpha * x)


def elu_array(x, alpha):
    """x where x > 0, else α(eˣ − 1), with expm1 so small x keep their digits."""
    import numpy as np

    x = np.asarray(x, dtype=float)
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


def gelu_array(x):
    """The sigmoid approximation x·σ(1.702x)."""
    import numpy as np

    x = np.asarray(x, dtype=float)
    return x * sigmoid_array(GELU_SCALE * x)


def gelu_exact_array(x):
    """x·Φ(x) = x·½(1 + erf(x/√2)), PyTorch's gelu (approximate='none')."""
    import numpy as np

    x = np.asarray(x, dtype=float)
    return x * 0.5 * (1 + erf_array(x / math.sqrt(2)))


def identity_slope_array(x):
    import numpy as np

    return np.ones_like(_floats(x))


def sigmoid_slope_array(y):
    """σ′ from the output y = σ(x): y(1 − y)."""
    y = _floats(y)
    return y * (1 - y)


def tanh_slope_array(y):
    """tanh′ from the output y = tanh(x): 1 − y²."""
    y = _floats(y)
    return 1 - y ** 2


def leaky_relu_slope_array(x, alpha):
    import numpy as np

    return np.where(_floats(x) > 0, 1.0, alpha)


def elu_slope_array(x, alpha):
    import numpy as np

    x = _floats(x)
    return np.where(x > 0, 1.0, alpha * np.exp(np.minimum(x, 0)))


def gelu_slope_array(x):
    """d/dx x·σ(ax) = σ(ax) + a·x·σ(ax)(1 − σ(ax)), a = 1.702."""
    x = _floats(x)
    s = sigmoid_array(GELU_SCALE * x)
    return s + GELU_SCALE * x * s * (1 - s)


def gelu_exact_slope_array(x):
    """d/dx x·Φ(x) = Φ(x) + x·φ(x)."""
    import numpy as np

    x = np.asarray(x, dtype=float)
    return 0.5 * (1 + erf_array(x / math.sqrt(2))) + x * np.exp(-x ** 2 / 2) / math.sqrt(2 * math.pi)


def step_slope_array(x):
    """The threshold unit is flat wherever it has a derivative (PyTorch's heaviside has none)."""
    import numpy as np

    return np.zeros_like(_floats(x))


def softmax_jacobian_array(y):
    """∂softmax/∂x = diag(y) − y yᵀ from the output y (a vector, read flat)."""
    import numpy as np

    y = np.asarray(y, dtype=float).reshape(-1)
    return np.diag(y) - np.outer(y, y)
