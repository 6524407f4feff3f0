"""Kind `layer` against PyTorch: every type's forward pass and, with an upstream gradient, its
backward pass (torch autograd on torch.nn.functional), on hundreds of random mini-batches and
single samples; course values (d2l's transposed convolution); max-pool ties; bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from solver.context import Context
from solver.errors import BadInput
from solver.kinds.layer.layer import LayerInput, solve

pytestmark = pytest.mark.usefixtures("one_torch_thread")

CASES_PER_TYPE = 40


def run(given: dict, **ctx):
    return solve(LayerInput.model_validate(given), Context(**ctx))


def answers(given: dict) -> dict:
    return run(given).answers


def t(a, grad=False):
    return torch.tensor(np.asarray(a, dtype=float), dtype=torch.float64, requires_grad=grad)


def close(actual, expected, what):
    expected = expected.detach().numpy() if isinstance(expected, torch.Tensor) else np.asarray(expected)
    actual = np.asarray(actual, dtype=float)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    np.testing.assert_allclose(actual, expected, rtol=1e-8, atol=1e-10, err_msg=what)


def values(rng, shape, integers=None):
    """Small integers (ties and exact zeros happen) or rounded reals."""
    integers = rng.random() < 0.4 if integers is None else integers
    if integers:
        return rng.integers(-3, 4, size=shape).astype(float)
    return np.round(rng.normal(size=shape), 3)


def autograd(function, inputs: dict, dout):
    """Forward `function(**tensors)` and the gradient of Σ dout ⊙ out for every input."""
    tensors = {k: t(v, grad=True) for k, v in inputs.items()}
    out = function(**tensors)
    (out * t(dout)).sum().backward()
    return out, {k: v.grad for k, v in tensors.items()}


def check_case(given, function, inputs, names, dout, single=False):
    """names: answer name -> input name of `function` (dx -> x ...)."""
    got = answers({**given, "dout": dout.tolist()})
    batched = {k: (v[None] if single and k == "x" else v) for k, v in inputs.items()}
    out, grads = autograd(function, batched, dout[None] if single else dout)
    strip = (lambda a: a[0]) if single else (lambda a: a)
    close(got["out"], strip(out), f"out {given}")
    for answer, name in names.items():
        expected = strip(grads[name]) if name == "x" else grads[name]
        close(got[answer], expected, f"{answer} {given}")


# --- weighted layers -------------------------------------------------------------------------------


def test_affine_against_autograd():
    rng = np.random.default_rng(1)
    for case in range(CASES_PER_TYPE * 2):
        n, m = int(rng.integers(1, 5)), int(rng.integers(1, 4))
        sample = tuple(int(s) for s in rng.integers(1, 4, size=int(rng.integers(1, 3))))
        single = len(sample) == 1 and rng.random() < 0.3
        x = values(rng, sample if single else (n, *sample))
        d = int(np.prod(sample))
        w, b = values(rng, (d, m)), values(rng, (m,))
        out_shape = (m,) if single else (n, m)
        dout = values(rng, out_shape)
        given = {"type": "affine", "x": x.tolist(), "w": w.tolist(), "b": b.tolist()}
        check_case(given, lambda x, w, b: x.reshape(len(x), -1) @ w + b, {"x": x, "w": w, "b": b},
                   {"dx": "x", "dw": "w", "db": "b"}, dout, single)


def random_conv(rng, dims, transposed=False):
    n, c, f = int(rng.integers(1, 4)), int(rng.integers(1, 3)), int(rng.integers(1, 3))
    kernel = tuple(int(k) for k in rng.integers(1, 4, size=dims))
    stride = tuple(int(s) for s in rng.integers(1, 3, size=dims))
    dilation = tuple(int(s) for s in rng.integers(1, 3, size=dims))
    padding = tuple(int(rng.integers(0, 2)) for _ in range(dims))
    size = tuple(int(s) for s in rng.integers(2, 6, size=dims))
    return n, c, f, kernel, stride, dilation, padding, size


@pytest.mark.parametrize("dims", [1, 2])
def test_conv_against_autograd(dims):
    rng = np.random.default_rng(10 + dims)
    done = 0
    while done < CASES_PER_TYPE * 2:
        n, c, f, kernel, stride, dilation, padding, size = random_conv(rng, dims)
        scalar = rng.random() < 0.3  # one number for every dimension
        if scalar:
            stride, padding, dilation = (stride[0],) * dims, (padding[0],) * dims, (dilation[0],) * dims
        outs = [(s + 2 * p - d * (k - 1) - 1) // st + 1 for s, p, d, k, st in zip(size, padding, dilation, kernel, stride)]
        if min(outs) < 1:
            continue
        done += 1
        single = rng.random() < 0.25
        x = values(rng, (c, *size) if single else (n, c, *size))
        w, b = values(rng, (f, c, *kernel)), values(rng, (f,))
        conv = F.conv1d if dims == 1 else F.conv2d
        given = {"type": "conv", "x": x.tolist(), "w": w.tolist(), "b": b.tolist(), "stride": list(stride),
                 "padding": list(padding), "dilation": list(dilation)}
        if scalar:
            given.update(stride=stride[0], padding=padding[0], dilation=dilation[0])
        dout = values(rng, (f, *outs) if single else (n, f, *outs))
        check_case(given, lambda x, w, b: conv(x, w, b, stride=stride, padding=padding, dilation=dilation),
                   {"x": x, "w": w, "b": b}, {"dx": "x", "dw": "w", "db": "b"}, dout, single)


@pytest.mark.parametrize("dims", [1, 2])
def test_transposed_conv_against_autograd(dims):
    rng = np.random.default_rng(20 + dims)
    for _ in range(CASES_PER_TYPE * 2):
        n, c, f, kernel, stride, dilation, padding, size = random_conv(rng, dims)
        output_padding = tuple(int(rng.integers(0, max(s, d))) for s, d in zip(stride, dilation))
        outs = [(s - 1) * st - 2 * p + d * (k - 1) + op + 1
                for s, st, p, d, k, op in zip(size, stride, padding, dilation, kernel, output_padding)]
        if min(outs) < 1:
            continue
        single = rng.random() < 0.25
        x = values(rng, (c, *size) if single else (n, c, *size))
        w, b = values(rng, (c, f, *kernel)), values(rng, (f,))
        conv = F.conv_transpose1d if dims == 1 else F.conv_transpose2d
        given = {"type": "transposed-conv", "x": x.tolist(), "w": w.tolist(), "b": b.tolist(),
                 "stride": list(stride), "padding": list(padding), "dilation": list(dilation),
                 "output_padding": list(output_padding)}
        dout = values(rng, (f, *outs) if single else (n, f, *outs))
        check_case(given, lambda x, w, b: conv(x, w, b, stride=stride, padding=padding,
                                               output_padding=output_padding, dilation=dilation),
                   {"x": x, "w": w, "b": b}, {"dx": "x", "dw": "w", "db": "b"}, dout, single)


def torch_locally_connected(x, w, b, stride, padding):
    """Unfold the windows, then one matrix per output position."""
    oh, ow, f, c, kh, kw = w.shape
    cols = F.unfold(x, (kh, kw), padding=padding, stride=stride)  # N, C·KH·KW, OH·OW
    weights = w.reshape(oh * ow, f, c * kh * kw)
    out = torch.einsum("nkl,lfk->nfl", cols, weights)
    return out.reshape(len(x), f, oh, ow) + b


@pytest.mark.parametrize("dims", [1, 2])
def test_locally_connected_against_autograd(dims):
    rng = np.random.default_rng(30 + dims)
    done = 0
    while done < CASES_PER_TYPE:
        n, c, f, kernel, stride, _, padding, size = random_conv(rng, dims)
        outs = [(s + 2 * p - k) // st + 1 for s, p, k, st in zip(size, padding, kernel, stride)]
        if min(outs) < 1:
            continue
        done += 1
        x = values(rng, (n, c, *size))
        w, b = values(rng, (*outs, f, c, *kernel)), values(rng, (f, *outs))
        dout = values(rng, (n, f, *outs))
        given = {"type": "locally-connected", "x": x.tolist(), "w": w.tolist(), "b": b.tolist(),
                 "stride": list(stride), "padding": list(padding)}
        if dims == 1:
            def function(x, w, b, stride=stride, padding=padding):
                out = torch_locally_connected(x[:, :, None, :], w[None, :, :, :, None, :], b[:, None, :],
                                              (1, stride[0]), (0, padding[0]))
                return out[:, :, 0, :]
        else:
            def function(x, w, b, stride=stride, padding=padding):
                return torch_locally_connected(x, w, b, stride, padding)
        check_case(given, function, {"x": x, "w": w, "b": b}, {"dx": "x", "dw": "w", "db": "b"}, dout)


# --- pooling ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["maxpool", "avgpool"])
@pytest.mark.parametrize("dims", [1, 2])
def test_pooling_against_autograd(mode, dims):
    rng = np.random.default_rng(40 + dims + (mode == "avgpool") * 5)
    done = 0
    while done < CASES_PER_TYPE:
        n, c = int(rng.integers(1, 4)), int(rng.integers(1, 3))
        kernel = tuple(int(k) for k in rng.integers(1, 4, size=dims))
        stride = tuple(int(k) for k in rng.integers(1, 4, size=dims)) if rng.random() < 0.6 else None
        padding = tuple(int(rng.integers(0, k // 2 + 1)) for k in kernel)
        size = tuple(int(s) for s in rng.integers(1, 7, size=dims))
        step = stride or kernel
        outs = [(s + 2 * p - k) // st + 1 for s, p, k, st in zip(size, padding, kernel, step)]
        if min(outs) < 1:
            continue
        done += 1
        include = bool(rng.random() < 0.6)
        x = values(rng, (n, c, *size), integers=rng.random() < 0.6)  # integers: many ties
        given = {"type": mode, "x": x.tolist(), "kernel": list(kernel), "padding": list(padding)}
        if stride:
            given["stride"] = list(stride)
        if mode == "avgpool":
            given["count_include_pad"] = include
            pool = F.avg_pool1d if dims == 1 else F.avg_pool2d

            def function(x, pool=pool, kernel=kernel, step=step, padding=padding, include=include):
                return pool(x, kernel, step, padding, count_include_pad=include)
        else:
            pool = F.max_pool1d if dims == 1 else F.max_pool2d

            def function(x, pool=pool, kernel=kernel, step=step, padding=padding):
                return pool(x, kernel, step, padding)
        dout = values(rng, (n, c, *outs))
        check_case(given, function, {"x": x}, {"dx": "x"}, dout)


def test_max_pool_ties_go_to_the_first_maximum():
    x = [[[[1, 3, 3, 0], [2, 3, 1, 1], [0, 1, 5, 5], [1, 1, 5, 2]]]]
    got = answers({"type": "maxpool", "x": x, "kernel": 2, "dout": [[[[1, 2], [3, 4]]]]})
    assert got["out"] == [[[[3, 3], [1, 5]]]]
    # window 1: 3 at (1, 2) before (2, 2); window 3: the first 1 is at (3, 2); window 4: (3, 3)
    assert got["dx"] == [[[[0, 1, 2, 0], [0, 0, 0, 0], [0, 3, 4, 0], [0, 0, 0, 0]]]]
    tx = t(x, grad=True)
    F.max_pool2d(tx, 2).backward(t([[[[1, 2], [3, 4]]]]))
    assert tx.grad.tolist() == got["dx"]


def test_single_sample_pooling_with_a_two_number_kernel():
    x = np.arange(16.0).reshape(1, 4, 4)
    got = answers({"type": "avgpool", "x": x.tolist(), "kernel": [2, 2]})
    close(got["out"], F.avg_pool2d(t(x[None]), 2)[0], "single-sample avgpool")


# --- element-wise layers -----------------------------------------------------------------------------


ACTIVATIONS = {
    "relu": lambda x: F.relu(x),
    "leaky-relu": lambda x: F.leaky_relu(x, 0.2),
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "softmax": lambda x: F.softmax(x, dim=-1),
}


@pytest.mark.parametrize("kind", sorted(ACTIVATIONS))
def test_activations_against_autograd(kind):
    rng = np.random.default_rng(len(kind))
    for _ in range(CASES_PER_TYPE):
        shape = tuple(int(s) for s in rng.integers(1, 4, size=int(rng.integers(1, 4))))
        x = values(rng, shape)  # integers include exact zeros: relu′(0) = 0, leaky-relu′(0) = α
        given = {"type": kind, "x": x.tolist()}
        if kind == "leaky-relu":
            given["alpha"] = 0.2
        check_case(given, ACTIVATIONS[kind], {"x": x}, {"dx": "x"}, values(rng, shape))


def test_dropout_is_inverted_and_uses_the_given_mask():
    rng = np.random.default_rng(7)
    for _ in range(CASES_PER_TYPE):
        shape = tuple(int(s) for s in rng.integers(1, 4, size=int(rng.integers(1, 4))))
        x, dout = values(rng, shape), values(rng, shape)
        p = float(rng.choice([0.0, 0.25, 0.5, 0.8]))
        mask = (rng.random(shape) >= p).astype(float)
        given = {"type": "dropout", "x": x.tolist(), "p": p, "mask": mask.tolist()}
        # PyTorch's dropout draws its own mask; with the same mask it is x·mask/(1 − p).
        check_case(given, lambda x: x * t(mask) / (1 - p), {"x": x}, {"dx": "x"}, dout)
        evaluation = answers({**given, "training": False, "dout": dout.tolist()})
        close(evaluation["out"], x, "eval dropout")
        close(evaluation["dx"], dout, "eval dropout dx")


# --- normalisation -----------------------------------------------------------------------------------


def test_batchnorm_against_autograd_and_running_statistics():
    rng = np.random.default_rng(50)
    for case in range(CASES_PER_TYPE * 3):
        ndim = int(rng.choice([1, 2, 3, 4]))
        n = int(rng.integers(2, 5))
        shape = (n,) if ndim == 1 else (n, int(rng.integers(1, 4)), *rng.integers(1, 4, size=ndim - 2).tolist())
        channels = 1 if ndim == 1 else shape[1]
        x = values(rng, shape, integers=False) * 2
        gamma, beta = np.round(rng.uniform(0.5, 2, channels), 2), np.round(rng.normal(size=channels), 2)
        eps, momentum = float(rng.choice([1e-5, 1e-3, 0.1])), float(rng.choice([0.1, 0.5]))
        training = bool(rng.random() < 0.7)
        running = rng.random() < 0.6 or not training
        rm, rv = np.round(rng.normal(size=channels), 2), np.round(rng.uniform(0.5, 2, channels), 2)
        given = {"type": "batchnorm", "x": x.tolist(), "gamma": gamma.tolist(), "beta": beta.tolist(),
                 "eps": eps, "momentum": momentum, "training": training}
        if running:
            given.update(running_mean=rm.tolist(), running_var=rv.tolist())
        else:
            rm, rv = np.zeros(channels), np.ones(channels)
        dout = values(rng, shape)
        got = answers({**given, "dout": dout.tolist()})
        xt = x[:, None] if ndim == 1 else x
        buffers = (t(rm), t(rv))
        out, grads = autograd(lambda x, gamma, beta: F.batch_norm(
            x, buffers[0], buffers[1], gamma, beta, training=training, momentum=momentum, eps=eps),
            {"x": xt, "gamma": gamma, "beta": beta}, dout[:, None] if ndim == 1 else dout)
        squeeze = (lambda a: a[:, 0]) if ndim == 1 else (lambda a: a)
        close(got["out"], squeeze(out), f"out {given}")
        close(got["dx"], squeeze(grads["x"]), f"dx {given}")
        close(np.ravel(got["dgamma"]), grads["gamma"], "dgamma")
        close(np.ravel(got["dbeta"]), grads["beta"], "dbeta")
        if training:
            close(np.ravel(got["running_mean_new"]), buffers[0], "running_mean_new")
            close(np.ravel(got["running_var_new"]), buffers[1], "running_var_new")
            axes = (0,) + tuple(range(2, xt.ndim))
            close(np.ravel(got["var"]), xt.var(axis=axes), "biased var")
        else:
            assert "running_mean_new" not in got
            close(np.ravel(got["mean"]), rm, "eval mean is the running mean")


def test_layernorm_against_autograd():
    rng = np.random.default_rng(60)
    for _ in range(CASES_PER_TYPE * 2):
        sample = tuple(int(s) for s in rng.integers(1, 4, size=int(rng.integers(1, 4))))
        if int(np.prod(sample)) < 2:
            sample = (2,) + sample[1:]
        single = len(sample) == 1 and rng.random() < 0.3
        n = int(rng.integers(1, 4))
        x = values(rng, sample if single else (n, *sample), integers=False)
        gamma, beta = values(rng, sample), values(rng, sample)
        eps = float(rng.choice([1e-5, 0.01]))
        given = {"type": "layernorm", "x": x.tolist(), "gamma": gamma.tolist(), "beta": beta.tolist(), "eps": eps}
        dout = values(rng, x.shape)
        check_case(given, lambda x, gamma, beta: F.layer_norm(x, sample, gamma, beta, eps),
                   {"x": x, "gamma": gamma, "beta": beta}, {"dx": "x", "dgamma": "gamma", "dbeta": "beta"},
                   dout, single)
        got = answers(given)
        rows = x.reshape(1 if single else n, -1)
        close(np.ravel(got["mean"]), rows.mean(axis=1), "layernorm mean")
        close(np.ravel(got["var"]), rows.var(axis=1), "layernorm var")


def test_groupnorm_against_autograd():
    rng = np.random.default_rng(70)
    for _ in range(CASES_PER_TYPE * 2):
        groups = int(rng.integers(1, 4))
        channels = groups * int(rng.integers(1, 3))
        n = int(rng.integers(1, 4))
        spatial = tuple(int(s) for s in rng.integers(1, 4, size=int(rng.integers(0, 3))))
        if channels // groups * int(np.prod(spatial)) < 2:
            spatial = (2,) + spatial[1:] if spatial else (2,)
        x = values(rng, (n, channels, *spatial), integers=False)
        gamma, beta = values(rng, (channels,)), values(rng, (channels,))
        given = {"type": "groupnorm", "x": x.tolist(), "gamma": gamma.tolist(), "beta": beta.tolist(),
                 "groups": groups}
        dout = values(rng, x.shape)
        check_case(given, lambda x, gamma, beta: F.group_norm(x, groups, gamma, beta, 1e-5),
                   {"x": x, "gamma": gamma, "beta": beta}, {"dx": "x", "dgamma": "gamma", "dbeta": "beta"}, dout)
        got = answers(given)
        assert np.shape(got["mean"]) == (n, groups)


# --- course values and the worked steps -------------------------------------------------------------


def test_d2l_transposed_convolution():
    got = answers({"type": "transposed-conv", "x": [[[0, 1], [2, 3]]], "w": [[[[0, 1], [2, 3]]]]})
    assert got["out"] == [[[0, 0, 1], [0, 4, 6], [4, 12, 9]]]


def test_cs231n_affine_forward_values():
    """CS231n assignment 2's affine_forward check, built from its own inputs (np.linspace)."""
    num_inputs, input_shape, output_dim = 2, (4, 5, 6), 3
    input_size = num_inputs * int(np.prod(input_shape))
    weight_size = output_dim * int(np.prod(input_shape))
    x = np.linspace(-0.1, 0.5, num=input_size).reshape(num_inputs, *input_shape)
    w = np.linspace(-0.2, 0.3, num=weight_size).reshape(int(np.prod(input_shape)), output_dim)
    b = np.linspace(-0.3, 0.1, num=output_dim)
    got = answers({"type": "affine", "x": x.tolist(), "w": w.tolist(), "b": b.tolist()})
    correct = np.array([[1.49834967, 1.70660132, 1.91485297], [3.25553199, 3.5141327, 3.77273342]])
    np.testing.assert_allclose(got["out"], correct, rtol=1e-7)


