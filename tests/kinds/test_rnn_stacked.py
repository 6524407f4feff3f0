"""Stacked and bidirectional `rnn` against nn.RNN / nn.LSTM / nn.GRU with num_layers and
bidirectional=True, weights and initial states copied in (300 random cases, both layouts);
single-layer answers unchanged; bad stacks named by field."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from solver.context import Context  # noqa: E402
from solver.errors import BadInput  # noqa: E402
from solver.kinds.rnn.rnn import RnnInput, solve  # noqa: E402

from helpers import render_text, solve_text  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")

GATE_ORDER = {"lstm": "ifgo", "gru": "rzn"}


def run(given: dict) -> dict:
    return solve(RnnInput.model_validate(given), Context()).answers


def as_given(matrix, layout: str) -> list:
    m = matrix.detach().double()
    return (m.T if layout == "in_out" else m).tolist()


def weight_set(module, kind: str, layout: str, layer: int, reverse: bool) -> dict:
    """One layer and direction of a PyTorch module as a `stack` entry (b = b_ih + b_hh; GRU n b_hn)."""
    suffix = f"_l{layer}" + ("_reverse" if reverse else "")
    w_ih, w_hh = getattr(module, "weight_ih" + suffix), getattr(module, "weight_hh" + suffix)
    b_ih, b_hh = getattr(module, "bias_ih" + suffix).detach(), getattr(module, "bias_hh" + suffix).detach()
    if kind == "elman":
        return {"U": as_given(w_ih, layout), "W": as_given(w_hh, layout), "b": (b_ih + b_hh).tolist()}
    h = module.hidden_size
    gates = {}
    for k, q in enumerate(GATE_ORDER[kind]):
        rows = slice(k * h, (k + 1) * h)
        gate = {"U": as_given(w_ih[rows], layout), "W": as_given(w_hh[rows], layout)}
        if kind == "gru" and q == "n":
            gate["b"], gate["b_hn"] = b_ih[rows].tolist(), b_hh[rows].tolist()
        else:
            gate["b"] = (b_ih[rows] + b_hh[rows]).tolist()
        gates[q] = gate
    return {"gates": gates}


def random_case(seed: int):
    rng = np.random.default_rng(seed)
    kind = ["elman", "lstm", "gru"][seed % 3]
    layout = ["in_out", "out_in"][(seed // 3) % 2]
    layers, bidirectional = int(rng.integers(1, 4)), bool(rng.integers(0, 2))
    if layers == 1 and not bidirectional:
        bidirectional = True  # the single-layer one-direction case is the cell tests' job
    d, h, steps = int(rng.integers(1, 4)), int(rng.integers(1, 4)), int(rng.integers(1, 5))
    nonlinearity = ["tanh", "relu"][int(rng.integers(0, 2))]
    torch.manual_seed(seed)
    if kind == "elman":
        module = torch.nn.RNN(d, h, layers, nonlinearity=nonlinearity, bidirectional=bidirectional)
    else:
        module = (torch.nn.LSTM if kind == "lstm" else torch.nn.GRU)(d, h, layers, bidirectional=bidirectional)
    module = module.double()
    directions = 2 if bidirectional else 1
    xs = rng.normal(size=(steps, d)).round(3)
    h0 = rng.normal(size=(layers * directions, h)).round(3) if rng.random() < 0.7 else None
    c0 = rng.normal(size=(layers * directions, h)).round(3) if kind == "lstm" and rng.random() < 0.7 else None
    entries = []
    for layer in range(layers):
        sets = []
        for reverse in range(directions):
            entry = weight_set(module, kind, layout, layer, bool(reverse))
            index = layer * directions + reverse  # PyTorch's order of h0 rows
            if h0 is not None:
                entry["h0"] = h0[index].tolist()
            if c0 is not None:
                entry["c0"] = c0[index].tolist()
            sets.append(entry)
        if bidirectional:
            sets[0]["backward"] = sets[1]
        entries.append(sets[0])
    given = {"cell": kind, "weights": layout, "inputs": xs.tolist(), "bidirectional": bidirectional}
    if kind == "elman":
        given["activations"] = {"hidden": nonlinearity}
    if layers > 1 or rng.random() < 0.5:
        given["stack"] = entries
        if rng.random() < 0.5:
            given["layers"] = layers
    else:
        given.update(entries[0])  # one layer: the forward weights at the top, backward beside them
    expected = torch_states(module, kind, xs, h0, c0, layers, directions, h)
    return given, expected


def torch_states(module, kind, xs, h0, c0, layers, directions, h) -> dict:
    """Every layer's and direction's states, running the module one layer deep at a time."""
    zeros = np.zeros((layers * directions, h))
    h0 = torch.tensor(zeros if h0 is None else h0, dtype=torch.float64).unsqueeze(1)
    c0 = torch.tensor(zeros if c0 is None else c0, dtype=torch.float64).unsqueeze(1)
    x = torch.tensor(xs, dtype=torch.float64).unsqueeze(1)  # T × batch 1 × D
    expected = {}
    with torch.no_grad():
        for depth in range(1, layers + 1):
            # The first `depth` layers of the module; its output is layer `depth`'s states.
            part = type(module)(module.input_size, h, depth, bidirectional=directions == 2,
                                **({"nonlinearity": module.nonlinearity} if kind == "elman" else {})).double()
            part.load_state_dict({k: v for k, v in module.state_dict().items()
                                  if int(k.split("_l")[1].split("_")[0]) < depth})
            state = (h0[:depth * directions], c0[:depth * directions]) if kind == "lstm" else h0[:depth * directions]
            output, final = part(x, state)
            for t in range(len(xs)):
                prefix = f"layer{depth}." if layers > 1 else ""
                expected[f"{prefix}h{t + 1}"] = output[t, 0, :h].tolist()
                if directions == 2:
                    expected[f"{prefix}backward.h{t + 1}"] = output[t, 0, h:].tolist()
            if kind == "lstm":  # the last cell states of layer `depth`
                prefix = f"layer{depth}." if layers > 1 else ""
                cells = final[1][(depth - 1) * directions:depth * directions, 0]
                expected[f"{prefix}c{len(xs)}"] = cells[0].tolist()
                if directions == 2:
                    expected[f"{prefix}backward.c1"] = cells[1].tolist()
    return expected


@pytest.mark.parametrize("block", range(6))
def test_stacked_and_bidirectional_match_torch(block):
    for seed in range(block * 50, block * 50 + 50):
        given, expected = random_case(seed)
        answers = run(given)
        for name, value in expected.items():
            assert name in answers, (seed, name, sorted(answers))
            np.testing.assert_allclose(answers[name], value, atol=1e-10, rtol=0, err_msg=f"seed {seed}: {name}")
        states = [n for n in answers if "h" in n.split(".")[-1]]
        assert len(states) == len([n for n in expected if "h" in n.split(".")[-1]])


def test_one_layer_one_direction_through_stack_keeps_the_plain_names():
    plain = {"cell": "elman", "U": [[0.5, -0.3]], "W": [[0.1, 0.2], [0.0, 0.4]], "inputs": [1, 2]}
    stacked = {"cell": "elman", "inputs": [1, 2], "layers": 1,
               "stack": [{"U": [[0.5, -0.3]], "W": [[0.1, 0.2], [0.0, 0.4]]}]}
    assert run(stacked) == run(plain)


BASE = {"cell": "elman", "inputs": [1, 2], "layers": 2,
        "stack": [{"U": [[0.5, -0.3]], "W": [[0.1, 0.2], [0.0, 0.4]]},
                  {"U": [[0.5], [1.0]], "W": [[0.1]]}]}


@pytest.mark.parametrize("change, field, words", [
    ({"layers": 3}, "layers", "stack holds 2"),
    ({"stack": None}, "stack", "one weight set per layer"),
    ({"U": [[1.0]]}, "U", "inside each layer"),
    ({"bidirectional": True}, "stack.0.backward", "backward"),
    ({"stack": [BASE["stack"][0], {"U": [[0.5, 1.0]], "W": [[0.1]]}]}, "stack.1.U", "2 hidden units"),
    ({"stack": [{**BASE["stack"][0], "backward": BASE["stack"][0]}, BASE["stack"][1]]}, "stack.0.backward",
     "bidirectional: true"),
    ({"stack": [{**BASE["stack"][0], "c0": [1, 2]}, BASE["stack"][1]]}, "stack.0.c0", "LSTM"),
    ({"cell": "jordan"}, "cell", "elman, lstm and gru"),
    ({"V": [[1.0]]}, "V", "one layer in one direction"),
    ({"loss": "mse", "targets": [1, 2]}, "loss", "one layer in one direction"),
    ({"layers": 0}, "layers", "from 1"),
])
def test_bad_stacks_name_the_field(change, field, words):
    given = {k: v for k, v in {**BASE, **change}.items() if v is not None}
    result = solve_text(json.dumps({"problems": [{"id": "bad", "kind": "rnn", "given": given}]}))
    error = result.problems[0].error
    assert isinstance(error, BadInput), error
    assert error.field == field, (error.field, error.message)
    assert words in error.message, error.message


def test_custom_cells_do_not_stack():
    given = {"cell": "custom", "equations": ["h = tanh(W*x + R*h_prev)"], "params": {"W": 1, "R": 0.5},
             "inputs": [1, 2], "bidirectional": True}
    result = solve_text(json.dumps({"problems": [{"id": "bad", "kind": "rnn", "given": given}]}))
    assert isinstance(result.problems[0].error, BadInput)


def test_kinds_lists_the_new_fields_and_answers():
    import os
    import subprocess
    import sys

    listing = subprocess.run([sys.executable, "-m", "solver.cli", "kinds", "rnn"], capture_output=True, text=True,
                             env={**os.environ, "COLUMNS": "250"}, timeout=60)
    assert listing.returncode == 0, listing.stderr
    for word in ("stack", "bidirectional", "backward", "layer{l}.h{t}", "backward.h{t}"):
        assert word in listing.stdout, word


# --- rendering -----------------------------------------------------------------------------------

RENDER_EXAMPLE = """
problems:
  - id: both
    kind: rnn
    title: A bidirectional Elman layer, one unit
    given: {cell: elman, bidirectional: true, U: [[0.5]], W: [[0.1]], backward: {U: [[0.2]], W: [[0.3]], b: 0.1}, inputs: [1, 2]}
