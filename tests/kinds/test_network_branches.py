"""Kind `network` with branches against PyTorch: residual and concat blocks (nested, repeated,
frozen) and the layers around them (upsample, max unpooling, adaptive pools, relu6,
padding_mode, count_include_pad).

Each random network is written twice from one description: as dlsolve's compact string and as
PyTorch modules applied eagerly, branch by branch, the branches joined with `+` or `torch.cat`.
Torch runs first. If it accepts the network, dlsolve must give the same rows in the same order
(each block's layers, its shortcut, the join, the activation after it) with the same dotted
names, output shapes, parameters (`sum(p.numel())`), trainable parameters (those with
`requires_grad` after freezing), buffers (the running statistics), FLOPs
(torch.utils.flop_counter, which counts 2 per multiply-accumulate and nothing for adds, pooling or
resampling — dlsolve's default) and activations (`numel()` of each row's output). If torch
refuses it, dlsolve must refuse it too.
"""

from __future__ import annotations

import random

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from solver.errors import BadInput  # noqa: E402
from solver.pipeline import solve_problem  # noqa: E402
from solver.spec import LineMap  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")

CONV = {1: nn.Conv1d, 2: nn.Conv2d}
CONV_T = {1: nn.ConvTranspose1d, 2: nn.ConvTranspose2d}
MAXPOOL = {1: nn.MaxPool1d, 2: nn.MaxPool2d}
AVGPOOL = {1: nn.AvgPool1d, 2: nn.AvgPool2d}
BATCHNORM = {1: nn.BatchNorm1d, 2: nn.BatchNorm2d}
ADAPTIVE = {("adaptiveavgpool", 1): nn.AdaptiveAvgPool1d, ("adaptiveavgpool", 2): nn.AdaptiveAvgPool2d,
            ("adaptivemaxpool", 1): nn.AdaptiveMaxPool1d, ("adaptivemaxpool", 2): nn.AdaptiveMaxPool2d}
ACTIVATIONS = {"relu": nn.ReLU, "relu6": nn.ReLU6, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "gelu": nn.GELU,
               "silu": nn.SiLU}


class Unpool(nn.Module):
    """nn.MaxUnpool with every value sent to the first position of its window (the shape is
    what is checked; the indices of a real max pool would only move the values)."""

    def __init__(self, dims, kernel, stride, padding):
        super().__init__()
        self.dims, self.kernel, self.stride, self.padding = dims, kernel, stride, padding

    def forward(self, x):
        indices = torch.zeros_like(x, dtype=torch.long)
        unpool = F.max_unpool1d if self.dims == 1 else F.max_unpool2d
        return unpool(x, indices, self.kernel, self.stride, self.padding)


class Upsample(nn.Module):
    def __init__(self, scale, mode):
        super().__init__()
        self.scale, self.mode = scale, mode

    def forward(self, x):
        return F.interpolate(x, scale_factor=self.scale, mode=self.mode)


class Refused(Exception):
    """Torch refused the network."""


