"""Gradient checks: every layer passes, a wrong backward is caught, and the command says so."""

from __future__ import annotations

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from solver.nn import gradcheck
from solver.nn.gradcheck import GradResult, check_layer, check_layers
from solver.nn.linear import Linear
from solver.train.commands import register

EXPECTED_LAYERS = {"linear", "relu", "sigmoid", "tanh", "softmax-cross-entropy", "conv2d",
                   "maxpool2d", "maxpool2d-overlap", "avgpool2d", "flatten", "lstm-cell", "lstm"}


@pytest.fixture(scope="module")
def all_results():
    return check_layers()


@pytest.fixture
def cli():
    app = typer.Typer()
    register(app)
    return lambda *args: CliRunner().invoke(app, list(args))


def test_every_layer_and_parameter_is_checked(all_results):
    assert {r.layer for r in all_results} == EXPECTED_LAYERS
    checked = {(r.layer, r.name) for r in all_results}
    assert {("conv2d", "W"), ("conv2d", "b"), ("conv2d", "input"), ("lstm", "Wh"),
            ("lstm", "h0"), ("lstm-cell", "c"), ("linear", "b")} <= checked


def test_every_gradient_is_below_the_tolerance(all_results):
    failures = [(r.layer, r.name, r.error) for r in all_results if not r.passed]
    assert failures == []
    assert gradcheck.TOLERANCE == 1e-7


def test_a_wrong_backward_is_caught():
    class SloppyLinear(Linear):
        def backward(self, grad_out):
            grad_in = super().backward(grad_out)
            self.grads["b"] *= 1.01  # a 1 % mistake
            return grad_in

    rng = np.random.default_rng(0)
    layer = SloppyLinear(4, 3, rng=rng, dtype=np.float64)
    results = {r.name: r for r in check_layer("sloppy", layer, rng.standard_normal((5, 4)), rng)}
    assert results["W"].passed and results["input"].passed
    assert not results["b"].passed and results["b"].error > 1e-3


def test_relative_error_is_a_norm_ratio():
    assert gradcheck.relative_error(np.array([1.0, 0.0]), np.array([1.0, 0.0])) == 0.0
    assert gradcheck.relative_error(np.array([3.0]), np.array([1.0])) == pytest.approx(0.5)
    assert gradcheck.relative_error(np.zeros(3), np.zeros(3)) == 0.0


def test_unknown_layer():
    with pytest.raises(gradcheck.UnknownLayerError, match="conv2d"):
        check_layers("conv3d")


def test_command_prints_a_table_and_exits_0(cli):
    result = cli("gradcheck", "conv2d")
    assert result.exit_code == 0
    lines = [line for line in result.output.splitlines() if "conv2d" in line]
    assert len(lines) == 3 and all(line.count("ok") == 1 for line in lines)


def test_command_exits_1_when_a_gradient_fails(cli, monkeypatch):
    monkeypatch.setattr(gradcheck, "check_layers", lambda layer=None: [
        GradResult("linear", "W", 1e-11), GradResult("linear", "b", 3e-4)])
    result = cli("gradcheck")
    assert result.exit_code == 1
    assert "FAIL" in result.output and "3.00e-04" in result.output


def test_command_with_an_unknown_layer_exits_2(cli):
    result = cli("gradcheck", "conv3d")
    assert result.exit_code == 2
    assert "no gradient check for 'conv3d'" in result.output
