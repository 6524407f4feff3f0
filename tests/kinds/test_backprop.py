"""backprop against PyTorch autograd on 320 random networks (depth, widths, activations, losses,
both weight layouts), the exam's network exactly and rounded by hand, a classic worked example,
bad input, and the rendered key."""

from __future__ import annotations

import json
import random
from decimal import ROUND_HALF_UP, Decimal

import pytest

torch = pytest.importorskip("torch")

from solver.context import Context  # noqa: E402
from solver.errors import BadInput  # noqa: E402
from solver.kinds.mlp.backprop import BackpropInput, solve  # noqa: E402

from helpers import REPO, answers_of, render_text, solve_text  # noqa: E402

ELEMENTWISE = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu, "linear": lambda u: u}


def backprop(given: dict, ctx: Context | None = None) -> dict:
    return solve(BackpropInput.model_validate(given), ctx or Context()).answers


def _activate(name, u):
    return torch.softmax(u, dim=0) if name == "softmax" else ELEMENTWISE[name](u)


def _loss(name, y, d):
    if name == "bce":
        return -(d * torch.log(y) + (1 - d) * torch.log(1 - y)).sum()
    if name == "ce":
        return -(d * torch.log(y)).sum()
    squared = ((d - y) ** 2).sum()
    return {"mse": squared / len(y), "sse": squared, "half-sse": squared / 2}[name]


def torch_reference(given: dict) -> dict:
    """Every answer the kind gives, computed by autograd (float64) from the same inputs."""
    layout, lr = given.get("weights", "in_out"), given.get("lr")
    h = torch.tensor(given["x"], dtype=torch.float64).reshape(-1)
    params, us, hs, out = [], [], [], {}
    for layer in given["layers"]:
        W = torch.tensor(layer["W"], dtype=torch.float64, requires_grad=True)
        n_out = W.shape[1] if layout == "in_out" else W.shape[0]
        b = torch.tensor(layer["b"], dtype=torch.float64).reshape(-1).expand(n_out).clone().requires_grad_(True)
        u = (W.T @ h if layout == "in_out" else W @ h) + b
        u.retain_grad()
        h = _activate(layer["activation"], u)
        params.append((W, b))
        us.append(u)
        hs.append(h)
    d = torch.tensor(given["target"], dtype=torch.float64).reshape(-1)
    if given["loss"] == "ce" and d.numel() == 1 and h.numel() > 1:
        d = torch.nn.functional.one_hot(d.long(), h.numel()).double()
    J = _loss(given["loss"], h, d)
    J.backward()
    for l, (layer, (W, b), u, h_l) in enumerate(zip(given["layers"], params, us, hs), 1):
        jac = torch.autograd.functional.jacobian(lambda z, a=layer["activation"]: _activate(a, z), u.detach())
        out[f"u{l}"], out[f"h{l}"], out[f"delta{l}"] = u.detach(), h_l.detach(), u.grad
        out[f"fprime{l}"] = jac if layer["activation"] == "softmax" else torch.diagonal(jac)
        out[f"grad_W{l}"], out[f"grad_b{l}"] = W.grad, b.grad
        if lr is not None:
            out[f"W{l}_new"], out[f"b{l}_new"] = W.detach() - lr * W.grad, b.detach() - lr * b.grad
    out["y"], out["J"] = hs[-1].detach(), J.detach()
    return out


def _flat(value) -> list[float]:
    if isinstance(value, (int, float)):
        return [float(value)]
    return [float(v) for v in torch.tensor(value, dtype=torch.float64).reshape(-1)]


def assert_matches_torch(answers: dict, expected: dict, tol: float = 1e-9) -> None:
    for name, reference in expected.items():
        assert name in answers, name
        got, want = _flat(answers[name]), reference.reshape(-1).tolist()
        assert len(got) == len(want), (name, got, want)
        for a, b in zip(got, want):
            assert abs(a - b) <= tol * max(1.0, abs(b)), (name, got, want)
        if name.startswith("grad_W") or name.endswith("_new") and name.startswith("W"):
            assert torch.tensor(answers[name]).shape == reference.shape, name  # shaped like W


