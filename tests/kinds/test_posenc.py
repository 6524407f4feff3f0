"""Kind `posenc` against the PyTorch-tutorial construction of the encoding matrix (div_term =
exp(−ln(base)·2i/d)), on random settings; the exam's values; the exact text of a worked example."""

from __future__ import annotations

import io
import math
import textwrap

import numpy as np
import pytest
import torch

from solver.context import Context
from solver.errors import BadInput
from solver.kinds.posenc import PosencInput, solve
from solver.pipeline import solve_problem_set
from solver.spec import load_problem_set

CASES = 520


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def run(given: dict, **ctx) -> dict:
    return solve(PosencInput.model_validate({"heatmap": False, **given}), Context(**ctx)).answers


def torch_encoding(rows: int, d_model: int, base: float, layout: str) -> np.ndarray:
    """The whole matrix as the PyTorch transformer tutorial builds it (interleaved), or with its
    sin and cos columns concatenated (halves)."""
    position = torch.arange(rows, dtype=torch.float64).unsqueeze(1)
    div_term = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float64) * (-math.log(base) / d_model))
    sin, cos = torch.sin(position * div_term), torch.cos(position * div_term)
    if layout == "interleaved":
        pe = torch.zeros(rows, d_model, dtype=torch.float64)
        pe[:, 0::2], pe[:, 1::2] = sin, cos
    else:
        pe = torch.cat([sin, cos], dim=1)
    return pe.numpy()


def test_random_settings_match_the_torch_construction():
    rng = np.random.default_rng(7)
    for _ in range(CASES):
        d_model = 2 * int(rng.integers(1, 40))
        base = [10000, 100, 1000.5][int(rng.integers(0, 3))]
        layout = ["interleaved", "halves"][int(rng.integers(0, 2))]
        positions = sorted(set(rng.integers(0, 60, size=int(rng.integers(1, 4))).tolist()))
        dims = rng.choice(d_model, size=min(d_model, int(rng.integers(1, 6))), replace=False).tolist()
        as_list = len(positions) > 1 or rng.random() < 0.5
        given = {"pos": positions if as_list else positions[0], "dims": dims, "d_model": d_model,
                 "base": base, "layout": layout}
        got = np.array(run(given)["PE"], dtype=float)
        want = torch_encoding(max(positions) + 1, d_model, base, layout)[np.ix_(positions, dims)]
        np.testing.assert_allclose(got, want if as_list else want[0], rtol=1e-9, atol=1e-12,
                                   err_msg=str(given))


def test_exam_position_5_dimensions_0_to_10():
    # Expected by torch_encoding (an independent construction); the exam key's PE(5, 0) = -0.9598
    # is a slip: sin 5 = -0.95892…
    got = run({"pos": 5, "dims": "0..10", "d_model": 512})["PE"]
    want = torch_encoding(6, 512, 10000, "interleaved")[5, :11]
    np.testing.assert_allclose(got, want, rtol=1e-12)
    assert round(got[0], 4) == -0.9589


def test_range_of_positions_gives_one_row_each():
    answers = run({"pos": "0..2", "dims": [0, 1], "d_model": 4})
    assert answers["PE"][0] == [0, 1]
    assert len(answers["PE"]) == 3


def test_hand_rounding_uses_the_rounded_angle():
    # θ(5, i=1) = 5/10000^(2/512) = 4.82327… rounds to 4.82; sin(4.82) = -0.99354…
    answers = run({"pos": 5, "dims": [2], "d_model": 512}, decimals=2, round_intermediate=True)
    assert answers["PE"] == [round(math.sin(4.82), 2)]


@pytest.mark.parametrize("given, field", [
    ({"pos": 1, "dims": [0, 9], "d_model": 8}, "dims"),
    ({"pos": 1, "dims": [0], "d_model": 7, "layout": "halves"}, "d_model"),
])
def test_inconsistent_input_names_the_field(given, field):
    with pytest.raises(BadInput) as error:
        run(given)
    assert error.value.field == field


