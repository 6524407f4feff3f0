"""Kind `network`: the block spellings (YAML and compact agree), dotted row names, repeats, frozen
blocks, dtype, axis=last, the messages where branches do not join, and receptive fields through
branches measured in PyTorch."""

from __future__ import annotations

import random

import pytest

from solver.errors import BadInput
from solver.pipeline import solve_problem
from solver.spec import LineMap


def solve(given: dict):
    problem = {"id": "p", "kind": "network", "given": given, "find": []}
    return solve_problem(problem, file="test", lines=LineMap(), prefix=(), decimals=None)


def answers(given: dict) -> dict:
    result = solve(given)
    assert result.error is None, result.error
    return result.answers


def error(given: dict) -> str:
    result = solve(given)
    assert isinstance(result.error, BadInput), result.error
    return str(result.error)


BASIC = ("conv 16 3 p=1 bias=false | batchnorm | relu | "
         "residual(conv 32 3 s=2 p=1 bias=false | batchnorm | relu | conv 32 3 p=1 bias=false | batchnorm ; "
         "conv 32 1 s=2 bias=false | batchnorm) relu | "
         "concat( ; batchnorm | conv 8 3 p=1 ; maxpool 3 s=1 p=1 | conv 4 1) repeat=2 | globalavgpool | fc 10")

BASIC_YAML = [
    "conv 16 3 p=1 bias=false", {"type": "batchnorm"}, "relu",
    {"type": "residual", "activation": "relu",
     "layers": ["conv 32 3 s=2 p=1 bias=false", "batchnorm", "relu", "conv 32 3 p=1 bias=false", "batchnorm"],
     "shortcut": "conv 32 1 s=2 bias=false | batchnorm"},
    {"type": "concat", "repeat": 2, "branches": [[], ["batchnorm", "conv 8 3 p=1"], "maxpool 3 s=1 p=1 | conv 4 1"]},
    "globalavgpool", {"type": "fc", "out": 10},
]


def test_yaml_and_compact_spellings_agree():
    compact = answers({"input": "3x16x16", "layers": BASIC})
    listed = answers({"input": "3x16x16", "layers": BASIC_YAML})
    assert compact["layers"] == listed["layers"] and compact["totals"] == listed["totals"]


def test_dotted_names_in_order():
    names = [row["name"] for row in answers({"input": "3x16x16", "layers": BASIC})["layers"]]
    assert names == [
        "conv1", "batchnorm2", "relu3",
        "block4.conv1", "block4.batchnorm2", "block4.relu3", "block4.conv4", "block4.batchnorm5",
        "block4.shortcut.conv1", "block4.shortcut.batchnorm2", "block4.add", "block4.relu",
        "block5.1.branch2.batchnorm1", "block5.1.branch2.conv2", "block5.1.branch3.maxpool1",
        "block5.1.branch3.conv2", "block5.1.concat",
        "block5.2.branch2.batchnorm1", "block5.2.branch2.conv2", "block5.2.branch3.maxpool1",
        "block5.2.branch3.conv2", "block5.2.concat",
        "globalavgpool6", "fc7"]


def test_concat_channels_and_repeat_infers_input_channels():
    rows = {row["name"]: row for row in answers({"input": "3x16x16", "layers": BASIC})["layers"]}
    assert rows["block5.1.concat"]["output"] == [32 + 8 + 4, 8, 8]
    assert rows["block5.2.concat"]["output"] == [44 + 8 + 4, 8, 8]
    # The second copy's batch norm and 3×3 conv see 44 channels: their own weights.
    assert rows["block5.2.branch2.conv2"]["filter_shape"] == [44, 3, 3]
    assert rows["block5.2.branch2.batchnorm1"]["params"] == 2 * 44
    assert rows["block5.2.branch2.batchnorm1"]["buffers"] == 2 * 44


def test_named_block_and_nested_blocks():
    layers = [{"type": "residual", "name": "stage1", "layers": [
        "conv 4 3 p=1", {"type": "concat", "branches": ["conv 2 1", "conv 2 3 p=1"]}]}]
    names = [row["name"] for row in answers({"input": "4x8x8", "layers": layers})["layers"]]
    assert names == ["stage1.conv1", "stage1.block2.branch1.conv1", "stage1.block2.branch2.conv1",
                     "stage1.block2.concat", "stage1.add"]


def test_frozen_block_and_layer():
    given = {"input": "3x8x8", "layers": "conv 4 3 p=1 frozen=true | residual(conv 4 3 p=1 | batchnorm) frozen=true "
                                         "| fc 5"}
    totals = answers(given)["totals"]
    assert totals["params"] == (3 * 9 * 4 + 4) + (4 * 9 * 4 + 4) + 8 + (4 * 64 * 5 + 5)
    assert totals["trainable"] == 4 * 64 * 5 + 5
    assert totals["buffers"] == 8


