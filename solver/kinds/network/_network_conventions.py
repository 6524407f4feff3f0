"""FLOP conventions of the peer tools for kind `network` (`flops_convention`): what
torch.utils.flop_counter, fvcore, ptflops, thop and torchinfo each report for one layer, so that
a row's FLOPs and the total are the number that tool prints for the same model.

Each layer stands for the PyTorch module of its name (conv → nn.Conv2d, relu → nn.ReLU,
upsample → nn.Upsample, globalavgpool → nn.AdaptiveAvgPool2d(1), softmax → nn.Softmax over the
channels or features, a residual add → `+`, a concat → torch.cat), evaluated with batch 1 in
eval mode. The rules below were read from each tool's source (fvcore 0.1.5, ptflops 0.7.5 with its
default pytorch backend, thop 0.1.1, torchinfo 1.8) and are checked against the tools themselves
in the tests:

  pytorch    2 per multiply-accumulate of convolutions, linear layers, attention, RNN and GRU;
             nothing else (nn.LSTM runs as one fused kernel the counter does not see: 0).
  fvcore     one per MAC; no bias; batch norm 2 per value (1 without affine), layer norm 5 (4);
             2-D upsampling 1 per output value (bilinear 4), 2-D adaptive average pooling 1 per
             input value; a convolution written with padding='same' or 'valid' counts 0 (fvcore
             0.1.5 has no handle for aten::conv2d); activations, pooling, adds and RNNs 0.
  ptflops    MACs plus one per bias add; ReLU, ELU and GELU 2 per value (a module hook and the
             patched functional both count), ReLU6, LeakyReLU, SiLU and softmax 1; every pooling
             2 per input value; batch norm 1 per value (2 with affine), layer norm 1; upsampling
             2 per output value; RNNs from their weights plus gate arithmetic.
  thop       one per MAC, no bias — but a transposed convolution counts C_in/g·K per *output*
             value; norms 2 per value (4 with affine); average pooling 1 per output value,
             adaptive average pooling (∏ in/out + 1) per output value; upsampling 1 per output
             value (linear 5, bilinear 11, bicubic 259, trilinear 0); softmax 3n − 1 per group of
             n; recurrent layers by thop's cell formulas; activations and max pooling 0.
  torchinfo  "mult-adds": a convolution's parameters × its output positions (transposed ones
             too), every other layer's parameters once (so a linear layer on T steps counts its
             weights once), recurrent layers' parameters × T; no parameters, nothing.
"""

from __future__ import annotations

from math import prod

from ...errors import BadInput
from ...formula import Sym
from ...steps import Formula, Solution, Table
from ._network_shapes import per_dim

CONVENTIONS = ("pytorch", "fvcore", "ptflops", "thop", "torchinfo")
TOOL_NAMES = {"pytorch": "torch.utils.flop_counter", "fvcore": "fvcore 0.1.5", "ptflops": "ptflops 0.7.5",
              "thop": "thop 0.1.1", "torchinfo": "torchinfo 1.8 (mult-adds)"}
CONVS = ("conv", "depthwise", "pointwise")
ZERO = ("dropout", "flatten", "add", "concat", "maxunpool", "tanh", "sigmoid")

# What the key's table shows: per tool, what it counts (rows) — the same words as the rules.
SUMMARY = [
    ("multiply-accumulate", "2 FLOPs", "1", "1", "1", "1 (params × positions)"),
    ("bias adds", "no", "no", "yes", "no", "yes"),
    ("transposed conv", "2·MACs", "MACs", "MACs + bias", "C_in/g·K per output", "params × output positions"),
    ("fc on T steps", "2·T·MACs", "T·MACs", "T·(MACs + bias)", "T·MACs", "params once"),
    ("batch norm", "0", "2/value", "2/value", "4/value", "params"),
    ("layer norm", "0", "5/value", "1/value", "4/value", "params"),
    ("activations", "0", "0", "ReLU/ELU/GELU 2, ReLU6/Leaky/SiLU/softmax 1", "softmax 3n−1", "0"),
    ("pooling", "0", "2-D adaptive avg: 1/input", "2/input value", "avg 1/output, adaptive ∏in/out + 1", "0"),
    ("upsampling", "0", "2-D: 1/output (bilinear 4)", "2/output", "1/output (bilinear 11)", "0"),
    ("padding='same' conv", "2·MACs", "0", "as any conv", "as any conv", "as any conv"),
    ("LSTM / GRU / RNN", "LSTM 0, others 2·MACs", "0", "weights + gate arithmetic", "cell formulas × T",
     "params × T"),
    ("residual add, concat", "0", "0", "0", "0", "0"),
]


