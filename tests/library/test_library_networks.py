"""The library's `network` problems against the same networks built in PyTorch.

Each problem's layer stack is written out here by hand as torch modules, one module per row of
the answer (not parsed from the problem's string), then run on a tensor of the input's shape.
Per row: the output shape from PyTorch, the parameters from `sum(p.numel())`, the
multiply-accumulates from each module's own sizes (conv: outputs × C_in/groups × K²; linear:
outputs × inputs; LSTM/GRU: T·gates·H(D + H) per layer; attention: 4nd² + 2n²d); FLOPs = 2·MACs.
Receptive fields are measured by backpropagating from one output unit through a copy of the
network with all-ones weights (max-pooling replaced by average pooling of the same geometry)
and measuring the extent of the input gradient.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from library_branched import BRANCHED, torch_rows
from library_support import library_keys


class Flat(nn.Sequential):
    """A fully connected layer with the flatten the answer leaves implicit (one row)."""

    def __init__(self, out: int):
        super().__init__(nn.Flatten(), nn.LazyLinear(out))


class Recurrent(nn.Module):
    """nn.LSTM / nn.GRU (batch first) as one row: the sequence of outputs, or the last one."""

    def __init__(self, cell: str, inputs: int, hidden: int, layers: int = 1, last_only: bool = False,
                 single_bias: bool = False):
        super().__init__()
        self.rnn = {"lstm": nn.LSTM, "gru": nn.GRU}[cell](inputs, hidden, layers, batch_first=True)
        self.gates, self.hidden, self.layers = (4 if cell == "lstm" else 3), hidden, layers
        self.last_only, self.single_bias = last_only, single_bias

    def forward(self, x):
        out = self.rnn(x)[0]
        return out[:, -1] if self.last_only else out

    def param_count(self) -> int:
        total = sum(p.numel() for p in self.parameters())
        # One bias vector per gate (textbooks, Keras) instead of PyTorch's b_ih and b_hh.
        return total - self.layers * self.gates * self.hidden if self.single_bias else total


class SelfAttention(nn.Module):
    def __init__(self, width: int, heads: int):
        super().__init__()
        self.attention = nn.MultiheadAttention(width, heads, batch_first=True)

    def forward(self, x):
        return self.attention(x, x, x, need_weights=False)[0]


def conv(cin, cout, k, stride=1, padding=0, groups=1, bias=True):
    return nn.Conv2d(cin, cout, k, stride, padding, groups=groups, bias=bias)


def lenet(size: int):
    return (1, size, size), [conv(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2), conv(6, 16, 5), nn.ReLU(),
                             nn.MaxPool2d(2), nn.Flatten(), nn.LazyLinear(120), nn.ReLU(),
                             nn.LazyLinear(84), nn.ReLU(), nn.LazyLinear(10)]


def vgg16():
    rows, channels = [], 3
    for item in [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]:
        if item == "M":
            rows.append(nn.MaxPool2d(2))
        else:
            rows += [conv(channels, item, 3, padding=1), nn.ReLU()]
            channels = item
    rows += [nn.Flatten(), nn.Linear(512 * 7 * 7, 4096), nn.ReLU(), nn.Dropout(), nn.Linear(4096, 4096),
             nn.ReLU(), nn.Dropout(), nn.Linear(4096, 1000)]
    return (3, 224, 224), rows


def mobilenet_v1():
    rows = [conv(3, 32, 3, 2, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU()]
    channels = 32
    for stride, out in [(1, 64), (2, 128), (1, 128), (2, 256), (1, 256), (2, 512)] + [(1, 512)] * 5 \
            + [(2, 1024), (1, 1024)]:
        rows += [conv(channels, channels, 3, stride, 1, groups=channels, bias=False), nn.BatchNorm2d(channels),
                 nn.ReLU(), conv(channels, out, 1, bias=False), nn.BatchNorm2d(out), nn.ReLU()]
        channels = out
    rows += [nn.AdaptiveAvgPool2d(1), Flat(1000)]
    return (3, 224, 224), rows


def alexnet_torchvision():
    return (3, 224, 224), [
        conv(3, 64, 11, 4, 2), nn.ReLU(), nn.MaxPool2d(3, 2), conv(64, 192, 5, padding=2), nn.ReLU(),
        nn.MaxPool2d(3, 2), conv(192, 384, 3, padding=1), nn.ReLU(), conv(384, 256, 3, padding=1), nn.ReLU(),
        conv(256, 256, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2), nn.Flatten(), nn.Dropout(),
        nn.Linear(9216, 4096), nn.ReLU(), nn.Dropout(), nn.Linear(4096, 4096), nn.ReLU(), nn.Linear(4096, 1000)]


def alexnet_original():
    return (3, 227, 227), [
        conv(3, 96, 11, 4), nn.ReLU(), nn.MaxPool2d(3, 2), conv(96, 256, 5, padding=2, groups=2), nn.ReLU(),
        nn.MaxPool2d(3, 2), conv(256, 384, 3, padding=1), nn.ReLU(), conv(384, 384, 3, padding=1, groups=2),
        nn.ReLU(), conv(384, 256, 3, padding=1, groups=2), nn.ReLU(), nn.MaxPool2d(3, 2), Flat(4096), nn.ReLU(),
        nn.Dropout(), nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(), nn.Linear(4096, 1000)]


def build_networks() -> dict:
    """problem key -> (input shape without the batch, the rows, options), built on the meta
    device: PyTorch then works out every shape and parameter count without computing a value
    (VGG-16 would otherwise take seconds)."""
    with torch.device("meta"):
        return _networks()


def _networks() -> dict:
    return {
        "course/000-cnn-rnn-assignment.yaml::1-cnn-weights-shapes-rf":
            ((1, 84, 84), [conv(1, 8, 5), nn.ReLU(), nn.MaxPool2d(2), conv(8, 16, 3, 2), nn.ReLU(), nn.Flatten(),
                           nn.LazyLinear(10)], {"layout": "hwc", "rf": True}),
        "course/001-mandatory-assignment.yaml::1ab-lenet-28x28": (*lenet(28), {}),
        "course/001-mandatory-assignment.yaml::1ab-lenet-32x32": (*lenet(32), {}),
        "examples/check-equivalent-forms.yaml::lenet-params": (*lenet(32), {}),
        "course/002-cnn-rnn-theory.yaml::1.1c-i-conv1d-shape": ((2, 5), [nn.Conv1d(2, 1, 3, 2, bias=False)], {}),
        "course/004-final-exam.yaml::1a-i-mlp-params": ((2,), [nn.Linear(2, 5), nn.Linear(5, 5)], {}),
        "course/004-final-exam.yaml::3a-network-unknowns":
            ((12, 55, 55), [conv(12, 6, 7), conv(6, 4, 3, 2, 1), Flat(128)], {}),
        "course/004-final-exam.yaml::3b-depthwise-separable":
            ((12, 55, 55), [conv(12, 6, 7)], {"compare": [conv(12, 12, 7, groups=12), conv(12, 6, 1)]}),
        "examples/exam-004-key-check.yaml::1a-i-params": ((2,), [nn.Linear(2, 5), nn.Linear(5, 5)], {}),
        "examples/exam-004-key-check.yaml::3a-i-unknowns":
            ((12, 55, 55), [conv(12, 6, 7), conv(6, 4, 3, 2, 1), Flat(128)], {}),
        "examples/exam-004-key-check.yaml::3a-ii-conv1-params": ((12, 55, 55), [conv(12, 6, 7)], {}),
        "examples/exam-004-key-check.yaml::3a-ii-conv2-params": ((6, 49, 49), [conv(6, 4, 3, 2, 1)], {}),
        "examples/exam-004-key-check.yaml::3a-ii-fc-params": ((4, 25, 25), [Flat(128)], {}),
        "examples/exam-004-key-check.yaml::3b-ii-flops-and-ratio":
            ((12, 55, 55), [conv(12, 6, 7)], {"compare": [conv(12, 12, 7, groups=12), conv(12, 6, 1)]}),
        "examples/exam-004-key-check.yaml::3b-ii-depthwise-flops": ((12, 55, 55), [conv(12, 12, 7, groups=12)], {}),
        "examples/exam-004-key-check.yaml::3b-ii-pointwise-flops": ((12, 49, 49), [conv(12, 6, 1)], {}),
        "examples/network-alexnet.yaml::alexnet-torchvision": (*alexnet_torchvision(), {}),
        "examples/network-alexnet.yaml::alexnet-original": (*alexnet_original(), {}),
        "examples/network-vgg16.yaml::vgg16": (*vgg16(), {}),
        "examples/network-mobilenet.yaml::mobilenet-v1": (*mobilenet_v1(), {}),
        "examples/network-mobilenet.yaml::mobilenet-block-vs-conv":
            ((512, 14, 14), [conv(512, 512, 3, padding=1, bias=False)],
             {"compare": [conv(512, 512, 3, padding=1, groups=512, bias=False), conv(512, 512, 1, bias=False)]}),
        "examples/network-sequences.yaml::char-lstm":
            ("tokens", [nn.Embedding(65, 64), Recurrent("lstm", 64, 256, 2), nn.Dropout(0.2), nn.Linear(256, 65)],
             {"sequence": 100}),
        "examples/network-sequences.yaml::lstm-single-bias":
            ((28, 28), [Recurrent("lstm", 28, 128, single_bias=True), nn.Linear(128, 10)], {}),
        "examples/network-sequences.yaml::mnist-rows-gru":
            ((28, 28), [Recurrent("gru", 28, 128, last_only=True), nn.Linear(128, 10)], {}),
        "examples/network-sequences.yaml::attention-block":
            ((50, 512), [SelfAttention(512, 8), nn.LayerNorm(512), nn.Linear(512, 2048), nn.ReLU(),
                         nn.Linear(2048, 512), nn.LayerNorm(512)], {}),
    }


def module_macs(module: nn.Module, x: torch.Tensor, out: torch.Tensor) -> int:
    """Multiply-accumulates of one row for a batch of one, from the module's own sizes."""
    if isinstance(module, Flat):
        module = module[1]
    if isinstance(module, (nn.Conv1d, nn.Conv2d)):
        kernel = 1
        for k in module.kernel_size:
            kernel *= k
        return out.numel() * module.in_channels // module.groups * kernel
    if isinstance(module, nn.Linear):
        return out.numel() * module.in_features
    if isinstance(module, Recurrent):
        steps, total, width = x.shape[1], 0, x.shape[2]
        for _ in range(module.layers):
            total += steps * module.gates * module.hidden * (width + module.hidden)
            width = module.hidden
        return total
    if isinstance(module, SelfAttention):
        n, d = x.shape[1], x.shape[2]
        return 4 * n * d * d + 2 * n * n * d
    return 0


