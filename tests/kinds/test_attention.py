"""Kind `attention` against torch.nn.functional.scaled_dot_product_attention (single and
multi-head, causal and given masks) and nn.MultiheadAttention (projections from X with Wo)."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from solver.context import Context
from solver.errors import BadInput
from solver.kinds.attention import AttentionInput, solve
from solver.pipeline import solve_problem_set
from solver.spec import load_problem_set

CASES = 520


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def run(given: dict, **ctx) -> dict:
    return solve(AttentionInput.model_validate(given), Context(**ctx)).answers


def random_matrix(rng, rows: int, cols: int) -> list:
    if rng.random() < 0.4:
        return rng.integers(-3, 4, size=(rows, cols)).tolist()
    return np.round(rng.normal(size=(rows, cols)), 3).tolist()


def random_mask(rng, n: int, m: int):
    choice = rng.random()
    if choice < 0.4:
        return None
    if choice < 0.7:
        return "causal"
    mask = rng.random((n, m)) < 0.6
    mask[np.arange(n), rng.integers(0, m, size=n)] = True  # every query sees at least one key
    return mask.astype(int).tolist()


def torch_reference(q, k, v, mask, heads: int):
    """Per-head scores, scaled scores and weights by hand in torch; the output by SDPA."""
    q, k, v = (torch.tensor(a, dtype=torch.float64) for a in (q, k, v))
    n, m = q.shape[0], k.shape[0]

    def split(t):  # (tokens, heads·d) -> (heads, tokens, d)
        return t.view(t.shape[0], heads, -1).transpose(0, 1)

    qh, kh, vh = split(q), split(k), split(v)
    allowed = None
    if mask == "causal":
        allowed = torch.ones(n, m, dtype=torch.bool).tril()
    elif mask is not None:
        allowed = torch.tensor(mask, dtype=torch.bool)
    scores = qh @ kh.transpose(-1, -2)
    scaled = scores / math.sqrt(qh.shape[-1])
    logits = scaled if allowed is None else scaled.masked_fill(~allowed, float("-inf"))
    weights = torch.softmax(logits, dim=-1)
    out = F.scaled_dot_product_attention(qh.unsqueeze(0), kh.unsqueeze(0), vh.unsqueeze(0),
                                         attn_mask=None if allowed is None else allowed)[0]
    output = out.transpose(0, 1).reshape(n, -1)
    return scores.numpy(), scaled.numpy(), weights.numpy(), output.numpy()


def test_random_attention_matches_torch_sdpa():
    rng = np.random.default_rng(3)
    for _ in range(CASES):
        heads = int(rng.integers(1, 4))
        n, m = int(rng.integers(1, 5)), int(rng.integers(1, 5))
        dk, dv = heads * int(rng.integers(1, 3)), heads * int(rng.integers(1, 3))
        q, k, v = random_matrix(rng, n, dk), random_matrix(rng, m, dk), random_matrix(rng, m, dv)
        mask = random_mask(rng, n, m)
        given = {"Q": q, "K": k, "V": v, "heads": heads} | ({"mask": mask} if mask is not None else {})
        answers = run(given)
        scores, scaled, weights, output = torch_reference(q, k, v, mask, heads)
        if heads == 1:
            scores, scaled, weights = scores[0], scaled[0], weights[0]
        for name, want in (("scores", scores), ("scaled", scaled), ("weights", weights), ("output", output)):
            np.testing.assert_allclose(np.array(answers[name], dtype=float), want, rtol=1e-9, atol=1e-12,
                                       err_msg=f"{name}: {given}")


def test_projections_and_output_match_multihead_attention():
    rng = np.random.default_rng(4)
    for _ in range(60):
        heads = int(rng.integers(1, 3))
        d_model, n = heads * int(rng.integers(1, 3)), int(rng.integers(1, 5))
        causal = bool(rng.random() < 0.5)
        mha = torch.nn.MultiheadAttention(d_model, heads, bias=False, batch_first=True, dtype=torch.float64)
        x = torch.tensor(np.round(rng.normal(size=(1, n, d_model)), 3))
        wq, wk, wv = mha.in_proj_weight.detach().chunk(3)
        wo = mha.out_proj.weight.detach()
        mask = torch.ones(n, n, dtype=torch.bool).triu(1) if causal else None  # True = blocked in MHA
        want, _ = mha(x, x, x, attn_mask=mask, need_weights=False)
        given = {"X": x[0].tolist(), "Wq": wq.T.tolist(), "Wk": wk.T.tolist(), "Wv": wv.T.tolist(),
                 "Wo": wo.T.tolist(), "heads": heads} | ({"mask": "causal"} if causal else {})
        np.testing.assert_allclose(run(given)["output"], want[0].detach().numpy(), rtol=1e-9, atol=1e-12)


def test_integer_scores_stay_integers():
    answers = run({"Q": [[1, 2]], "K": [[3, 4], [5, 6]], "V": [[1], [2]]})
    assert answers["scores"] == [[11, 17]]


@pytest.mark.parametrize("given, field", [
    ({"Q": [[1, 2]], "K": [[1, 2, 3]], "V": [[1]]}, "K"),
    ({"Q": [[1, 2]], "K": [[1, 2]], "V": [[1], [2]]}, "V"),
    ({"Q": [[1, 2, 3]], "K": [[1, 2, 3]], "V": [[1, 2]], "heads": 2}, "heads"),
    ({"Q": [[1, 2]], "K": [[1, 2]], "V": [[1]], "mask": [[0]]}, "mask"),
    ({"Q": [[1, 2]], "K": [[1, 2]], "V": [[1]], "mask": [[1, 1]]}, "mask"),
    ({"X": [[1, 2]], "Wq": [[1]], "Wk": [[1]], "Wv": [[1]]}, "Wq"),
    ({"Q": [[1]], "K": [[1]]}, "V"),
    ({"Q": [[1]], "K": [[1]], "V": [[1]], "X": [[1]]}, "X"),
])
def test_inconsistent_shapes_name_the_field(given, field):
    with pytest.raises(BadInput) as error:
        run(given)
    assert error.value.field == field


@pytest.mark.parametrize("given, words", [
    ({"Q": [[1]], "K": [[1]], "V": [[1]], "mask": "upper"}, "causal"),
    ({"Q": [[1]], "K": [[1]], "V": [[1]], "mask": [[2]]}, "0/1"),
])
def test_malformed_input(given, words):
    with pytest.raises(ValueError) as error:
        AttentionInput.model_validate(given)
    assert words in str(error.value)


EXAMPLE = """
problems:
  - id: att
    kind: attention
    given:
      Q: [[1, 0], [0, 1]]
      K: [[1, 0], [1, 1]]
      V: [[1, 2], [3, 4]]
      mask: causal
