"""The library's symbolic answers (`derive`) and custom recurrent cells, evaluated numerically.

A derived formula is only as good as its values: each answer string is evaluated here on a
random instance (NumPy for the matrix notation `@`, `.T`, `diag`; a small reader for the
indexed sums `sum[i=1..n](...)` of the convolution answers) and compared with PyTorch autograd
of the loss written out in this file. Custom cells are re-run from their equations in PyTorch.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from library_support import REPO, is_custom_cell, library_keys

RNG = np.random.default_rng(2024)

FUNCTIONS = {"diag": lambda v: np.diag(np.ravel(v)), "tanh": np.tanh, "exp": np.exp, "log": np.log,
             "sqrt": np.sqrt, "outer": lambda a, b: np.outer(np.ravel(a), np.ravel(b)),
             "sigmoid": lambda z: 1 / (1 + np.exp(-z)), "floor": math.floor, "sum": sum, "range": range}


def evaluate(text: str, names: dict):
    """An answer string of our own library, evaluated with NumPy values (no builtins)."""
    # One namespace as globals: the generator expressions of indexed sums look names up there.
    return eval(text, {"__builtins__": {}, **FUNCTIONS, **names})  # noqa: S307 - test-side, trusted text


def close(actual, expected, what=""):
    np.testing.assert_allclose(np.asarray(actual, dtype=float), np.asarray(expected, dtype=float),
                               rtol=1e-8, atol=1e-10, err_msg=what)


def t64(array) -> torch.Tensor:
    return torch.tensor(np.asarray(array, dtype=float), dtype=torch.float64, requires_grad=True)


# --- templates, each against autograd ----------------------------------------------------------------


def softmax_cross_entropy(answers, sizes):
    K = 4
    f2 = t64(RNG.normal(size=(1, K)))
    y = np.eye(K)[[1]]
    o = torch.softmax(f2, dim=1)
    o_leaf = o.detach().clone().requires_grad_(True)
    loss_of_o = -(torch.tensor(y) * torch.log(o_leaf)).sum()
    (grad_o,) = torch.autograd.grad(loss_of_o, o_leaf)
    jacobian = torch.autograd.functional.jacobian(lambda z: torch.softmax(z, dim=1)[0], f2.detach())[:, 0, :]
    E = -(torch.tensor(y) * torch.log(o)).sum()
    (grad_f2,) = torch.autograd.grad(E, f2)
    names = {"o": o.detach().numpy(), "y": y}
    return names, {"grad_o": grad_o, "jacobian": jacobian, "grad_f2": grad_f2}


def sigmoid_mlp(answers, sizes):
    N, M, K = 3, 4, 2
    x, W1, b1 = t64(RNG.normal(size=(1, N))), t64(RNG.normal(size=(N, M))), t64(RNG.normal(size=(1, M)))
    W2, b2 = t64(RNG.normal(size=(M, K))), t64(RNG.normal(size=(1, K)))
    y = np.eye(K)[[0]]
    f1 = x @ W1 + b1
    a = torch.sigmoid(f1)
    f2 = a @ W2 + b2
    o = torch.softmax(f2, dim=1)
    for t in (f1, a, f2):
        t.retain_grad()
    (-(torch.tensor(y) * torch.log(o)).sum()).backward()
    names = {"o": o.detach().numpy(), "y": y, "a": a.detach().numpy(), "x": x.detach().numpy(),
             "W1": W1.detach().numpy(), "W2": W2.detach().numpy()}
    return names, {"grad_f2": f2.grad, "grad_W2": W2.grad, "grad_b2": b2.grad, "grad_a": a.grad,
                   "grad_f1": f1.grad, "grad_W1": W1.grad, "grad_b1": b1.grad, "grad_x": x.grad}


def linear_square_error(answers, given):
    """Column vectors; J = (d − y)ᵀ(d − y) (+ β‖W‖²); y = Wᵀx + b (in_out) or Wx + b (out_in)."""
    n, K, beta = 3, 2, 0.7
    out_in = given.get("weights", "in_out") == "out_in"
    x, d = t64(RNG.normal(size=(n, 1))), RNG.normal(size=(K, 1))
    W = t64(RNG.normal(size=(K, n) if out_in else (n, K)))
    b = t64(RNG.normal(size=(K, 1)))
    y = (W @ x if out_in else W.T @ x) + b
    y.retain_grad()
    J = ((torch.tensor(d) - y) ** 2).sum()
    if given.get("l2"):
        J = J + beta * (W ** 2).sum()
    J.backward()
    expected = {"grad_y": y.grad, "grad_W": W.grad, "grad_b": b.grad}
    if given.get("layout", "denominator") == "numerator":
        expected = {name: value.T for name, value in expected.items()}
    names = {"x": x.detach().numpy(), "d": d, "y": y.detach().numpy(), "W": W.detach().numpy(), "beta": beta}
    return names, expected


def logistic_bce(answers, given):
    n = 3
    x, w, b = t64(RNG.normal(size=(n, 1))), t64(RNG.normal(size=(n, 1))), t64(RNG.normal(size=(1, 1)))
    d = 1.0
    u = w.T @ x + b
    y = torch.sigmoid(u)
    y_leaf = y.detach().clone().requires_grad_(True)
    bce = lambda p: -(d * torch.log(p) + (1 - d) * torch.log(1 - p)).sum()  # noqa: E731
    (grad_y,) = torch.autograd.grad(bce(y_leaf), y_leaf)
    u.retain_grad()
    bce(y).backward()
    names = {"x": x.detach().numpy(), "y": y.detach().numpy(), "d": d}
    return names, {"grad_y": grad_y, "grad_u": u.grad, "grad_w": w.grad, "grad_b": b.grad}


def activation_derivative(function, output_name):
    def oracle(answers, given):
        u = t64(RNG.normal(size=5))
        out = function(u)
        (derivative,) = torch.autograd.grad(out.sum(), u)
        names = {"u": u.detach().numpy(), output_name: out.detach().numpy()}
        return names, {"derivative": derivative, "derivative_u": derivative}
    return oracle


GATES = "ifgo"


def lstm_cell(answers, given):
    """One LSTM step, u_g = U_g x + W_g h_prev + b_g, with ℓ = dl_dhᵀh + dl_dcᵀc so the incoming
    gradients are dl_dh and dl_dc; every delta is ∂ℓ/∂u_g from autograd."""
    n, m = 3, 2
    x, h_prev, c_prev = t64(RNG.normal(size=(n, 1))), t64(RNG.normal(size=(m, 1))), t64(RNG.normal(size=(m, 1)))
    U = {g: t64(RNG.normal(size=(m, n))) for g in GATES}
    W = {g: t64(RNG.normal(size=(m, m))) for g in GATES}
    b = {g: t64(RNG.normal(size=(m, 1))) for g in GATES}
    pre = {g: U[g] @ x + W[g] @ h_prev + b[g] for g in GATES}
    for p in pre.values():
        p.retain_grad()
    i, f, o = (torch.sigmoid(pre[g]) for g in "ifo")
    g = torch.tanh(pre["g"])
    c = f * c_prev + i * g
    h = o * torch.tanh(c)
    dl_dh, dl_dc = RNG.normal(size=(m, 1)), RNG.normal(size=(m, 1))
    c.retain_grad()
    ((torch.tensor(dl_dh) * h).sum() + (torch.tensor(dl_dc) * c).sum()).backward()
    names = {"dl_dh": dl_dh, "dl_dc": dl_dc, "x": x.detach().numpy(), "h_prev": h_prev.detach().numpy(),
             "c_prev": c_prev.detach().numpy(), "c": c.detach().numpy(), "i": i.detach().numpy(),
             "f": f.detach().numpy(), "g": g.detach().numpy(), "o": o.detach().numpy()}
    names.update({f"U_{k}": U[k].detach().numpy() for k in GATES})
    names.update({f"W_{k}": W[k].detach().numpy() for k in GATES})
    expected = {f"delta_{k}": pre[k].grad for k in GATES}
    expected.update({"delta_c": c.grad, "grad_c_prev": c_prev.grad, "grad_h_prev": h_prev.grad,
                     "grad_x": x.grad})
    per_gate = {"grad_U": {k: U[k].grad for k in GATES}, "grad_W": {k: W[k].grad for k in GATES},
                "grad_b": {k: b[k].grad for k in GATES}}
    return names, expected, per_gate


TEMPLATE_ORACLES = {"softmax-cross-entropy": softmax_cross_entropy, "sigmoid-mlp-input-gradient": sigmoid_mlp,
                    "linear-square-error": linear_square_error, "logistic-bce": logistic_bce,
                    "sigmoid-derivative": activation_derivative(torch.sigmoid, "y"),
                    "tanh-derivative": activation_derivative(torch.tanh, "h")}


def check_template(problem):
    given, answers = problem.given, problem.answers
    template = given["template"]
    if template == "lstm-cell":
        names, expected, per_gate = lstm_cell(answers, given)
        for name in [f"delta_{k}" for k in "cifgo"]:  # deltas first: the later answers use them
            names[name] = evaluate(answers[name], names)
            close(names[name], expected[name], f"{problem.id}.{name}")
        for name in ("grad_c_prev", "grad_h_prev", "grad_x"):
            close(evaluate(answers[name], names), expected[name], f"{problem.id}.{name}")
        for name, gates in per_gate.items():  # "delta_* @ x.T": the same form for every gate
            for gate, value in gates.items():
                close(evaluate(answers[name].replace("delta_*", f"delta_{gate}"), names), value,
                      f"{problem.id}.{name}.{gate}")
        return
    names, expected = TEMPLATE_ORACLES[template](answers, given)
    for name, value in expected.items():
        assert name in answers, (problem.id, name)
        close(evaluate(answers[name], names), value, f"{problem.id}.{name}")


# --- conv1d-gradients: indexed sums, counted from 1 ------------------------------------------------


class OneBased:
    """x[c, j] with indices from 1, as the answers write them; outside the array: 0."""

    def __init__(self, array):
        self.array = np.asarray(array, dtype=float)

    def __getitem__(self, index):
        index = index if isinstance(index, tuple) else (index,)
        position = tuple(int(i) - 1 for i in index)
        if any(p < 0 or p >= size for p, size in zip(position, self.array.shape)):
            return 0.0
        return self.array[position]


def read_indexed(text: str) -> str:
    """sum[v=a..b](body) -> sum((body) for v in range(a, b + 1)); [condition] -> (1 if ... else 0)."""
    while "sum[" in text:
        start = text.rindex("sum[")  # innermost first
        head_end = text.index("](", start)
        var, bounds = text[start + 4:head_end].split("=", 1)
        low, high = bounds.split("..")
        depth, pos = 1, head_end + 2
        while depth:
            depth += {"(": 1, ")": -1}.get(text[pos], 0)
            pos += 1
        body = text[head_end + 2:pos - 1]
        text = f"{text[:start]}sum(({body}) for {var} in range({low}, ({high}) + 1)){text[pos:]}"
    return re.sub(r"(?<![\w\]])\[([^\[\]]*<=[^\[\]]*)\]", r"(1 if (\1) else 0)", text)


def check_conv1d(problem, C, L, k, s):
    answers = problem.answers
    x, W = RNG.normal(size=(C, L)), RNG.normal(size=(C, k))
    xt, Wt = t64(x), t64(W)
    f = F.conv1d(xt[None], Wt[None], stride=s)[0, 0]
    out = f.shape[0]
    dl_df = RNG.normal(size=out)
    (f * torch.tensor(dl_df)).sum().backward()
    df_dW = torch.autograd.functional.jacobian(lambda w: F.conv1d(xt.detach()[None], w[None], stride=s)[0, 0], Wt.detach())
    df_dx = torch.autograd.functional.jacobian(lambda v: F.conv1d(v[None], Wt.detach()[None], stride=s)[0, 0], xt.detach())
    names = {"x": OneBased(x), "W": OneBased(W), "dl_df": OneBased(dl_df), "C": C, "L": L, "k": k, "s": s}
    length = answers["output_length"]
    assert (evaluate(read_indexed(length), names) if isinstance(length, str) else length) == out
    read = {name: read_indexed(answers[name]) for name in ("f", "df_dW", "df_dx", "grad_W", "grad_x")}
    value = lambda name, **index: evaluate(read[name], {**names, **index})  # noqa: E731
    close([value("f", i=i) for i in range(1, out + 1)], f.detach(), "f")
    close([[[value("df_dW", i=i, c=c, j=j) for j in range(1, k + 1)] for c in range(1, C + 1)]
           for i in range(1, out + 1)], df_dW, "df_dW")
    close([[[value("df_dx", i=i, c=c, n=n) for n in range(1, L + 1)] for c in range(1, C + 1)]
           for i in range(1, out + 1)], df_dx, "df_dx")
    close([[value("grad_W", c=c, j=j) for j in range(1, k + 1)] for c in range(1, C + 1)], Wt.grad, "grad_W")
    close([[value("grad_x", c=c, n=n) for n in range(1, L + 1)] for c in range(1, C + 1)], xt.grad, "grad_x")


# --- expressions: derivatives of a scalar expression by name, vector or matrix -------------------------


def variable_sizes(wrt) -> dict:
    if isinstance(wrt, str):
        return {wrt: 1}
    if isinstance(wrt, list):
        return {name: 1 for name in wrt}
    return dict(wrt)


def element_names(name: str, size) -> list:
    """w, 2 -> [w1, w2]; W, [3, 2] -> [[W11, W12], [W21, W22], [W31, W32]]; a scalar is itself."""
    if size == 1:
        return name
    if isinstance(size, int):
        return [f"{name}{i}" for i in range(1, size + 1)]
    return [[f"{name}{i}{j}" for j in range(1, size[1] + 1)] for i in range(1, size[0] + 1)]


def check_expression(problem):
    given, answers = problem.given, problem.answers
    expression = given["expression"]
    sizes = variable_sizes(given["wrt"])
    symbols = sorted(set(re.findall(r"[A-Za-z_]\w*", expression)) - {"sigmoid", "log", "exp", "tanh", "sqrt"})
    for point in ([given["at"]] if "at" in given else []) + [None]:
        values = {s: float(RNG.uniform(0.2, 0.8)) for s in symbols}
        if point is not None:
            values.update({k: float(v) for k, v in point.items()})
        leaves = {s: torch.tensor(v, dtype=torch.float64, requires_grad=True) for s, v in values.items()}
        J = eval(expression, {"__builtins__": {}},  # noqa: S307 - the test's own file
                 {"sigmoid": torch.sigmoid, "log": torch.log, "exp": torch.exp, "tanh": torch.tanh, **leaves})
        J.backward()
        grads = {s: leaves[s].grad.item() for s in symbols}
        names = dict(values)
        for prefix in {re.sub(r"\d+$", "", s) for s in symbols if re.search(r"\d$", s)}:
            numbered = sorted((s for s in symbols if re.fullmatch(rf"{prefix}\d+", s)), key=lambda s: int(s[len(prefix):]))
            size = sizes.get(prefix)
            if isinstance(size, list):
                names[prefix] = np.array([[values[n] for n in row] for row in element_names(prefix, size)])
            else:
                names[prefix] = np.array([values[n] for n in numbered])
        for var, size in sizes.items():
            elements = element_names(var, size)
            expected = np.vectorize(lambda e: grads[e])(np.array(elements, dtype=object)).astype(float)
            if point is not None:
                close(answers[f"value_{var}"], expected, f"{problem.id}.value_{var}")
                continue
            got = answers[f"grad_{var}"]
            actual = np.vectorize(lambda text: float(evaluate(text, names)))(np.array(got, dtype=object))
            close(actual, expected, f"{problem.id}.grad_{var}")
            if f"grad_{var}_matrix" in answers:
                close(np.asarray(evaluate(answers[f"grad_{var}_matrix"], names), dtype=float).reshape(expected.shape),
                      expected, f"{problem.id}.grad_{var}_matrix")


# Pinned elsewhere as exact strings against their hand-derived forms (tests/kinds/test_derive.py).
GATED_RNN_PINNED_IN = "tests/kinds/test_derive.py::test_course_gated_rnn"


@pytest.mark.parametrize("key", library_keys("derive"))
def test_derive_problems_evaluate_to_autograd(library, key):
    problem = library[key]
    assert problem.error is None, problem.error
    given = problem.given
    if "expression" in given:
        check_expression(problem)
    elif given["template"] == "conv1d-gradients":
        sizes = given.get("sizes") or {}
        numeric = {name: sizes[name] for name in ("C", "L", "k", "s") if isinstance(sizes.get(name), int)}
        for C, L, k, s in ((2, 5, 3, 2), (3, 9, 2, 3), (1, 7, 4, 1)):
            picked = {"C": C, "L": L, "k": k, "s": s, **numeric}
            check_conv1d(problem, **picked)
            if numeric:
                break
    elif given["template"] in TEMPLATE_ORACLES or given["template"] == "lstm-cell":
        check_template(problem)
    else:
        # A template without an oracle here must be pinned by its id in the kind's own tests.
        pinned = any(f'"{problem.id}"' in path.read_text(encoding="utf-8")
                     for path in (REPO / "tests" / "kinds").glob("test_derive*.py"))
        assert pinned, f"{key}: template {given['template']!r} has no oracle here and no test pins it by id"
        pytest.skip(f"template {given['template']} pinned by id in tests/kinds (e.g. {GATED_RNN_PINNED_IN})")


# --- custom recurrent cells ---------------------------------------------------------------------------


def gated_cell(params, h0, inputs):
    """The course's cell: c = σ(W_c x + W_h h_prev), h = c ⊙ h_prev + (1 − c) ⊙ W_x x."""
    h, states = h0, {}
    for t, x in enumerate(inputs, start=1):
        c = torch.sigmoid(params["W_c"] @ x + params["W_h"] @ h)
        h = c * h + (1 - c) * (params["W_x"] @ x)
        states[f"c{t}"], states[f"h{t}"] = c, h
    return states


