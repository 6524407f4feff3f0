"""Kind `batchnorm`: batch normalisation of a mini-batch by hand — per-feature batch mean and
biased variance (as in training), normalised values, then γ·x̂ + β; or inference mode with the
running statistics; and, when running statistics are given in training, their update.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from ..context import Context
from ..errors import BadInput
from ..formula import Expr, Num, Sym, call, total
from ..inputs import KindInput, matrix_shape
from ..registry import register
from ..steps import Formula, Solution

WRITE_OUT_UP_TO = 12  # batches up to this size have their sums written term by term

X = Sym("x")
MU = Sym("mu")
VAR = Sym("var", text="σ²", latex=r"\sigma^2")
EPS = Sym("eps")
GAMMA = Sym("gamma")
BETA = Sym("beta")
X_HAT = Sym("x_hat", text="x̂", latex=r"\hat{x}")
MOMENTUM = Sym("momentum", text="m", latex="m")
UNBIASED = Sym("var_u", text="σ²_unbiased", latex=r"\sigma^2_{\mathrm{unb}}")
RUNNING_MEAN = Sym("rm", text="running_mean", latex=r"\mu_{\mathrm{run}}")
RUNNING_VAR = Sym("rv", text="running_var", latex=r"\sigma^2_{\mathrm{run}}")
RUNNING_MEAN_NEW = Sym("rm_new", text="running_mean′", latex=r"\mu'_{\mathrm{run}}")
RUNNING_VAR_NEW = Sym("rv_new", text="running_var′", latex=r"\sigma'^2_{\mathrm{run}}")


def _vector(value, name: str, allow_none: bool = False):
    """A number or a flat list of numbers."""
    if value is None and allow_none:
        return None
    items = value if isinstance(value, list) else [value]
    if not items:
        raise ValueError(f"{name} is empty")
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (int, float)):
            raise ValueError(f"{name} must be a number or a list of numbers, got {item!r}")
    return value


class BatchnormInput(KindInput):
    x: Any = Field(description="N values, or an N×D matrix with one row per example")
    gamma: Any = Field(1, description="scale γ: a number or one per feature")
    beta: Any = Field(0, description="shift β: a number or one per feature")
    eps: float = Field(1e-5, description="ε added to the variance")
    training: bool = Field(True, description="batch statistics (true) or the running ones (false)")
    running_mean: Any = Field(None, description="running mean: used in inference, updated in training")
    running_var: Any = Field(None, description="running variance: used in inference, updated in training")
    momentum: float = Field(0.1, description="running-statistics momentum (PyTorch's convention)")

    @field_validator("x")
    @classmethod
    def _x(cls, value):
        shape = matrix_shape(value, name="x")
        if len(shape) not in (1, 2):
            raise ValueError("x must be N values or an N×D matrix (one row per example)")
        return value

    @field_validator("gamma", "beta", "running_mean", "running_var")
    @classmethod
    def _vectors(cls, value, info):
        return _vector(value, info.field_name, allow_none=info.field_name.startswith("running"))

    @field_validator("eps")
    @classmethod
    def _eps(cls, value):
        if value < 0:
            raise ValueError("eps must not be negative")
        return value

    @field_validator("momentum")
    @classmethod
    def _momentum(cls, value):
        if not 0 <= value <= 1:
            raise ValueError("momentum must lie between 0 and 1")
        return value


def _check_statistics(given: BatchnormInput) -> None:
    missing = [n for n in ("running_mean", "running_var") if getattr(given, n) is None]
    if not given.training and missing:
        raise BadInput("inference (training: false) normalises with running_mean and running_var: "
                       "give both", field=missing[0])
    if len(missing) == 1:
        raise BadInput("give running_mean and running_var together", field=missing[0])


def _per_feature(value, features: int, name: str) -> list:
    if isinstance(value, list):
        if len(value) != features:
            raise BadInput(f"{name} has {len(value)} values but x has {features} feature"
                           f"{'s' if features > 1 else ''}", field=name)
        return list(value)
    return [value] * features


def _sum_expr(items: list[Expr]) -> Expr:
    out = items[0]
    for item in items[1:]:
        out = out + item
    return out


def _label(feature: int, features: int) -> str:
    return f" of feature {feature + 1}" if features > 1 else ""


def _sym(base: Sym, feature: int, features: int) -> Sym:
    if features == 1:
        return base
    text = base.text_name() + f"[{feature + 1}]"
    latex = base.latex_name() + f"_{{{feature + 1}}}"
    return Sym(f"{base.name}_{feature}", text=text, latex=latex)


def _batch_mean(sol: Solution, ctx: Context, column: list, feature: int, features: int):
    n = len(column)
    if n <= WRITE_OUT_UP_TO:
        expr = _sum_expr([Num(v) for v in column]) / Num(n)
        formula = Formula(_sym(MU, feature, features), expr)
    else:
        formula = Formula(_sym(MU, feature, features), total(X) / Num(n), {"x": _np_array(column)})
    return ctx.hand_round(sol.add(f"Batch mean{_label(feature, features)}: the average of its {n} values.",
                                  formula))


def _batch_var(sol: Solution, ctx: Context, column: list, mean, feature: int, features: int):
    n = len(column)
    if n <= WRITE_OUT_UP_TO:
        expr = _sum_expr([(Num(v) - Num(mean)) ** 2 for v in column]) / Num(n)
        formula = Formula(_sym(VAR, feature, features), expr)
    else:
        formula = Formula(_sym(VAR, feature, features), total((X - MU) ** 2) / Num(n),
                          {"x": _np_array(column), "mu": mean})
    return ctx.hand_round(sol.add(f"Batch variance{_label(feature, features)}, biased (divided by N = {n}, "
                                  "as batch norm does in training):", formula))


def _np_array(values):
    import numpy as np

    return np.array(values, dtype=float)


def _normalise(sol: Solution, ctx: Context, column: list, mean, var, eps, feature: int, features: int,
               source: str):
    formula = Formula(_sym(X_HAT, feature, features), (X - MU) / call("sqrt", VAR + EPS),
                      {"x": _np_array(column), "mu": float(mean), "var": float(var), "eps": eps})
    return ctx.hand_round(sol.add(f"Normalised values{_label(feature, features)} ({source}):", formula))


def _scale_shift(sol: Solution, ctx: Context, x_hat, gamma, beta, feature: int, features: int):
    formula = Formula(_sym(Sym("y"), feature, features), GAMMA * X_HAT + BETA,
                      {"gamma": gamma, "beta": beta, "x_hat": _np_array(_plain(x_hat))})
    return ctx.hand_round(sol.add(f"Scale and shift{_label(feature, features)}: y = γ·x̂ + β.", formula))


def _running_update(sol: Solution, ctx: Context, mean, var, n: int, running_mean, running_var,
                    momentum: float, feature: int, features: int):
    """PyTorch's update: the running variance takes the unbiased batch variance."""
    label = _label(feature, features)
    unbiased = ctx.hand_round(sol.add(
        f"Unbiased batch variance{label} for the running estimate: σ²·N/(N − 1).",
        Formula(UNBIASED, VAR * Sym("N") / (Sym("N") - 1), {"var": var, "N": n})))
    new_mean = ctx.hand_round(sol.add(
        f"Running mean{label} after this batch:",
        Formula(_sym(RUNNING_MEAN_NEW, feature, features), (1 - MOMENTUM) * RUNNING_MEAN + MOMENTUM * MU,
                {"momentum": momentum, "rm": running_mean, "mu": mean})))
    new_var = ctx.hand_round(sol.add(
        f"Running variance{label} after this batch:",
        Formula(_sym(RUNNING_VAR_NEW, feature, features), (1 - MOMENTUM) * RUNNING_VAR + MOMENTUM * UNBIASED,
                {"momentum": momentum, "rv": running_var, "var_u": unbiased})))
    return new_mean, new_var


