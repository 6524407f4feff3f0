"""Kind `derive`, templates: every derived result against PyTorch autograd on 50 random
instances per template (random sizes and values), and the answer strings re-evaluated with
NumPy on the same instance.

Each template is run through its own entry point with a seeded generator; its Derivation holds
the random instance and every evaluated result. PyTorch recomputes the loss from its
definition and differentiates it — an oracle independent of the templates' formulas.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from solver.kinds.derive import derive as derive_kind  # noqa: E402
from solver.steps import Solution  # noqa: E402

INSTANCES = 50
TOLERANCE = dict(rtol=1e-7, atol=1e-9)


def run(template: str, sizes: dict, seed: int, **options):
    """Solve one template on the instance drawn from `seed`; (solution, derivation)."""
    given = derive_kind.DeriveInput(template=template, sizes=sizes, seed=seed, **options)
    info = derive_kind.TEMPLATES[given.template]
    sol = Solution()
    der = derive_kind.derivation(given.template)(sol, given, derive_kind._template_sizes(given, info),
                                         np.random.default_rng(seed))
    assert sol.checks and all(check.passed for check in sol.checks), [c.detail for c in sol.checks]
    return sol, der


def tensor(array, grad: bool = True):
    return torch.tensor(np.asarray(array, dtype=float), dtype=torch.float64, requires_grad=grad)


def close(derived, expected) -> None:
    np.testing.assert_allclose(np.asarray(derived, dtype=float), expected.detach().numpy()
                               if hasattr(expected, "detach") else expected, **TOLERANCE)


def numpy_value(answer: str, namespace: dict):
    """An answer string evaluated with NumPy: the plain spelling is NumPy syntax by design
    (`@` matrix product, `*` element-wise, `.T`). Only our own output is evaluated, with no
    builtins, against the instance's arrays."""
    functions = {"sigmoid": lambda v: 1 / (1 + np.exp(-v)), "tanh": np.tanh, "exp": np.exp,
                 "log": np.log, "diag": lambda v: np.diag(np.ravel(v)),
                 "softmax": lambda v: np.exp(v) / np.exp(v).sum(axis=-1, keepdims=True)}
    return eval(answer, {"__builtins__": {}}, {**functions, **namespace})  # noqa: S307


def random_sizes(rng, names: dict) -> dict:
    return {name: int(rng.integers(low, high + 1)) for name, (low, high) in names.items()}


# --- softmax-cross-entropy ---------------------------------------------------------------


@pytest.mark.parametrize("seed", range(INSTANCES))
def test_softmax_cross_entropy_against_autograd(seed):
    rng = np.random.default_rng(1000 + seed)
    sol, der = run("softmax-cross-entropy", random_sizes(rng, {"K": (2, 7)}), seed)
    values = der.values
    f2, y = tensor(values["f2"]), torch.tensor(values["y"])
    loss = -(y * torch.log_softmax(f2, dim=1)).sum()
    loss.backward()
    close(values["dE_df2"], f2.grad)
    o = tensor(values["o"])
    (-(y * torch.log(o)).sum()).backward()
    close(values["dE_do"], o.grad)
    jac = torch.autograd.functional.jacobian(lambda v: torch.softmax(v, dim=1), tensor(values["f2"], False))
    close(values["do_df2"], jac.reshape(values["f2"].size, values["f2"].size))
    names = {"o": values["o"], "y": values["y"]}
    for answer, result in (("grad_o", "dE_do"), ("jacobian", "do_df2"), ("grad_f2", "dE_df2")):
        close(numpy_value(sol.answers[answer], names), values[result])


# --- sigmoid-mlp-input-gradient --------------------------------------------------------