def test_cs231n_conv_forward_values():
    """CS231n assignment 2's conv_forward_naive check, from its own inputs."""
    x_shape, w_shape = (2, 3, 4, 4), (3, 3, 4, 4)
    x = np.linspace(-0.1, 0.5, num=int(np.prod(x_shape))).reshape(x_shape)
    w = np.linspace(-0.2, 0.3, num=int(np.prod(w_shape))).reshape(w_shape)
    b = np.linspace(-0.1, 0.2, num=3)
    got = answers({"type": "conv", "x": x.tolist(), "w": w.tolist(), "b": b.tolist(), "stride": 2, "padding": 1})
    correct = [[[[-0.08759809, -0.10987781], [-0.18387192, -0.2109216]],
                [[0.21027089, 0.21661097], [0.22847626, 0.23004637]],
                [[0.50813986, 0.54309974], [0.64082444, 0.67101435]]],
               [[[-0.98053589, -1.03143541], [-1.19128892, -1.24695841]],
                [[0.69108355, 0.66880383], [0.59480972, 0.56776003]],
                [[2.36270298, 2.36904306], [2.38090835, 2.38247847]]]]
    np.testing.assert_allclose(got["out"], correct, atol=1e-8)


def test_cs231n_max_pool_forward_values():
    """CS231n assignment 2's max_pool_forward_naive check, from its own inputs."""
    x = np.linspace(-0.3, 0.4, num=96).reshape(2, 3, 4, 4)
    got = answers({"type": "maxpool", "x": x.tolist(), "kernel": 2, "stride": 2})
    correct = [[[[-0.26315789, -0.24842105], [-0.20421053, -0.18947368]],
                [[-0.14526316, -0.13052632], [-0.08631579, -0.07157895]],
                [[-0.02736842, -0.01263158], [0.03157895, 0.04631579]]],
               [[[0.09052632, 0.10526316], [0.14947368, 0.16421053]],
                [[0.20842105, 0.22315789], [0.26736842, 0.28210526]],
                [[0.32631579, 0.34105263], [0.38526316, 0.4]]]]
    np.testing.assert_allclose(got["out"], correct, atol=1e-8)