@pytest.mark.parametrize("dtype, size", [("float32", 4), ("float16", 2), ("bfloat16", 2), ("float64", 8)])
def test_activation_bytes_per_dtype(dtype, size):
    totals = answers({"input": "3x8x8", "layers": "conv 4 3 p=1 | relu | maxpool 2 | fc 10", "dtype": dtype})["totals"]
    assert totals["activation_bytes"] == size * (4 * 64 + 4 * 64 + 4 * 16 + 10)


def test_bad_dtype():
    assert "dtype" in error({"input": "3x8x8", "layers": "fc 2", "dtype": "int8"})


def test_axis_last_is_pytorch_linear_and_layernorm():
    torch = pytest.importorskip("torch")
    from torch.utils.flop_counter import FlopCounterMode

    torch.set_num_threads(1)
    rng = random.Random(5)
    for _ in range(50):
        dims = [rng.randint(1, 6) for _ in range(rng.randint(2, 3))]
        out = rng.randint(1, 9)
        rows = answers({"input": "x".join(map(str, dims)),
                        "layers": f"layernorm axis=last | fc {out} axis=last"})["layers"]
        norm, linear = torch.nn.LayerNorm(dims[-1]), torch.nn.Linear(dims[-1], out)
        y = linear(norm(torch.rand(1, *dims)))
        assert rows[0]["params"] == sum(p.numel() for p in norm.parameters())
        assert rows[1]["params"] == sum(p.numel() for p in linear.parameters())
        assert rows[1]["output"] == list(y.shape[1:])
        with FlopCounterMode(display=False) as counter:
            linear(torch.rand(1, *dims))
        assert rows[1]["flops"] == counter.get_total_flops()


def test_whole_input_reading_is_stated():
    result = solve({"input": "10x512", "layers": "layernorm"})
    assert result.answers["totals"]["params"] == 10_240
    assert any("axis=last" in text for text in result.solution.conventions)


# --- messages ----------------------------------------------------------------------------------


def test_residual_mismatch_names_both_shapes_and_layers():
    message = error({"input": "3x8x8", "layers": "residual(conv 4 3 p=1 | batchnorm)"})
    assert "4×8×8" in message and "3×8×8" in message and "block1.batchnorm2" in message
    assert "the block input" in message


def test_concat_mismatch_names_both_branches():
    message = error({"input": "3x8x8", "layers": "concat(conv 2 1 ; maxpool 2)"})
    assert "2×8×8" in message and "3×4×4" in message
    assert "block1.branch1.conv1" in message and "block1.branch2.maxpool1" in message


@pytest.mark.parametrize("layers, words", [
    ("residual(conv 3 3 p=1 | conv ? 3)", "states its output"),
    ("residual(conv 3 ? p=1) repeat=2 -> 3x8x8", "repeated block"),
    ("conv 4 ? | residual(conv 4 ? p=1 -> 4x6x6)", "stated output before the block"),
    ("residual(conv 3 3 p=1", "without its `)`"),
    ("conv 3 3) | fc 2", "without its `(`"),
    ("conv(3 3)", "parentheses belong only to blocks"),
    ("residual(conv 3 1 ; conv 3 1 ; conv 3 1)", "at most one shortcut"),
    ("concat(conv 3 1)", "two or more branches"),
    ("residual( ; conv 3 1)", "needs layers"),
    ("residual(conv 3 1) repeat=0", "repeat"),
    ("residual(conv 3 1) foo", "activation"),
    ("residual(residual(conv 3 3 p=1) repeat=1000) repeat=1000", "rows"),
    ("conv ? 3 repeat=2 -> 3x6x6", "repeated"),
    ("upsample 2 mode=bilinear", "2-D"),
    ("conv 3 3 p=8 padding_mode=reflect", "reflect"),
    ("residual(conv 3 3 p=1 | conv 3 3 p=1 -> 3x7x7)", "not the stated output"),
])
def test_block_errors(layers, words):
    assert words in error({"input": "3x8" if "bilinear" in layers else "3x8x8", "layers": layers})


def test_yaml_block_errors():
    assert "layers" in error({"input": "3x8x8", "layers": [{"type": "residual"}]})
    assert "branches" in error({"input": "3x8x8", "layers": [{"type": "concat", "branches": [["conv 2 1"]]}]})
    assert "branches" in error({"input": "3x8x8", "layers": [{"type": "concat", "branches": 3}]})


# --- receptive fields through branches, measured ------------------------------------------------