def random_network(rng: random.Random) -> dict:
    layout = rng.choice(["in_out", "out_in"])
    loss = rng.choice(["bce", "ce", "mse", "sse", "half-sse"])
    sizes = [rng.randint(1, 4) for _ in range(rng.randint(2, 5))]
    if loss == "ce":
        sizes[-1] = max(sizes[-1], 2)
    layers = []
    for index, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
        last = index == len(sizes) - 2
        if last:
            activation = {"bce": "sigmoid", "ce": "softmax"}.get(loss) or rng.choice(
                ["sigmoid", "tanh", "relu", "linear"] + (["softmax"] if n_out > 1 else []))
        else:
            activation = rng.choice(["sigmoid", "tanh", "relu", "linear"] + (["softmax"] if n_out > 1 else []))
        shape = (n_in, n_out) if layout == "in_out" else (n_out, n_in)
        W = [[round(rng.uniform(-1.5, 1.5), 3) for _ in range(shape[1])] for _ in range(shape[0])]
        b = round(rng.uniform(-0.5, 0.5), 3) if rng.random() < 0.3 else [round(rng.uniform(-0.5, 0.5), 3)
                                                                          for _ in range(n_out)]
        layers.append({"W": W, "b": b, "activation": activation})
    n_out = sizes[-1]
    if loss == "ce":
        label = rng.randrange(n_out)
        if rng.random() < 0.3:
            target = label  # a class index
        elif rng.random() < 0.5:
            target = [float(i == label) for i in range(n_out)]  # one-hot
        else:
            weights = [rng.uniform(0.1, 1) for _ in range(n_out)]  # a soft label
            target = [w / sum(weights) for w in weights]
    elif loss == "bce":
        target = [float(rng.randint(0, 1)) for _ in range(n_out)]
    else:
        target = [round(rng.uniform(-1, 1), 2) for _ in range(n_out)]
    given = {"x": [round(rng.uniform(-2, 2), 3) for _ in range(sizes[0])], "target": target,
             "layers": layers, "weights": layout, "loss": loss}
    if rng.random() < 0.7:
        given["lr"] = round(rng.uniform(0.01, 1.0), 3)
    return given


@pytest.mark.parametrize("seed", range(320))
def test_random_network_matches_autograd(seed):
    given = random_network(random.Random(seed))
    assert_matches_torch(backprop(given), torch_reference(given))


# --- the exam's network (seed 004, question 2) ---------------------------------------------------

EXAM = (REPO / "problems" / "course" / "004-final-exam.yaml").read_text()
EXAM_GIVEN = {
    "x": [1.0, 2.0], "target": 0, "weights": "in_out", "loss": "bce",
    "layers": [{"W": [[3.2, -2.4, -2.1], [-1.2, -1.4, 2.6]], "b": 0.5, "activation": "tanh"},
               {"W": [[3.0, 0.0], [-2.4, -4.2], [-3.0, 2.5]], "b": 0.5, "activation": "tanh"},
               {"W": [[2.0], [-1.0]], "b": 0.5, "activation": "sigmoid"}],
}


def test_exam_network_exactly_matches_autograd():
    answers = answers_of(EXAM)["2-mlp-sgd-exact"]
    assert_matches_torch(answers, torch_reference(EXAM_GIVEN))
    assert round(answers["J"], 4) == 1.6791


