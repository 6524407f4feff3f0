"""Worked steps of one layer's pass, written the same way for every layer type.

- `elementwise`: a formula over whole arrays (broadcasting), recorded once for the whole
  array and then once per shown element with that element's numbers substituted.
- `linear_elements`: an element of a map that is linear in one array (an output of a
  convolution in x, a gradient in dout) as its sum of products. Which terms it has is read
  off the layer itself: ∂out[m]/∂a[k] is the layer applied to a unit array e_k, so the same
  code serves affine, convolution, transposed convolution and locally connected layers.
- `sums`: an element of a reduction (db, dgamma, mean) as its sum, numbers written in.

Every written element is compared with the vectorised array (a check in the key).
"""

from __future__ import annotations

from collections.abc import Callable

from ...formula import Expr, Num, Op, Sym, hadamard, total
from ...steps import Formula, Solution
from . import _layer_common as common

SUBSTITUTE_UP_TO = 24  # whole-array formulas with at most this many values show them substituted
WORK_BUDGET = 30_000_000  # multiply-adds spent on reading off one quantity's written elements


def _unit(shape, index):
    import numpy as np

    e = np.zeros(shape)
    e[index] = 1.0
    return e


def _agree(sol: Solution, what: str, written: list[tuple[float, float]]) -> None:
    """Record that the elements worked by hand equal the vectorised array."""
    if not written:
        return
    error = max(abs(a - b) / max(1.0, abs(b)) for a, b in written)
    many = len(written) > 1
    sol.check(f"{what}: the {len(written)} element{'s' if many else ''} worked by hand equal{'' if many else 's'} "
              "the vectorised computation", error < 1e-9, error=error)


def elementwise(sol: Solution, text: str, name: str, expr: Expr, bindings: dict, show: str,
                latex: str | None = None, element_text: str | None = None):
    """The whole array from `expr`, then the shown elements with their own numbers."""
    import numpy as np

    arrays = {k: v for k, v in bindings.items() if isinstance(v, np.ndarray)}
    size = max((v.size for v in arrays.values()), default=1)
    # Numbers are substituted into the whole-array formula only for a few values of at most two
    # axes; otherwise the shown elements carry them.
    substitute = size <= SUBSTITUTE_UP_TO and all(v.ndim <= 2 for v in arrays.values())
    lhs = Sym(name, text=common.TEXT_NAMES.get(name, name), latex=latex or common.element_symbol(name, ()).latex)
    value = np.asarray(sol.add(text, Formula(lhs, expr, bindings, substitute=substitute)))
    if substitute and show != "all":
        return value  # every number is already written in the line above
    shape = value.shape
    broadcast = {k: (np.broadcast_to(v, shape) if isinstance(v, np.ndarray) else v) for k, v in bindings.items()}
    written = []
    scalar_expr = _scalar_form(expr)
    for index in common.shown_indices(shape, show):
        scalars = {k: (float(v[index]) if isinstance(v, np.ndarray) else v) for k, v in broadcast.items()}
        got = sol.add(element_text or f"Element {_place(index)}:",
                      Formula(common.element_symbol(name, index, latex), scalar_expr, scalars))
        written.append((float(got), float(value[index])))
    _agree(sol, name, written)
    return value


def _scalar_form(expr: Expr) -> Expr:
    """The formula for one element: element-wise products (⊙) become ordinary products."""
    if isinstance(expr, Op):
        return Op("*" if expr.op == "⊙" else expr.op, tuple(_scalar_form(a) for a in expr.args))
    return expr


def _place(index) -> str:
    return "[" + ", ".join(str(i + 1) for i in index) + "]"


def write_sum_of_products(sol: Solution, text: str, symbol: Sym, pairs: list[tuple[float, float]],
                          extra: float | None = None):
    """symbol = Σ a·b (+ extra): all terms when few, else Σ a ⊙ b over the two vectors."""
    import numpy as np

    if len(pairs) <= common.MAX_TERMS_WRITTEN:
        return sol.add(text, Formula(symbol, common.products_expr(pairs, extra)))
    a = np.array([p[0] for p in pairs])
    b = np.array([p[1] for p in pairs])
    expr = total(hadamard(Sym("a"), Sym("b")))
    if extra is not None:
        expr = expr + Num(extra)
    return sol.add(text + f" ({len(pairs)} products, written as Σ a ⊙ b)",
                   Formula(symbol, expr, {"a": a, "b": b}, substitute=False))


def linear_elements(sol: Solution, name: str, value, indices, coefficients: Callable, pattern: Callable,
                    operand, text: Callable, extra: Callable | None = None, latex: str | None = None,
                    plain_sum: bool = False, user_index: Callable | None = None):
    """value[k] = Σ_m operand[m]·coefficients(k)[m] (+ extra(k)) for each shown k; `pattern(k)` is
    nonzero where a term exists (so a zero weight still shows as a term)."""
    import numpy as np

    written = []
    for index in indices:
        symbol = common.element_symbol(name, user_index(index) if user_index else index, latex)
        where = np.nonzero(pattern(index))
        coef = coefficients(index)
        pairs = [(float(a), float(c)) for a, c in zip(operand[where], coef[where])]
        if plain_sum:  # every coefficient is 1: a plain sum
            if len(pairs) <= common.MAX_TERMS_WRITTEN:
                formula = Formula(symbol, common.sum_expr([Num(a) for a, _ in pairs]))
            else:
                formula = Formula(symbol, total(Sym("a")), {"a": np.array([a for a, _ in pairs])}, substitute=False)
            got = sol.add(text(index, len(pairs)), formula)
            written.append((float(got), float(value[index])))
            continue
        got = write_sum_of_products(sol, text(index, len(pairs)), symbol, pairs, extra(index) if extra else None)
        written.append((float(got), float(value[index])))
    _agree(sol, name, written)


