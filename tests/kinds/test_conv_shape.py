"""conv-shape against PyTorch: output shapes of Conv1d/2d/3d, ConvTranspose2d and pooling
(ceil mode included) on random configurations, and every inverse solution checked forward."""

from __future__ import annotations

import random

import pytest

from solver.rules import in_rule, is_rule

torch = pytest.importorskip("torch")
F = torch.nn.functional

from solver.context import Context  # noqa: E402
from solver.errors import BadInput  # noqa: E402
from solver.kinds.conv.conv_shape import ConvShapeInput, solve  # noqa: E402

from helpers import REPO, answers_of, render_text, solve_text  # noqa: E402


def conv_shape(**given):
    return solve(ConvShapeInput.model_validate(given), Context()).answers


def torch_conv_shape(op, channels, sizes, kernel, stride, padding, dilation, filters=4,
                     output_padding=0, ceil_mode=False, pool="max"):
    """The output shape PyTorch computes, on the meta device (no arithmetic is done)."""
    dims = len(sizes)
    x = torch.empty((1, channels, *sizes), device="meta")
    if op == "conv":
        weight = torch.empty((filters, channels, *([kernel] * dims)), device="meta")
        conv = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[dims]
        out = conv(x, weight, stride=stride, padding=padding, dilation=dilation)
    elif op == "transposed-conv":
        weight = torch.empty((channels, filters, *([kernel] * dims)), device="meta")
        out = F.conv_transpose2d(x, weight, stride=stride, padding=padding, dilation=dilation,
                                 output_padding=output_padding)
    elif pool == "max":
        pool_fn = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}[dims]
        out = pool_fn(x, kernel, stride=stride, padding=padding, dilation=dilation, ceil_mode=ceil_mode)
    else:
        pool_fn = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}[dims]
        out = pool_fn(x, kernel, stride=stride, padding=padding, ceil_mode=ceil_mode)
    return list(out.shape[1:])


