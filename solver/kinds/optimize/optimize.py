"""Kind `optimize`: gradient-based minimization of a function, step by step.

Any function of one or several variables (safe expression parser) or a preset (`gelu`,
`gelu-exact`, `relu`, `elu`, classic test functions); methods gd, momentum, nesterov, adagrad,
rmsprop, adam, adamw; weight decay and learning-rate schedules (step, exponential, cosine,
warm-up); several `runs` from the same function compared side by side. Steps: the
gradient derived symbolically, each update written out, a table per run, notes when a run
oscillates or diverges, and a figure of the trajectories for the Markdown key.
"""

from __future__ import annotations

from functools import partial
import math
from typing import Any

from pydantic import Field, field_validator

from ...context import Context
from ...errors import BadInput
from ...registry import register
from ...steps import Figure, Formula, Solution, Symbolic, Table
from ...inputs import KindInput, choice

METHODS = ("gd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw")
_METHOD_ALIASES = {"sgd": "gd", "gradient-descent": "gd", "gradient_descent": "gd", "descent": "gd",
                   "nag": "nesterov", "rms-prop": "rmsprop", "rms_prop": "rmsprop"}
_METHOD_LABELS = {"gd": "GD", "momentum": "momentum", "nesterov": "Nesterov", "adagrad": "Adagrad",
                  "rmsprop": "RMSprop", "adam": "Adam", "adamw": "AdamW"}
SCHEDULES = {"step": ("step_size", "gamma"), "exponential": ("gamma",), "cosine": ("t_max", "eta_min"),
             "warmup": ("warmup_steps",)}
MAX_STEPS = 1000
SHOWN_UPDATES = 5  # updates written out as formulas per run; the table has them all
DIVERGED = 1e150  # beyond this |x| a run has left any sensible range


def _method_name(value):
    return choice(value, METHODS, _METHOD_ALIASES, name="method")


def _positive(value, name: str):
    if value is not None and not (value > 0 and math.isfinite(value)):
        raise ValueError(f"{name} must be a positive number")
    return value


def _decay(value, name: str):
    if value is not None and not 0 <= value < 1:
        raise ValueError(f"{name} must be in [0, 1)")
    return value


def _steps(value):
    if value is not None and not 1 <= value <= MAX_STEPS:
        raise ValueError(f"steps must be from 1 to {MAX_STEPS}")
    return value


def _start(value):
    """x0: a number, a list of numbers, or a mapping variable: number (checked against f later)."""
    if value is None:
        return value
    items = list(value.values()) if isinstance(value, dict) else value if isinstance(value, list) else [value]
    if not items or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                            for v in items):
        raise ValueError("x0 must be a number, a list of numbers or a mapping variable: number")
    return value


class ScheduleInput(KindInput):
    """A learning-rate schedule; which fields apply depends on `type` (checked in _schedule)."""

    type: str = Field(description="step, exponential, cosine or warmup")
    step_size: int | None = Field(None, description="step: updates between decays")
    gamma: float | None = Field(None, description="step (0.1) and exponential: the decay factor")
    t_max: int | None = Field(None, description="cosine: the half period in updates (steps)")
    eta_min: float | None = Field(None, description="cosine: the lowest rate (0)")
    warmup_steps: int | None = Field(None, description="warmup: updates until the full rate")

    @field_validator("type")
    @classmethod
    def _type(cls, value):
        return choice(value, SCHEDULES, {"steplr": "step", "exp": "exponential", "cos": "cosine",
                                         "cosine-annealing": "cosine", "linear-warmup": "warmup",
                                         "warm-up": "warmup"}, name="lr_schedule type")


