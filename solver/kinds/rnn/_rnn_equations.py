"""Cell equations as formula trees: a parsed equation (sympy, every name non-commuting) becomes
the expression tree of the numeric kinds, with the size of every part checked on the way.

A product keeps the order it was written in: a matrix before a vector applies the matrix (Wᵀx
under `weights: in_out`, Wx under `out_in`), two vectors multiply element-wise (⊙), a number
scales. The parser's spellings of sigmoid, 1/(1 + e^(−u)), and of relu on vectors, (u + |u|)/2,
are turned back into those functions so the steps read as written.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from ...activations import TABLE
from ...errors import BadInput
from ...formula import Expr, Num, Sym, call, hadamard
from . import _rnn_values as rv

PREVIOUS = "_prev"
INPUT = "x"
STATE_FIELDS = {"h": "h0", "c": "c0", "y": "y0"}
_FUNCTIONS = {"exp": "exp", "log": "log", "tanh": "tanh", "sin": "sin", "cos": "cos", "Abs": "abs"}


@dataclass
class Equation:
    name: str
    text: str
    expr: Any = None  # sympy expression


@dataclass
class Converted:
    expr: Expr
    shape: tuple | None  # None: a state whose size is not known yet
    state: str | None = None  # the state's name when this is NAME_prev itself


@dataclass
class Cell:
    """The parsed cell: equations in order, the shape of every name, numeric values if any."""

    equations: list[Equation]
    shapes: dict[str, tuple]
    values: dict[str, Any] = field(default_factory=dict)
    states: list[str] = field(default_factory=list)  # quantities read as NAME_prev
    layout: rv.Layout = field(default_factory=lambda: rv.Layout("in_out"))


def shape_text(shape: tuple) -> str:
    if not shape:
        return "scalar"
    return "×".join(str(s) for s in shape)


# --- sympy -> formula trees ----------------------------------------------------------------------


class Converter:
    """Turns a parsed equation into a formula tree, checking and recording shapes."""

    def __init__(self, cell: Cell, current: dict[str, Sym], previous: dict[str, Sym], where: str,
                 text: str = ""):
        self.cell = cell
        self.text = text  # the equation as written: sums are shown in the order of their terms
        self.current = current  # name -> symbol of this step's quantity (x(t), c(t), …)
        self.previous = previous  # name -> symbol of the previous step's quantity
        self.where = where
        self.products: list[str] = []  # one line per matrix product, for the dimension notes

    def fail(self, message: str) -> BadInput:
        return BadInput(message, field=self.where)

    def symbol(self, name: str) -> Converted:
        if name.endswith(PREVIOUS):
            base = name[: -len(PREVIOUS)]
            return Converted(self.previous[base], self.cell.shapes.get(base), base)
        if name in self.current:
            return Converted(self.current[name], self.cell.shapes.get(name))
        return Converted(Sym(name, text=name, latex=rv.name(name).latex), self.cell.shapes[name])

    def convert(self, expr) -> Converted:
        import sympy

        if expr.is_Symbol:
            return self.symbol(expr.name)
        if expr.is_Number:
            return Converted(Num(_number(expr)), ())
        if expr is sympy.pi:
            return Converted(Num(math.pi), ())
        if expr.is_Add:
            return self.add(expr.args)
        if expr.is_Mul:
            return self.mul(expr.args)
        if expr.is_Pow:
            return self.power(expr.base, expr.exp)
        name = type(expr).__name__
        if name in _FUNCTIONS and len(expr.args) == 1:
            inner = self.convert(expr.args[0])
            self.elementwise_only(inner, name)
            return Converted(call(_FUNCTIONS[name], inner.expr), inner.shape)
        raise self.fail(f"{name} is not available in cell equations (use + − * /, powers, exp, log, "
                        "sqrt, tanh, sigmoid, relu, sin, cos, abs)")

    def elementwise_only(self, part: Converted, what: str) -> None:
        if len(part.shape or ()) == 2:
            raise self.fail(f"{what} of a matrix: apply the matrix to a vector first")

    def settle(self, part: Converted, shape: tuple) -> tuple | None:
        """A state of unknown size used where only one size fits takes that size."""
        if part.shape is None and part.state is not None and shape is not None:
            self.cell.shapes[part.state] = shape
            part.shape = shape
        return part.shape

    def written_position(self, term) -> int:
        """Where a term of a sum first appears in the equation (sympy reorders sums); a plain
        number goes first, as in 1 − c."""
        if not term.free_symbols:
            return -1
        compact = self.text.replace(" ", "")
        exact = compact.find(str(term).replace(" ", ""))
        if exact >= 0:
            return exact
        places = [m.start() for name in sorted(str(s) for s in term.free_symbols)
                  for m in [re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", compact)] if m]
        return min(places, default=len(compact))

    def add(self, terms) -> Converted:
        terms = sorted(terms, key=self.written_position)
        converted = [self.signed(term) for term in terms]
        known = [c.shape for _, c in converted if c.shape]
        for _, part in converted:
            self.settle(part, known[0] if known else None)
        if any(c.shape is None for _, c in converted):
            return Converted(sum_of(converted), None)
        shapes = {c.shape for _, c in converted if c.shape}
        if len(shapes) > 1:
            raise self.fail("a sum of quantities of different sizes: "
                            + " + ".join(shape_text(c.shape) for _, c in converted))
        return Converted(sum_of(converted), shapes.pop() if shapes else ())

    def signed(self, term) -> tuple[bool, Converted]:
        """A term of a sum, with a leading minus sign taken out so it reads a − b."""
        if term.is_Mul and term.args[0].is_Number and term.args[0] < 0:
            rest = -term
            return True, self.convert(rest)
        if term.is_Number and term < 0:
            return True, self.convert(-term)
        return False, self.convert(term)

    def mul(self, factors) -> Converted:
        relu = _relu_argument(factors)
        if relu is not None:
            inner = self.convert(relu)
            self.elementwise_only(inner, "relu")
            return Converted(TABLE["relu"].expr(inner.expr), inner.shape)
        if factors[0] == -1:
            inner = self.mul(factors[1:]) if len(factors) > 2 else self.convert(factors[1])
            return Converted(-inner.expr, inner.shape)
        parts = [self.convert(f) for f in factors]
        result = parts[-1]
        for part in reversed(parts[:-1]):  # right to left: W x is W applied to x
            result = self.product(part, result)
        return result

    def product(self, left: Converted, right: Converted) -> Converted:
        if right.shape is None and left.shape is not None and len(left.shape) == 2:
            rows, cols = left.shape
            self.settle(right, (rows,) if self.cell.layout.in_out else (cols,))
        elif right.shape is None and left.shape is not None and len(left.shape) == 1:
            self.settle(right, left.shape)
        elif left.shape is None and right.shape is not None and len(right.shape) == 1:
            self.settle(left, right.shape)
        a, b = left.shape, right.shape
        if a is None or b is None:
            unknown = left.state or right.state
            raise self.fail(f"the size of {unknown or 'a state'} cannot be found from the equations: "
                            f"give {STATE_FIELDS.get(unknown, 'sizes')}" if unknown else
                            "the size of a state cannot be found: give its initial value or `sizes`")
        if not a or not b:
            return Converted(left.expr * right.expr, b or a)
        if len(a) == 2 and len(b) == 1:
            return self.matrix_vector(left, right)
        if len(a) == 1 and len(b) == 1:
            if a != b:
                raise self.fail(f"element-wise product of sizes {shape_text(a)} and {shape_text(b)}")
            return Converted(hadamard(left.expr, right.expr), a)
        if len(a) == 1:
            raise self.fail("a vector times a matrix: write the matrix first (W*x means W applied to x)")
        raise self.fail("a product of two matrices: cell equations apply matrices to vectors")

    def matrix_vector(self, matrix: Converted, vector: Converted) -> Converted:
        rows, cols = matrix.shape
        layout = self.cell.layout
        needed, result = (rows, cols) if layout.in_out else (cols, rows)
        (size,) = vector.shape
        shown = f"{text_of(matrix.expr)}{'ᵀ' if layout.in_out else ''}·{text_of(vector.expr)}"
        if size != needed:
            raise self.fail(f"{shown}: the matrix is {shape_text(matrix.shape)} "
                            f"({'acting as its transpose, ' if layout.in_out else ''}it takes vectors "
                            f"of size {needed}) but the vector has size {size}")
        self.products.append(f"{shown}: ({shape_text(matrix.shape)}{'ᵀ' if layout.in_out else ''})"
                             f"·({size}) → {result}")
        return Converted(layout.apply(matrix.expr, vector.expr), (result,))

    def power(self, base, exponent) -> Converted:
        argument = _sigmoid_argument(base, exponent)
        if argument is not None:
            inner = self.convert(argument)
            self.elementwise_only(inner, "sigmoid")
            return Converted(call("sigmoid", inner.expr), inner.shape)
        inner = self.convert(base)
        self.elementwise_only(inner, "a power")
        if not exponent.is_Number:
            raise self.fail("exponents must be numbers")
        if exponent == -1:
            return Converted(Num(1) / inner.expr, inner.shape)
        if exponent == Fraction(1, 2):
            return Converted(call("sqrt", inner.expr), inner.shape)
        return Converted(inner.expr ** Num(_number(exponent)), inner.shape)


def sum_of(parts: list[tuple[bool, Converted]]) -> Expr:
    negative, first = parts[0]
    total = -first.expr if negative else first.expr
    for negative, part in parts[1:]:
        total = total - part.expr if negative else total + part.expr
    return total


def _number(value):
    if value.is_Integer:
        return int(value)
    return float(value)


def text_of(expr: Expr) -> str:
    from ...formula import to_text

    return to_text(expr)


def _sigmoid_argument(base, exponent):
    """u for 1/(1 + exp(−u)), the parser's spelling of sigmoid(u)."""
    if exponent != -1 or not base.is_Add or len(base.args) != 2:
        return None
    one, other = sorted(base.args, key=lambda a: 0 if a == 1 else 1)
    if one != 1 or type(other).__name__ != "exp":
        return None
    return -other.args[0]


def _relu_argument(factors):
    """a for (a + |a|)/2, the parser's spelling of relu(a) on non-commuting quantities."""
    if len(factors) != 2 or factors[0] != Fraction(1, 2) or not factors[1].is_Add:
        return None
    terms = factors[1].args
    if len(terms) != 2:
        return None
    for first, second in (terms, terms[::-1]):
        if type(second).__name__ == "Abs" and second.args[0] == first:
            return first
    return None