@pytest.mark.parametrize("given, words", [
    ({"pos": -1, "dims": [0], "d_model": 8}, "cannot be negative"),
    ({"pos": 1, "dims": [0], "d_model": 8, "base": 1}, "not 1"),
    ({"pos": 1, "dims": "3..1", "d_model": 8}, "empty"),
])
def test_bad_input(given, words):
    with pytest.raises(ValueError) as error:
        PosencInput.model_validate(given)
    assert words in str(error.value)


def test_bad_input_through_the_pipeline_names_the_field():
    result = solve_problem_set(load_problem_set(textwrap.dedent("""
        problems:
          - id: bad
            kind: posenc
            given: {pos: 5, dims: 0..10, d_modle: 512}
        """), "example.yaml"))
    error = result.problems[0].error
    assert isinstance(error, BadInput) and "did you mean 'd_model'" in error.message


EXAMPLE = """
problems:
  - id: pe
    kind: posenc
    given: {pos: 3, dims: 0..2, d_model: 4, heatmap: false}
"""

EXPECTED = """\
pe  (posenc)
  Given: pos = 3, dims = 0..2, d_model = 4, heatmap = false
  Convention: Interleaved layout: even dimensions 2i hold sin, odd dimensions 2i+1 hold cos, both at
the angle pos/base^(2i/d_model); positions count from 0.
  Convention: Angles in radians; base 10000.
  1. Angle at position 3 for i = 0 (shared by dimensions 0 and 1):
     θ(pos=3, i=0) = pos/base^(2i/d_model) = 3/10000^(2·0/4) = 3
  2. Dimension 0 takes the sine.
     PE(3, 0) = sin(θ(pos=3, i=0)) = sin(3) = 0.1411
  3. Dimension 1 takes the cosine.
     PE(3, 1) = cos(θ(pos=3, i=0)) = cos(3) = −0.9900
  4. Angle at position 3 for i = 1 (shared by dimensions 2 and 3):
     θ(pos=3, i=1) = pos/base^(2i/d_model) = 3/10000^(2·1/4) = 0.03
  5. Dimension 2 takes the sine.
     PE(3, 2) = sin(θ(pos=3, i=1)) = sin(0.03) = 0.0300
  6. Every value with its angle (radians):
     ┏━━━━┳━━━━━┳━━━┳━━━━━━━━━━┳━━━━━━━━━┳━━━━━━━━┓                                                 
     ┃pos ┃ dim ┃ i ┃ function ┃ angle θ ┃      PE┃                                                 
     ┡━━━━╇━━━━━╇━━━╇━━━━━━━━━━╇━━━━━━━━━╇━━━━━━━━┩                                                 
     │  3 │   0 │ 0 │      sin │       3 │  0.1411│                                                 
     │  3 │   1 │ 0 │      cos │       3 │ -0.9900│                                                 
     │  3 │   2 │ 1 │      sin │    0.03 │  0.0300│                                                 
     └────┴─────┴───┴──────────┴─────────┴────────┘                                                 
  Answer PE = [0.1411, -0.9900, 0.0300]

"""


def test_terminal_text_of_a_worked_example():
    from rich.console import Console

    from solver.render.terminal import render_terminal

    console = Console(file=io.StringIO(), width=100, color_system=None)
    render_terminal(console, [solve_problem_set(load_problem_set(EXAMPLE, "example.yaml"))])
    assert console.file.getvalue() == EXPECTED


def test_course_exam_problem_file():
    from pathlib import Path

    from solver.pipeline import solve_file

    path = Path(__file__).parents[2] / "problems" / "course" / "004-final-exam.yaml"
    (problem,) = solve_file(path, only={"4c-ii-positional-encoding"}).problems
    np.testing.assert_allclose(problem.answers["PE"], torch_encoding(6, 512, 10000, "interleaved")[5, :11],
                               rtol=1e-12)
