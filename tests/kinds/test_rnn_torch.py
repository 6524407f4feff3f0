"""`rnn` against PyTorch: forward steps against nn.RNNCell / nn.LSTMCell / nn.GRUCell with the
weights copied over (300+ random cases), and backpropagation through time against autograd."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from solver.context import Context  # noqa: E402
from solver.kinds.rnn.rnn import RnnInput, solve  # noqa: E402

GATE_ORDER = {"lstm": "ifgo", "gru": "rzn"}


def run(given: dict) -> dict:
    return solve(RnnInput.model_validate(given), Context()).answers


def as_given(matrix: torch.Tensor, layout: str) -> list:
    """A PyTorch weight (outputs × inputs) in the problem's `weights` layout."""
    m = matrix.detach().double()
    return (m.T if layout == "in_out" else m).tolist()


def random_sizes(rng):
    return int(rng.integers(1, 5)), int(rng.integers(1, 5)), int(rng.integers(1, 5))


def sequence(rng, steps: int, size: int) -> list:
    return [rng.normal(size=size).round(3).tolist() for _ in range(steps)]


# --- forward: nn.RNNCell, nn.LSTMCell, nn.GRUCell ------------------------------------------------


def rnn_cell_case(seed: int):
    rng = np.random.default_rng(seed)
    d, h, steps = random_sizes(rng)
    layout = ["in_out", "out_in"][seed % 2]
    nonlinearity = ["tanh", "relu"][(seed // 2) % 2]
    torch.manual_seed(seed)
    cell = torch.nn.RNNCell(d, h, nonlinearity=nonlinearity).double()
    xs, h0 = sequence(rng, steps, d), rng.normal(size=h).round(3).tolist()
    given = {"cell": "elman", "weights": layout, "U": as_given(cell.weight_ih, layout),
             "W": as_given(cell.weight_hh, layout),
             "b": (cell.bias_ih + cell.bias_hh).detach().tolist(), "h0": h0, "inputs": xs,
             "activations": {"hidden": nonlinearity}}
    state, expected = torch.tensor([h0], dtype=torch.float64), {}
    with torch.no_grad():
        for t, x in enumerate(xs, 1):
            state = cell(torch.tensor([x], dtype=torch.float64), state)
            expected[f"h{t}"] = state[0].tolist()
    return given, expected


def gates_from(cell, kind: str, layout: str, h: int) -> dict:
    """The `gates` field holding a PyTorch cell's weights (b = b_ih + b_hh; GRU n keeps b_hn)."""
    gates = {}
    for k, q in enumerate(GATE_ORDER[kind]):
        rows = slice(k * h, (k + 1) * h)
        gate = {"U": as_given(cell.weight_ih[rows], layout), "W": as_given(cell.weight_hh[rows], layout)}
        if kind == "gru" and q == "n":  # PyTorch keeps b_hn inside the reset product
            gate["b"], gate["b_hn"] = cell.bias_ih[rows].tolist(), cell.bias_hh[rows].tolist()
        else:
            gate["b"] = (cell.bias_ih[rows] + cell.bias_hh[rows]).tolist()
        gates[q] = gate
    return gates


def gated_cell_case(kind: str, seed: int):
    rng = np.random.default_rng(seed)
    d, h, steps = random_sizes(rng)
    layout = ["in_out", "out_in"][seed % 2]
    torch.manual_seed(seed)
    cell = (torch.nn.LSTMCell if kind == "lstm" else torch.nn.GRUCell)(d, h).double()
    xs, h0 = sequence(rng, steps, d), rng.normal(size=h).round(3).tolist()
    given = {"cell": kind, "weights": layout, "gates": gates_from(cell, kind, layout, h), "h0": h0, "inputs": xs}
    state, expected = torch.tensor([h0], dtype=torch.float64), {}
    cell_state = None
    if kind == "lstm":
        c0 = rng.normal(size=h).round(3).tolist()
        given["c0"], cell_state = c0, torch.tensor([c0], dtype=torch.float64)
    with torch.no_grad():
        for t, x in enumerate(xs, 1):
            x = torch.tensor([x], dtype=torch.float64)
            if kind == "lstm":
                state, cell_state = cell(x, (state, cell_state))
                expected[f"c{t}"] = cell_state[0].tolist()
            else:
                state = cell(x, state)
            expected[f"h{t}"] = state[0].tolist()
    return given, expected


def assert_answers(answers: dict, expected: dict, seed, tol=1e-10):
    for name, value in expected.items():
        np.testing.assert_allclose(answers[name], value, atol=tol, rtol=0, err_msg=f"seed {seed}: {name}")


@pytest.mark.parametrize("block", range(4))
def test_elman_matches_rnn_cell(block):
    for seed in range(block * 30, block * 30 + 30):
        given, expected = rnn_cell_case(seed)
        assert_answers(run(given), expected, seed)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
@pytest.mark.parametrize("block", range(2))
def test_gated_cells_match_torch_cells(kind, block):
    for seed in range(block * 50, block * 50 + 50):
        given, expected = gated_cell_case(kind, seed)
        assert_answers(run(given), expected, seed)


# --- backpropagation through time against autograd --------------------------------------------------

ACTIVATIONS = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu,
               "linear": lambda u: u, "softmax": lambda u: torch.softmax(u, dim=0)}


def torch_loss(loss: str, y, d):
    if loss == "mse":
        return ((y - d) ** 2).mean()
    if loss == "sse":
        return ((y - d) ** 2).sum()
    if loss == "half-sse":
        return 0.5 * ((y - d) ** 2).sum()
    if loss == "bce":
        return -(d * torch.log(y) + (1 - d) * torch.log(1 - y)).sum()
    return -(d * torch.log(y)).sum()


def loss_and_output(rng, outputs: int):
    """A loss with an output activation it makes sense for (y inside (0, 1) for logs;
    softmax only over several outputs)."""
    loss = ["bce", "ce", "mse", "sse", "half-sse"][int(rng.integers(0, 5))]
    choices = ["sigmoid", "softmax"] if loss in ("bce", "ce") else list(ACTIVATIONS)
    if outputs == 1:
        choices.remove("softmax")
    return loss, choices[int(rng.integers(0, len(choices)))]


def targets_for(rng, loss: str, steps: int, size: int) -> list:
    targets = []
    for t in range(steps):
        if t < steps - 1 and rng.random() < 0.3:
            targets.append(None)
        elif loss == "ce":
            targets.append(np.eye(size)[int(rng.integers(0, size))].tolist())
        elif loss == "bce":
            targets.append(rng.integers(0, 2, size=size).astype(float).tolist())
        else:
            targets.append(rng.normal(size=size).round(2).tolist())
    return targets


def leaf(values):
    return torch.tensor(values, dtype=torch.float64).requires_grad_(True)


def apply(weight, vector, layout):
    return weight.T @ vector if layout == "in_out" else weight @ vector


def simple_case(cell: str, seed: int):
    rng = np.random.default_rng(1000 + seed)
    d, h, steps = random_sizes(rng)
    o = int(rng.integers(1, 4))
    layout = ["in_out", "out_in"][seed % 2]
    hidden = ["tanh", "sigmoid", "relu", "linear"][seed % 4]
    loss, output = loss_and_output(rng, o)
    fed = h if cell == "elman" else o

    def shape(n_in, n_out):
        return (n_in, n_out) if layout == "in_out" else (n_out, n_in)

    values = {"U": rng.normal(scale=0.7, size=shape(d, h)), "W": rng.normal(scale=0.7, size=shape(fed, h)),
              "b": rng.normal(size=h), "V": rng.normal(scale=0.7, size=shape(h, o)), "c": rng.normal(size=o)}
    xs = sequence(rng, steps, d)
    targets = targets_for(rng, loss, steps, o)
    given = {"cell": cell, "weights": layout, **{k: v.tolist() for k, v in values.items()},
             "inputs": xs, "activations": {"hidden": hidden, "output": output},
             "loss": loss, "targets": targets}
    if cell == "jordan":
        given["y0"] = rng.uniform(0.1, 0.9, size=o).tolist()
    params = {k: leaf(v) for k, v in values.items()}
    prev = torch.tensor(given.get("y0", [0.0] * h), dtype=torch.float64)
    total = 0
    for x, target in zip(xs, targets):
        hidden_state = ACTIVATIONS[hidden](apply(params["U"], torch.tensor(x, dtype=torch.float64), layout)
                                           + apply(params["W"], prev, layout) + params["b"])
        y = ACTIVATIONS[output](apply(params["V"], hidden_state, layout) + params["c"])
        if target is not None:
            total = total + torch_loss(loss, y, torch.tensor(target, dtype=torch.float64))
        prev = hidden_state if cell == "elman" else y
    total.backward()
    return given, float(total.detach()), {k: p.grad.detach().numpy() for k, p in params.items()}


@pytest.mark.parametrize("cell", ["elman", "jordan"])
def test_simple_cell_gradients_match_autograd(cell):
    for seed in range(40):
        given, loss, grads = simple_case(cell, seed)
        answers = run(given)
        assert answers["J"] == pytest.approx(loss, rel=1e-10, abs=1e-12), seed
        for name, grad in grads.items():
            np.testing.assert_allclose(np.asarray(answers[f"grad_{name}"]).reshape(grad.shape), grad,
                                       rtol=1e-8, atol=1e-10, err_msg=f"seed {seed}: grad_{name}")


def gated_gradient_case(kind: str, seed: int):
    rng = np.random.default_rng(2000 + seed)
    d, h, steps = random_sizes(rng)
    layout = ["in_out", "out_in"][seed % 2]
    with_output = seed % 3 != 0
    torch.manual_seed(seed)
    cell = (torch.nn.LSTMCell if kind == "lstm" else torch.nn.GRUCell)(d, h).double()
    xs = sequence(rng, steps, d)
    given = {"cell": kind, "weights": layout, "gates": gates_from(cell, kind, layout, h), "inputs": xs}
    if with_output:
        o = int(rng.integers(1, 4))
        loss, output = loss_and_output(rng, o)
        V = rng.normal(size=(h, o) if layout == "in_out" else (o, h))
        c = rng.normal(size=o)
        given.update(V=V.tolist(), c=c.tolist(), activations={"output": output})
        V_t, c_t = leaf(V), leaf(c)
    else:
        o, loss, output = h, ["mse", "sse", "half-sse"][seed % 3], "linear"
    targets = targets_for(rng, loss, steps, o)
    given.update(loss=loss, targets=targets)
    state = torch.zeros(1, h, dtype=torch.float64)
    cell_state = torch.zeros(1, h, dtype=torch.float64)
    total = 0
    for x, target in zip(xs, targets):
        x = torch.tensor([x], dtype=torch.float64)
        if kind == "lstm":
            state, cell_state = cell(x, (state, cell_state))
        else:
            state = cell(x, state)
        y = ACTIVATIONS[output](apply(V_t, state[0], layout) + c_t) if with_output else state[0]
        if target is not None:
            total = total + torch_loss(loss, y, torch.tensor(target, dtype=torch.float64))
    total.backward()
    expected = {}
    for k, q in enumerate(GATE_ORDER[kind]):
        rows = slice(k * h, (k + 1) * h)
        expected[("grad_U", q)] = as_given(cell.weight_ih.grad[rows], layout)
        expected[("grad_W", q)] = as_given(cell.weight_hh.grad[rows], layout)
        # Our single bias b_q is b_ih + b_hh (b_in alone for n): its gradient is b_ih's.
        expected[("grad_b", q)] = cell.bias_ih.grad[rows].tolist()
    if kind == "gru":
        expected[("grad_b_hn", None)] = cell.bias_hh.grad[2 * h:].tolist()
    if with_output:
        expected[("grad_V", None)] = V_t.grad.tolist()
        expected[("grad_c", None)] = c_t.grad.tolist()
    return given, float(total.detach()), expected


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_gated_cell_gradients_match_autograd(kind):
    for seed in range(30):
        given, loss, expected = gated_gradient_case(kind, seed)
        answers = run(given)
        assert answers["J"] == pytest.approx(loss, rel=1e-10, abs=1e-12), seed
        for (name, q), grad in expected.items():
            value = answers[name] if q is None else answers[name][q]
            np.testing.assert_allclose(np.asarray(value).reshape(np.shape(grad)), grad,
                                       rtol=1e-8, atol=1e-10, err_msg=f"seed {seed}: {name} {q}")


# --- the Jacobian products of the vanishing / exploding note ----------------------------------------


def forward_setup(given: dict):
    from solver.kinds.rnn import _rnn_common as common
    from solver.kinds.rnn.rnn import _cell_module, build_setup

    setup = build_setup(RnnInput.model_validate(given))
    ws = common.scratch(Context())
    module = _cell_module(setup.cell)
    module.bind(ws, setup)
    module.forward(ws, setup)
    return setup, ws, module


@pytest.mark.parametrize("kind", ["elman", "lstm", "gru"])
def test_step_jacobians_match_autograd(kind):
    for seed in range(6):
        if kind == "elman":
            given, _ = rnn_cell_case(seed)
        else:
            given, _ = gated_cell_case(kind, seed)
        if len(given["inputs"]) < 2:
            given["inputs"] = given["inputs"] * 3
        setup, ws, module = forward_setup(given)
        jacobians = module.jacobians(ws, setup)
        for t, jac in enumerate(jacobians, 2):
            expected = autograd_jacobian(setup, ws, kind, t)
            np.testing.assert_allclose(jac, expected, atol=1e-10, err_msg=f"{kind} seed {seed} t {t}")


def autograd_jacobian(setup, ws, kind: str, t: int):
    """∂s(t)/∂s(t−1) by autograd on a re-implementation of one step."""
    x = torch.tensor(ws.values[f"x[{t}]"][:, 0])
    p = {k: torch.tensor(v) for k, v in setup.params.items()}
    layout = setup.layout.weights

    def lin(q, vector):
        return apply(p[f"W_{q}"], vector, layout)

    def step(state):
        if kind == "elman":
            act = ACTIVATIONS[setup.hidden]
            return act(apply(p["U"], x, layout) + apply(p["W"], state, layout) + p["b"][:, 0])
        if kind == "gru":
            gate = {q: apply(p[f"U_{q}"], x, layout) + p[f"b_{q}"][:, 0] for q in "rzn"}
            r = torch.sigmoid(gate["r"] + lin("r", state))
            z = torch.sigmoid(gate["z"] + lin("z", state))
            n = torch.tanh(gate["n"] + r * (lin("n", state) + p["b_hn"][:, 0]))
            return (1 - z) * n + z * state
        h_size = setup.hidden_size
        h, c = state[:h_size], state[h_size:]
        u = {q: apply(p[f"U_{q}"], x, layout) + lin(q, h) + p[f"b_{q}"][:, 0] for q in "ifgo"}
        c_new = torch.sigmoid(u["f"]) * c + torch.sigmoid(u["i"]) * torch.tanh(u["g"])
        return torch.cat([torch.sigmoid(u["o"]) * torch.tanh(c_new), c_new])

    previous = ws.values[f"h[{t - 1}]"][:, 0]
    if kind == "lstm":
        previous = np.concatenate([previous, ws.values[f"c[{t - 1}]"][:, 0]])
    return torch.autograd.functional.jacobian(step, torch.tensor(previous)).numpy()


# --- parameter counts of recurrent layers ------------------------------------------------------------

TORCH_LAYERS = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("sizes", [(1, 1), (3, 5), (28, 128), (64, 256)])
def test_recurrent_parameter_counts_match_torch(cell, sizes):
    from solver.kinds.rnn._rnn_params import recurrent_params

    d, h = sizes
    layer = getattr(torch.nn, TORCH_LAYERS[cell])(d, h)
    assert recurrent_params(cell, d, h, "pytorch") == sum(p.numel() for p in layer.parameters())
    # One bias per gate: PyTorch's count less its second bias vector b_hh.
    assert recurrent_params(cell, d, h, "single") == sum(p.numel() for p in layer.parameters()) - layer.bias_hh_l0.numel()


@pytest.mark.parametrize("cell", ["elman", "lstm", "gru"])
def test_rnn_kind_reports_the_torch_count(cell):
    d, h = 3, 4
    if cell == "elman":
        given = {"cell": "elman", "U": np.zeros((d, h)).tolist(), "W": np.zeros((h, h)).tolist()}
    else:
        given = {"cell": cell, "gates": {q: {"U": np.zeros((d, h)).tolist(), "W": np.zeros((h, h)).tolist()}
                                         for q in GATE_ORDER[cell]}}
    given["inputs"] = [[0.0] * d]
    sol = solve(RnnInput.model_validate(given), Context())
    table = next(s.table for s in sol.steps if s.table is not None and s.table.columns[0] == "convention")
    counts = {row[0]: row[2] for row in table.rows}
    layer = getattr(torch.nn, TORCH_LAYERS["rnn" if cell == "elman" else cell])(d, h)
    assert counts["PyTorch layer (b_ih and b_hh)"] == sum(p.numel() for p in layer.parameters())


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("style", ["pytorch", "single"])
def test_recurrent_parameter_counts_agree_with_the_network_kind(cell, style):
    """`network` counts the same layers; skipped where that kind is not part of the tree."""
    import importlib.util

    from helpers import solve_text
    from solver.kinds.rnn._rnn_params import recurrent_params

    if importlib.util.find_spec("solver.kinds.network") is None:
        pytest.skip("the network kind is not available")
    d, h, steps = 12, 20, 7
    text = (f"problems:\n  - id: p\n    kind: network\n    given:\n      input: {steps}x{d}\n"
            f"      layers: \"{cell} {h}\"\n      bias_style: {style}\n")
    (problem,) = solve_text(text).problems
    assert problem.error is None, problem.error
    row = problem.answers["layers"][0]
    assert row["params"] == recurrent_params(cell, d, h, style)


# --- custom cells: gradients through time against autograd -------------------------------------------

KITCHEN_SINK = ["a = tanh(A*x + B*h_prev + s*b)",
                "g = relu(C*x) + exp(-a*a) / (1 + abs(a))",
                "h = sigmoid(a)*h_prev + (1 - sigmoid(a))*g + sqrt(1 + a^2)/4",
                "y = sigmoid(V*h)"]


def kitchen_sink_torch(p, xs, layout, loss, targets):
    """The KITCHEN_SINK equations written in PyTorch; returns J."""
    def app(m, v):
        return apply(p[m], v, layout)

    h, total = torch.zeros(p["B"].shape[0], dtype=torch.float64), 0
    for x, target in zip(xs, targets):
        x = torch.tensor(x, dtype=torch.float64)
        a = torch.tanh(app("A", x) + app("B", h) + p["s"] * p["b"])
        g = torch.relu(app("C", x)) + torch.exp(-a * a) / (1 + torch.abs(a))
        h = torch.sigmoid(a) * h + (1 - torch.sigmoid(a)) * g + torch.sqrt(1 + a ** 2) / 4
        y = torch.sigmoid(app("V", h))
        if target is not None:
            total = total + torch_loss(loss, y, torch.tensor(target, dtype=torch.float64))
    return total


@pytest.mark.parametrize("seed", range(16))
def test_custom_cell_gradients_match_autograd(seed):
    rng = np.random.default_rng(3000 + seed)
    d, h, steps = random_sizes(rng)
    o = int(rng.integers(1, 4))
    layout = ["in_out", "out_in"][seed % 2]
    loss = ["bce", "mse", "sse", "half-sse"][seed % 4]

    def shape(n_in, n_out):
        return (n_in, n_out) if layout == "in_out" else (n_out, n_in)

    values = {"A": rng.normal(size=shape(d, h)), "B": rng.normal(size=shape(h, h)),
              "C": rng.normal(size=shape(d, h)), "V": rng.normal(size=shape(h, o)),
              "b": rng.normal(size=h), "s": float(rng.normal())}
    xs = sequence(rng, steps, d)
    targets = targets_for(rng, loss, steps, o)
    given = {"cell": "custom", "weights": layout, "equations": KITCHEN_SINK,
             "params": {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in values.items()},
             "inputs": xs, "loss": loss, "targets": targets}
    answers = run(given)
    params = {k: leaf(v) for k, v in values.items()}
    total = kitchen_sink_torch(params, xs, layout, loss, targets)
    total.backward()
    assert answers["J"] == pytest.approx(float(total.detach()), rel=1e-10, abs=1e-12), seed
    for name, p in params.items():
        np.testing.assert_allclose(np.asarray(answers[f"grad_{name}"]).reshape(p.shape), p.grad.numpy(),
                                   rtol=1e-8, atol=1e-10, err_msg=f"seed {seed}: grad_{name}")