def param_count(module: nn.Module) -> int:
    if isinstance(module, Recurrent):
        return module.param_count()
    return sum(p.numel() for p in module.parameters())


def run_rows(input_shape, rows, options) -> tuple[list[dict], dict]:
    """Per row {output, params, macs}, and the totals, from a forward pass with batch 1."""
    if input_shape == "tokens":
        x = torch.zeros(1, options["sequence"], dtype=torch.long, device="meta")
    else:
        x = torch.zeros(1, *input_shape, device="meta")
    results = []
    with torch.no_grad():
        for module in rows:
            module.eval()
            out = module(x)
            shape = list(out.shape[1:])
            if options.get("layout") == "hwc" and len(shape) == 3:
                shape = [shape[1], shape[2], shape[0]]
            results.append({"output": shape, "params": param_count(module), "macs": module_macs(module, x, out)})
            x = out
    totals = {"params": sum(r["params"] for r in results), "macs": sum(r["macs"] for r in results)}
    totals["flops"] = 2 * totals["macs"]
    return results, totals


def check_rows(answer_rows: list[dict], answer_totals: dict, input_shape, rows, options):
    expected_rows, expected_totals = run_rows(input_shape, rows, options)
    assert len(answer_rows) == len(expected_rows)
    for index, (row, expected) in enumerate(zip(answer_rows, expected_rows)):
        for field in ("output", "params", "macs"):
            assert row[field] == expected[field], (index, row["name"], field, row[field], expected[field])
        assert row["flops"] == 2 * expected["macs"]
    for field, value in expected_totals.items():
        assert answer_totals[field] == value, (field, answer_totals[field], value)
    return expected_totals