def random_case(rng: random.Random, op: str):
    dims = 2 if op == "transposed-conv" else rng.choice([1, 2, 3])
    kernel = rng.randint(1, 5)
    stride = rng.randint(1, 4)
    dilation = 1 if (op == "pool" and rng.random() < 0.5) else rng.randint(1, 3)
    if op == "pool":
        padding = rng.randint(0, kernel // 2)  # PyTorch allows at most half the kernel
    else:
        padding = rng.randint(0, 3)
    effective = dilation * (kernel - 1) + 1
    sizes = [rng.randint(max(1, effective - 2 * padding), 20) for _ in range(dims)]
    if dims == 3:
        sizes = [min(s, 12) for s in sizes]
        sizes = [max(s, effective - 2 * padding, 1) for s in sizes]
    return dims, kernel, stride, padding, dilation, sizes


@pytest.mark.parametrize("op", ["conv", "pool", "transposed-conv"])
def test_random_configurations_match_pytorch(op):
    rng = random.Random(hash(op) % 1000)
    checked = 0
    while checked < 400:
        dims, kernel, stride, padding, dilation, sizes = random_case(rng, op)
        channels, filters = rng.randint(1, 4), rng.randint(1, 5)
        ceil_mode = op == "pool" and rng.random() < 0.5
        pool = rng.choice(["max", "avg"])
        if pool == "avg" and op == "pool":
            dilation = 1
        output_padding = rng.randint(0, max(stride, dilation) - 1) if op == "transposed-conv" else 0
        try:
            expected = torch_conv_shape(op, channels, sizes, kernel, stride, padding, dilation, filters,
                                        output_padding, ceil_mode, pool)
        except RuntimeError:  # PyTorch's pooling refuses some inputs smaller than the window
            continue
        if min(expected[1:]) < 1:
            continue
        given = dict(input=[channels, *sizes], kernel=kernel, stride=stride, padding=padding,
                     dilation=dilation, op=op, ceil_mode=ceil_mode, output_padding=output_padding,
                     dims=dims)
        if op != "pool":
            given["filters"] = filters
        assert conv_shape(**given)["output"] == expected, given
        checked += 1


@pytest.mark.filterwarnings("ignore:Using padding='same'")
def test_same_padding_matches_pytorch_at_stride_one_and_tf_rule_beyond():
    rng = random.Random(7)
    for _ in range(150):
        size, kernel, stride, dilation = rng.randint(1, 30), rng.randint(1, 7), rng.randint(1, 4), rng.randint(1, 2)
        got = conv_shape(input=[2, size], kernel=kernel, stride=stride, padding="same",
                         dilation=dilation, filters=3, dims=1)["output"]
        effective = dilation * (kernel - 1) + 1
        # TF/Keras SAME: pad (out-1)*S + effective - size in total, the odd pixel on the right.
        out = -(-size // stride)
        total = max((out - 1) * stride + effective - size, 0)
        x = F.pad(torch.zeros(1, 2, size), (total // 2, total - total // 2))
        expected = list(F.conv1d(x, torch.zeros(3, 2, kernel), stride=stride, dilation=dilation).shape[1:])
        assert got == expected
        if stride == 1:
            same = F.conv1d(torch.zeros(1, 2, size), torch.zeros(3, 2, kernel), padding="same",
                            dilation=dilation)
            assert got == list(same.shape[1:])


def test_valid_and_full_padding():
    assert conv_shape(input=10, kernel=3, padding="valid")["output"] == [8]
    x = torch.zeros(1, 1, 10)
    full = F.conv1d(x, torch.zeros(1, 1, 3), padding=2, dilation=1)
    assert conv_shape(input=10, kernel=3, padding="full")["output"] == [full.shape[-1]]


@pytest.mark.parametrize("field", ["kernel", "stride", "padding", "dilation"])
def test_every_inverse_solution_checked_forward(field):
    rng = random.Random(hash(field) % 997)
    solved = 0
    while solved < 60:
        dims, kernel, stride, padding, dilation, sizes = random_case(rng, "conv")
        sizes = sizes[:2] if len(sizes) > 2 else sizes
        expected = torch_conv_shape("conv", 3, sizes, kernel, stride, padding, dilation, 4)
        if min(expected[1:]) < 1:
            continue
        given = dict(input=[3, *sizes], kernel=kernel, stride=stride, padding=padding,
                     dilation=dilation, filters=4, output=expected, dims=len(sizes))
        truth = given[field]
        given[field] = "?"
        answer = conv_shape(**given)[field]
        if is_rule(answer):  # every value from min on (a stride past the room, any dilation of a
            assert in_rule(answer, truth), (given, answer)  # 1-wide kernel): far members checked too
            solutions = answer["listed"] + [truth, 50 * answer["min"] + 3]
        else:
            solutions = answer if isinstance(answer, list) else [answer]
            assert truth in solutions, (given, solutions)
        for value in solutions:
            candidate = {**given, field: value}
            got = torch_conv_shape("conv", 3, sizes, candidate["kernel"], candidate["stride"],
                                   candidate["padding"], candidate["dilation"], 4)
            assert got == expected
        solved += 1


def test_spec_examples():
    assert conv_shape(input="10x11", kernel=3, stride=2)["output"] == [4, 5]
    assert conv_shape(input=49, output=25, kernel=3, stride=2, padding="?")["padding"] == 1
    symbolic = conv_shape(input="C,H,W", kernel="K", padding="P", stride="S", dilation="D", filters="F")
    assert symbolic["output"][0] == "F"
    assert symbolic["output"][1] == "floor((H + 2*P - D*(K - 1) - 1)/S) + 1"


def test_symbolic_formula_agrees_with_numbers():
    """The general formula, read back through the safe parser, gives the numeric answers."""
    import sympy

    from solver.parse import make_symbol, parse_expression

    formula = conv_shape(input="H", kernel="K", padding="P", stride="S", dilation="D")["output"][0]
    assert formula == "floor((H + 2*P - D*(K - 1) - 1)/S) + 1"
    inner = parse_expression(formula[len("floor("):formula.rindex(")")])  # the floor's argument
    names = "H K P S D".split()
    rng = random.Random(3)
    for _ in range(100):
        values = dict(K=rng.randint(1, 5), P=rng.randint(0, 3), S=rng.randint(1, 4), D=rng.randint(1, 2))
        values["H"] = rng.randint(values["D"] * (values["K"] - 1) + 1, 40)
        numeric = conv_shape(input=values["H"], kernel=values["K"], padding=values["P"],
                             stride=values["S"], dilation=values["D"])["output"][0]
        argument = inner.subs({make_symbol(n): values[n] for n in names})
        assert sympy.floor(argument) + 1 == numeric


def test_numbers_mixed_with_symbols_are_evaluated_and_agree_with_torch():
    """Known sizes with a symbolic stride: the numeric parts are worked out (⌊31/S⌋ + 1, not
    ⌊(32 + 2·0 − 1·(1 − 1) − 1)/S⌋ + 1), and the formula gives PyTorch's size for every S."""
    import sympy

    from solver.parse import make_symbol, parse_expression

    answers = conv_shape(input="3x32x32", kernel=[1, 2], stride=["S", "T"], padding=0, filters=6)
    assert answers["output"] == ["6", "floor(31/S) + 1", "floor(30/T) + 1"]
    # The safe parser has no floor: read the floor's argument.
    height, width = (parse_expression(text[len("floor("):text.rindex(")")]) for text in answers["output"][1:])
    for stride in range(1, 9):
        shape = F.conv2d(torch.empty(1, 3, 32, 32, device="meta"), torch.empty(6, 3, 1, 2, device="meta"),
                         stride=stride).shape
        assert sympy.floor(height.subs(make_symbol("S"), stride)) + 1 == shape[2]
        assert sympy.floor(width.subs(make_symbol("T"), stride)) + 1 == shape[3]


@pytest.mark.parametrize("field", ["input", "kernel", "stride", "dilation", "filters", "output"])
def test_padding_words_are_refused_as_sizes(field):
    given = dict(input="3x32x32", kernel=3, output="?x30x30" if field != "output" else "same")
    given[field] = "full" if field != "output" else "same"
    with pytest.raises(ValueError, match="values of `padding`"):
        ConvShapeInput.model_validate(given)


def test_several_stride_solutions_are_all_listed():
    # 11 wide, kernel 3: strides 5, 6, 7 and 8 all give 2 outputs (the floor absorbs the rest).
    answer = conv_shape(input=11, kernel=3, output=2, stride="?")["stride"]
    assert answer == [s for s in range(1, 12) if (11 - 3) // s + 1 == 2]


def test_unbounded_strides_are_a_rule_and_bounded_ones_a_full_list():
    # One output from 32 with kernel 3: every stride above the 29 pixels of room works.
    assert conv_shape(input=32, kernel=3, output=1, stride="?")["stride"] == {
        "min": 30, "max": None, "listed": [30, 31, 32, 33, 34]}
    # Two outputs with padding 10: strides 14…27, more than the first search bound holds.
    answer = conv_shape(input=10, kernel=3, padding=10, output=2, stride="?")["stride"]
    assert answer == [s for s in range(1, 200) if torch_conv_shape("conv", 1, [10], 3, s, 10, 1, 1)[1:] == [2]]


def test_ceil_mode_last_window_rule():
    # DESIGN.md: length 5, kernel 2, stride 2, padding 1 gives 3 in ceil mode, not 4.
    assert conv_shape(input=5, kernel=2, stride=2, padding=1, op="pool", ceil_mode=True)["output"] == [3]
    assert torch_conv_shape("pool", 1, [5], 2, 2, 1, 1, ceil_mode=True) == [1, 3]


def test_no_solution_is_bad_input():
    with pytest.raises(BadInput) as info:
        conv_shape(input=10, kernel=3, output=20, stride="?")
    assert info.value.field == "stride"


def test_course_problems_regression():
    answers = answers_of((REPO / "problems/course/004-final-exam.yaml").read_text())
    # Independently: (55 - K) + 1 = 49 gives K = 7; 6 output channels need 6 filters;
    # floor((49 + 2P - 3)/2) + 1 = 25 gives 2P + 46 in [48, 49], so P = 1.
    assert answers["3a-conv1"]["kernel"] == 7
    assert answers["3a-conv1"]["filters"] == 6
    assert answers["3a-conv2"]["padding"] == 1
    theory = answers_of((REPO / "problems/course/002-cnn-rnn-theory.yaml").read_text())
    assert theory["1.1a"]["output"] == [4, 5]  # floor(7/2) + 1 = 4, floor(8/2) + 1 = 5


EXAMPLE = """
problems:
  - id: q1
    kind: conv-shape
    title: A 3x3 convolution with stride 2
    given: {input: 10x11, kernel: 3, stride: 2}
"""

EXPECTED_TEXT = (
    'q1 — A 3x3 convolution with stride 2  (conv-shape)\n'
    '  Given: input = 10x11, kernel = 3, stride = 2\n'
    '  Convention: Convolution as in deep learning (cross-correlation); the output size does not depend \n'
    'on kernel flipping.\n'
    '  1. Height: ⌊(input + 2·padding − dilation·(kernel − 1) − 1)/stride⌋ + 1.\n'
    '     H_out = ⌊(H + 2P − D·(K − 1) − 1)/S⌋ + 1 = ⌊(10 + 2·0 − 1·(3 − 1) − 1)/2⌋ + 1 = 4\n'
    '  2. Width: ⌊(input + 2·padding − dilation·(kernel − 1) − 1)/stride⌋ + 1.\n'
    '     W_out = ⌊(W + 2P − D·(K − 1) − 1)/S⌋ + 1 = ⌊(11 + 2·0 − 1·(3 − 1) − 1)/2⌋ + 1 = 5\n'
    '  Answer output = [4, 5]\n'
    '\n'
)


def test_exact_text_render():
    assert render_text(solve_text(EXAMPLE)) == EXPECTED_TEXT
