"""Every NumPy layer, forward and backward, against PyTorch autograd on random inputs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")
F = torch.nn.functional

from solver.nn.activations import ReLU, Sigmoid, Tanh  # noqa: E402
from solver.nn.conv import Conv2d  # noqa: E402
from solver.nn.flatten import Flatten  # noqa: E402
from solver.nn.init import he, initialise, normal, xavier, zeros  # noqa: E402
from solver.nn.linear import Linear  # noqa: E402
from solver.nn.loss import SoftmaxCrossEntropy, softmax  # noqa: E402
from solver.nn.lstm import LSTM, LSTMCell  # noqa: E402
from solver.nn.optim import SGD, Adam, clip_grad_norm  # noqa: E402
from solver.nn.pool import AvgPool2d, MaxPool2d  # noqa: E402
from solver.nn.sequential import Sequential  # noqa: E402

SEEDS = range(5)


def t(array, grad=False):
    return torch.tensor(np.asarray(array), dtype=torch.float64, requires_grad=grad)


def close(a, b, tol=1e-10):
    b = b.detach().numpy() if hasattr(b, "detach") else b
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def check_against_torch(layer, x, torch_fn, params=()):
    """forward(x) and backward(g) of a float64 layer vs torch_fn(x, *params) under autograd."""
    rng = np.random.default_rng(len(x.shape))
    y = layer.forward(x)
    upstream = rng.standard_normal(y.shape)
    layer.zero_grads()
    grad_x = layer.backward(upstream)
    xt = t(x, grad=True)
    pt = [t(layer.params[name], grad=True) for name in params]
    yt = torch_fn(xt, *pt)
    yt.backward(t(upstream))
    close(y, yt)
    close(grad_x, xt.grad)
    for name, p in zip(params, pt):
        close(layer.grads[name], p.grad)


@pytest.mark.parametrize("seed", SEEDS)
def test_linear(seed):
    rng = np.random.default_rng(seed)
    layer = Linear(7, 4, rng=rng, dtype=np.float64)
    layer.params["b"][:] = rng.standard_normal(4)
    check_against_torch(layer, rng.standard_normal((5, 7)),
                        lambda x, W, b: F.linear(x, W.T, b), ("W", "b"))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("layer_class, torch_fn", [
    (ReLU, torch.relu), (Sigmoid, torch.sigmoid), (Tanh, torch.tanh)])
def test_activations(seed, layer_class, torch_fn):
    rng = np.random.default_rng(seed)
    check_against_torch(layer_class(), rng.standard_normal((4, 9)) * 5, torch_fn)


def test_sigmoid_does_not_overflow():
    y = Sigmoid().forward(np.array([-1000.0, 0.0, 1000.0]))
    assert y.tolist() == [0.0, 0.5, 1.0]


def test_flatten():
    x = np.random.default_rng(0).standard_normal((3, 2, 4, 5))
    check_against_torch(Flatten(), x, lambda v: v.flatten(1))


@pytest.mark.parametrize("seed", SEEDS)
def test_softmax_cross_entropy(seed):
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal((6, 10)) * 4
    labels = rng.integers(0, 10, size=6)
    criterion = SoftmaxCrossEntropy()
    loss = criterion.forward(logits, labels)
    grad = criterion.backward()
    lt = t(logits, grad=True)
    lt_loss = F.cross_entropy(lt, torch.tensor(labels))
    lt_loss.backward()
    assert loss == pytest.approx(lt_loss.item(), abs=1e-12)
    close(grad, lt.grad)
    close(softmax(logits), torch.softmax(t(logits), dim=1))


def test_softmax_is_stable_for_huge_logits():
    criterion = SoftmaxCrossEntropy()
    loss = criterion.forward(np.array([[1000.0, 0.0], [0.0, 1000.0]]), np.array([0, 0]))
    assert np.isfinite(loss) and loss == pytest.approx(500.0)


@settings(max_examples=40, deadline=None)
@given(batch=st.integers(1, 2), c_in=st.integers(1, 3), c_out=st.integers(1, 3),
       kernel=st.integers(1, 4), stride=st.integers(1, 3), padding=st.integers(0, 2),
       extra_h=st.integers(0, 4), extra_w=st.integers(0, 4), seed=st.integers(0, 2**16))
def test_conv2d(batch, c_in, c_out, kernel, stride, padding, extra_h, extra_w, seed):
    rng = np.random.default_rng(seed)
    h, w = max(kernel - 2 * padding, 1) + extra_h, max(kernel - 2 * padding, 1) + extra_w
    layer = Conv2d(c_in, c_out, kernel, stride=stride, padding=padding, rng=rng, dtype=np.float64)
    layer.params["b"][:] = rng.standard_normal(c_out)
    check_against_torch(layer, rng.standard_normal((batch, c_in, h, w)),
                        lambda x, W, b: F.conv2d(x, W, b, stride=stride, padding=padding),
                        ("W", "b"))


def test_conv2d_lenet_sizes_in_float32():
    rng = np.random.default_rng(0)
    layer = Conv2d(6, 16, 5, rng=rng)
    x = rng.standard_normal((8, 6, 14, 14)).astype(np.float32)
    y = layer.forward(x)
    assert y.dtype == np.float32 and y.shape == (8, 16, 10, 10)
    expected = F.conv2d(torch.tensor(x), torch.tensor(layer.params["W"]), torch.tensor(layer.params["b"]))
    np.testing.assert_allclose(y, expected.numpy(), rtol=1e-4, atol=1e-4)


def test_first_layer_can_skip_its_input_gradient():
    rng = np.random.default_rng(0)
    layer = Conv2d(1, 2, 3, rng=rng, input_grad=False, dtype=np.float64)
    y = layer.forward(rng.standard_normal((2, 1, 5, 5)))
    assert layer.backward(np.ones_like(y)) is None
    assert np.abs(layer.grads["W"]).sum() > 0


@settings(max_examples=30, deadline=None)
@given(kernel=st.integers(1, 3), stride=st.integers(1, 3), padding=st.integers(0, 1),
       size=st.integers(3, 8), seed=st.integers(0, 2**16))
def test_pooling(kernel, stride, padding, size, seed):
    padding = min(padding, kernel // 2)  # PyTorch's limit: padding at most half the kernel
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, 3, size, size + 1))
    check_against_torch(MaxPool2d(kernel, stride, padding), x,
                        lambda v: F.max_pool2d(v, kernel, stride, padding))
    check_against_torch(AvgPool2d(kernel, stride, padding), x,
                        lambda v: F.avg_pool2d(v, kernel, stride, padding))


def test_max_pool_tie_sends_gradient_to_first_maximum_like_torch():
    x = np.zeros((1, 1, 4, 4))
    check_against_torch(MaxPool2d(2), x, lambda v: F.max_pool2d(v, 2))
    layer = MaxPool2d(2)
    layer.forward(x)
    grad = layer.backward(np.ones((1, 1, 2, 2)))
    assert grad.sum() == 4 and grad[0, 0, 0, 0] == 1 and grad[0, 0, 1, 1] == 0


def _torch_lstm_cell(cell: LSTMCell):
    """A torch LSTMCell holding our weights: W_ih = Wxᵀ, W_hh = Whᵀ, one bias (b_hh = 0)."""
    hidden = cell.hidden_size
    reference = torch.nn.LSTMCell(cell.params["Wx"].shape[0], hidden).double()
    with torch.no_grad():
        reference.weight_ih.copy_(t(cell.params["Wx"].T))
        reference.weight_hh.copy_(t(cell.params["Wh"].T))
        reference.bias_ih.copy_(t(cell.params["b"]))
        reference.bias_hh.zero_()
    return reference


@pytest.mark.parametrize("seed", SEEDS)
def test_lstm_cell_step(seed):
    rng = np.random.default_rng(seed)
    cell = LSTMCell(3, 5, rng=rng, dtype=np.float64)
    cell.params["b"][:] = rng.standard_normal(20)
    x, h, c = rng.standard_normal((4, 3)), rng.standard_normal((4, 5)), rng.standard_normal((4, 5))
    h_next, c_next, cache = cell.step(x, h, c)
    grad_h_next, grad_c_next = rng.standard_normal((4, 5)), rng.standard_normal((4, 5))
    grad_x, grad_h, grad_c = cell.step_backward(grad_h_next, grad_c_next, cache)

    reference = _torch_lstm_cell(cell)
    xt, ht, ct = t(x, True), t(h, True), t(c, True)
    h_ref, c_ref = reference(xt, (ht, ct))
    ((h_ref * t(grad_h_next)).sum() + (c_ref * t(grad_c_next)).sum()).backward()
    close(h_next, h_ref)
    close(c_next, c_ref)
    close(grad_x, xt.grad)
    close(grad_h, ht.grad)
    close(grad_c, ct.grad)
    close(cell.grads["Wx"], reference.weight_ih.grad.T)
    close(cell.grads["Wh"], reference.weight_hh.grad.T)
    close(cell.grads["b"], reference.bias_ih.grad)


@pytest.mark.parametrize("seed", SEEDS)
def test_lstm_through_a_sequence(seed):
    rng = np.random.default_rng(seed)
    lstm = LSTM(3, 4, rng=rng, dtype=np.float64)
    lstm.params["b"][:] = rng.standard_normal(16)
    x = rng.standard_normal((6, 2, 3))
    h0, c0 = rng.standard_normal((2, 4)), rng.standard_normal((2, 4))
    hs = lstm.forward(x, (h0, c0))
    upstream = rng.standard_normal(hs.shape)
    grad_x = lstm.backward(upstream)

    reference = torch.nn.LSTM(3, 4).double()
    with torch.no_grad():
        reference.weight_ih_l0.copy_(t(lstm.params["Wx"].T))
        reference.weight_hh_l0.copy_(t(lstm.params["Wh"].T))
        reference.bias_ih_l0.copy_(t(lstm.params["b"]))
        reference.bias_hh_l0.zero_()
    xt, h0t, c0t = t(x, True), t(h0[None], True), t(c0[None], True)
    hs_ref, (h_ref, c_ref) = reference(xt, (h0t, c0t))
    (hs_ref * t(upstream)).sum().backward()
    close(hs, hs_ref)
    close(lstm.last_state[0], h_ref[0])
    close(lstm.last_state[1], c_ref[0])
    close(grad_x, xt.grad)
    close(lstm.grad_initial_state[0], h0t.grad[0])
    close(lstm.grad_initial_state[1], c0t.grad[0])
    close(lstm.grads["Wx"], reference.weight_ih_l0.grad.T)
    close(lstm.grads["Wh"], reference.weight_hh_l0.grad.T)
    close(lstm.grads["b"], reference.bias_ih_l0.grad)


def test_gradients_accumulate_until_zeroed():
    rng = np.random.default_rng(0)
    layer = Linear(3, 2, rng=rng, dtype=np.float64)
    x, g = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    layer.forward(x)
    layer.backward(g)
    once = layer.grads["W"].copy()
    layer.backward(g)
    close(layer.grads["W"], 2 * once)
    layer.zero_grads()
    assert not layer.grads["W"].any()


# ----------------------------------------------------------------------------- optimisers


def _train_steps(make_ours, make_theirs, steps=5):
    """The same quadratic-ish problem minimised by our optimiser and by torch's."""
    rng = np.random.default_rng(0)
    layer = Linear(4, 3, rng=rng, dtype=np.float64)
    layer.params["b"][:] = rng.standard_normal(3)
    x, target = rng.standard_normal((8, 4)), rng.standard_normal((8, 3))
    W, b = t(layer.params["W"], True), t(layer.params["b"], True)
    ours, theirs = make_ours([layer]), make_theirs([W, b])
    for _ in range(steps):
        layer.zero_grads()
        y = layer.forward(x)
        layer.backward(2 * (y - target) / len(x))
        ours.step()
        theirs.zero_grad()
        ((F.linear(t(x), W.T, b) - t(target)) ** 2).sum(1).mean().backward()
        theirs.step()
    close(layer.params["W"], W)
    close(layer.params["b"], b)
    return ours


