"""Kind `loss` against PyTorch: every loss value and ∂loss/∂scores (autograd) on hundreds of random
mini-batches and single samples, with temperature, label smoothing and both reductions; the
cross-entropy course value; the log-sum-exp step for large scores; bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from solver.context import Context
from solver.errors import BadInput
from solver.kinds.layer.loss import LossInput, solve

pytestmark = pytest.mark.usefixtures("one_torch_thread")

CASES = 60


def run(given: dict):
    return solve(LossInput.model_validate(given), Context())


def t(a, grad=False):
    return torch.tensor(np.asarray(a, dtype=float), dtype=torch.float64, requires_grad=grad)


def close(actual, expected, what):
    expected = expected.detach().numpy() if isinstance(expected, torch.Tensor) else np.asarray(expected)
    actual = np.asarray(actual, dtype=float)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    np.testing.assert_allclose(actual, expected, rtol=1e-8, atol=1e-11, err_msg=what)


def compare(given: dict, loss_function, scores: np.ndarray, probs=None):
    """The kind's loss and dscores against autograd of loss_function(scores tensor)."""
    got = run(given).answers
    s = t(scores, grad=True)
    loss = loss_function(s)
    loss.backward()
    close(got["loss"], loss, f"loss {given}")
    close(got["dscores"], s.grad, f"dscores {given}")
    if probs is not None:
        close(got["probs"], probs(t(scores)), f"probs {given}")
    return got


def random_batch(rng):
    n, classes = int(rng.integers(1, 5)), int(rng.integers(2, 6))
    single = rng.random() < 0.3
    scores = np.round(rng.normal(scale=2, size=(classes,) if single else (n, classes)), 3)
    labels = rng.integers(0, classes, size=() if single else (n,))
    return scores, labels, classes, single


def soft_target(rng, shape):
    raw = rng.random(shape) * (rng.random(shape) < 0.8)
    raw[..., 0] += 0.1
    return raw / raw.sum(axis=-1, keepdims=True)


def test_cross_entropy_against_pytorch():
    rng = np.random.default_rng(1)
    for _ in range(CASES * 3):
        scores, labels, classes, single = random_batch(rng)
        temperature = float(rng.choice([1, 1, 0.5, 2, 4]))
        smoothing = float(rng.choice([0, 0, 0.1, 0.3]))
        reduction = str(rng.choice(["mean", "sum"]))
        soft = rng.random() < 0.35
        target = soft_target(rng, scores.shape) if soft else labels
        given = {"type": "ce", "scores": scores.tolist(), "target": target.tolist(), "temperature": temperature,
                 "label_smoothing": smoothing, "reduction": reduction}
        batch = (lambda a: a[None]) if single else (lambda a: a)
        torch_target = t(batch(target)) if soft else torch.tensor(np.atleast_1d(labels), dtype=torch.long)
        compare(given, lambda s: F.cross_entropy(batch(s) / temperature, torch_target, label_smoothing=smoothing,
                                                 reduction=reduction), scores,
                probs=lambda s: F.softmax(s / temperature, dim=-1))


def test_nll_against_pytorch():
    rng = np.random.default_rng(2)
    for _ in range(CASES):
        scores, labels, _, single = random_batch(rng)
        log_probs = F.log_softmax(t(scores), dim=-1).numpy()
        temperature = float(rng.choice([1, 2]))
        reduction = str(rng.choice(["mean", "sum"]))
        given = {"type": "nll", "scores": log_probs.tolist(), "target": labels.tolist(), "temperature": temperature,
                 "reduction": reduction}
        batch = (lambda a: a[None]) if single else (lambda a: a)
        compare(given, lambda s: F.nll_loss(batch(s) / temperature, torch.tensor(np.atleast_1d(labels)),
                                            reduction=reduction), log_probs,
                probs=lambda s: torch.exp(s / temperature))


@pytest.mark.parametrize("kind", ["bce", "bce-logits", "mse"])
def test_elementwise_losses_against_pytorch(kind):
    rng = np.random.default_rng(len(kind))
    for _ in range(CASES):
        shape = tuple(int(s) for s in rng.integers(1, 4, size=int(rng.integers(0, 3))))
        scores = np.round(rng.normal(scale=2, size=shape), 3)
        if kind == "bce":
            scores = np.round(rng.uniform(0.01, 0.99, size=shape), 3)
        target = (rng.random(shape) < 0.5).astype(float) if rng.random() < 0.6 else np.round(rng.random(shape), 2)
        reduction = str(rng.choice(["mean", "sum"]))
        function = {"bce": F.binary_cross_entropy, "bce-logits": F.binary_cross_entropy_with_logits,
                    "mse": F.mse_loss}[kind]
        given = {"type": kind, "scores": scores.tolist(), "target": target.tolist(), "reduction": reduction}
        got = compare(given, lambda s: function(s, t(target), reduction=reduction), scores)
        assert "probs" not in got