def receptive_fields(input_shape, rows) -> list[int | None]:
    """The input extent one output unit of each spatial row depends on (whole output for fc)."""
    probe = []
    for module in rows:  # copies on the CPU with all-ones weights
        if isinstance(module, nn.Conv2d):
            copy = nn.Conv2d(module.in_channels, module.out_channels, module.kernel_size, module.stride,
                             module.padding, bias=False)
            nn.init.ones_(copy.weight)
        elif isinstance(module, nn.MaxPool2d):
            copy = nn.AvgPool2d(module.kernel_size, module.stride, module.padding)
        elif isinstance(module, nn.LazyLinear) or isinstance(module, nn.Linear):
            copy = None  # the fc row sees the union of every position: probe the flattened map
        else:
            copy = nn.Identity()
        probe.append(copy)
    fields = []
    for depth in range(1, len(rows) + 1):
        x = torch.ones(1, *input_shape, requires_grad=True)
        out = x
        for copy in probe[:depth]:
            if copy is None:
                break
            out = copy(out)
        target = out.sum() if probe[depth - 1] is None or out.dim() != 4 else out[0, 0, 0, 0]
        (grad,) = torch.autograd.grad(target, x)
        rows_used = (grad[0].abs().sum(dim=(0, 2)) > 0).nonzero()
        fields.append(int(rows_used.max() - rows_used.min() + 1))
    return fields