def _plain(value):
    return value.tolist() if hasattr(value, "tolist") else value


def _conventions(sol: Solution, given: BatchnormInput) -> None:
    sol.convention(f"x̂ = (x − μ)/√(σ² + ε) with ε = {given.eps:g}, y = γ·x̂ + β, each feature (column) "
                   "on its own.")
    if given.training:
        sol.convention("Training mode: μ and σ² are the batch's own; σ² is biased (divided by N).")
        if given.running_mean is not None:
            sol.convention(f"Running statistics (PyTorch): new = (1 − m)·old + m·batch with m = "
                           f"{given.momentum}; the running variance takes the unbiased batch variance.")
    else:
        sol.convention("Inference mode: the running mean and variance replace the batch statistics.")


@register(
    "batchnorm",
    BatchnormInput,
    imports=("numpy",),
    summary="Batch normalisation by hand: batch mean, biased variance, normalised values and "
            "γ·x̂ + β (training), or inference with running statistics.",
    answers={"mean": "μ per feature (inference: the running mean used)",
             "var": "σ² per feature, biased (inference: the running variance used)",
             "x_hat": "the normalised values, shaped like x",
             "y": "γ·x̂ + β, shaped like x",
             "running_mean_new": "the updated running mean (training with running statistics given)",
             "running_var_new": "the updated running variance (idem)"},
    example='--x "[1, 2, 3, 6]" --gamma 2 --beta 0.5',
    template={"x": [[1, 2], [3, 6], [5, 4]], "gamma": 1, "beta": 0, "eps": 1e-5, "training": True},
)
def solve(given: BatchnormInput, ctx: Context) -> Solution:
    _check_statistics(given)
    sol = Solution()
    _conventions(sol, given)
    flat = not isinstance(given.x[0], list)
    rows = [[v] for v in given.x] if flat else given.x
    n, features = len(rows), len(rows[0])
    if given.training and n < 2:
        raise BadInput("training mode needs at least 2 examples per feature (the variance of one value "
                       "is 0; PyTorch refuses it too)", field="x")
    gamma, beta = _per_feature(given.gamma, features, "gamma"), _per_feature(given.beta, features, "beta")
    running = None
    if given.running_mean is not None:
        running = (_per_feature(given.running_mean, features, "running_mean"),
                   _per_feature(given.running_var, features, "running_var"))
        if any(v < 0 for v in running[1]):
            raise BadInput("running_var cannot be negative", field="running_var")
    results = {name: [] for name in ("mean", "var", "x_hat", "y", "running_mean_new", "running_var_new")}
    for f in range(features):
        column = [row[f] for row in rows]
        if given.training:
            mean = _batch_mean(sol, ctx, column, f, features)
            var = _batch_var(sol, ctx, column, mean, f, features)
            source = "batch statistics"
        else:
            mean, var = running[0][f], running[1][f]
            source = "running statistics"
        if var + given.eps == 0:  # x̂ would be 0/0 for every value
            where = f" of feature {f + 1}" if features > 1 else ""
            raise BadInput(f"the variance{where} is 0 and eps is 0, so x̂ = (x − μ)/√(σ² + ε) divides "
                           "0 by 0; give eps > 0 (PyTorch's default is 1e-5)", field="eps")
        x_hat = _normalise(sol, ctx, column, mean, var, given.eps, f, features, source)
        y = _scale_shift(sol, ctx, x_hat, gamma[f], beta[f], f, features)
        for name, value in (("mean", mean), ("var", var), ("x_hat", _plain(x_hat)), ("y", _plain(y))):
            results[name].append(value)
        if given.training and running is not None:
            new_mean, new_var = _running_update(sol, ctx, mean, var, n, running[0][f], running[1][f],
                                                given.momentum, f, features)
            results["running_mean_new"].append(new_mean)
            results["running_var_new"].append(new_var)
    for name, per_feature in results.items():
        if not per_feature:
            continue
        if name in ("x_hat", "y"):
            value = per_feature[0] if flat else [list(row) for row in zip(*per_feature)]
        else:
            value = per_feature[0] if flat else per_feature
        sol.set_answer(name, value)
    return sol