def _limit(out, w) -> int:
    """How many elements fit the work budget: each costs two passes of the layer, about
    out.size·(w.size / output channels) multiply-adds each."""
    cost = 2 * out.size * max(1, w.size // max(1, out.shape[1]))
    return max(1, WORK_BUDGET // cost)


def _mapper(texts: dict, name: str):
    """The index as the user sees it (texts["index"], when the layer works on reshaped arrays)."""
    index = texts.get("index")
    return None if index is None else (lambda k: index(name, k))


def bilinear_forward_steps(sol: Solution, forward: Callable, backward_dx: Callable, x, w, b, out, show: str,
                           texts: dict):
    """Element steps of a layer out = f(x, w) + b, f linear in each of x and w; `forward(x, w, b)`
    and `backward_dx(dout, x, w)` are the layer's own."""
    import numpy as np

    ones_x, ones_w = np.ones_like(x), np.ones_like(w)
    bias = forward(np.zeros_like(x), w, b)
    limit = _limit(out, w)
    linear_elements(
        sol, "out", out, common.shown_indices(out.shape, show, limit),
        coefficients=lambda k: backward_dx(_unit(out.shape, k), x, w),
        pattern=lambda k: backward_dx(_unit(out.shape, k), ones_x, ones_w),
        operand=x, text=texts["out"], user_index=_mapper(texts, "out"), extra=lambda k: float(bias[k]) if bias[k] != 0 else None)


def bilinear_backward_steps(sol: Solution, forward: Callable, x, w, b, show: str, texts: dict, dout, grads):
    """Element steps of dx, dw and db: each is linear in dout, with the coefficients
    ∂out[m]/∂x[k], ∂out[m]/∂w[k], ∂out[m]/∂b[k] read off `forward` applied to unit arrays."""
    import numpy as np

    ones_x, ones_w, zero_b = np.ones_like(x), np.ones_like(w), np.zeros_like(b)
    dx, dw, db = grads
    limit = _limit(dout, w)
    zero_x, zero_w = np.zeros_like(x), np.zeros_like(w)
    linear_elements(
        sol, "dx", dx, common.shown_indices(dx.shape, show, limit),
        coefficients=lambda k: forward(_unit(x.shape, k), w, zero_b),
        pattern=lambda k: forward(_unit(x.shape, k), ones_w, zero_b),
        operand=dout, text=texts["dx"], user_index=_mapper(texts, "dx"))
    linear_elements(
        sol, "dw", dw, common.shown_indices(dw.shape, show, limit),
        coefficients=lambda k: forward(x, _unit(w.shape, k), zero_b),
        pattern=lambda k: forward(ones_x, _unit(w.shape, k), zero_b),
        operand=dout, text=texts["dw"], user_index=_mapper(texts, "dw"))
    linear_elements(
        sol, "db", db, common.shown_indices(db.shape, show, limit),
        coefficients=lambda k: forward(zero_x, zero_w, _unit(b.shape, k)),
        pattern=lambda k: forward(zero_x, zero_w, _unit(b.shape, k)),
        operand=dout, text=texts["db"], user_index=_mapper(texts, "db"), plain_sum=True)


def sums(sol: Solution, name: str, value, indices, terms: Callable, text: Callable,
         divide_by: Callable | None = None, latex: str | None = None):
    """value[k] = Σ terms(k) (÷ divide_by(k)) with the numbers written in; terms(k) gives a list of
    numbers, or of (a, b) pairs for a sum of products."""
    written = []
    for index in indices:
        items = terms(index)
        symbol = common.element_symbol(name, index, latex)
        if items and isinstance(items[0], tuple):
            if divide_by is None:
                got = write_sum_of_products(sol, text(index, len(items)), symbol, items)
                written.append((float(got), float(value[index])))
                continue
            expr = common.products_expr(items)
        else:
            expr = common.sum_expr([Num(float(v)) for v in items]) if items else Num(0.0)
        if divide_by is not None:
            expr = expr / Num(divide_by(index))
        if len(items) > common.MAX_TERMS_WRITTEN:
            # too long to write out: the value alone, from the same numbers
            import numpy as np

            flat = np.array(items, dtype=float) if not isinstance(items[0], tuple) \
                else np.array([a * b for a, b in items])
            got = flat.sum() / (divide_by(index) if divide_by else 1)
            sol.add(text(index, len(items)) + f" ({len(items)} terms)", value=float(got))
        else:
            got = sol.add(text(index, len(items)), Formula(symbol, expr))
        written.append((float(got), float(value[index])))
    _agree(sol, name, written)