def test_hinge_is_cs231n_multiclass_svm():
    rng = np.random.default_rng(4)
    for _ in range(CASES * 2):
        scores, labels, classes, single = random_batch(rng)
        if rng.random() < 0.4:
            scores = rng.integers(-2, 3, size=scores.shape).astype(float)  # margins of exactly 0
        margin = float(rng.choice([1, 1, 0.5, 2]))
        reduction = str(rng.choice(["mean", "sum"]))
        one_hot = rng.random() < 0.3
        target = np.eye(classes)[labels] if one_hot else labels
        given = {"type": "hinge", "scores": scores.tolist(), "target": target.tolist(), "margin": margin,
                 "reduction": reduction}
        batch = (lambda a: a[None]) if single else (lambda a: a)
        # PyTorch's MultiMarginLoss divides each sample's sum by C; CS231n's loss does not.
        compare(given, lambda s: F.multi_margin_loss(batch(s), torch.tensor(np.atleast_1d(labels)), margin=margin,
                                                     reduction=reduction) * classes, scores)


def test_kl_divergence_against_pytorch_batchmean():
    rng = np.random.default_rng(5)
    for _ in range(CASES):
        scores, _, _, single = random_batch(rng)
        target = soft_target(rng, scores.shape)
        reduction = str(rng.choice(["mean", "sum"]))
        given = {"type": "kl", "scores": scores.tolist(), "target": target.tolist(), "reduction": reduction}
        batch = (lambda a: a[None]) if single else (lambda a: a)
        compare(given, lambda s: F.kl_div(F.log_softmax(batch(s), dim=-1), t(batch(target)),
                                          reduction="batchmean" if reduction == "mean" else "sum"), scores)


def test_course_cross_entropy_of_logits_2_1_01():
    got = run({"type": "ce", "scores": [2, 1, 0.1], "target": 0}).answers
    assert round(got["loss"], 5) == 0.41703
    np.testing.assert_allclose(got["probs"], [0.6590012, 0.2424329, 0.0985659], rtol=1e-6)


def test_large_scores_show_the_log_sum_exp_trick_and_stay_finite():
    sol = run({"type": "ce", "scores": [[1000, 999, -1000]], "target": [1]})
    assert any("log-sum-exp trick" in step.text for step in sol.steps)
    np.testing.assert_allclose(sol.answers["loss"], 1 + np.log1p(np.exp(-1)), rtol=1e-12)
    small = run({"type": "ce", "scores": [1, 2], "target": [1]})
    assert not any("log-sum-exp trick" in step.text for step in small.steps)


@pytest.mark.parametrize("given, field", [
    ({"type": "ce", "scores": [[1, 2]], "target": [0, 1]}, "target"),
    ({"type": "ce", "scores": [[1, 2]], "target": [2]}, "target"),
    ({"type": "ce", "scores": [[1, 2]], "target": [[1, 0, 0]]}, "target"),
    ({"type": "kl", "scores": [[1, 2]], "target": [1]}, "target"),
    ({"type": "mse", "scores": [1, 2], "target": [1]}, "target"),
    ({"type": "bce", "scores": [1.5], "target": [1]}, "scores"),
    ({"type": "mse", "scores": [1], "target": [1], "temperature": 2}, "temperature"),
    ({"type": "hinge", "scores": [[1, 2]], "target": [[0.5, 0.5]]}, "target"),
    ({"type": "ce", "scores": [[[1, 2]]], "target": [0]}, "scores"),
])
def test_bad_input_names_the_field(given, field):
    with pytest.raises(BadInput) as error:
        run(given)
    assert error.value.field == field, error.value.message


def test_the_kind_command_and_the_worked_key():
    import json
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "solver.cli", "loss", "--type", "ce", "--scores", "[2, 1, 0.1]",
                             "--target", "0", "--format", "json"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert round(json.loads(result.stdout)["problems"][0]["answers"]["loss"], 5) == 0.41703
    from helpers import render_text, solve_text

    text = render_text(solve_text("problems:\n  - {id: q, kind: loss, given: {type: ce, scores: [2, 1, 0.1], "
                                  "target: 0}}\n"))
    assert "LSE = 2 + ln(exp(2 − 2) + exp(1 − 2) + exp(0.1 − 2)) = 2.4170" in text
    assert "ℓ = 2.4170 − 2 = 0.4170" in text
    bad = subprocess.run([sys.executable, "-m", "solver.cli", "loss", "--type", "ce", "--scores", "[2, 1]",
                          "--target", "5"], capture_output=True, text=True, timeout=120)
    message = bad.stdout + bad.stderr  # the message names the field, wherever the command writes it
    assert bad.returncode == 2 and "field target" in message and "Traceback" not in message
