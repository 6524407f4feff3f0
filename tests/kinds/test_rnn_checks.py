"""The `rnn` kind's own checks: the worked states against the cells' equations evaluated
directly (solver/nn/recurrent.py), and the finite-difference check of the gradients, whose loss
now comes from those equations rather than from the worked steps. J is compared with PyTorch's
on the random cases of the autograd tests; each check is shown to fail when it should."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from solver.context import Context  # noqa: E402
from solver.kinds.rnn import _rnn_common as common  # noqa: E402
from solver.kinds.rnn import rnn  # noqa: E402
from solver.kinds.rnn.rnn import RnnInput, build_setup, solve  # noqa: E402

from test_rnn_torch import gated_cell_case, gated_gradient_case, rnn_cell_case, simple_case  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")

FORWARD = "equations evaluated directly"
GRADIENT = "finite differences of J"


def solution(given: dict, ctx: Context | None = None):
    return solve(RnnInput.model_validate(given), ctx or Context())


def check(sol, words: str):
    found = [c for c in sol.checks if words in c.description]
    assert len(found) == 1, sol.checks
    return found[0]


@pytest.mark.parametrize("cell", ["elman", "jordan"])
def test_loss_value_equals_torch_for_simple_cells(cell):
    """loss_value (the function the finite-difference check differentiates) is J of PyTorch."""
    for seed in range(60):
        given, loss, _ = simple_case(cell, seed)
        assert rnn.loss_value(build_setup(RnnInput.model_validate(given))) == pytest.approx(
            loss, rel=1e-12, abs=1e-13), seed


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_loss_value_equals_torch_for_gated_cells(kind):
    for seed in range(60):
        given, loss, _ = gated_gradient_case(kind, seed)
        assert rnn.loss_value(build_setup(RnnInput.model_validate(given))) == pytest.approx(
            loss, rel=1e-12, abs=1e-13), seed


def test_loss_value_does_not_run_the_worked_steps(monkeypatch):
    given, loss, _ = gated_gradient_case("gru", 4)
    setup = build_setup(RnnInput.model_validate(given))

    def refuse(*args, **kwargs):
        raise AssertionError("the worked steps ran")

    monkeypatch.setattr(common.Worksheet, "step", refuse)
    assert rnn.loss_value(setup) == pytest.approx(loss, rel=1e-12)


@pytest.mark.parametrize("block", range(2))
def test_both_checks_pass_on_random_problems(block):
    """120 random problems with a loss (every cell): both checks are reported and pass."""
    for seed in range(block * 15, block * 15 + 15):
        for given in (simple_case("elman", seed)[0], simple_case("jordan", seed)[0],
                      gated_gradient_case("lstm", seed)[0], gated_gradient_case("gru", seed)[0]):
            sol = solution(given)
            forward, gradient = check(sol, FORWARD), check(sol, GRADIENT)
            assert forward.passed and forward.error < 1e-12, (seed, given["cell"], forward)
            assert gradient.passed, (seed, given["cell"], gradient)
            assert [c.description for c in sol.checks].index(forward.description) == 0


def test_forward_check_names_the_states_and_counts_them():
    given, _ = gated_cell_case("lstm", 3)
    sol = solution(given)
    forward = check(sol, FORWARD)
    steps, hidden = len(given["inputs"]), len(given["gates"]["i"]["b"])
    assert forward.description.startswith("the worked states h(t), c(t) equal the lstm cell's")
    assert forward.detail == f"all {2 * steps * hidden} values agree to 1e-9 relative"
    assert [c.description for c in sol.checks] == [forward.description]  # no loss: no gradient check
    given, _ = rnn_cell_case(5)
    assert "states h(t) equal the elman cell's" in check(solution(given), FORWARD).description


def test_forward_check_fails_when_a_state_differs(monkeypatch):
    original = rnn.numeric_states

    def nudged(setup, reverse=False):
        states = original(setup, reverse)
        states["h"][-1] = states["h"][-1] + 1e-6
        return states

    monkeypatch.setattr(rnn, "numeric_states", nudged)
    given, _ = gated_cell_case("gru", 2)
    forward = check(solution(given), FORWARD)
    assert not forward.passed and forward.error == pytest.approx(1e-6, rel=1e-3)


def test_gradient_check_fails_when_the_loss_is_not_the_one_differentiated(monkeypatch):
    original = rnn.loss_value
    monkeypatch.setattr(rnn, "loss_value", lambda setup, ctx=None: 1.01 * original(setup, ctx))
    given, _, _ = simple_case("elman", 3)
    sol = solution(given)
    assert not check(sol, GRADIENT).passed and check(sol, FORWARD).passed


def test_no_state_check_when_the_steps_are_rounded():
    given, _, _ = simple_case("jordan", 1)
    sol = solution(given, Context(round_intermediate=True))
    assert not [c for c in sol.checks if FORWARD in c.description]
    stacked = {"cell": "elman", "bidirectional": True, "U": [[0.5]], "W": [[0.1]],
               "backward": {"U": [[0.2]], "W": [[0.3]]}, "inputs": [1, 2]}
    assert not solution(stacked, Context(round_intermediate=True)).checks
    assert check(solution(stacked), FORWARD).passed


@pytest.mark.parametrize("cell", ["elman", "lstm", "gru"])
def test_stacked_and_bidirectional_layers_are_checked(cell, monkeypatch):
    """One check covers every layer and direction; the backward runs are compared in reverse."""
    rng = np.random.default_rng(len(cell))

    def weights(d):
        if cell == "elman":
            return {"U": rng.normal(size=(d, 2)).tolist(), "W": rng.normal(size=(2, 2)).tolist(), "b": 0.1}
        names = "ifgo" if cell == "lstm" else "rzn"
        return {"gates": {q: {"U": rng.normal(size=(d, 2)).tolist(), "W": rng.normal(size=(2, 2)).tolist(),
                              "b": rng.normal(size=2).tolist()} for q in names}}

    stack = [dict(weights(3), backward=weights(3)), dict(weights(4), backward=weights(4))]
    given = {"cell": cell, "bidirectional": True, "stack": stack, "inputs": rng.normal(size=(4, 3)).tolist()}
    forward = check(solution(given), FORWARD)
    states = 2 if cell == "lstm" else 1
    assert forward.passed and forward.detail == f"all {2 * 2 * 4 * 2 * states} values agree to 1e-9 relative"
    assert "of every layer and direction" in forward.description
    original = rnn.numeric_states
    calls = []

    def nudged_backward(setup, reverse=False):
        calls.append(reverse)
        states = original(setup, reverse)
        if reverse:
            states["h"][0] = states["h"][0] + 1e-3
        return states

    monkeypatch.setattr(rnn, "numeric_states", nudged_backward)
    assert not check(solution(given), FORWARD).passed
    assert calls == [False, True, False, True]
