"""Mini-batch backprop against PyTorch autograd on 300 random networks built from nn.Linear,
activations and per-sample losses averaged or summed over the batch; single samples keep their
answers; bad batches name the field."""

from __future__ import annotations

import json
import random

import pytest

torch = pytest.importorskip("torch")

from solver.context import Context  # noqa: E402
from solver.errors import BadInput  # noqa: E402
from solver.kinds.mlp.backprop import BackpropInput, solve  # noqa: E402

from helpers import render_text, solve_text  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")

F = torch.nn.functional
ACTIVATE = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu, "linear": lambda u: u,
            "softmax": lambda u: torch.softmax(u, dim=1)}


def backprop(given: dict, ctx: Context | None = None) -> dict:
    return solve(BackpropInput.model_validate(given), ctx or Context()).answers


def _sample_losses(loss: str, y, d):
    """One loss per row, as the course writes it for one sample (summed over outputs; mse the mean)."""
    if loss == "bce":
        return F.binary_cross_entropy(y, d, reduction="none").sum(dim=1)
    if loss == "ce":
        return -(d * torch.log(y)).sum(dim=1)
    if loss == "mse":
        return F.mse_loss(y, d, reduction="none").mean(dim=1)
    squared = F.mse_loss(y, d, reduction="none").sum(dim=1)
    return squared / 2 if loss == "half-sse" else squared


def torch_reference(given: dict) -> dict:
    layout, lr = given.get("weights", "in_out"), given.get("lr")
    reduction = given.get("reduction", "mean")
    h = torch.tensor(given["x"], dtype=torch.float64)
    linears, us, hs, out = [], [], [], {}
    for layer in given["layers"]:
        W = torch.tensor(layer["W"], dtype=torch.float64)
        weight = W.T if layout == "in_out" else W  # nn.Linear keeps outputs × inputs
        linear = torch.nn.Linear(weight.shape[1], weight.shape[0]).double()
        with torch.no_grad():
            linear.weight.copy_(weight)
            linear.bias.copy_(torch.tensor(layer["b"], dtype=torch.float64).reshape(-1).expand(weight.shape[0]))
        u = linear(h)
        u.retain_grad()
        h = ACTIVATE[layer["activation"]](u)
        linears.append(linear)
        us.append(u)
        hs.append(h)
    d = torch.tensor(given["target"], dtype=torch.float64)
    n, k = h.shape
    if d.ndim == 1:
        d = F.one_hot(d.long(), k).double() if (given["loss"] == "ce" and k > 1) else d.reshape(n, 1)
    losses = _sample_losses(given["loss"], h, d)
    J = losses.mean() if reduction == "mean" else losses.sum()
    if given["loss"] == "mse" and reduction == "mean":  # the course's mse is PyTorch's MSELoss
        assert torch.allclose(J, F.mse_loss(h, d))
    J.backward()
    for l, (layer, linear, u, h_l) in enumerate(zip(given["layers"], linears, us, hs), 1):
        out[f"u{l}"], out[f"h{l}"], out[f"delta{l}"] = u.detach(), h_l.detach(), u.grad
        grad_W = linear.weight.grad.T if layout == "in_out" else linear.weight.grad
        out[f"grad_W{l}"], out[f"grad_b{l}"] = grad_W, linear.bias.grad
        if layer["activation"] != "softmax":
            fprime = torch.func.vmap(torch.func.grad(lambda z, a=layer["activation"]: ACTIVATE[a](z)))
            out[f"fprime{l}"] = fprime(u.detach().reshape(-1)).reshape(u.shape)
        else:
            out[f"fprime{l}"] = torch.stack([torch.autograd.functional.jacobian(
                lambda z: torch.softmax(z, dim=0), row) for row in u.detach()])
        if lr is not None:
            W = torch.tensor(layer["W"], dtype=torch.float64)
            out[f"W{l}_new"] = W - lr * grad_W
            out[f"b{l}_new"] = linear.bias.detach() - lr * linear.bias.grad
    out["y"], out["J"] = hs[-1].detach(), J.detach()
    return out


def _flat(value) -> list[float]:
    return torch.tensor(value, dtype=torch.float64).reshape(-1).tolist()


def assert_matches_torch(answers: dict, expected: dict, tol: float = 1e-9) -> None:
    for name, reference in expected.items():
        assert name in answers, name
        got, want = _flat(answers[name]), reference.reshape(-1).tolist()
        assert len(got) == len(want), (name, got, want)
        for a, b in zip(got, want):
            assert abs(a - b) <= tol * max(1.0, abs(b)), (name, got, want)
        if name[0] in "uhd" or name == "y":
            assert torch.tensor(answers[name]).shape == reference.shape, name  # N×K


