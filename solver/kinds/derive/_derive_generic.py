"""`derive` with `expression` + `wrt`: the gradient of a scalar expression (safe parser) with
respect to named scalars, vectors or matrices.

A vector or matrix is given by its size and appears in the expression through its elements:
`wrt: {x: 3}` means x1, x2, x3; `wrt: {W: [3, 2]}` means W11 … W32 (row, then column; with a
size above 9 the indices are separated: x_10, W_1_10). Each element's partial derivative comes
from sympy; the results are assembled in the variable's shape and, where a pattern is found,
collected into matrix form: c·W, a scalar times a named vector, an outer product u vᵀ, or c·W
plus one of those. Every derivative is compared with central finite differences at a random
point, and evaluated at `at` when given.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from ...errors import BadInput
from ...formula import Sym
from ...steps import Symbolic, Table
from ._derive_common import Derivation

MAX_ELEMENTS = 100  # partial derivatives per problem: sympy work grows with each one
FACTOR_LIMIT = 150  # operation count above which sympy.factor is skipped (it can take seconds)
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,30}$")


@dataclass
class Variable:
    name: str
    shape: tuple[int, ...]  # () scalar, (n,) vector, (r, c) matrix
    elements: list  # sympy symbols, row-major

    @property
    def kind(self) -> str:
        return ("scalar", "vector", "matrix")[len(self.shape)]

    def grid(self, flat: list) -> Any:
        """A row-major list in this variable's shape (a nested list for a matrix)."""
        if len(self.shape) < 2:
            return flat if self.shape else flat[0]
        rows, cols = self.shape
        return [flat[r * cols:(r + 1) * cols] for r in range(rows)]


def plain(expr) -> str:
    """sympy's plain string, made safe for the parser: Euler's number is written exp(1), since
    a bare E in an expression is just the symbol E (SPEC §4)."""
    from sympy.printing.str import StrPrinter

    class _Printer(StrPrinter):
        def _print_Exp1(self, expr):  # noqa: N802 - sympy's printer protocol
            return "exp(1)"

    return _Printer().doprint(expr)


def _latex(expr) -> str:
    """LaTeX in the order the terms were built, as the renderers write sympy steps."""
    import sympy

    return sympy.latex(expr, order="none")


def pretty(expr) -> str:
    """Quick one-line Unicode for the terminal: the plain form with ·, ^ and − (sympy.pretty
    is slow on first use and spreads powers over several lines)."""
    return plain(expr).replace("**", "^").replace("*", "·").replace(" - ", " − ")


# --- reading `wrt` ------------------------------------------------------------------------


def parse_wrt(wrt) -> list[Variable]:
    if isinstance(wrt, str):
        entries = {name.strip(): None for name in wrt.split(",") if name.strip()}
    elif isinstance(wrt, list):
        if not all(isinstance(name, str) for name in wrt):
            raise BadInput("`wrt` as a list holds names; give sizes as a mapping, e.g. {W: [3, 2], x: 3}",
                           field="wrt")
        entries = {name.strip(): None for name in wrt}
    elif isinstance(wrt, dict):
        entries = {str(name): size for name, size in wrt.items()}
    else:
        raise BadInput("`wrt` must be a name, a list of names, or a mapping name -> size", field="wrt")
    if not entries:
        raise BadInput("`wrt` names no variable", field="wrt")
    variables = [_variable(name, _shape(name, size)) for name, size in entries.items()]
    total = sum(len(v.elements) for v in variables)
    if total > MAX_ELEMENTS:
        raise BadInput(f"`wrt` asks for {total} partial derivatives; at most {MAX_ELEMENTS}", field="wrt")
    names = [e.name for v in variables for e in v.elements]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise BadInput(f"`wrt` names {duplicated[0]!r} twice (an element name of a vector or matrix "
                       "equals another variable)", field="wrt")
    return variables


def _shape(name: str, size) -> tuple[int, ...]:
    from ...inputs import parse_shape

    if not _NAME.match(name):
        raise BadInput(f"{name!r} is not a variable name", field="wrt")
    if size is None or size == 1 or size == []:
        return ()
    try:
        dims = parse_shape(size, name=f"size of {name}")
    except ValueError as exc:
        raise BadInput(str(exc), field=f"wrt.{name}") from None
    if not all(isinstance(d, int) for d in dims) or len(dims) > 2:
        raise BadInput(f"the size of {name} must be a number n (vector) or [rows, columns] (matrix), "
                       f"got {size!r}", field=f"wrt.{name}")
    return tuple(dims)  # [1] is a vector of one element x1; a bare 1 is a scalar


