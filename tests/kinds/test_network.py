"""Kind `network`: the layer language, unknowns, comparisons, conventions, receptive fields, bad
input, the course problems and the rendered output. Every expected number comes from an
independent source — PyTorch modules (shapes, sum(p.numel()), FlopCounterMode), gradients
(receptive fields) or a published total — never from dlsolve's own formulas."""

from __future__ import annotations

import subprocess
import sys
from fractions import Fraction

import pytest
from helpers import REPO, render_text, solve_text

from solver.pipeline import solve_problem
from solver.spec import LineMap

torch = pytest.importorskip("torch")
nn = torch.nn


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def network(layers, **given):
    """Solve one network problem from keyword fields; returns the ProblemResult."""
    problem = {"id": "net", "kind": "network", "given": {"layers": layers, **given}, "find": []}
    return solve_problem(problem, file="test", lines=LineMap(), prefix=(), decimals=None)


def answers(layers, **given) -> dict:
    result = network(layers, **given)
    assert result.error is None, str(result.error)
    return result.answers


def error(layers, **given) -> str:
    result = network(layers, **given)
    assert result.error is not None and result.error.exit_code == 2
    return result.error.message


def numel(*modules) -> int:
    return sum(p.numel() for m in modules for p in m.parameters())


def out_shape(module, *shape) -> list[int]:
    with torch.no_grad():
        return list(module(torch.zeros(1, *shape)).shape[1:])


def flop_count(module, *shape) -> int:
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        module(torch.zeros(1, *shape))
    return counter.get_total_flops()


# --- the layer language -------------------------------------------------------------------------------


def test_compact_string_list_and_mapping_agree():
    text = "1x28x28 | conv 6 5 s=1 p=0 | maxpool 2 | conv 16 k=5 | relu | fc 10 bias=false"
    as_list = ["conv 6 5 s=1 p=0", "maxpool 2", "conv 16 k=5", "relu", "fc 10 bias=false"]
    as_maps = [{"type": "conv", "out": 6, "kernel": 5, "stride": 1, "padding": 0},
               {"type": "maxpool", "kernel": 2}, {"type": "Conv2d", "filters": 16, "kernel_size": 5},
               {"type": "relu"}, {"type": "linear", "out": 10, "bias": False}]
    first = answers(text)
    assert answers(as_list, input="1x28x28") == first == answers(as_maps, input=[1, 28, 28])
    model = [nn.Conv2d(1, 6, 5), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(),
             nn.Sequential(nn.Flatten(), nn.Linear(16 * 8 * 8, 10, bias=False))]
    assert first["totals"]["params"] == numel(*model)


def test_input_in_the_string_or_the_field_must_agree():
    assert answers("fc 3", input=4)["totals"]["params"] == numel(nn.Linear(4, 3))
    assert "starts with the input 5" in error("5 | fc 3", input=4)
    assert "give the input shape" in error("fc 3")


def test_output_arrow_is_a_checked_constraint():
    assert answers("3x32x32 | conv 6 5 -> 6x28x28 | maxpool 2 -> 14x14")["layers"][1]["output"] == [6, 14, 14]
    message = error("3x32x32 | conv 6 5 -> 6x30x30")
    assert "layer 1" in message and "3×32×32" in message and "6×28×28" in message


def test_layout_hwc_reads_and_writes_height_width_channels():
    rows = answers("84x84x1 | conv 8 5 | maxpool 2", layout="hwc")["layers"]
    conv = nn.Conv2d(1, 8, 5)
    c, h, w = out_shape(conv, 1, 84, 84)
    assert rows[0]["output"] == [h, w, c]


def test_one_and_three_spatial_dimensions():
    rows = answers("2x5 | conv 1 3 stride=2 bias=false")["layers"]
    conv = nn.Conv1d(2, 1, 3, stride=2, bias=False)
    assert rows[0]["output"] == out_shape(conv, 2, 5) and rows[0]["params"] == numel(conv) == 6
    rows = answers("1x8x16x16 | conv 4 3x5x5 p=1 | maxpool 2")["layers"]
    conv3 = nn.Conv3d(1, 4, (3, 5, 5), padding=1)
    assert rows[0]["output"] == out_shape(conv3, 1, 8, 16, 16)
    assert rows[1]["output"] == out_shape(nn.Sequential(conv3, nn.MaxPool3d(2)), 1, 8, 16, 16)


