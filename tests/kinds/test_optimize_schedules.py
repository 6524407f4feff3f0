"""optimize with weight decay, AdamW and learning-rate schedules against torch.optim and
torch.optim.lr_scheduler stepping one scalar parameter on the same f, on 300 random
configurations; schedules with runs; bad schedule fields named."""

from __future__ import annotations

import json
import math
import random

import pytest

torch = pytest.importorskip("torch")

from solver.context import Context  # noqa: E402
from solver.errors import BadInput  # noqa: E402
from solver.kinds.optimize.optimize import OptimizeInput, solve  # noqa: E402

from helpers import render_text, solve_text  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def optimize(given: dict) -> dict:
    return solve(OptimizeInput.model_validate(given), Context()).answers


def random_function(rng: random.Random):
    """f as the problem writes it, and the same f for torch."""
    a, b, c, d = (round(rng.uniform(0.2, 2), 2), round(rng.uniform(-1, 1), 2),
                  round(rng.uniform(0.5, 2), 2), round(rng.uniform(-1, 1), 2))
    shape = rng.choice(["poly", "trig", "exp"])
    if shape == "poly":
        return f"{a}*x**2 + {d}*x", lambda x: a * x ** 2 + d * x
    if shape == "trig":
        return f"{a}*x**2 + {b}*sin({c}*x)", lambda x: a * x ** 2 + b * torch.sin(c * x)
    return f"log(1 + exp({c}*x)) + {a}*x**2/2", lambda x: torch.log(1 + torch.exp(c * x)) + a * x ** 2 / 2


def random_schedule(rng: random.Random, steps: int):
    kind = rng.choice([None, "step", "exponential", "cosine", "warmup"])
    if kind is None:
        return None, None
    if kind == "step":
        step_size, gamma = rng.randint(1, 4), rng.choice([None, round(rng.uniform(0.2, 0.9), 2)])
        spec = {"type": "step", "step_size": step_size} | ({} if gamma is None else {"gamma": gamma})
        return spec, lambda opt: torch.optim.lr_scheduler.StepLR(opt, step_size, 0.1 if gamma is None else gamma)
    if kind == "exponential":
        gamma = round(rng.uniform(0.5, 0.99), 3)
        return {"type": "exponential", "gamma": gamma}, lambda opt: torch.optim.lr_scheduler.ExponentialLR(opt, gamma)
    if kind == "cosine":
        t_max = rng.choice([None, rng.randint(1, steps + 3)])
        eta_min = rng.choice([None, round(rng.uniform(0, 0.01), 4)])
        spec = {"type": "cosine"} | ({} if t_max is None else {"t_max": t_max}) | (
            {} if eta_min is None else {"eta_min": eta_min})
        return spec, lambda opt: torch.optim.lr_scheduler.CosineAnnealingLR(
            opt, steps if t_max is None else t_max, 0.0 if eta_min is None else eta_min)
    warmup = rng.randint(1, 5)
    return ({"type": "warmup", "warmup_steps": warmup},
            lambda opt: torch.optim.lr_scheduler.LambdaLR(opt, lambda epoch: min(1.0, (epoch + 1) / warmup)))


METHODS = ["gd", "momentum", "nesterov", "momentum-ema", "adagrad", "rmsprop", "adam", "adamw"]


def torch_optimizer(method: str, param, lr: float, beta: float, wd: float, eps: float):
    if method == "gd":
        return torch.optim.SGD([param], lr=lr, weight_decay=wd)
    if method in ("momentum", "nesterov"):
        return torch.optim.SGD([param], lr=lr, momentum=beta, nesterov=method == "nesterov", weight_decay=wd)
    if method in ("momentum-ema", "nesterov-ema"):  # ema with v0 = the first gradient: dampening β
        return torch.optim.SGD([param], lr=lr, momentum=beta, dampening=beta, weight_decay=wd,
                               nesterov=method == "nesterov-ema")
    if method == "adagrad":
        return torch.optim.Adagrad([param], lr=lr, eps=eps, weight_decay=wd)
    if method == "rmsprop":
        return torch.optim.RMSprop([param], lr=lr, alpha=beta, eps=eps, weight_decay=wd)
    if method == "adam":
        return torch.optim.Adam([param], lr=lr, betas=(beta, 0.999), eps=eps, weight_decay=wd)
    return torch.optim.AdamW([param], lr=lr, betas=(beta, 0.999), eps=eps, weight_decay=wd)