def minimal_gated_unit(params, h0, inputs):
    h, states = h0, {}
    for t, x in enumerate(inputs, start=1):
        f = torch.sigmoid(params["W_f"] @ x + params["U_f"] @ h + params["b_f"])
        g = torch.tanh(params["W_g"] @ x + params["U_g"] @ (f * h) + params["b_g"])
        h = (1 - f) * h + f * g
        states[f"f{t}"], states[f"g{t}"], states[f"h{t}"] = f, g, h
    return states


CUSTOM_CELLS = {
    "examples/rnn-custom-cells.yaml::gated-cell-numbers": gated_cell,
    "examples/rnn-custom-cells.yaml::gated-cell-bptt": gated_cell,
    "examples/rnn-custom-cells.yaml::minimal-gated-unit": minimal_gated_unit,
}

# The course's cell with symbolic sizes only: c = σ(W_c x + W_h h) has as many rows as W_c, m.
CUSTOM_DIMENSIONS = {
    "course/002-cnn-rnn-theory.yaml::1.2a-gated-rnn-diagram": {"shape_c": ["m"], "shape_h": ["m"]},
    "course/002-cnn-rnn-theory.yaml::1.2b-gated-rnn-dimensions": {"shape_c": ["m"]},
}


@pytest.mark.parametrize("key", library_keys("rnn", where=is_custom_cell))
def test_custom_cells_against_pytorch(library, key):
    problem = library[key]
    assert problem.error is None, problem.error
    if key in CUSTOM_DIMENSIONS:
        for name, value in CUSTOM_DIMENSIONS[key].items():
            assert problem.answers[name] == value
        return
    assert key in CUSTOM_CELLS, f"{key}: a custom cell with no PyTorch twin here"
    given = problem.given
    params = {name: t64(value) for name, value in given["params"].items()}
    inputs = [torch.tensor(np.atleast_1d(np.asarray(x, dtype=float))) for x in given["inputs"]]
    hidden = next(v for k, v in params.items() if k.startswith(("W_h", "U_"))).shape[0]
    h0 = torch.tensor(given.get("h0", [0.0] * hidden), dtype=torch.float64)
    states = CUSTOM_CELLS[key](params, h0, inputs)
    for name, value in states.items():
        close(problem.answers[name], value.detach(), f"{problem.id}.{name}")
    if "loss" in given:
        assert given["loss"] == "half-sse"
        J = sum(0.5 * ((torch.tensor(target, dtype=torch.float64) - states[f"h{t}"]) ** 2).sum()
                for t, target in enumerate(given["targets"], start=1) if target is not None)
        grads = torch.autograd.grad(J, list(params.values()))
        close(problem.answers["J"], J.item(), "J")
        for name, grad in zip(params, grads):
            close(problem.answers[f"grad_{name}"], grad, f"{problem.id}.grad_{name}")
