"""Mistakes of the step-by-step kinds: `optimize`, `backprop`, `rnn`."""

from __future__ import annotations

import dataclasses

from . import Coincidence, Mistake, hand_rounding

# --- optimize ---------------------------------------------------------------------------------------


def _optimize_runs(result, change):
    """The kind's own runs with each run's settings changed by `change(settings)`."""
    from ...context import Context
    from ...kinds.optimize import optimize as kind
    from ...kinds.optimize._optim_functions import parse_objective
    from ...steps import Solution

    model = kind.OptimizeInput.model_validate({k: v for k, v in result.given.items() if v is not None})
    objective = parse_objective(model.f, model.variables, model.alpha)
    settings = kind._settings(model, objective.variables)
    ctx = Context(decimals=result.decimals, round_intermediate=result.round_intermediate)
    several = model.runs is not None
    sol = Solution()
    changed_any = False
    for index, s in enumerate(settings):
        new = change(s)
        changed_any |= new is not None
        run = kind.Run(new or s, objective, len(objective.variables) > 1)
        kind._run(sol, ctx, run, several)
        kind._set_answers(sol, run, f"run{index + 1}." if several else "")
    return sol.answers if changed_any else None


def _uphill_settings(s):
    return dataclasses.replace(s, lr=-s.lr)


def _other_form_settings(s):
    if s.method not in ("momentum", "nesterov"):
        return None
    return dataclasses.replace(s, momentum_form="classic" if s.momentum_form == "ema" else "ema")


def _uphill(result):
    return _optimize_runs(result, _uphill_settings)


def _other_form(result):
    return _optimize_runs(result, _other_form_settings)


def _adam_uncorrected(result):
    """Adam with m̂ = m and ŝ = s: the same run with the bias corrections taken out."""
    import math

    from ...kinds.optimize import optimize as kind
    from ...kinds.optimize._optim_functions import parse_objective

    model = kind.OptimizeInput.model_validate({k: v for k, v in result.given.items() if v is not None})
    objective = parse_objective(model.f, model.variables, model.alpha)
    settings = kind._settings(model, objective.variables)
    answers, used = {}, False
    for index, s in enumerate(settings):
        if s.method != "adam":
            continue
        used = True
        prefix = f"run{index + 1}." if model.runs is not None else ""
        x = list(s.x0)
        m, v = [0.0] * len(x), [0.0] * len(x)
        for t in range(s.steps + 1):
            gradient = [float(g) for g in objective.grad(*x)]
            one = len(x) == 1
            answers.update({f"{prefix}x{t}": x[0] if one else list(x), f"{prefix}f{t}": float(objective.f(*x)),
                            f"{prefix}grad{t}": gradient[0] if one else gradient,
                            f"{prefix}m{t}": m[0] if one else list(m), f"{prefix}s{t}": v[0] if one else list(v)})
            if t == s.steps:
                break
            m = [s.beta * a + (1 - s.beta) * g for a, g in zip(m, gradient)]
            v = [s.beta2 * a + (1 - s.beta2) * g * g for a, g in zip(v, gradient)]
            x = [a - s.lr * mm / (math.sqrt(vv) + s.eps) for a, mm, vv in zip(x, m, v)]
    return answers if used else None


# --- backprop ---------------------------------------------------------------------------------------


def _layers_count(answers: dict) -> int:
    return sum(1 for name in answers if name.startswith("grad_W"))


def _single_sample(result) -> bool:
    x = result.given.get("x")
    return isinstance(x, (int, float)) or (isinstance(x, list) and not any(isinstance(v, list) for v in x))


def _transposed(result):
    import numpy as np

    answers = dict(result.solution.answers)
    for l in range(1, _layers_count(answers) + 1):
        grad = np.asarray(answers[f"grad_W{l}"], dtype=float)
        if grad.ndim == 2:
            answers[f"grad_W{l}"] = grad.T.tolist()
    return answers


def _weights(result, l: int):
    import numpy as np

    return np.asarray(result.given["layers"][l - 1]["W"], dtype=float)


