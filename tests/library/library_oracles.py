"""Independent oracles for the library's problems, one function per kind.

Each oracle reads a problem's `given` exactly as written in its YAML file and computes what the
answers must be with other means than dlsolve's kind code: PyTorch layers, autograd and
optimisers, NumPy, the closed-form formulas written out here, and truth tables. None of them
imports anything from `solver`.
"""

from __future__ import annotations

import functools
import math
import re

import numpy as np
import torch
import torch.nn.functional as F


def in_float64(function):
    """Run an oracle with float64 as torch's default dtype, and restore the caller's default
    afterwards (other tests in the same session keep theirs)."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        previous = torch.get_default_dtype()
        torch.set_default_dtype(torch.float64)
        try:
            return function(*args, **kwargs)
        finally:
            torch.set_default_dtype(previous)

    return wrapper


# --- shared helpers -------------------------------------------------------------------------------


def assert_close(actual, expected, rtol=1e-9, atol=1e-12, what=""):
    actual = np.asarray(actual, dtype=float)
    expected = np.asarray(expected, dtype=float)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, err_msg=what)


def as_list(value) -> list:
    """An int, a list, or an inclusive range "a..b" as a list."""
    if isinstance(value, str) and ".." in value:
        low, high = value.split("..")
        return list(range(int(low), int(high) + 1))
    return list(value) if isinstance(value, (list, tuple)) else [value]


def parse_shape_text(value) -> list:
    """'12x55x55', '3×32×32', '3,32,32', 49 or [3, 32, 32] as a list (symbols stay strings)."""
    if isinstance(value, (list, tuple)):
        return list(value)
    if isinstance(value, int):
        return [value]
    parts = re.split(r"[x×,]", str(value))
    return [int(p) if p.strip().lstrip("-").isdigit() else p.strip() for p in parts]


def round_half_away(value: float, decimals: int) -> float:
    """Hand rounding: half away from zero, on the decimal value (as a person writes it)."""
    from decimal import ROUND_HALF_UP, Decimal

    return float(Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP))


def hand_round(values, decimals: int):
    return np.vectorize(lambda v: round_half_away(v, decimals), otypes=[float])(np.asarray(values, dtype=float))


# --- posenc ---------------------------------------------------------------------------------------


def posenc(given: dict):
    """PE(pos, 2i) = sin(pos / base^(2i/d)), PE(pos, 2i+1) = cos(...) — or sin and cos halves."""
    d = given["d_model"]
    base = given.get("base", 10000)
    layout = given.get("layout", "interleaved")
    dims = as_list(given.get("dims", f"0..{d - 1}"))

    def value(pos, dim):
        if layout == "interleaved":
            angle = pos / base ** (2 * (dim // 2) / d)
            return math.sin(angle) if dim % 2 == 0 else math.cos(angle)
        half = d // 2
        if dim < half:
            return math.sin(pos / base ** (2 * dim / d))
        return math.cos(pos / base ** (2 * (dim - half) / d))

    positions = as_list(given["pos"])
    rows = [[value(p, k) for k in dims] for p in positions]
    several = isinstance(given["pos"], list) or (isinstance(given["pos"], str) and ".." in given["pos"])
    return {"PE": rows if several else rows[0]}


# --- activation -----------------------------------------------------------------------------------


@in_float64
def activation(given: dict):
    name = given["function"]
    points = torch.tensor([float(p) for p in given["points"]], requires_grad=True)
    if name == "softmax":
        value = torch.softmax(points, 0)
        jacobian = torch.autograd.functional.jacobian(lambda z: torch.softmax(z, 0), points.detach())
        return {"value": value.tolist(), "derivative": jacobian.tolist()}
    alpha = given.get("alpha")
    functions = {
        "relu": torch.relu,
        "leaky-relu": lambda z: F.leaky_relu(z, 0.01 if alpha is None else alpha),
        "elu": lambda z: F.elu(z, 1.0 if alpha is None else alpha),
        "gelu": lambda z: z * torch.sigmoid(1.702 * z),
        "gelu-exact": F.gelu,
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
    }
    value = functions[name](points)
    (derivative,) = torch.autograd.grad(value.sum(), points)
    return {"value": value.tolist(), "derivative": derivative.tolist()}


# --- batchnorm ------------------------------------------------------------------------------------


@in_float64
def batchnorm(given: dict):
    """torch.nn.BatchNorm1d in training or evaluation mode with the given statistics."""
    x = torch.tensor(given["x"], dtype=torch.float64)
    one_feature = x.dim() == 1
    x2 = x.reshape(-1, 1) if one_feature else x
    features = x2.shape[1]
    layer = torch.nn.BatchNorm1d(features, eps=given.get("eps", 1e-5), momentum=given.get("momentum", 0.1))
    with torch.no_grad():
        layer.weight.copy_(torch.as_tensor(given.get("gamma", 1), dtype=torch.float64).expand(features))
        layer.bias.copy_(torch.as_tensor(given.get("beta", 0), dtype=torch.float64).expand(features))
        if "running_mean" in given:
            layer.running_mean.copy_(torch.tensor(given["running_mean"], dtype=torch.float64))
            layer.running_var.copy_(torch.tensor(given["running_var"], dtype=torch.float64))
    training = given.get("training", True)
    layer.train(training)
    with torch.no_grad():
        y = layer(x2)
    if training:
        mean, var = x2.mean(0), x2.var(0, unbiased=False)
    else:
        mean, var = torch.tensor(given["running_mean"]), torch.tensor(given["running_var"])
    x_hat = (x2 - mean) / torch.sqrt(var + layer.eps)

    def shaped(t):
        return t.reshape(-1).tolist() if one_feature else t.tolist()

    expected = {"mean": mean.tolist()[0] if one_feature else mean.tolist(),
                "var": var.tolist()[0] if one_feature else var.tolist(),
                "x_hat": shaped(x_hat), "y": shaped(y)}
    if training and "running_mean" in given:
        expected["running_mean_new"] = layer.running_mean.tolist()
        expected["running_var_new"] = layer.running_var.tolist()
    return expected


# --- attention ------------------------------------------------------------------------------------


def attention(given: dict):
    """softmax(QKᵀ/√d_k)V per head (head h takes the h-th block of columns), then ·Wo."""
    if "X" in given:
        X = np.array(given["X"], dtype=float)
        Q, K, V = (X @ np.array(given[w], dtype=float) for w in ("Wq", "Wk", "Wv"))
    else:
        Q, K, V = (np.array(given[m], dtype=float) for m in ("Q", "K", "V"))
    heads = given.get("heads", 1)
    mask = given.get("mask")
    if mask == "causal":
        allowed = np.tril(np.ones((Q.shape[0], K.shape[0]), dtype=bool))
    elif mask is not None:
        allowed = np.array(mask, dtype=bool)
    else:
        allowed = np.ones((Q.shape[0], K.shape[0]), dtype=bool)
    dq, dv = Q.shape[1] // heads, V.shape[1] // heads
    scores, scaled, weights, outputs = [], [], [], []
    for h in range(heads):
        q, k, v = Q[:, h * dq:(h + 1) * dq], K[:, h * dq:(h + 1) * dq], V[:, h * dv:(h + 1) * dv]
        s = q @ k.T
        z = s / math.sqrt(dq)
        masked = np.where(allowed, z, -np.inf)
        e = np.exp(masked - masked.max(axis=1, keepdims=True))
        a = e / e.sum(axis=1, keepdims=True)
        scores.append(s), scaled.append(z), weights.append(a), outputs.append(a @ v)
    output = np.concatenate(outputs, axis=1)
    if "Wo" in given:
        output = output @ np.array(given["Wo"], dtype=float)
    if heads == 1:
        return {"scores": scores[0], "scaled": scaled[0], "weights": weights[0], "output": output}
    return {"scores": scores, "scaled": scaled, "weights": weights, "output": output}


# --- gate -----------------------------------------------------------------------------------------

GATES = {
    "AND": lambda a, b: a & b, "OR": lambda a, b: a | b, "NAND": lambda a, b: 1 - (a & b),
    "NOR": lambda a, b: 1 - (a | b), "XOR": lambda a, b: a ^ b, "XNOR": lambda a, b: 1 - (a ^ b),
}


def gate_rows(gate: str) -> list[list[int]]:
    """[inputs..., output] for every input combination, from Python's bit operators."""
    if gate == "NOT":
        return [[a, 1 - a] for a in (0, 1)]
    return [[a, b, GATES[gate](a, b)] for a in (0, 1) for b in (0, 1)]


