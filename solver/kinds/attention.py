"""Kind `attention`: scaled dot-product attention step by step — scores QKᵀ, scaled by √d_k,
masked (causal or given), softmax weights row by row, output weights·V — from Q, K, V or
from X and projection matrices, with one or several heads (and an output projection Wo).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from ..context import Context
from ..errors import BadInput
from ..formula import Num, Sym, call, total
from ..inputs import KindInput, matrix_shape
from ..registry import register
from ..steps import Formula, Solution

SUBSTITUTE_UP_TO = 16  # matrices with more entries are not written out inside a formula
DETAIL_COLUMNS = 4  # how many scores of the first row are shown as dot products
_MATRICES = ("Q", "K", "V", "X", "Wq", "Wk", "Wv", "Wo")




class AttentionInput(KindInput):
    Q: Any = Field(None, description="queries, one row per query (n×d_k)")
    K: Any = Field(None, description="keys, one row per key (m×d_k)")
    V: Any = Field(None, description="values, one row per key (m×d_v)")
    X: Any = Field(None, description="instead of Q, K, V: the tokens (n×d_model), with Wq, Wk, Wv")
    Wq: Any = Field(None, description="query projection (d_model×d_k): Q = X·Wq")
    Wk: Any = Field(None, description="key projection: K = X·Wk")
    Wv: Any = Field(None, description="value projection: V = X·Wv")
    Wo: Any = Field(None, description="output projection applied to the concatenated heads")
    mask: Any = Field(None, description="causal, or a 0/1 matrix (queries × keys), 1 = may attend")
    heads: int = Field(1, description="number of heads; each takes a block of columns")

    @field_validator(*_MATRICES)
    @classmethod
    def _matrix(cls, value, info):
        if value is None:
            return None
        shape = matrix_shape(value, name=info.field_name)
        if len(shape) == 1:  # one row vector: a single token
            value, shape = [value], (1,) + shape
        if len(shape) != 2:
            raise ValueError(f"{info.field_name} must be a matrix (a list of rows)")
        return value

    @field_validator("mask")
    @classmethod
    def _mask(cls, value):
        if value is None:
            return None
        if isinstance(value, str):
            if value.strip().lower() != "causal":
                raise ValueError("mask must be `causal` or a 0/1 matrix (1 = may attend)")
            return "causal"
        rows_ok = isinstance(value, list) and value and all(isinstance(r, list) and r for r in value)
        if not rows_ok or len({len(r) for r in value}) != 1:
            raise ValueError("mask must be `causal` or a rectangular 0/1 matrix (queries × keys)")
        if any(isinstance(v, list) or v not in (0, 1) for row in value for v in row):
            raise ValueError("mask entries must be 0/1 or true/false (1 = may attend)")
        return [[bool(v) for v in row] for row in value]

    @field_validator("heads")
    @classmethod
    def _heads(cls, value):
        if value < 1:
            raise ValueError("heads must be at least 1")
        return value


def _check_source(given: AttentionInput) -> None:
    """Q, K and V, or X with its three projections: one source, complete."""
    direct = {"Q": given.Q, "K": given.K, "V": given.V}
    projected = {"X": given.X, "Wq": given.Wq, "Wk": given.Wk, "Wv": given.Wv}
    given_direct = [n for n, v in direct.items() if v is not None]
    given_projected = [n for n, v in projected.items() if v is not None]
    if given_direct and given_projected:
        raise BadInput("give either Q, K, V or X with Wq, Wk, Wv, not both", field=given_projected[0])
    chosen = projected if given_projected else direct
    missing = [n for n, v in chosen.items() if v is None]
    if missing:
        raise BadInput(f"missing {', '.join(missing)}: give Q, K, V, or X with Wq, Wk, Wv", field=missing[0])


def _array(value):
    import numpy as np

    array = np.array(value)
    return array if array.dtype.kind in "iu" else array.astype(float)


def _sym(name: str, head: int | None = None) -> Sym:
    if head is None:
        return Sym(name)
    return Sym(f"{name}_{head}", text=f"{name}{_subscript(head)}", latex=f"{name}_{{{head}}}")


def _subscript(number: int) -> str:
    return str(number).translate(str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉"))


def _small(*arrays) -> bool:
    return all(a.size <= SUBSTITUTE_UP_TO for a in arrays)


def _projections(sol: Solution, given: AttentionInput):
    """Q, K, V as arrays: given directly, or X times each projection."""
    if given.Q is not None:
        return _array(given.Q), _array(given.K), _array(given.V)
    x = _array(given.X)
    sol.convention("Projections multiply on the right: Q = X·Wq, K = X·Wk, V = X·Wv (X is tokens × d_model).")
    out = []
    for name, weights in (("Q", given.Wq), ("K", given.Wk), ("V", given.Wv)):
        w = _array(weights)
        if w.shape[0] != x.shape[1]:
            raise BadInput(f"W{name.lower()} has {w.shape[0]} rows but X has {x.shape[1]} columns (d_model)",
                           field=f"W{name.lower()}")
        sym_w = Sym(f"W{name.lower()}", latex=rf"W_{{{name.lower()}}}")
        out.append(_array(sol.add(f"{name} = X·W{name.lower()}:",
                                  Formula(Sym(name), Sym("X") @ sym_w, {"X": x, sym_w.name: w},
                                          substitute=_small(x, w)))))
    return tuple(out)


def _check_shapes(q, k, v, heads: int, mask) -> None:
    if q.shape[1] != k.shape[1]:
        raise BadInput(f"Q has {q.shape[1]} columns but K has {k.shape[1]}: queries and keys need the "
                       "same d_k", field="K")
    if k.shape[0] != v.shape[0]:
        raise BadInput(f"K has {k.shape[0]} rows but V has {v.shape[0]}: one value per key", field="V")
    for name, width in (("Q", q.shape[1]), ("V", v.shape[1])):
        if width % heads:
            raise BadInput(f"{heads} heads need the width of {name} ({width}) to divide evenly",
                           field="heads")
    if isinstance(mask, list) and (len(mask), len(mask[0])) != (q.shape[0], k.shape[0]):
        raise BadInput(f"mask is {len(mask)}×{len(mask[0])} but there are {q.shape[0]} queries and "
                       f"{k.shape[0]} keys", field="mask")


def _allowed(mask, queries: int, keys: int):
    """Boolean matrix: True where query i may attend to key j (None: everywhere)."""
    import numpy as np

    if mask is None:
        return None
    if mask == "causal":
        allowed = np.tril(np.ones((queries, keys), dtype=bool))
    else:
        allowed = np.array(mask, dtype=bool)
    empty = [i + 1 for i in range(queries) if not allowed[i].any()]
    if empty:
        raise BadInput(f"mask leaves query {empty[0]} no key to attend to (its softmax is undefined)",
                       field="mask")
    return allowed


def _score_details(sol: Solution, q, k, head: int | None) -> None:
    """The first query's scores as dot products: where each number comes from."""
    label = "" if head is None else f" (head {head})"
    for j in range(min(k.shape[0], DETAIL_COLUMNS)):
        terms = [Num(a) * Num(b) for a, b in zip(q[0].tolist(), k[j].tolist())]
        expr = terms[0]
        for term in terms[1:]:
            expr = expr + term
        sol.add(f"Score of query 1 against key {j + 1}{label}: their dot product.",
                Formula(Sym(f"S_1_{j}", text=f"S[1, {j + 1}]", latex=f"S_{{1,{j + 1}}}"), expr))
    if k.shape[0] > DETAIL_COLUMNS:
        sol.note("The other scores are dot products in the same way.")


