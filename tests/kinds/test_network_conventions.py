"""`flops_convention` against the tools themselves: torch.utils.flop_counter, fvcore, ptflops,
thop and torchinfo each count the same random network (chains and residual / concat blocks of
every layer type they see differently), built as one nn.Module, and dlsolve's total under that
tool's convention must equal the tool's total. Tools that are not installed are skipped."""

from __future__ import annotations

import contextlib
import copy
import io
import logging
import random
import warnings

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from solver.errors import BadInput  # noqa: E402
from solver.pipeline import solve_problem  # noqa: E402
from solver.spec import LineMap  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")


class Seq(nn.Module):
    def __init__(self, items):
        super().__init__()
        self.items = nn.ModuleList(items)

    def forward(self, x):
        for item in self.items:
            x = item(x)
        return x


class Residual(nn.Module):
    def __init__(self, body, shortcut, after):
        super().__init__()
        self.body, self.shortcut, self.after = Seq(body), Seq(shortcut), after

    def forward(self, x):
        y = self.body(x) + self.shortcut(x)
        return self.after(y) if self.after is not None else y


class Concat(nn.Module):
    def __init__(self, branches):
        super().__init__()
        self.branches = nn.ModuleList(Seq(b) for b in branches)

    def forward(self, x):
        return torch.cat([branch(x) for branch in self.branches], dim=1)


class Last(nn.Module):
    """A recurrent layer's output sequence."""

    def __init__(self, cell):
        super().__init__()
        self.cell = cell

    def forward(self, x):
        return self.cell(x)[0]


CONV = {1: nn.Conv1d, 2: nn.Conv2d}
CONV_T = {1: nn.ConvTranspose1d, 2: nn.ConvTranspose2d}
BN = {1: nn.BatchNorm1d, 2: nn.BatchNorm2d}
POOL = {("maxpool", 1): nn.MaxPool1d, ("maxpool", 2): nn.MaxPool2d, ("avgpool", 1): nn.AvgPool1d,
        ("avgpool", 2): nn.AvgPool2d}
ADAPTIVE = {("avg", 1): nn.AdaptiveAvgPool1d, ("avg", 2): nn.AdaptiveAvgPool2d, ("max", 1): nn.AdaptiveMaxPool1d,
            ("max", 2): nn.AdaptiveMaxPool2d}
ACTS = {"relu": nn.ReLU, "relu6": nn.ReLU6, "gelu": nn.GELU, "elu": nn.ELU, "leaky-relu": nn.LeakyReLU,
        "silu": nn.SiLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}