class _RunSettings(KindInput):
    """Validation shared by the problem's own settings and each entry of `runs` (where every
    field is optional: a setting not given there comes from the problem)."""

    @field_validator("method", check_fields=False)
    @classmethod
    def _method(cls, value):
        return None if value is None else _method_name(value)

    @field_validator("momentum_form", check_fields=False)
    @classmethod
    def _form(cls, value):
        return None if value is None else choice(value, ("ema", "classic"), name="momentum_form", either=True)

    @field_validator("v0", check_fields=False)
    @classmethod
    def _v0(cls, value):
        return None if value is None else choice(value, ("gradient", "zero"), name="v0", either=True)

    @field_validator("lr", check_fields=False)
    @classmethod
    def _lr(cls, value):
        return _positive(value, "lr")

    @field_validator("eps", check_fields=False)
    @classmethod
    def _eps(cls, value):
        if value is not None and not (value >= 0 and math.isfinite(value)):
            raise ValueError("eps must be 0 or positive")
        return value

    @field_validator("beta", "beta2", check_fields=False)
    @classmethod
    def _decays(cls, value, info):
        return _decay(value, info.field_name)

    @field_validator("steps", check_fields=False)
    @classmethod
    def _steps(cls, value):
        return _steps(value)

    @field_validator("x0", check_fields=False)
    @classmethod
    def _x0(cls, value):
        return _start(value)

    @field_validator("weight_decay", check_fields=False)
    @classmethod
    def _weight_decay(cls, value):
        if value is not None and not (value >= 0 and math.isfinite(value)):
            raise ValueError("weight_decay must be 0 or positive")
        return value


class RunInput(_RunSettings):
    """One entry of `runs`."""

    label: str | None = Field(None, description="name of the run in tables and the figure")
    x0: Any = None
    lr: float | None = None
    steps: int | None = None
    method: str | None = None
    beta: float | None = None
    beta2: float | None = None
    eps: float | None = None
    momentum_form: str | None = None
    v0: str | None = None
    weight_decay: float | None = None
    lr_schedule: ScheduleInput | None = None


class OptimizeInput(_RunSettings):
    f: str = Field(description="the function to minimize (expression or preset: gelu, gelu-exact, "
                               "relu, leaky-relu, elu, sigmoid, tanh, rosenbrock, himmelblau, booth, "
                               "beale, sphere)")
    variables: list[str] | None = Field(None, description="the variables in x0's order (default: sorted names)")
    alpha: float | None = Field(None, description="α of the elu (1) and leaky-relu (0.01) presets")
    x0: Any = Field(None, description="starting point: a number, a list, or {variable: number}")
    lr: float | None = Field(None, description="learning rate η")
    steps: int = Field(3, description="number of updates")
    method: str = Field("gd", description="gd, momentum, nesterov, adagrad, rmsprop, adam or adamw")
    beta: float = Field(0.9, description="momentum β, RMSprop's decay, Adam's β₁")
    beta2: float = Field(0.999, description="Adam's β₂")
    eps: float = Field(1e-8, description="ε of adagrad, rmsprop and adam")
    momentum_form: str = Field("ema", description="ema: v = βv + (1 − β)g; classic: v = βv + g")
    v0: str = Field("gradient", description="first velocity: gradient (f′(x0)) or zero")
    weight_decay: float = Field(0.0, description="λ: L2 added to the gradient of the update (adamw: "
                                                 "decoupled, as PyTorch's AdamW)")
    lr_schedule: ScheduleInput | None = Field(
        None, description="{type: step, step_size, gamma (0.1)}, {type: exponential, gamma}, "
                          "{type: cosine, t_max (steps), eta_min (0)} or {type: warmup, warmup_steps}")
    runs: list[RunInput] | None = Field(None, description="several runs on the same f, compared side by side")

    @field_validator("runs")
    @classmethod
    def _runs(cls, value):
        if value is not None and not value:
            raise ValueError("runs is empty: give at least one run, or leave runs out")
        return value


# --- settings ----------------------------------------------------------------------------------

_RUN_FIELDS = ("x0", "lr", "steps", "method", "beta", "beta2", "eps", "momentum_form", "v0", "weight_decay",
               "lr_schedule")


def _start_point(raw, variables: list[str], field: str) -> list[float]:
    if raw is None:
        raise BadInput("give the starting point x0", field=field)
    if isinstance(raw, dict):
        missing = [v for v in variables if v not in raw]
        extra = [k for k in raw if k not in variables]
        if missing or extra:
            raise BadInput(f"x0 must give exactly the variables {', '.join(variables)}", field=field)
        values = [raw[v] for v in variables]
    elif isinstance(raw, (list, tuple)):
        values = list(raw)
    else:
        values = [raw]
    if len(values) != len(variables):
        raise BadInput(f"x0 has {len(values)} value{'s' if len(values) != 1 else ''} but f has "
                       f"{len(variables)} variable{'s' if len(variables) != 1 else ''} "
                       f"({', '.join(variables)})", field=field)
    return [float(v) for v in values]