def _softmax_detail(sol: Solution, logits, head: int | None) -> None:
    """How one row of weights comes out (the first row that sees the most keys, so a causal
    mask does not leave a trivial row): shift by the maximum, exponentiate, normalise."""
    import numpy as np

    label = "" if head is None else f" of head {head}"
    r = int(np.argmax(np.isfinite(logits).sum(axis=1)))
    z = logits[r]
    finite = [v for v in z.tolist() if v != float("-inf")]
    m = sol.add(f"Row {r + 1}{label}: its largest scaled score.",
                Formula(Sym("m"), call("max", *finite) if len(finite) > 1 else Num(finite[0])))
    u, e, e_sum = Sym("u"), Sym("e"), Sym("e_sum", text="Σe", latex=r"\Sigma e")
    masked = len(finite) < len(z)
    shifted = sol.add("Shift by it" + (" (masked entries stay −∞):" if masked else ":"),
                      Formula(u, Sym("z") - Sym("m"), {"z": z, "m": m}))
    exps = sol.add("Exponentials" + (" (e^−∞ = 0):" if masked else ":"), Formula(e, call("exp", u), {"u": np.asarray(shifted)}))
    denominator = sol.add("Their sum:", Formula(e_sum, total(e), {"e": np.asarray(exps)}))
    sol.add(f"Row {r + 1} of the weights: each exponential over the sum.",
            Formula(Sym(f"a_{r}", text=f"A[{r + 1}, :]", latex=rf"A_{{{r + 1},:}}"), e / e_sum,
                    {"e": np.asarray(exps), "e_sum": denominator}))