def _rf_network(rng):
    """A random 2-D network of convolutions and pools in blocks: (compact string, torch items)."""
    torch = pytest.importorskip("torch")
    nn = torch.nn

    def layer(channels):
        kind = rng.choice(["conv", "conv", "dil", "pool"])
        if kind == "pool":
            k, s = rng.choice([2, 3]), rng.choice([1, 2])
            return f"maxpool {k} s={s} p={k // 2 if k == 3 else 0}", nn.AvgPool2d(k, s, k // 2 if k == 3 else 0), channels
        k = rng.choice([1, 3, 5])
        d = 2 if kind == "dil" else 1
        s = rng.choice([1, 1, 2]) if kind == "conv" else 1
        p = d * (k // 2)
        return (f"conv 2 {k} s={s} p={p} d={d}", nn.Conv2d(channels, 2, k, s, p, dilation=d, bias=False), 2)

    def chain(channels, length, depth):
        texts, items = [], []
        for _ in range(length):
            roll = rng.random()
            if depth < 2 and roll < 0.3:
                body_text, body, _ = chain(channels, rng.randint(1, 2), depth + 1)
                body_text = " | ".join(body_text)
                # Shape-keeping body so that the add works: stride 1 with P = D(K − 1)/2.
                k = rng.choice([1, 3, 5])
                conv = nn.Conv2d(channels, channels, k, 1, k // 2, bias=False)
                texts.append(f"residual(conv {channels} {k} p={k // 2})")
                items.append(("res", [conv]))
            elif depth < 2 and roll < 0.5:
                branches, texts_b = [], []
                for _ in range(rng.randint(2, 3)):
                    k = rng.choice([1, 3, 5, 7])
                    d = rng.choice([1, 2])
                    branches.append([nn.Conv2d(channels, 2, k, 1, d * (k // 2), dilation=d, bias=False)])
                    texts_b.append(f"conv 2 {k} p={d * (k // 2)} d={d}")
                texts.append(f"concat({' ; '.join(texts_b)})")
                items.append(("cat", branches))
                channels = 2 * len(branches)
            else:
                text, module, channels = layer(channels)
                texts.append(text)
                items.append(module)
        return texts, items, channels

    texts, items, _ = chain(2, rng.randint(2, 5), 0)
    return " | ".join(texts), items


def _run(items, x):
    import torch

    for item in items:
        if isinstance(item, tuple) and item[0] == "res":
            x = _run(item[1], x) + x
        elif isinstance(item, tuple):
            x = torch.cat([_run(branch, x) for branch in item[1]], dim=1)
        else:
            x = item(x)
    return x


def test_receptive_fields_through_branches_against_gradients():
    """Backpropagate from the centre output (all channels) through all-ones weights, max pooling
    replaced by average pooling of the same windows: the input gradient's extent is the field
    (the union over the branches), its centre the field's centre."""
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    rng = random.Random(11)
    checked = 0
    for _ in range(300):
        text, items = _rf_network(rng)
        result = solve({"input": "2x96x96", "layers": text})
        if result.error is not None:
            continue
        with torch.no_grad():
            for module in _modules(items):
                if hasattr(module, "weight"):
                    module.weight.fill_(1.0)
        x = torch.ones(1, 2, 96, 96, requires_grad=True)
        out = _run(items, x)
        size = out.shape[-1]
        if size < 3:
            continue
        centre = size // 2
        (grad,) = torch.autograd.grad(out[0, :, centre, centre].sum(), x)
        used = (grad[0].abs().sum(dim=(0, 2)) > 0).nonzero().flatten()
        low, high = int(used.min()), int(used.max())
        if low == 0 or high == 95:
            continue  # the field reaches the border: its extent is clipped there
        last = result.answers["layers"][-1]
        assert last["rf"] == high - low + 1, (text, last, low, high)
        assert last["start"] + centre * last["jump"] == pytest.approx((low + high) / 2), (text, last)
        checked += 1
    assert checked >= 150


def _modules(items):
    for item in items:
        if isinstance(item, tuple):
            for branch in (item[1] if item[0] == "cat" else [item[1]]):
                yield from _modules(branch)
        else:
            yield item


def test_receptive_field_after_a_transposed_convolution_against_gradients():
    """The field of a transposed convolution's outputs varies with the position; dlsolve gives
    the largest: measured as the widest input-gradient extent over the outputs away from the
    borders (1-D, all-ones weights)."""
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    rng = random.Random(3)
    checked = 0
    for _ in range(100):
        convs = [(rng.choice([1, 3]), rng.choice([1, 2]), rng.choice([1, 2])) for _ in range(rng.randint(0, 2))]
        k, s, p, d = rng.randint(1, 5), rng.randint(1, 4), rng.randint(0, 2), rng.choice([1, 1, 2, 3])
        text = " | ".join([f"conv 1 {a} s={b} d={c}" for a, b, c in convs] + [f"convtranspose 1 {k} s={s} p={p} d={d}"])
        result = solve({"input": "1x80", "layers": text})
        if result.error is not None:
            continue
        modules = [torch.nn.Conv1d(1, 1, a, b, dilation=c, bias=False) for a, b, c in convs]
        modules.append(torch.nn.ConvTranspose1d(1, 1, k, s, p, dilation=d, bias=False))
        x = torch.ones(1, 1, 80, requires_grad=True)
        y = x
        with torch.no_grad():
            for module in modules:
                module.weight.fill_(1.0)
        for module in modules:
            y = module(y)
        widest = 0
        for o in range(y.shape[-1]):
            (grad,) = torch.autograd.grad(y[0, 0, o], x, retain_graph=True)
            used = (grad[0, 0] != 0).nonzero().flatten()
            if len(used) == 0 or int(used.min()) == 0 or int(used.max()) == 79:
                continue
            widest = max(widest, int(used.max() - used.min() + 1))
        if widest == 0:
            continue
        last = result.answers["layers"][-1]
        assert last["rf"] == widest, (text, last, widest)
        assert last["jump"] == pytest.approx(result.answers["layers"][-2]["jump"] / s if convs else 1 / s)
        checked += 1
    assert checked >= 50


def test_diagram_draws_the_branches(tmp_path):
    pytest.importorskip("matplotlib")
    target = tmp_path / "net.svg"
    result = solve({"input": "3x16x16", "layers": BASIC, "diagram": "net.svg"})
    assert result.error is None, result.error
    (figure,) = [f for f in result.solution.figures if f.file == "net.svg"]
    figure.draw(target)  # the kind names the file; the output layer writes it (SPEC §6)
    svg = target.read_text()
    assert svg.count("44×8×8") >= 1 and svg.count("56×8×8") >= 1  # the concat joins, drawn under ‖
    assert "block4.conv1" not in svg and "shortcut" not in svg  # boxes carry short names
    from solver.kinds.network._network_diagram import _Block, _tree

    tree = _tree(_rows())
    blocks = [item for item in tree if isinstance(item, _Block)]
    assert [b.name for b in blocks] == ["block4", "block5.1", "block5.2"]
    assert [label for label, _ in blocks[0].branches] == ["layers", "shortcut"]
    assert [label for label, _ in blocks[1].branches] == ["branch1", "branch2", "branch3"]
    assert blocks[1].branches[0][1] == []  # the identity


def _rows():
    """The analysed rows of BASIC (the figure's input)."""
    from solver.kinds.network.network import NetworkInput, _analyse, _input_shape, _read_network
    from solver.kinds.network._network_layers import Options
    from solver.steps import Solution

    given = NetworkInput(input="3x16x16", layers=BASIC)
    sizes, specs = _read_network(given.layers, "layers", given.input)
    return _analyse(Solution(), specs, _input_shape(sizes, specs, "chw"), Options())


def test_unknown_before_a_block_is_solved_through_it():
    assert answers({"input": "3x8x8", "layers": "conv 6 k | concat(conv 4 1 ; ) -> 10x6x6"})["k"] == 3
    # A block changes the channels, so an unknown out before it cannot be read off the block's output.
    assert "cannot be found" in error({"input": "3x8x8", "layers": "conv ? 3 | concat(conv 4 1 ; ) -> 10x6x6"})


def test_unknowns_inside_blocks_are_solved_and_addressed_by_their_place():
    found = answers({"input": "3x8x8", "layers": "residual(conv 3 ? p=1 -> 3x8x8 | conv n 3 p=1 -> 3x8x8) relu | "
                                                 "concat(conv 2 k -> 2x6x6 ; maxpool ? s=1 -> 3x6x6)"})
    assert found["block1.layer1.kernel"] == 3 and found["block1.layer2.out"] == found["n"] == 3
    assert found["block2.branch1.layer1.kernel"] == found["k"] == 3
    assert found["block2.branch2.layer1.kernel"] == 3
    assert found["layers"][-1]["output"] == [5, 6, 6]
    # A symbol solved on the main chain is known inside a block.
    assert answers({"input": "3x8x8", "layers": "conv a 3 -> 5x6x6 | residual(conv a 3 p=1)"})["a"] == 5


def test_transformer_encoder_layer_as_residual_blocks():
    torch = pytest.importorskip("torch")
    rows = answers({"input": "50x512", "layers": "residual(attention 8) | layernorm | "
                                                 "residual(fc 2048 | relu | fc 512) | layernorm"})
    layer = torch.nn.TransformerEncoderLayer(512, 8, 2048)
    assert rows["totals"]["params"] == sum(p.numel() for p in layer.parameters())
    assert rows["layers"][-1]["output"] == [50, 512]
