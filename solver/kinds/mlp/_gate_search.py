"""Threshold-unit networks for logic gates: truth tables, a search for the smallest network with
small integer weights, and the evaluation of a network under step or sigmoid units.

Pure Python (a few hundred candidate neurons): the gate kind stays on the fast path.
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass

from ...activations import TABLE

GATES = {
    # name: (number of inputs, output for each input row in binary order 00, 01, 10, 11)
    "AND": (2, (0, 0, 0, 1)),
    "OR": (2, (0, 1, 1, 1)),
    "NAND": (2, (1, 1, 1, 0)),
    "NOR": (2, (1, 0, 0, 0)),
    "XOR": (2, (0, 1, 1, 0)),
    "XNOR": (2, (1, 0, 0, 1)),
    "NOT": (1, (1, 0)),
}

# Names of the two-input functions a hidden neuron may compute (outputs for 00, 01, 10, 11).
FUNCTION_NAMES = {
    (0, 0, 0, 1): "A AND B", (0, 1, 1, 1): "A OR B", (1, 1, 1, 0): "A NAND B",
    (1, 0, 0, 0): "A NOR B", (0, 1, 1, 0): "A XOR B", (1, 0, 0, 1): "A XNOR B",
    (0, 0, 1, 0): "A AND NOT B", (0, 1, 0, 0): "NOT A AND B", (1, 1, 0, 1): "A OR NOT B",
    (1, 0, 1, 1): "NOT A OR B", (0, 0, 1, 1): "A", (0, 1, 0, 1): "B", (1, 1, 0, 0): "NOT A",
    (1, 0, 1, 0): "NOT B", (0, 0, 0, 0): "always 0", (1, 1, 1, 1): "always 1",
}

WEIGHT_GRID = (1, -1, 2, -2, 0)
# Half-integer biases keep every pre-activation at least 0.5 away from the threshold.
BIAS_GRID = (0.5, -0.5, 1.5, -1.5, 2.5, -2.5)
MAX_HIDDEN = 3
SIGMOID_MARGIN = 0.25  # the output pre-activation must clear 0 by this much


def input_rows(n_inputs: int) -> list[tuple[int, ...]]:
    return list(itertools.product((0, 1), repeat=n_inputs))


@dataclass(frozen=True)
class Neuron:
    weights: tuple[float, ...]
    bias: float

    @property
    def cost(self) -> tuple[float, int]:
        """Smaller weights first, then fewer negative weights (the readable textbook choice)."""
        return (sum(abs(w) for w in self.weights) + abs(self.bias), sum(w < 0 for w in self.weights))

    def pre_activation(self, inputs) -> float:
        return sum(w * x for w, x in zip(self.weights, inputs)) + self.bias


step = TABLE["step"].scalar  # the threshold unit: 1 when u ≥ 0, else 0


@functools.lru_cache(maxsize=None)
def _neurons(n_inputs: int) -> tuple[Neuron, ...]:
    """Every neuron on the grid, cheapest first (a stable order, so the search is deterministic)."""
    grid = [Neuron(tuple(float(w) for w in weights), float(bias))
            for weights in itertools.product(WEIGHT_GRID, repeat=n_inputs) for bias in BIAS_GRID]
    return tuple(sorted(grid, key=lambda n: n.cost))


def _cheapest_neuron(rows: list[tuple], target: tuple) -> Neuron | None:
    """The cheapest step neuron that gives `target` on `rows`, or None."""
    for neuron in _neurons(len(rows[0])):
        if all(step(neuron.pre_activation(r)) == t for r, t in zip(rows, target)):
            return neuron
    return None


def _cheapest_neurons(rows: list[tuple]) -> dict[tuple, Neuron]:
    """For every function a single step neuron computes on `rows`, its cheapest neuron."""
    best: dict[tuple, Neuron] = {}
    for neuron in _neurons(len(rows[0])):
        best.setdefault(tuple(step(neuron.pre_activation(r)) for r in rows), neuron)
    return best


def single_neuron(target: tuple, n_inputs: int) -> Neuron | None:
    return _cheapest_neuron(input_rows(n_inputs), tuple(target))


def one_hidden_layer(target: tuple, n_inputs: int, size: int) -> list[list[Neuron]] | None:
    """The cheapest network with one hidden layer of `size` step neurons, or None."""
    rows = input_rows(n_inputs)
    hidden_options = {f: n for f, n in _cheapest_neurons(rows).items() if len(set(f)) > 1}
    best, best_cost = None, (math.inf, 0)
    for functions in itertools.combinations(sorted(hidden_options, reverse=True), size):
        codes = [tuple(f[i] for f in functions) for i in range(len(rows))]
        wanted: dict[tuple, int] = {}
        if any(wanted.setdefault(code, t) != t for code, t in zip(codes, target)):
            continue  # two inputs look alike to the output neuron but need different answers
        out = _cheapest_neuron(list(wanted), tuple(wanted.values()))
        if out is None:
            continue
        hidden = [hidden_options[f] for f in functions]
        cost = tuple(map(sum, zip(*(n.cost for n in hidden + [out]))))
        if cost < best_cost:
            best, best_cost = [hidden, [out]], cost
    return best


def smallest_network(target: tuple, n_inputs: int) -> tuple[list[list[Neuron]], list[int]]:
    """(layers of neurons, hidden sizes tried without success)."""
    found = single_neuron(target, n_inputs)
    if found is not None:
        return [[found]], []
    failed = [0]
    for size in range(1, MAX_HIDDEN + 1):
        network = one_hidden_layer(target, n_inputs, size)
        if network is not None:
            return network, failed
        failed.append(size)
    raise AssertionError("every two-input function has a network with two hidden neurons")


def separability_witness(target: tuple, n_inputs: int):
    """Two inputs of class 1 and two of class 0 with the same sum: no single threshold unit
    can then separate them (the pre-activations of each pair add up to the same number)."""
    rows = input_rows(n_inputs)
    ones = [r for r, t in zip(rows, target) if t == 1]
    zeros = [r for r, t in zip(rows, target) if t == 0]
    for p, q in itertools.combinations_with_replacement(ones, 2):
        for r, s in itertools.combinations_with_replacement(zeros, 2):
            if all(a + b == c + d for a, b, c, d in zip(p, q, r, s)):
                return p, q, r, s
    return None


# --- evaluation ------------------------------------------------------------------------------


@dataclass
class Row:
    inputs: tuple[int, ...]
    hidden: list[list[float]]  # each hidden layer's outputs
    output_pre: float
    output: int


def evaluate(weights: list, biases: list, activation: str, inputs: tuple, layout: str = "in_out") -> Row:
    """Run one input through the network; W in_out (inputs×outputs) or out_in.

    Hidden units output step(u) or σ(u); the network answers 1 when the output unit's
    pre-activation is ≥ 0 (for sigmoid that is σ ≥ 0.5)."""
    h = [float(v) for v in inputs]
    hidden: list[list[float]] = []
    u: list[float] = []
    for index, (W, b) in enumerate(zip(weights, biases)):
        n_out = len(W[0]) if layout == "in_out" else len(W)
        u = [sum((W[i][j] if layout == "in_out" else W[j][i]) * h[i] for i in range(len(h))) + b[j]
             for j in range(n_out)]
        if index < len(weights) - 1:
            h = [TABLE[activation].scalar(v) for v in u]
            hidden.append(h)
    return Row(tuple(inputs), hidden, u[0], step(u[0]))


def truth_table(weights, biases, activation: str, n_inputs: int, layout: str = "in_out") -> list[Row]:
    return [evaluate(weights, biases, activation, r, layout) for r in input_rows(n_inputs)]


def as_matrices(layers: list[list[Neuron]], scale: float = 1) -> tuple[list, list]:
    """Weights as in_out matrices (inputs×outputs) and biases as lists; hidden layers scaled."""
    weights, biases = [], []
    for index, layer in enumerate(layers):
        k = scale if index < len(layers) - 1 else 1
        n_in = len(layer[0].weights)
        weights.append([[_tidy(k * n.weights[i]) for n in layer] for i in range(n_in)])
        biases.append([_tidy(k * n.bias) for n in layer])
    return weights, biases


def _tidy(value: float):
    return int(value) if float(value).is_integer() else value


def sigmoid_scale(layers: list[list[Neuron]], target: tuple, n_inputs: int) -> int:
    """The smallest factor k for the hidden layers so that sigmoid units (σ(k·u) instead of a
    hard step) still give the right answer with a margin on every row."""
    for k in range(1, 101):
        weights, biases = as_matrices(layers, k)
        rows = truth_table(weights, biases, "sigmoid", n_inputs)
        if all(r.output == t and abs(r.output_pre) >= SIGMOID_MARGIN for r, t in zip(rows, target)):
            return k
    raise AssertionError("half-integer margins make σ(k·u) approach the step for large k")
