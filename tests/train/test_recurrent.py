"""solver/nn/recurrent.py against PyTorch: Elman against nn.RNNCell (tanh, relu), GRU against
nn.GRUCell, LSTM against nn.LSTMCell, Jordan against the same equations written in torch, each
with and without an output layer, both weight layouts, batches of one to three samples, forwards
and backwards in time (hundreds of seeded random configurations); the per-step losses against
torch's; bad names refused."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

from solver.nn import recurrent  # noqa: E402

GATE_ORDER = {"lstm": "ifgo", "gru": "rzn"}
TORCH_ACTIVATIONS = {"linear": lambda u: u, "tanh": torch.tanh, "sigmoid": torch.sigmoid,
                     "relu": torch.relu, "softmax": lambda u: torch.softmax(u, dim=-1)}


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """Thousands of tiny tensors: thread hand-offs would cost more than the arithmetic."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def laid_out(matrix, layout: str) -> np.ndarray:
    """A PyTorch weight (outputs × inputs) in the `weights` layout: in_out is its transpose."""
    m = matrix.detach().double().numpy()
    return m.T.copy() if layout == "in_out" else m.copy()


def cell_weights(cell, kind: str, layout: str) -> dict:
    """A torch cell's weights under the course's names (b = b_ih + b_hh; the GRU keeps b_hn)."""
    b_ih, b_hh = cell.bias_ih.detach().numpy(), cell.bias_hh.detach().numpy()
    if kind == "elman":
        return {"U": laid_out(cell.weight_ih, layout), "W": laid_out(cell.weight_hh, layout), "b": b_ih + b_hh}
    h = cell.hidden_size
    weights = {}
    for k, q in enumerate(GATE_ORDER[kind]):
        rows = slice(k * h, (k + 1) * h)
        weights[f"U_{q}"] = laid_out(cell.weight_ih[rows], layout)
        weights[f"W_{q}"] = laid_out(cell.weight_hh[rows], layout)
        if kind == "gru" and q == "n":  # PyTorch keeps b_hn inside the reset product
            weights["b_n"], weights["b_hn"] = b_ih[rows].copy(), b_hh[rows].copy()
        else:
            weights[f"b_{q}"] = b_ih[rows] + b_hh[rows]
    return weights