def _updated(result, answers: dict) -> dict:
    """W_new and b_new from the (mistaken) gradients, as the SGD step does."""
    import numpy as np

    lr = result.given.get("lr")
    if lr is None:
        return answers
    for l in range(1, _layers_count(answers) + 1):
        W = _weights(result, l)
        grad = np.asarray(answers[f"grad_W{l}"], dtype=float).reshape(W.shape)
        answers[f"W{l}_new"] = (W - lr * grad).tolist()
        b = np.asarray(result.given["layers"][l - 1].get("b", 0), dtype=float)
        grad_b = np.asarray(answers[f"grad_b{l}"], dtype=float)
        answers[f"b{l}_new"] = (b - lr * grad_b).tolist() if np.ndim(b - lr * grad_b) else float(b - lr * grad_b)
    return answers


def _delta_sign(result):
    """δ = d − y at the output instead of y − d: every δ and gradient negated, the step uphill."""
    import numpy as np

    answers = dict(result.solution.answers)
    for name in list(answers):
        if name.startswith(("delta", "grad_W", "grad_b")):
            answers[name] = (-np.asarray(answers[name], dtype=float)).tolist()
    return _updated(result, answers)


def _derivative_omitted(result):
    """δ carried back without the factor f′(u): the output δ is ∂J/∂y, hidden δ = W δ above."""
    import numpy as np

    if not _single_sample(result):
        return None
    answers = dict(result.solution.answers)
    count = _layers_count(answers)
    layout = result.given.get("weights", "in_out")
    last = np.asarray(answers[f"delta{count}"], dtype=float).ravel()
    fprime = np.asarray(answers[f"fprime{count}"], dtype=float)
    activation = str(result.given["layers"][-1].get("activation", "")).lower()
    loss = str(result.given.get("loss", "mse")).lower()
    if (activation, loss) not in (("sigmoid", "bce"), ("softmax", "ce"), ("linear", "half-sse")):
        if activation == "softmax" or fprime.size != last.size or np.any(fprime == 0):
            return None  # a Jacobian, or f′ = 0 somewhere: ∂J/∂y cannot be recovered
        last = last / fprime.ravel()
    deltas = {count: last}
    for l in range(count - 1, 0, -1):
        W = _weights(result, l + 1)
        deltas[l] = (W @ deltas[l + 1]) if layout == "in_out" else (W.T @ deltas[l + 1])
    x = np.asarray(result.given["x"], dtype=float).ravel()
    for l in range(1, count + 1):
        h = x if l == 1 else np.asarray(answers[f"h{l - 1}"], dtype=float).ravel()
        answers[f"delta{l}"] = deltas[l].tolist()
        grad = np.outer(h, deltas[l]) if layout == "in_out" else np.outer(deltas[l], h)
        answers[f"grad_W{l}"] = grad.reshape(_weights(result, l).shape).tolist()
        answers[f"grad_b{l}"] = deltas[l].tolist()
    if all(np.allclose(deltas[l], np.asarray(result.solution.answers[f"delta{l}"], dtype=float).ravel())
           for l in deltas):
        return None
    return _updated(result, answers)


# --- rnn ---------------------------------------------------------------------------------------------


def _other_cell(given: dict, result):
    cell = str(given.get("cell", "")).lower()
    if cell not in ("elman", "jordan"):
        return None
    return {**given, "cell": "jordan" if cell == "elman" else "elman"}, result.round_intermediate


_OPTIMIZE_EXAMPLE = {"kind": "optimize", "given": {"f": "x**2", "x0": 2, "lr": 0.1, "steps": 2,
                                                    "method": "momentum", "beta": 0.9}, "field": "x2"}