def _settings(given: OptimizeInput, variables: list[str]):
    from ._optim_rules import Settings

    top = {name: getattr(given, name) for name in _RUN_FIELDS}
    overrides = given.runs or [None]
    settings = []
    for index, run in enumerate(overrides):
        values = dict(top)
        prefix = "" if run is None else f"runs.{index}."
        if run is not None:
            values.update({k: v for k, v in run.model_dump().items() if k in _RUN_FIELDS and v is not None})
        if values["lr"] is None:
            raise BadInput("give the learning rate lr", field=f"{prefix}lr" if run is not None else "lr")
        x0 = _start_point(values["x0"], variables, f"{prefix}x0" if run is not None and run.x0 is not None
                          else "x0")
        label = run.label if run is not None and run.label else _label(values, index, given.runs is not None)
        schedule_prefix = f"{prefix}lr_schedule" if run is not None and run.lr_schedule is not None else "lr_schedule"
        schedule = _schedule(values["lr_schedule"], int(values["steps"]), schedule_prefix)
        settings.append(Settings(values["method"], x0, float(values["lr"]), int(values["steps"]),
                                 float(values["beta"]), float(values["beta2"]), float(values["eps"]),
                                 values["momentum_form"], values["v0"], label,
                                 float(values["weight_decay"]), schedule))
    return settings


def _schedule(raw, steps: int, field: str):
    """The schedule's settings with their defaults; a field of another type, or a missing or
    impossible one, is bad input naming it."""
    from ._optim_rules import Schedule

    if raw is None:
        return None
    if isinstance(raw, dict):  # a run's override arrives as a plain mapping after model_dump
        raw = ScheduleInput.model_validate(raw)
    wanted = SCHEDULES[raw.type]
    for name in ("step_size", "gamma", "t_max", "eta_min", "warmup_steps"):
        if getattr(raw, name) is not None and name not in wanted:
            raise BadInput(f"{name} does not belong to a {raw.type} schedule (it takes "
                           f"{', '.join(wanted)})", field=f"{field}.{name}")
    schedule = Schedule(raw.type)
    if raw.type == "step":
        if raw.step_size is None:
            raise BadInput("a step schedule needs step_size (the updates between decays)", field=f"{field}.step_size")
        schedule.step_size = raw.step_size
        schedule.gamma = 0.1 if raw.gamma is None else raw.gamma
    elif raw.type == "exponential":
        if raw.gamma is None:
            raise BadInput("an exponential schedule needs gamma (the factor per update)", field=f"{field}.gamma")
        schedule.gamma = raw.gamma
    elif raw.type == "cosine":
        schedule.t_max = steps if raw.t_max is None else raw.t_max
        schedule.eta_min = 0.0 if raw.eta_min is None else raw.eta_min
    else:
        if raw.warmup_steps is None:
            raise BadInput("a warmup schedule needs warmup_steps", field=f"{field}.warmup_steps")
        schedule.warmup_steps = raw.warmup_steps
    for name, value in (("step_size", schedule.step_size), ("t_max", schedule.t_max),
                        ("warmup_steps", schedule.warmup_steps)):
        if value is not None and not 1 <= value <= 1_000_000:
            raise BadInput(f"{name} must be a positive whole number of updates", field=f"{field}.{name}")
    if schedule.gamma is not None and not (0 < schedule.gamma and math.isfinite(schedule.gamma)):
        raise BadInput("gamma must be a positive number", field=f"{field}.gamma")
    if schedule.eta_min is not None and not (schedule.eta_min >= 0 and math.isfinite(schedule.eta_min)):
        raise BadInput("eta_min must be 0 or positive", field=f"{field}.eta_min")
    return schedule


def _label(values: dict, index: int, several: bool) -> str:
    text = _METHOD_LABELS[values["method"]]
    if values["method"] in ("momentum", "nesterov", "rmsprop"):
        text += f" β={values['beta']:g}"
    text += f" η={values['lr']:g}"
    if values["weight_decay"]:
        text += f" λ={values['weight_decay']:g}"
    if values["lr_schedule"] is not None:
        kind = values["lr_schedule"]["type"] if isinstance(values["lr_schedule"], dict) else values["lr_schedule"].type
        text += f" {kind}"
    return f"run {index + 1}: {text}" if several else text


# --- one run -----------------------------------------------------------------------------------