@pytest.mark.parametrize("seed", range(INSTANCES))
def test_sigmoid_mlp_against_autograd(seed):
    rng = np.random.default_rng(2000 + seed)
    sizes = random_sizes(rng, {"N": (1, 5), "M": (1, 5), "K": (2, 5)})
    sol, der = run("sigmoid-mlp-input-gradient", sizes, seed)
    values = der.values
    leaves = {name: tensor(values[name]) for name in ("x", "W1", "b1", "W2", "b2")}
    f1 = leaves["x"] @ leaves["W1"] + leaves["b1"]
    a = torch.sigmoid(f1)
    f2 = a @ leaves["W2"] + leaves["b2"]
    for hidden in (f1, a, f2):
        hidden.retain_grad()
    loss = -(torch.tensor(values["y"]) * torch.log_softmax(f2, dim=1)).sum()
    loss.backward()
    for result, reference in (("dE_dx", leaves["x"].grad), ("dE_dW1", leaves["W1"].grad),
                              ("dE_db1", leaves["b1"].grad), ("dE_dW2", leaves["W2"].grad),
                              ("dE_db2", leaves["b2"].grad), ("dE_df1", f1.grad), ("dE_da", a.grad),
                              ("dE_df2", f2.grad)):
        close(values[result], reference)
    names = {name: values[name] for name in ("x", "W1", "W2", "a", "o", "y")}
    close(numpy_value(sol.answers["grad_x"], names), leaves["x"].grad)
    close(numpy_value(sol.answers["grad_W1"], names), leaves["W1"].grad)
    assert sol.answers["shape_grad_x"] == [1, sizes["N"]]
    assert sol.answers["shape_grad_W1"] == [sizes["N"], sizes["M"]]


# --- linear-square-error ---------------------------------------------------------------


