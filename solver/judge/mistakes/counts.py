"""Count mistakes of `network`: parameters, MACs and FLOPs with one convention slipped."""

from __future__ import annotations

from . import Coincidence, Mistake
from .shapes import _network_layers, _network_with

_COUNTS = r"^(totals(\.\w+)?|layers(\[\d+\])?(\.\w+)?|ratio(\.\w+)?)$"
_BIAS_TYPES = ("conv", "convtranspose", "depthwise", "pointwise", "separable", "fc", "rnn", "lstm", "gru",
               "attention")


def _without_bias(layer: dict):
    if layer["type"] in _BIAS_TYPES:
        layer["bias"] = False
    return layer


def _flipped(key: str, values: tuple):
    def modify(given: dict, result):
        current = given.get(key, values[0])
        return {**given, key: values[1] if current == values[0] else values[0]}, result.round_intermediate
    return modify


def _depthwise_as_standard(given: dict, result):
    """Each depthwise layer counted as a standard convolution with as many output channels."""
    try:
        first, layers = _network_layers(result)
    except Exception:
        return None
    rows = [row for row in result.solution.answers.get("layers", []) if row.get("type") == "depthwise"]
    changed, seen = [], 0
    for layer in layers:
        if layer["type"] == "depthwise":
            if seen >= len(rows) or not rows[seen].get("output"):
                return None
            out = rows[seen]["output"][0]
            seen += 1
            layer = {key: value for key, value in layer.items() if key not in ("out",)}
            layer.update(type="conv", out=out)
        changed.append(layer)
    if not seen:
        return None
    return {**given, "input": first, "layers": changed}, result.round_intermediate


def _swap_counts(source: str, target: str):
    """The answers with `target` counts replaced by the `source` ones (MACs given for FLOPs)."""
    def recompute(result):
        answers = result.solution.answers
        out = dict(answers)
        if isinstance(answers.get("totals"), dict) and source in answers["totals"]:
            out["totals"] = {**answers["totals"], target: answers["totals"][source]}
        if isinstance(answers.get("layers"), list):
            out["layers"] = [{**row, target: row.get(source)} if isinstance(row, dict) else row
                             for row in answers["layers"]]
        return out
    return recompute


def _example(layers, field="totals.params", **given):
    return {"kind": "network", "given": {"input": "3x32x32", "layers": layers, **given}, "field": field}


MISTAKES = [
    Mistake("bias-omitted", ("network",), "The biases were left out of the parameter count.", _COUNTS,
            modify=_network_with(_without_bias), example=_example("conv 16 3 | fc 10")),
    Mistake("depthwise-as-standard", ("network",), "A depthwise convolution was counted as a standard "
            "one (every filter over every input channel).", _COUNTS, modify=_depthwise_as_standard,
            example=_example("depthwise 3 | pointwise 16")),
    Mistake("flops-as-macs", ("network",), "MACs were given where FLOPs were asked (a MAC is two "
            "FLOPs: a multiply and an add).", r"^(totals(\.flops)?|layers(\[\d+\])?(\.flops)?)$",
            recompute=_swap_counts("macs", "flops"), example=_example("conv 16 3 | fc 10", "totals.flops")),
    Mistake("macs-as-flops", ("network",), "FLOPs were given where MACs were asked (one MAC, not two "
            "FLOPs, per multiply-add).", r"^(totals(\.macs)?|layers(\[\d+\])?(\.macs)?)$",
            recompute=_swap_counts("flops", "macs"), example=_example("conv 16 3 | fc 10", "totals.macs")),
    Mistake("bias-flops-toggled", ("network",), "Bias additions were counted in the FLOPs where the "
            "convention leaves them out, or the reverse.", _COUNTS,
            modify=_flipped("bias_flops", (False, True)), example=_example("conv 16 3 | fc 10", "totals.flops")),
    Mistake("rnn-bias-style", ("network",), "One bias vector per gate was counted where PyTorch has "
            "two (b_ih and b_hh), or the reverse.", _COUNTS,
            modify=_flipped("bias_style", ("pytorch", "single")),
            example={"kind": "network", "given": {"input": "10x32", "layers": "lstm 64 | fc 10"},
                     "field": "totals.params"}),
]

COINCIDENCES = [
    Coincidence("network", ("flops-as-macs", "macs-as-flops"),
                "`flops: mac` (FLOPs are MACs there, so neither changes anything)"),
]
