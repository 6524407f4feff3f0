"""`derive --template conv1d` with sizes beyond the check instance's (L > 12): the output length and
the shapes are those of the written sizes (PyTorch's conv1d as the oracle), and the numerical
checks run on the smaller stand-in without failing."""

from __future__ import annotations

import random

import torch

from helpers import solve_text

torch.set_num_threads(1)


def conv1d_length(channels: int, length: int, width: int, stride: int) -> int:
    out = torch.nn.functional.conv1d(torch.zeros(1, channels, length), torch.zeros(1, channels, width),
                                     stride=stride)
    return out.shape[-1]


def test_known_sizes_beyond_the_check_instance():
    rng = random.Random(13)
    cases = [(1, 13, 3, 2)] + [(rng.randint(1, 3), rng.randint(13, 200), rng.randint(1, 12), rng.randint(1, 5))
                               for _ in range(30)]
    problems = "\n".join(
        f"  - {{id: c{n}, kind: derive, given: {{template: conv1d, sizes: {{C: {c}, L: {length}, k: {k}, s: {s}}}}}}}"
        for n, (c, length, k, s) in enumerate(cases))
    result = solve_text("problems:\n" + problems + "\n")
    assert not [p.error for p in result.problems if p.error]
    answers = {p.id: p.answers for p in result.problems}
    for n, (c, length, k, s) in enumerate(cases):
        expected = conv1d_length(c, length, k, s)
        assert answers[f"c{n}"]["output_length"] == expected
        assert answers[f"c{n}"]["shape_df_dx"] == [expected, c, length]
    assert all(check.passed for p in result.problems for check in p.solution.checks)