class Builder:
    """Random layers, each as (dlsolve segment, torch module), checked on a probe tensor."""

    def __init__(self, rng, dims):
        self.rng, self.dims = rng, dims

    def layer(self, x, keep=False):
        rng, dims, c = self.rng, self.dims, x.shape[1]
        kinds = ["conv"] * 4 + ["bn", "act", "act", "softmax", "pool", "ln", "dropout"]
        if not keep:
            kinds += ["depthwise", "pointwise", "convT", "adaptive", "upsample", "gpool"]
        kind = rng.choice(kinds)
        if kind == "conv":
            out, k, bias = rng.randint(1, 6), rng.choice([1, 3, 5]), rng.random() < 0.5
            word = rng.choice(["same", "same", "valid", None]) if not keep else rng.choice(["same", None])
            if keep and word is None:
                return (f"conv {out} {k} p={k // 2}" + ("" if bias else " bias=false"),
                        CONV[dims](c, out, k, 1, k // 2, bias=bias))
            if word:
                return (f"conv {out} {k} padding={word}" + ("" if bias else " bias=false"),
                        CONV[dims](c, out, k, padding=word, bias=bias))
            s = rng.choice([1, 2])
            g = rng.choice([g for g in (1, 2) if c % g == 0 and out % g == 0])
            return (f"conv {out} {k} s={s} groups={g}" + ("" if bias else " bias=false"),
                    CONV[dims](c, out, k, s, groups=g, bias=bias))
        if kind == "depthwise":
            return "depthwise 3 p=1", CONV[dims](c, c, 3, 1, 1, groups=c)
        if kind == "pointwise":
            out = rng.randint(1, 6)
            return f"pointwise {out}", CONV[dims](c, out, 1)
        if kind == "convT":
            out, k, s, bias = rng.randint(1, 4), rng.choice([2, 3]), rng.choice([1, 2]), rng.random() < 0.5
            return (f"convtranspose {out} {k} s={s}" + ("" if bias else " bias=false"),
                    CONV_T[dims](c, out, k, s, bias=bias))
        if kind == "bn":
            affine = rng.random() < 0.8
            return "batchnorm" + ("" if affine else " affine=false"), BN[dims](c, affine=affine)
        if kind == "ln":
            affine = rng.random() < 0.8
            return ("layernorm" + ("" if affine else " affine=false"),
                    nn.LayerNorm(list(x.shape[1:]), elementwise_affine=affine))
        if kind == "act":
            word = rng.choice(sorted(ACTS))
            return word, ACTS[word]()
        if kind == "softmax":
            return "softmax", nn.Softmax(dim=1)
        if kind == "dropout":
            return "dropout 0.5", nn.Dropout(0.5)
        if kind == "pool":
            word = rng.choice(["maxpool", "avgpool"])
            if keep:
                return f"{word} 3 s=1 p=1", POOL[(word, dims)](3, 1, 1)
            k = rng.choice([2, 3])
            return f"{word} {k}", POOL[(word, dims)](k)
        if kind == "adaptive":
            word = rng.choice(["avg", "max"])
            size = rng.randint(1, 4)
            return f"adaptive{word}pool {size}", ADAPTIVE[(word, dims)](size)
        if kind == "gpool":
            word = rng.choice(["avg", "max"])
            return f"global{word}pool", ADAPTIVE[(word, dims)](1)
        mode = rng.choice(["nearest", "linear" if dims == 1 else "bilinear"])
        scale = rng.choice([2, 3])
        return f"upsample {scale} mode={mode}", nn.Upsample(scale_factor=scale, mode=mode)

    def chain(self, x, length, depth=0, keep=False):
        texts, modules = [], []
        for _ in range(length):
            roll = self.rng.random()
            if depth < 2 and roll < 0.2:
                body_texts, body, y = self.chain(x, self.rng.randint(1, 3), depth + 1, keep=True)
                shortcut_text, shortcut = "", []
                if y.shape[1] != x.shape[1]:
                    shortcut_text, shortcut = f" ; conv {y.shape[1]} 1", [CONV[self.dims](x.shape[1], y.shape[1], 1)]
                after = self.rng.choice([None, "relu"])
                module = Residual(body, shortcut, nn.ReLU() if after else None)
                texts.append(f"residual({' | '.join(body_texts)}{shortcut_text})" + (" relu" if after else ""))
            elif depth < 2 and roll < 0.35:
                parts, branches = [], []
                for _ in range(self.rng.randint(2, 3)):
                    if self.rng.random() < 0.2:
                        parts.append("")
                        branches.append([])
                        continue
                    branch_texts, branch, _ = self.chain(x, self.rng.randint(1, 2), depth + 1, keep=True)
                    parts.append(" | ".join(branch_texts))
                    branches.append(branch)
                module = Concat(branches)
                texts.append(f"concat({' ; '.join(parts)})")
            else:
                text, module = self.layer(x, keep)
                texts.append(text)
            module.eval()
            try:
                with torch.no_grad():
                    y = module(x)
            except RuntimeError:
                texts.pop()  # torch refuses this layer here: leave it out
                continue
            if min(y.shape[2:], default=1) < 1 or y.numel() > 200_000:
                texts.pop()
                continue
            modules.append(module)
            x = y
        return texts, modules, x


def random_map_network(seed):
    rng = random.Random(seed)
    dims = 2 if rng.random() < 0.75 else 1
    shape = [rng.randint(1, 5)] + [rng.randint(6, 14) for _ in range(dims)]
    builder = Builder(rng, dims)
    texts, modules, x = [], [], torch.rand(1, *shape)
    while not modules:
        texts, modules, x = builder.chain(x, rng.randint(2, 6))
    if rng.random() < 0.5:
        out = rng.randint(1, 10)
        texts.append(f"fc {out}")
        modules += [nn.Flatten(), nn.Linear(x.numel(), out)]
    return shape, " | ".join(texts), Seq(modules)


def random_sequence_network(seed, kinds=("lstm", "gru", "rnn")):
    rng = random.Random(seed)
    steps, features = rng.randint(2, 8), rng.randint(2, 10)
    texts, modules, width = [], [], features
    for _ in range(rng.randint(1, 3)):
        kind = rng.choice(kinds + ("fc",))
        out = rng.randint(2, 8)
        if kind == "fc":
            texts.append(f"fc {out} axis=last")  # nn.Linear on each step, also before any recurrent layer
            modules.append(nn.Linear(width, out))
            width = out
            continue
        layers, both = rng.choice([1, 1, 2]), rng.random() < 0.3
        cell = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[kind](width, out, layers, batch_first=True,
                                                                      bidirectional=both)
        texts.append(f"{kind} {out} num_layers={layers} bidirectional={str(both).lower()}")
        modules.append(Last(cell))
        width = out * (2 if both else 1)
    return [steps, features], " | ".join(texts), Seq(modules)


# --- the tools -------------------------------------------------------------------------------------


def tool_total(tool, model, shape):
    model.eval()
    x = torch.rand(1, *shape)
    quiet = contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO())
    with warnings.catch_warnings(), quiet[0], quiet[1]:
        warnings.simplefilter("ignore")
        logging.disable(logging.CRITICAL)
        try:
            if tool == "pytorch":
                from torch.utils.flop_counter import FlopCounterMode

                # Gradients on: under torch.no_grad() in eval mode nn.MultiheadAttention takes a
                # fused fast path that the counter does not see (the convention names this).
                with FlopCounterMode(display=False) as counter:
                    model(x)
                return counter.get_total_flops()
            if tool == "fvcore":
                from fvcore.nn import FlopCountAnalysis

                analysis = FlopCountAnalysis(model, x)
                analysis.unsupported_ops_warnings(False)
                analysis.uncalled_modules_warnings(False)
                return analysis.total()
            if tool == "ptflops":
                from ptflops import get_model_complexity_info

                macs, _ = get_model_complexity_info(model, tuple(shape), as_strings=False,
                                                    print_per_layer_stat=False, verbose=False)
                return macs
            if tool == "thop":
                import thop

                return int(thop.profile(copy.deepcopy(model), inputs=(x,), verbose=False)[0])
            import torchinfo

            return torchinfo.summary(model, input_size=(1, *shape), verbose=0).total_mult_adds
        finally:
            logging.disable(logging.NOTSET)


def dlsolve_total(shape, text, tool):
    given = {"input": "x".join(map(str, shape)), "layers": text, "flops_convention": tool}
    result = solve_problem({"id": "p", "kind": "network", "given": given, "find": []}, file="test",
                           lines=LineMap(), prefix=(), decimals=None)
    return result


TOOLS = {"pytorch": "torch", "fvcore": "fvcore", "ptflops": "ptflops", "thop": "thop", "torchinfo": "torchinfo"}


@pytest.mark.parametrize("tool", sorted(TOOLS))
def test_random_networks_match_each_tool(tool):
    pytest.importorskip(TOOLS[tool])
    torch.manual_seed(0)
    checked = 0
    for seed in range(40):
        shape, text, model = random_map_network(seed)
        result = dlsolve_total(shape, text, tool)
        assert result.error is None, (seed, text, result.error)
        got = result.answers["totals"]["flops"]
        assert got == tool_total(tool, model, shape), (seed, text, [r["flops"] for r in result.answers["layers"]])
        checked += 1
    assert checked >= 30


@pytest.mark.parametrize("tool", sorted(TOOLS))
def test_recurrent_networks_match_each_tool(tool):
    pytest.importorskip(TOOLS[tool])
    for seed in range(12):
        shape, text, model = random_sequence_network(seed)
        result = dlsolve_total(shape, text, tool)
        assert result.error is None, (seed, text, result.error)
        assert result.answers["totals"]["flops"] == tool_total(tool, model, shape), (seed, text)


def test_unreproduced_layers_are_refused():
    result = dlsolve_total([5, 8], "attention 2", "fvcore")
    assert isinstance(result.error, BadInput)


def test_convention_excludes_flops_fields():
    given = {"input": "3x8x8", "layers": "conv 2 3", "flops_convention": "thop", "flops": "mac"}
    result = solve_problem({"id": "p", "kind": "network", "given": given, "find": []}, file="test",
                           lines=LineMap(), prefix=(), decimals=None)
    assert isinstance(result.error, BadInput)


def test_fvcore_same_padding_quirk_is_named():
    result = dlsolve_total([3, 8, 8], "conv 4 3 padding=same", "fvcore")
    assert result.answers["totals"]["flops"] == 0
    assert any("aten::conv2d" in str(step) for step in result.solution.steps)


class SelfAttention(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.attention = nn.MultiheadAttention(width, heads, batch_first=True)

    def forward(self, x):
        return self.attention(x, x, x)[0]  # need_weights=True: the path FlopCounterMode sees


def test_attention_under_the_pytorch_convention():
    rng = random.Random(2)
    for _ in range(10):
        heads = rng.choice([1, 2, 4])
        width, steps = heads * rng.randint(1, 6), rng.randint(2, 9)
        result = dlsolve_total([steps, width], f"attention {heads} | fc 3", "pytorch")
        model = Seq([SelfAttention(width, heads), nn.Linear(width, 3)])
        assert result.answers["totals"]["flops"] == tool_total("pytorch", model, [steps, width])