@pytest.mark.parametrize("seed", range(INSTANCES))
def test_linear_square_error_against_autograd(seed):
    rng = np.random.default_rng(3000 + seed)
    options = {"l2": bool(seed % 2), "layout": ("denominator", "numerator")[(seed // 2) % 2],
               "weights": ("in_out", "out_in")[(seed // 4) % 2]}
    sol, der = run("linear-square-error", random_sizes(rng, {"n": (1, 5), "K": (1, 4)}), seed, **options)
    values = der.values
    x, W, b, d = (tensor(values[name]) for name in ("x", "W", "b", "d"))
    y = (W @ x if options["weights"] == "out_in" else W.T @ x) + b
    y.retain_grad()
    loss = ((d - y).T @ (d - y)).sum() + (values["beta"] * (W ** 2).sum() if options["l2"] else 0)
    loss.backward()
    orient = (lambda g: g.T) if options["layout"] == "numerator" else (lambda g: g)
    close(values["grad_W"], orient(W.grad))
    close(values["grad_b"], orient(b.grad))
    close(values["grad_y"], orient(y.grad))
    names = {"x": values["x"], "W": values["W"], "d": values["d"], "y": values["y"], "beta": values["beta"]}
    close(numpy_value(sol.answers["grad_W"], names), orient(W.grad))
    close(numpy_value(sol.answers["grad_b"], names), orient(b.grad))


# --- conv1d-gradients ------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(INSTANCES))
def test_conv1d_against_autograd(seed):
    rng = np.random.default_rng(4000 + seed)
    sizes = random_sizes(rng, {"C": (1, 3), "k": (1, 4), "s": (1, 3)})
    sizes["L"] = int(sizes["k"] + rng.integers(0, 6))
    sol, der = run("conv1d-gradients", sizes, seed)
    values = der.values
    x, W = tensor(values["x"]), tensor(values["W"])
    stride = sizes["s"]
    out = torch.nn.functional.conv1d(x[None], W, stride=stride)[0]
    close(values["f"], out)
    assert sol.answers["output_length"] == out.shape[1]
    (torch.tensor(values["g"]) * out).sum().backward()
    close(values["dl_dW"], W.grad)
    close(values["dl_dx"], x.grad)
    by_weight = torch.autograd.functional.jacobian(
        lambda w: torch.nn.functional.conv1d(tensor(values["x"], False)[None], w, stride=stride)[0, 0],
        tensor(values["W"], False))
    close(values["df_dW"], by_weight[:, 0])
    by_input = torch.autograd.functional.jacobian(
        lambda v: torch.nn.functional.conv1d(v[None], tensor(values["W"], False), stride=stride)[0, 0],
        tensor(values["x"], False))
    close(values["df_dx"], by_input)
    assert sol.answers["shape_df_dx"] == [out.shape[1], sizes["C"], sizes["L"]]


# --- gated-rnn --------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(INSTANCES))
def test_gated_rnn_against_autograd(seed):
    rng = np.random.default_rng(5000 + seed)
    sizes = random_sizes(rng, {"n": (1, 4), "m": (1, 4), "K": (1, 5)})
    sol, der = run("gated-rnn", sizes, seed)
    values = der.values
    Wc, Wh, Wx = tensor(values["Wc"]), tensor(values["Wh"]), tensor(values["Wx"])
    h = torch.zeros((sizes["m"], 1), dtype=torch.float64)
    states, loss = [], 0
    for x_t, g_t in zip(values["xs"], values["gs"]):
        x_t = torch.tensor(x_t)
        c = torch.sigmoid(Wc @ x_t + Wh @ h)
        h = c * h + (1 - c) * (Wx @ x_t)
        h.retain_grad()
        states.append(h)
        loss = loss + (torch.tensor(g_t) * h).sum()
    loss.backward()
    close(values["dl_dWx"], Wx.grad)
    close(values["dl_dWc"], Wc.grad)
    close(values["dl_dWh"], Wh.grad)
    for delta, state in zip(values["deltas"], states):  # total gradients dℓ/dh[t]
        close(delta, state.grad)
    assert sol.answers["shape_c"] == [sizes["m"]] and sol.answers["shape_grad_Wx"] == [sizes["m"], sizes["n"]]


# --- lstm-cell -------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(INSTANCES))
def test_lstm_cell_against_autograd(seed):
    rng = np.random.default_rng(6000 + seed)
    sol, der = run("lstm-cell", random_sizes(rng, {"n": (1, 4), "m": (1, 4)}), seed)
    values = der.values
    names = [f"{kind}_{gate}" for kind in "UWb" for gate in "ifgo"] + ["x", "h_prev", "c_prev"]
    leaves = {name: tensor(values[name]) for name in names}
    pre = {g: leaves[f"U_{g}"] @ leaves["x"] + leaves[f"W_{g}"] @ leaves["h_prev"] + leaves[f"b_{g}"]
           for g in "ifgo"}
    for value in pre.values():
        value.retain_grad()
    c = torch.sigmoid(pre["f"]) * leaves["c_prev"] + torch.sigmoid(pre["i"]) * torch.tanh(pre["g"])
    c.retain_grad()
    h = torch.sigmoid(pre["o"]) * torch.tanh(c)
    ((torch.tensor(values["dl_dh"]) * h).sum() + (torch.tensor(values["dl_dc"]) * c).sum()).backward()
    for gate in "ifgo":
        close(values[f"delta_{gate}"], pre[gate].grad)
        close(values[f"dl_dU_{gate}"], leaves[f"U_{gate}"].grad)
        close(values[f"dl_dW_{gate}"], leaves[f"W_{gate}"].grad)
        close(values[f"dl_db_{gate}"], leaves[f"b_{gate}"].grad)
    close(values["delta_c"], c.grad)  # ℓ holds g′ᵀc directly, so c.grad is the total gradient
    close(values["dl_dh_prev"], leaves["h_prev"].grad)
    close(values["dl_dc_prev"], leaves["c_prev"].grad)
    close(values["dl_dx"], leaves["x"].grad)


# --- logistic-bce and the activation derivatives ------------------------------------------


@pytest.mark.parametrize("seed", range(INSTANCES))
def test_logistic_bce_against_autograd(seed):
    rng = np.random.default_rng(7000 + seed)
    sol, der = run("logistic-bce", random_sizes(rng, {"n": (1, 6)}), seed)
    values = der.values
    x, w, b = tensor(values["x"], False), tensor(values["w"]), tensor(values["b"])
    u = w.T @ x + b
    u.retain_grad()
    y = torch.sigmoid(u)
    y.retain_grad()
    torch.nn.functional.binary_cross_entropy(y, torch.tensor(values["d"]), reduction="sum").backward()
    close(values["dJ_dw"], w.grad)
    close(values["dJ_db"], b.grad)
    close(values["dJ_du"], u.grad)
    close(values["dJ_dy"], y.grad)
    close(numpy_value(sol.answers["grad_u"], {"y": values["y"], "d": values["d"]}), u.grad)


@pytest.mark.parametrize("seed", range(INSTANCES))
@pytest.mark.parametrize("template, function, output", [("sigmoid-derivative", torch.sigmoid, "y"),
                                                         ("tanh-derivative", torch.tanh, "h")])
def test_activation_derivatives_against_autograd(seed, template, function, output):
    sol, der = run(template, {}, seed)
    u = tensor(der.values["u"])
    function(u).sum().backward()
    close(der.values["prime"], u.grad)
    activation = function(tensor(der.values["u"], False)).numpy()
    close(numpy_value(sol.answers["derivative"], {output: activation}), u.grad)
    close(numpy_value(sol.answers["derivative_u"], {"u": der.values["u"]}), u.grad)


def test_every_template_has_its_derivation():
    for name in derive_kind.TEMPLATES:
        assert callable(derive_kind.derivation(name)), name
