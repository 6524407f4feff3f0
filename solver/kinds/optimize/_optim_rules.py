"""Update rules of `optimize` as formulas: gd, momentum (ema or classic), nesterov, adagrad,
rmsprop and adam. Each rule gives, for step t, the formulas that turn x_{t−1}, the gradient
g_{t−1} = f′(x_{t−1}) and the previous state into the new state and x_t; the solver evaluates
exactly these formulas, so the shown working is the computation.

Conventions (SPEC §4): momentum `ema` v_t = βv_{t−1} + (1 − β)g_{t−1}, `classic`
v_t = βv_{t−1} + g_{t−1} (PyTorch's form); v_0 is the first gradient (`v0: gradient`) or 0;
x_t = x_{t−1} − η v_t uses the new velocity. Nesterov is PyTorch's form, which needs only the
gradient at the current point: x_t = x_{t−1} − η(g_{t−1} + βv_t) (ema: βv_t + (1 − β)g_{t−1}).
Adagrad and RMSprop divide by √s_t + ε; Adam corrects both moments for their zero start.

Weight decay (SPEC §12) adds λx_{t−1} to the gradient that enters the rule (L2, as PyTorch's
`weight_decay` for every method but AdamW); AdamW decouples it, as PyTorch's AdamW:
x_t = x_{t−1} − η(m̂/(√ŝ + ε) + λx_{t−1}). A learning-rate schedule makes η the rate η_t of
update t, computed first (see `schedule_update`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ...formula import Expr, Num, Sym, call, floor

METHODS = ("gd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw")
STATE = {"gd": (), "momentum": ("v",), "nesterov": ("v",), "adagrad": ("s",), "rmsprop": ("s",),
         "adam": ("m", "s"), "adamw": ("m", "s")}
ETA, EPS, LAMBDA = Sym("eta"), Sym("eps"), Sym("lambda")
GAMMA = Sym("gamma")
STEP_SIZE = Sym("step_size", text="step_size", latex=r"\mathrm{step\_size}")
T_MAX = Sym("T_max", text="T_max", latex=r"T_{\max}")
ETA_MIN = Sym("eta_min", text="η_min", latex=r"\eta_{\min}")
WARMUP = Sym("warmup", text="warmup_steps", latex=r"\mathrm{warmup\_steps}")
PI = Sym("pi", text="π", latex=r"\pi")


@dataclass
class Schedule:
    """A learning-rate schedule (SPEC §12): step, exponential, cosine or warmup."""

    type: str
    step_size: int | None = None
    gamma: float | None = None
    t_max: int | None = None
    eta_min: float | None = None
    warmup_steps: int | None = None


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
    weight_decay: float = 0.0
    schedule: Schedule | None = None


def x_sym(t: int) -> Sym:
    return Sym(f"x_{t}")


def lr_sym(t: int) -> Sym:
    return Sym(f"eta_{t}")


def grad_sym(t: int, vector: bool) -> Sym:
    if vector:
        return Sym(f"g_{t}", text=f"∇f(x_{t})", latex=rf"\nabla f(x_{{{t}}})")
    return Sym(f"g_{t}", text=f"f′(x_{t})", latex=f"f'(x_{{{t}}})")


def state_sym(name: str, t: int) -> Sym:
    return Sym(f"{name}_{t}")


def _beta(method: str) -> Sym:
    return Sym("beta_1") if method in ("adam", "adamw") else Sym("beta")


BETA2 = Sym("beta_2")


def parameter_bindings(s: Settings) -> dict:
    """The hyperparameters as the formulas name them."""
    values = {"eta": s.lr, "eps": s.eps, "beta_2": s.beta2, "lambda": s.weight_decay}
    values["beta_1" if s.method in ("adam", "adamw") else "beta"] = s.beta
    if s.schedule is not None:
        values.update({"gamma": s.schedule.gamma, "step_size": s.schedule.step_size, "pi": math.pi,
                       "T_max": s.schedule.t_max, "eta_min": s.schedule.eta_min,
                       "warmup": s.schedule.warmup_steps})
    return values


def initial_state(s: Settings, g0, x0=0.0) -> dict[str, object]:
    """State at t = 0: v_0 (the first gradient or 0); s_0 = m_0 = 0. With weight decay the
    first velocity is the gradient the rule uses, f′(x_0) + λx_0 (PyTorch's first buffer)."""
    zero = g0 * 0 + 0.0  # + 0.0 turns −0.0 into 0
    if s.method in ("momentum", "nesterov"):
        first = g0 + s.weight_decay * x0 if s.weight_decay else g0
        return {"v": first if s.v0 == "gradient" else zero}
    return {name: zero for name in STATE[s.method]}


@dataclass
class Update:
    """One formula of a step: `lhs = expr`, stored under `name` for the next formulas."""

    name: str  # "v", "s", "m", "m_hat", "s_hat" or "x"
    lhs: Sym
    expr: Expr
    text: str


def schedule_update(schedule: Schedule, t: int) -> Update:
    """η_t, the rate of update t. PyTorch's schedulers step after each update, so update t
    sees the scheduler after t − 1 steps (update 1 the base rate); warm-up: η·min(1, t/W)."""
    done = Num(t - 1)
    if schedule.type == "step":
        expr, text = ETA * GAMMA ** floor(done / STEP_SIZE), "Learning rate of this update (step decay)."
    elif schedule.type == "exponential":
        expr, text = ETA * GAMMA ** done, "Learning rate of this update (exponential decay)."
    elif schedule.type == "cosine":
        expr = ETA_MIN + (ETA - ETA_MIN) * (1 + call("cos", PI * done / T_MAX)) / 2
        text = "Learning rate of this update (cosine annealing)."
    else:
        expr, text = ETA * call("min", 1, Num(t) / WARMUP), "Learning rate of this update (linear warm-up)."
    return Update("lr", lr_sym(t), expr, text)


def step_updates(s: Settings, t: int, vector: bool) -> list[Update]:
    """The formulas of step t, in the order they are evaluated."""
    x_prev, g = x_sym(t - 1), grad_sym(t - 1, vector)
    beta = _beta(s.method)
    updates: list[Update] = []
    if s.schedule is not None:
        updates.append(schedule_update(s.schedule, t))
    eta = ETA if s.schedule is None else lr_sym(t)
    if s.weight_decay and s.method != "adamw":
        decayed = Sym(f"gwd_{t - 1}", text=f"g̃_{t - 1}", latex=rf"\tilde{{g}}_{{{t - 1}}}")
        updates.append(Update("gwd", decayed, g + LAMBDA * x_prev,
                              "Gradient with weight decay (L2): the gradient plus λ times the point."))
        g = decayed
    if s.method == "gd":
        updates.append(Update("x", x_sym(t), x_prev - eta * g, "Step against the gradient."))
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
            updates.append(Update("x", x_sym(t), x_prev - eta * v, "Step with the new velocity."))
        else:
            updates.append(Update("x", x_sym(t), x_prev - eta * look,
                                  "Nesterov step, looking ahead by β times the new velocity."))
    elif s.method in ("adagrad", "rmsprop"):
        s_prev, s_new = state_sym("s", t - 1), state_sym("s", t)
        if s.method == "adagrad":
            accumulated, text = s_prev + g ** 2, "Sum of squared gradients."
        else:
            accumulated, text = beta * s_prev + (1 - beta) * g ** 2, "Moving average of squared gradients."
        updates.append(Update("s", s_new, accumulated, text))
        updates.append(Update("x", x_sym(t), x_prev - eta * g / (call("sqrt", s_new) + EPS),
                              "Step scaled by the root of the squared gradients."))
    else:  # adam, adamw
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
        ]
        if s.method == "adam":
            updates.append(Update("x", x_sym(t), x_prev - eta * m_hat / (call("sqrt", s_hat) + EPS), "Adam step."))
        else:
            updates.append(Update("x", x_sym(t), x_prev - eta * (m_hat / (call("sqrt", s_hat) + EPS)
                                                                  + LAMBDA * x_prev),
                                  "AdamW step: the Adam step plus the decoupled weight decay λ times the point."))
    return updates