def torch_run(f, x0, method, lr, beta, wd, eps, steps, make_scheduler) -> dict:
    param = torch.tensor(float(x0), dtype=torch.float64, requires_grad=True)
    opt = torch_optimizer(method, param, lr, beta, wd, eps)
    scheduler = make_scheduler(opt) if make_scheduler else None
    out = {}
    for t in range(steps + 1):
        opt.zero_grad()
        value = f(param)
        value.backward()
        out[f"x{t}"], out[f"f{t}"], out[f"grad{t}"] = float(param.detach()), float(value.detach()), float(param.grad)
        if t == steps:
            break
        out[f"lr{t + 1}"] = opt.param_groups[0]["lr"]
        opt.step()
        if scheduler:
            scheduler.step()
    return out


def random_problem(rng: random.Random):
    text, f = random_function(rng)
    method = rng.choice(METHODS)
    steps = rng.randint(1, 8)
    lr = round(rng.uniform(0.01, 0.3), 3)
    beta = round(rng.uniform(0.5, 0.95), 2)
    wd = rng.choice([0.0, round(rng.uniform(0.01, 0.5), 3)])
    eps = rng.choice([1e-8, 1e-6])
    spec, make_scheduler = random_schedule(rng, steps)
    given = {"f": text, "x0": round(rng.uniform(-2, 2), 2), "lr": lr, "steps": steps, "method": method,
             "beta": beta, "eps": eps}
    if method in ("momentum", "nesterov"):
        given |= {"momentum_form": "classic", "v0": "zero"}  # PyTorch's SGD momentum
    if method in ("momentum-ema", "nesterov-ema"):
        given |= {"method": method.split("-")[0], "momentum_form": "ema", "v0": "gradient"}
    if wd or rng.random() < 0.3:
        given["weight_decay"] = wd
    if spec is not None:
        given["lr_schedule"] = spec
    return given, f, make_scheduler


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-9 * max(1.0, abs(b))


@pytest.mark.parametrize("seed", range(300))
def test_matches_torch_optim_and_schedulers(seed):
    given, f, make_scheduler = random_problem(random.Random(seed))
    answers = optimize(given)
    method = given["method"] + ("-ema" if given.get("momentum_form") == "ema" else "")
    expected = torch_run(f, given["x0"], method, given["lr"], given["beta"],
                         given.get("weight_decay", 0.0), given["eps"], given["steps"], make_scheduler)
    if "lr_schedule" not in given:
        expected = {k: v for k, v in expected.items() if not k.startswith("lr")}
        assert not any(name.startswith("lr") for name in answers)
    for name, value in expected.items():
        assert name in answers, name
        assert _close(answers[name], value), (name, answers[name], value)


def test_cosine_uses_the_closed_form_past_t_max():
    answers = optimize({"f": "x**2", "x0": 1, "lr": 0.1, "steps": 6,
                        "lr_schedule": {"type": "cosine", "t_max": 2, "eta_min": 0.02}})
    for t in range(1, 7):
        closed = 0.02 + (0.1 - 0.02) * (1 + math.cos(math.pi * (t - 1) / 2)) / 2
        assert answers[f"lr{t}"] == pytest.approx(closed, abs=1e-15)
    assert answers["lr5"] == pytest.approx(0.1)  # it rises back to the base rate


def test_weight_decay_leaves_f_and_grad_of_f_alone():
    answers = optimize({"f": "x**2", "x0": 1, "lr": 0.1, "steps": 1, "weight_decay": 0.5})
    assert answers["grad0"] == 2 and answers["f0"] == 1
    assert answers["x1"] == pytest.approx(1 - 0.1 * (2 + 0.5))


def test_schedules_and_weight_decay_per_run():
    answers = optimize({"f": "x**2", "x0": 1, "lr": 0.1, "steps": 3, "lr_schedule": {"type": "exponential",
                                                                                     "gamma": 0.5},
                        "runs": [{"method": "gd"}, {"method": "adamw", "weight_decay": 0.1,
                                                    "lr_schedule": {"type": "warmup", "warmup_steps": 3}}]})
    assert [answers[f"run1.lr{t}"] for t in (1, 2, 3)] == pytest.approx([0.1, 0.05, 0.025])
    assert [answers[f"run2.lr{t}"] for t in (1, 2, 3)] == pytest.approx([0.1 / 3, 0.2 / 3, 0.1])
    expected = torch_run(lambda x: x ** 2, 1, "adamw", 0.1, 0.9, 0.1, 1e-8, 3,
                         lambda opt: torch.optim.lr_scheduler.LambdaLR(opt, lambda e: min(1.0, (e + 1) / 3)))
    assert answers["run2.x3"] == pytest.approx(expected["x3"], rel=1e-12)