def _variable(name: str, shape: tuple[int, ...]) -> Variable:
    from ...parse import make_symbol

    if not shape:
        return Variable(name, shape, [make_symbol(name)])
    separate = any(d > 9 for d in shape)
    indices = ([(k,) for k in range(1, shape[0] + 1)] if len(shape) == 1 else
               [(r, c) for r in range(1, shape[0] + 1) for c in range(1, shape[1] + 1)])
    names = [name + ("_" + "_".join(map(str, index)) if separate else "".join(map(str, index)))
             for index in indices]
    return Variable(name, shape, [make_symbol(n) for n in names])


# --- the derivation -----------------------------------------------------------------------


def derive_expression(sol, given) -> None:
    import sympy

    from ...parse import parse_expression

    expr = parse_expression(given.expression, field="expression")
    variables = parse_wrt(given.wrt)
    _reject_bare_names(expr, variables)
    sol.add("The expression to differentiate", symbolic=Symbolic(expr, "f", "f"))
    numerator = given.layout == "numerator"
    _state_conventions(sol, variables, numerator)
    der = Derivation(sol, {})
    derivatives = {}
    for var in variables:
        entries = [_nicest(sympy.diff(expr, element), thorough=var.kind == "scalar")
                   for element in var.elements]
        derivatives[var.name] = entries
        if var.kind == "scalar":
            _scalar_step(sol, expr, var, entries[0])
        else:
            _tensor_steps(sol, var, entries, variables, numerator)
    if given.at is not None:
        _evaluate_at(sol, expr, variables, derivatives, given.at, numerator)
    _verify(der, expr, variables, derivatives, given.seed)
    der.finish(f"every symbol drawn from [0.5, 1.5], seed {given.seed}")


def _reject_bare_names(expr, variables: list[Variable]) -> None:
    present = {str(s) for s in expr.free_symbols}
    for var in variables:
        if var.kind != "scalar" and var.name in present:
            first, last = var.elements[0], var.elements[-1]
            raise BadInput(f"{var.name} is a {' × '.join(map(str, var.shape))} "
                           f"{var.kind}: write its elements {first} … {last} in the expression",
                           field="expression")


def _state_conventions(sol, variables: list[Variable], numerator: bool) -> None:
    tensors = [v for v in variables if v.kind != "scalar"]
    for var in tensors:
        listed = (", ".join(map(str, var.elements)) if len(var.elements) <= 4
                  else f"{var.elements[0]}, {var.elements[1]}, …, {var.elements[-1]}")
        what = (f"the vector ({listed})" if var.kind == "vector" else
                f"the {var.shape[0]} × {var.shape[1]} matrix of elements {var.elements[0]} … {var.elements[-1]} "
                f"(row, then column)")
        sol.note(f"{var.name} stands for {what}.")
    if tensors:
        sol.convention("Numerator layout: the derivative by a matrix is shaped like its transpose; by a "
                       "vector it is a row." if numerator else
                       "Denominator layout: each gradient has the shape of its variable (a column for a "
                       "vector).")


def _nicest(expr, thorough: bool = True):
    """The shortest of: the raw derivative, its shared factors pulled out, and — when `thorough`
    (a scalar variable) and short enough to be quick — its factored form. sympy.simplify is not
    tried: it often takes seconds here and rarely gives a form a student would write."""
    import sympy

    candidates = [expr, sympy.factor_terms(expr)]
    if thorough and sympy.count_ops(expr) <= FACTOR_LIMIT:
        try:
            factored = sympy.factor(expr)
        except (sympy.PolynomialError, NotImplementedError, TypeError, ValueError):
            factored = expr
        # Factoring 1.702 out of a sum gives decimals such as 0.5875 that nobody wrote.
        if set(factored.atoms(sympy.Float)) <= set(expr.atoms(sympy.Float)):
            candidates.append(factored)
    return min(candidates, key=lambda e: (sympy.count_ops(e), len(sympy.sstr(e))))


def _scalar_step(sol, expr, var: Variable, derivative) -> None:
    import sympy

    raw = sympy.diff(expr, var.elements[0])
    lhs_text, lhs_latex = f"∂f/∂{var.name}", rf"\frac{{\partial f}}{{\partial {_latex(var.elements[0])}}}"
    if sympy.sstr(raw) != sympy.sstr(derivative):
        lhs_text += " = " + pretty(raw)
        lhs_latex += " = " + _latex(raw)
    sol.add(f"Differentiate with respect to {var.name} (every other symbol held constant)",
            symbolic=Symbolic(derivative, lhs_text, lhs_latex))
    sol.set_answer(f"grad_{var.name}", plain(derivative), _latex(derivative))


