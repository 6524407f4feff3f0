"""Kind `network` against PyTorch, the independent oracle.

Random layer stacks are written twice from one description: as dlsolve's layer language, and as
real torch modules built with PyTorch's own defaults (a pool's stride is left to torch when the
description gives none). For every stack torch runs first:
  - if torch accepts it, dlsolve must agree on every row's output shape, its parameter count
    (sum of p.numel()) and its FLOPs (torch.utils.flop_counter.FlopCounterMode, which counts
    2 per multiply-accumulate and no bias adds — dlsolve's default convention);
  - if torch rejects it, dlsolve must reject it too, naming the same layer.
FlopCounterMode does not see inside nn.LSTM (a fused kernel), so LSTM FLOPs are checked against
an LSTM written out with F.linear, itself checked against nn.LSTM's outputs.
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass, field

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from solver.pipeline import solve_problem  # noqa: E402
from solver.spec import LineMap  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")


ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "gelu": nn.GELU, "elu": nn.ELU,
               "silu": nn.SiLU, "leaky-relu": nn.LeakyReLU}
CONV = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}
CONV_T = {1: nn.ConvTranspose1d, 2: nn.ConvTranspose2d, 3: nn.ConvTranspose3d}
MAXPOOL = {1: nn.MaxPool1d, 2: nn.MaxPool2d, 3: nn.MaxPool3d}
AVGPOOL = {1: nn.AvgPool1d, 2: nn.AvgPool2d, 3: nn.AvgPool3d}
BATCHNORM = {1: nn.BatchNorm1d, 2: nn.BatchNorm2d, 3: nn.BatchNorm3d}
GLOBAL_AVG = {1: nn.AdaptiveAvgPool1d, 2: nn.AdaptiveAvgPool2d, 3: nn.AdaptiveAvgPool3d}
RECURRENT = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


# --- torch wrappers for the sequence layers ---------------------------------------------------------


class Recurrent(nn.Module):
    def __init__(self, cell, last_only):
        super().__init__()
        self.cell = cell
        self.last_only = last_only

    def forward(self, x):
        out = self.cell(x)[0]
        return out[:, -1] if self.last_only else out


class SelfAttention(nn.Module):
    def __init__(self, attention):
        super().__init__()
        self.attention = attention

    def forward(self, x):
        return self.attention(x, x, x)[0]  # need_weights=True: the path FlopCounterMode counts


class SequenceBatchNorm(nn.Module):
    """BatchNorm1d over the features of a (N, T, F) sequence."""

    def __init__(self, features):
        super().__init__()
        self.norm = nn.BatchNorm1d(features)

    def forward(self, x):
        return self.norm(x.transpose(1, 2)).transpose(1, 2)


# --- random stacks ------------------------------------------------------------------------------------


@dataclass
class Stack:
    input: list
    segments: list = field(default_factory=list)  # dlsolve spelling, one per layer
    rows: list = field(default_factory=list)  # (user layer number, torch module) per dlsolve row
    failed_at: int | None = None  # the first layer torch rejects
    tokens: bool = False

    def example(self):
        if self.tokens:
            return torch.randint(0, 5, (1, self.input[0]))
        return torch.rand(1, *self.input)


def _try(stack: Stack, segment: str, modules: list, x):
    """Add a layer if torch accepts it on x; returns the new x, or None when torch refuses."""
    number = len(stack.segments) + 1
    stack.segments.append(segment)
    try:
        for module in modules:
            module.eval()
            with torch.no_grad():
                x = module(x)
    except (RuntimeError, ValueError, AssertionError):
        stack.failed_at = number
        return None
    stack.rows += [(number, module) for module in modules]
    return x


def _opt(rng, text: str, value, default) -> str:
    """A field written out, or left to the default, at random."""
    if value == default and rng.random() < 0.6:
        return ""
    return f" {text}={value}"


def _size(rng, dims: int, low: int, high: int):
    if dims > 1 and rng.random() < 0.25:
        values = [rng.randint(low, high) for _ in range(dims)]
        return values, "x".join(map(str, values))
    value = rng.randint(low, high)
    return value, str(value)


def _map_layer(rng, stack: Stack, x):
    dims = x.dim() - 2
    channels = x.shape[1]
    kind = rng.choice(["conv"] * 5 + ["depthwise", "pointwise", "separable", "maxpool", "maxpool", "avgpool",
                                      "convtranspose", "batchnorm", "layernorm", "act", "dropout"])
    bias = rng.random() < 0.7
    if kind in ("conv", "depthwise", "separable", "convtranspose"):
        kernel, kernel_text = _size(rng, dims, 1, 5)
        stride = rng.randint(1, 3) if rng.random() < 0.5 else 1
        padding = rng.randint(0, 2)
        dilation = 2 if rng.random() < 0.2 else 1
        tail = (_opt(rng, "s", stride, 1) + _opt(rng, "dilation", dilation, 1)
                + _opt(rng, "bias", str(bias).lower(), "true"))
        if kind == "conv":
            out = rng.randint(1, 8)
            common = [g for g in range(2, 5) if channels % g == 0 and out % g == 0]
            groups = rng.choice(common) if common and rng.random() < 0.4 else 1
            same = stride == 1 and rng.random() < 0.15
            pad_text = " padding=same" if same else _opt(rng, "p", padding, 0)
            module = CONV[dims](channels, out, kernel, stride=stride, padding="same" if same else padding,
                                dilation=dilation, groups=groups, bias=bias)
            return _try(stack, f"conv {out} {kernel_text}{pad_text}{tail}" + _opt(rng, "groups", groups, 1),
                        [module], x)
        if kind == "depthwise":
            multiplier = rng.choice([1, 1, 2])
            out = channels * multiplier
            short = multiplier == 1 and rng.random() < 0.5  # one number: the kernel, out = C_in
            head = f"depthwise {kernel_text}" if short else f"depthwise {out} {kernel_text}"
            module = CONV[dims](channels, out, kernel, stride=stride, padding=padding, dilation=dilation,
                                groups=channels, bias=bias)
            return _try(stack, head + _opt(rng, "p", padding, 0) + tail, [module], x)
        if kind == "separable":
            out = rng.randint(1, 8)
            modules = [CONV[dims](channels, channels, kernel, stride=stride, padding=padding, dilation=dilation,
                                  groups=channels, bias=bias),
                       CONV[dims](channels, out, 1, bias=bias)]
            return _try(stack, f"separable {out} {kernel_text}" + _opt(rng, "p", padding, 0) + tail, modules, x)
        out = rng.randint(1, 6)
        extra = rng.randint(0, max(stride, dilation) - 1) if rng.random() < 0.5 else 0
        module = CONV_T[dims](channels, out, kernel, stride=stride, padding=padding, output_padding=extra,
                              dilation=dilation, bias=bias)
        return _try(stack, f"convtranspose {out} {kernel_text}" + _opt(rng, "p", padding, 0)
                    + _opt(rng, "output_padding", extra, 0) + tail, [module], x)
    if kind == "pointwise":
        out = rng.randint(1, 8)
        return _try(stack, f"pointwise {out}" + _opt(rng, "bias", str(bias).lower(), "true"),
                    [CONV[dims](channels, out, 1, bias=bias)], x)
    if kind in ("maxpool", "avgpool"):
        kernel, kernel_text = _size(rng, dims, 1, 3)
        stride = rng.choice([None, None, 1, 2, 3])
        padding = rng.randint(0, 1)
        ceil = rng.random() < 0.3
        text = f"{kind} {kernel_text}" + ("" if stride is None else f" stride={stride}")
        text += _opt(rng, "padding", padding, 0) + _opt(rng, "ceil_mode", str(ceil).lower(), "false")
        if kind == "maxpool":
            dilation = 2 if rng.random() < 0.2 else 1
            module = MAXPOOL[dims](kernel, stride=stride, padding=padding, dilation=dilation, ceil_mode=ceil)
            text += _opt(rng, "d", dilation, 1)
        else:
            module = AVGPOOL[dims](kernel, stride=stride, padding=padding, ceil_mode=ceil)
        return _try(stack, text, [module], x)
    if kind == "batchnorm":
        return _try(stack, "batchnorm", [BATCHNORM[dims](channels)], x)
    if kind == "layernorm":
        return _try(stack, "layernorm", [nn.LayerNorm(list(x.shape[1:]))], x)
    if kind == "act":
        name = rng.choice(sorted(ACTIVATIONS))
        return _try(stack, name, [ACTIVATIONS[name]()], x)
    return _try(stack, "dropout 0.5", [nn.Dropout(0.5)], x)


def _vector_layer(rng, stack: Stack, x):
    features = x.shape[-1]
    kind = rng.choice(["fc", "fc", "fc", "act", "batchnorm", "layernorm", "dropout"])
    if kind == "fc":
        out = rng.randint(1, 12)
        bias = rng.random() < 0.8
        module = nn.Linear(features, out, bias=bias)
        return _try(stack, f"fc {out}" + _opt(rng, "bias", str(bias).lower(), "true"), [module], x)
    if kind == "batchnorm":
        module = SequenceBatchNorm(features) if x.dim() == 3 else nn.BatchNorm1d(features)
        return _try(stack, "batchnorm", [module], x)
    if kind == "layernorm":
        return _try(stack, "layernorm", [nn.LayerNorm(features)], x)
    if kind == "act":
        name = rng.choice(sorted(ACTIVATIONS))
        return _try(stack, name, [ACTIVATIONS[name]()], x)
    return _try(stack, "dropout", [nn.Dropout()], x)


def map_stack(rng) -> Stack:
    dims = rng.choice([1, 2, 2, 2, 3])
    low, high = (3, 9) if dims == 3 else (5, 26)
    sizes = [rng.randint(low, high)] * dims if rng.random() < 0.6 else [rng.randint(low, high) for _ in range(dims)]
    stack = Stack([rng.randint(1, 4)] + sizes)
    x = stack.example()
    for _ in range(rng.randint(1, 5)):
        x = _map_layer(rng, stack, x)
        if x is None:
            return stack
    tail = rng.choice(["none", "gap", "flatten", "fc"])
    if tail == "gap":
        x = _try(stack, "globalavgpool", [GLOBAL_AVG[dims](1)], x)
    elif tail == "flatten":
        x = _try(stack, "flatten", [nn.Flatten()], x)
    elif tail == "fc":
        out = rng.randint(1, 10)
        x = _try(stack, f"fc {out}", [nn.Sequential(nn.Flatten(), nn.Linear(x[0].numel(), out))], x)
    if tail in ("gap", "flatten", "fc") and x is not None:
        x = x.flatten(1)
        if tail == "gap":
            stack.segments.append("flatten")
            stack.rows.append((len(stack.segments), nn.Flatten()))
        for _ in range(rng.randint(0, 2)):
            x = _vector_layer(rng, stack, x)
    return stack


def vector_stack(rng) -> Stack:
    stack = Stack([rng.randint(1, 20)])
    x = stack.example()
    for _ in range(rng.randint(1, 5)):
        x = _vector_layer(rng, stack, x)
    return stack


def sequence_stack(rng) -> Stack:
    steps = rng.randint(1, 7)
    if rng.random() < 0.3:
        stack = Stack([steps], tokens=True)
        width = rng.randint(1, 8)
        x = _try(stack, f"embedding {width} vocab=5", [nn.Embedding(5, width)], stack.example())
    else:
        stack = Stack([steps, rng.randint(1, 8)])
        x = stack.example()
    for count in range(rng.randint(1, 4)):
        if x is None or x.dim() == 2:
            break
        width = x.shape[-1]
        # The first layer after the input is recurrent or attention: a T×F input followed only by
        # fc layers reads as a C×L map in dlsolve (flattened), not as a sequence.
        choices = ["rnn", "lstm", "gru", "attention"] + (["fc", "layernorm", "batchnorm", "act"] if count else [])
        kind = rng.choice(choices)
        if kind in RECURRENT:
            hidden, stacked = rng.randint(1, 6), rng.choice([1, 1, 2, 3])
            both, bias, last = rng.random() < 0.3, rng.random() < 0.8, rng.random() < 0.2
            cell = RECURRENT[kind](width, hidden, num_layers=stacked, bidirectional=both, bias=bias, batch_first=True)
            text = (f"{kind} {hidden}" + _opt(rng, "num_layers", stacked, 1)
                    + _opt(rng, "bidirectional", str(both).lower(), "false")
                    + _opt(rng, "bias", str(bias).lower(), "true")
                    + (" return_sequences=false" if last else ""))
            x = _try(stack, text, [Recurrent(cell, last)], x)
        elif kind == "attention":
            heads = rng.choice([h for h in range(1, 5)])
            bias = rng.random() < 0.8
            try:
                module = SelfAttention(nn.MultiheadAttention(width, heads, bias=bias, batch_first=True))
            except AssertionError:  # torch refuses heads that do not divide the width
                stack.segments.append(f"attention {heads}")
                stack.failed_at = len(stack.segments)
                return stack
            x = _try(stack, f"attention {heads}" + _opt(rng, "bias", str(bias).lower(), "true"), [module], x)
        else:
            x = _vector_layer(rng, stack, x) if kind != "act" else _try(stack, "tanh", [nn.Tanh()], x)
    return stack


# --- running both sides -------------------------------------------------------------------------------


def solve(stack: Stack, as_list: bool = False):
    layers = stack.segments if as_list else " | ".join(stack.segments)
    given = {"input": "x".join(map(str, stack.input)), "layers": layers}
    problem = {"id": "stack", "kind": "network", "given": given, "find": []}
    return solve_problem(problem, file="test", lines=LineMap(), prefix=(), decimals=None)


def torch_rows(stack: Stack):
    """(output shape, parameters, FLOPs) of each row, each module run on its own input."""
    x = stack.example()
    measured = []
    for _, module in stack.rows:
        module.eval()
        # Gradients stay on: without them nn.MultiheadAttention takes a fused fast path that
        # FlopCounterMode cannot see into.
        with FlopCounterMode(display=False) as counter:
            y = module(x).detach()
        params = sum(p.numel() for p in module.parameters())
        measured.append((list(y.shape[1:]), params, counter.get_total_flops(), module))
        x = y
    return measured


def uses_lstm(module) -> bool:
    return isinstance(module, Recurrent) and isinstance(module.cell, nn.LSTM)


def check_stack(stack: Stack, as_list: bool) -> None:
    result = solve(stack, as_list)
    if stack.failed_at is not None:
        assert result.error is not None, f"torch rejects layer {stack.failed_at} of {stack.segments}"
        assert f"layer {stack.failed_at} " in result.error.message, (result.error.message, stack.segments)
        return
    assert result.error is None, (str(result.error), stack.segments)
    rows = result.answers["layers"]
    measured = torch_rows(stack)
    assert len(rows) == len(measured), (stack.segments, [r["name"] for r in rows])
    for row, (shape, params, flops, module) in zip(rows, measured):
        assert row["output"] == shape, (row["name"], stack.segments)
        assert row["params"] == params, (row["name"], stack.segments)
        assert row["weights"] + row["biases"] == params
        if not uses_lstm(module):  # FlopCounterMode cannot see inside nn.LSTM (tested below)
            assert row["flops"] == flops, (row["name"], stack.segments, row["flops"], flops)
    totals = result.answers["totals"]
    assert totals["params"] == sum(p for _, p, _, _ in measured)


GENERATORS = {"map": map_stack, "vector": vector_stack, "sequence": sequence_stack}
SEEDS = [(kind, seed) for kind, count in (("map", 260), ("vector", 40), ("sequence", 80)) for seed in range(count)]


@functools.lru_cache(maxsize=None)
def stack_for(kind: str, seed: int) -> Stack:
    return GENERATORS[kind](random.Random(f"{kind}-{seed}"))


@pytest.mark.parametrize("kind,seed", SEEDS)
def test_random_stack_matches_torch(kind, seed):
    check_stack(stack_for(kind, seed), as_list=seed % 4 == 0)


def test_enough_random_stacks_are_valid():
    """The comparison above must cover at least 300 stacks torch accepts (and some it rejects)."""
    valid = sum(stack_for(kind, seed).failed_at is None for kind, seed in SEEDS)
    assert valid >= 300, valid
    assert len(SEEDS) - valid >= 20


# --- LSTM FLOPs through an explicit implementation --------------------------------------------------------


def explicit_lstm(lstm: nn.LSTM, x):
    """nn.LSTM written out with F.linear, so that FlopCounterMode sees every product."""
    directions = 2 if lstm.bidirectional else 1
    layer_input = x
    for layer in range(lstm.num_layers):
        outputs = []
        for direction in range(directions):
            suffix = f"_l{layer}" + ("_reverse" if direction else "")
            w_ih, w_hh = getattr(lstm, "weight_ih" + suffix), getattr(lstm, "weight_hh" + suffix)
            b_ih = getattr(lstm, "bias_ih" + suffix) if lstm.bias else None
            b_hh = getattr(lstm, "bias_hh" + suffix) if lstm.bias else None
            h = x.new_zeros(x.shape[0], lstm.hidden_size)
            c = x.new_zeros(x.shape[0], lstm.hidden_size)
            steps = range(x.shape[1] - 1, -1, -1) if direction else range(x.shape[1])
            out = [None] * x.shape[1]
            for t in steps:
                gates = F.linear(layer_input[:, t], w_ih, b_ih) + F.linear(h, w_hh, b_hh)
                i, f, g, o = gates.chunk(4, dim=1)
                c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                h = torch.sigmoid(o) * torch.tanh(c)
                out[t] = h
            outputs.append(torch.stack(out, dim=1))
        layer_input = torch.cat(outputs, dim=2)
    return layer_input


@pytest.mark.parametrize("features,hidden,stacked,both,bias", [
    (3, 4, 1, False, True), (5, 2, 2, True, True), (2, 3, 3, False, False), (4, 4, 2, True, False)])
def test_lstm_flops_against_explicit_lstm(features, hidden, stacked, both, bias):
    torch.manual_seed(0)
    lstm = nn.LSTM(features, hidden, num_layers=stacked, bidirectional=both, bias=bias, batch_first=True)
    x = torch.randn(1, 6, features)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        mine = explicit_lstm(lstm, x)
    assert torch.allclose(mine, lstm(x)[0], atol=1e-6)  # the oracle is a faithful LSTM
    text = (f"lstm {hidden} num_layers={stacked} bidirectional={str(both).lower()} bias={str(bias).lower()}")
    result = solve(Stack([6, features], [text]))
    row = result.answers["layers"][0]
    assert row["flops"] == counter.get_total_flops()
    assert row["params"] == sum(p.numel() for p in lstm.parameters())


# --- published networks ----------------------------------------------------------------------------------


def _vgg16():
    layers, channels = [], 3
    for width, repeat in ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3)):
        for _ in range(repeat):
            layers += [nn.Conv2d(channels, width, 3, padding=1), nn.ReLU()]
            channels = width
        layers.append(nn.MaxPool2d(2))
    layers += [nn.Flatten(), nn.Linear(512 * 7 * 7, 4096), nn.ReLU(), nn.Dropout(), nn.Linear(4096, 4096),
               nn.ReLU(), nn.Dropout(), nn.Linear(4096, 1000)]
    return nn.Sequential(*layers)


def _alexnet_torchvision():
    return nn.Sequential(
        nn.Conv2d(3, 64, 11, stride=4, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(), nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(),
        nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2), nn.Flatten(),
        nn.Dropout(), nn.Linear(256 * 6 * 6, 4096), nn.ReLU(), nn.Dropout(), nn.Linear(4096, 4096), nn.ReLU(),
        nn.Linear(4096, 1000))


def _mobilenet_v1():
    def block(cin, cout, stride):
        return [nn.Conv2d(cin, cin, 3, stride, 1, groups=cin, bias=False), nn.BatchNorm2d(cin), nn.ReLU(),
                nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]
    layers = [nn.Conv2d(3, 32, 3, 2, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU()]
    channels = 32
    blocks = [(1, 64), (2, 128), (1, 128), (2, 256), (1, 256), (2, 512)] + [(1, 512)] * 5 + [(2, 1024), (1, 1024)]
    for stride, out in blocks:
        layers += block(channels, out, stride)
        channels = out
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(1024, 1000))


def _example(file_name: str, problem_id: str):
    from helpers import REPO, solve_text

    result = solve_text((REPO / "problems" / "examples" / file_name).read_text(), file_name)
    problem = next(p for p in result.problems if p.id == problem_id)
    assert problem.error is None, problem.error
    return problem.answers


@pytest.mark.parametrize("file_name,problem_id,published,build,size", [
    ("network-vgg16.yaml", "vgg16", 138_357_544, _vgg16, 224),  # torchvision's vgg16
    ("network-alexnet.yaml", "alexnet-torchvision", 61_100_840, _alexnet_torchvision, 224),
    ("network-mobilenet.yaml", "mobilenet-v1", 4_231_976, _mobilenet_v1, 224),  # Keras' trainable count
])
def test_published_totals(file_name, problem_id, published, build, size):
    answers = _example(file_name, problem_id)
    model = build().eval()
    assert answers["totals"]["params"] == published == sum(p.numel() for p in model.parameters())
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(torch.zeros(1, 3, size, size))
    assert answers["totals"]["flops"] == counter.get_total_flops()


def test_original_alexnet_grouped():
    """Krizhevsky et al.'s two-GPU layers are grouped convolutions; 60,965,224 parameters."""
    answers = _example("network-alexnet.yaml", "alexnet-original")
    model = nn.Sequential(
        nn.Conv2d(3, 96, 11, 4), nn.MaxPool2d(3, 2), nn.Conv2d(96, 256, 5, padding=2, groups=2), nn.MaxPool2d(3, 2),
        nn.Conv2d(256, 384, 3, padding=1), nn.Conv2d(384, 384, 3, padding=1, groups=2),
        nn.Conv2d(384, 256, 3, padding=1, groups=2), nn.MaxPool2d(3, 2), nn.Flatten(),
        nn.Linear(9216, 4096), nn.Linear(4096, 4096), nn.Linear(4096, 1000))
    assert answers["totals"]["params"] == sum(p.numel() for p in model.parameters()) == 60_965_224