def test_without_new_fields_the_answers_are_unchanged():
    given = {"f": "gelu", "x0": -3, "lr": 0.1, "steps": 3, "method": "adam"}
    assert optimize(given) == optimize({**given, "weight_decay": 0})


@pytest.mark.parametrize("schedule, field, words", [
    ({"type": "step"}, "lr_schedule.step_size", "needs step_size"),
    ({"type": "step", "step_size": 0}, "lr_schedule.step_size", "positive"),
    ({"type": "step", "step_size": 2, "t_max": 3}, "lr_schedule.t_max", "does not belong"),
    ({"type": "exponential"}, "lr_schedule.gamma", "needs gamma"),
    ({"type": "exponential", "gamma": -0.5}, "lr_schedule.gamma", "positive"),
    ({"type": "cosine", "t_max": -1}, "lr_schedule.t_max", "positive"),
    ({"type": "cosine", "eta_min": -0.1}, "lr_schedule.eta_min", "0 or positive"),
    ({"type": "cosine", "warmup_steps": 2}, "lr_schedule.warmup_steps", "does not belong"),
    ({"type": "warmup"}, "lr_schedule.warmup_steps", "needs warmup_steps"),
    ({"type": "linear"}, "lr_schedule.type", "must be one of"),
    ({"type": "step", "step_size": 2, "size": 3}, "lr_schedule.size", ""),
])
def test_bad_schedules_name_the_field(schedule, field, words):
    given = {"f": "x**2", "x0": 1, "lr": 0.1, "lr_schedule": schedule}
    result = solve_text(json.dumps({"problems": [{"id": "bad", "kind": "optimize", "given": given}]}))
    error = result.problems[0].error
    assert isinstance(error, BadInput), error
    assert error.field == field, (error.field, error.message)
    assert words in error.message


@pytest.mark.parametrize("change, field", [
    ({"weight_decay": -1}, "weight_decay"),
    ({"runs": [{"weight_decay": -1}]}, "runs.0.weight_decay"),
    ({"runs": [{"lr_schedule": {"type": "warmup"}}]}, "runs.0.lr_schedule.warmup_steps"),
])
def test_bad_weight_decay_names_the_field(change, field):
    given = {"f": "x**2", "x0": 1, "lr": 0.1, **change}
    result = solve_text(json.dumps({"problems": [{"id": "bad", "kind": "optimize", "given": given}]}))
    error = result.problems[0].error
    assert isinstance(error, BadInput), error
    assert error.field == field, (error.field, error.message)


def test_kinds_lists_the_new_fields_and_answers():
    import os
    import subprocess
    import sys

    listing = subprocess.run([sys.executable, "-m", "solver.cli", "kinds", "optimize"], capture_output=True, text=True,
                             env={**os.environ, "COLUMNS": "250"}, timeout=60)
    assert listing.returncode == 0, listing.stderr
    for word in ("weight_decay", "lr_schedule", "lr{t}", "adamw"):
        assert word in listing.stdout, word


# --- rendering -----------------------------------------------------------------------------------

RENDER_EXAMPLE = """
problems:
  - id: decay
    kind: optimize
    title: Weight decay and a step schedule
    given: {f: "(x - 3)^2", x0: 0, lr: 0.2, steps: 3, weight_decay: 0.1, lr_schedule: {type: step, step_size: 2, gamma: 0.5}}
"""

