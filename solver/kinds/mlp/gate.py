"""Kind `gate`: logic gates (AND, OR, NAND, NOR, XOR, XNOR, NOT) as small neural networks.

Without a `network`, the smallest MLP is searched (layer sizes first, then small integer
weights and half-integer biases), its truth table verified, and for XOR/XNOR the reason one
neuron cannot do it is shown. With a `network`, that network is run on every input row and
checked against the gate. A claimed network in `answer:` matches when it passes the truth table.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from ...activations import choose
from ...context import Context
from ...errors import BadInput
from ...inputs import KindInput, LayerWeights, choice, weight_layout
from ...registry import register
from ...steps import Solution, Table
from . import _gate_search as search

# The units of a gate network (names of solver/activations.py).
ACTIVATIONS = ("sigmoid", "step")
_GATE_ALIASES = {"EXOR": "XOR", "EQ": "XNOR", "EQUIV": "XNOR", "EXNOR": "XNOR", "INVERT": "NOT"}


class GateInput(KindInput):
    gate: str = Field(description="AND, OR, NAND, NOR, XOR, XNOR or NOT")
    activation: str = Field("sigmoid", description="sigmoid (answer 1 when the output's pre-activation "
                                                   "≥ 0) or step (every unit outputs 0/1)")
    network: list[LayerWeights] | None = Field(None, description="a network to verify: layers of {W, b}")
    weights: str = Field("in_out", description="layout of the network's W: in_out or out_in")

    @field_validator("gate")
    @classmethod
    def _gate(cls, value):
        return choice(value, tuple(search.GATES), _GATE_ALIASES, name="gate", upper=True, fold={"-": "", "_": ""},
                      suggest=True)

    @field_validator("activation")
    @classmethod
    def _activation(cls, value):
        return choose(value, ACTIVATIONS, name="activation", either=True, suggest=True)

    @field_validator("network")
    @classmethod
    def _network(cls, value):
        if value is not None and not value:
            raise ValueError("the network needs at least one layer")
        return value

    @field_validator("weights")
    @classmethod
    def _layout(cls, value):
        return weight_layout(value)


# --- a given network --------------------------------------------------------------------------


def normalize_network(layers: list, n_inputs: int, layout: str, field: str = "network") -> tuple[list, list]:
    """W as nested lists in the given layout and b as lists, sizes checked layer by layer."""
    weights, biases, n_in = [], [], n_inputs
    for index, layer in enumerate(layers):
        W, b = _layer_values(layer)
        where = f"{field}.{index}"
        W = _as_matrix(W, n_in, layout, f"{where}.W")
        n_out = len(W[0]) if layout == "in_out" else len(W)
        b = [float(v) for v in (_flat(b) if isinstance(b, list) else [b] * n_out)]
        if len(b) != n_out:
            raise BadInput(f"b has {len(b)} entries but the layer has {n_out} neurons", field=f"{where}.b")
        weights.append(W)
        biases.append(b)
        n_in = n_out
    if n_in != 1:
        raise BadInput(f"the last layer must have one neuron (the gate's output), not {n_in}",
                       field=f"{field}.{len(layers) - 1}.W")
    return weights, biases


def _flat(values: list) -> list:
    """A vector written as a list, a single row [[…]] or a single column [[…], […]]."""
    return [v for item in values for v in (item if isinstance(item, list) else [item])]


def _layer_values(layer):
    if isinstance(layer, dict):
        return layer.get("W"), layer.get("b", 0)
    return layer.W, layer.b


def _as_matrix(W, n_in: int, layout: str, field: str) -> list[list[float]]:
    if isinstance(W, (int, float)):
        W = [[W]]
    elif W and not isinstance(W[0], list):
        W = [[v] for v in W] if layout == "in_out" else [list(W)]
    W = [[float(v) for v in row] for row in W]
    inputs = len(W) if layout == "in_out" else len(W[0])
    if inputs != n_in:
        raise BadInput(f"W is {len(W)}×{len(W[0])} but the layer receives {n_in} input"
                       f"{'s' if n_in != 1 else ''} (weights: {layout})", field=field)
    return W


def network_passes(weights, biases, gate: str, activation: str, layout: str) -> bool:
    n_inputs, target = search.GATES[gate]
    rows = search.truth_table(weights, biases, activation, n_inputs, layout)
    return all(r.output == t for r, t in zip(rows, target))


# --- steps ------------------------------------------------------------------------------------


def _input_names(n_inputs: int) -> list[str]:
    return ["A", "B"][:n_inputs]


def _target_table(sol: Solution, gate: str) -> None:
    n_inputs, target = search.GATES[gate]
    rows = [list(r) + [t] for r, t in zip(search.input_rows(n_inputs), target)]
    sol.add(f"The truth table of {gate}: each row is a classification example.",
            table=Table(_input_names(n_inputs) + [gate], rows))


def _explain_not_separable(sol: Solution, gate: str) -> None:
    n_inputs, target = search.GATES[gate]
    witness = search.separability_witness(target, n_inputs)
    if witness is None:
        return
    p, q, r, s = witness

    def u(point):
        terms = [f"w{i + 1}" for i, x in enumerate(point) if x]
        return " + ".join(terms + ["b"])

    sol.note(
        f"One neuron is not enough: {gate} is not linearly separable. A single unit answers 1 exactly "
        f"when u = w·x + b ≥ 0. The rows {p} and {q} must give u ≥ 0, so ({u(p)}) + ({u(q)}) ≥ 0; "
        f"the rows {r} and {s} must give u < 0, so ({u(r)}) + ({u(s)}) < 0. Both sums equal "
        f"{_sum_text(p, q)}, which cannot be ≥ 0 and < 0 at once: no line separates the 1s from the 0s.")


def _sum_text(p, q) -> str:
    terms = []
    for i, (a, c) in enumerate(zip(p, q)):
        count = a + c
        if count:
            terms.append(f"{count if count > 1 else ''}w{i + 1}")
    return " + ".join(terms + ["2b"])


def _explain_hidden_failures(sol: Solution, failed: list[int]) -> None:
    if 1 in failed:
        sol.note("One hidden neuron is not enough either: the output unit then sees a single number "
                 "that is a monotone function of one linear combination of the inputs, so the whole "
                 "network is still one threshold on a line — the same contradiction.")


def _describe_hidden(layers, n_inputs: int) -> list[str]:
    if len(layers) < 2:
        return []
    rows = search.input_rows(n_inputs)
    names = []
    for neuron in layers[0]:
        outputs = tuple(search.step(neuron.pre_activation(r)) for r in rows)
        names.append(search.FUNCTION_NAMES.get(outputs, str(outputs)) if n_inputs == 2 else str(outputs))
    return names


def _network_steps(sol: Solution, weights, biases, hidden_names: list[str]) -> None:
    for index, (W, b) in enumerate(zip(weights, biases), 1):
        role = "output layer" if index == len(weights) else f"hidden layer {index}"
        extra = ""
        if index == 1 and hidden_names:
            extra = " Its neurons compute " + "; ".join(f"h{j + 1} = {name}" for j, name in enumerate(hidden_names)) + "."
        sol.add(f"Weights of the {role} (inputs×outputs, u = Wᵀx + b).{extra}", value=W, answer=f"W{index}")
        sol.add(f"Bias of the {role}.", value=b, answer=f"b{index}")


def _verified_table(sol: Solution, gate: str, weights, biases, activation: str, layout: str) -> None:
    n_inputs, target = search.GATES[gate]
    rows = search.truth_table(weights, biases, activation, n_inputs, layout)
    hidden_columns = [f"h{j + 1}" for j in range(len(rows[0].hidden[0]))] if rows[0].hidden else []
    table_rows = []
    for row, wanted in zip(rows, target):
        hidden = row.hidden[0] if row.hidden else []
        table_rows.append(list(row.inputs) + hidden + [row.output_pre, row.output, wanted,
                                                       "✓" if row.output == wanted else "✗"])
    columns = _input_names(n_inputs) + hidden_columns + ["u_out", "output", gate, "ok"]
    sol.add("Every input row through the network (the answer is 1 when u_out ≥ 0).",
            table=Table(columns, table_rows, title="verified truth table"))
    table = [list(r.inputs) + [r.output] for r in rows]
    sol.set_answer("truth_table", table)
    passes = all(r.output == t for r, t in zip(rows, target))
    sol.check(f"the network reproduces {gate} on all {len(rows)} rows", passes,
              "" if passes else f"{sum(r.output != t for r, t in zip(rows, target))} wrong rows")


def _layer_sizes(weights, layout: str) -> list[int]:
    return [len(W[0]) if layout == "in_out" else len(W) for W in weights]


def _design(sol: Solution, given: GateInput) -> None:
    n_inputs, target = search.GATES[given.gate]
    layers, failed = search.smallest_network(target, n_inputs)
    if failed:
        _explain_not_separable(sol, given.gate)
        _explain_hidden_failures(sol, failed)
    scale = 1
    if len(layers) > 1 and given.activation == "sigmoid":
        scale = search.sigmoid_scale(layers, target, n_inputs)
    weights, biases = search.as_matrices(layers, scale)
    sizes = _layer_sizes(weights, "in_out")
    shape = "a single neuron" if len(sizes) == 1 else (
        f"one hidden layer of {sizes[0]} neurons and one output neuron")
    sol.add(f"The smallest network found: {shape} (searched layer sizes from the smallest, weights in "
            f"{{−2, …, 2}}, biases in {{±0.5, ±1.5, ±2.5}}).", value=sizes, answer="layers")
    _network_steps(sol, weights, biases, _describe_hidden(layers, n_inputs))
    if scale != 1:
        sol.note(f"Sigmoid hidden units output σ(u), not 0/1. Multiplying the hidden weights and biases "
                 f"by {scale} makes every hidden |u| ≥ {0.5 * scale:g}, so σ is close enough to 0 or 1 "
                 f"that the output unit still answers correctly (by at least {search.SIGMOID_MARGIN}).")
    _verified_table(sol, given.gate, weights, biases, given.activation, "in_out")


def _verify(sol: Solution, given: GateInput) -> None:
    n_inputs, _ = search.GATES[given.gate]
    weights, biases = normalize_network(given.network, n_inputs, given.weights)
    sol.add("Neurons per layer of the given network.", value=_layer_sizes(weights, given.weights),
            answer="layers")
    for index, (W, b) in enumerate(zip(weights, biases), 1):
        sol.set_answer(f"W{index}", W)
        sol.set_answer(f"b{index}", b)
    _verified_table(sol, given.gate, weights, biases, given.activation, given.weights)
    passes = network_passes(weights, biases, given.gate, given.activation, given.weights)
    sol.add(f"The network {'implements' if passes else 'does not implement'} {given.gate}.",
            value=passes, answer="passes")
    if not passes and len(weights) == 1:
        _explain_not_separable(sol, given.gate)


def _state_conventions(sol: Solution, given: GateInput) -> None:
    if given.activation == "sigmoid":
        sol.convention("activation sigmoid: hidden units output σ(u); the network answers 1 when the "
                       "output unit's pre-activation u ≥ 0 (σ(u) ≥ 0.5)")
    else:
        sol.convention("activation step: every unit outputs 1 when its pre-activation u ≥ 0, else 0")
    layout = given.weights if given.network is not None else "in_out"
    sol.convention("weights in_out: W is inputs×outputs, u = Wᵀx + b" if layout == "in_out"
                   else "weights out_in: W is outputs×inputs, u = Wx + b")


def compare_claim(name: str, claimed, computed, result) -> bool | None:
    """`check`: a claimed network (W{l}, b{l}) matches when it passes the gate's truth table."""
    if not (name.startswith("W") or name.startswith("b")) or not name[1:].isdigit():
        return None
    claims = result.claimed or {}
    count = 1
    while f"W{count + 1}" in claims:
        count += 1
    if any(f"W{l}" not in claims for l in range(1, count + 1)):
        return None
    try:
        given = GateInput.model_validate(result.given)
        layers = [LayerWeights.model_validate({"W": claims[f"W{l}"], "b": claims.get(f"b{l}", 0)})
                  for l in range(1, count + 1)]  # a claim is untrusted input too
        n_inputs, _ = search.GATES[given.gate]
        weights, biases = normalize_network(layers, n_inputs, given.weights)
    except (BadInput, ValueError, TypeError, IndexError):
        return False
    return network_passes(weights, biases, given.gate, given.activation, given.weights)


@register(
    "gate",
    GateInput,
    summary="Logic gates as neural networks: the smallest MLP for AND, OR, NAND, NOR, XOR, XNOR, NOT "
            "with its truth table, or check a given network against a gate.",
    answers={"layers": "neurons per layer (hidden layers, then the output neuron)",
             "W{l}": "weights of layer l (inputs×outputs)", "b{l}": "bias of layer l",
             "truth_table": "one row per input: the inputs, then the network's output",
             "passes": "with a given network: whether it implements the gate"},
    positional="gate",
    example="XOR",
    template={"gate": "XOR", "activation": "sigmoid"},
    compare=compare_claim,
)
def solve(given: GateInput, ctx: Context) -> Solution:
    sol = Solution()
    _state_conventions(sol, given)
    _target_table(sol, given.gate)
    if given.network is None:
        _design(sol, given)
    else:
        _verify(sol, given)
    return sol