"""

EXPECTED = """\
att  (attention)
  Given: Q = [[1, 0], [0, 1]], K = [[1, 0], [1, 1]], V = [[1, 2], [3, 4]], mask = causal
  Convention: Attention(Q, K, V) = softmax(QKᵀ/√d_k)·V, the softmax along each row (one row per 
query), d_k the width of a head's queries.
  Convention: Causal mask: query i attends to keys 1…i only (top-left aligned, as PyTorch).
  1. Score of query 1 against key 1: their dot product.
     S[1, 1] = 1·1 + 0·0 = 1
  2. Score of query 1 against key 2: their dot product.
     S[1, 2] = 1·1 + 0·1 = 1
  3. Scores: every query against every key.
     S = QKᵀ = [[1, 0], [0, 1]][[1, 0], [1, 1]]ᵀ =
       ⎡ 1  1 ⎤
       ⎣ 0  1 ⎦
  4. Scaled by √d_k with d_k = 2.
     S/√d_k = S/√(d_k) = [[1, 1], [0, 1]]/√(2) =
       ⎡ 0.7071  0.7071 ⎤
       ⎣      0  0.7071 ⎦
  5. Masked: a key a query may not see gets −∞, so its weight will be 0.
     ⎡ 0.7071      -∞ ⎤
     ⎣      0  0.7071 ⎦
  6. Row 2: its largest scaled score.
     m = max(0, 0.7071) = 0.7071
  7. Shift by it:
     u = z − m = [0, 0.7071] − 0.7071 = [−0.7071, 0]
  8. Exponentials:
     e = exp(u) = exp([−0.7071, 0]) = [0.4931, 1]
  9. Their sum:
     Σe = Σ e = Σ [0.4931, 1] = 1.4931
  10. Row 2 of the weights: each exponential over the sum.
     A[2, :] = e/Σe = [0.4931, 1]/1.4931 = [0.3302, 0.6698]
  11. Weights: softmax of each row.
     A = softmax(masked S/√d_k) =
       ⎡      1       0 ⎤
       ⎣ 0.3302  0.6698 ⎦
  12. Output: each row is the weighted average of the value rows.
     O = AV = [[1, 0], [0.3302, 0.6698]][[1, 2], [3, 4]] =
       ⎡      1       2 ⎤
       ⎣ 2.3395  3.3395 ⎦
  Answer scores =
     ⎡ 1  1 ⎤
     ⎣ 0  1 ⎦
  Answer scaled =
     ⎡ 0.7071  0.7071 ⎤
     ⎣      0  0.7071 ⎦
  Answer weights =
     ⎡      1       0 ⎤
     ⎣ 0.3302  0.6698 ⎦
  Answer output =
     ⎡      1       2 ⎤
     ⎣ 2.3395  3.3395 ⎦

"""


def test_terminal_text_of_a_worked_example():
    from rich.console import Console

    from solver.render.terminal import render_terminal

    console = Console(file=io.StringIO(), width=100, color_system=None)
    render_terminal(console, [solve_problem_set(load_problem_set(EXAMPLE, "example.yaml"))])
    assert console.file.getvalue() == EXPECTED
