"""How one value is written: plain text, LaTeX, or JSON-ready data.

Values are numbers (int, float, Fraction), nested lists or NumPy arrays, strings, booleans,
dicts (table rows) and sympy expressions (symbolic kinds). sympy is imported only when a
sympy object is actually met.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Any

from ..numbers import format_number
from ..values import depth, is_sympy, to_plain  # noqa: F401 - the renderers' names for them


def _is_formula(value: Any) -> bool:
    """A formula tree (solver.formula.Expr) shown as symbolic math, e.g. a derivation step."""
    from ..formula import Expr

    return isinstance(value, Expr)


def text(value: Any, decimals: int) -> str:
    value = to_plain(value)
    if _is_formula(value):
        from ..formula import to_text

        return to_text(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, Fraction)):
        return format_number(value, decimals)
    if isinstance(value, str):
        return value
    if is_sympy(value):
        return sympy_text(value)
    if isinstance(value, list):
        if value and depth(value) == 2 and all(isinstance(row, list) and len(row) == 1 for row in value):
            return "[" + "; ".join(text(row[0], decimals) for row in value) + "]"  # a column vector
        return "[" + ", ".join(text(v, decimals) for v in value) + "]"
    if isinstance(value, dict):
        from ..rules import is_rule, rule_text

        if is_rule(value):  # an infinite solution set
            return rule_text(value)
        return "{" + ", ".join(f"{k}: {text(v, decimals)}" for k, v in value.items()) + "}"
    if value is None:
        return "—"
    return str(value)


def grid(value: Any, decimals: int) -> str:
    """A matrix as aligned rows (terminal); 3-D values as a sequence of matrices."""
    value = to_plain(value)
    d = depth(value)
    if d < 2:
        return text(value, decimals)
    if d > 2:
        return "\n\n".join(f"[{i}]\n" + grid(v, decimals) for i, v in enumerate(value))
    cells = [[text(v, decimals) for v in row] for row in value]
    widths = [max(len(row[j]) for row in cells) for j in range(len(cells[0]))]
    lines = ["  ".join(cell.rjust(w) for cell, w in zip(row, widths)) for row in cells]
    if len(lines) == 1:
        return "[ " + lines[0] + " ]"
    out = []
    for i, line in enumerate(lines):
        left, right = ("⎡", "⎤") if i == 0 else ("⎣", "⎦") if i == len(lines) - 1 else ("⎢", "⎥")
        out.append(f"{left} {line} {right}")
    return "\n".join(out)


def _text(words: str) -> str:
    """Words typeset upright inside math, with TeX's special characters escaped (`x_t`)."""
    return r"\text{" + words.replace("_", r"\_").replace("{", r"\{").replace("}", r"\}") + "}"


def latex(value: Any, decimals: int) -> str:
    value = to_plain(value)
    if _is_formula(value):
        from ..formula import to_latex

        return to_latex(value)
    if isinstance(value, bool):
        return r"\text{true}" if value else r"\text{false}"
    if isinstance(value, (int, float, Fraction)):
        return format_number(value, decimals).replace("∞", r"\infty")
    if isinstance(value, str):
        return _text(value)
    if is_sympy(value):
        import sympy

        return sympy.latex(value, order="none")
    if value is None:
        return r"\text{—}"
    if isinstance(value, dict):
        from ..rules import is_rule, rule_text

        if is_rule(value):
            return r"\text{" + rule_text(value).replace("≥", r"$\geq$").replace("…", r"\ldots") + "}"
        return r"\left\{" + ", ".join(f"{_text(str(k))}: {latex(v, decimals)}" for k, v in value.items()) + r"\right\}"
    if isinstance(value, list):
        d = depth(value)
        if d == 0:
            return r"\left[\,\right]"
        if d == 1:
            if any(isinstance(v, (str, dict)) or is_sympy(v) for v in value):
                return r"\left[" + ", ".join(latex(v, decimals) for v in value) + r"\right]"
            return r"\begin{pmatrix} " + " & ".join(latex(v, decimals) for v in value) + r" \end{pmatrix}"
        if d == 2:
            rows = [" & ".join(latex(v, decimals) for v in row) for row in value]
            return r"\begin{pmatrix} " + r" \\ ".join(rows) + r" \end{pmatrix}"
        return r"\left[" + r",\ ".join(latex(v, decimals) for v in value) + r"\right]"
    return r"\text{" + str(value) + "}"


def jsonable(value: Any) -> Any:
    """Full-precision JSON data: Fractions as floats, sympy as strings, NaN as null."""
    value = to_plain(value)
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, Fraction):
        return value.numerator if value.denominator == 1 else float(value)
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else None
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if _is_formula(value):
        return text(value, 0)
    if is_sympy(value):
        if getattr(value, "is_Integer", False):
            return int(value)
        return sympy_text(value, plain=True)
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


_UNARY_MINUS = re.compile(r"(^|[\s(\[,;])-(?=[\w.∞(])")


def unicode_minus(text: str) -> str:
    """Signs of negative numbers and negated terms as the minus sign (−) that the formulas use,
    so that `(−3) − 0.1·(−0.02)` ends in `= −2.9975`, not `-2.9975`; an exponent's sign (1e-5)
    is kept. Answer lines keep ASCII, to be copied."""
    return _UNARY_MINUS.sub("\\1−", text)


def sympy_text(value: Any, plain: bool = False) -> str:
    """A sympy object as a one-line string (`plain`: parseable ASCII, else Unicode)."""
    import sympy

    if plain:
        return sympy.sstr(value, order="none")
    try:
        pretty = sympy.pretty(value, use_unicode=True, wrap_line=False, order="none")
    except Exception:  # pretty-printing is cosmetic; fall back to the plain string
        pretty = "\n"
    if "\n" in pretty:  # powers and fractions spread over lines: one line, x^2 and a/b
        pretty = sympy.sstr(value, order="none").replace("**", "^").replace("*", "·")
    # The same signs as dlsolve's own formulas: · for products, − for subtraction and negation.
    return unicode_minus(pretty.replace("⋅", "·").replace(" - ", " − "))