def run_gate_network(layers: list[tuple], inputs: list[int], activation: str) -> int:
    """The network's answer: 1 when the output unit's pre-activation is ≥ 0. Hidden units give
    σ(u) (sigmoid) or [u ≥ 0] (step). W is inputs × units."""
    h = np.array(inputs, dtype=float)
    for index, (W, b) in enumerate(layers):
        u = h @ np.array(W, dtype=float) + np.array(b, dtype=float).reshape(-1)
        if index == len(layers) - 1:
            return int(u[0] >= 0)
        h = 1 / (1 + np.exp(-u)) if activation == "sigmoid" else (u >= 0).astype(float)
    raise AssertionError("empty network")


def gate_table(layers, gate: str, activation: str) -> list[list[int]]:
    return [row[:-1] + [run_gate_network(layers, row[:-1], activation)] for row in gate_rows(gate)]


# --- conv-shape and conv-design ---------------------------------------------------------------------


def torch_conv_output(spatial: list[int], kernel: int, stride=1, padding=0, dilation=1, op="conv",
                      ceil_mode=False, output_padding=0) -> list[int]:
    """Spatial output size from PyTorch's own layers, run on a meta tensor (shapes only)."""
    dims = len(spatial)
    x = torch.empty(1, 1, *spatial, device="meta")
    if op == "conv":
        layer = getattr(torch.nn, f"Conv{dims}d")(1, 1, kernel, stride, padding, dilation, device="meta")
    elif op == "transposed-conv":
        layer = getattr(torch.nn, f"ConvTranspose{dims}d")(1, 1, kernel, stride, padding, output_padding,
                                                           dilation=dilation, device="meta")
    else:
        layer = getattr(torch.nn, f"MaxPool{dims}d")(kernel, stride, padding, dilation, ceil_mode=ceil_mode)
    try:
        return list(layer(x).shape[2:])
    except RuntimeError:  # PyTorch refuses sizes below 1
        return [0] * dims


def split_conv_input(shape: list) -> tuple[object, list]:
    """(channels or None, spatial sizes): one or two numbers are spatial, three are C×H×W."""
    if len(shape) >= 3:
        return shape[0], shape[1:]
    return None, shape


def conv_shape_numeric(given: dict, **overrides) -> list:
    """The output shape (channels first when known) of a fully numeric conv-shape problem."""
    settings = {**given, **overrides}
    channels, spatial = split_conv_input(parse_shape_text(settings["input"]))
    op = settings.get("op", "conv")
    padding = settings.get("padding", 0)
    out = torch_conv_output(spatial, settings["kernel"], settings.get("stride", 1),
                            0 if padding == "valid" else padding, settings.get("dilation", 1), op,
                            settings.get("ceil_mode", False), settings.get("output_padding", 0))
    filters = settings.get("filters")
    if filters is not None and op != "pool":
        return [filters, *out]
    return [channels, *out] if channels is not None else out


# --- convolve -------------------------------------------------------------------------------------


def nesting(value) -> int:
    depth = 0
    while isinstance(value, list):
        depth, value = depth + 1, value[0]
    return depth


@in_float64
def convolve(given: dict) -> dict:
    """Every layer's map from torch.nn.functional (conv1d/2d, pooling, activations)."""
    x = given["input"]
    layers = given.get("layers") or [{"type": "conv", **{k: given[k] for k in
                                      ("filters", "bias", "stride", "padding", "dilation") if k in given}}]
    depth = nesting(x)
    first_filters = next(layer["filters"] for layer in layers if layer["type"] == "conv")
    if depth == 1:
        dims, t = 1, torch.tensor([x], dtype=torch.float64)
    elif depth == 3:
        dims, t = 2, torch.tensor(x, dtype=torch.float64)
    elif given.get("dims") is not None:
        dims = given["dims"]
        t = torch.tensor(x if dims == 1 else [x], dtype=torch.float64)
    else:  # C×L when the filters are F×C×K with C = the number of rows, else one H×W map
        multi = nesting(first_filters) == 3 and len(first_filters[0]) == len(x) \
            and len(first_filters[0]) != len(first_filters[0][0])
        dims = 1 if multi else 2
        t = torch.tensor(x if multi else [x], dtype=torch.float64)
    t = t.unsqueeze(0)  # batch of one
    answers = {}
    for index, layer in enumerate(layers, start=1):
        t = apply_layer(t, layer, dims, given.get("flip", False))
        answers[f"out{index}"] = t[0].tolist()
    return answers