def test_sgd_with_momentum_and_weight_decay_matches_torch():
    _train_steps(lambda layers: SGD(layers, lr=0.1, momentum=0.9, weight_decay=0.01),
                 lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.01))


def test_plain_sgd_matches_torch():
    _train_steps(lambda layers: SGD(layers, lr=0.05), lambda ps: torch.optim.SGD(ps, lr=0.05))


def test_adam_matches_torch():
    _train_steps(lambda layers: Adam(layers, lr=0.01), lambda ps: torch.optim.Adam(ps, lr=0.01))


def test_optimiser_state_round_trip_continues_identically():
    rng = np.random.default_rng(0)
    make = lambda: Linear(3, 2, rng=np.random.default_rng(1), dtype=np.float64)  # noqa: E731
    a, b = make(), make()
    opt_a, opt_b = Adam([a], lr=0.1), Adam([b], lr=0.1)
    grads = [rng.standard_normal((3, 2)) for _ in range(4)]
    for k, g in enumerate(grads):
        for layer, opt in ((a, opt_a), (b, opt_b)):
            layer.grads["W"][:] = g
            opt.step()
        if k == 1:  # b's optimiser is rebuilt from a saved state half-way
            state = opt_b.state_dict()
            opt_b = Adam([b], lr=0.5)
            opt_b.load_state_dict(state)
    close(a.params["W"], b.params["W"], tol=0)