class Net:
    """One random network: the compact string and, per dlsolve row, what torch says."""

    def __init__(self, rng, dims):
        self.rng, self.dims = rng, dims
        self.mismatch = None  # the shapes of the first join torch could not make, if any
        self.rows = []  # dicts: name, output, params, trainable, buffers, flops, activations

    # --- torch, eagerly ---------------------------------------------------------------------------

    def apply(self, name, module, x, frozen=False):
        module.eval()
        if frozen:
            for p in module.parameters():
                p.requires_grad_(False)
        try:
            with torch.no_grad(), FlopCounterMode(display=False) as counter:
                y = module(x)
        except (RuntimeError, ValueError, AssertionError, IndexError) as exc:
            raise Refused(str(exc)) from None
        buffers = sum(b.numel() for n, b in module.named_buffers() if "running" in n)
        self.rows.append({"name": name, "output": list(y.shape[1:]),
                          "params": sum(p.numel() for p in module.parameters()),
                          "trainable": sum(p.numel() for p in module.parameters() if p.requires_grad),
                          "buffers": buffers, "flops": counter.get_total_flops(), "activations": y.numel()})
        return y

    def join_row(self, name, y):
        self.rows.append({"name": name, "output": list(y.shape[1:]), "params": 0, "trainable": 0, "buffers": 0,
                          "flops": 0, "activations": y.numel()})

    # --- random layers ----------------------------------------------------------------------------

    def layer(self, x, index, prefix, frozen=False):
        """A plain layer: (its compact segment, the output)."""
        rng, dims, channels = self.rng, self.dims, x.shape[1]
        kind = rng.choice(["conv"] * 6 + ["depthwise", "pointwise", "maxpool", "avgpool", "batchnorm", "batchnorm",
                                          "act", "act", "upsample", "adaptive", "maxunpool", "convtranspose"])
        freeze = frozen or rng.random() < 0.1
        tail = " frozen=true" if freeze and not frozen else ""
        repeat = 1
        if kind == "conv":
            out, kernel = rng.randint(1, 8), rng.choice([1, 3, 3, 5, 2])
            stride = rng.choice([1, 1, 1, 2])
            padding = rng.choice([0, kernel // 2, kernel // 2, 1])
            bias = rng.random() < 0.5
            mode = rng.choice(["zeros"] * 4 + ["reflect", "replicate", "circular"])
            groups = rng.choice([g for g in (1, 1, 2) if channels % g == 0 and out % g == 0])
            repeat = rng.choice([1] * 6 + [2, 3])
            text = (f"conv {out} {kernel}" + (f" s={stride}" if stride != 1 else "") + f" p={padding}"
                    + ("" if bias else " bias=false") + (f" padding_mode={mode}" if mode != "zeros" else "")
                    + (f" groups={groups}" if groups != 1 else "") + (f" repeat={repeat}" if repeat > 1 else ""))
            for copy in range(1, repeat + 1):
                module = CONV[dims](x.shape[1], out, kernel, stride, padding, groups=groups, bias=bias,
                                    padding_mode=mode)
                x = self.apply(f"{prefix}conv{index}" + (f".{copy}" if repeat > 1 else ""), module, x, freeze)
            return text + tail, x
        name = f"{prefix}{kind}{index}"
        if kind == "depthwise":
            kernel = rng.choice([3, 5])
            text, module = f"depthwise {kernel} p={kernel // 2}", CONV[dims](channels, channels, kernel, 1, kernel // 2,
                                                                             groups=channels)
        elif kind == "pointwise":
            out = rng.randint(1, 8)
            text, module = f"pointwise {out} bias=false", CONV[dims](channels, out, 1, bias=False)
        elif kind in ("maxpool", "avgpool"):
            kernel, stride, padding = rng.choice([2, 3]), rng.choice([None, 1, 2]), rng.choice([0, 1])
            ceil = rng.random() < 0.2
            text = f"{kind} {kernel}" + ("" if stride is None else f" s={stride}") + f" p={padding}"
            text += " ceil_mode=true" if ceil else ""
            if kind == "avgpool":
                include = rng.random() < 0.5
                text += "" if include else " count_include_pad=false"
                module = AVGPOOL[dims](kernel, stride, padding, ceil_mode=ceil, count_include_pad=include)
            else:
                module = MAXPOOL[dims](kernel, stride, padding, ceil_mode=ceil)
        elif kind == "batchnorm":
            text, module = "batchnorm", BATCHNORM[dims](channels)
        elif kind == "act":
            word = rng.choice(sorted(ACTIVATIONS))
            name = f"{prefix}{word}{index}"
            text, module = word, ACTIVATIONS[word]()
        elif kind == "upsample":
            scale = rng.choice([2, 2, 3, 1.5])
            mode = rng.choice(["nearest", "nearest", "linear" if dims == 1 else "bilinear"])
            text = f"upsample {scale}" + ("" if mode == "nearest" else f" mode={mode}")
            module = Upsample(scale, mode)
        elif kind == "adaptive":
            word = rng.choice(["adaptiveavgpool", "adaptivemaxpool"])
            size = [rng.randint(1, 5) for _ in range(dims)]
            name = f"{prefix}{word}{index}"
            text, module = f"{word} {'x'.join(map(str, size))}", ADAPTIVE[(word, dims)](tuple(size))
        elif kind == "maxunpool":
            kernel, padding = rng.choice([2, 3]), rng.choice([0, 0, 1])
            text, module = f"maxunpool {kernel} p={padding}", Unpool(dims, kernel, kernel, padding)
        else:
            out, kernel, stride = rng.randint(1, 6), rng.choice([2, 3]), rng.choice([1, 2])
            text = f"convtranspose {out} {kernel} s={stride}"
            module = CONV_T[dims](channels, out, kernel, stride)
        return text + tail, self.apply(name, module, x, freeze)

    def chain(self, x, prefix, depth, length, frozen=False, first=1, keep=False):
        """`|`-joined items of one chain (or branch), numbered from `first`: (text, output)."""
        parts = []
        for index in range(first, first + length):
            roll = self.rng.random()
            if depth < 2 and roll < (0.35 if depth == 0 else 0.2):
                text, x = self.residual(x, index, prefix, depth, frozen, keep)
            elif depth < 2 and roll < (0.6 if depth == 0 else 0.3):
                text, x = self.concat(x, index, prefix, depth, frozen)
            elif keep:
                text, x = self.same_size_layer(x, index, prefix, frozen)
            else:
                text, x = self.layer(x, index, prefix, frozen)
            parts.append(text)
        return " | ".join(parts), x

    def same_size_layer(self, x, index, prefix, frozen):
        """A layer that keeps the spatial size: a convolution with K = 2P + 1, a stride-1 pool."""
        rng, dims, channels = self.rng, self.dims, x.shape[1]
        kind = rng.choice(["conv", "conv", "conv", "maxpool", "avgpool", "batchnorm"])
        if kind == "conv":
            out, kernel = rng.randint(1, 8), rng.choice([1, 3, 5])
            mode = rng.choice(["zeros", "zeros", "reflect", "replicate"])
            module = CONV[dims](channels, out, kernel, 1, kernel // 2, padding_mode=mode)
            text = f"conv {out} {kernel} p={kernel // 2}" + (f" padding_mode={mode}" if mode != "zeros" else "")
            return text, self.apply(f"{prefix}conv{index}", module, x, frozen)
        if kind == "batchnorm":
            return "batchnorm", self.apply(f"{prefix}batchnorm{index}", BATCHNORM[dims](channels), x, frozen)
        module = (MAXPOOL if kind == "maxpool" else AVGPOOL)[dims](3, 1, 1)
        return f"{kind} 3 s=1 p=1", self.apply(f"{prefix}{kind}{index}", module, x, frozen)

    def residual(self, x, index, prefix, depth, frozen, keep=False):
        rng = self.rng
        repeat = rng.choice([1, 1, 1, 2])
        freeze = not frozen and rng.random() < 0.15
        activation = rng.choice([None, "relu", "relu6"])
        channels = x.shape[1]
        out = channels if rng.random() < 0.5 else rng.randint(1, 8)
        stride = 1 if keep else rng.choice([1, 1, 2])
        project = out != channels or stride != 1
        if rng.random() < 0.1:
            project = not project  # at times a shortcut that does not match: torch must refuse the add
        cold = frozen or freeze
        body_text = f"conv {out} 3 s={stride} p=1 bias=false"
        for copy in range(1, repeat + 1):
            name = f"{prefix}block{index}" + (f".{copy}" if repeat > 1 else "")
            start = x
            y = self.apply(f"{name}.conv1", CONV[self.dims](x.shape[1], out, 3, stride, 1, bias=False), start, cold)
            if repeat == 1 and rng.random() < 0.7:
                extra, y = self.chain(y, f"{name}.", depth + 1, rng.randint(1, 2), cold, first=2, keep=True)
                body_text += " | " + extra
            elif repeat > 1:  # the copies share one description
                y = self.apply(f"{name}.batchnorm2", BATCHNORM[self.dims](out), y, cold)
                y = self.apply(f"{name}.relu3", nn.ReLU(), y, cold)
            s = start
            if project:
                s = self.apply(f"{name}.shortcut.conv1", CONV[self.dims](start.shape[1], out, 1, stride, bias=False),
                               start, cold)
                s = self.apply(f"{name}.shortcut.batchnorm2", BATCHNORM[self.dims](out), s, cold)
            if y.shape != s.shape:
                # Torch cannot add them; go on from the layers' output so that the rest is written
                # (dlsolve must refuse the whole network, naming both shapes).
                self.mismatch = self.mismatch or (list(y.shape[1:]), list(s.shape[1:]))
                x = y
            else:
                x = y + s
                self.join_row(f"{name}.add", x)
            if activation:
                x = self.apply(f"{name}.{activation}", ACTIVATIONS[activation](), x)
        if repeat > 1:
            body_text += " | batchnorm | relu"
        if project:
            body_text += f" ; conv {out} 1 s={stride} bias=false | batchnorm"
        fields = (f" {activation}" if activation else "") + (f" repeat={repeat}" if repeat > 1 else "")
        fields += " frozen=true" if freeze else ""
        return f"residual({body_text}){fields}", x

    def concat(self, x, index, prefix, depth, frozen):
        rng = self.rng
        name = f"{prefix}block{index}"
        start, outputs, texts = x, [], []
        for branch in range(1, rng.randint(2, 4) + 1):
            roll = rng.random()
            if roll < 0.2:
                texts.append("")
                outputs.append(start)
                continue
            keep = rng.random() < 0.92  # mostly branches that keep the spatial size, as Inception's
            text, y = self.chain(start, f"{name}.branch{branch}.", depth + 1, rng.randint(1, 2), frozen, keep=keep)
            texts.append(text)
            outputs.append(y)
        try:
            x = torch.cat(outputs, dim=1)
            self.join_row(f"{name}.concat", x)
        except RuntimeError:
            bad = next(o for o in outputs if o.shape[2:] != outputs[0].shape[2:])
            self.mismatch = self.mismatch or (list(outputs[0].shape[1:]), list(bad.shape[1:]))
            x = outputs[0]
        return f"concat({' ; '.join(texts)})", x


def make(seed):
    rng = random.Random(seed)
    dims = 2 if rng.random() < 0.8 else 1
    shape = [rng.randint(1, 6)] + [rng.randint(4, 14) for _ in range(dims)]
    net = Net(rng, dims)
    x = torch.rand(1, *shape)
    try:
        text, _ = net.chain(x, "", 0, rng.randint(1, 4))
        refused = False
    except Refused:
        text, refused = None, True
    return shape, text, net, refused


def solve(shape, text):
    problem = {"id": "p", "kind": "network", "given": {"input": "x".join(map(str, shape)), "layers": text},
               "find": []}
    return solve_problem(problem, file="test", lines=LineMap(), prefix=(), decimals=None)


SEEDS = range(1600)
CHUNKS = 8


@pytest.mark.parametrize("chunk", range(CHUNKS))
def test_random_branched_networks_match_torch(chunk):
    checked = refused_joins = 0
    for seed in SEEDS[chunk::CHUNKS]:
        shape, text, net, refused = make(seed)
        if refused:
            continue
        result = solve(shape, text)
        if net.mismatch:
            # Torch could not join two branches: dlsolve refuses, naming both shapes.
            assert isinstance(result.error, BadInput), (seed, text, result.error)
            message = str(result.error)
            assert "block" in message and all("×".join(map(str, s)) in message for s in net.mismatch), \
                (seed, text, message, net.mismatch)
            refused_joins += 1
            continue
        assert result.error is None, (seed, text, result.error)
        rows = result.answers["layers"]
        assert [r["name"] for r in rows] == [r["name"] for r in net.rows], (seed, text)
        for got, want in zip(rows, net.rows):
            for key in ("output", "params", "buffers", "flops", "activations"):
                assert got[key] == want[key], (seed, text, got["name"], key, got[key], want[key])
        totals = result.answers["totals"]
        assert totals["params"] == sum(r["params"] for r in net.rows)
        assert totals["trainable"] == sum(r["trainable"] for r in net.rows), (seed, text)
        assert totals["buffers"] == sum(r["buffers"] for r in net.rows)
        assert totals["activation_bytes"] == 4 * sum(r["activations"] for r in net.rows)
        checked += 1
    assert checked >= 600 // CHUNKS and refused_joins >= 5, (checked, refused_joins)