def test_separable_is_two_rows_with_two_biases():
    rows = answers("12x55x55 | separable 6 7")["layers"]
    depthwise, pointwise = nn.Conv2d(12, 12, 7, groups=12), nn.Conv2d(12, 6, 1)
    assert [r["type"] for r in rows] == ["depthwise", "pointwise"]
    assert [r["params"] for r in rows] == [numel(depthwise), numel(pointwise)]
    assert [r["filters"] for r in rows] == [12, 6]
    assert [r["filter_shape"] for r in rows] == [list(depthwise.weight.shape[1:]), list(pointwise.weight.shape[1:])]


def test_plain_mlp_two_layers_of_five():
    # Exam 1(a)(i): 2 inputs, two layers of 5 neurons.
    assert answers("2 | fc 5 | fc 5")["totals"]["params"] == numel(nn.Linear(2, 5), nn.Linear(5, 5)) == 45


def test_recurrent_bias_styles():
    """pytorch: PyTorch's own count; single: the same without the b_hh vectors (textbooks, Keras)."""
    for kind, cls in (("rnn", nn.RNN), ("lstm", nn.LSTM), ("gru", nn.GRU)):
        module = cls(28, 64, num_layers=2, bidirectional=True)
        without_hh = sum(p.numel() for name, p in module.named_parameters() if not name.startswith("bias_hh"))
        text = f"28x28 | {kind} 64 num_layers=2 bidirectional=true"
        assert answers(text)["totals"]["params"] == numel(module)
        assert answers(text, bias_style="single")["totals"]["params"] == without_hh
        assert answers(f"28x28 | {kind} 64 bias_style=single")["totals"]["params"] == sum(
            p.numel() for name, p in cls(28, 64).named_parameters() if not name.startswith("bias_hh"))


def test_embedding_attention_and_last_step():
    rows = answers("12 | embedding 16 vocab=50 | attention 4 | gru 8 return_sequences=false | fc 3")["layers"]
    assert [r["output"] for r in rows] == [[12, 16], [12, 16], [8], [3]]
    assert [r["params"] for r in rows] == [numel(nn.Embedding(50, 16)), numel(nn.MultiheadAttention(16, 4)),
                                          numel(nn.GRU(16, 8)), numel(nn.Linear(8, 3))]


# --- conventions -----------------------------------------------------------------------------------------


def test_flops_conventions():
    conv = nn.Conv2d(3, 8, 3)
    torch_flops = flop_count(conv, 3, 10, 10)
    row = answers("3x10x10 | conv 8 3")["layers"][0]
    assert row["flops"] == torch_flops == 2 * row["macs"]
    assert answers("3x10x10 | conv 8 3", flops="mac")["layers"][0]["flops"] == torch_flops // 2
    # bias_flops: FlopCounterMode never counts bias adds; dlsolve adds one per output value.
    outputs = torch.Size(out_shape(conv, 3, 10, 10)).numel()
    assert answers("3x10x10 | conv 8 3", bias_flops=True)["layers"][0]["flops"] == torch_flops + outputs
    assert answers("3x10x10 | conv 8 3 bias=false", bias_flops=True)["layers"][0]["flops"] == torch_flops


def test_conventions_are_named_in_the_output():
    result = network("1x8x8 | conv 2 3", flops="mac", bias_flops=True)
    text = " ".join(result.solution.conventions)
    assert "flops: mac" in text and "bias_flops: true" in text and "Receptive field" in text
    text = " ".join(network("5x3 | lstm 4", bias_style="single").solution.conventions)
    assert "bias_style: single" in text


# --- receptive field -------------------------------------------------------------------------------------


def _gradient_support(model, length: int, position: int) -> tuple[int, int]:
    x = torch.ones(1, 1, length, requires_grad=True)
    model(x)[0, 0, position].backward()
    support = (x.grad[0, 0] != 0).nonzero().flatten()
    return int(support.min()), int(support.max())


RF_STACKS = [
    [("conv", 3, 1, 0, 1), ("maxpool", 2, 2, 0, 1), ("conv", 5, 1, 2, 1), ("maxpool", 2, 2, 0, 1)],
    [("conv", 3, 2, 1, 1), ("conv", 3, 1, 1, 2), ("avgpool", 3, 2, 1, 1), ("conv", 1, 1, 0, 1)],
    [("conv", 7, 2, 3, 1), ("maxpool", 3, 2, 1, 1), ("conv", 3, 1, 1, 1), ("conv", 4, 2, 0, 1)],
    [("conv", 2, 1, 0, 3), ("maxpool", 3, 1, 0, 2), ("conv", 5, 3, 0, 1)],
]