def filter_bank(filters, channels: int, dims: int) -> torch.Tensor:
    """F×C×K(×K) weights; a filter written without its depth is used at every depth."""
    if nesting(filters) == dims:  # one filter written alone
        filters = [filters]
    bank = []
    for f in filters:
        w = torch.tensor(f, dtype=torch.float64)
        if w.dim() == dims:
            w = w.expand(channels, *w.shape)
        bank.append(w)
    return torch.stack(bank)


def same_padding(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """TF/Keras SAME: output ⌈size/stride⌉, the odd pixel on the right."""
    out = -(-size // stride)
    total = max((out - 1) * stride + dilation * (kernel - 1) + 1 - size, 0)
    return total // 2, total - total // 2


def apply_layer(t: torch.Tensor, layer: dict, dims: int, flip: bool) -> torch.Tensor:
    kind = layer["type"]
    if kind == "conv":
        w = filter_bank(layer["filters"], t.shape[1], dims)
        if flip:
            w = torch.flip(w, dims=list(range(2, 2 + dims)))
        stride, dilation = layer.get("stride", 1), layer.get("dilation", 1)
        kernel = w.shape[-1]
        padding = layer.get("padding", 0)
        pads = []
        for size in reversed(t.shape[2:]):  # F.pad lists the last dimension first
            if padding == "same":
                pads += list(same_padding(size, kernel, stride, dilation))
            elif padding == "full":
                pads += [dilation * (kernel - 1)] * 2
            elif padding == "valid":
                pads += [0, 0]
            else:
                pads += [padding, padding]
        t = F.pad(t, pads)
        conv = F.conv1d if dims == 1 else F.conv2d
        bias = torch.as_tensor(layer.get("bias", 0), dtype=torch.float64).expand(w.shape[0]).clone()
        return conv(t, w, bias, stride=stride, dilation=dilation)
    if kind in ("maxpool", "avgpool"):
        kernel = layer.get("kernel", layer.get("size"))
        stride = layer.get("stride", kernel)
        pool = {("maxpool", 1): F.max_pool1d, ("maxpool", 2): F.max_pool2d,
                ("avgpool", 1): F.avg_pool1d, ("avgpool", 2): F.avg_pool2d}[(kind, dims)]
        return pool(t, kernel, stride, layer.get("padding", 0), ceil_mode=layer.get("ceil_mode", False))
    alpha = layer.get("alpha")
    activations = {"relu": torch.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh,
                   "leaky-relu": lambda z: F.leaky_relu(z, 0.01 if alpha is None else alpha),
                   "elu": lambda z: F.elu(z, 1.0 if alpha is None else alpha),
                   "gelu": lambda z: z * torch.sigmoid(1.702 * z), "gelu-exact": F.gelu}
    return activations[kind](t)


# --- optimize -------------------------------------------------------------------------------------

PRESETS = {
    "gelu": lambda v: v[0] * torch.sigmoid(1.702 * v[0]),
    "gelu-exact": lambda v: F.gelu(v[0]),
    "relu": lambda v: torch.relu(v[0]),
    "sigmoid": lambda v: torch.sigmoid(v[0]),
    "tanh": lambda v: torch.tanh(v[0]),
    "rosenbrock": lambda v: (1 - v[0]) ** 2 + 100 * (v[1] - v[0] ** 2) ** 2,
    "himmelblau": lambda v: (v[0] ** 2 + v[1] - 11) ** 2 + (v[0] + v[1] ** 2 - 7) ** 2,
    "booth": lambda v: (v[0] + 2 * v[1] - 7) ** 2 + (2 * v[0] + v[1] - 5) ** 2,
    "sphere": lambda v: v[0] ** 2 + v[1] ** 2,
}


def objective(given: dict):
    """f as a function of a 1-D tensor of the variables, and the variable names in order."""
    f = given["f"]
    alpha = given.get("alpha")
    if f == "elu":
        return (lambda v: F.elu(v[0], 1.0 if alpha is None else alpha)), ["x"]
    if f == "leaky-relu":
        return (lambda v: F.leaky_relu(v[0], 0.01 if alpha is None else alpha)), ["x"]
    if f in PRESETS:
        names = ["x", "y"] if f in ("rosenbrock", "himmelblau", "booth", "sphere") else ["x"]
        return PRESETS[f], names
    import sympy  # the test's own reading of a plain expression (the file is ours, not untrusted)

    expr = sympy.parse_expr(str(f).replace("^", "**"), local_dict={"sigmoid": sympy.Function("sigmoid")})
    names = given.get("variables") or sorted(str(s) for s in expr.free_symbols)
    function = sympy.lambdify([sympy.Symbol(n) for n in names], expr,
                              modules=[{"sigmoid": torch.sigmoid, "exp": torch.exp, "tanh": torch.tanh,
                                        "log": torch.log, "sqrt": torch.sqrt, "sin": torch.sin, "cos": torch.cos},
                                       "math"])
    return (lambda v: function(*[v[i] for i in range(len(names))])), names


def optimizer_for(settings: dict, params, lr: float):
    method = settings.get("method", "gd")
    beta = settings.get("beta", 0.9)
    eps = settings.get("eps", 1e-8)
    form = settings.get("momentum_form", "ema")
    v0 = settings.get("v0", "gradient")
    wd = settings.get("weight_decay", 0.0)
    if method in ("gd", "sgd"):
        return torch.optim.SGD(params, lr=lr, weight_decay=wd)
    if method in ("momentum", "nesterov"):
        # ema with v0 = f′(x0) is SGD(momentum=β, dampening=β); classic with v0 = 0 is plain SGD(momentum=β).
        assert (form, v0) in (("ema", "gradient"), ("classic", "zero")), "no torch.optim twin"
        return torch.optim.SGD(params, lr=lr, momentum=beta, dampening=beta if form == "ema" else 0,
                               nesterov=method == "nesterov", weight_decay=wd)
    if method == "adagrad":
        return torch.optim.Adagrad(params, lr=lr, eps=eps, weight_decay=wd)
    if method == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, alpha=beta, eps=eps, weight_decay=wd)
    if method == "adam":
        return torch.optim.Adam(params, lr=lr, betas=(beta, settings.get("beta2", 0.999)), eps=eps, weight_decay=wd)
    if method == "adamw":
        return torch.optim.AdamW(params, lr=lr, betas=(beta, settings.get("beta2", 0.999)), eps=eps, weight_decay=wd)
    raise AssertionError(method)


def scheduler_for(settings: dict, opt):
    """torch.optim.lr_scheduler's twin of `lr_schedule` (None without one)."""
    spec = settings.get("lr_schedule")
    if spec is None:
        return None
    schedulers = torch.optim.lr_scheduler
    if spec["type"] == "step":
        return schedulers.StepLR(opt, spec["step_size"], spec.get("gamma", 0.1))
    if spec["type"] == "exponential":
        return schedulers.ExponentialLR(opt, spec["gamma"])
    if spec["type"] == "cosine":
        return schedulers.CosineAnnealingLR(opt, spec.get("t_max", settings.get("steps", 3)), spec.get("eta_min", 0))
    warmup = spec["warmup_steps"]
    return schedulers.LambdaLR(opt, lambda epoch: min(1.0, (epoch + 1) / warmup))


def optimize_run(given: dict, settings: dict) -> dict:
    """x_t, f(x_t), f′(x_t) for t = 0…steps, stepping with torch.optim on autograd gradients."""
    function, names = objective(given)
    x0 = settings["x0"]
    if isinstance(x0, dict):
        x0 = [x0[n] for n in names]
    several = isinstance(x0, list)
    x = torch.tensor(x0 if several else [x0], dtype=torch.float64, requires_grad=True)
    opt = optimizer_for(settings, [x], settings["lr"])
    scheduler = scheduler_for(settings, opt)
    out = {}
    for t in range(settings.get("steps", 3) + 1):
        opt.zero_grad()
        value = function(x)
        value.backward()
        out[f"x{t}"] = x.detach().tolist() if several else x.item()
        out[f"f{t}"] = value.item()
        out[f"grad{t}"] = x.grad.tolist() if several else x.grad.item()
        if scheduler is not None and t < settings.get("steps", 3):
            out[f"lr{t + 1}"] = opt.param_groups[0]["lr"]
        opt.step()
        if scheduler is not None:
            scheduler.step()
    return out


@in_float64
def optimize(given: dict) -> dict:
    shared = {k: v for k, v in given.items() if k != "runs"}
    if "runs" not in given:
        return optimize_run(given, shared)
    expected = {}
    for k, run in enumerate(given["runs"], start=1):
        for name, value in optimize_run(given, {**shared, **run}).items():
            expected[f"run{k}.{name}"] = value
    return expected


# --- backprop -------------------------------------------------------------------------------------

ACTIVATIONS = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu,
               "linear": lambda u: u, "softmax": lambda u: torch.softmax(u, 0)}