def unsupported(convention: str, row) -> str | None:
    """Why the convention cannot be reproduced for this row, if it cannot."""
    if row.type == "attention" and convention != "pytorch":
        return "attention (nn.MultiheadAttention's inner calls differ between versions)"
    return None


class Counter:
    """One tool's count per row, each as a formula step."""

    def __init__(self, sol: Solution, convention: str):
        self.sol, self.convention = sol, convention

    def step(self, row, text: str, expr, bindings: dict):
        value = self.sol.add(f"{row.name} ({self.convention}): {text}",
                             Formula(Sym(f"FLOPs_{self.convention}", text=f"FLOPs_{self.convention}",
                                         latex=rf"\mathrm{{FLOPs}}_{{\mathrm{{{self.convention}}}}}"),
                                     expr, bindings))
        return value

    def count(self, row):
        method = getattr(self, self.convention)
        return method(row)

    # --- each tool ----------------------------------------------------------------------------------

    def pytorch(self, row):
        if row.type == "attention" and row.macs:
            self.sol.note(f"{row.name} (pytorch): counted as FlopCounterMode sees nn.MultiheadAttention with "
                          "gradients enabled; under torch.no_grad() in eval mode it takes a fused fast path "
                          "that the counter does not see (0).")
        if row.type == "lstm":
            if row.macs:
                self.sol.note(f"{row.name} (pytorch): nn.LSTM runs as one fused kernel that the FLOP counter "
                              "does not see: 0.")
            return 0
        if not row.macs:
            return 0
        return self.step(row, "2 per multiply-accumulate, no bias adds.", Sym("two", text="2") * Sym("MACs"),
                         {"two": 2, "MACs": row.macs})

    def fvcore(self, row):
        kind, layer, n_in, n_out = row.type, row.layer, _numel(row.input), row.activations
        if kind in CONVS + ("convtranspose", "fc", "attention"):
            if kind in CONVS and _string_padding(layer, row.input):
                self.sol.note(f"{row.name} (fvcore): padding='{layer['padding']}' makes PyTorch call aten::conv2d, "
                              "for which fvcore 0.1.5 has no handle: it counts 0.")
                return 0
            return self.step(row, "one per multiply-accumulate, no bias.", Sym("MACs"), {"MACs": row.macs}) \
                if row.macs else 0
        if kind == "batchnorm":
            per = 2 if layer["affine"] else 1
            return self.step(row, f"batch norm in eval mode: {per} per input value.", Sym("k") * Sym("N_in"),
                             {"k": per, "N_in": n_in})
        if kind == "layernorm":
            per = 5 if layer["affine"] else 4
            return self.step(row, f"layer norm: {per} per input value.", Sym("k") * Sym("N_in"),
                             {"k": per, "N_in": n_in})
        spatial = len(row.input.dims) - 1 if row.input.form == "map" else 0
        if kind == "upsample" and spatial == 2 and layer["mode"] in ("nearest", "bilinear"):
            per = 1 if layer["mode"] == "nearest" else 4
            return self.step(row, f"2-D {layer['mode']} upsampling: {per} per output value.",
                             Sym("k") * Sym("N_out"), {"k": per, "N_out": n_out})
        if kind in ("adaptiveavgpool", "globalavgpool") and spatial == 2:
            return self.step(row, "2-D adaptive average pooling: one per input value.", Sym("N_in"), {"N_in": n_in})
        return 0

    def ptflops(self, row):
        kind, layer, n_in, n_out = row.type, row.layer, _numel(row.input), row.activations
        if kind in CONVS + ("convtranspose", "fc"):
            if not row.bias_adds:
                return self.step(row, "one per multiply-accumulate (no bias).", Sym("MACs"), {"MACs": row.macs})
            return self.step(row, "one per multiply-accumulate plus one per bias add.", Sym("MACs") + Sym("B"),
                             {"MACs": row.macs, "B": row.bias_adds})
        if kind in ("relu", "elu", "gelu"):
            return self.step(row, "2 per value: the module hook and the patched functional both count.",
                             Sym("two", text="2") * Sym("N_out"), {"two": 2, "N_out": n_out})
        if kind in ("relu6", "leaky-relu", "silu", "softmax"):
            return self.step(row, "one per value.", Sym("N_out"), {"N_out": n_out})
        if kind in ("maxpool", "avgpool", "globalavgpool", "globalmaxpool", "adaptiveavgpool", "adaptivemaxpool"):
            return self.step(row, "2 per input value (module hook and patched functional).",
                             Sym("two", text="2") * Sym("N_in"), {"two": 2, "N_in": n_in})
        if kind == "batchnorm":
            per = 2 if layer["affine"] else 1
            return self.step(row, f"{per} per input value.", Sym("k") * Sym("N_in"), {"k": per, "N_in": n_in})
        if kind == "layernorm":
            return self.step(row, "one per input value (nn.LayerNorm has no `affine` attribute, so its "
                                  "γ and β are not seen).", Sym("N_in"), {"N_in": n_in})
        if kind == "upsample":
            scales = per_dim(layer["scale"], len(row.input.dims) - 1, "scale")
            from fractions import Fraction
            factor = prod(Fraction(str(s)) for s in scales)
            return self.step(row, "the output values (module hook) plus input values × scale factors "
                                  "(patched interpolate).", Sym("N_out") + Sym("N_in") * Sym("s", text="∏scale"),
                             {"N_out": n_out, "N_in": n_in, "s": factor})
        if kind in ("rnn", "lstm", "gru"):
            return self._ptflops_recurrent(row)
        return 0

    def _ptflops_recurrent(self, row):
        layer, hidden = row.layer, row.layer["out"]
        gates = {"rnn": 1, "lstm": 4, "gru": 3}[row.type]
        extra = {"rnn": 1, "lstm": 10, "gru": 7}[row.type] * hidden
        directions = 2 if layer["bidirectional"] else 1
        per_step = 0
        width = row.input.dims[-1]
        for _ in range(layer["num_layers"]):
            per_step += gates * hidden * width + gates * hidden * hidden + extra
            if layer["bias"]:
                per_step += 2 * gates * hidden
            width = hidden * directions
        return self.step(row, "per step and direction: the weights of every layer's first direction, plus "
                              "gate arithmetic and both biases (ptflops' rnn_flops).",
                         Sym("T") * Sym("n", text="dirs") * Sym("P", text="per_step"),
                         {"T": row.input.dims[0], "n": directions, "P": per_step})

    def thop(self, row):
        kind, layer, n_in, n_out = row.type, row.layer, _numel(row.input), row.activations
        if kind in CONVS + ("fc",):
            return self.step(row, "one per multiply-accumulate, no bias.", Sym("MACs"), {"MACs": row.macs}) \
                if row.macs else 0
        if kind == "convtranspose":
            kernel = prod(row.filter_shape[1:])
            depth = row.input.dims[0] // layer.get("groups", 1)
            return self.step(row, "C_in/g·K per output value (thop counts a transposed convolution over its "
                                  "outputs).", Sym("N_out") * Sym("C", text="C_in/g") * Sym("K"),
                             {"N_out": n_out, "C": depth, "K": kernel})
        if kind in ("batchnorm", "layernorm"):
            per = 4 if layer["affine"] else 2
            return self.step(row, f"{per} per input value.", Sym("k") * Sym("N_in"), {"k": per, "N_in": n_in})
        if kind == "avgpool":
            return self.step(row, "one per output value.", Sym("N_out"), {"N_out": n_out})
        if kind in ("adaptiveavgpool", "globalavgpool"):
            ratio = 1.0
            for size, out in zip(row.input.dims[1:], row.output.dims[1:]):
                ratio *= float(size) / float(out)
            value = int((ratio + 1) * n_out)  # in floating point, as thop computes it
            sizes = "·".join(f"{a}/{b}" for a, b in zip(row.input.dims[1:], row.output.dims[1:]))
            self.sol.add(f"{row.name} (thop): (∏ in/out + 1) per output value = ({sizes} + 1)·{n_out}, "
                         "computed in floating point and truncated.", value=value)
            return value
        if kind == "upsample":
            per = {"nearest": 1, "linear": 5, "bilinear": 11, "bicubic": 259}.get(layer["mode"], 0)
            if not per:
                self.sol.note(f"{row.name} (thop): {layer['mode']} upsampling is counted as 0.")
                return 0
            return self.step(row, f"{layer['mode']} upsampling: {per} per output value.", Sym("k") * Sym("N_out"),
                             {"k": per, "N_out": n_out})
        if kind in ("rnn", "lstm", "gru"):
            return self._thop_recurrent(row)
        if kind == "softmax":
            n = row.input.dims[0] if row.input.form in ("map", "vector") else row.input.dims[-1]
            return self.step(row, "n exponentials, n − 1 adds and n divisions per group of n values.",
                             (Sym("N_in") / Sym("n")) * (3 * Sym("n") - 1), {"N_in": n_in, "n": n})
        return 0

    def _thop_recurrent(self, row):
        """thop's cells: each gate (W_i x + b_i + W_h h + b_h) costs (F + H)·H + H, plus 2H with biases;
        the GRU adds 4H element-wise operations, the LSTM 4H; layers after the first take H·dirs
        inputs; × directions × T."""
        layer, hidden = row.layer, row.layer["out"]
        gates = {"rnn": 1, "lstm": 4, "gru": 3}[row.type]
        extra = {"rnn": 0, "lstm": 4, "gru": 4}[row.type] * hidden
        directions = 2 if layer["bidirectional"] else 1

        def cell(width):
            gate = (width + hidden) * hidden + hidden + (2 * hidden if layer["bias"] else 0)
            return gates * gate + extra

        per_step = cell(row.input.dims[-1]) + (layer["num_layers"] - 1) * cell(hidden * directions)
        return self.step(row, "per step and direction, thop's cell counts: each gate (F + H)·H + H (+ 2H "
                              "biases), plus the element-wise products of the GRU / LSTM.",
                         Sym("T") * Sym("n", text="dirs") * Sym("P", text="per_step"),
                         {"T": row.input.dims[0], "n": directions, "P": per_step})

    def torchinfo(self, row):
        kind = row.type
        if kind in CONVS + ("convtranspose",):
            positions = prod(row.output.dims[1:])
            return self.step(row, "parameters × output positions (a transposed convolution too).",
                             Sym("params") * Sym("P", text="positions"), {"params": row.params, "P": positions})
        if kind in ("rnn", "lstm", "gru"):
            # torchinfo counts the module's own parameters: two bias vectors even where the row
            # counted one (bias_style: single).
            params = row.weights + (2 * row.biases if row.biases and _single_bias(row) else row.biases)
            return self.step(row, "parameters (PyTorch's, two bias vectors) × T.", Sym("params") * Sym("T"),
                             {"params": params, "T": row.input.dims[0]})
        if row.params:
            return self.step(row, "its parameters, once (torchinfo multiplies only a convolution's by its "
                                  "output positions).", Sym("params"), {"params": row.params})
        return 0