def test_worked_elements_are_checked_and_show_all_writes_every_one():
    given = {"type": "conv", "x": [[[[1, 2, 0], [0, 1, 3], [2, 1, 1]]]], "w": [[[[1, 0], [0, -1]]]], "b": [0.5],
             "dout": [[[[1, 0], [0, 1]]]]}
    first = run(given)
    every = run({**given, "show": "all"})
    assert all(check.passed for check in every.checks) and every.checks
    def worked(sol, name):
        return [s for s in sol.steps if s.formula is not None and s.formula.lhs.text_name().startswith(name + "[")]
    assert len(worked(first, "out")) == 3 and len(worked(every, "out")) == 4
    assert len(worked(every, "dx")) == 9 and len(worked(every, "dw")) == 4
    step = worked(first, "out")[0]
    assert step.formula.value == 1 * 1 + 2 * 0 + 0 * 0 + 1 * (-1) + 0.5


def test_steps_name_the_conventions():
    sol = run({"type": "batchnorm", "x": [[1, 2], [3, 5]]})
    text = " ".join(sol.conventions)
    assert "biased" in text and "unbiased" in text
    assert "1/(1 − p)" in " ".join(run({"type": "dropout", "x": [1, 2], "p": 0.5, "mask": [1, 0]}).conventions)
    assert "C_in×C_out×KH×KW" in " ".join(run({"type": "transposed-conv", "x": [[[1]]],
                                               "w": [[[[1, 2]]]]}).conventions)
    assert "first one in row-major" in " ".join(run({"type": "maxpool", "x": [[[1, 1]]], "kernel": 2}).conventions)