def _round2(value: float) -> float:
    return float(Decimal(repr(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def hand_rounded_exam() -> dict:
    """The key's hand calculation, written out with plain floats: round after every quantity,
    f′ = 1 − h² from the rounded h, the output δ = y − d."""
    import math

    r = _round2
    W1, W2, W3 = EXAM_GIVEN["layers"][0]["W"], EXAM_GIVEN["layers"][1]["W"], EXAM_GIVEN["layers"][2]["W"]
    x = [1.0, 2.0]
    u1 = [r(sum(W1[i][j] * x[i] for i in range(2)) + 0.5) for j in range(3)]
    h1 = [r(math.tanh(u)) for u in u1]
    u2 = [r(sum(W2[i][j] * h1[i] for i in range(3)) + 0.5) for j in range(2)]
    h2 = [r(math.tanh(u)) for u in u2]
    u3 = r(sum(W3[i][0] * h2[i] for i in range(2)) + 0.5)
    y = r(1 / (1 + math.exp(-u3)))
    J = r(-math.log(1 - y))
    f1, f2 = [r(1 - h * h) for h in h1], [r(1 - h * h) for h in h2]
    d3 = r(y - 0)
    d2 = [r(W3[i][0] * d3 * f2[i]) for i in range(2)]
    d1 = [r(sum(W2[i][j] * d2[j] for j in range(2)) * f1[i]) for i in range(3)]
    return {"u1": u1, "h1": h1, "u2": u2, "h2": h2, "u3": u3, "y": y, "J": J, "fprime1": f1, "fprime2": f2,
            "delta3": d3, "delta2": d2, "delta1": d1,
            "grad_W3": [[r(h2[i] * d3)] for i in range(2)],
            "grad_W2": [[r(h1[i] * d2[j]) for j in range(2)] for i in range(3)],
            "grad_W1": [[r(x[i] * d1[j]) for j in range(3)] for i in range(2)]}


def test_exam_network_rounded_by_hand_reproduces_the_key():
    answers = answers_of(EXAM)["2-mlp-sgd-hand-rounded"]
    for name, value in hand_rounded_exam().items():
        assert _flat(answers[name]) == pytest.approx(_flat(value), abs=1e-12), name
    # The answer key's own numbers (its part c): y = 0.81 and J = 1.66, not the exact 1.6791.
    assert answers["y"] == pytest.approx(0.81) and answers["J"] == pytest.approx(1.66)


def test_conformance_backprop_problems_solve(shared_dir):
    result = solve_text((shared_dir / "conformance" / "backprop.yaml").read_text())
    assert [p.id for p in result.problems if p.error] == []


def test_worked_examples_match_autograd():
    text = (REPO / "problems" / "examples" / "backprop-worked.yaml").read_text()
    import yaml

    problems = yaml.safe_load(text)["problems"]
    answers = answers_of(text)
    for problem in problems:
        assert_matches_torch(answers[problem["id"]], torch_reference(problem["given"]))


def test_finite_difference_check_is_reported():
    solution = solve(BackpropInput.model_validate(EXAM_GIVEN), Context())
    assert solution.checks and all(c.passed for c in solution.checks)


# --- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize("change, field", [
    ({"layers": [{"W": [[1, 2, 3]], "b": 0, "activation": "tanh"}]}, "layers.0.W"),
    ({"layers": [{"W": [[1], [2]], "b": [0, 1], "activation": "tanh"}]}, "layers.0.b"),
    ({"layers": [{"W": [[1], [2]], "activation": "swish"}]}, "layers.0.activation"),
    ({"layers": [{"W": [[1], [2]], "activation": "softmax"}]}, "layers.0.activation"),
    ({"layers": [{"W": [[1, 2], [3]], "activation": "tanh"}]}, "layers.0.W"),
    ({"target": [0, 1]}, "target"),
    ({"loss": "ce", "target": [0.5, 0.2], "layers": [{"W": [[1, 0], [0, 1]], "activation": "softmax"}]},
     "target"),
    ({"loss": "hinge"}, "loss"),
    ({"weights": "rows"}, "weights"),
    ({"lr": 0}, "lr"),
    ({"layers": []}, "layers"),
    ({"layers": [{"W": [[60], [60]], "activation": "sigmoid"}], "target": 0}, "layers"),
])
def test_bad_input_names_the_field(change, field):
    given = {"x": [1.0, 2.0], "target": 1, "loss": "bce",
             "layers": [{"W": [[0.5], [-0.5]], "b": 0, "activation": "sigmoid"}], **change}
    result = solve_text(json.dumps({"problems": [{"id": "bad", "kind": "backprop", "given": given}]}))
    error = result.problems[0].error
    assert isinstance(error, BadInput), error
    assert error.field == field, (error.field, error.message)


def test_out_in_hint_when_w_is_written_the_other_way():
    with pytest.raises(BadInput, match="out_in"):
        backprop({"x": [1, 2, 3], "target": [0, 1], "loss": "mse",
                  "layers": [{"W": [[1, 2, 3], [4, 5, 6]], "activation": "linear"}]})


# --- rendering -----------------------------------------------------------------------------------

EXAMPLE = """
problems:
  - id: neuron
    kind: backprop
    title: One logistic neuron, one SGD step
    given:
      x: [1, 2]
      target: 1
      loss: bce
      lr: 0.5
      layers:
        - {W: [[0.5], [-0.25]], b: 0, activation: sigmoid}
"""

# By hand: u = 0.5·1 − 0.25·2 + 0 = 0, y = σ(0) = 0.5, J = −ln 0.5 = 0.6931, δ = y − d = −0.5,
# ∇W = x δ = (−0.5, −1), W′ = W − 0.5∇W = (0.75, 0.25), b′ = 0.25.
EXPECTED_TEXT = (
    'neuron — One logistic neuron, one SGD step  (backprop)\n',
    '  Given: x = [1, 2], target = 1, loss = bce, lr = 0.5, layers = [{W: [0.5; -0.25], b: 0, activation:\n',
    'sigmoid}]\n',
    '  Convention: weights: in_out — W is inputs×outputs and u = Wᵀx + b; ∇W = x δᵀ\n',
    '  Convention: loss bce: J = −Σ [d ln y + (1 − d) ln(1 − y)] (summed over outputs, natural log)\n',
    "  Convention: δ = ∇ᵤJ, the gradient of the loss with respect to a layer's synaptic input u\n",
    '  1. Layer 1: synaptic input.\n',
    '     u_1 = W_1ᵀx + b_1 = [0.5; −0.25]ᵀ[1; 2] + 0 = 0\n',
    '  2. Layer 1: output (sigmoid).\n',
    '     h_1 = σ(u_1) = σ(0) = 0.5\n',
    "  3. The network output is the last layer's output.\n",
    '     y = h_1 = 0.5\n',
    '  4. Loss (binary cross-entropy).\n',
    '     J = −d·ln(y) − (1 − d)·ln(1 − y) = −1·ln(0.5) − (1 − 1)·ln(1 − 0.5) = 0.6931\n',
    '  5. Forward pass, layer by layer.\n',
    '     ┏━━━━━━┳━━━━━━━━━━━━┳━━━┳━━━━┓                                                                 \n',
    '     ┃layer ┃ activation ┃ u ┃   h┃                                                                 \n',
    '     ┡━━━━━━╇━━━━━━━━━━━━╇━━━╇━━━━┩                                                                 \n',
    '     │    1 │    sigmoid │ 0 │ 0.5│                                                                 \n',
    '     └──────┴────────────┴───┴────┘                                                                 \n',
    '  6. Layer 1: derivative of the activation, σ′(u) = h(1 − h).\n',
    '     f′(u_1) = h_1 ⊙ (1 − h_1) = 0.5 ⊙ (1 − 0.5) = 0.25\n',
    "  7. The output layer's f′ is not needed: with sigmoid and bce it cancels against ∂J/∂y.\n",
    '  8. Output layer: δ = ∇ᵤJ; σ′ cancels the denominator of ∂J/∂y, so δ = y − d.\n',
    '     δ_1 = y − d = 0.5 − 1 = −0.5\n',
    '  9. Layer 1: weight gradient (input times δᵀ).\n',
    '     ∇W_1 = x·δ_1 = [1; 2]·(−0.5) =\n',
    '       ⎡ -0.5 ⎤\n',
    '       ⎣   -1 ⎦\n',
    '  10. Layer 1: bias gradient.\n',
    '     ∇b_1 = δ_1 = −0.5\n',
    '  11. Layer 1: SGD step on the weights.\n',
    '     W_1′ = W_1 − η·∇W_1 = [0.5; −0.25] − 0.5·[−0.5; −1] =\n',
    '       ⎡ 0.75 ⎤\n',
    '       ⎣ 0.25 ⎦\n',
    '  12. Layer 1: SGD step on the bias.\n',
    '     b_1′ = b_1 − η·∇b_1 = 0 − 0.5·(−0.5) = 0.25\n',
    '  ✓ gradients match central finite differences of J — every relative difference below 1e-05\n',
    '  Answer u1 = 0\n',
    '  Answer h1 = 0.5\n',
    '  Answer y = 0.5\n',
    '  Answer J = 0.6931\n',
    '  Answer fprime1 = 0.25\n',
    '  Answer delta1 = -0.5\n',
    '  Answer grad_W1 =\n',
    '     ⎡ -0.5 ⎤\n',
    '     ⎣   -1 ⎦\n',
    '  Answer grad_b1 = -0.5\n',
    '  Answer W1_new =\n',
    '     ⎡ 0.75 ⎤\n',
    '     ⎣ 0.25 ⎦\n',
    '  Answer b1_new = 0.25\n',
    '\n',
)


def test_rendered_example_exactly():
    assert render_text(solve_text(EXAMPLE)) == "".join(EXPECTED_TEXT)