def _single_bias(row) -> bool:
    """The row counted one bias vector per gate (bias_style: single); PyTorch's module has two."""
    gates = {"rnn": 1, "lstm": 4, "gru": 3}[row.type]
    layer = row.layer
    directions = 2 if layer["bidirectional"] else 1
    return row.biases == layer["num_layers"] * directions * gates * layer["out"]


def _numel(shape) -> int:
    return prod(shape.dims)


def _string_padding(layer, shape) -> bool:
    """PyTorch's padding='same' / 'valid' (stride 1), which runs aten::conv2d."""
    strides = per_dim(layer.get("stride", 1), len(shape.dims) - 1, "stride")
    return layer.get("padding") in ("same", "valid") and set(strides) == {1}


def apply(sol: Solution, rows: list, convention: str) -> None:
    """Set each row's FLOPs to the tool's count, with a step for each."""
    for row in rows:
        why = unsupported(convention, row)
        if why is not None:
            raise BadInput(f"flops_convention {convention}: {why} in {row.name} is not reproduced; the "
                           "conventions cover convolutions, fc, norms, activations, pooling, upsampling, "
                           "recurrent layers and joins (pytorch also attention)", field="flops_convention")
    counter = Counter(sol, convention)
    for row in rows:
        row.flops = counter.count(row)


def tables(convention: str) -> list[Table]:
    """The summary in two tables of at most four columns, so that each fits a terminal."""
    halves = [(0, 3), (3, 5)]
    return [Table(["counts", *CONVENTIONS[a:b]], [[entry[0], *entry[1 + a:1 + b]] for entry in SUMMARY],
                  title=f"What {', '.join(CONVENTIONS[a:b])} count (this key: {convention})") for a, b in halves]