@pytest.mark.parametrize("stack", RF_STACKS)
def test_receptive_field_against_gradient_support(stack):
    """rf, jump and start from which input pixels reach an interior output (all-ones weights; a
    pooling window has the geometry of an all-ones convolution)."""
    modules, words = [], []
    for kind, k, s, p, d in stack:
        conv = nn.Conv1d(1, 1, k, stride=s, padding=p, dilation=d, bias=False)
        nn.init.ones_(conv.weight)
        modules.append(conv)
        head = f"conv 1 {k}" if kind == "conv" else f"{kind} {k}"
        words.append(f"{head} stride={s} padding={p}" + (f" dilation={d}" if d != 1 else ""))
    model = nn.Sequential(*modules)
    length = 400
    last = answers(f"1x{length} | " + " | ".join(words))["layers"][-1]
    size = model(torch.zeros(1, 1, length)).shape[-1]
    middle = size // 2
    low, high = _gradient_support(model, length, middle)
    low_next, high_next = _gradient_support(model, length, middle + 1)
    assert 0 < low and high < length - 1  # an interior output: nothing clipped by the border
    assert last["rf"] == high - low + 1
    assert last["jump"] == low_next - low
    assert last["start"] + middle * last["jump"] == Fraction(low + high, 2)


def test_receptive_field_per_dimension():
    rows = answers("1x40x40 | conv 1 3x5 | maxpool 2x1")["layers"]
    assert rows[-1]["rf"] == [4, 5] and rows[-1]["jump"] == [2, 1]  # 3 + 1 along H; 5 along W


# --- unknowns ----------------------------------------------------------------------------------------------


def _conv_fits(cin, cout, k, s, p, shape, wanted) -> bool:
    """torch on the meta device: the shape arithmetic without computing anything."""
    try:
        conv = nn.Conv2d(cin, cout, k, stride=s, padding=p, device="meta")
        return list(conv(torch.empty(1, *shape, device="meta")).shape[1:]) == wanted
    except RuntimeError:
        return False


def test_exam_unknowns_n1_d1_f1_p2():
    """Exam 3(a): 12×55×55 → conv → 6×49×49 → conv 3×3 stride 2 → 4×25×25 → fc 128."""
    found = answers([{"type": "conv", "out": "n1", "in": "d1", "kernel": "F1", "stride": 1, "padding": 0,
                      "output": "6x49x49"},
                     {"type": "conv", "out": 4, "kernel": 3, "stride": 2, "padding": "p2", "output": "4x25x25"},
                     {"type": "fc", "out": 128}], input="12x55x55")
    kernels = [k for k in range(1, 60) if _conv_fits(12, 6, k, 1, 0, [12, 55, 55], [6, 49, 49])]
    paddings = [p for p in range(0, 20) if _conv_fits(6, 4, 3, 2, p, [6, 49, 49], [4, 25, 25])]
    assert (found["n1"], found["d1"], found["F1"], found["p2"]) == (6, 12, kernels[0], paddings[0]) == (6, 12, 7, 1)
    assert found["layer1.kernel"] == found["F1"] and found["layer2.padding"] == found["p2"]
    layers = [nn.Conv2d(12, 6, 7), nn.Conv2d(6, 4, 3, stride=2, padding=1), nn.Linear(4 * 25 * 25, 128)]
    assert [r["params"] for r in found["layers"]] == [numel(m) for m in layers] == [3534, 220, 320128]


def test_unknown_with_several_solutions_lists_all():
    found = answers("1x10x10 | conv 1 ? s=2 -> 1x4x4")
    expected = [k for k in range(1, 12) if _conv_fits(1, 1, k, 2, 0, [1, 10, 10], [1, 4, 4])]
    assert found["layer1.kernel"] == expected and len(expected) > 1
    assert found["layers"][0]["filter_shape"] == [1, expected[0], expected[0]]  # the table uses the first


def test_unknown_solved_through_later_layers_and_shared_symbol():
    found = answers("3x32x32 | conv 8 ? | relu | maxpool 2 -> 8x14x14")
    # maxpool 2 gives 14 from a 28- or 29-wide map
    expected = [k for k in range(1, 33) if any(_conv_fits(3, 8, k, 1, 0, [3, 32, 32], [8, n, n]) for n in (28, 29))]
    assert found["layer1.kernel"] == expected
    shared = answers("1x20x20 | conv 4 K | conv 4 K -> 4x12x12")
    assert shared["K"] == shared["layer1.kernel"] == shared["layer2.kernel"] == 5
    assert answers("3x32x32 | conv ? 3 -> 16x30x30")["layer1.out"] == 16
    assert answers("3x8x8 | fc 10 in=?")["layer1.in"] == 3 * 8 * 8