# By hand: x1 = 0 − 0.2(−6 + 0) = 1.2; x2 = 1.2 − 0.2(−3.6 + 0.12) = 1.896; η3 = 0.2·0.5 = 0.1,
# x3 = 1.896 − 0.1(−2.208 + 0.1896) = 2.0978.
EXPECTED_TEXT = (
    'decay — Weight decay and a step schedule  (optimize)\n',
    '  Given: f = (x - 3)^2, x0 = 0, lr = 0.2, steps = 3, weight_decay = 0.1, lr_schedule = {type: step, \n',
    'step_size: 2, gamma: 0.5}\n',
    '  Convention: gradient descent: x_t = x_(t−1) − η f′(x_(t−1)), η = 0.2; weight_decay λ = 0.1: the \n',
    'rule uses the gradient plus λx (L2, as PyTorch); f and f′ in the table are of f alone; lr_schedule \n',
    'step: η_t = η·γ^⌊(t − 1)/step_size⌋, step_size = 2, γ = 0.5; update t uses the rate after t − 1 \n',
    'scheduler steps (PyTorch steps the scheduler after each update, so update 1 uses the base η)\n',
    '  1. The function to minimize.\n',
    '     f(x) = (−3 + x)^2\n',
    '  2. Its derivative, derived symbolically.\n',
    '     f′(x) = −6 + 2·x\n',
    '  3. t = 1: Learning rate of this update (step decay).\n',
    '     η_1 = η·γ^⌊0/step_size⌋ = 0.2·0.5^⌊0/2⌋ = 0.2\n',
    '  4. t = 1: Gradient with weight decay (L2): the gradient plus λ times the point.\n',
    '     g̃_0 = f′(x_0) + λ·x_0 = (−6) + 0.1·0 = −6\n',
    '  5. t = 1: Step against the gradient.\n',
    '     x_1 = x_0 − η_1·g̃_0 = 0 − 0.2·(−6) = 1.2000\n',
    '  6. t = 2: Learning rate of this update (step decay).\n',
    '     η_2 = η·γ^⌊1/step_size⌋ = 0.2·0.5^⌊1/2⌋ = 0.2\n',
    '  7. t = 2: Gradient with weight decay (L2): the gradient plus λ times the point.\n',
    '     g̃_1 = f′(x_1) + λ·x_1 = (−3.6000) + 0.1·1.2000 = −3.4800\n',
    '  8. t = 2: Step against the gradient.\n',
    '     x_2 = x_1 − η_2·g̃_1 = 1.2000 − 0.2·(−3.4800) = 1.8960\n',
    '  9. t = 3: Learning rate of this update (step decay).\n',
    '     η_3 = η·γ^⌊2/step_size⌋ = 0.2·0.5^⌊2/2⌋ = 0.1\n',
    '  10. t = 3: Gradient with weight decay (L2): the gradient plus λ times the point.\n',
    '     g̃_2 = f′(x_2) + λ·x_2 = (−2.2080) + 0.1·1.8960 = −2.0184\n',
    '  11. t = 3: Step against the gradient.\n',
    '     x_3 = x_2 − η_3·g̃_2 = 1.8960 − 0.1·(−2.0184) = 2.0978\n',
    '  12. The run step by step.\n',
    '     ┏━━┳━━━━━━━━┳━━━━━━━━┳━━━━━━━━━┳━━━━┓                                                          \n',
    '     ┃t ┃    x_t ┃ f(x_t) ┃ f′(x_t) ┃ η_t┃                                                          \n',
    '     ┡━━╇━━━━━━━━╇━━━━━━━━╇━━━━━━━━━╇━━━━┩                                                          \n',
    '     │0 │      0 │      9 │      -6 │   —│                                                          \n',
    '     │1 │ 1.2000 │ 3.2400 │ -3.6000 │ 0.2│                                                          \n',
    '     │2 │ 1.8960 │ 1.2188 │ -2.2080 │ 0.2│                                                          \n',
    '     │3 │ 2.0978 │ 0.8139 │ -1.8043 │ 0.1│                                                          \n',
    '     └──┴────────┴────────┴─────────┴────┘                                                          \n',
    '  13. f decreases at every step.\n',
    '  14. The trajectories over the function.\n',
    '     [figure: optimization trajectories over f; written with --format md -o]\n',
    '  Answer x0 = 0\n',
    '  Answer f0 = 9\n',
    '  Answer grad0 = -6\n',
    '  Answer x1 = 1.2000\n',
    '  Answer f1 = 3.2400\n',
    '  Answer grad1 = -3.6000\n',
    '  Answer lr1 = 0.2\n',
    '  Answer x2 = 1.8960\n',
    '  Answer f2 = 1.2188\n',
    '  Answer grad2 = -2.2080\n',
    '  Answer lr2 = 0.2\n',
    '  Answer x3 = 2.0978\n',
    '  Answer f3 = 0.8139\n',
    '  Answer grad3 = -1.8043\n',
    '  Answer lr3 = 0.1\n',
    '\n',
)


def test_rendered_example_exactly():
    assert render_text(solve_text(RENDER_EXAMPLE)) == "".join(EXPECTED_TEXT)