class Run:
    """The rows of one run: t, x_t, f(x_t), ∇f(x_t) and the optimizer's state."""

    def __init__(self, settings, objective, vector: bool):
        self.settings = settings
        self.objective = objective
        self.vector = vector
        self.rows: list[dict] = []
        self.stopped_at: int | None = None  # the step where f or ∇f could not be evaluated

    def point(self, values: list[float]):
        import numpy as np

        return np.array(values, dtype=float) if self.vector else float(values[0])

    def evaluate(self, x) -> tuple[float, Any] | None:
        args = [float(v) for v in x] if self.vector else [x]
        if any(not math.isfinite(a) or abs(a) > DIVERGED for a in args):
            return None
        try:
            value = float(self.objective.f(*args))
            gradient = self.objective.grad(*args)
        except (OverflowError, ValueError, ZeroDivisionError, TypeError):
            # TypeError: the value is complex (a power of a negative number), not a real one
            return None
        if not math.isfinite(value) or not all(math.isfinite(g) for g in gradient):
            return None
        return value, self.point(gradient)


def _run(sol: Solution, ctx: Context, run: Run, several: bool) -> None:
    import numpy as np

    from ._optim_rules import initial_state, parameter_bindings, step_updates

    s = run.settings
    x = ctx.hand_round(run.point(s.x0))
    evaluated = run.evaluate(x)
    if evaluated is None:
        raise BadInput("f or its gradient cannot be evaluated at x0", field="x0")
    value, gradient = (ctx.hand_round(v) for v in evaluated)
    state = {k: ctx.hand_round(v) for k, v in initial_state(s, gradient, x).items()}
    run.rows.append({"t": 0, "x": x, "f": value, "grad": gradient, **state})
    params = parameter_bindings(s)
    where = f" ({s.label})" if several else ""
    for t in range(1, s.steps + 1):
        bindings = {**params, f"x_{t - 1}": x, f"g_{t - 1}": gradient,
                    **{f"{k}_{t - 1}": v for k, v in state.items()}}
        try:
            # A diverging vector run overflows to inf, which evaluate() then reports.
            with np.errstate(over="ignore", invalid="ignore"):
                new = _apply_updates(sol, ctx, step_updates(s, t, run.vector), bindings,
                                     show=t <= SHOWN_UPDATES, where=where, t=t)
        except (OverflowError, ZeroDivisionError):
            run.stopped_at = t
            break
        x = new.pop("x")
        rate = {"lr": new["lr"]} if "lr" in new else {}
        state = {k: v for k, v in new.items() if k in state}
        evaluated = run.evaluate(x)
        if evaluated is None:
            run.rows.append({"t": t, "x": x, "f": None, "grad": None, **state, **rate})
            run.stopped_at = t
            break
        value, gradient = (ctx.hand_round(v) for v in evaluated)
        run.rows.append({"t": t, "x": x, "f": value, "grad": gradient, **state, **rate})
    last = len(run.rows) - 1
    if last > SHOWN_UPDATES:
        span = f"Step {last}" if last == SHOWN_UPDATES + 1 else f"Steps {SHOWN_UPDATES + 1} to {last}"
        sol.note(f"{span}{where} follow{'s' if last == SHOWN_UPDATES + 1 else ''} the same rule; "
                 "the table lists every step.")


def _apply_updates(sol, ctx, updates, bindings: dict, show: bool, where: str, t: int) -> dict:
    produced = {}
    for update in updates:
        names = _symbol_names(update.expr)
        formula = Formula(update.lhs, update.expr, {n: bindings[n] for n in names})
        value = ctx.hand_round(formula.value)
        if show:
            sol.add(f"t = {t}{where}: {update.text}", formula)
        bindings[update.lhs.name] = value
        produced[update.name] = value
    return produced


def _symbol_names(expr) -> set[str]:
    from ...formula import Op, Sym

    if isinstance(expr, Sym):
        return {expr.name}
    if isinstance(expr, Op):
        return set().union(*(_symbol_names(a) for a in expr.args))
    return set()


# --- reporting ---------------------------------------------------------------------------------


def _plain(value):
    if value is None:
        return None
    if hasattr(value, "tolist"):
        return value.tolist()
    return float(value)


def _state_names(method: str) -> tuple[str, ...]:
    from ._optim_rules import STATE

    return STATE[method]


