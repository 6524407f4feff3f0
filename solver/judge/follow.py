"""Follow-through (error carried forward, SPEC §9): the value of an answer computed from the
claimant's own most recent claimed values, the unclaimed ones recomputed.

optimize: the run stepped by the kind's own update formulas from the claimed x, gradient and
state of each earlier step; rnn: the kind's own solve restarted from the last claimed state;
backprop: one layer's formula applied to the claimed values it takes (u from h, δ from the δ
above, gradients from δ, the step from the gradients). None when nothing claimed feeds it.
"""

from __future__ import annotations

import re


def follow_value(result, path: str, *, given: dict | None = None, round_intermediate: bool | None = None,
                 settings=None):
    """(value, [claimed fields it was computed from]) or None. `given`, `round_intermediate` and
    (optimize) `settings(Settings) -> Settings` apply a mistake on the way."""
    given = dict(result.given if given is None else given)
    rounding = result.round_intermediate if round_intermediate is None else round_intermediate
    handler = {"optimize": _optimize, "rnn": _rnn, "backprop": _backprop}.get(result.kind)
    if handler is None or not result.claimed:
        return None
    try:
        if settings is not None:
            return _optimize(result, path, given, rounding, settings) if result.kind == "optimize" else None
        return handler(result, path, given, rounding)
    except Exception:  # claimed values of the wrong form, or a step that cannot be taken
        return None


def _claimed_number_or_list(value):
    from .forms import read_list, read_number

    if isinstance(value, (list, str)) and not isinstance(read_number(value), (int, float)):
        value = read_list(value, 1)
        return [float(v) for v in value]
    number = read_number(value)
    return float(number)


# --- optimize -------------------------------------------------------------------------------------


def _optimize(result, path: str, given: dict, rounding: bool, change=None):
    import numpy as np

    from ..context import Context
    from ..kinds.optimize import optimize as kind
    from ..kinds.optimize._optim_functions import parse_objective
    from ..kinds.optimize._optim_rules import initial_state, parameter_bindings, step_updates
    from ..steps import Solution

    match = re.fullmatch(r"(run(\d+)\.)?(x|f|grad|v|m|s)(\d+)", path)
    if not match or int(match.group(4)) == 0:
        return None
    prefix, name, t = match.group(1) or "", match.group(3), int(match.group(4))
    model = kind.OptimizeInput.model_validate({k: v for k, v in given.items() if v is not None})
    objective = parse_objective(model.f, model.variables, model.alpha)
    s = kind._settings(model, objective.variables)[int(match.group(2)) - 1 if match.group(2) else 0]
    if change is not None:
        s = change(s)
        if s is None:
            return None
    ctx = Context(decimals=result.decimals, round_intermediate=rounding)
    run = kind.Run(s, objective, len(objective.variables) > 1)
    claimed = result.claimed

    def claim(field: str, k: int):
        key = f"{prefix}{field}{k}"
        return (run.point(np.atleast_1d(_claimed_number_or_list(claimed[key])).tolist()), key) \
            if key in claimed else (None, None)

    used: dict[int, list[str]] = {}
    x, key = claim("x", 0)
    x = ctx.hand_round(run.point(s.x0)) if x is None else x
    used[0] = [key] if key else []
    value, gradient = (ctx.hand_round(v) for v in run.evaluate(x))
    state = {k: ctx.hand_round(v) for k, v in initial_state(s, gradient).items()}
    params = parameter_bindings(s)
    for k in range(1, t + 1):
        for field in ("grad", *state):
            got, key = claim(field, k - 1)
            if got is not None:
                if field == "grad":
                    gradient = got
                else:
                    state[field] = got
                used[k - 1] = used.get(k - 1, []) + [key]
        bindings = {**params, f"x_{k - 1}": x, f"g_{k - 1}": gradient,
                    **{f"{n}_{k - 1}": v for n, v in state.items()}}
        new = kind._apply_updates(Solution(), ctx, step_updates(s, k, run.vector), bindings, show=False,
                                  where="", t=k)
        step = {"x": new.pop("x"), **{n: new[n] for n in state}}
        if k == t and name in step:
            sources = [f for f in used.get(t - 1, [])]
            return (_plain(step[name]), sources) if sources else None
        got, key = claim("x", k)
        x = step["x"] if got is None else got
        used[k] = [key] if key else []
        state = {n: step[n] for n in state}
        evaluated = run.evaluate(x)
        if evaluated is None:
            return None
        value, gradient = (ctx.hand_round(v) for v in evaluated)
        if k == t:  # f or grad of the claimant's own x_t
            sources = used[k]
            return (_plain(value if name == "f" else gradient), sources) if sources else None
    return None


def _plain(value):
    return value.tolist() if hasattr(value, "tolist") else float(value)


# --- rnn ------------------------------------------------------------------------------------------