MISTAKES = [
    Mistake("gradient-sign", ("optimize",), "The steps went uphill: the gradient was added instead "
            "of subtracted.", r"^(run\d+\.)?(x|f|grad|v|m|s)\d+$", recompute=_uphill, settings=_uphill_settings,
            example={"kind": "optimize", "given": {"f": "x**2", "x0": 2, "lr": 0.1, "steps": 2}, "field": "x2"}),
    Mistake("momentum-other-form", ("optimize",), "The other momentum form was used (v ← βv + (1 − β)g "
            "and v ← βv + g swapped), with the same first velocity.", r"^(run\d+\.)?(x|f|grad|v)\d+$",
            recompute=_other_form, settings=_other_form_settings, example=_OPTIMIZE_EXAMPLE),
    Mistake("adam-no-bias-correction", ("optimize",), "Adam's moments were used without the bias "
            "correction m̂ = m/(1 − β₁ᵗ), ŝ = s/(1 − β₂ᵗ).", r"^(run\d+\.)?(x|f|grad)\d+$",
            recompute=_adam_uncorrected,
            example={"kind": "optimize", "given": {"f": "x**2", "x0": 2, "lr": 0.1, "steps": 2, "method": "adam"},
                     "field": "x2"}),
    hand_rounding(("optimize",), {"kind": "optimize", "given": {"f": "gelu", "x0": -3, "lr": 0.1, "steps": 3,
                                                                  "method": "momentum"}, "field": "x3",
                                  "decimals": 2}),
    Mistake("gradient-transposed", ("backprop",), "The weight gradient was transposed (δ xᵀ where the "
            "layout needs x δᵀ, or the reverse).", r"^grad_W\d+$", recompute=_transposed,
            example={"kind": "backprop", "given": {"x": [1, 2], "target": [1, 0, 0], "loss": "mse",
                                                   "layers": [{"W": [[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]],
                                                               "b": 0, "activation": "sigmoid"}]},
                     "field": "grad_W1"}),
    Mistake("activation-derivative-omitted", ("backprop",), "The activation's derivative f′(u) was left "
            "out when carrying δ back.", r"^(delta|grad_W|grad_b|W|b)\d+(_new)?$", recompute=_derivative_omitted,
            example={"kind": "backprop", "given": {"x": [0.5, -1], "target": [1], "loss": "mse",
                                                   "layers": [{"W": [[0.3, -0.2], [0.8, 0.1]], "b": 0.1,
                                                               "activation": "tanh"},
                                                              {"W": [[0.5], [-0.4]], "b": 0, "activation": "sigmoid"}]},
                     "field": "delta1"}),
    Mistake("delta-sign", ("backprop",), "The output error was taken as d − y instead of y − d, so "
            "every δ and gradient has the wrong sign.", r"^(delta|grad_W|grad_b|W|b)\d+(_new)?$",
            recompute=_delta_sign,
            example={"kind": "backprop", "given": {"x": [1, 2], "target": [1], "loss": "mse", "lr": 0.5,
                                                   "layers": [{"W": [[0.1], [0.2]], "b": 0, "activation": "sigmoid"}]},
                     "field": "delta1"}),
    hand_rounding(("backprop",), {"kind": "backprop", "given": {"x": [0.5, -1], "target": [1], "loss": "mse",
                                                                "layers": [{"W": [[0.3], [0.8]], "b": 0.1,
                                                                            "activation": "tanh"}]},
                                  "field": "grad_W1", "decimals": 2}),
    Mistake("jordan-elman-swapped", ("rnn",), "The Jordan and Elman recurrences were swapped (the "
            "previous output fed back instead of the previous hidden state, or the reverse).",
            r"^(h|y)\d+$", modify=_other_cell,
            example={"kind": "rnn", "given": {"cell": "elman", "U": [[0.5]], "W": [[0.4]], "V": [[1.5]],
                                              "inputs": [[1], [0.5]]}, "field": "h2"}),
    hand_rounding(("rnn",), {"kind": "rnn", "given": {"cell": "elman", "U": [[0.5]], "W": [[0.4]],
                                                      "inputs": [[1], [0.5], [0.25]]},
                             "field": "h3", "decimals": 2}),
]

COINCIDENCES = [
    Coincidence("optimize", ("momentum-other-form",), "β = 0 (both forms are plain gradient descent)"),
    Coincidence("backprop", ("gradient-transposed",), "a square gradient that is symmetric, or one "
                "input or one output (the transpose only changes the shape)"),
    Coincidence("rnn", ("jordan-elman-swapped",), "V is the identity and c = 0 with a linear output "
                "(the output then is the hidden state)"),
]
