"""Kind `loss`: a loss value on its own and its gradient with respect to the scores —
softmax cross-entropy (with temperature and label smoothing), negative log-likelihood, binary
cross-entropy on probabilities or logits, mean squared error, CS231n's multiclass SVM (hinge)
loss and KL divergence — for one sample or a mini-batch (batch first).

The cross-entropy steps use the log-sum-exp trick, log Σ e^z = m + log Σ e^(z − m) with m the
row maximum, and say why when the scores are large enough for e^z to overflow.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from ...context import Context
from ...errors import BadInput
from ...formula import Num, Sym, call, total
from ...inputs import KindInput, choice
from ...registry import register
from ...steps import Formula, Solution
from . import _layer_common as common

TYPES = ("ce", "nll", "bce", "bce-logits", "mse", "hinge", "kl")
_ALIASES = {"cross-entropy": "ce", "softmax": "ce", "softmax-cross-entropy": "ce", "crossentropy": "ce",
            "nll-loss": "nll", "binary-cross-entropy": "bce", "bce-with-logits": "bce-logits",
            "bcewithlogits": "bce-logits", "logistic": "bce-logits", "l2": "mse", "svm": "hinge",
            "multiclass-svm": "hinge", "kl-div": "kl", "kldiv": "kl", "kl-divergence": "kl"}
CLASS_TYPES = ("ce", "nll", "hinge", "kl")  # scores N×C, one row per sample
LARGE_SCORE = 30.0  # past this e^z loses the small terms in floating point, or overflows at 710

S = Sym("s")
Z = Sym("z")
T = Sym("t")
TEMPERATURE = Sym("T")
COUNT = Sym("N")
P = Sym("p")
LOSS = Sym("L")
ELL = Sym("ell", text="ℓ", latex=r"\ell")


class LossInput(KindInput):
    type: str = Field(description="ce (softmax cross-entropy), nll (given log-probabilities), bce, "
                                  "bce-logits, mse, hinge (multiclass SVM), kl")
    scores: Any = Field(description="N×C scores (one row per sample), or C for one sample; bce: "
                                    "probabilities; nll: log-probabilities; bce, bce-logits, mse: any shape")
    target: Any = Field(description="class indices (one axis fewer than scores), or one-hot / "
                                    "probabilities shaped like scores")
    temperature: float = Field(1.0, description="ce, nll: scores are divided by it")
    label_smoothing: float = Field(0.0, description="ce: targets become t(1 − ε) + ε/C, as PyTorch")
    reduction: Literal["mean", "sum"] = Field("mean", description="mean (PyTorch's: over samples for "
                                              "ce, nll, hinge, kl; over all elements for bce, mse) or sum")
    margin: float = Field(1.0, description="hinge: the margin Δ")
    show: Literal["first", "all"] = Field("first", description="work the first samples in full, or all")

    @field_validator("type")
    @classmethod
    def _type(cls, value):
        return choice(value, TYPES, _ALIASES, name="type", fold={"_": "-"}, suggest=True,
                      message="unknown loss {value}{suggestion}; losses: {options}")

    @field_validator("scores")
    @classmethod
    def _scores(cls, value):
        return common.numeric_array(value, "scores")

    @field_validator("target")
    @classmethod
    def _target(cls, value):
        return common.numeric_array(value, "target")

    @field_validator("temperature")
    @classmethod
    def _temperature(cls, value):
        if not value > 0 or value == float("inf"):
            raise ValueError("temperature must be a positive number")
        return value

    @field_validator("label_smoothing")
    @classmethod
    def _smoothing(cls, value):
        if not 0 <= value <= 1:
            raise ValueError("label_smoothing must lie between 0 and 1")
        return value

    @field_validator("margin")
    @classmethod
    def _margin(cls, value):
        if value != value or abs(value) == float("inf"):
            raise ValueError("margin must be a finite number")
        return value


# --- reading the input ---------------------------------------------------------------------------


def _check_options(given: LossInput) -> None:
    if given.temperature != 1 and given.type not in ("ce", "nll"):
        raise BadInput(f"temperature applies to ce and nll, not to {given.type}", field="temperature")
    if given.label_smoothing != 0 and given.type != "ce":
        raise BadInput(f"label_smoothing applies to ce, not to {given.type}", field="label_smoothing")
    if given.margin != 1 and given.type != "hinge":
        raise BadInput(f"margin applies to hinge, not to {given.type}", field="margin")


def _class_target(given: LossInput, scores):
    """(scores N×C, target N×C as a distribution, class labels or None, single sample?)."""
    import numpy as np

    if scores.ndim not in (1, 2):
        raise BadInput(f"scores of {given.type} must be C values (one sample) or N×C (one row per "
                       f"sample), got shape {common.shape_text(scores.shape)}", field="scores")
    single = scores.ndim == 1
    rows = scores[None] if single else scores
    n, classes = rows.shape
    raw = np.asarray(given.target, dtype=float)
    if single and raw.shape == (1,) and classes > 1:
        raw = raw.reshape(())  # one sample's class index written as a one-element list
    if raw.ndim == scores.ndim - 1:
        labels = raw.reshape(n) if raw.size == n else None
        if labels is None:
            raise BadInput(f"target holds {raw.size} class indices but scores have {n} sample"
                           f"{'s' if n > 1 else ''}", field="target")
        if given.type == "kl":
            raise BadInput("kl needs target as a distribution shaped like scores (one row per sample)",
                           field="target")
        if np.any(labels != np.round(labels)) or np.any(labels < 0) or np.any(labels >= classes):
            raise BadInput(f"target class indices must be whole numbers from 0 to {classes - 1}", field="target")
        labels = labels.astype(int)
        dist = np.zeros_like(rows)
        dist[np.arange(n), labels] = 1.0
        return rows, dist, labels, single
    if raw.shape != scores.shape:
        raise BadInput(f"target has shape {common.shape_text(raw.shape)}; give class indices "
                       f"({common.shape_text(scores.shape[:-1])}) or a distribution shaped like scores "
                       f"({common.shape_text(scores.shape)})", field="target")
    dist = raw[None] if single else raw
    if np.any(dist < 0):
        raise BadInput("target probabilities cannot be negative", field="target")
    labels = None
    if given.type == "hinge":
        one_hot = np.all((dist == 0) | (dist == 1)) and np.all(dist.sum(axis=1) == 1)
        if not one_hot:
            raise BadInput("hinge needs class indices or one-hot rows as target", field="target")
        labels = dist.argmax(axis=1)
    return rows, dist, labels, single


def _samples(n: int, show: str) -> list[int]:
    return list(range(min(n, common.ALL_SHOWN_UP_TO if show == "all" else common.FIRST_SHOWN)))


def _row_sym(name: str, n: int, index: int, latex: str | None = None) -> Sym:
    return common.element_symbol(name, (index,) if n > 1 else (), latex)


# --- softmax-family losses -----------------------------------------------------------------------


def _temperature_step(sol: Solution, ctx: Context, scores, temperature: float):
    if temperature == 1:
        return scores
    sol.convention(f"Temperature T = {temperature:g}: the scores are divided by T before the softmax; "
                   "dscores is with respect to the raw scores, so it carries a factor 1/T.")
    import numpy as np

    return np.asarray(ctx.hand_round(sol.add("Scores divided by the temperature:",
                                             Formula(Z, S / TEMPERATURE, {"s": scores, "T": temperature}))))


def _smoothing_step(sol: Solution, dist, eps: float):
    if eps == 0:
        return dist
    classes = dist.shape[1]
    sol.convention(f"Label smoothing ε = {eps:g} (PyTorch): every target row becomes t(1 − ε) + ε/C with "
                   f"C = {classes} classes.")
    return sol.add("Smoothed targets:", Formula(T, T * (1 - Sym("eps")) + Sym("eps") / COUNT_C,
                                                 {"t": dist, "eps": eps, "C": classes}))


COUNT_C = Sym("C")


def _log_sum_exp(sol: Solution, z_row, n: int, i: int, label: str) -> float:
    """m + ln Σ e^(z − m) for one row, its terms written out."""
    values = z_row.tolist()
    m = max(values)
    text = f"Log-sum-exp of {label}: with m = max = {m:g}, ln Σ e^z = m + ln Σ e^(z − m)."
    symbol = _row_sym("LSE", n, i, r"\mathrm{LSE}")
    if len(values) > common.MAX_TERMS_WRITTEN:
        return sol.add(text, Formula(symbol, Num(m) + call("log", total(call("exp", Z - Num(m)))), {"z": z_row},
                                     substitute=False))
    shift = [Num(v) - Num(m) for v in values]
    return sol.add(text, Formula(symbol, Num(m) + call("log", common.sum_expr([call("exp", e) for e in shift]))))


def _ce(sol, ctx, given, scores, dist, labels, count, single):
    import numpy as np

    from ...nn import loss as nn_loss

    n = len(scores)
    z = _temperature_step(sol, ctx, scores, given.temperature)
    dist = _smoothing_step(sol, dist, given.label_smoothing)
    big = float(np.abs(z).max()) >= LARGE_SCORE
    if big:
        sol.note(f"The scores reach {float(np.abs(z).max()):g}: e^z alone would lose every other term in "
                 "floating point (and overflows past 709). Subtracting the row maximum m first, "
                 "log Σ e^z = m + log Σ e^(z − m), keeps every exponent ≤ 0 — the log-sum-exp trick.")
    sol.convention("Cross-entropy of a row: ℓ = −Σ_j t_j·ln softmax(z)_j = LSE(z) − Σ_j t_j z_j when the "
                   "targets sum to 1 (LSE(z) = ln Σ e^(z_j)); natural logarithm.")
    for i in _samples(n, given.show):
        label = "the sample" if n == 1 else f"sample {i + 1}"
        lse = _log_sum_exp(sol, z[i], n, i, label)
        if labels is not None and given.label_smoothing == 0:
            y = int(labels[i])
            sol.add(f"Loss of {label}: LSE minus the score of the true class {y} "
                                    f"(classes counted from 0).",
                                    Formula(_row_sym("ℓ", n, i, r"\ell"), Num(lse) - Num(float(z[i, y]))))
        else:
            pairs = [(float(t), float(v)) for t, v in zip(dist[i], z[i]) if t != 0]
            if len(pairs) > common.MAX_TERMS_WRITTEN:
                sol.add(f"Loss of {label}: ℓ = LSE·Σt − Σ t_j z_j ({len(pairs)} terms).",
                        value=float(lse * dist[i].sum() - (dist[i] * z[i]).sum()))
                continue
            expr = Num(lse) * Num(float(dist[i].sum())) - common.products_expr(pairs)
            sol.add(f"Loss of {label}: ℓ = LSE·Σt − Σ t_j z_j.",
                                    Formula(_row_sym("ℓ", n, i, r"\ell"), expr))
    losses, probs, dscores = nn_loss.cross_entropy(scores, dist, count, given.temperature)
    return _finish(sol, ctx, given, losses, probs, dscores, count, single, dist)


def _finish(sol, ctx, given, losses, probs, dscores, count, single, dist):
    import numpy as np

    unshape = (lambda a: a[0]) if single else (lambda a: a)
    if probs is not None:
        what = "softmax(z)" if given.type == "ce" else "e^z"
        sol.add(f"Probabilities {what} = e^(z − LSE(z)), row by row:" if given.type == "ce" else
                "Probabilities e^(log-probability):", value=ctx.hand_round(common.plain(unshape(probs))),
                answer="probs")
    _loss_value(sol, ctx, given, losses, count)
    shape = common.shape_text(np.shape(unshape(dscores)))
    bindings = {"p": unshape(probs), "t": unshape(dist), "N": count, "T": given.temperature}
    if given.type == "ce" and np.allclose(dist.sum(axis=1), 1):
        text, expr = "Gradient with respect to the scores, (p − t)/(N·T) — the targets sum to 1 in every row", \
            (P - T) / (COUNT * TEMPERATURE)
    elif given.type == "ce":
        text, expr = "Gradient with respect to the scores, (p·Σt − t)/(N·T)", None
    else:
        text, expr = "Gradient with respect to the scores, −t/(N·T) (nll is linear in them)", \
            -T / (COUNT * TEMPERATURE)
    text += f"; shape {shape}, like the scores:"
    if expr is not None:
        written = sol.add(text, Formula(Sym("dscores", text="∂L/∂s", latex=r"\partial L/\partial s"), expr, bindings))
        error = float(np.max(np.abs(np.asarray(written) - unshape(dscores))))
        sol.check("dscores: the formula equals the vectorised gradient", error < 1e-12, error=error)
        sol.set_answer("dscores", ctx.hand_round(common.plain(unshape(dscores))))
        return sol
    sol.add(text, value=ctx.hand_round(common.plain(unshape(dscores))), answer="dscores")
    return sol


def _loss_value(sol, ctx, given, losses, count):
    """The reduction of the per-sample (or per-element) losses: their sum over `count`."""
    how = ("the mean over the samples" if given.type in CLASS_TYPES else "the mean over all elements") \
        if given.reduction == "mean" else "the sum"
    flat = [float(v) for v in losses.reshape(-1)]
    if len(flat) <= common.MAX_TERMS_WRITTEN:
        expr = common.sum_expr([Num(v) for v in flat])
        formula = Formula(LOSS, expr / Num(count) if count != 1 else expr)
    else:
        formula = Formula(LOSS, total(ELL) / Num(count), {"ell": losses})
    value = sol.add(f"The loss is {how} of the {'sample' if given.type in CLASS_TYPES else 'element'} "
                    f"losses (reduction: {given.reduction}).", formula)
    sol.set_answer("loss", ctx.hand_round(float(value)))


def _nll(sol, ctx, given, scores, dist, labels, count, single):
    from ...nn import loss as nn_loss

    n = len(scores)
    z = _temperature_step(sol, ctx, scores, given.temperature)
    sol.convention("nll: the scores are log-probabilities already; ℓ = −Σ_j t_j z_j per sample (no softmax "
                   "is applied, as PyTorch's nll_loss).")
    for i in _samples(n, given.show):
        label = "the sample" if n == 1 else f"sample {i + 1}"
        pairs = [(float(t), float(v)) for t, v in zip(dist[i], z[i]) if t != 0]
        if len(pairs) > common.MAX_TERMS_WRITTEN:
            sol.add(f"Loss of {label}: −Σ t_j z_j ({len(pairs)} terms).", value=float(-(dist[i] * z[i]).sum()))
            continue
        sol.add(f"Loss of {label}: minus the log-probability of the target.",
                Formula(_row_sym("ℓ", n, i, r"\ell"), -common.products_expr(pairs)))
    losses, probs, dscores = nn_loss.negative_log_likelihood(scores, dist, count, given.temperature)
    return _finish(sol, ctx, given, losses, probs, dscores, count, single, dist)


# --- the other losses ----------------------------------------------------------------------------


def _elementwise(sol, ctx, given, scores, target):
    import numpy as np

    from ...nn import loss as nn_loss

    count = scores.size if given.reduction == "mean" else 1
    s, t = scores.reshape(-1), target.reshape(-1)
    first = range(min(len(s), common.ALL_SHOWN_UP_TO if given.show == "all" else common.FIRST_SHOWN))
    for k in first:
        index = np.unravel_index(k, scores.shape) if scores.ndim else ()
        sym = common.element_symbol("ℓ", tuple(int(i) for i in index), r"\ell")
        sv, tv = float(s[k]), float(t[k])
        if given.type == "bce":
            expr = -(Num(tv) * call("log", Num(sv)) + (Num(1) - Num(tv)) * call("log", Num(1) - Num(sv)))
            if sv in (0.0, 1.0):
                continue  # ln 0: PyTorch clamps it to −100, said in the conventions
        elif given.type == "bce-logits":
            expr = call("max", Num(sv), Num(0)) - Num(sv) * Num(tv) + call("log", Num(1) + call(
                "exp", -call("abs", Num(sv))))
        else:
            expr = (Num(sv) - Num(tv)) ** 2
        sol.add("Loss of one element:", Formula(sym, expr))
    if given.type == "bce":
        sol.convention("bce: ℓ = −[t ln p + (1 − t) ln(1 − p)] per element, p a probability; ln 0 is clamped "
                       "to −100 as PyTorch's BCELoss; ∂ℓ/∂p = (p − t)/(p(1 − p)).")
        losses, dscores = nn_loss.binary_cross_entropy(scores, target, count)
    elif given.type == "bce-logits":
        sol.convention("bce-logits: ℓ = −[t ln σ(s) + (1 − t) ln(1 − σ(s))], computed as max(s, 0) − s·t + "
                       "ln(1 + e^(−|s|)) so that no exponential overflows; ∂ℓ/∂s = σ(s) − t.")
        losses, dscores = nn_loss.binary_cross_entropy_with_logits(scores, target, count)
    else:
        sol.convention("mse: ℓ = (s − t)² per element; ∂ℓ/∂s = 2(s − t).")
        losses, dscores = nn_loss.mean_squared_error(scores, target, count)
    _loss_value(sol, ctx, given, losses, count)
    sol.add(f"Gradient with respect to the scores (each element's derivative divided by {count:g}); "
            f"shape {common.shape_text(scores.shape)}, like the scores.",
            value=ctx.hand_round(common.plain(dscores)), answer="dscores")
    return sol


def _hinge(sol, ctx, given, scores, labels, count, single):
    from ...nn import loss as nn_loss

    sol.convention(f"Multiclass SVM loss (CS231n): ℓ = Σ over wrong classes j of max(0, s_j − s_y + Δ), "
                   f"Δ = {given.margin:g}; not PyTorch's MultiMarginLoss, which also divides by C. A margin of "
                   "exactly 0 contributes no gradient.")
    n = len(scores)
    losses, dscores = nn_loss.multiclass_hinge(scores, labels, count, given.margin)
    for i in _samples(n, given.show):
        y = int(labels[i])
        terms = [call("max", Num(0), Num(float(scores[i, j])) - Num(float(scores[i, y])) + Num(given.margin))
                 for j in range(scores.shape[1]) if j != y]
        label = "the sample" if n == 1 else f"sample {i + 1}"
        if len(terms) > common.MAX_TERMS_WRITTEN:
            sol.add(f"Loss of {label} (true class {y}, counted from 0; {len(terms)} margins):",
                    value=float(losses[i]))
            continue
        sol.add(f"Loss of {label} (true class {y}, counted from 0):",
                Formula(_row_sym("ℓ", n, i, r"\ell"), common.sum_expr(terms) if terms else Num(0.0)))
    _loss_value(sol, ctx, given, losses, count)
    sol.add("Gradient: +1 for each wrong class with a positive margin, −(their number) for the true class, "
            f"divided by {count:g}; shape like the scores.",
            value=ctx.hand_round(common.plain(dscores[0] if single else dscores)), answer="dscores")
    return sol


def _kl(sol, ctx, given, scores, dist, count, single):
    from ...nn import loss as nn_loss

    sol.convention("KL(t ‖ softmax(s)) = Σ t·(ln t − log_softmax(s)) per sample, 0·ln 0 = 0; mean over "
                   "samples is PyTorch's reduction 'batchmean'.")
    n = len(scores)
    losses, dscores = nn_loss.kl_divergence(scores, dist, count)
    for i in _samples(n, given.show):
        label = "the scores" if n == 1 else f"sample {i + 1}"
        lse = _log_sum_exp(sol, scores[i], n, i, label)
        terms = [Num(float(t)) * (call("log", Num(float(t))) - (Num(float(v)) - Num(lse)))
                 for t, v in zip(dist[i], scores[i]) if t > 0]
        if len(terms) > common.MAX_TERMS_WRITTEN:
            sol.add(f"KL of {label} ({len(terms)} terms):", value=float(losses[i]))
            continue
        sol.add(f"KL of {label}: log_softmax(s) = s − LSE.",
                Formula(_row_sym("KL", n, i), common.sum_expr(terms) if terms else Num(0.0)))
    _loss_value(sol, ctx, given, losses, count)
    sol.add("Gradient: (softmax(s)·Σt − t)/N, that is softmax(s) − t per sample when t sums to 1; shape "
            "like the scores.", value=ctx.hand_round(common.plain(dscores[0] if single else dscores)),
            answer="dscores")
    return sol


@register(
    "loss",
    LossInput,
    imports=("numpy",),
    summary="A loss on its own and ∂loss/∂scores: softmax cross-entropy (temperature, label smoothing), "
            "nll, bce, bce-logits, mse, multiclass SVM hinge, KL; mean or sum over a mini-batch.",
    answers={"loss": "the loss value (after the reduction)",
             "probs": "ce: softmax of the (temperature-scaled) scores; nll: e^(log-probability)",
             "dscores": "∂loss/∂scores, shaped like scores"},
    example='--type ce --scores "[2, 1, 0.1]" --target 0',
    template={"type": "ce", "scores": [[2, 1, 0.1], [0.5, 2.5, -1]], "target": [0, 1]},
)
def solve(given: LossInput, ctx: Context) -> Solution:
    _check_options(given)
    scores = common.array(given.scores)
    sol = Solution()
    if ctx.round_intermediate:
        sol.convention(f"round_intermediate: the answers are rounded to {ctx.decimals} decimals; the working "
                       "keeps full precision.")
    if given.type in CLASS_TYPES:
        rows, dist, labels, single = _class_target(given, scores)
        count = len(rows) if given.reduction == "mean" else 1
        if given.type == "ce":
            return _ce(sol, ctx, given, rows, dist, labels, count, single)
        if given.type == "nll":
            return _nll(sol, ctx, given, rows, dist, labels, count, single)
        if given.type == "hinge":
            return _hinge(sol, ctx, given, rows, labels, count, single)
        return _kl(sol, ctx, given, rows, dist, count, single)
    target = common.array(given.target)
    if target.shape != scores.shape:
        raise BadInput(f"target of {given.type} must be shaped like scores ({common.shape_text(scores.shape)}), "
                       f"got {common.shape_text(target.shape)}", field="target")
    if given.type == "bce" and ((scores < 0).any() or (scores > 1).any()):
        raise BadInput("bce takes probabilities between 0 and 1 as scores (use bce-logits for raw scores)",
                       field="scores")
    return _elementwise(sol, ctx, given, scores, target)