def test_unknown_errors():
    assert "no layer from there on states its output" in error("3x32x32 | conv 6 ? | fc 10")
    assert "no integer K1" in error("3x32x32 | conv 6 ? -> 6x30x31")
    assert "cannot be found" in error("3x32x32 | conv ? 3 | conv 4 3 -> 4x28x28")


# --- comparisons ------------------------------------------------------------------------------------------


def test_standard_against_depthwise_separable_exam_3b():
    from torch.utils.flop_counter import FlopCounterMode

    found = answers("conv 6 7", input="12x55x55", compare="depthwise 12 7 | pointwise 6")
    standard = nn.Conv2d(12, 6, 7)
    separable = nn.Sequential(nn.Conv2d(12, 12, 7, groups=12), nn.Conv2d(12, 6, 1))
    with FlopCounterMode(display=False) as first:
        standard(torch.zeros(1, 12, 55, 55))
    with FlopCounterMode(display=False) as second:
        separable(torch.zeros(1, 12, 55, 55))
    assert found["totals"]["flops"] == first.get_total_flops() == 16_941_456
    assert found["compare.totals"]["flops"] == second.get_total_flops() == 3_169_320
    assert found["ratio"]["flops"] == Fraction(second.get_total_flops(), first.get_total_flops()) == Fraction(55, 294)
    assert found["ratio"]["params"] == Fraction(numel(separable), numel(standard))
    result = network("conv 6 7", input="12x55x55", compare="separable 6 7")
    assert any("1/C_out + 1/K²" in c.description and c.passed for c in result.solution.checks)


# --- bad input ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("layers,needles", [
    ("1x8x8 | conv 6 5 | conv 4 5", ["layer 2", "6×4×4", "H + 2·P ≥ 5"]),
    ("3x32x32 | conv 6 5 groups=2", ["layer 1", "3×32×32", "groups=2 does not divide its 3 input channels"]),
    ("3x32x32 | conv 6 5 kernal=3", ["layer 1", "did you mean 'kernel'"]),
    ("3x32x32 | conv 6", ["layer 1", "needs `kernel`"]),
    ("3x32x32 | conv2dd 6 5", ["unknown layer type", "did you mean 'conv2d'"]),
    ("1x32x32 | conv 6 5 | fc 10 | conv 3 3", ["layer 3", "needs a C×H×W", "vector of 10 features"]),
    ("3x32x32 | fc 10 in=100", ["layer 1", "in=100", "3072"]),
    ("3x32x32 | maxpool 2 p=2", ["layer 1", "at most half the kernel"]),
    ("10x8 | lstm 16 | attention 3", ["layer 2", "10×16", "3 heads do not divide"]),
    ("12x4 | depthwise 6 3", ["layer 1", "multiple of its 12 input channels"]),
    ("3x32x32 | conv 6 5 s=0", ["stride must be at least 1"]),
    ("3x32x32 | fc 10 5", ["fc takes 1 number (out)"]),
    ("5x3 | lstm 4 | embedding 4 vocab=10", ["layer 2", "5×4", "must be the first layer"]),
])
def test_bad_stacks_name_layer_input_and_need(layers, needles):
    message = error(layers)
    for needle in needles:
        assert needle in message, (needle, message)


def test_bad_layer_in_a_yaml_list_points_at_its_line():
    text = """problems:
  - id: bad
    kind: network
    given:
      input: 3x32x32
      layers:
        - {type: conv, out: 6, kernel: 5}
        - {type: conv, out: 6, kernel: 40}
"""
    problem = solve_text(text).problems[0]
    assert problem.error.line == 8 and problem.error.field == "layers.1.kernel"
    assert "layer 2" in problem.error.message


def test_bad_top_level_fields():
    result = network("3x8x8 | conv 2 3", bias_flop=True)
    assert result.error is not None and "did you mean 'bias_flops'" in result.error.message
    result = network("3x8x8 | conv 2 3", flops="gigaflops")
    assert result.error is not None and "flops must be" in result.error.message
    result = network("3x8x8 | conv 2 3", diagram="out.txt")
    assert result.error is not None and ".svg" in result.error.message


# --- the course problems ----------------------------------------------------------------------------------


def _course(file_name: str) -> dict:
    result = solve_text((REPO / "problems" / "course" / file_name).read_text(), file_name)
    return {p.id: p for p in result.problems if p.kind == "network"}