def _tensor_steps(sol, var: Variable, entries: list, variables: list[Variable], numerator: bool) -> None:
    rows = [[str(element), derivative] for element, derivative in zip(var.elements, entries)]
    sol.add(f"Differentiate with respect to each element of {var.name}, one at a time",
            table=Table(["element", "∂f/∂element"], rows))
    grid = var.grid(entries)
    if numerator and var.kind == "matrix":
        grid = [list(column) for column in zip(*grid)]
    shape = list(var.shape) if not numerator else list(reversed(var.shape))
    where = ("shaped like " + (f"{var.name}ᵀ" if numerator else var.name))
    sol.add(f"Assembled, {where} ({' × '.join(map(str, shape))})", value=grid)
    sol.set_answer(f"grad_{var.name}", _plain_grid(grid), _latex_grid(grid))
    sol.set_answer(f"shape_grad_{var.name}", shape, r" \times ".join(map(str, shape)))
    form = collect(entries, var, transpose=numerator and var.kind == "matrix")
    if form is not None:
        shown = Sym(form.plain, text=form.text, latex=form.latex)
        lhs = ((f"∂f/∂{var.name}", rf"\frac{{\partial f}}{{\partial {var.name}}}") if numerator
               else (f"∇_{var.name} f", rf"\nabla_{{{var.name}}} f"))
        sol.add("Collected into matrix form", symbolic=Symbolic(shown, *lhs))
        sol.set_answer(f"grad_{var.name}_matrix", form.plain, form.latex)


def _plain_grid(grid):
    if isinstance(grid, list):
        return [_plain_grid(item) for item in grid]
    return plain(grid)


def _latex_grid(grid) -> str:
    if grid and isinstance(grid[0], list):
        body = r" \\ ".join(" & ".join(_latex(e) for e in row) for row in grid)
    else:
        body = r" \\ ".join(_latex(e) for e in grid)
    return r"\begin{pmatrix} " + body + r" \end{pmatrix}"


# --- collecting into matrix form ------------------------------------------------------------


@dataclass
class Form:
    """A collected matrix form: how it is written, and the entries it stands for (row-major in
    the variable's own shape), so that it can be checked against the element-wise gradient."""

    text: str
    latex: str
    plain: str
    entries: list

    def scaled(self, scale) -> "Form":
        import sympy

        values = [scale * e for e in self.entries]
        if scale == 1:
            return Form(self.text, self.latex, self.plain, values)
        if scale == -1:
            return Form(f"−{self.text}", f"-{self.latex}", f"-{self.plain}", values)
        scale = sympy.factor(scale)
        grouped = isinstance(scale, sympy.Add)
        text = f"({pretty(scale)})" if grouped else pretty(scale)
        spelled = f"({plain(scale)})" if grouped else plain(scale)
        latex = rf"\left({_latex(scale)}\right)" if grouped else _latex(scale)
        if text.startswith("-") and not grouped:
            text = "−" + text[1:]
        return Form(f"{text}·{self.text}", rf"{latex}\, {self.latex}", f"{spelled} * {self.plain}", values)

    def __add__(self, other: "Form") -> "Form":
        return Form(f"{self.text} + {other.text}", f"{self.latex} + {other.latex}",
                    f"{self.plain} + {other.plain}", [a + b for a, b in zip(self.entries, other.entries)])


def collect(entries: list, var: Variable, transpose: bool = False) -> Form | None:
    """A matrix form of the gradient (written for its transpose with `transpose`), or None when
    no pattern fits: c·V, a scalar times a named vector, a scalar times u vᵀ, or c·V plus one
    of those. `entries` are row-major in the variable's own shape."""
    form = _collect(entries, var, transpose)
    if form is not None:
        assert all(is_zero(a - b) for a, b in zip(form.entries, entries)), "collected form is wrong"
    return form


def _collect(entries: list, var: Variable, transpose: bool) -> Form | None:
    import sympy

    if all(e == 0 for e in entries):
        return Form("0", r"\mathbf{0}", "0", list(entries))
    itself = _variable_form(var, transpose)
    multiple = _multiple_of_variable(entries, var)
    if multiple is not None:
        return itself.scaled(multiple)
    rest = _factored(entries, var, transpose)
    if rest is not None:
        return rest
    for coefficient in _candidate_coefficients(entries, var):
        remainder = [sympy.expand(e - coefficient * v) for e, v in zip(entries, var.elements)]
        if all(r == 0 for r in remainder):
            continue
        form = _factored(remainder, var, transpose)
        if form is not None:
            return itself.scaled(coefficient) + form
    return None


