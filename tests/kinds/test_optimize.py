"""optimize against torch.optim, step for step: SGD (with momentum, dampening and Nesterov),
Adagrad, RMSprop and Adam on one- and two-variable functions; the gradients against autograd;
the course's GELU exercises; notes, hand rounding, bad input, the figure and the rendered key."""

from __future__ import annotations

import json
import random
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")

from solver.context import Context  # noqa: E402
from solver.errors import BadInput  # noqa: E402
from solver.kinds.optimize.optimize import OptimizeInput, solve  # noqa: E402

from helpers import REPO, answers_of, render_text, solve_text  # noqa: E402

# f as the solver reads it, the same f written in torch, a learning rate that keeps it finite.
FUNCTIONS = {
    "gelu": (lambda p: p[0] * torch.sigmoid(1.702 * p[0]), 1, 0.5),
    "x^2 + 3*sin(x)": (lambda p: p[0] ** 2 + 3 * torch.sin(p[0]), 1, 0.1),
    "tanh(x)*x + exp(-x^2)": (lambda p: torch.tanh(p[0]) * p[0] + torch.exp(-p[0] ** 2), 1, 0.2),
    "rosenbrock": (lambda p: (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2, 2, 0.0005),
    "himmelblau": (lambda p: (p[0] ** 2 + p[1] - 11) ** 2 + (p[0] + p[1] ** 2 - 7) ** 2, 2, 0.005),
}
STEPS = 6
BETA, BETA2, EPS = 0.8, 0.99, 1e-6


def optimize(**given) -> dict:
    return solve(OptimizeInput.model_validate(given), Context()).answers


def torch_run(f, x0, make_optimizer, read_state, steps=STEPS):
    """x_t, f(x_t), ∇f(x_t) and the optimizer's state after each of `steps` torch.optim steps."""
    p = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
    optimizer = make_optimizer([p])
    rows = []
    for t in range(steps + 1):
        optimizer.zero_grad()
        loss = f(p)
        loss.backward()
        state = read_state(optimizer.state[p]) if t > 0 else {}
        rows.append({"x": p.detach().clone().tolist(), "f": loss.item(), "grad": p.grad.clone().tolist(),
                     **state})
        if t < steps:
            optimizer.step()
    return rows


# (solver settings, torch optimizer factory taking lr, state read from torch as the solver names it)
CONFIGS = {
    "gd": ({"method": "gd"}, lambda lr: lambda ps: torch.optim.SGD(ps, lr=lr), lambda s: {}),
    "momentum-classic-zero": (
        {"method": "momentum", "momentum_form": "classic", "v0": "zero"},
        lambda lr: lambda ps: torch.optim.SGD(ps, lr=lr, momentum=BETA),
        lambda s: {"v": s["momentum_buffer"].tolist()}),
    # PyTorch's first buffer is the gradient itself, then βv + (1 − β)g: ema with v0 = gradient.
    "momentum-ema-gradient": (
        {"method": "momentum", "momentum_form": "ema", "v0": "gradient"},
        lambda lr: lambda ps: torch.optim.SGD(ps, lr=lr, momentum=BETA, dampening=BETA),
        lambda s: {"v": s["momentum_buffer"].tolist()}),
    # ema from v0 = 0 is (1 − β) times the classic velocity: classic with lr·(1 − β).
    "momentum-ema-zero": (
        {"method": "momentum", "momentum_form": "ema", "v0": "zero"},
        lambda lr: lambda ps: torch.optim.SGD(ps, lr=lr * (1 - BETA), momentum=BETA),
        lambda s: {"v": (s["momentum_buffer"] * (1 - BETA)).tolist()}),
    "nesterov-classic-zero": (
        {"method": "nesterov", "momentum_form": "classic", "v0": "zero"},
        lambda lr: lambda ps: torch.optim.SGD(ps, lr=lr, momentum=BETA, nesterov=True),
        lambda s: {"v": s["momentum_buffer"].tolist()}),
    "nesterov-ema-zero": (
        {"method": "nesterov", "momentum_form": "ema", "v0": "zero"},
        lambda lr: lambda ps: torch.optim.SGD(ps, lr=lr * (1 - BETA), momentum=BETA, nesterov=True),
        lambda s: {"v": (s["momentum_buffer"] * (1 - BETA)).tolist()}),
    "adagrad": ({"method": "adagrad"},
                lambda lr: lambda ps: torch.optim.Adagrad(ps, lr=lr * 20, eps=EPS),
                lambda s: {"s": s["sum"].tolist()}),
    "rmsprop": ({"method": "rmsprop"},
                lambda lr: lambda ps: torch.optim.RMSprop(ps, lr=lr * 5, alpha=BETA, eps=EPS),
                lambda s: {"s": s["square_avg"].tolist()}),
    "adam": ({"method": "adam"},
             lambda lr: lambda ps: torch.optim.Adam(ps, lr=lr * 5, betas=(BETA, BETA2), eps=EPS),
             lambda s: {"m": s["exp_avg"].tolist(), "s": s["exp_avg_sq"].tolist()}),
}
# The adaptive methods take steps of about lr whatever the gradient: they get a larger lr.
LR_SCALE = {"adagrad": 20, "rmsprop": 5, "adam": 5}


def _close(a, b, tol=1e-9):
    a, b = (a if isinstance(a, list) else [a]), (b if isinstance(b, list) else [b])
    return len(a) == len(b) and all(abs(x - y) <= tol * max(1.0, abs(y)) for x, y in zip(a, b))


@pytest.mark.parametrize("config", list(CONFIGS))
@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_optimizer_matches_torch_step_for_step(name, config):
    torch_f, dims, lr = FUNCTIONS[name]
    settings, factory, read_state = CONFIGS[config]
    rng = random.Random(f"{name}-{config}")
    x0 = [round(rng.uniform(-2.5, 2.5), 3) for _ in range(dims)]
    answers = optimize(f=name, x0=x0 if dims > 1 else x0[0], lr=lr * LR_SCALE.get(config, 1), steps=STEPS,
                       beta=BETA, beta2=BETA2, eps=EPS, **settings)
    expected = torch_run(torch_f, x0, factory(lr), read_state)
    for t, row in enumerate(expected):
        assert _close(answers[f"x{t}"], row["x"]), (t, answers[f"x{t}"], row["x"])
        assert _close(answers[f"f{t}"], row["f"]), (t, answers[f"f{t}"], row["f"])
        assert _close(answers[f"grad{t}"], row["grad"]), (t, answers[f"grad{t}"], row["grad"])
        for state in ("v", "s", "m"):
            if state in row:
                assert _close(answers[f"{state}{t}"], row[state]), (state, t)


def test_first_velocity_follows_v0():
    """v0: gradient starts from f′(x0); v0: zero from 0 (autograd gives f′(x0))."""
    p = torch.tensor(-3.0, dtype=torch.float64, requires_grad=True)
    (p * torch.sigmoid(1.702 * p)).backward()
    gradient = optimize(f="gelu", x0=-3, lr=0.1, method="momentum", v0="gradient")["v0"]
    assert abs(gradient - p.grad.item()) < 1e-12
    assert optimize(f="gelu", x0=-3, lr=0.1, method="momentum", v0="zero")["v0"] == 0


@pytest.mark.parametrize("method", ["momentum", "nesterov"])
def test_classic_momentum_from_the_gradient_and_nesterov_ema_from_the_gradient(method):
    """The two combinations torch.optim has no switch for, against SPEC §4's recurrences written
    out here with autograd gradients: classic v0 = g0, v = βv + g; Nesterov ema steps with
    βv + (1 − β)g."""
    form = "classic" if method == "momentum" else "ema"
    answers = optimize(f="x^2 + 3*sin(x)", x0=1.5, lr=0.1, steps=5, method=method, beta=BETA,
                       momentum_form=form, v0="gradient")

    def grad(x):
        p = torch.tensor(x, dtype=torch.float64, requires_grad=True)
        (p ** 2 + 3 * torch.sin(p)).backward()
        return p.grad.item()

    x = 1.5
    v = grad(x)
    for t in range(1, 6):
        g = grad(x)
        if method == "momentum":
            v = BETA * v + g
            x = x - 0.1 * v
        else:
            v = BETA * v + (1 - BETA) * g
            x = x - 0.1 * (BETA * v + (1 - BETA) * g)
        assert _close(answers[f"x{t}"], x) and _close(answers[f"v{t}"], v), t


# --- the course's exercises (seed 003, problem 1) ---------------------------------------------

COURSE = (REPO / "problems" / "course" / "003-gradient-descent-gelu.yaml").read_text()


def _gelu_run(x0, lr, steps, momentum=None):
    """GD, or Eq. 5's momentum (v0 = ∇f(x0), ema, new velocity) = torch SGD with dampening β."""
    if momentum is None:
        factory = lambda ps: torch.optim.SGD(ps, lr=lr)  # noqa: E731
    else:
        factory = lambda ps: torch.optim.SGD(ps, lr=lr, momentum=momentum, dampening=momentum)  # noqa: E731
    return torch_run(FUNCTIONS["gelu"][0], [x0], factory, lambda s: {}, steps)


def test_course_gelu_gradient_descent_from_zero():
    answers = answers_of(COURSE)
    for problem, lr in (("1a-gd-gelu-eta0.1", 0.1), ("1b-gd-gelu-eta1", 1.0)):
        for t, row in enumerate(_gelu_run(0.0, lr, 3)):
            assert _close(answers[problem][f"x{t}"], row["x"][0])
            assert _close(answers[problem][f"f{t}"], row["f"])
    # GELU′(0) = σ(0) = 1/2, so the first step is exactly −η/2.
    assert answers["1a-gd-gelu-eta0.1"]["x1"] == pytest.approx(-0.05, abs=1e-15)
    assert answers["1b-gd-gelu-eta1"]["x1"] == pytest.approx(-0.5, abs=1e-15)


def test_course_gd_against_momentum_from_minus_three():
    answers = answers_of(COURSE)
    for problem, lr in (("1c-gd-vs-momentum-eta0.1", 0.1), ("1c-gd-vs-momentum-eta1", 1.0)):
        plain, heavy = _gelu_run(-3.0, lr, 3), _gelu_run(-3.0, lr, 3, momentum=0.9)
        for t in range(4):
            assert _close(answers[problem][f"run1.x{t}"], plain[t]["x"][0])
            assert _close(answers[problem][f"run2.x{t}"], heavy[t]["x"][0])
            assert _close(answers[problem][f"run2.f{t}"], heavy[t]["f"])


def test_conformance_optimize_problems_solve(shared_dir):
    result = solve_text((shared_dir / "conformance" / "optimize.yaml").read_text())
    assert [p.id for p in result.problems if p.error] == []
    assert all(p.answers for p in result.problems)


def test_spec_example_works_as_written():
    from typer.testing import CliRunner

    from solver.cli import build_app

    command = ["optimize", "--f", "x*sigmoid(1.702*x)", "--x0", "-3", "--lr", "0.1", "--steps", "3",
               "--method", "momentum", "--beta", "0.9", "--format", "json"]
    done = CliRunner().invoke(build_app("optimize"), command)
    assert done.exit_code == 0, done.output
    answers = json.loads(done.stdout)["problems"][0]["answers"]
    expected = _gelu_run(-3.0, 0.1, 3, momentum=0.9)
    assert _close(answers["x3"], expected[3]["x"][0])


# --- notes, rounding, bad input ----------------------------------------------------------------


def _notes(**given) -> str:
    solution = solve(OptimizeInput.model_validate(given), Context())
    return " ".join(step.text for step in solution.steps if step.formula is None and step.table is None)


def test_notes_name_oscillation_divergence_and_overflow():
    assert "oscillates" in _notes(f="x^2", x0=1, lr=0.9, steps=4)  # x flips sign, shrinking
    assert "diverges" in _notes(f="x^2", x0=1, lr=1.1, steps=6)  # x flips sign, growing
    assert "decreases at every step" in _notes(f="x^2", x0=1, lr=0.1, steps=3)
    overflow = solve(OptimizeInput.model_validate({"f": "exp(x^2)", "x0": 3, "lr": 1, "steps": 5}), Context())
    assert "overflow" in " ".join(s.text for s in overflow.steps)
    assert "f1" not in overflow.answers and "x1" in overflow.answers


def test_hand_rounding_uses_rounded_values_at_every_step():
    given = OptimizeInput.model_validate({"f": "gelu", "x0": -3, "lr": 1, "steps": 3, "method": "momentum"})
    answers = solve(given, Context(decimals=2, round_intermediate=True)).answers

    def grad(x):
        p = torch.tensor(x, dtype=torch.float64, requires_grad=True)
        (p * torch.sigmoid(1.702 * p)).backward()
        return round(p.grad.item(), 2)

    x, v = -3.0, grad(-3.0)
    for t in range(1, 4):
        v = round(0.9 * v + 0.1 * grad(x), 2)
        x = round(x - 1.0 * v, 2)
        assert answers[f"x{t}"] == pytest.approx(x, abs=1e-12) and answers[f"v{t}"] == pytest.approx(v, abs=1e-12)


@pytest.mark.parametrize("given, field", [
    ({"f": "x^2", "x0": 1, "lr": 0.1, "method": "lion"}, "method"),
    ({"f": "x^2", "x0": 1, "lr": -0.1}, "lr"),
    ({"f": "x^2", "x0": 1, "lr": 0.1, "beta": 1.5}, "beta"),
    ({"f": "x^2", "x0": 1, "lr": 0.1, "steps": 0}, "steps"),
    ({"f": "x^2", "x0": [1, 2], "lr": 0.1}, "x0"),
    ({"f": "__import__('os')", "x0": 1, "lr": 0.1}, "f"),
    ({"f": "3", "x0": 1, "lr": 0.1}, "f"),
    ({"f": "x^2", "x0": 1}, "lr"),
    ({"f": "x^2", "x0": 1, "lr": 0.1, "runs": []}, "runs"),
    ({"f": "x^2", "x0": 1, "lr": 0.1, "momentum_form": "nesterov"}, "momentum_form"),
    ({"f": "x^2", "x0": 1, "lr": 0.1, "runs": [{"method": "gd", "lrate": 1}]}, "runs.0.lrate"),
])
def test_bad_input_names_the_field(given, field):
    problem = {"problems": [{"id": "bad", "kind": "optimize", "given": given}]}
    result = solve_text(json.dumps(problem))
    error = result.problems[0].error
    assert isinstance(error, BadInput), error
    assert error.field == field, (error.field, error.message)


# --- figure and rendering ----------------------------------------------------------------------


def test_neither_solving_nor_the_figure_imports_matplotlib(tmp_path):
    code = ("import sys\nfrom solver.kinds.optimize.optimize import OptimizeInput, solve\n"
            "from solver.context import Context\n"
            "s = solve(OptimizeInput.model_validate({'f': 'gelu', 'x0': -3, 'lr': 1, 'steps': 3}), Context())\n"
            "print('MPL', 'matplotlib' in sys.modules)\n"
            f"s.figures[0].draw(__import__('pathlib').Path({str(tmp_path / 'f.svg')!r}))\n"
            "print('MPL', 'matplotlib' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.split() == ["MPL", "False", "MPL", "False"], done.stdout + done.stderr
    assert (tmp_path / "f.svg").read_text().startswith("<svg xmlns=\"http://www.w3.org/2000/svg\"")


EXAMPLE = """
problems:
  - id: bowl
    kind: optimize
    title: Two momentum steps on a parabola
    given: {f: "x^2", x0: 1, lr: 0.25, steps: 2, method: momentum, beta: 0.5}
"""

# Checked by hand: g0 = 2, v1 = 0.5·2 + 0.5·2 = 2, x1 = 1 − 0.25·2 = 0.5, g1 = 1, v2 = 1.5, x2 = 0.125.
EXPECTED_TEXT = (
    'bowl — Two momentum steps on a parabola  (optimize)\n'
    '  Given: f = x^2, x0 = 1, lr = 0.25, steps = 2, method = momentum, beta = 0.5\n'
    '  Convention: momentum_form ema: v_t = βv_(t−1) + (1 − β) f′(x_(t−1)); v0: gradient (v_0 = f′(x_0));\n'
    'x_t = x_(t−1) − η v_t, with the new velocity v_t; η = 0.25, β = 0.5\n'
    '  1. The function to minimize.\n'
    '     f(x) = x^2\n'
    '  2. Its derivative, derived symbolically.\n'
    '     f′(x) = 2·x\n'
    '  3. t = 1: New velocity.\n'
    '     v_1 = β·v_0 + (1 − β)·f′(x_0) = 0.5·2 + (1 − 0.5)·2 = 2\n'
    '  4. t = 1: Step with the new velocity.\n'
    '     x_1 = x_0 − η·v_1 = 1 − 0.25·2 = 0.5\n'
    '  5. t = 2: New velocity.\n'
    '     v_2 = β·v_1 + (1 − β)·f′(x_1) = 0.5·2 + (1 − 0.5)·1 = 1.5\n'
    '  6. t = 2: Step with the new velocity.\n'
    '     x_2 = x_1 − η·v_2 = 0.5 − 0.25·1.5 = 0.125\n'
    '  7. The run step by step.\n'
    '     ┏━━┳━━━━━━━┳━━━━━━━━┳━━━━━━━━━┳━━━━┓                                                           \n'
    '     ┃t ┃   x_t ┃ f(x_t) ┃ f′(x_t) ┃ v_t┃                                                           \n'
    '     ┡━━╇━━━━━━━╇━━━━━━━━╇━━━━━━━━━╇━━━━┩                                                           \n'
    '     │0 │     1 │      1 │       2 │   2│                                                           \n'
    '     │1 │   0.5 │   0.25 │       1 │   2│                                                           \n'
    '     │2 │ 0.125 │ 0.0156 │    0.25 │ 1.5│                                                           \n'
    '     └──┴───────┴────────┴─────────┴────┘                                                           \n'
    '  8. f decreases at every step.\n'
    '  9. The trajectories over the function.\n'
    '     [figure: optimization trajectories over f; written with --format md -o]\n'
    '  Answer x0 = 1\n'
    '  Answer f0 = 1\n'
    '  Answer grad0 = 2\n'
    '  Answer v0 = 2\n'
    '  Answer x1 = 0.5\n'
    '  Answer f1 = 0.25\n'
    '  Answer grad1 = 1\n'
    '  Answer v1 = 2\n'
    '  Answer x2 = 0.125\n'
    '  Answer f2 = 0.0156\n'
    '  Answer grad2 = 0.25\n'
    '  Answer v2 = 1.5\n'
    '\n'
)


def test_rendered_example_exactly():
    assert render_text(solve_text(EXAMPLE)) == EXPECTED_TEXT