def _rnn(result, path: str, given: dict, rounding: bool):
    from .mistakes import solve_given

    match = re.fullmatch(r"(h|y|c)(\d+)", path)
    inputs = given.get("inputs")
    if not match or not isinstance(inputs, list):
        return None
    name, t = match.group(1), int(match.group(2))
    cell = str(given.get("cell", "")).lower()
    carried = {"jordan": "y", "lstm": "h"}.get(cell, "h")
    earlier = [k for k in range(1, t) if f"{carried}{k}" in result.claimed]
    if not earlier:
        return None
    k = earlier[-1]
    answers = result.solution.answers
    restart = {key: value for key, value in given.items() if key not in ("loss", "targets", "diagram")}
    restart["inputs"] = inputs[k:]
    sources = []
    for state, start in (("h", "h0"), ("y", "y0"), ("c", "c0")):
        key = f"{state}{k}"
        if key in result.claimed:
            restart[start] = result.claimed[key]
            sources.append(key)
        elif key in answers and (state == "c" or state == carried):
            restart[start] = answers[key]
    computed = solve_given("rnn", restart, decimals=result.decimals, round_intermediate=rounding)
    if computed is None or f"{name}{t - k}" not in computed:
        return None
    return computed[f"{name}{t - k}"], sources


# --- backprop -------------------------------------------------------------------------------------


def _backprop(result, path: str, given: dict, rounding: bool):
    import numpy as np

    from ..context import round_values
    from ..kinds.activation import _activations as act

    x = given.get("x")
    if isinstance(x, list) and any(isinstance(v, list) for v in x):
        return None  # a mini-batch: not followed through
    claimed, answers = result.claimed, result.solution.answers
    layers = given["layers"]
    layout = given.get("weights", "in_out")
    count = len(layers)

    def vector(name):
        if name in claimed:
            return np.atleast_1d(np.asarray(_claimed_number_or_list(claimed[name]), dtype=float)).ravel(), [name]
        if name == "h0":
            return np.atleast_1d(np.asarray(x, dtype=float)).ravel(), []
        return np.atleast_1d(np.asarray(answers[name], dtype=float)).ravel(), []

    def weights(l):
        return np.asarray(layers[l - 1]["W"], dtype=float)

    def finish(value, sources):
        if not sources:
            return None
        value = round_values(value, result.decimals) if rounding else value
        return (value.tolist() if hasattr(value, "tolist") else value), sources

    match = re.fullmatch(r"(u|h|delta|grad_W|grad_b)(\d+)|(W|b)(\d+)_new|y", path)
    if not match:
        return None
    if path == "y":
        h, sources = vector(f"h{count}")
        return finish(h, sources)
    name, l = (match.group(1), int(match.group(2))) if match.group(1) else (match.group(3) + "_new",
                                                                            int(match.group(4)))
    if not 1 <= l <= count:
        return None
    W = weights(l)
    if name == "u":
        h, sources = vector(f"h{l - 1}")
        b = np.asarray(layers[l - 1].get("b", 0), dtype=float)
        u = (W.T @ h if layout == "in_out" else W @ h) + b
        return finish(u, sources)
    if name == "h":
        u, sources = vector(f"u{l}")
        activation = str(layers[l - 1].get("activation", "linear")).lower()
        if activation == "softmax":
            e = np.exp(u - u.max())
            return finish(e / e.sum(), sources)
        return finish(np.asarray(act.apply_array(act.canonical_name(activation) or activation, u), dtype=float)
                      if activation != "linear" else u, sources)
    if name == "delta":
        if l == count:
            return None
        below, sources = vector(f"delta{l + 1}")
        fprime, more = vector(f"fprime{l}")
        if fprime.size != below.size and fprime.size != weights(l + 1).shape[0 if layout == "in_out" else 1]:
            return None
        back = weights(l + 1) @ below if layout == "in_out" else weights(l + 1).T @ below
        return finish(back * fprime, sources + more)
    if name in ("grad_W", "grad_b"):
        delta, sources = vector(f"delta{l}")
        if name == "grad_b":
            return finish(delta if delta.size > 1 else float(delta[0]), sources)
        h, more = vector(f"h{l - 1}")
        grad = np.outer(h, delta) if layout == "in_out" else np.outer(delta, h)
        return finish(grad.reshape(W.shape), sources + more)
    lr = given.get("lr")
    if lr is None:
        return None
    if name == "W_new":
        key = f"grad_W{l}"
        if key not in claimed:
            return None
        grad = np.asarray(read_matrix(claimed[key]), dtype=float).reshape(W.shape)
        return finish(W - lr * grad, [key])
    grad_b, sources = vector(f"grad_b{l}")
    b = np.asarray(layers[l - 1].get("b", 0), dtype=float)
    new = b - lr * grad_b
    return finish(new if new.size > 1 else float(new.ravel()[0]), sources)


def read_matrix(value):
    from .forms import list_depth, read_list

    value = read_list(value, 2 if not isinstance(value, list) or list_depth(value) >= 2 else 1)
    return [[float(v) for v in row] if isinstance(row, list) else float(row) for row in value]