class Case:
    """A random cell, sequence and initial state, with the matching torch cell."""

    def __init__(self, kind: str, seed: int):
        rng = np.random.default_rng(seed)
        self.kind, self.seed = kind, seed
        self.layout = ["in_out", "out_in"][seed % 2]
        self.d, self.h, self.o = (int(v) for v in rng.integers(1, 5, size=3))
        self.steps, self.batch = int(rng.integers(1, 6)), int(rng.integers(1, 4))
        self.reverse = bool(rng.integers(0, 2))
        self.hidden = ["tanh", "relu"][(seed // 2) % 2]
        self.output = ["linear", "tanh", "sigmoid", "relu", "softmax"][int(rng.integers(0, 5))]
        self.with_output = bool(rng.integers(0, 2))
        torch.manual_seed(seed)
        if kind == "elman":
            self.cell = torch.nn.RNNCell(self.d, self.h, nonlinearity=self.hidden).double()
        else:
            self.cell = (torch.nn.LSTMCell if kind == "lstm" else torch.nn.GRUCell)(self.d, self.h).double()
        self.weights = cell_weights(self.cell, kind, self.layout)
        self.linear = torch.nn.Linear(self.h, self.o).double()
        if self.with_output:
            self.weights["V"] = laid_out(self.linear.weight, self.layout)
            self.weights["c"] = self.linear.bias.detach().numpy().copy()
        self.xs = rng.normal(size=(self.steps, self.batch, self.d))
        self.h0 = rng.normal(size=(self.batch, self.h)) if rng.random() < 0.7 else None
        self.c0 = rng.normal(size=(self.batch, self.h)) if rng.random() < 0.7 else None

    def torch_states(self) -> dict:
        h = torch.zeros(self.batch, self.h, dtype=torch.float64) if self.h0 is None else torch.tensor(self.h0)
        c = torch.zeros(self.batch, self.h, dtype=torch.float64) if self.c0 is None else torch.tensor(self.c0)
        out = {"h": [None] * self.steps, "c": [None] * self.steps, "y": [None] * self.steps}
        order = range(self.steps - 1, -1, -1) if self.reverse else range(self.steps)
        with torch.no_grad():
            for t in order:
                x = torch.tensor(self.xs[t])
                if self.kind == "lstm":
                    h, c = self.cell(x, (h, c))
                else:
                    h = self.cell(x, h)
                out["h"][t], out["c"][t] = h.numpy(), c.numpy()
                out["y"][t] = TORCH_ACTIVATIONS[self.output](self.linear(h)).numpy()
        return {name: np.stack(values) for name, values in out.items()}

    def ours(self) -> dict:
        initial = {"h": self.h0}
        if self.kind == "lstm":
            initial["c"] = self.c0
        return recurrent.run(self.kind, self.xs, self.weights, initial, hidden=self.hidden,
                             output=self.output, in_out=self.layout == "in_out", reverse=self.reverse)


def assert_same(ours: dict, expected: dict, names, seed):
    for name in names:
        np.testing.assert_allclose(ours[name], expected[name], rtol=1e-12, atol=1e-12,
                                   err_msg=f"seed {seed}: {name}")


@pytest.mark.parametrize("kind", ["elman", "lstm", "gru"])
@pytest.mark.parametrize("block", range(2))
def test_cells_match_torch_cells(kind, block):
    """300 configurations: every state of the sequence, and y with an output layer."""
    for seed in range(block * 50, block * 50 + 50):
        case = Case(kind, seed)
        ours, expected = case.ours(), case.torch_states()
        names = ["h"] + (["c"] if kind == "lstm" else []) + (["y"] if case.with_output else [])
        assert set(ours) == set(names), seed
        assert_same(ours, expected, names, seed)


@pytest.mark.parametrize("kind", ["elman", "lstm", "gru"])
def test_one_step_functions_match_torch_cells(kind):
    """The step functions themselves, one batch of rows and one single vector (D,)."""
    for seed in range(100, 160):
        case = Case(kind, seed)
        x, h = case.xs[0], np.random.default_rng(seed).normal(size=(case.batch, case.h))
        in_out = case.layout == "in_out"
        with torch.no_grad():
            if kind == "lstm":
                c = np.random.default_rng(seed + 1).normal(size=(case.batch, case.h))
                want_h, want_c = case.cell(torch.tensor(x), (torch.tensor(h), torch.tensor(c)))
                got_h, got_c = recurrent.lstm_step(x, h, c, case.weights, in_out)
                np.testing.assert_allclose(got_c, want_c.numpy(), rtol=1e-12, atol=1e-12)
                single_h, single_c = recurrent.lstm_step(x[0], h[0], c[0], case.weights, in_out)
                np.testing.assert_allclose(single_c, want_c.numpy()[0], rtol=1e-12, atol=1e-12)
            else:
                want_h = case.cell(torch.tensor(x), torch.tensor(h))
                step = (lambda *a: recurrent.elman_step(*a, hidden=case.hidden, in_out=in_out)) \
                    if kind == "elman" else (lambda *a: recurrent.gru_step(*a, in_out=in_out))
                got_h, single_h = step(x, h, case.weights), step(x[0], h[0], case.weights)
            np.testing.assert_allclose(got_h, want_h.numpy(), rtol=1e-12, atol=1e-12, err_msg=f"seed {seed}")
            np.testing.assert_allclose(single_h, want_h.numpy()[0], rtol=1e-12, atol=1e-12)


def torch_jordan(weights: dict, xs, y0, hidden: str, output: str, layout: str, reverse: bool) -> dict:
    """Jordan's equations in torch: h = f(Uᵀx + Wᵀy_prev + b), y = g(Vᵀh + c)."""
    w = {name: torch.tensor(value) for name, value in weights.items()}

    def apply(matrix, rows):  # rows of a batch: Uᵀx is x @ U (in_out), Ux is x @ Uᵀ (out_in)
        return rows @ matrix if layout == "in_out" else rows @ matrix.T

    y = torch.tensor(y0)
    hs, ys = [None] * len(xs), [None] * len(xs)
    for t in (range(len(xs) - 1, -1, -1) if reverse else range(len(xs))):
        h = TORCH_ACTIVATIONS[hidden](apply(w["U"], torch.tensor(xs[t])) + apply(w["W"], y) + w["b"])
        y = TORCH_ACTIVATIONS[output](apply(w["V"], h) + w["c"])
        hs[t], ys[t] = h.numpy(), y.numpy()
    return {"h": np.stack(hs), "y": np.stack(ys)}


@pytest.mark.parametrize("block", range(3))
def test_jordan_matches_torch(block):
    """150 configurations, every hidden and output activation, given or zero y0."""
    for seed in range(block * 50, block * 50 + 50):
        rng = np.random.default_rng(5000 + seed)
        layout = ["in_out", "out_in"][seed % 2]
        d, h, o = (int(v) for v in rng.integers(1, 5, size=3))
        steps, batch = int(rng.integers(1, 6)), int(rng.integers(1, 4))
        hidden = ["linear", "tanh", "sigmoid", "relu"][seed % 4]
        output = ["linear", "tanh", "sigmoid", "relu", "softmax"][int(rng.integers(0, 5))]

        def shape(n_in, n_out):
            return (n_in, n_out) if layout == "in_out" else (n_out, n_in)

        weights = {"U": rng.normal(size=shape(d, h)), "W": rng.normal(size=shape(o, h)), "b": rng.normal(size=h),
                   "V": rng.normal(size=shape(h, o)), "c": rng.normal(size=o)}
        xs = rng.normal(size=(steps, batch, d))
        y0 = rng.normal(size=(batch, o)) if rng.random() < 0.7 else None
        reverse = bool(rng.integers(0, 2))
        ours = recurrent.run("jordan", xs, weights, {"y": y0}, hidden=hidden, output=output,
                             in_out=layout == "in_out", reverse=reverse)
        expected = torch_jordan(weights, xs, np.zeros((batch, o)) if y0 is None else y0, hidden, output,
                                layout, reverse)
        assert set(ours) == {"h", "y"}
        assert_same(ours, expected, ["h", "y"], seed)


def test_one_sample_sequences_are_batch_free():
    """(T, D) inputs give (T, H) states, the same as a batch of one; initial states as vectors."""
    for kind in ("elman", "lstm", "gru"):
        case = Case(kind, 7)
        initial = {"h": np.arange(case.h) / 10, "c": -np.arange(case.h) / 10}
        in_out = case.layout == "in_out"
        single = recurrent.run(kind, case.xs[:, 0], case.weights, initial, in_out=in_out)
        batched = recurrent.run(kind, case.xs[:, :1], case.weights,
                                {k: v.reshape(1, -1) for k, v in initial.items()}, in_out=in_out)
        for name, values in single.items():
            assert values.shape == (case.steps, batched[name].shape[-1])
            np.testing.assert_array_equal(values, batched[name][:, 0])


def test_lstm_steps_go_through_the_lstm_equations(monkeypatch):
    """The LSTM has one numeric home: a step taken here is lstm.lstm_equations."""
    calls = []
    original = recurrent.lstm_equations
    monkeypatch.setattr(recurrent, "lstm_equations", lambda *a: calls.append(1) or original(*a))
    case = Case("lstm", 3)
    case.ours()
    assert len(calls) == case.steps


# --- losses -------------------------------------------------------------------------------------


def torch_step_loss(loss: str, y, d):
    """One value per sample (rows)."""
    if loss == "mse":
        return F.mse_loss(y, d, reduction="none").mean(dim=1)
    if loss == "sse":
        return F.mse_loss(y, d, reduction="none").sum(dim=1)
    if loss == "half-sse":
        return 0.5 * F.mse_loss(y, d, reduction="none").sum(dim=1)
    if loss == "bce":
        return F.binary_cross_entropy(y, d, reduction="none").sum(dim=1)
    return -(d * torch.log(y)).sum(dim=1)


def test_losses_match_torch():
    """300 configurations: each loss per sample, and summed over the steps that have a target."""
    for seed in range(300):
        rng = np.random.default_rng(9000 + seed)
        loss = recurrent.LOSSES[seed % 5]
        steps, batch, size = int(rng.integers(1, 5)), int(rng.integers(1, 4)), int(rng.integers(1, 5))
        if loss in ("bce", "ce"):
            outputs = rng.uniform(0.02, 0.98, size=(steps, batch, size))
            if loss == "ce":
                outputs /= outputs.sum(axis=-1, keepdims=True)
                targets = [np.eye(size)[rng.integers(0, size, size=batch)] for _ in range(steps)]
            else:
                targets = [rng.integers(0, 2, size=(batch, size)).astype(float) for _ in range(steps)]
        else:
            outputs = rng.normal(size=(steps, batch, size))
            targets = [rng.normal(size=(batch, size)) for _ in range(steps)]
        targets = [None if t < steps - 1 and rng.random() < 0.3 else d for t, d in enumerate(targets)]
        expected = sum(torch_step_loss(loss, torch.tensor(outputs[t]), torch.tensor(d)).numpy()
                       for t, d in enumerate(targets) if d is not None)
        np.testing.assert_allclose(recurrent.sequence_loss(loss, outputs, targets), expected,
                                   rtol=1e-12, atol=1e-12, err_msg=f"seed {seed}: {loss}")
        one = recurrent.step_loss(loss, outputs[-1][0], targets[-1][0])
        assert isinstance(one, float)
        assert one == pytest.approx(float(torch_step_loss(loss, torch.tensor(outputs[-1][:1]),
                                                          torch.tensor(targets[-1][:1]))[0]), rel=1e-12)


def test_activations_match_torch():
    rng = np.random.default_rng(0)
    u = rng.normal(scale=3, size=(4, 5))
    for name, function in TORCH_ACTIVATIONS.items():
        np.testing.assert_allclose(recurrent.activation(name, u), function(torch.tensor(u)).numpy(),
                                   rtol=1e-13, atol=1e-15, err_msg=name)


@pytest.mark.parametrize("call, message", [
    (lambda: recurrent.activation("swish", np.zeros(2)), "unknown activation"),
    (lambda: recurrent.run("custom", np.zeros((1, 1)), {}), "unknown cell"),
    (lambda: recurrent.step_loss("hinge", np.zeros(2), np.zeros(2)), "unknown loss"),
    (lambda: recurrent.sequence_loss("mse", np.zeros((2, 1)), [None, None]), "at least one target"),
])
def test_bad_names_are_refused(call, message):
    with pytest.raises(ValueError, match=message):
        call()