# --- bad input ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("given, field", [
    ({"type": "affine", "x": [[1, 2]], "w": [[1, 2, 3]]}, "w"),
    ({"type": "conv", "x": [[[[1, 2], [3, 4]]]], "w": [[[[1]]], [[[1]]]], "b": [1, 2, 3]}, "b"),
    ({"type": "conv", "x": [[[[1, 2], [3, 4]]]], "w": [[[[1]], [[1]]]]}, "w"),
    ({"type": "conv", "x": [[[[1, 2], [3, 4]]]], "w": [[[[1, 1, 1]]]]}, "x"),
    ({"type": "conv", "x": [1, 2, 3], "w": [[[1]]]}, "x"),
    ({"type": "affine", "x": [[1, 2]], "w": [[1], [2]], "dout": [[1, 2]]}, "dout"),
    ({"type": "maxpool", "x": [[[1, 2]]]}, "kernel"),
    ({"type": "maxpool", "x": [[[1, 2, 3]]], "kernel": 2, "padding": 2}, "padding"),
    ({"type": "relu", "x": [1, 2], "kernel": 2}, "kernel"),
    ({"type": "dropout", "x": [1, 2], "p": 0.5}, "mask"),
    ({"type": "dropout", "x": [1, 2], "p": 0.5, "mask": [1, 0, 1]}, "mask"),
    ({"type": "groupnorm", "x": [[1, 2, 3]], "groups": 2}, "groups"),
    ({"type": "batchnorm", "x": [[1, 2]]}, "x"),
    ({"type": "layernorm", "x": [[1, 2]], "gamma": [1, 2, 3]}, "gamma"),
    ({"type": "transposed-conv", "x": [[[1, 2]]], "w": [[[1]]], "stride": 2, "output_padding": 2}, "output_padding"),
    ({"type": "locally-connected", "x": [[[1, 2, 3]]], "w": [[[[1]]]]}, "w"),
])
def test_bad_input_names_the_field(given, field):
    with pytest.raises(BadInput) as error:
        run(given)
    assert error.value.field == field, error.value.message