def random_batch(rng: random.Random) -> dict:
    layout = rng.choice(["in_out", "out_in"])
    loss = rng.choice(["bce", "ce", "mse", "sse", "half-sse"])
    sizes = [rng.randint(1, 4) for _ in range(rng.randint(2, 4))]
    if loss == "ce":
        sizes[-1] = max(sizes[-1], 2)
    n = rng.randint(2, 4)
    layers = []
    for index, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
        last = index == len(sizes) - 2
        options = ["sigmoid", "tanh", "relu", "linear"] + (["softmax"] if n_out > 1 else [])
        activation = ({"bce": "sigmoid", "ce": "softmax"}.get(loss) if last else None) or rng.choice(options)
        shape = (n_in, n_out) if layout == "in_out" else (n_out, n_in)
        W = [[round(rng.uniform(-1.5, 1.5), 3) for _ in range(shape[1])] for _ in range(shape[0])]
        b = round(rng.uniform(-0.5, 0.5), 3) if rng.random() < 0.3 else [round(rng.uniform(-0.5, 0.5), 3)
                                                                          for _ in range(n_out)]
        layers.append({"W": W, "b": b, "activation": activation})
    k = sizes[-1]
    if loss == "ce":
        labels = [rng.randrange(k) for _ in range(n)]
        target = labels if rng.random() < 0.5 else [[float(i == c) for i in range(k)] for c in labels]
    elif loss == "bce":
        target = [[float(rng.randint(0, 1)) for _ in range(k)] for _ in range(n)]
    else:
        target = [[round(rng.uniform(-1, 1), 2) for _ in range(k)] for _ in range(n)]
    if k == 1 and rng.random() < 0.5:
        target = [row[0] for row in target]  # one number per sample
    given = {"x": [[round(rng.uniform(-2, 2), 3) for _ in range(sizes[0])] for _ in range(n)],
             "target": target, "layers": layers, "weights": layout, "loss": loss}
    if rng.random() < 0.5:
        given["reduction"] = rng.choice(["mean", "sum"])
    if rng.random() < 0.7:
        given["lr"] = round(rng.uniform(0.01, 1.0), 3)
    return given


@pytest.mark.parametrize("seed", range(300))
def test_random_batch_matches_autograd(seed):
    given = random_batch(random.Random(seed))
    solution = solve(BackpropInput.model_validate(given), Context())
    assert_matches_torch(solution.answers, torch_reference(given))
    assert all(check.passed for check in solution.checks)


def test_mean_is_the_sum_over_n():
    given = random_batch(random.Random(7))
    mean = backprop({**given, "reduction": "mean"})
    total = backprop({**given, "reduction": "sum"})
    n = len(given["x"])
    assert mean["J"] == pytest.approx(total["J"] / n)
    assert _flat(mean["grad_W1"]) == pytest.approx([v / n for v in _flat(total["grad_W1"])])


def test_one_input_per_sample_is_a_batch_and_a_column_stays_one_sample():
    layers = [{"W": [[0.5, -0.2]], "b": 0.1, "activation": "tanh"},
              {"W": [[1.0], [2.0]], "b": 0, "activation": "linear"}]
    batch = backprop({"x": [[1.0], [2.0], [3.0]], "target": [0.1, 0.2, 0.3], "loss": "mse", "layers": layers})
    assert torch.tensor(batch["u1"]).shape == (3, 2)
    column = backprop({"x": [[1.0], [2.0]], "target": 1, "loss": "mse",
                       "layers": [{"W": [[0.5], [-0.2]], "activation": "linear"}]})
    assert column == backprop({"x": [1.0, 2.0], "target": 1, "loss": "mse",
                               "layers": [{"W": [[0.5], [-0.2]], "activation": "linear"}]})


def test_single_row_keeps_the_single_sample_answers():
    given = {"x": [1.0, 2.0], "target": 1, "loss": "bce", "lr": 0.5,
             "layers": [{"W": [[0.5], [-0.5]], "b": 0.1, "activation": "sigmoid"}]}
    assert backprop({**given, "x": [[1.0, 2.0]]}) == backprop(given)
    assert backprop({**given, "reduction": "sum"}) == backprop(given)


BASE = {"x": [[1.0, 2.0], [0.5, -1.0], [0.0, 1.0]], "target": [1, 0, 1], "loss": "bce",
        "layers": [{"W": [[0.5], [-0.5]], "b": 0, "activation": "sigmoid"}]}