def _run_table(sol: Solution, run: Run, several: bool) -> None:
    names = _state_names(run.settings.method)
    gradient_column = "∇f(x_t)" if run.vector else "f′(x_t)"
    scheduled = run.settings.schedule is not None
    columns = ["t", "x_t", "f(x_t)", gradient_column] + [f"{n}_t" for n in names] + (["η_t"] if scheduled else [])
    rows = [[row["t"], _plain(row["x"]), _plain(row["f"]), _plain(row["grad"])]
            + [_plain(row[n]) for n in names] + ([_plain(row.get("lr"))] if scheduled else [])
            for row in run.rows]
    sol.add(f"{run.settings.label}, step by step." if several else "The run step by step.",
            table=Table(columns, [[("—" if c is None else c) for c in r] for r in rows]))


def _set_answers(sol: Solution, run: Run, prefix: str) -> None:
    names = _state_names(run.settings.method)
    for row in run.rows:
        t = row["t"]
        sol.set_answer(f"{prefix}x{t}", _plain(row["x"]))
        if row["f"] is not None:
            sol.set_answer(f"{prefix}f{t}", _plain(row["f"]))
            sol.set_answer(f"{prefix}grad{t}", _plain(row["grad"]))
        for name in names:
            sol.set_answer(f"{prefix}{name}{t}", _plain(row[name]))
        if row.get("lr") is not None:
            sol.set_answer(f"{prefix}lr{t}", _plain(row["lr"]))


def _steps_taken(run: Run) -> list:
    import numpy as np

    points = [np.atleast_1d(np.asarray(row["x"], dtype=float)) for row in run.rows]
    return [b - a for a, b in zip(points, points[1:])]


def _behaviour(sol: Solution, run: Run, several: bool) -> None:
    """Notes on how the run behaves: stuck, overshooting, oscillating or diverging."""
    import numpy as np

    def note(text: str) -> None:
        sol.note(f"{run.settings.label}: {text}" if several else text)

    if run.stopped_at is not None:
        note(f"The run stops at step {run.stopped_at}: f or its gradient cannot be evaluated at "
             f"x_{run.stopped_at} (the values overflow — the run diverges — or leave f's domain); "
             "the later steps are not defined.")
        return
    first = np.atleast_1d(np.asarray(run.rows[0]["grad"], dtype=float))
    if not np.any(first):
        note("The gradient is 0 at x0: x0 is a stationary point and plain gradient steps "
                 "do not move.")
        return
    moves = _steps_taken(run)
    values = [row["f"] for row in run.rows]
    reversals = [t + 1 for t in range(1, len(moves))
                 if float(np.dot(moves[t], moves[t - 1])) < 0]
    rises = [t for t in range(1, len(values)) if values[t] > values[t - 1]]
    sizes = [float(np.linalg.norm(m)) for m in moves]
    growing = len(sizes) >= 3 and sizes[-1] > sizes[-2] > sizes[-3]
    if growing and len(rises) >= 2 and rises[-2:] == [len(values) - 2, len(values) - 1]:
        note(f"The run diverges: the steps keep growing and f rises (at t = "
                 f"{_listing(rises)}); the learning rate is too large for this curvature.")
    elif len(reversals) >= 2:
        note(f"The run oscillates: the step changes direction at t = {_listing(reversals)}, "
                 "overshooting the minimum each time.")
    elif reversals:
        note(f"The run overshoots once: the step changes direction at t = {reversals[0]}.")
    if rises and not (growing and len(rises) >= 2):
        note(f"f increases at t = {_listing(rises)}: that step is too large.")
    if not rises and not reversals and len(values) > 1:
        note("f decreases at every step.")


def _listing(values: list[int]) -> str:
    shown = ", ".join(str(v) for v in values[:12])
    return shown + (", …" if len(values) > 12 else "")


def _compare(sol: Solution, runs: list[Run]) -> None:
    rows = []
    for run in runs:
        last = run.rows[-1]
        rows.append([run.settings.label, last["t"], _plain(last["x"]),
                     "—" if last["f"] is None else _plain(last["f"])])
    sol.add("The runs side by side after their last step.",
            table=Table(["run", "t", "x_t", "f(x_t)"], rows, title="comparison"))
    finished = [(r.rows[-1]["f"], r.settings.label) for r in runs if r.rows[-1]["f"] is not None]
    if len(finished) > 1:
        best = min(finished)[1]
        sol.note(f"The lowest f after the last step is reached by {best}.")
    steps = {len(r.rows) for r in runs}
    if len(steps) == 1 and all(len(r.rows[0]["x"]) == 1 if hasattr(r.rows[0]["x"], "__len__") else True
                               for r in runs):
        count = steps.pop()
        columns = ["t"] + [f"x_t ({r.settings.label})" for r in runs] + \
                  [f"f ({r.settings.label})" for r in runs]
        table = [[t] + [_plain(r.rows[t]["x"]) for r in runs] +
                 [("—" if r.rows[t]["f"] is None else _plain(r.rows[t]["f"])) for r in runs]
                 for t in range(count)]
        sol.add("Every step of the runs side by side.", table=Table(columns, table))