@pytest.mark.parametrize("given", [
    {"type": "pool", "x": [1]},
    {"type": "affine", "x": [[1, 2], [3]], "w": [[1]]},
    {"type": "relu", "x": [[1, "a"]]},
    {"type": "conv", "x": [[[1]]], "w": [[[1]]], "stride": 0},
])
def test_malformed_values_are_rejected_by_validation(given):
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        LayerInput.model_validate(given)


def test_kinds_new_and_the_worked_key_from_the_command_line():
    import json
    import subprocess
    import sys

    import yaml

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "solver.cli", *args], capture_output=True, text=True,
                              timeout=120)

    listing = cli("kinds", "layer")
    assert listing.returncode == 0 and "dgamma" in listing.stdout
    template = cli("new", "layer")
    assert template.returncode == 0
    problem = yaml.safe_load(template.stdout)["problems"][0]
    assert run(problem["given"]).answers["out"] == [[[[0.5, -0.5], [-0.5, 0.5]]]]
    solved = cli("layer", "--type", "transposed-conv", "--x", "[[[0, 1], [2, 3]]]", "--w", "[[[[0, 1], [2, 3]]]]",
                 "--format", "json")
    assert json.loads(solved.stdout)["problems"][0]["answers"]["out"] == [[[0, 0, 1], [0, 4, 6], [4, 12, 9]]]
    from helpers import render_text, solve_text

    text = render_text(solve_text("problems:\n  - id: q\n    kind: layer\n    given: {type: affine, x: [[1, 2], "
                                  "[3, 4]], w: [[1, 0, -1], [2, 1, 0]], b: [0, 1, 2], dout: [[1, 0, 0], [0, 1, 1]]}\n"))
    assert "out[1, 2] = 1·0 + 2·1 + 1 = 3" in text
    assert "dx[2, 1] = 0·1 + 1·0 + 1·(−1) = −1" in text
    assert "dw[1, 2] = 0·1 + 1·3 = 3" in text
    bad = cli("layer", "--type", "affine", "--x", "[[1, 2]]", "--w", "[[1, 2, 3]]")
    message = bad.stdout + bad.stderr  # the message names the field, wherever the command writes it
    assert bad.returncode == 2 and "field w" in message and "Traceback" not in message


