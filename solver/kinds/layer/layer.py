"""Kind `layer`: one layer's forward pass on a mini-batch (batch first) or a single sample and,
given the upstream gradient `dout`, its backward pass — CS231n's layer assignments by hand.

Types: affine, conv (1-D and 2-D), transposed-conv, locally-connected, maxpool, avgpool, relu,
leaky-relu, sigmoid, tanh, softmax, dropout, batchnorm (also spatial), layernorm, groupnorm.
The numbers come from solver/nn/functional.py (the one home of the layer maths); the steps
write each quantity's formula, its shape, and the first elements (all with `show: all`) with
their numbers, each compared with the vectorised result.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from ...activations import aliases
from ...context import Context
from ...errors import BadInput
from ...registry import register
from ...steps import Solution
from ...inputs import KindInput, choice
from . import _layer_common as common

TYPES = ("affine", "conv", "transposed-conv", "locally-connected", "maxpool", "avgpool", "relu",
         "leaky-relu", "sigmoid", "tanh", "softmax", "dropout", "batchnorm", "layernorm", "groupnorm")
_ALIASES = {"fc": "affine", "linear": "affine", "dense": "affine", "fully-connected": "affine",
            "conv1d": "conv", "conv2d": "conv", "convolution": "conv", "conv-transpose": "transposed-conv",
            "convtranspose": "transposed-conv", "deconv": "transposed-conv", "transposed": "transposed-conv",
            "conv-transpose2d": "transposed-conv", "convtranspose2d": "transposed-conv",
            "local": "locally-connected", "locally-connected2d": "locally-connected",
            "max-pool": "maxpool", "maxpool2d": "maxpool", "maxpool1d": "maxpool", "max": "maxpool",
            "avg-pool": "avgpool", "avgpool2d": "avgpool", "avgpool1d": "avgpool", "average-pool": "avgpool",
            "batch-norm": "batchnorm", "spatial-batchnorm": "batchnorm", "layer-norm": "layernorm",
            "group-norm": "groupnorm"}

WEIGHTED = ("affine", "conv", "transposed-conv", "locally-connected")
POOLS = ("maxpool", "avgpool")
NORMS = ("batchnorm", "layernorm", "groupnorm")
ACTIVATIONS = ("relu", "leaky-relu", "sigmoid", "tanh", "softmax")  # names of solver/activations.py
_ALIASES.update(aliases(ACTIVATIONS))  # their spellings: leakyrelu, lrelu, logistic
MAX_PRODUCTS = 5_000_000  # multiply-adds of one pass: beyond this it is no longer a hand exercise

# The fields each type reads besides type, x, dout and show; giving another one is a mistake.
FIELDS = {
    "affine": {"w", "b"},
    "conv": {"w", "b", "stride", "padding", "dilation"},
    "transposed-conv": {"w", "b", "stride", "padding", "dilation", "output_padding"},
    "locally-connected": {"w", "b", "stride", "padding"},
    "maxpool": {"kernel", "stride", "padding"},
    "avgpool": {"kernel", "stride", "padding", "count_include_pad"},
    "relu": set(), "sigmoid": set(), "tanh": set(), "softmax": set(),
    "leaky-relu": {"alpha"},
    "dropout": {"p", "mask", "training"},
    "batchnorm": {"gamma", "beta", "eps", "training", "momentum", "running_mean", "running_var"},
    "layernorm": {"gamma", "beta", "eps"},
    "groupnorm": {"gamma", "beta", "eps", "groups"},
}


def _sizes(value, name: str, minimum: int):
    items = value if isinstance(value, list) else [value]
    if not 1 <= len(items) <= 2:
        raise ValueError(f"{name} must be a number or a list of one or two numbers (height, width)")
    for item in items:
        if isinstance(item, bool) or not isinstance(item, int):
            raise ValueError(f"{name} must be whole numbers, got {item!r}")
        if not minimum <= item <= 1000:
            raise ValueError(f"{name} must lie between {minimum} and 1000, got {item}")
    return value


class LayerInput(KindInput):
    type: str = Field(description="affine, conv, transposed-conv, locally-connected, maxpool, avgpool, relu, "
                                  "leaky-relu, sigmoid, tanh, softmax, dropout, batchnorm, layernorm, groupnorm")
    x: Any = Field(description="the input, batch first (N×D, N×C×L, N×C×H×W), or one sample without the "
                               "batch axis")
    w: Any = Field(None, description="weights: affine D×M (out = x·w + b); conv F×C×KH×KW (1-D F×C×K); "
                                     "transposed-conv C×F×KH×KW (PyTorch's layout); locally-connected "
                                     "OH×OW×F×C×KH×KW")
    b: Any = Field(None, description="bias: affine M, conv and transposed-conv F, locally-connected F×OH×OW "
                                     "(0 when not given)")
    stride: Any = Field(None, description="stride (1; pooling: the kernel), one number or a list (height, width)")
    padding: Any = Field(0, description="zero padding on every side (pooling pads with −∞ for max)")
    dilation: Any = Field(1, description="conv, transposed-conv: kernel dilation")
    output_padding: Any = Field(0, description="transposed-conv: extra rows/columns at the bottom/right")
    kernel: Any = Field(None, description="pooling window: one number or a list (height, width)")
    count_include_pad: bool = Field(True, description="avgpool: padding zeros count in the average (PyTorch)")
    alpha: float = Field(0.01, description="leaky-relu slope for x < 0")
    gamma: Any = Field(1, description="norm scale γ (batchnorm, groupnorm: per channel; layernorm: shaped "
                                      "like one sample)")
    beta: Any = Field(0, description="norm shift β, shaped like gamma")
    eps: float = Field(1e-5, description="ε added to the variance")
    training: bool = Field(True, description="batchnorm: batch statistics (true) or running ones; dropout: "
                                             "mask applied (true) or identity")
    momentum: float = Field(0.1, description="batchnorm running-statistics momentum (PyTorch's)")
    running_mean: Any = Field(None, description="batchnorm running mean (0 when not given)")
    running_var: Any = Field(None, description="batchnorm running variance (1 when not given)")
    groups: int | None = Field(None, description="groupnorm: number of channel groups")
    p: float | None = Field(None, description="dropout: the drop probability")
    mask: Any = Field(None, description="dropout: the keep mask, 1 = kept, 0 = dropped, shaped like x")
    dout: Any = Field(None, description="upstream gradient ∂L/∂out, shaped like out: asks for the backward pass")
    show: Literal["first", "all"] = Field("first", description="work the first elements of each quantity in "
                                                               "full, or all of them")

    @field_validator("type")
    @classmethod
    def _type(cls, value):
        return choice(value, TYPES, _ALIASES, name="type", fold={"_": "-"}, suggest=True,
                      message="unknown layer type {value}{suggestion}; types: {options}")

    @field_validator("x", "w", "b", "gamma", "beta", "running_mean", "running_var", "mask", "dout")
    @classmethod
    def _arrays(cls, value, info):
        if value is None:
            return value
        return common.numeric_array(value, info.field_name, allow_scalar=info.field_name not in ("x", "w"))

    @field_validator("stride", "kernel")
    @classmethod
    def _positive_sizes(cls, value, info):
        return value if value is None else _sizes(value, info.field_name, 1)

    @field_validator("dilation")
    @classmethod
    def _dilation(cls, value):
        return _sizes(value, "dilation", 1)

    @field_validator("padding", "output_padding")
    @classmethod
    def _paddings(cls, value, info):
        return _sizes(value, info.field_name, 0)

    @field_validator("alpha", "eps", "momentum")
    @classmethod
    def _finite(cls, value, info):
        if value != value or abs(value) == float("inf"):
            raise ValueError(f"{info.field_name} must be a finite number")
        if info.field_name == "eps" and value < 0:
            raise ValueError("eps must not be negative")
        if info.field_name == "momentum" and not 0 <= value <= 1:
            raise ValueError("momentum must lie between 0 and 1")
        return value

    @field_validator("groups")
    @classmethod
    def _groups(cls, value):
        if value is not None and not 1 <= value <= 10_000:
            raise ValueError("groups must be a positive whole number")
        return value

    @field_validator("p")
    @classmethod
    def _p(cls, value):
        if value is not None and not 0 <= value < 1:
            raise ValueError("p, the drop probability, must lie in [0, 1)")
        return value


def _check_fields(given: LayerInput) -> None:
    allowed = FIELDS[given.type] | {"type", "x", "dout", "show"}
    for name in sorted(given.model_fields_set):
        if name not in allowed and getattr(given, name) is not None:
            uses = ", ".join(sorted(FIELDS[given.type])) or "no other fields"
            raise BadInput(f"{name} is not a field of a {given.type} layer (it takes {uses})", field=name)


@register(
    "layer",
    LayerInput,
    imports=("numpy",),
    summary="One layer's forward pass and, with the upstream gradient dout, its backward pass (dx, dw, db, "
            "dgamma, dbeta) on a mini-batch or one sample: affine, conv (1-D, 2-D), transposed-conv, "
            "locally-connected, max/avg pooling, activations, softmax, dropout, batch/layer/group norm.",
    answers={"out": "the layer's output",
             "dx": "∂L/∂x, shaped like x (with dout)",
             "dw": "∂L/∂w, shaped like w (weighted layers, with dout)",
             "db": "∂L/∂b, shaped like b (weighted layers, with dout)",
             "dgamma": "∂L/∂γ (norms, with dout)",
             "dbeta": "∂L/∂β (norms, with dout)",
             "mean": "norms: the mean used (batchnorm per channel, layernorm per sample, groupnorm N×G)",
             "var": "norms: the biased variance used, shaped like mean",
             "x_hat": "norms: the normalised input, shaped like x",
             "running_mean_new": "batchnorm in training: the updated running mean",
             "running_var_new": "batchnorm in training: the updated running variance (unbiased batch variance)"},
    example='--type affine --x "[[1, 2], [3, 4]]" --w "[[1, 0, -1], [2, 1, 0]]" --b "[0, 1, 2]" '
            '--dout "[[1, 0, 0], [0, 1, 1]]"',
    template={"type": "conv", "x": [[[[1, 2, 0], [0, 1, 3], [2, 1, 1]]]], "w": [[[[1, 0], [0, -1]]]], "b": [0.5],
              "stride": 1, "padding": 0, "dout": [[[[1, 0], [0, 1]]]]},
)
def solve(given: LayerInput, ctx: Context) -> Solution:
    from . import _layer_types as types

    _check_fields(given)
    sol = Solution()
    types.solve_layer(sol, given)
    largest = max((common.array(v).size for v in sol.answers.values()), default=0)
    if given.show == "all" and largest > common.ALL_SHOWN_UP_TO:
        sol.note(f"show: all works the first {common.ALL_SHOWN_UP_TO} elements of each quantity in full; the "
                 "others are computed the same way.")
    for name, value in sol.answers.items():
        sol.answers[name] = ctx.hand_round(common.plain(value))
    if ctx.round_intermediate:
        sol.convention(f"round_intermediate: the answers are rounded to {ctx.decimals} decimals; the working "
                       "above keeps full precision.")
    return sol