def describe(s: Settings) -> str:
    """One line naming the rule and its numbers, for the key's conventions."""
    text = _describe_rule(s)
    if s.weight_decay and s.method != "adamw":
        text += (f"; weight_decay λ = {s.weight_decay:g}: the rule uses the gradient plus λx (L2, as PyTorch"
                 + ("; v_0 = f′(x_0) + λx_0" if s.method in ("momentum", "nesterov") and s.v0 == "gradient" else "")
                 + "); f and f′ in the table are of f alone")
    if s.schedule is not None:
        text += "; " + describe_schedule(s.schedule)
    return text


def describe_schedule(schedule: Schedule) -> str:
    timing = ("update t uses the rate after t − 1 scheduler steps (PyTorch steps the scheduler after "
              "each update, so update 1 uses the base η)")
    if schedule.type == "step":
        return (f"lr_schedule step: η_t = η·γ^⌊(t − 1)/step_size⌋, step_size = {schedule.step_size}, "
                f"γ = {schedule.gamma:g}; {timing}")
    if schedule.type == "exponential":
        return f"lr_schedule exponential: η_t = η·γ^(t − 1), γ = {schedule.gamma:g}; {timing}"
    if schedule.type == "cosine":
        return (f"lr_schedule cosine (PyTorch's closed form, which rises again past T_max): "
                f"η_t = η_min + (η − η_min)(1 + cos(π(t − 1)/T_max))/2, T_max = {schedule.t_max}, "
                f"η_min = {schedule.eta_min:g}; {timing}")
    return (f"lr_schedule warmup: η_t = η·min(1, t/warmup_steps), warmup_steps = {schedule.warmup_steps} "
            "(a linear warm-up, then constant)")


def _describe_rule(s: Settings) -> str:
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
    if s.method == "adamw":
        return (f"AdamW (PyTorch's, decoupled weight decay): m_t = β₁m + (1 − β₁)g, s_t = β₂s + (1 − β₂)g², "
                f"m̂ = m/(1 − β₁ᵗ), ŝ = s/(1 − β₂ᵗ), x_t = x_(t−1) − η(m̂/(√ŝ + ε) + λx_(t−1)); "
                f"m_0 = s_0 = 0, η = {s.lr:g}, β₁ = {s.beta:g}, β₂ = {s.beta2:g}, ε = {s.eps:g}, "
                f"λ = {s.weight_decay:g}")
    return (f"Adam: m_t = β₁m + (1 − β₁)g, s_t = β₂s + (1 − β₂)g², bias-corrected m̂ = m/(1 − β₁ᵗ), "
            f"ŝ = s/(1 − β₂ᵗ), x_t = x_(t−1) − η m̂/(√ŝ + ε); m_0 = s_0 = 0, η = {s.lr:g}, "
            f"β₁ = {s.beta:g}, β₂ = {s.beta2:g}, ε = {s.eps:g}")