"""

# By hand: h→(1) = tanh 0.5 = 0.4621, h→(2) = tanh(1 + 0.04621) = 0.7803; backwards from h←(3) = 0:
# h←(2) = tanh(0.4 + 0.1) = 0.4621, h←(1) = tanh(0.2 + 0.3·0.4621 + 0.1) = 0.4125.
EXPECTED_TEXT = (
    'both — A bidirectional Elman layer, one unit  (rnn)\n',
    '  Given: cell = elman, bidirectional = true, U = [0.5], W = [0.1], backward = {U: [0.2], W: [0.3], \n',
    'b: 0.1}, inputs = [1, 2]\n',
    '  Convention: weights: in_out — every weight matrix is inputs × outputs and acts as Wᵀx (u = Uᵀx + \n',
    'Wᵀh + b).\n',
    '  Convention: Activations: hidden tanh.\n',
    '  Convention: bidirectional: the backward direction has its own weights and runs t = T…1, fed by \n',
    "step t + 1; the next layer (and PyTorch's output) reads [h→(t); h←(t)], forward first; answers h{t} \n",
    '(forward) and backward.h{t}\n',
    '  1. The layer, forward direction (1 input → 1 unit) reads the input sequence x(t); it runs t = 1…T.\n',
    '  2. t = 1: hidden pre-activation from the input and the previous hidden state (1×1).\n',
    '     u_h→(1) = U→ᵀx(1) + W→ᵀh→(0) + b→ = [0.5]ᵀ[1] + [0.1]ᵀ[0] + [0] =\n',
    '       [ 0.5 ]\n',
    '  3. Hidden state h(1) = tanh(u_h(1)).\n',
    '     h→(1) = tanh(u_h→(1)) = tanh([0.5]) =\n',
    '       [ 0.4621 ]\n',
    '  4. t = 2: hidden pre-activation from the input and the previous hidden state (1×1).\n',
    '     u_h→(2) = U→ᵀx(2) + W→ᵀh→(1) + b→ = [0.5]ᵀ[2] + [0.1]ᵀ[0.4621] + [0] =\n',
    '       [ 1.0462 ]\n',
    '  5. Hidden state h(2) = tanh(u_h(2)).\n',
    '     h→(2) = tanh(u_h→(2)) = tanh([1.0462]) =\n',
    '       [ 0.7803 ]\n',
    '  6. The layer, backward direction (1 input → 1 unit) reads the input sequence x(t); it runs t = T…1\n',
    'from h←(3) = h0.\n',
    '  7. t = 2: hidden pre-activation from the input and the hidden state of step t + 1 (this direction \n',
    'reads the sequence backwards) (1×1).\n',
    '     u_h←(2) = U←ᵀx(2) + W←ᵀh←(3) + b← = [0.2]ᵀ[2] + [0.3]ᵀ[0] + [0.1] =\n',
    '       [ 0.5 ]\n',
    '  8. Hidden state h(2) = tanh(u_h(2)).\n',
    '     h←(2) = tanh(u_h←(2)) = tanh([0.5]) =\n',
    '       [ 0.4621 ]\n',
    '  9. t = 1: hidden pre-activation from the input and the hidden state of step t + 1 (this direction \n',
    'reads the sequence backwards) (1×1).\n',
    '     u_h←(1) = U←ᵀx(1) + W←ᵀh←(2) + b← = [0.2]ᵀ[1] + [0.3]ᵀ[0.4621] + [0.1] =\n',
    '       [ 0.4386 ]\n',
    '  10. Hidden state h(1) = tanh(u_h(1)).\n',
    '     h←(1) = tanh(u_h←(1)) = tanh([0.4386]) =\n',
    '       [ 0.4125 ]\n',
    '  11. Layers and directions.\n',
    '     ┏━━━━━━┳━━━━━━━━━━━┳━━━━━━━━┳━━━━━━┓                                                           \n',
    '     ┃layer ┃ direction ┃ inputs ┃ units┃                                                           \n',
    '     ┡━━━━━━╇━━━━━━━━━━━╇━━━━━━━━╇━━━━━━┩                                                           \n',
    '     │    1 │   forward │      1 │     1│                                                           \n',
    '     │    1 │  backward │      1 │     1│                                                           \n',
    '     └──────┴───────────┴────────┴──────┘                                                           \n',
    "  12. Outputs of the layer at every step, [h→(t); h←(t)] (PyTorch's output).\n",
    '     ┏━━┳━━━━━━━━━━━━━━━━━┓                                                                         \n',
    '     ┃t ┃           output┃                                                                         \n',
    '     ┡━━╇━━━━━━━━━━━━━━━━━┩                                                                         \n',
    '     │1 │ [0.4621, 0.4125]│                                                                         \n',
    '     │2 │ [0.7803, 0.4621]│                                                                         \n',
    '     └──┴─────────────────┘                                                                         \n',
    "  ✓ the worked states h(t) of both directions equal the elman cell's equations evaluated directly — \n",
    'all 4 values agree to 1e-9 relative\n',
    '  Answer h1 = [0.4621]\n',
    '  Answer h2 = [0.7803]\n',
    '  Answer backward.h2 = [0.4621]\n',
    '  Answer backward.h1 = [0.4125]\n',
    '\n',
)


def test_rendered_example_exactly():
    assert render_text(solve_text(RENDER_EXAMPLE)) == "".join(EXPECTED_TEXT)
