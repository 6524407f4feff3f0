"""Update rules of `optimize` as formulas: gd, momentum (ema or classic), nesterov, adagrad,
rmsprop and adam. Each rule gives, for step t, the formulas that turn x_{t−1}, the gradient
g_{t−1} = f′(x_{t−1}) and the previous state into the new state and x_t; the solver evaluates
exactly these formulas, so the shown working is the computation.

Conventions (SPEC §4): momentum `ema` v_t = βv_{t−1} + (1 − β)g_{t−1}, `classic`
v_t = βv_{t−1} + g_{t−1} (PyTorch's form); v_0 is the first gradient (`v0: gradient`) or 0;
x_t = x_{t−1} − η v_t uses the new velocity. Nesterov is PyTorch's form, which needs only the
gradient at the current point: x_t = x_{t−1} − η(g_{t−1} + βv_t) (ema: βv_t + (1 − β)g_{t−1}).
Adagrad and RMSprop divide by √s_t + ε; Adam corrects both moments for their zero start.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..formula import Expr, Num, Sym, call

METHODS = ("gd", "momentum", "nesterov", "adagrad", "rmsprop", "adam")
STATE = {"gd": (), "momentum": ("v",), "nesterov": ("v",), "adagrad": ("s",), "rmsprop": ("s",),
         "adam": ("m", "s")}
ETA, EPS = Sym("eta"), Sym("eps")


@dataclass
class Settings:
    method: str
    x0: list[float]
    lr: float
    steps: int
    beta: float
    beta2: float
    eps: float
    momentum_form: str
    v0: str
    label: str


def x_sym(t: int) -> Sym:
    return Sym(f"x_{t}")


def grad_sym(t: int, vector: bool) -> Sym:
    if vector:
        return Sym(f"g_{t}", text=f"∇f(x_{t})", latex=rf"\nabla f(x_{{{t}}})")
    return Sym(f"g_{t}", text=f"f′(x_{t})", latex=f"f'(x_{{{t}}})")


def state_sym(name: str, t: int) -> Sym:
    return Sym(f"{name}_{t}")


def _beta(method: str) -> Sym:
    return Sym("beta_1") if method == "adam" else Sym("beta")


BETA2 = Sym("beta_2")


def parameter_bindings(s: Settings) -> dict:
    """The hyperparameters as the formulas name them."""
    values = {"eta": s.lr, "eps": s.eps, "beta_2": s.beta2}
    values["beta_1" if s.method == "adam" else "beta"] = s.beta
    return values


def initial_state(s: Settings, g0) -> dict[str, object]:
    """State at t = 0: v_0 (the first gradient or 0); s_0 = m_0 = 0."""
    zero = g0 * 0 + 0.0  # + 0.0 turns −0.0 into 0
    if s.method in ("momentum", "nesterov"):
        return {"v": g0 if s.v0 == "gradient" else zero}
    return {name: zero for name in STATE[s.method]}


@dataclass
class Update:
    """One formula of a step: `lhs = expr`, stored under `name` for the next formulas."""

    name: str  # "v", "s", "m", "m_hat", "s_hat" or "x"
    lhs: Sym
    expr: Expr
    text: str


def step_updates(s: Settings, t: int, vector: bool) -> list[Update]:
    """The formulas of step t, in the order they are evaluated."""
    x_prev, g = x_sym(t - 1), grad_sym(t - 1, vector)
    beta = _beta(s.method)
    updates: list[Update] = []
    if s.method == "gd":
        updates.append(Update("x", x_sym(t), x_prev - ETA * g, "Step against the gradient."))
    elif s.method in ("momentum", "nesterov"):
        v_prev, v = state_sym("v", t - 1), state_sym("v", t)
        if s.momentum_form == "ema":
            velocity = beta * v_prev + (1 - beta) * g
            look = beta * v + (1 - beta) * g
        else:
            velocity = beta * v_prev + g
            look = g + beta * v
        updates.append(Update("v", v, velocity, "New velocity."))
        if s.method == "momentum":
            updates.append(Update("x", x_sym(t), x_prev - ETA * v, "Step with the new velocity."))
        else:
            updates.append(Update("x", x_sym(t), x_prev - ETA * look,
                                  "Nesterov step, looking ahead by β times the new velocity."))
    elif s.method in ("adagrad", "rmsprop"):
        s_prev, s_new = state_sym("s", t - 1), state_sym("s", t)
        if s.method == "adagrad":
            accumulated, text = s_prev + g ** 2, "Sum of squared gradients."
        else:
            accumulated, text = beta * s_prev + (1 - beta) * g ** 2, "Moving average of squared gradients."
        updates.append(Update("s", s_new, accumulated, text))
        updates.append(Update("x", x_sym(t), x_prev - ETA * g / (call("sqrt", s_new) + EPS),
                              "Step scaled by the root of the squared gradients."))
    else:
        m_prev, s_prev = state_sym("m", t - 1), state_sym("s", t - 1)
        m, s_new = state_sym("m", t), state_sym("s", t)
        m_hat = Sym(f"mhat_{t}", text=f"m̂_{t}", latex=rf"\hat{{m}}_{{{t}}}")
        s_hat = Sym(f"shat_{t}", text=f"ŝ_{t}", latex=rf"\hat{{s}}_{{{t}}}")
        updates += [
            Update("m", m, beta * m_prev + (1 - beta) * g, "First moment (moving average of gradients)."),
            Update("s", s_new, BETA2 * s_prev + (1 - BETA2) * g ** 2,
                   "Second moment (moving average of squared gradients)."),
            Update("m_hat", m_hat, m / (1 - beta ** Num(t)), "Bias correction of the first moment."),
            Update("s_hat", s_hat, s_new / (1 - BETA2 ** Num(t)), "Bias correction of the second moment."),
            Update("x", x_sym(t), x_prev - ETA * m_hat / (call("sqrt", s_hat) + EPS), "Adam step."),
        ]
    return updates


def describe(s: Settings) -> str:
    """One line naming the rule and its numbers, for the key's conventions."""
    if s.method == "gd":
        return f"gradient descent: x_t = x_(t−1) − η f′(x_(t−1)), η = {s.lr:g}"
    if s.method in ("momentum", "nesterov"):
        form = ("momentum_form ema: v_t = βv_(t−1) + (1 − β) f′(x_(t−1))" if s.momentum_form == "ema"
                else "momentum_form classic (PyTorch): v_t = βv_(t−1) + f′(x_(t−1))")
        start = "v0: gradient (v_0 = f′(x_0))" if s.v0 == "gradient" else "v0: zero (v_0 = 0)"
        if s.method == "momentum":
            step = "x_t = x_(t−1) − η v_t, with the new velocity v_t"
        elif s.momentum_form == "ema":
            step = "Nesterov (PyTorch's form): x_t = x_(t−1) − η(βv_t + (1 − β) f′(x_(t−1)))"
        else:
            step = "Nesterov (PyTorch's form): x_t = x_(t−1) − η(f′(x_(t−1)) + βv_t)"
        return f"{form}; {start}; {step}; η = {s.lr:g}, β = {s.beta:g}"
    if s.method == "adagrad":
        return f"Adagrad: s_t = s_(t−1) + g², x_t = x_(t−1) − η g/(√s_t + ε); s_0 = 0, η = {s.lr:g}, ε = {s.eps:g}"
    if s.method == "rmsprop":
        return (f"RMSprop: s_t = βs_(t−1) + (1 − β)g², x_t = x_(t−1) − η g/(√s_t + ε); s_0 = 0, "
                f"η = {s.lr:g}, β = {s.beta:g}, ε = {s.eps:g}")
    return (f"Adam: m_t = β₁m + (1 − β₁)g, s_t = β₂s + (1 − β₂)g², bias-corrected m̂ = m/(1 − β₁ᵗ), "
            f"ŝ = s/(1 − β₂ᵗ), x_t = x_(t−1) − η m̂/(√ŝ + ε); m_0 = s_0 = 0, η = {s.lr:g}, "
            f"β₁ = {s.beta:g}, β₂ = {s.beta2:g}, ε = {s.eps:g}")
