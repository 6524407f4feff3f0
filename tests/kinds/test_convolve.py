"""Kind `convolve` against PyTorch (conv1d/conv2d, max/avg pooling, activations) on random
layer stacks, the course exercises, the exact terminal text of one worked example, and bad input."""

from __future__ import annotations

import io
import math
import textwrap

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from solver.context import Context
from solver.errors import BadInput
from solver.kinds.conv.convolve import ConvolveInput, solve
from solver.pipeline import solve_problem_set
from solver.spec import load_problem_set

CASES = 520


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def run(given: dict, **ctx) -> dict:
    return solve(ConvolveInput.model_validate(given), Context(**ctx)).answers


# --- the independent oracle: PyTorch, padding computed here from the TF/Keras SAME rule ------


def tf_same_padding(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + dilation * (kernel - 1) + 1 - size, 0)
    return total // 2, total - total // 2


def torch_conv(x: torch.Tensor, layer: dict, flip: bool) -> torch.Tensor:
    n = x.dim() - 2
    w = torch.tensor(layer["filters"], dtype=torch.float64)
    if flip:
        w = torch.flip(w, dims=list(range(2, 2 + n)))
    bias = torch.tensor(layer["bias"], dtype=torch.float64)
    pad_spec = []
    for d in reversed(range(n)):  # F.pad lists the last dimension first
        size, k = x.shape[2 + d], w.shape[2 + d]
        p = layer["padding"]
        if p == "same":
            before, after = tf_same_padding(size, k, layer["stride"], layer["dilation"])
        elif p == "valid":
            before = after = 0
        elif p == "full":
            before = after = layer["dilation"] * (k - 1)
        else:
            before = after = p
        pad_spec += [before, after]
    x = F.pad(x, pad_spec)
    conv = F.conv1d if n == 1 else F.conv2d
    return conv(x, w, bias, stride=layer["stride"], dilation=layer["dilation"])


def torch_pool(x: torch.Tensor, layer: dict) -> torch.Tensor:
    n = x.dim() - 2
    k, p = layer["kernel"], layer["padding"]
    s = layer.get("stride", k)
    if layer["type"] == "maxpool":
        pool = F.max_pool1d if n == 1 else F.max_pool2d
        return pool(x, k, s, p, ceil_mode=layer["ceil_mode"])
    pool = F.avg_pool1d if n == 1 else F.avg_pool2d
    return pool(x, k, s, p, ceil_mode=layer["ceil_mode"], count_include_pad=True)


TORCH_ACTIVATIONS = {
    "relu": torch.relu,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "leaky-relu": lambda t: F.leaky_relu(t, 0.01),
    "elu": lambda t: F.elu(t, 1.0),
    "gelu": lambda t: t * torch.sigmoid(1.702 * t),
    "gelu-exact": lambda t: F.gelu(t, approximate="none"),
}


