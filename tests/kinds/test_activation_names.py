"""Which activation names each kind accepts: its subset of solver/activations.py and the
table's spellings of them, nothing else; and the messages of a refused word."""

from __future__ import annotations

import random

import pytest

from solver.activations import NAMES, TABLE
from solver.kinds.activation import _activations as act
from solver.kinds.mlp import _mlp_functions as mlp
from solver.kinds.activation.activation import ActivationInput
from solver.kinds.mlp.gate import GateInput
from solver.kinds.layer.layer import LayerInput
from solver.kinds.rnn import _rnn_values as rv

# Each kind's subset, and every spelling it accepts, written out: what the kinds accepted before
# the table existed, plus `purelin` (linear) for the recurrent kinds and `logistic` (sigmoid) for
# the layer kind, which the one table of spellings now gives them too.
ACCEPTED = {
    "activation": {"relu": "relu", "leaky-relu": "leaky-relu", "leaky_relu": "leaky-relu",
                   "leakyrelu": "leaky-relu", "lrelu": "leaky-relu", "leaky relu": "leaky-relu",
                   "elu": "elu", "gelu": "gelu", "gelu-approx": "gelu", "gelu approx": "gelu",
                   "gelu-exact": "gelu-exact", "gelu_exact": "gelu-exact", "gelu exact": "gelu-exact",
                   "sigmoid": "sigmoid", "logistic": "sigmoid", "tanh": "tanh", "softmax": "softmax"},
    "backprop": {"sigmoid": "sigmoid", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu",
                 "linear": "linear", "identity": "linear", "none": "linear", "purelin": "linear",
                 "softmax": "softmax"},
    "rnn-hidden": {"tanh": "tanh", "sigmoid": "sigmoid", "logistic": "sigmoid", "relu": "relu",
                   "linear": "linear", "identity": "linear", "none": "linear", "purelin": "linear"},
    "gate": {"sigmoid": "sigmoid", "logistic": "sigmoid", "step": "step", "threshold": "step",
             "heaviside": "step"},
    "layer": {"relu": "relu", "leaky-relu": "leaky-relu", "leaky_relu": "leaky-relu", "leakyrelu": "leaky-relu",
              "lrelu": "leaky-relu", "sigmoid": "sigmoid", "logistic": "sigmoid", "tanh": "tanh",
              "softmax": "softmax"},
}
ACCEPTED["rnn-output"] = {**ACCEPTED["rnn-hidden"], "softmax": "softmax"}
ACCEPTED["convolve"] = {word: name for word, name in ACCEPTED["activation"].items() if name != "softmax"}
SUBSETS = {"activation": (*act.NAMES, "softmax"), "backprop": mlp.ACTIVATIONS, "rnn-hidden": rv.HIDDEN_ACTIVATIONS,
           "rnn-output": rv.OUTPUT_ACTIVATIONS, "gate": ("sigmoid", "step"),
           "layer": ("relu", "leaky-relu", "sigmoid", "tanh", "softmax"), "convolve": act.NAMES}


def read(kind: str, word: str) -> str | None:
    """What the kind's validator makes of the word (None: refused)."""
    try:
        if kind == "activation":
            return ActivationInput.model_validate({"function": word, "points": 1}).function
        if kind == "backprop":
            return mlp.normalize_activation(word)
        if kind.startswith("rnn"):
            allowed = rv.HIDDEN_ACTIVATIONS if kind == "rnn-hidden" else rv.OUTPUT_ACTIVATIONS
            return rv.activation_name(word, allowed=allowed)
        if kind == "gate":
            return GateInput._activation(word)
        if kind == "convolve":  # its activation layers: {type: relu}
            return act.canonical_name(word)
        name = LayerInput._type(word)
        return name if name in TABLE else None  # the layer kind's other types are not activations
    except ValueError:
        return None


