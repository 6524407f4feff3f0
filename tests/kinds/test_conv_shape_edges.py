"""conv-shape's pooling edges against PyTorch, where dlsolve once disagreed: padding beyond half
the window (PyTorch refuses it, forward and in the inverse search), and ceil mode with a window
wider than the padded input (PyTorch gives an output as long as it has at least one window)."""

from __future__ import annotations

import random

import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

from helpers import solve_text  # noqa: E402


def torch_pool_length(size, kernel, stride, padding, dilation, ceil_mode, pool):
    """PyTorch's output length, or None where it refuses the configuration."""
    x = torch.zeros((1, 1, size))
    try:
        if pool == "max":
            out = F.max_pool1d(x, kernel, stride=stride, padding=padding, dilation=dilation, ceil_mode=ceil_mode)
        else:
            out = F.avg_pool1d(x, kernel, stride=stride, padding=padding, ceil_mode=ceil_mode)
    except RuntimeError:
        return None
    return out.shape[-1] if out.shape[-1] > 0 else None


def _solve_many(problems: list[str]):
    text = "problems:\n" + "".join(problems)
    return solve_text(text).problems


def test_pooling_edges_match_pytorch_on_random_configurations():
    torch.set_num_threads(1)
    rng = random.Random(20261206)
    cases, problems = [], []
    for index in range(2000):
        pool = rng.choice(["max", "avg"])
        kernel = rng.randint(1, 6)
        dilation = rng.randint(1, 3) if pool == "max" else 1
        stride = rng.randint(1, 5)
        padding = rng.randint(0, kernel + 1)  # also beyond half the window
        ceil_mode = rng.random() < 0.5
        size = rng.randint(1, 14)
        cases.append((size, kernel, stride, padding, dilation, ceil_mode, pool))
        problems.append(f"  - {{id: c{index}, kind: conv-shape, given: {{input: {size}, kernel: {kernel}, "
                        f"stride: {stride}, padding: {padding}, dilation: {dilation}, op: pool, "
                        f"ceil_mode: {str(ceil_mode).lower()}}}}}\n")
    refused = ceil_wide = 0
    for case, result in zip(cases, _solve_many(problems)):
        expected = torch_pool_length(*case)
        if expected is None:
            refused += 1
            assert result.error is not None and result.error.exit_code == 2, (case, result.answers)
        else:
            assert result.error is None, (case, str(result.error))
            assert result.answers["output"] == [expected], case
            size, kernel, stride, padding, dilation, ceil_mode, _ = case
            ceil_wide += ceil_mode and dilation * (kernel - 1) + 1 > size + 2 * padding
    assert refused > 200 and ceil_wide > 10  # both edges were exercised


def test_inverse_padding_lists_only_what_pytorch_accepts():
    torch.set_num_threads(1)
    rng = random.Random(7)
    cases, problems = [], []
    while len(cases) < 300:
        kernel, stride, size = rng.randint(1, 6), rng.randint(1, 5), rng.randint(1, 30)
        ceil_mode = rng.random() < 0.3
        outputs = {p: torch_pool_length(size, kernel, stride, p, 1, ceil_mode, "max") for p in range(0, kernel + 3)}
        valid = [out for out in outputs.values() if out is not None]
        if not valid:
            continue
        wanted = rng.choice(valid)
        cases.append((sorted(p for p, out in outputs.items() if out == wanted), wanted))
        problems.append(f"  - {{id: i{len(cases)}, kind: conv-shape, given: {{input: {size}, kernel: {kernel}, "
                        f"stride: {stride}, padding: '?', output: {wanted}, op: pool, "
                        f"ceil_mode: {str(ceil_mode).lower()}}}}}\n")
    for (accepted, wanted), result in zip(cases, _solve_many(problems)):
        assert result.error is None, str(result.error)
        found = result.answers["padding"]
        assert (found if isinstance(found, list) else [found]) == accepted, (accepted, wanted, found)


def test_course_examples_of_the_edges():
    results = _solve_many([
        "  - {id: a, kind: conv-shape, given: {input: 10, kernel: 2, stride: 2, padding: 2, op: pool}}\n",
        "  - {id: b, kind: conv-shape, given: {input: 21, kernel: 4, stride: 4, padding: '?', output: 6, op: pool}}\n",
        "  - {id: c, kind: conv-shape, given: {input: 3, kernel: 4, stride: 4, op: pool, ceil_mode: true}}\n",
    ])
    assert results[0].error is not None and "at most half" in results[0].error.message
    assert results[1].answers["padding"] == 2
    assert results[2].answers["output"] == [1]