def random_layer(rng, dims: int, channels: int, sizes: list[int]) -> dict:
    choice = rng.choice(["conv", "conv", "pool", "act"])
    if choice == "conv":
        kernel = [int(rng.integers(1, 4)) for _ in range(dims)]
        filters = int(rng.integers(1, 4))
        integer = rng.random() < 0.6
        weights = (rng.integers(-3, 4, size=(filters, channels, *kernel)) if integer
                   else np.round(rng.normal(size=(filters, channels, *kernel)), 3))
        return {"type": "conv", "filters": weights.tolist(),
                "bias": rng.integers(-2, 3, size=filters).tolist(),
                "stride": int(rng.integers(1, 3)), "dilation": int(rng.integers(1, 3)),
                "padding": [0, 1, 2, "same", "valid", "full"][int(rng.integers(0, 6))]}
    if choice == "pool":
        k = int(rng.integers(1, 4))
        layer = {"type": rng.choice(["maxpool", "avgpool"]).item(), "kernel": k,
                 "padding": int(rng.integers(0, k // 2 + 1)), "ceil_mode": bool(rng.random() < 0.3)}
        if rng.random() < 0.5:
            layer["stride"] = int(rng.integers(1, 3))
        return layer
    return {"type": rng.choice(list(TORCH_ACTIVATIONS)).item()}


def test_random_stacks_match_torch():
    rng = np.random.default_rng(20250622)
    checked = 0
    while checked < CASES:
        dims = int(rng.integers(1, 3))
        channels = int(rng.integers(1, 4))
        sizes = [int(rng.integers(3, 8)) for _ in range(dims)]
        x = (rng.integers(-4, 5, size=(channels, *sizes)) if rng.random() < 0.6
             else np.round(rng.normal(size=(channels, *sizes)), 3))
        layers, flip = [], bool(rng.random() < 0.3)
        current = torch.tensor(x, dtype=torch.float64).unsqueeze(0)
        expected = []
        for _ in range(int(rng.integers(1, 4))):
            layer = random_layer(rng, dims, current.shape[1], list(current.shape[2:]))
            try:
                if layer["type"] == "conv":
                    nxt = torch_conv(current, layer, flip)
                elif layer["type"] in ("maxpool", "avgpool"):
                    nxt = torch_pool(current, layer)
                else:
                    nxt = TORCH_ACTIVATIONS[layer["type"]](current)
            except RuntimeError:  # torch refuses: the window does not fit
                break
            if nxt.numel() == 0:
                break
            layers.append(layer)
            expected.append(nxt[0].numpy())
            current = nxt
        if not layers:
            continue
        given = {"input": x.tolist(), "layers": layers, "flip": flip, "dims": dims}
        answers = run(given)
        for number, want in enumerate(expected, 1):
            got = np.array(answers[f"out{number}"], dtype=float)
            assert got.shape == want.shape, (given, number)
            np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9, err_msg=str(given))
        checked += 1


def test_kernel_too_big_is_bad_input():
    with pytest.raises(BadInput) as error:
        run({"input": [1, 2], "layers": [{"type": "conv", "filters": [[1, 1, 1]]}]})
    assert error.value.field == "layers.0.filters"


# --- course exercises -------------------------------------------------------------------------


def test_course_1d_exercise_two_layers():
    # Expected values by torch.nn.functional.conv1d: four 1×3 filters, then one 4×3 filter of ones.
    signal = torch.tensor([[[1., 2, 6, 7, 8, 9, 1]]])
    first = torch.tensor([[[0., 1, 0]], [[0, 0, 1]], [[1, 0, 0]], [[1, 0, 1]]])
    out1 = F.conv1d(signal, first)
    out2 = F.conv1d(out1, torch.ones(1, 4, 3))
    answers = run({"input": [1, 2, 6, 7, 8, 9, 1],
                   "layers": [{"type": "conv", "filters": [[0, 1, 0], [0, 0, 1], [1, 0, 0], [1, 0, 1]]},
                              {"type": "conv", "filters": [[1, 1, 1]]}]})
    assert answers["out1"] == out1[0].int().tolist()
    assert answers["out2"] == out2[0].int().tolist()
    assert all(isinstance(v, int) for row in answers["out1"] for v in row)  # exact integers


def test_filters_without_depth_are_used_at_every_depth():
    written_out = run({"input": [[1, 2, 3], [4, 5, 6]], "dims": 1,
                       "layers": [{"type": "conv", "filters": [[[1, -1], [1, -1]]]}]})
    shorthand = run({"input": [[1, 2, 3], [4, 5, 6]], "dims": 1, "filters": [[1, -1]]})
    assert written_out == shorthand == {"out1": [[-2, -2]]}


def test_two_row_input_reading_follows_the_filters():
    # 2×5 with filters 2 deep: two channels of a 1-D signal (a C×L output).
    assert run({"input": [[1, 2, 3, 4, 5], [6, 7, 8, 9, 10]],
                "layers": [{"type": "conv", "stride": 2, "filters": [[[1, 0, -1], [2, 1, 0]]]}]}) == \
        {"out1": [[17, 23]]}
    # 3×3 with a 2×2 filter: one H×W map (a C×H×W output).
    answers = run({"input": [[1, 2, 3], [4, 5, 6], [7, 8, 9]], "filters": [[1, 0], [0, 1]]})
    assert answers == {"out1": [[[6, 8], [12, 14]]]}


def test_average_pooling_is_exact():
    answers = run({"input": [[1, 2], [3, 5]], "layers": [{"type": "avgpool", "size": 2}]})
    assert float(answers["out1"][0][0][0]) == 2.75
    assert str(answers["out1"][0][0][0]) == "11/4"


def test_round_intermediate_rounds_each_map():
    answers = run({"input": [0.123456, 1], "layers": [{"type": "sigmoid"}, {"type": "conv", "filters": [[1]]}]},
                  decimals=2, round_intermediate=True)
    assert answers["out1"] == [[0.53, 0.73]]
    assert answers["out2"] == [[0.53, 0.73]]


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize("given, field", [
    ({"input": [1, 2, 3, 4], "layers": [{"type": "conv", "filters": [[[1, 1]], [[1, 1]]]},
                                        {"type": "conv", "filters": [[[1, 1], [1, 1], [1, 1]]]}]},
     "layers.1.filters"),
    ({"input": [1, 2, 3], "layers": [{"type": "conv", "filters": [[1, 1]], "bias": [1, 2]}]},
     "layers.0.bias"),
    ({"input": [1, 2, 3], "layers": [{"type": "maxpool", "kernel": 2, "padding": 2}]},
     "layers.0.padding"),
    ({"input": [[1, 2], [3, 4]], "dims": 2, "filters": [[1, 1]], "stride": [1, 1, 1]}, "stride"),
    ({"input": [[0] * 200] * 200, "layers": [{"type": "conv", "filters": [[[1] * 7] * 7] * 6}]}, "layers.0"),
])
def test_inconsistent_layers_name_the_field(given, field):
    with pytest.raises(BadInput) as error:
        run(given)
    assert error.value.field == field


def solve_text(text: str):
    return solve_problem_set(load_problem_set(textwrap.dedent(text), "example.yaml"))


@pytest.mark.parametrize("given, words", [
    ("{input: [1, 2], layers: [{type: conv, filter: [[1]]}]}", "did you mean 'filters'"),
    ("{input: [1, 2], layers: [{type: maxpol, size: 2}]}", "did you mean 'maxpool'"),
    ("{input: [1, 2], layers: [{type: conv, filters: [[1]], stride: 0}]}", "stride must be at least 1"),
    ("{input: [1, [2]], filters: [1]}", "ragged"),
    ("{input: [1, 2], layers: [{type: relu}], filters: [1]}", "not both"),
    ("{input: [1, 2]}", "give `layers`"),
])
def test_malformed_layers_are_reported(given, words):
    result = solve_text(f"""
        problems:
          - id: bad
            kind: convolve
            given: {given}
        """)
    error = result.problems[0].error
    assert isinstance(error, BadInput) and words in error.message


# --- the exact terminal text of a worked example -------------------------------------------------

EXAMPLE = """
problems:
  - id: small
    kind: convolve
    given:
      input: [[1, 2, 0], [0, 1, 3], [2, 1, 1]]
      layers:
        - {type: conv, filters: [[1, 0], [0, -1]], bias: 1}
        - {type: maxpool, size: 2}
"""

EXPECTED = """\
small  (convolve)
  Given: input = [[1, 2, 0], [0, 1, 3], [2, 1, 1]], layers = [{type: conv, filters: [[1, 0], [0, 
-1]], bias: 1}, {type: maxpool, size: 2}]
  Convention: The 3×3 input is read as one H×W map (a single channel); dims: 1 reads its rows as 
channels of a 1-D signal.
  Convention: Cross-correlation, as deep-learning layers compute it: the filters are not flipped 
(flip: true gives true convolution).
  Convention: A pooling stride that is not given equals the pool size (PyTorch's default).
  Convention: Positions, rows, columns, filters and channels are counted from 1.
  1. Layer 1 output height:
     H_out = ⌊(H + 2P − D·(K − 1) − 1)/S⌋ + 1 = ⌊(3 + 2·0 − 1·(2 − 1) − 1)/1⌋ + 1 = 2
  2. Layer 1 output width:
     W_out = ⌊(W + 2P − D·(K − 1) − 1)/S⌋ + 1 = ⌊(3 + 2·0 − 1·(2 − 1) − 1)/1⌋ + 1 = 2
  3. Output at row 1, column 1: the window is rows 1–2, columns 1–2 of the input; plus the bias 1.
     out1[1, 1, 1] = 1·1 + 2·0 + 0·0 + 1·(−1) + 1 = 1
     the input:
      [1] [2]  0
      [0] [1]  3
       2   1   1
  4. Output at row 1, column 2: the window is rows 1–2, columns 2–3 of the input; plus the bias 1.
     out1[1, 1, 2] = 2·1 + 0·0 + 1·0 + 3·(−1) + 1 = 0
     the input:
       1  [2] [0]
       0  [1] [3]
       2   1   1
  5. Output at row 2, column 1: the window is rows 2–3, columns 1–2 of the input; plus the bias 1.
     out1[1, 2, 1] = 0·1 + 1·0 + 2·0 + 1·(−1) + 1 = 0
     the input:
       1   2   0
      [0] [1]  3
      [2] [1]  1
  6. Output at row 2, column 2: the window is rows 2–3, columns 2–3 of the input; plus the bias 1.
     out1[1, 2, 2] = 1·1 + 3·0 + 1·0 + 1·(−1) + 1 = 1
     the input:
       1   2   0
       0  [1] [3]
       2  [1] [1]
  7. Layer 1 output: one channel per filter, 1×2×2.
     [0]
     ⎡ 1  0 ⎤
     ⎣ 0  1 ⎦
  8. Layer 2 output height:
     H_out = ⌊(H + 2P − K)/S⌋ + 1 = ⌊(2 + 2·0 − 2)/2⌋ + 1 = 1
  9. Layer 2 output width:
     W_out = ⌊(W + 2P − K)/S⌋ + 1 = ⌊(2 + 2·0 − 2)/2⌋ + 1 = 1
  10. Output at row 1, column 1: the maximum of rows 1–2, columns 1–2 of out1; it sits at row 1, 
column 1 of out1.
     out2[1, 1, 1] = max(1, 0, 0, 1) = 1
     out1:
      [1] [0]
      [0] [1]
  11. Layer 2 output (max pooling, each channel on its own), 1×1×1.
     [0]
     [ 1 ]
  Answer out1 =
     [0]
     ⎡ 1  0 ⎤
     ⎣ 0  1 ⎦
  Answer out2 =
     [0]
     [ 1 ]

"""


def test_terminal_text_of_a_worked_example():
    from rich.console import Console

    from solver.render.terminal import render_terminal

    console = Console(file=io.StringIO(), width=100, color_system=None)
    render_terminal(console, [solve_text(EXAMPLE)])
    assert console.file.getvalue() == EXPECTED


def course_problem(file: str, problem_id: str):
    from pathlib import Path

    from solver.pipeline import solve_file

    result = solve_file(Path(__file__).parents[2] / "problems" / "course" / file, only={problem_id})
    (problem,) = result.problems
    assert problem.error is None, problem.error
    return problem.answers


def test_course_feature_map_with_same_padding_and_average_pooling():
    # Expected by torch: conv2d with padding 1 (= 'same' for 3×3 at stride 1), then avg_pool2d(2, 2).
    feature_map = torch.tensor([[[[1., 0, 2, 1], [0, 1, 3, 0], [2, 1, 0, 1], [1, 2, 1, 0]]]])
    filter1 = torch.tensor([[[[1., 0, 1], [0, 1, 0], [1, 0, 1]]]])
    conv = F.conv2d(feature_map, filter1, padding=1)
    pooled = F.avg_pool2d(conv, 2, 2)
    answers = course_problem("003-gradient-descent-gelu.yaml", "4c-average-pooling")
    assert answers["out1"] == conv[0].int().tolist()
    np.testing.assert_allclose(np.array(answers["out2"], dtype=float), pooled[0].numpy())
    assert course_problem("003-gradient-descent-gelu.yaml", "4a-same-padding-conv") == {"out1": answers["out1"]}


def test_course_1d_exercise_file_and_numeric_example():
    # The same torch computation as test_course_1d_exercise_two_layers, through the course file.
    signal = torch.tensor([[[1., 2, 6, 7, 8, 9, 1]]])
    out1 = F.conv1d(signal, torch.tensor([[[0., 1, 0]], [[0, 0, 1]], [[1, 0, 0]], [[1, 0, 1]]]))
    out2 = F.conv1d(out1, torch.ones(1, 4, 3))
    answers = course_problem("000-cnn-rnn-assignment.yaml", "2-conv1d-two-layers")
    assert answers == {"out1": out1[0].int().tolist(), "out2": out2[0].int().tolist()}
    x = torch.tensor([[[1., 2, 3, 4, 5], [6, 7, 8, 9, 10]]])
    w = torch.tensor([[[1., 0, -1], [2, 1, 0]]])
    assert course_problem("002-cnn-rnn-theory.yaml", "1.1c-i-conv1d-numeric-example") == \
        {"out1": F.conv1d(x, w, stride=2)[0].int().tolist()}
