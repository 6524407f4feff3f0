"""conv-design against PyTorch: found paddings and strides give the wanted size; average
pooling equals the convolution it is expressed as."""

from __future__ import annotations

import random

import pytest

from solver.rules import is_rule

torch = pytest.importorskip("torch")
F = torch.nn.functional

from solver.context import Context  # noqa: E402
from solver.kinds.conv.conv_design import ConvDesignInput, solve  # noqa: E402


def design(**given):
    return solve(ConvDesignInput.model_validate(given), Context()).answers


def torch_length(size, kernel, stride, padding, dilation=1):
    x = torch.empty(1, 1, size, device="meta")
    return F.conv1d(x, torch.empty(1, 1, kernel, device="meta"), stride=stride, padding=padding,
                    dilation=dilation).shape[-1]


def test_found_padding_gives_wanted_size():
    rng = random.Random(11)
    for _ in range(200):
        size, kernel, stride = rng.randint(4, 40), rng.randint(1, 7), rng.randint(1, 3)
        wanted = rng.randint(1, size)
        answer = design(input=size, kernel=kernel, stride=stride, output=wanted)["padding"]
        brute = [p for p in range(0, 60) if size + 2 * p >= kernel and torch_length(size, kernel, stride, p) == wanted]
        if isinstance(answer, str):
            assert brute == [], (size, kernel, stride, wanted)
        else:
            assert (answer if isinstance(answer, list) else [answer]) == brute


def test_same_at_stride_one():
    for kernel in (1, 3, 5, 7):
        assert design(input=32, kernel=kernel, stride=1, output="same")["padding"] == (kernel - 1) // 2


def test_found_stride_gives_wanted_size():
    rng = random.Random(5)
    for _ in range(150):
        size, kernel, padding = rng.randint(4, 40), rng.randint(1, 5), rng.randint(0, 2)
        wanted = rng.randint(1, size)
        answer = design(input=size, kernel=kernel, padding=padding, output=wanted)["stride"]
        if isinstance(answer, str):
            assert all(torch_length(size, kernel, s, padding) != wanted for s in range(1, size + 2 * padding + 2))
            continue
        if is_rule(answer):  # one output: every stride beyond the room works
            assert wanted == 1 and answer["max"] is None
            answer = answer["listed"] + [10 * answer["min"] + 1]
            assert torch_length(size, kernel, answer[0] - 1, padding) != wanted
        for stride in answer if isinstance(answer, list) else [answer]:
            assert torch_length(size, kernel, stride, padding) == wanted


def test_average_pooling_is_the_convolution():
    answers = design(pool="avg", pool_kernel=3, pool_stride=2, pool_padding=1, input=9)
    x = torch.randn(1, 1, 9, 9, dtype=torch.float64)
    weight = torch.tensor(answers["kernel_values"], dtype=torch.float64).reshape(1, 1, 3, 3)
    conv = F.conv2d(x, weight, stride=answers["pool_stride"], padding=answers["pool_padding"])
    pooled = F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=True)
    assert torch.allclose(conv, pooled)
    assert answers["output"] == pooled.shape[-1]


def test_both_given_reports_possible():
    answers = design(input=32, kernel=4, stride=2, padding=1, output=16)
    assert answers["output"] == torch_length(32, 4, 2, 1) == 16
    assert answers["possible"] is True
    assert design(input=32, kernel=3, stride=2, padding=1, output=16)["possible"] is False  # 31 not even