def _variable_form(var: Variable, transpose: bool) -> Form:
    if transpose:
        return Form(f"{var.name}ᵀ", rf"{var.name}^{{\top}}", f"{var.name}.T", list(var.elements))
    return Form(var.name, var.name, var.name, list(var.elements))


def _multiple_of_variable(entries: list, var: Variable):
    """c when every entry is c times the matching element, c free of the elements."""
    import sympy

    if any(e == 0 for e in entries):
        return None
    ratio = sympy.cancel(entries[0] / var.elements[0])
    if ratio.free_symbols & set(var.elements):
        return None
    if all(is_zero(e - ratio * v) for e, v in zip(entries, var.elements)):
        return ratio
    return None


def is_zero(expr) -> bool:
    """A cheap zero test (expand, then cancel); a False may be a missed identity, which only
    costs a collected form — sympy.simplify would be certain but far too slow here."""
    import sympy

    expanded = sympy.expand(expr)
    if expanded == 0:
        return True
    try:
        return sympy.cancel(expanded) == 0
    except (sympy.PolynomialError, NotImplementedError, TypeError, ValueError):
        return False


def _factored(entries: list, var: Variable, transpose: bool) -> Form | None:
    """A common scalar times a named vector (vectors), or times an outer product u vᵀ (matrices)."""
    import sympy

    entries = [sympy.factor_terms(e) for e in entries]  # products, so shared factors cancel
    common_parts = _gcd(entries)
    common = sympy.Mul(*common_parts)
    reduced = [_divide(e, common_parts) for e in entries]
    if var.kind == "vector":
        named, sign = _vector_form(reduced)
        return None if named is None else named.scaled(sign * common)
    rows, cols = var.shape
    grid = var.grid(reduced)
    left = [sympy.Mul(*_gcd(row)) for row in grid]
    if any(u == 0 for u in left):
        return None
    right = [_divide(grid[0][j], _gcd(grid[0])) for j in range(cols)]
    if not all(is_zero(left[i] * right[j] - grid[i][j]) for i in range(rows) for j in range(cols)):
        return None
    (u, u_sign), (v, v_sign) = _vector_form(left), _vector_form(right)
    u, v = u or _explicit(left), v or _explicit(right)
    values = [a * b for a in u.entries for b in v.entries]
    if transpose:  # (u vᵀ)ᵀ = v uᵀ, the same entries read in W's own order
        u, v = v, u
    outer = Form(f"{u.text} {v.text}ᵀ", rf"{u.latex} {v.latex}^{{\top}}", f"outer({u.plain}, {v.plain})",
                 values)
    return outer.scaled(u_sign * v_sign * common)


def _gcd(entries: list) -> list:
    """The factors shared by all entries, read off their product forms (sympy.gcd of
    multivariate polynomials is far slower); the sign follows the first non-zero entry.
    Returned as a list of parts: multiplied together, 2·(b − d) would be distributed."""
    import sympy

    common_coefficient, common_factors = None, None
    for entry in entries:
        if entry == 0:
            continue
        coefficient, factors = _factor_powers(entry)
        if common_factors is None:
            common_coefficient, common_factors = abs(coefficient), factors
            continue
        common_coefficient = sympy.gcd(common_coefficient, coefficient)
        common_factors = {base: min(power, factors[base]) for base, power in common_factors.items()
                          if base in factors}
    if common_factors is None:
        return [sympy.Integer(1)]
    parts = [common_coefficient] + [base ** power for base, power in common_factors.items()]
    first = next(e for e in entries if e != 0)
    if _divide(first, parts).could_extract_minus_sign():
        parts[0] = -parts[0]
    return parts


def _divide(expr, parts: list):
    """expr divided by each part in turn; sympy cancels a part that expr holds as a factor."""
    for part in parts:
        expr = expr / part
    return expr


def _factor_powers(expr) -> tuple:
    """(numeric coefficient, {factor: integer power}) of an expression written as a product
    (derivatives of squares come out that way; factor_terms pulls out what is shared by sums)."""
    import sympy

    coefficient, rest = sympy.factor_terms(expr).as_coeff_Mul()
    factors: dict = {}
    for arg in sympy.Mul.make_args(rest):
        base, power = arg.as_base_exp()
        if not (power.is_Integer and power > 0):
            base, power = arg, sympy.Integer(1)
        factors[base] = factors.get(base, 0) + int(power)
    return sympy.Rational(coefficient) if coefficient.is_Rational else coefficient, factors