def _attend(sol: Solution, ctx: Context, q, k, v, allowed, head: int | None) -> dict:
    import numpy as np

    tag = "" if head is None else f" — head {head}"
    d_k = q.shape[1]
    qs, ks, vs = _sym("Q", head), _sym("K", head), _sym("V", head)
    bindings = {qs.name: q, ks.name: k, vs.name: v, "d_k": d_k}
    _score_details(sol, q, k, head)
    scores = ctx.hand_round(sol.add(f"Scores: every query against every key{tag}.",
                                    Formula(_sym("S", head), qs @ ks.T, bindings, substitute=_small(q, k))))
    d_sym = Sym("d_k", latex="d_k")
    scaled = ctx.hand_round(sol.add(f"Scaled by √d_k with d_k = {d_k}{tag}.",
                                    Formula(Sym("S_scaled", text="S/√d_k", latex=r"\tilde S"),
                                            _sym("S", head) / call("sqrt", d_sym),
                                            {_sym("S", head).name: np.asarray(scores), "d_k": d_k},
                                            substitute=_small(np.asarray(scores)))))
    logits = np.asarray(scaled, dtype=float)
    if allowed is not None:
        logits = np.where(allowed, logits, -np.inf)
        sol.add(f"Masked: a key a query may not see gets −∞, so its weight will be 0{tag}.", value=logits)
    _softmax_detail(sol, logits, head)
    weights = ctx.hand_round(sol.add(f"Weights: softmax of each row{tag}.",
                                     Formula(_sym("A", head), call("softmax_rows", Sym("Z", text="masked S/√d_k",
                                                                                  latex=r"\tilde S")),
                                             {"Z": logits}, substitute=False)))
    output = ctx.hand_round(sol.add(f"Output: each row is the weighted average of the value rows{tag}.",
                                    Formula(_sym("O", head), _sym("A", head) @ vs,
                                            {_sym("A", head).name: np.asarray(weights), vs.name: v},
                                            substitute=_small(np.asarray(weights), v))))
    return {"scores": scores, "scaled": scaled, "weights": weights, "output": output}


def _plain(value):
    return value.tolist() if hasattr(value, "tolist") else value


def _conventions(sol: Solution, given: AttentionInput) -> None:
    sol.convention("Attention(Q, K, V) = softmax(QKᵀ/√d_k)·V, the softmax along each row (one row per "
                   "query), d_k the width of a head's queries.")
    if given.mask == "causal":
        sol.convention("Causal mask: query i attends to keys 1…i only (top-left aligned, as PyTorch).")
    elif given.mask is not None:
        sol.convention("Mask: 1 (true) where a query may attend to a key, 0 where it may not.")
    if given.heads > 1:
        sol.convention(f"{given.heads} heads: head h takes the h-th block of columns of Q, K and V; the "
                       "heads' outputs are concatenated side by side (as PyTorch's MultiheadAttention).")


@register(
    "attention",
    AttentionInput,
    imports=("numpy",),
    summary="Scaled dot-product attention step by step: scores, scaled scores, softmax weights, "
            "output; from Q, K, V or X and projections; causal or given mask; several heads.",
    answers={"scores": "QKᵀ (one matrix per head when heads > 1)",
             "scaled": "QKᵀ/√d_k (before masking)",
             "weights": "softmax of the (masked) scaled scores, row by row",
             "output": "weights·V (heads concatenated, then ·Wo when given)"},
    example='--Q "[[1, 0], [0, 1]]" --K "[[1, 0], [1, 1]]" --V "[[1, 2], [3, 4]]"',
    template={"Q": [[1, 0], [0, 1]], "K": [[1, 0], [1, 1]], "V": [[1, 2], [3, 4]], "mask": "causal"},
)
def solve(given: AttentionInput, ctx: Context) -> Solution:
    import numpy as np

    _check_source(given)
    sol = Solution()
    _conventions(sol, given)
    q, k, v = _projections(sol, given)
    _check_shapes(q, k, v, given.heads, given.mask)
    allowed = _allowed(given.mask, q.shape[0], k.shape[0])
    h = given.heads
    if h == 1:
        result = _attend(sol, ctx, q, k, v, allowed, None)
        answers = {name: _plain(value) for name, value in result.items()}
        output = np.asarray(result["output"])
    else:
        dq, dv = q.shape[1] // h, v.shape[1] // h
        per_head = []
        for head in range(h):
            sol.note(f"Head {head + 1}: columns {head * dq + 1}–{(head + 1) * dq} of Q and K, "
                     f"{head * dv + 1}–{(head + 1) * dv} of V.")
            columns_qk, columns_v = slice(head * dq, (head + 1) * dq), slice(head * dv, (head + 1) * dv)
            per_head.append(_attend(sol, ctx, q[:, columns_qk], k[:, columns_qk], v[:, columns_v],
                                    allowed, head + 1))
        answers = {name: [_plain(r[name]) for r in per_head] for name in ("scores", "scaled", "weights")}
        output = ctx.hand_round(sol.add("The heads' outputs side by side:",
                                        value=np.concatenate([np.asarray(r["output"]) for r in per_head],
                                                             axis=1)))
    if given.Wo is not None:
        wo = _array(given.Wo)
        if wo.shape[0] != output.shape[1]:
            raise BadInput(f"Wo has {wo.shape[0]} rows but the attention output has {output.shape[1]} "
                           "columns", field="Wo")
        output = ctx.hand_round(sol.add("Output projection:", Formula(
            Sym("O_final", text="O·Wo", latex=r"O W_o"), Sym("O") @ Sym("Wo", latex="W_o"),
            {"O": np.asarray(output), "Wo": wo}, substitute=_small(np.asarray(output), wo))))
    answers["output"] = _plain(output)
    for name in ("scores", "scaled", "weights", "output"):
        sol.set_answer(name, answers[name])
    return sol