def _symbolic_steps(sol: Solution, objective) -> None:
    from ._optim_functions import sigma

    arguments = ", ".join(objective.variables)
    text = "The function to minimize" + (f": {objective.description}." if objective.description else ".")
    sol.add(text, symbolic=Symbolic(objective.expr, lhs=f"f({arguments})", lhs_latex=f"f({arguments})"))
    if len(objective.variables) == 1:
        hint = " (σ′ = σ(1 − σ))" if objective.expr.has(sigma) else ""
        sol.add(f"Its derivative, derived symbolically{hint}.",
                symbolic=Symbolic(objective.gradient[0], lhs=f"f′({objective.variables[0]})",
                                  lhs_latex=f"f'({objective.variables[0]})"))
        return
    for name, derivative in zip(objective.variables, objective.gradient):
        sol.add(f"Partial derivative with respect to {name}.",
                symbolic=Symbolic(derivative, lhs=f"∂f/∂{name}", lhs_latex=rf"\frac{{\partial f}}{{\partial {name}}}"))


def _figure(sol: Solution, objective, runs: list[Run]) -> None:
    from ._optim_figure import Trajectory, draw_trajectories

    trajectories = []
    for run in runs:
        rows = [r for r in run.rows if r["f"] is not None]
        trajectories.append(Trajectory(run.settings.label, [_plain(r["x"]) for r in rows],
                                       [float(r["f"]) for r in rows]))
    f, variables = objective.f, list(objective.variables)
    sol.add("The trajectories over the function.", figure=Figure(
        "trajectories", "optimization trajectories over f",
        partial(draw_trajectories, f=f, variables=variables, runs=trajectories), suffix=".svg"))


@register(
    "optimize",
    OptimizeInput,
    imports=("numpy", "sympy"),
    summary="Minimize a function by gradient descent, momentum, Nesterov, Adagrad, RMSprop, Adam or AdamW, "
            "with weight decay and learning-rate schedules, step by step, with several runs side by side.",
    answers={"x{t}": "the point after t updates (t = 0…steps)", "f{t}": "f(x_t)",
             "grad{t}": "f′(x_t) (a list for several variables)",
             "v{t}": "velocity (momentum, nesterov)", "s{t}": "squared-gradient average (adagrad, rmsprop, adam)",
             "m{t}": "first moment (adam, adamw)",
             "lr{t}": "with lr_schedule: the learning rate of update t, x{t−1} → x{t} (t = 1…steps)",
             "run{k}.<name>": "with `runs`: the answers of run k"},
    example='--f "x*sigmoid(1.702*x)" --x0 -3 --lr 0.1 --steps 3 --method momentum --beta 0.9',
    template={"f": "gelu", "x0": -3, "lr": 0.1, "steps": 3, "method": "momentum", "beta": 0.9,
              "momentum_form": "ema", "v0": "gradient"},
)
def solve(given: OptimizeInput, ctx: Context) -> Solution:
    from ._optim_functions import parse_objective
    from ._optim_rules import describe

    objective = parse_objective(given.f, given.variables, given.alpha)
    settings = _settings(given, objective.variables)
    sol = Solution()
    several = given.runs is not None
    for s in settings:
        sol.convention((f"{s.label} — " if several else "") + describe(s))
    _symbolic_steps(sol, objective)
    vector = len(objective.variables) > 1
    runs = []
    for index, s in enumerate(settings):
        run = Run(s, objective, vector)
        _run(sol, ctx, run, several)
        _run_table(sol, run, several)
        _behaviour(sol, run, several)
        _set_answers(sol, run, f"run{index + 1}." if several else "")
        runs.append(run)
    if several:
        _compare(sol, runs)
    _figure(sol, objective, runs)
    return sol