def _candidate_coefficients(entries: list, var: Variable) -> list:
    """Scalars c to try in gradient = c·V + (a collected rest): the additive parts of the first
    entry's coefficient of its own element (the penalty 2β in 2βW + …)."""
    import sympy

    coefficient = sympy.expand(entries[0]).coeff(var.elements[0])
    if coefficient == 0 or coefficient.free_symbols & set(var.elements):
        return []
    parts = list(sympy.Add.make_args(coefficient))
    return [p for p in parts if not (p.free_symbols & set(var.elements))][:6]


def _vector_form(values: list) -> tuple[Form | None, int]:
    """(the named vector, its sign) when values are base1, base2, … or all their negatives."""
    import sympy

    sign = 1
    if all(isinstance(-v, sympy.Symbol) for v in values) and not isinstance(values[0], sympy.Symbol):
        values, sign = [-v for v in values], -1
    if not all(isinstance(v, sympy.Symbol) for v in values):
        return None, 1
    names = [v.name for v in values]
    for separator in ("", "_"):
        base = names[0][:-(len(separator) + 1)] if names[0].endswith(separator + "1") else None
        if base and all(n == f"{base}{separator}{k}" for k, n in enumerate(names, 1)):
            return Form(base, base, base, list(values)), sign
    return None, 1


def _explicit(values: list) -> Form:
    text = "[" + ", ".join(plain(v) for v in values) + "]"
    latex = r"\begin{pmatrix} " + r" \\ ".join(_latex(v) for v in values) + r" \end{pmatrix}"
    return Form(text, latex, text, list(values))


# --- evaluation and verification ------------------------------------------------------------


def _evaluate_at(sol, expr, variables, derivatives, at: dict, numerator: bool) -> None:
    import sympy

    from ...parse import make_symbol

    needed = sorted({str(s) for s in expr.free_symbols})
    missing = [name for name in needed if name not in at]
    if missing:
        raise BadInput(f"`at` gives no value for {', '.join(missing)}", field="at")
    point = {make_symbol(name): sympy.nsimplify(value) if float(value).is_integer() else value
             for name, value in at.items()}
    for var in variables:
        values = [_number(d.subs(point)) for d in derivatives[var.name]]
        grid = var.grid(values)
        if numerator and var.kind == "matrix":
            grid = [list(column) for column in zip(*grid)]
        shown = ", ".join(f"{k} = {v}" for k, v in at.items())
        text = f"Value of ∂f/∂{var.name} at {shown}"
        if var.kind == "scalar":
            text += f": {grid:g}" if isinstance(grid, float) else f": {grid}"
        sol.add(text, value=grid, answer=f"value_{var.name}")


def _number(value):
    import sympy

    value = sympy.nsimplify(value) if value.is_Rational else value.evalf()
    if value.is_Integer:
        return int(value)
    if value.is_real is False or value.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo):
        raise BadInput(f"the derivative is not a finite real number there ({value})", field="at")
    return float(value)


def _verify(der: Derivation, expr, variables, derivatives, seed: int) -> None:
    import numpy as np

    from ...parse import compile_numeric

    names = sorted({str(s) for s in expr.free_symbols} | {e.name for v in variables for e in v.elements})
    function = compile_numeric(expr, names)
    compiled = {var.name: [compile_numeric(d, names) for d in derivatives[var.name]] for var in variables}
    rng = np.random.default_rng(seed)
    for _attempt in range(20):
        point = {name: float(rng.uniform(0.5, 1.5)) for name in names}
        try:
            rows = [(var, _compare(function, compiled[var.name], var, point, names)) for var in variables]
            break
        except (ValueError, ZeroDivisionError, OverflowError, TypeError):
            continue
    else:
        der.sol.check("finite differences at a random point", False,
                      "no point in [0.5, 1.5] where the expression and its derivatives are finite")
        return
    for var, (derived, numeric) in rows:
        shape = "×".join(map(str, var.shape)) or "1"
        der.verify(f"∂f/∂{var.name}", derived, numeric, shape=shape)


def _compare(function, derivatives, var: Variable, point: dict, names: list[str]):
    """(derived values, central differences) for each element of one variable."""
    args = [point[n] for n in names]
    derived, numeric = [], []
    for element, derivative in zip(var.elements, derivatives):
        k = names.index(element.name)
        step = 1e-6 * max(1.0, abs(args[k]))
        plus, minus = list(args), list(args)
        plus[k] += step
        minus[k] -= step
        value = _real(derivative(*args))
        difference = (_real(function(*plus)) - _real(function(*minus))) / (2 * step)
        derived.append(value)
        numeric.append(difference)
    return derived, numeric


def _real(value) -> float:
    if isinstance(value, complex):
        raise ValueError("complex value")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError("not finite")
    return value
