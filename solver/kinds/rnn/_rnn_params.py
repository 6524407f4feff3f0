"""Parameter counts of recurrent layers, shared by `rnn` and anyone counting network parameters.

PyTorch keeps two bias vectors per gate (b_ih and b_hh); textbooks and Keras keep one. A cell
with g gate blocks, input size D and hidden size H has g·(H·D + H·H + k·H) parameters, k the
number of bias vectors (SPEC §4 `bias_style`).
"""

from __future__ import annotations

GATE_BLOCKS = {"rnn": 1, "elman": 1, "lstm": 4, "gru": 3}
BIAS_VECTORS = {"pytorch": 2, "single": 1}


def recurrent_params(cell: str, input_size: int, hidden_size: int, bias_style: str = "pytorch") -> int:
    """Weights and biases of one recurrent layer (no output layer)."""
    gates = GATE_BLOCKS[cell]
    biases = BIAS_VECTORS[bias_style]
    return gates * (hidden_size * input_size + hidden_size * hidden_size + biases * hidden_size)


def count_formula_text(cell: str, bias_style: str) -> str:
    gates = GATE_BLOCKS[cell]
    biases = BIAS_VECTORS[bias_style]
    prefix = f"{gates}·" if gates > 1 else ""
    bias = "H" if biases == 1 else f"{biases}H"
    return f"{prefix}(H·D + H·H + {bias})"