@pytest.mark.parametrize("change, field, words", [
    ({"target": [1, 0]}, "target", "3 samples"),
    ({"target": 1}, "target", "one target per sample"),
    ({"target": [[1], [0]]}, "target", "3 samples"),
    ({"target": [[1, 0], [0, 1], [1, 1]]}, "target", "1 outputs"),
    ({"x": [[1.0, 2.0, 3.0], [0.5, -1.0, 1.0]]}, "x", "receives 2 inputs"),
    ({"x": [[1.0, 2.0], [0.5]]}, "x", "ragged"),
    ({"reduction": "max"}, "reduction", "mean or sum"),
    ({"loss": "ce", "target": [0, 3, 1],
      "layers": [{"W": [[1, 0], [0, 1]], "activation": "softmax"}]}, "target", "class index"),
    ({"loss": "mse", "target": [0, 1, 1],
      "layers": [{"W": [[1, 0], [0, 1]], "activation": "linear"}]}, "target", "one row of 2"),
    ({"target": [2, 0, 1]}, "target", "[0, 1]"),
])
def test_bad_batches_name_the_field(change, field, words):
    given = {**BASE, **change}
    result = solve_text(json.dumps({"problems": [{"id": "bad", "kind": "backprop", "given": given}]}))
    error = result.problems[0].error
    assert isinstance(error, BadInput), error
    assert error.field == field, (error.field, error.message)
    assert words in error.message, error.message


def test_kinds_lists_the_new_fields_and_answers():
    import os
    import subprocess
    import sys

    listing = subprocess.run([sys.executable, "-m", "solver.cli", "kinds", "backprop"], capture_output=True, text=True,
                             env={**os.environ, "COLUMNS": "250"}, timeout=60)
    assert listing.returncode == 0, listing.stderr
    for word in ("reduction", "mini-batch", "N×K"):
        assert word in listing.stdout, word


# --- rendering -----------------------------------------------------------------------------------

RENDER_EXAMPLE = """
problems:
  - id: batch
    kind: backprop
    title: One logistic neuron on a batch of two
    given:
      x: [[1, 2], [2, -1]]
      target: [1, 0]
      loss: bce
      lr: 0.5
      layers:
        - {W: [[0.5], [-0.25]], b: 0, activation: sigmoid}
"""

