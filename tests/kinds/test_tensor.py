"""tensor: the example tensor and its Python literal against PyTorch, for random shapes."""

from __future__ import annotations

import ast
import random

import torch
from helpers import solve_text

torch.set_num_threads(1)


def _solve(shape, dtype="int"):
    result = solve_text(f"problems:\n  - id: t\n    kind: tensor\n    given: {{shape: {list(shape)}, dtype: {dtype}}}\n")
    (problem,) = result.problems
    assert problem.error is None, problem.error
    return problem


def test_random_shapes_against_torch():
    rng = random.Random(22)
    for _ in range(300):
        shape = [rng.randint(1, 5) for _ in range(rng.randint(1, 4))]
        dtype = rng.choice(["int", "float"])
        problem = _solve(shape, dtype)
        tensor = problem.solution.answers["tensor"]
        expected = torch.arange(1, torch.Size(shape).numel() + 1).reshape(shape)
        as_torch = torch.tensor(tensor)
        assert as_torch.shape == torch.Size(shape)
        assert as_torch.dtype == (torch.int64 if dtype == "int" else torch.float32)
        assert torch.equal(as_torch.to(torch.int64), expected)
        # The key's Python literal is the same tensor.
        latex = problem.solution.answer_latex["tensor"]
        literal = latex[len(r"\texttt{"):-1]
        assert torch.equal(torch.tensor(ast.literal_eval(literal)), as_torch)
        assert any(step.text == f"As a Python list: {literal}" for step in problem.solution.steps)


def test_course_shape_literal():
    problem = _solve([2, 1, 3])
    assert problem.solution.answer_latex["tensor"] == r"\texttt{[[[1, 2, 3]], [[4, 5, 6]]]}"


def test_large_tensors_have_no_literal():
    problem = _solve([10, 10, 11])
    assert "tensor" not in problem.solution.answer_latex