@pytest.mark.parametrize("key", [key for key in library_keys("network") if key not in BRANCHED])
def test_network_problems_against_pytorch(library, key):
    networks = build_networks()
    assert key in networks, f"{key}: a network problem with no PyTorch twin here; add one to _networks()"
    problem = library[key]
    assert problem.error is None, problem.error
    input_shape, rows, options = networks[key]
    main = check_rows(problem.answers["layers"], problem.answers["totals"], input_shape, rows, options)
    if "compare" in options:
        other = check_rows(problem.answers["compare.layers"], problem.answers["compare.totals"], input_shape,
                           options["compare"], options)
        assert problem.answers["ratio"]["flops"] == pytest.approx(other["flops"] / main["flops"], rel=1e-12)
        assert problem.answers["ratio"]["params"] == pytest.approx(other["params"] / main["params"], rel=1e-12)
    if options.get("rf"):
        expected = receptive_fields(input_shape, rows)
        assert [row["rf"] for row in problem.answers["layers"]] == expected


@pytest.mark.parametrize("key", sorted(BRANCHED))
def test_branched_networks_against_pytorch(library, key):
    """Every row of the residual / concat examples against their plain-torch twins (library_branched)."""
    problem = library[key]
    assert problem.error is None, problem.error
    rows, torch_params, published = torch_rows(key)
    answers = problem.answers["layers"]
    assert len(answers) == len(rows)
    for index, (row, expected) in enumerate(zip(answers, rows)):
        for name in ("output", "params", "buffers", "flops", "activations"):
            assert row[name] == expected[name], (index, row["name"], name, row[name], expected[name])
    assert problem.answers["totals"]["params"] == torch_params == published
    assert problem.answers["totals"]["activation_bytes"] == 4 * sum(row["activations"] for row in rows)


@pytest.mark.parametrize("key", ["course/004-final-exam.yaml::3a-network-unknowns",
                                 "examples/exam-004-key-check.yaml::3a-i-unknowns"])
def test_network_unknowns_by_search(library, key):
    """n1 and d1 are the stated channels; F1 and p2 the only sizes PyTorch maps to the stated shapes."""
    answers = library[key].answers
    x = torch.zeros(1, 12, 55, 55, device="meta")
    kernels = [k for k in range(1, 56) if nn.Conv2d(12, 6, k, device="meta")(x).shape[2:] == (49, 49)]
    y = torch.zeros(1, 6, 49, 49, device="meta")
    paddings = [p for p in range(0, 10) if nn.Conv2d(6, 4, 3, 2, p, device="meta")(y).shape[2:] == (25, 25)]
    assert kernels == [answers["F1"]] == [answers["layer1.kernel"]] == [7]
    assert paddings == [answers["p2"]] == [answers["layer2.padding"]]
    assert answers["n1"] == answers["layer1.out"] == 6 and answers["d1"] == answers["layer1.in"] == 12