def words() -> list[str]:
    """Every name and spelling of the table, the kinds' own, and near misses."""
    listed = set(NAMES) | {a for name in NAMES for a in TABLE[name].aliases}
    for accepted in ACCEPTED.values():
        listed |= set(accepted)
    near = {"relux", "sigmoids", "soft max", "gelu_approx", "tan h", "leaky-relu-", "", "affine", "max",
            "linear ", "STEP", "Logistic", "hard-tanh", "softplus", "swish", "silu", "lrelu2"}
    return sorted(listed | near)


@pytest.mark.parametrize("kind", sorted(ACCEPTED))
def test_each_kind_accepts_exactly_its_subset_and_their_spellings(kind):
    assert set(ACCEPTED[kind].values()) == set(SUBSETS[kind])
    for word in words():
        assert read(kind, word) == ACCEPTED[kind].get(word.strip().lower()), (kind, word)


@pytest.mark.parametrize("kind", sorted(ACCEPTED))
def test_case_and_surrounding_spaces_never_matter(kind):
    rng = random.Random(kind)
    for _ in range(300):
        word = rng.choice(sorted(ACCEPTED[kind]))
        spelled = "".join(c.upper() if rng.random() < 0.5 else c for c in word)
        spelled = " " * rng.randint(0, 2) + spelled + " " * rng.randint(0, 2)
        assert read(kind, spelled) == ACCEPTED[kind][word], (kind, spelled)


def test_kinds_read_only_names_of_the_table():
    for subset in SUBSETS.values():
        assert set(subset) <= set(TABLE)
    assert set(act.ACTIVATIONS) == set(act.NAMES)


# --- messages: the kinds that list their words, with a suggestion when one is close -------------


def message(validate, value) -> str:
    with pytest.raises(ValueError) as caught:
        validate(value)
    return str(caught.value)


def test_messages_of_a_refused_activation():
    assert message(mlp.normalize_activation, "sigmoidd") == (
        "activation must be one of sigmoid, tanh, relu, linear, softmax, got 'sigmoidd' (did you mean 'sigmoid'?)")
    assert message(mlp.normalize_activation, "swish") == (
        "activation must be one of sigmoid, tanh, relu, linear, softmax, got 'swish'")
    hidden = lambda v: rv.activation_name(v, allowed=rv.HIDDEN_ACTIVATIONS, name="activations.hidden")  # noqa: E731
    assert message(hidden, "softmax") == "activations.hidden must be one of tanh, sigmoid, relu, linear, got 'softmax'"
    assert message(hidden, "Tanhh") == ("activations.hidden must be one of tanh, sigmoid, relu, linear, got 'Tanhh'"
                                        " (did you mean 'tanh'?)")
    assert message(GateInput._activation, "stepp") == ("activation must be sigmoid or step, got 'stepp' "
                                                       "(did you mean 'step'?)")
    assert message(GateInput._activation, "swish") == "activation must be sigmoid or step, got 'swish'"
    assert message(GateInput._gate, "nandd") == ("gate must be one of AND, OR, NAND, NOR, XOR, XNOR, NOT, "
                                                 "got 'nandd' (did you mean 'NAND'?)")


def test_messages_of_the_kinds_that_list_their_words_are_unchanged():
    from solver.kinds.derive.derive import DeriveInput
    from solver.kinds.layer.loss import LossInput

    functions = "relu, leaky-relu, elu, gelu, gelu-exact, sigmoid, tanh, softmax"
    assert message(ActivationInput._function, "gelu-exakt") == (
        f"unknown function 'gelu-exakt' (did you mean 'gelu-exact'?); functions: {functions}")
    assert message(ActivationInput._function, "zzz") == f"unknown function 'zzz'; functions: {functions}"
    assert message(LayerInput._type, "Max_Pol").startswith("unknown layer type 'Max_Pol' (did you mean 'maxpool'?); "
                                                           "types: affine, conv, ")
    assert message(LossInput._type, "hinj") == ("unknown loss 'hinj' (did you mean 'hinge'?); losses: ce, nll, "
                                                "bce, bce-logits, mse, hinge, kl")
    assert message(DeriveInput._template, "tanh derivativ").startswith(
        "unknown template 'tanh derivativ' (did you mean 'tanh-derivative'?); templates: softmax-cross-entropy, ")
