"""The catalogue's mistaken values against PyTorch doing the mistaken computation itself:
padding on one side only, no padding, no dilation; SGD going uphill (maximize=True); the other
momentum form (by hand: no tool has classic momentum starting from the gradient)."""

from __future__ import annotations

import random

import pytest
from judge_support import solved

torch = pytest.importorskip("torch")
torch.set_num_threads(1)
F = torch.nn.functional

from solver.judge.diagnose import _mistaken_answers  # noqa: E402
from solver.judge.mistakes import for_kind  # noqa: E402


def _mistake(kind, mistake_id):
    return next(m for m in for_kind(kind) if m.id == mistake_id)


def _torch_shape(size, kernel, stride, padding, dilation, one_side=False):
    x = torch.zeros(1, 1, size, size)
    if one_side:
        x, padding = F.pad(x, (padding, 0, padding, 0)), 0
    out = F.conv2d(x, torch.zeros(2, 1, kernel, kernel), stride=stride, padding=padding, dilation=dilation)
    return list(out.shape[1:])


def test_conv_shape_slips_against_torch():
    rng = random.Random(11)
    checked = 0
    while checked < 150:
        size, kernel, stride = rng.randint(6, 40), rng.randint(1, 5), rng.randint(1, 3)
        padding, dilation = rng.randint(1, 3), rng.randint(1, 3)
        if dilation * (kernel - 1) + 1 > size:
            continue
        result = solved("conv-shape", {"input": f"1x{size}x{size}", "kernel": kernel, "stride": stride,
                                       "padding": padding, "dilation": dilation, "filters": 2})
        expected = {
            "padding-once": _torch_shape(size, kernel, stride, padding, dilation, one_side=True),
            "padding-ignored": _torch_shape(size, kernel, stride, 0, dilation),
            "dilation-ignored": _torch_shape(size, kernel, stride, padding, 1),
        }
        right = _torch_shape(size, kernel, stride, padding, dilation)
        expected["missing-plus-one"] = [2, right[1] - 1, right[2] - 1]
        for mistake_id, shape in expected.items():
            answers, _ = _mistaken_answers(_mistake("conv-shape", mistake_id), result)
            assert answers["output"] == shape, (mistake_id, size, kernel, stride, padding, dilation)
        checked += 1


@pytest.mark.parametrize("method", ["gd", "momentum"])
def test_optimize_slips_against_torch(method):
    rng = random.Random(5)
    for _ in range(40):
        x0, lr, beta, steps = rng.uniform(-2, 2), rng.uniform(0.01, 0.2), rng.uniform(0.5, 0.95), rng.randint(1, 4)
        given = {"f": "x**4/4 - x**2 + x", "x0": x0, "lr": lr, "steps": steps, "method": method, "beta": beta}
        result = solved("optimize", given)

        def torch_run(**options):
            x = torch.tensor([x0], dtype=torch.float64, requires_grad=True)
            opt = torch.optim.SGD([x], lr=lr, **options)
            for _ in range(steps):
                opt.zero_grad()
                (x ** 4 / 4 - x ** 2 + x).sum().backward()
                opt.step()
            return float(x.detach())

        momentum = {"momentum": beta} if method == "momentum" else {}
        uphill, _ = _mistaken_answers(_mistake("optimize", "gradient-sign"), result)
        dampening = {"dampening": beta} if method == "momentum" else {}  # ema form, right
        assert uphill[f"x{steps}"] == pytest.approx(torch_run(maximize=True, **momentum, **dampening), rel=1e-9)
        if method == "momentum":  # classic v ← βv + g with the same first velocity v0 = f′(x0)
            other, _ = _mistaken_answers(_mistake("optimize", "momentum-other-form"), result)
            x = x0
            velocity = x ** 3 - 2 * x + 1
            for _ in range(steps):
                velocity = beta * velocity + (x ** 3 - 2 * x + 1)
                x -= lr * velocity
            assert other[f"x{steps}"] == pytest.approx(x, rel=1e-9)


class _OneSide(torch.nn.Module):
    """Padding added on the top and left only: the padding-once slip, in PyTorch."""

    def __init__(self, padding):
        super().__init__()
        self.padding = padding

    def forward(self, x):
        return F.pad(x, (self.padding, 0, self.padding, 0))


def test_network_padding_once_against_torch():
    rng = random.Random(3)
    for _ in range(12):
        size, c1, c2 = rng.randint(12, 30), rng.randint(1, 8), rng.randint(1, 8)
        k1, k2, p1, p2, s2 = rng.randint(1, 5), rng.randint(1, 3), rng.randint(1, 3), rng.randint(1, 2), rng.randint(1, 2)
        layers = f"conv {c1} {k1} padding={p1} | maxpool 2 | conv {c2} {k2} stride={s2} padding={p2} | fc 10"
        result = solved("network", {"input": f"3x{size}x{size}", "layers": layers})
        if result.error is not None:
            continue
        model = torch.nn.Sequential(_OneSide(p1), torch.nn.Conv2d(3, c1, k1), torch.nn.MaxPool2d(2), _OneSide(p2),
                                    torch.nn.Conv2d(c1, c2, k2, stride=s2), torch.nn.Flatten(), torch.nn.LazyLinear(10))
        x = torch.zeros(1, 3, size, size)
        shapes = []
        for layer in model:
            x = layer(x)
            if isinstance(layer, (torch.nn.Conv2d, torch.nn.MaxPool2d)):
                shapes.append(list(x.shape[1:]))
        answers, _ = _mistaken_answers(_mistake("network", "padding-once"), result)
        assert [row["output"] for row in answers["layers"][:3]] == shapes
        assert answers["totals"]["params"] == sum(p.numel() for p in model.parameters())