def test_clip_grad_norm_scales_all_gradients_together():
    layer = Linear(2, 2, dtype=np.float64)
    layer.grads["W"][:] = 3.0
    layer.grads["b"][:] = 4.0 / np.sqrt(2)
    norm = clip_grad_norm([layer], max_norm=1.0)
    assert norm == pytest.approx(np.sqrt(4 * 9 + 16))
    total = np.sqrt(sum((g ** 2).sum() for g in layer.grads.values()))
    assert total == pytest.approx(1.0)


# ----------------------------------------------------------------------------- initialisers


def test_initialisers_have_the_stated_spread():
    rng = np.random.default_rng(0)
    assert he((400, 300), 400, rng).std() == pytest.approx(np.sqrt(2 / 400), rel=0.02)
    weights = xavier((400, 300), 400, 300, rng)
    limit = np.sqrt(6 / 700)
    assert weights.max() <= limit and weights.min() >= -limit
    assert weights.std() == pytest.approx(limit / np.sqrt(3), rel=0.02)
    assert normal((400, 300), rng, std=0.01).std() == pytest.approx(0.01, rel=0.02)
    assert not zeros(5).any() and zeros(5).dtype == np.float32
    assert initialise("he", (2, 2), 2, 2, rng).dtype == np.float32
    with pytest.raises(ValueError, match="unknown initialiser"):
        initialise("orthogonal", (2, 2), 2, 2, rng)


def test_layers_start_with_zero_biases():
    assert not Linear(3, 4).params["b"].any()
    assert not Conv2d(1, 2, 3).params["b"].any()
    assert not LSTMCell(2, 3).params["b"].any()


def test_sequential_state_dict_round_trip():
    model = Sequential([Linear(3, 4, rng=np.random.default_rng(0)), ReLU(),
                        Linear(4, 2, rng=np.random.default_rng(0))])
    state = {k: v.copy() for k, v in model.state_dict().items()}
    assert sorted(state) == ["0.W", "0.b", "2.W", "2.b"]
    for value in model.state_dict().values():
        value += 1
    model.load_state_dict(state)
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, state[key])
    with pytest.raises(ValueError, match="stored shape"):
        model.load_state_dict({**state, "0.W": np.zeros((2, 2))})