# By hand: U = XW = (0, 1.25), Y = (0.5, 0.7773), Jₙ = (−ln 0.5, −ln 0.2227) = (0.6931, 1.5019),
# J = 1.0975; Δ = (Y − D)/2 = (−0.25, 0.3886); ∇W = XᵀΔ = (0.5273, −0.8886); ∇b = 0.1386.
EXPECTED_TEXT = (
    'batch — One logistic neuron on a batch of two  (backprop)\n',
    '  Given: x = [[1, 2], [2, -1]], target = [1, 0], loss = bce, lr = 0.5, layers = [{W: [0.5; -0.25], \n',
    'b: 0, activation: sigmoid}]\n',
    '  Convention: weights: in_out — W is inputs×outputs; one sample per row: U = XW + b, ∇W = XᵀΔ\n',
    '  Convention: loss bce: J = −Σ [d ln y + (1 − d) ln(1 − y)] (summed over outputs, natural log)\n',
    "  Convention: δ = ∇ᵤJ, the gradient of the loss with respect to a layer's synaptic input u; Δ stacks\n",
    "the samples' δ as rows\n",
    '  Convention: mini-batch of N = 2 samples, one per row; reduction: mean — J is the mean of the \n',
    'per-sample losses; ∇W and ∇b are summed over the batch of δ rows that carry the 1/N\n',
    '  1. Layer 1: synaptic inputs, one row per sample (b_1 is added to every row).\n',
    '     U_1 = XW_1 + b_1 = [[1, 2], [2, −1]][0.5; −0.25] + [0] =\n',
    '       ⎡    0 ⎤\n',
    '       ⎣ 1.25 ⎦\n',
    '  2. Layer 1: outputs (sigmoid, element-wise).\n',
    '     H_1 = σ(U_1) = σ([0; 1.25]) =\n',
    '       ⎡    0.5 ⎤\n',
    '       ⎣ 0.7773 ⎦\n',
    "  3. The network outputs are the last layer's outputs.\n",
    '     Y = H_1 =\n',
    '       ⎡    0.5 ⎤\n',
    '       ⎣ 0.7773 ⎦\n',
    "  4. Loss of each sample (its row's outputs summed as for one sample).\n",
    '     Jₙ = Σₖ[−D ⊙ ln(Y) − ((1 − D) ⊙ ln(1 − Y))] = Σₖ[−[1; 0] ⊙ ln([0.5; 0.7773]) − ((1 − [1; 0]) ⊙ \n',
    'ln(1 − [0.5; 0.7773]))] = [0.6931, 1.5019]\n',
    "  5. Loss of the batch: the mean of the samples' losses.\n",
    '     J = Σₙ[Jₙ]/N = Σₙ[[0.6931, 1.5019]]/2 = 1.0975\n',
    '  6. Forward pass, layer by layer (one row per sample).\n',
    '     ┏━━━━━━┳━━━━━━━━━━━━┳━━━━━━━━━━━┳━━━━━━━━━━━━━━┓                                               \n',
    '     ┃layer ┃ activation ┃         U ┃             H┃                                               \n',
    '     ┡━━━━━━╇━━━━━━━━━━━━╇━━━━━━━━━━━╇━━━━━━━━━━━━━━┩                                               \n',
    '     │    1 │    sigmoid │ [0; 1.25] │ [0.5; 0.7773]│                                               \n',
    '     └──────┴────────────┴───────────┴──────────────┘                                               \n',
    '  7. Layer 1: derivative of the activation, σ′(u) = h(1 − h).\n',
    '     f′(U_1) = H_1 ⊙ (1 − H_1) = [0.5; 0.7773] ⊙ (1 − [0.5; 0.7773]) =\n',
    '       ⎡   0.25 ⎤\n',
    '       ⎣ 0.1731 ⎦\n',
    '  8. Output layer: Δ = ∂J/∂U row by row; σ′ cancels the denominator of ∂J/∂y, so each row is y − d \n',
    'over N (the mean).\n',
    '     Δ_1 = (Y − D)/N = ([0.5; 0.7773] − [1; 0])/2 =\n',
    '       ⎡  -0.25 ⎤\n',
    '       ⎣ 0.3886 ⎦\n',
    '  9. Layer 1: weight gradient, summed over the batch (inputsᵀ Δ).\n',
    '     ∇W_1 = XᵀΔ_1 = [[1, 2], [2, −1]]ᵀ[−0.25; 0.3886] =\n',
    '       ⎡  0.5273 ⎤\n',
    '       ⎣ -0.8886 ⎦\n',
    '  10. Layer 1: bias gradient, the sum of the δ rows.\n',
    '     ∇b_1 = Σₙ[Δ_1] = Σₙ[[−0.25; 0.3886]] = [0.1386]\n',
    '  11. Layer 1: SGD step on the weights.\n',
    '     W_1′ = W_1 − η·∇W_1 = [0.5; −0.25] − 0.5·[0.5273; −0.8886] =\n',
    '       ⎡ 0.2364 ⎤\n',
    '       ⎣ 0.1943 ⎦\n',
    '  12. Layer 1: SGD step on the bias.\n',
    '     b_1′ = b_1 − η·∇b_1 = [0] − 0.5·[0.1386] = [−0.0693]\n',
    '  ✓ gradients match central finite differences of J — every relative difference below 1e-05\n',
    '  Answer u1 =\n',
    '     ⎡    0 ⎤\n',
    '     ⎣ 1.25 ⎦\n',
    '  Answer h1 =\n',
    '     ⎡    0.5 ⎤\n',
    '     ⎣ 0.7773 ⎦\n',
    '  Answer y =\n',
    '     ⎡    0.5 ⎤\n',
    '     ⎣ 0.7773 ⎦\n',
    '  Answer J = 1.0975\n',
    '  Answer fprime1 =\n',
    '     ⎡   0.25 ⎤\n',
    '     ⎣ 0.1731 ⎦\n',
    '  Answer delta1 =\n',
    '     ⎡  -0.25 ⎤\n',
    '     ⎣ 0.3886 ⎦\n',
    '  Answer grad_W1 =\n',
    '     ⎡  0.5273 ⎤\n',
    '     ⎣ -0.8886 ⎦\n',
    '  Answer grad_b1 = 0.1386\n',
    '  Answer W1_new =\n',
    '     ⎡ 0.2364 ⎤\n',
    '     ⎣ 0.1943 ⎦\n',
    '  Answer b1_new = -0.0693\n',
    '\n',
)


def test_rendered_example_exactly():
    assert render_text(solve_text(RENDER_EXAMPLE)) == "".join(EXPECTED_TEXT)