def _targets(given: dict, outputs: int) -> torch.Tensor:
    target = given["target"]
    if given.get("loss") == "ce" and isinstance(target, int) and outputs > 1:
        return F.one_hot(torch.tensor(target), outputs).to(torch.float64)
    return torch.tensor(target if isinstance(target, list) else [target], dtype=torch.float64)


def loss_value(name: str, y: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
    if name == "bce":
        return -(d * torch.log(y) + (1 - d) * torch.log(1 - y)).sum()
    if name == "ce":
        return -(d * torch.log(y)).sum()
    if name == "mse":
        return ((d - y) ** 2).mean()
    if name == "sse":
        return ((d - y) ** 2).sum()
    if name == "half-sse":
        return 0.5 * ((d - y) ** 2).sum()
    raise AssertionError(name)


def _is_batch(given: dict) -> bool:
    """A list of input rows, not one row and not one column of the first layer's inputs."""
    x = np.array(given["x"], dtype=float)
    if x.ndim < 2 or x.shape[0] == 1:
        return False
    W = np.array(given["layers"][0]["W"], dtype=float)
    n_in = W.shape[1] if given.get("weights", "in_out") == "out_in" else W.shape[0]
    return not (x.shape[1] == 1 and x.shape[0] == n_in)


@in_float64
def backprop_batch(given: dict) -> dict:
    """A mini-batch through nn.Linear layers; J the mean (or sum) of per-sample losses; autograd."""
    out_in = given.get("weights", "in_out") == "out_in"
    h = torch.tensor(given["x"], dtype=torch.float64)
    linears, us, hs = [], [], []
    for layer in given["layers"]:
        W = torch.tensor(layer["W"], dtype=torch.float64)
        weight = W if out_in else W.T
        linear = torch.nn.Linear(weight.shape[1], weight.shape[0], dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(weight)
            linear.bias.copy_(torch.as_tensor(layer.get("b", 0), dtype=torch.float64).expand(weight.shape[0]))
        u = linear(h)
        u.retain_grad()
        name = layer.get("activation", "sigmoid")
        h = torch.softmax(u, 1) if name == "softmax" else ACTIVATIONS[name](u)
        linears.append(linear), us.append(u), hs.append(h)
    n, k = h.shape
    d = torch.tensor(given["target"], dtype=torch.float64)
    if d.dim() == 1:
        d = F.one_hot(d.long(), k).to(torch.float64) if given.get("loss") == "ce" and k > 1 else d.reshape(n, 1)
    losses = torch.stack([loss_value(given.get("loss", "mse"), h[i], d[i]) for i in range(n)])
    J = losses.sum() if given.get("reduction") == "sum" else losses.mean()
    J.backward()
    expected = {"J": J.item(), "y": h.tolist()}
    for l, (linear, u, a) in enumerate(zip(linears, us, hs), start=1):
        grad_W = linear.weight.grad if out_in else linear.weight.grad.T
        expected[f"u{l}"], expected[f"h{l}"], expected[f"delta{l}"] = u.tolist(), a.tolist(), u.grad.tolist()
        expected[f"grad_W{l}"], expected[f"grad_b{l}"] = grad_W.tolist(), per_unit(linear.bias.grad)
        if "lr" in given:
            W = torch.tensor(given["layers"][l - 1]["W"], dtype=torch.float64)
            expected[f"W{l}_new"] = (W - given["lr"] * grad_W).tolist()
            expected[f"b{l}_new"] = per_unit(linear.bias.detach() - given["lr"] * linear.bias.grad)
    return expected


@in_float64
def backprop(given: dict) -> dict:
    """One forward and backward pass in PyTorch; every gradient from autograd."""
    if _is_batch(given):
        return backprop_batch(given)
    out_in = given.get("weights", "in_out") == "out_in"
    h = torch.tensor(given["x"], dtype=torch.float64)
    weights, biases, us, hs = [], [], [], []
    for layer in given["layers"]:
        W = torch.tensor(layer["W"], dtype=torch.float64, requires_grad=True)
        units = W.shape[0] if out_in else W.shape[1]
        b = torch.as_tensor(layer.get("b", 0), dtype=torch.float64).expand(units).clone().requires_grad_(True)
        u = (W @ h if out_in else W.T @ h) + b
        u.retain_grad()
        h = ACTIVATIONS[layer.get("activation", "sigmoid")](u)
        weights.append(W), biases.append(b), us.append(u), hs.append(h)
    d = _targets(given, h.shape[0])
    J = loss_value(given.get("loss", "mse"), h, d)
    J.backward()
    expected = {"J": J.item(), "y": per_unit(h)}
    for l, (W, b, u, a, layer) in enumerate(zip(weights, biases, us, hs, given["layers"]), start=1):
        expected[f"u{l}"], expected[f"h{l}"] = per_unit(u), per_unit(a)
        expected[f"delta{l}"] = per_unit(u.grad)
        expected[f"grad_W{l}"], expected[f"grad_b{l}"] = W.grad.tolist(), per_unit(b.grad)
        function = ACTIVATIONS[layer.get("activation", "sigmoid")]
        jacobian = torch.autograd.functional.jacobian(function, u.detach())
        expected[f"fprime{l}"] = jacobian.tolist() if layer.get("activation") == "softmax" \
            else per_unit(torch.diagonal(jacobian))
        if "lr" in given:
            expected[f"W{l}_new"] = (W - given["lr"] * W.grad).tolist()
            expected[f"b{l}_new"] = per_unit(b - given["lr"] * b.grad)
    return expected


def per_unit(t: torch.Tensor):
    """A layer's vector as a list — a single number for a one-unit layer, as the key writes it."""
    t = t.detach()
    return t.item() if t.numel() == 1 else t.tolist()


def backprop_hand_rounded(given: dict, decimals: int) -> dict:
    """The same pass as a person does it on paper: every named quantity rounded (half away
    from zero) as soon as it is written down and used rounded; tanh′ = 1 − h² from the rounded
    h; the output delta of sigmoid + bce is y − d. Plain NumPy, weights in_out."""
    r = lambda v: hand_round(v, decimals)  # noqa: E731
    h = np.array(given["x"], dtype=float)
    inputs, us, hs, fprimes = [], [], [], []
    for layer in given["layers"]:
        W = np.array(layer["W"], dtype=float)
        b = np.broadcast_to(np.array(layer.get("b", 0), dtype=float), (W.shape[1],))
        inputs.append(h)
        u = r(W.T @ h + b)
        act = layer["activation"]
        h = r(np.tanh(u) if act == "tanh" else 1 / (1 + np.exp(-u)))
        us.append(u), hs.append(h), fprimes.append(r(1 - h ** 2) if act == "tanh" else None)
    d = np.array(given["target"] if isinstance(given["target"], list) else [given["target"]], dtype=float)
    assert given["loss"] == "bce" and given["layers"][-1]["activation"] == "sigmoid"
    J = r(-(d * np.log(h) + (1 - d) * np.log(1 - h)).sum())
    deltas = [None] * len(us)
    deltas[-1] = r(h - d)
    for l in range(len(us) - 2, -1, -1):
        W_next = np.array(given["layers"][l + 1]["W"], dtype=float)
        deltas[l] = r((W_next @ deltas[l + 1]) * fprimes[l])
    single = lambda v: float(v[0]) if v.size == 1 else v  # noqa: E731
    expected = {"y": single(h), "J": J}
    for l in range(len(us)):
        n = l + 1
        expected.update({f"u{n}": single(us[l]), f"h{n}": single(hs[l]), f"delta{n}": single(deltas[l]),
                         f"grad_W{n}": r(np.outer(inputs[l], deltas[l])), f"grad_b{n}": single(deltas[l])})
        if fprimes[l] is not None:
            expected[f"fprime{n}"] = fprimes[l]
    return expected


# --- rnn ------------------------------------------------------------------------------------------


def _vector(value, size=None) -> torch.Tensor:
    t = torch.as_tensor(value, dtype=torch.float64)
    if t.dim() == 0:
        t = t.expand(size if size is not None else 1).clone()
    return t


def _weight(value, out_in: bool) -> torch.Tensor:
    """A weight matrix as out × in (what multiplies a column vector)."""
    W = torch.as_tensor(value, dtype=torch.float64)
    return W if out_in else W.T


def _torch_layer_weights(entry: dict, cell: str, out_in: bool) -> dict:
    """One layer and direction of a `stack` entry as nn.RNN / nn.LSTM / nn.GRU parameters."""
    if cell == "elman":
        W_ih, W_hh = _weight(entry["U"], out_in), _weight(entry["W"], out_in)
        H = W_ih.shape[0]
        return {"weight_ih": W_ih, "weight_hh": W_hh, "bias_ih": _vector(entry.get("b", 0), H),
                "bias_hh": torch.zeros(H, dtype=torch.float64)}
    names = "ifgo" if cell == "lstm" else "rzn"
    gates = entry["gates"]
    H = _weight(gates[names[0]]["U"], out_in).shape[0]
    bias_hh = [torch.zeros(H, dtype=torch.float64) for _ in names]
    if cell == "gru":
        bias_hh[2] = _vector(gates["n"].get("b_hn", 0), H)
    return {"weight_ih": torch.cat([_weight(gates[g]["U"], out_in) for g in names]),
            "weight_hh": torch.cat([_weight(gates[g]["W"], out_in) for g in names]),
            "bias_ih": torch.cat([_vector(gates[g].get("b", 0), H) for g in names]), "bias_hh": torch.cat(bias_hh)}


@in_float64
def rnn_stacked(given: dict) -> dict:
    """Stacked and bidirectional layers, one nn.RNN / nn.LSTM / nn.GRU layer at a time (its
    output, [h→; h←] when bidirectional, is the next layer's input sequence)."""
    cell, out_in = given["cell"], given.get("weights", "in_out") == "out_in"
    both = bool(given.get("bidirectional"))
    entries = given.get("stack") or [{k: v for k, v in given.items() if k in ("U", "W", "b", "gates", "h0", "c0",
                                                                             "backward")}]
    several = len(entries) > 1
    sequence = torch.tensor([x if isinstance(x, list) else [x] for x in given["inputs"]], dtype=torch.float64)
    expected = {}
    for l, entry in enumerate(entries, start=1):
        directions = [entry] + ([entry["backward"]] if both else [])
        params = [_torch_layer_weights(e, cell, out_in) for e in directions]
        H = params[0]["weight_hh"].shape[1]
        module_type = {"elman": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell]
        extra = {"nonlinearity": (given.get("activations") or {}).get("hidden", "tanh")} if cell == "elman" else {}
        module = module_type(sequence.shape[1], H, 1, bidirectional=both, dtype=torch.float64, **extra)
        state = {f"{name}_l0{'_reverse' if k else ''}": value
                 for k, p in enumerate(params) for name, value in p.items()}
        module.load_state_dict(state)
        h0 = torch.stack([_vector(e.get("h0", 0), H) for e in directions])[:, None]
        initial = (h0, torch.stack([_vector(e.get("c0", 0), H) for e in directions])[:, None]) if cell == "lstm" else h0
        with torch.no_grad():
            output, final = module(sequence[:, None], initial)
        prefix = f"layer{l}." if several else ""
        for t in range(sequence.shape[0]):
            expected[f"{prefix}h{t + 1}"] = output[t, 0, :H].tolist()
            if both:
                expected[f"{prefix}backward.h{t + 1}"] = output[t, 0, H:].tolist()
        sequence = output[:, 0]
    return expected


@in_float64
def rnn(given: dict) -> dict:
    """Elman, Jordan, LSTM and GRU cells step by step in PyTorch (torch.nn.LSTMCell / GRUCell for
    the gated ones); J and every weight gradient from autograd."""
    if "stack" in given or given.get("bidirectional"):
        return rnn_stacked(given)
    cell = given["cell"]
    out_in = given.get("weights", "in_out") == "out_in"
    acts = {"hidden": "tanh", "output": "linear", **(given.get("activations") or {})}
    hidden_act = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu, "linear": lambda u: u}[acts["hidden"]]
    inputs = [_vector(x) if isinstance(x, list) else _vector([x]) for x in given["inputs"]]
    params = {}

    def leaf(name, tensor):
        params[name] = tensor.clone().requires_grad_(True)
        return params[name]

    if cell in ("elman", "jordan"):
        U = leaf("U", torch.as_tensor(given["U"], dtype=torch.float64))
        W = leaf("W", torch.as_tensor(given["W"], dtype=torch.float64))
        H = (U.shape[0] if out_in else U.shape[1])
        b = leaf("b", _vector(given.get("b", 0), H))
    else:
        H = len(given["h0"]) if "h0" in given else None
    V = c = None
    if "V" in given:
        V = leaf("V", torch.as_tensor(given["V"], dtype=torch.float64))
        outputs = V.shape[0] if out_in else V.shape[1]
        c = leaf("c", _vector(given.get("c", 0), outputs))

    def output_of(h):
        u = (V if out_in else V.T) @ h + c
        return {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "linear": lambda z: z,
                "softmax": lambda z: torch.softmax(z, 0)}[acts["output"]](u)

    states = {}
    if cell in ("elman", "jordan"):
        h = _vector(given.get("h0", [0.0] * H))
        y = _vector(given["y0"]) if "y0" in given else None
        for t, x in enumerate(inputs, start=1):
            feedback = y if cell == "jordan" else h
            h = hidden_act(_weight_apply(U, x, out_in) + _weight_apply(W, feedback, out_in) + b)
            states[f"h{t}"] = h
            if V is not None:
                y = output_of(h)
                states[f"y{t}"] = y
    else:
        gates = given["gates"]
        names = "ifgo" if cell == "lstm" else "rzn"
        Us = {g: leaf(f"U.{g}", torch.as_tensor(gates[g]["U"], dtype=torch.float64)) for g in names}
        Ws = {g: leaf(f"W.{g}", torch.as_tensor(gates[g]["W"], dtype=torch.float64)) for g in names}
        H = Ws[names[0]].shape[0]
        bs = {g: leaf(f"b.{g}", _vector(gates[g].get("b", 0), H)) for g in names}
        if cell == "gru":
            b_hn = leaf("b_hn", _vector(gates["n"].get("b_hn", 0), H))
        D = inputs[0].shape[0]
        module = (torch.nn.LSTMCell if cell == "lstm" else torch.nn.GRUCell)(D, H)
        h = _vector(given.get("h0", [0.0] * H))
        c_state = _vector(given.get("c0", [0.0] * H))
        for t, x in enumerate(inputs, start=1):
            weight_ih = torch.cat([_weight(Us[g], out_in) for g in names])
            weight_hh = torch.cat([_weight(Ws[g], out_in) for g in names])
            bias_ih = torch.cat([bs[g] for g in names])
            bias_hh = torch.cat([torch.zeros(2 * H), b_hn]) if cell == "gru" else torch.zeros(4 * H)
            functional = {"weight_ih": weight_ih, "weight_hh": weight_hh, "bias_ih": bias_ih, "bias_hh": bias_hh}
            if cell == "lstm":
                h, c_state = torch.func.functional_call(module, functional, (x[None], (h[None], c_state[None])))
                h, c_state = h[0], c_state[0]
                states[f"c{t}"] = c_state
            else:
                h = torch.func.functional_call(module, functional, (x[None], h[None]))[0]
            states[f"h{t}"] = h
            if V is not None:
                states[f"y{t}"] = output_of(h)
    expected = {k: v.detach().tolist() for k, v in states.items()}
    if "loss" in given:
        J = torch.zeros(())
        for t, target in enumerate(given["targets"], start=1):
            if target is None:
                continue
            y = states[f"y{t}"] if V is not None else states[f"h{t}"]
            if given["loss"] == "ce" and isinstance(target, int):
                d = F.one_hot(torch.tensor(target), y.shape[0]).to(torch.float64)
            else:
                d = _vector(target if isinstance(target, list) else [target])
            J = J + loss_value(given["loss"], y, d)
        grads = torch.autograd.grad(J, list(params.values()))
        expected["J"] = J.item()
        for name, grad in zip(params, grads):
            if "." in name:
                group, gate = name.split(".")
                expected.setdefault(f"grad_{group}", {})[gate] = grad.tolist()
            else:
                expected[f"grad_{name}"] = grad.tolist()
    return expected


def _weight_apply(W: torch.Tensor, v: torch.Tensor, out_in: bool) -> torch.Tensor:
    return W @ v if out_in else W.T @ v


def rnn_hand_rounded(given: dict, decimals: int) -> dict:
    """The Jordan network as the exam key computes it: h and y rounded after every step."""
    assert given["cell"] == "jordan" and given.get("weights", "in_out") == "in_out"
    U, W, V = (np.array(given[k], dtype=float) for k in ("U", "W", "V"))
    b = np.broadcast_to(np.array(given.get("b", 0), dtype=float), (U.shape[1],))
    c = np.array(given.get("c", 0), dtype=float)
    y = np.array(given["y0"], dtype=float)
    expected = {}
    for t, x in enumerate(given["inputs"], start=1):
        h = hand_round(np.tanh(U.T @ np.array(x, dtype=float) + W.T @ y + b), decimals)
        y = hand_round(1 / (1 + np.exp(-(V.T @ h + c))), decimals)
        expected[f"h{t}"], expected[f"y{t}"] = h, y
    return expected


# --- rnn-unroll -----------------------------------------------------------------------------------


def rnn_unroll(given: dict) -> dict:
    """Nodes and edges of the unrolled graph, enumerated one by one."""
    L, T = given.get("layers", 1), given["steps"]
    outputs = given.get("outputs", "all")
    nodes, edges = set(), set()
    for t in range(1, T + 1):
        nodes.add(("x", t))
        for l in range(1, L + 1):
            nodes.add(("h", l, t))
            edges.add((("x", t) if l == 1 else ("h", l - 1, t), ("h", l, t)))
            if t > 1 or given.get("initial_state", True):
                nodes.add(("h", l, t - 1))
                edges.add((("h", l, t - 1), ("h", l, t)))
        if outputs == "all" or (outputs == "last" and t == T):
            nodes.add(("y", t))
            edges.add((("h", L, t), ("y", t)))
    return {"nodes": len(nodes), "edges": len(edges)}


# --- layer and loss: torch.nn.functional and autograd ------------------------------------------------


def _pair_list(value, dims: int, default):
    value = default if value is None else value
    items = value if isinstance(value, list) else [value]
    return tuple(items * dims if len(items) == 1 else items)


def _layer_function(given: dict, x: torch.Tensor):
    """(function of the tensors, extra tensors by name) reproducing the layer with torch.nn.functional."""
    kind = given["type"]
    tensor = lambda value: torch.tensor(value, dtype=torch.float64, requires_grad=True)  # noqa: E731
    if kind == "affine":
        w, b = tensor(given["w"]), tensor(given.get("b", [0.0] * len(given["w"][0])))
        return (lambda x, w, b: x.reshape(len(x), -1) @ w + b), {"w": w, "b": b}
    if kind in ("conv", "transposed-conv"):
        w = tensor(given["w"])
        dims = w.dim() - 2
        f = w.shape[0] if kind == "conv" else w.shape[1]
        b = tensor(given.get("b", [0.0] * f))
        stride, padding = _pair_list(given.get("stride"), dims, 1), _pair_list(given.get("padding"), dims, 0)
        dilation = _pair_list(given.get("dilation"), dims, 1)
        if kind == "conv":
            conv = F.conv1d if dims == 1 else F.conv2d
            return (lambda x, w, b: conv(x, w, b, stride=stride, padding=padding, dilation=dilation)), {"w": w, "b": b}
        conv = F.conv_transpose1d if dims == 1 else F.conv_transpose2d
        output_padding = _pair_list(given.get("output_padding"), dims, 0)
        return (lambda x, w, b: conv(x, w, b, stride=stride, padding=padding, output_padding=output_padding,
                                     dilation=dilation)), {"w": w, "b": b}
    if kind == "locally-connected":
        w = tensor(given["w"])
        dims = 1 if w.dim() == 4 else 2
        b = tensor(given.get("b", 0.0))
        stride, padding = _pair_list(given.get("stride"), dims, 1), _pair_list(given.get("padding"), dims, 0)

        def local(x, w, b):
            if dims == 1:
                x, w, b = x[:, :, None, :], w[None, :, :, :, None, :], b[:, None, :]
                st, pad = (1, stride[0]), (0, padding[0])
            else:
                st, pad = stride, padding
            oh, ow, f, c, kh, kw = w.shape
            cols = F.unfold(x, (kh, kw), padding=pad, stride=st)
            out = torch.einsum("nkl,lfk->nfl", cols, w.reshape(oh * ow, f, c * kh * kw)).reshape(len(x), f, oh, ow) + b
            return out[:, :, 0, :] if dims == 1 else out

        return local, {"w": w, "b": b}
    if kind in ("maxpool", "avgpool"):
        kernel = given["kernel"]
        dims = len(kernel) if isinstance(kernel, list) else x.dim() - 2
        kernel = _pair_list(kernel, dims, None)
        stride = _pair_list(given.get("stride"), dims, None) if given.get("stride") is not None else kernel
        padding = _pair_list(given.get("padding"), dims, 0)
        if kind == "maxpool":
            pool = F.max_pool1d if dims == 1 else F.max_pool2d
            return (lambda x: pool(x, kernel, stride, padding)), {}
        pool = F.avg_pool1d if dims == 1 else F.avg_pool2d
        include = given.get("count_include_pad", True)
        return (lambda x: pool(x, kernel, stride, padding, count_include_pad=include)), {}
    if kind == "dropout":
        mask, p = torch.tensor(given["mask"], dtype=torch.float64), given["p"]
        return (lambda x: x * mask / (1 - p)), {}
    if kind == "batchnorm":
        channels = x.shape[1]
        gamma = tensor(np.broadcast_to(np.asarray(given.get("gamma", 1.0), dtype=float), (channels,)).copy())
        beta = tensor(np.broadcast_to(np.asarray(given.get("beta", 0.0), dtype=float), (channels,)).copy())
        running = (torch.tensor(given.get("running_mean", [0.0] * channels), dtype=torch.float64),
                   torch.tensor(given.get("running_var", [1.0] * channels), dtype=torch.float64))
        training = given.get("training", True)
        function = lambda x, gamma, beta: F.batch_norm(  # noqa: E731
            x, running[0], running[1], gamma, beta, training=training, momentum=given.get("momentum", 0.1),
            eps=given.get("eps", 1e-5))
        function.running = running if training else None
        return function, {"gamma": gamma, "beta": beta}
    if kind == "layernorm":
        shape = tuple(x.shape[1:])
        gamma = tensor(np.broadcast_to(np.asarray(given.get("gamma", 1.0), dtype=float), shape).copy())
        beta = tensor(np.broadcast_to(np.asarray(given.get("beta", 0.0), dtype=float), shape).copy())
        return (lambda x, gamma, beta: F.layer_norm(x, shape, gamma, beta, given.get("eps", 1e-5))), \
            {"gamma": gamma, "beta": beta}
    if kind == "groupnorm":
        channels = x.shape[1]
        gamma = tensor(np.broadcast_to(np.asarray(given.get("gamma", 1.0), dtype=float), (channels,)).copy())
        beta = tensor(np.broadcast_to(np.asarray(given.get("beta", 0.0), dtype=float), (channels,)).copy())
        return (lambda x, gamma, beta: F.group_norm(x, given["groups"], gamma, beta, given.get("eps", 1e-5))), \
            {"gamma": gamma, "beta": beta}
    return {"relu": F.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh,
            "leaky-relu": lambda x: F.leaky_relu(x, given.get("alpha", 0.01)),
            "softmax": lambda x: F.softmax(x, dim=-1)}[kind], {}


def _layer_batch_axis(given: dict, x: np.ndarray) -> bool:
    """Whether x was written as one sample (the layer kind's rule, SPEC §12)."""
    kind = given["type"]
    if kind == "affine" or kind == "layernorm":
        return x.ndim == 1
    if kind in ("conv", "transposed-conv"):
        return x.ndim == np.asarray(given["w"]).ndim - 1
    if kind in ("maxpool", "avgpool"):
        kernel = given["kernel"]
        dims = len(kernel) if isinstance(kernel, list) else (2 if x.ndim == 4 else 1)
        return x.ndim == dims + 1
    return False


@in_float64
def layer(given: dict) -> dict:
    x_np = np.asarray(given["x"], dtype=float)
    single = _layer_batch_axis(given, x_np)
    flat_bn = given["type"] == "batchnorm" and x_np.ndim == 1
    batched = x_np[None] if single else (x_np[:, None] if flat_bn else x_np)
    x = torch.tensor(batched, dtype=torch.float64, requires_grad=True)
    function, params = _layer_function(given, x)
    out = function(x, **params)
    unshape = (lambda a: a[0]) if single else ((lambda a: a[:, 0]) if flat_bn else (lambda a: a))
    expected = {"out": unshape(out.detach()).numpy()}
    if given.get("dout") is not None:
        dout = np.asarray(given["dout"], dtype=float)
        dout = dout[None] if single else (dout[:, None] if flat_bn else dout)
        (out * torch.tensor(dout)).sum().backward()
        expected["dx"] = unshape(x.grad).numpy()
        names = {"w": "dw", "b": "db", "gamma": "dgamma", "beta": "dbeta"}
        for name, tensor in params.items():
            expected[names[name]] = tensor.grad.numpy()
    running = getattr(function, "running", None)
    if running is not None:
        expected["running_mean_new"] = running[0].numpy()
        expected["running_var_new"] = running[1].numpy()
    return expected


@in_float64
def loss(given: dict) -> dict:
    kind = given["type"]
    scores_np = np.asarray(given["scores"], dtype=float)
    target_np = np.asarray(given["target"], dtype=float)
    reduction = given.get("reduction", "mean")
    scores = torch.tensor(scores_np, requires_grad=True)
    single = kind in ("ce", "nll", "hinge", "kl") and scores_np.ndim == 1
    s = scores[None] if single else scores
    soft = target_np.shape == scores_np.shape
    if kind in ("ce", "nll", "hinge") and not soft:
        target = torch.tensor(np.atleast_1d(target_np).astype(int))
    else:
        target = torch.tensor(target_np[None] if single else target_np)
    temperature = given.get("temperature", 1)
    expected = {}
    if kind == "ce":
        value = F.cross_entropy(s / temperature, target, label_smoothing=given.get("label_smoothing", 0.0),
                                reduction=reduction)
        probs = F.softmax(s / temperature, dim=-1)
        expected["probs"] = (probs[0] if single else probs).detach().numpy()
    elif kind == "nll":
        value = F.nll_loss(s / temperature, target, reduction=reduction)
        probs = torch.exp(s / temperature)
        expected["probs"] = (probs[0] if single else probs).detach().numpy()
    elif kind == "hinge":
        labels = target.argmax(dim=-1) if soft else target
        value = F.multi_margin_loss(s, labels, margin=given.get("margin", 1.0), reduction=reduction) * s.shape[1]
    elif kind == "kl":
        value = F.kl_div(F.log_softmax(s, dim=-1), target, reduction="batchmean" if reduction == "mean" else "sum")
    else:
        function = {"bce": F.binary_cross_entropy, "bce-logits": F.binary_cross_entropy_with_logits,
                    "mse": F.mse_loss}[kind]
        value = function(s, target, reduction=reduction)
    value.backward()
    expected["loss"] = value.item()
    expected["dscores"] = scores.grad.numpy()
    return expected