def test_course_problems_lenet_both_readings():
    problems = _course("001-mandatory-assignment.yaml")
    for size, problem_id in ((28, "1ab-lenet-28x28"), (32, "1ab-lenet-32x32")):
        found = problems[problem_id].answers
        features = out_shape(nn.Sequential(nn.Conv2d(1, 6, 5), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5),
                                           nn.MaxPool2d(2), nn.Flatten()), 1, size, size)[0]
        model = [nn.Conv2d(1, 6, 5), nn.Conv2d(6, 16, 5), nn.Linear(features, 120), nn.Linear(120, 84),
                 nn.Linear(84, 10)]
        fc_input = next(r for r in found["layers"] if r["type"] == "flatten")["output"]
        assert fc_input == [features] == [256 if size == 28 else 400]
        assert [r["filter_shape"] for r in found["layers"] if r["type"] == "conv"] == [[1, 5, 5], [6, 5, 5]]
        assert found["totals"]["params"] == numel(*model)


def test_course_problems_exam_and_theory():
    exam = _course("004-final-exam.yaml")
    assert exam["1a-i-mlp-params"].answers["totals"]["params"] == 45  # 5·(2+1) + 5·(5+1), and torch above
    assert exam["3a-network-unknowns"].answers["d1"] == 12
    assert exam["3b-depthwise-separable"].answers["ratio"]["flops"] == Fraction(55, 294)
    theory = _course("002-cnn-rnn-theory.yaml")["1.1c-i-conv1d-shape"].answers
    conv = nn.Conv1d(2, 1, 3, stride=2, bias=False)
    assert theory["layers"][0]["output"] == out_shape(conv, 2, 5) and theory["totals"]["weights"] == numel(conv)
    assignment = _course("000-cnn-rnn-assignment.yaml")["1-cnn-weights-shapes-rf"].answers
    model = nn.Sequential(nn.Conv2d(1, 8, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 16, 3, stride=2),
                          nn.ReLU(), nn.Flatten())
    c, h, w = out_shape(model[:3], 1, 84, 84)
    assert assignment["layers"][2]["output"] == [h, w, c]
    assert assignment["totals"]["params"] == numel(model) + numel(nn.Linear(out_shape(model, 1, 84, 84)[0], 10))


def test_every_problem_file_with_network_problems_solves():
    from solver.pipeline import solve_problem_set
    from solver.spec import load_problem_set

    for folder in ("course", "examples"):
        for path in sorted((REPO / "problems" / folder).glob("*.yaml")):
            problem_set = load_problem_set(path.read_text(), path.name)
            ids = {str(p.get("id")) for p in problem_set.problems if p.get("kind") == "network"}
            if not ids:
                continue
            result = solve_problem_set(problem_set, only=ids)
            failed = [(p.id, str(p.error)) for p in result.problems if p.error]
            assert not failed, failed


# --- output ---------------------------------------------------------------------------------------------


SMALL = """problems:
  - id: small
    kind: network
    title: A tiny convolutional stack
    given:
      layers: "1x6x6 | conv 2 3 | maxpool 2 | fc 3"
"""


def test_rendered_worked_example_exact_text():
    text = render_text(solve_text(SMALL))
    # Reviewed by hand: 1×6×6 → conv 3×3 → 2×4×4 (18 + 2 parameters), pool → 2×2×2, fc 8 → 3.
    expected = (REPO / "tests" / "kinds" / "test_network_expected.txt").read_text()
    assert text == expected


def test_diagram_file_and_markdown_figure(tmp_path):
    from typer.testing import CliRunner

    from solver.cli import build_app

    target = tmp_path / "key_files" / "lenet.svg"  # the figures folder beside the key (SPEC §6)
    spec = "1x32x32 | conv 6 5 | relu | maxpool 2 | conv 16 5 | maxpool 2 | fc 120 | fc 84 | fc 10"
    run = CliRunner().invoke(build_app("network"), ["network", spec, "--diagram", "lenet.svg", "--format", "md",
                                                    "-o", str(tmp_path / "key.md")])
    assert run.exit_code == 0, run.output
    svg = target.read_text()
    assert "<svg" in svg and "16×5×5" in svg
    key = (tmp_path / "key.md").read_text()
    assert "![block diagram" in key
    assert list((tmp_path / "key_files").glob("*.svg"))


def test_numeric_network_command_imports_nothing_heavy():
    code = ("import sys\nfrom solver.cli import main\n"
            "try:\n    main(['network', '1x32x32 | conv 6 5 | maxpool 2 | fc 10', '--format', 'json'])\n"
            "except SystemExit:\n    pass\n"
            "heavy = [m for m in ('numpy', 'sympy', 'torch', 'matplotlib') if m in sys.modules]\n"
            "sys.stderr.write(repr(heavy))\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert run.stderr.strip().endswith("[]"), run.stderr