# --- the layer maths itself against finite differences ----------------------------------------------


def finite_difference_cases(rng):
    """(name, forward(**arrays) -> out, backward(dout, **arrays) -> {name: gradient}, arrays)."""
    from solver.nn import functional as fn

    x = rng.normal(size=(2, 2, 5, 4))
    w, b = rng.normal(size=(3, 2, 2, 3)), rng.normal(size=3)
    conv = dict(stride=(2, 1), padding=(1, 0), dilation=(1, 2))
    wt = rng.normal(size=(2, 3, 3, 2))
    transposed = dict(stride=(2, 1), padding=(1, 0), dilation=(1, 2), output_padding=(1, 0))
    wl, bl = rng.normal(size=(3, 2, 3, 2, 2, 2)), rng.normal(size=(3, 3, 2))
    gamma, beta = rng.uniform(0.5, 2, size=2), rng.normal(size=2)
    distinct = rng.permutation(40).reshape(2, 2, 5, 2) * 0.1  # no ties: finite differences stay on one branch
    return [
        ("conv", lambda x, w, b: fn.conv_forward(x, w, b, **conv),
         lambda g, x, w, b: dict(zip("xwb", fn.conv_backward(g, x, w, **conv))), dict(x=x, w=w, b=b)),
        ("transposed-conv", lambda x, w, b: fn.conv_transpose_forward(x, w, b, **transposed),
         lambda g, x, w, b: dict(zip("xwb", fn.conv_transpose_backward(g, x, w, **transposed))),
         dict(x=x, w=wt, b=b)),
        ("locally-connected", lambda x, w, b: fn.local_forward(x, w, b, (2, 1), (1, 0)),
         lambda g, x, w, b: dict(zip("xwb", fn.local_backward(g, x, w, (2, 1), (1, 0)))), dict(x=x, w=wl, b=bl)),
        ("maxpool", lambda x: fn.max_pool_forward(x, (3, 2), (2, 1), (1, 1)),
         lambda g, x: {"x": fn.max_pool_backward(g, x, (3, 2), (2, 1), (1, 1))}, dict(x=distinct)),
        ("avgpool", lambda x: fn.avg_pool_forward(x, (3, 2), (2, 1), (1, 1), False),
         lambda g, x: {"x": fn.avg_pool_backward(g, x.shape, (3, 2), (2, 1), (1, 1), False)}, dict(x=x)),
        ("batchnorm", lambda x, gamma, beta: fn.batchnorm_forward(x, gamma, beta, 1e-5, True, 0, 1, 0.1)[0],
         lambda g, x, gamma, beta: dict(zip(["x", "gamma", "beta"], fn.batchnorm_backward(
             g, fn.batchnorm_forward(x, gamma, beta, 1e-5, True, 0, 1, 0.1)[3], gamma,
             fn.batchnorm_forward(x, gamma, beta, 1e-5, True, 0, 1, 0.1)[2], 1e-5, True))),
         dict(x=x, gamma=gamma, beta=beta)),
        ("groupnorm", lambda x, gamma, beta: fn.groupnorm_forward(x, gamma, beta, 2, 1e-5)[0],
         lambda g, x, gamma, beta: dict(zip(["x", "gamma", "beta"], fn.groupnorm_backward(
             g, fn.groupnorm_forward(x, gamma, beta, 2, 1e-5)[3], gamma,
             fn.groupnorm_forward(x, gamma, beta, 2, 1e-5)[2], 2, 1e-5))), dict(x=x, gamma=gamma, beta=beta)),
        ("softmax", lambda x: fn.softmax_forward(x),
         lambda g, x: {"x": fn.softmax_backward(g, fn.softmax_forward(x))}, dict(x=x)),
    ]


def test_backward_passes_match_finite_differences():
    from solver.nn.gradcheck import numeric_gradient, relative_error

    rng = np.random.default_rng(99)
    for name, forward, backward, arrays in finite_difference_cases(rng):
        upstream = rng.normal(size=forward(**arrays).shape)
        analytic = backward(upstream, **arrays)
        for key, array in arrays.items():
            numeric = numeric_gradient(lambda: float((forward(**arrays) * upstream).sum()), array)
            assert relative_error(analytic[key], numeric) < 1e-7, f"{name} d{key}"
