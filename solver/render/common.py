"""What every renderer shares: a formula step written as `lhs = symbolic = numbers = value`."""

from __future__ import annotations

from ..formula import Num, Sym, to_latex, to_text
from . import values


def _format_value(value, decimals: int, as_latex: bool) -> str:
    """A number or array as a formula shows it: LaTeX, or text with the formulas' minus sign."""
    return values.latex(value, decimals) if as_latex else values.unicode_minus(values.text(value, decimals))


def formula_chain(formula, decimals: int, latex: bool) -> list[str]:
    """The parts of `lhs = expr = expr(numbers) = value`, without repeats."""
    write = to_latex if latex else to_text
    lhs = write(formula.lhs)
    symbolic = write(formula.expr)
    parts = [lhs, symbolic]
    if formula.substitute and formula.bindings and not isinstance(formula.expr, (Num, Sym)):
        substituted = write(formula.expr, formula.bindings, decimals, _format_value)
        if substituted != symbolic:
            parts.append(substituted)
    result = _format_value(formula.value, decimals, latex)
    if result != parts[-1]:
        parts.append(result)
    return parts


def is_matrix(value) -> bool:
    return values.depth(values.to_plain(value)) >= 2


def given_items(given: dict) -> list[tuple[str, object]]:
    return list(given.items())
