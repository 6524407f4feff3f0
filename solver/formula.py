"""A small expression tree for the formulas of numeric steps.

A solver writes a formula once, as a tree over named symbols (`floor((H + 2*P - D*(K-1) - 1)/S) + 1`)
and binds the symbols to numbers. The step's value is computed *from* that tree, and each
renderer writes the same tree as Unicode or LaTeX — symbolically, then with the numbers
substituted — so the shown working can never disagree with the answer. Numeric kinds use this
instead of sympy, which is too slow to import for a one-line command (SPEC §8).

Scalars evaluate with exact Python arithmetic (int / Fraction), floats stay floats; arrays
(NumPy) evaluate element-wise through the same operators.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from .nn.functions import sigmoid as _sigmoid
from .nn.functions import sigmoid_array as _np_sigmoid
from .nn.functions import softmax_array as _np_softmax
from .numbers import format_number

# Precedence levels used to decide where parentheses are needed.
_ADD, _MUL, _NEG, _POW, _ATOM = 1, 2, 3, 4, 5
_HADAMARD = 1.5  # binds looser than a matrix product: (a ⊙ b)W needs its brackets

_GREEK = {
    "alpha": ("α", r"\alpha"), "beta": ("β", r"\beta"), "gamma": ("γ", r"\gamma"),
    "delta": ("δ", r"\delta"), "epsilon": ("ε", r"\epsilon"), "eps": ("ε", r"\epsilon"),
    "eta": ("η", r"\eta"), "theta": ("θ", r"\theta"), "lambda": ("λ", r"\lambda"),
    "mu": ("μ", r"\mu"), "sigma": ("σ", r"\sigma"), "tau": ("τ", r"\tau"),
    "phi": ("φ", r"\phi"), "omega": ("ω", r"\omega"), "nabla": ("∇", r"\nabla"),
}


def _default_text(name: str) -> str:
    base, _, sub = name.partition("_")
    base = _GREEK.get(base, (base, None))[0]
    return f"{base}_{sub}" if sub else base


def _default_latex(name: str) -> str:
    base, _, sub = name.partition("_")
    base = _GREEK.get(base, (None, base))[1]
    if not sub:
        return base
    sub = sub if len(sub) == 1 or sub.isdigit() else rf"\mathrm{{{sub}}}"
    return f"{base}_{{{sub}}}"


class Expr:
    """Base of the tree. Python operators build new nodes."""

    __slots__ = ()

    def __add__(self, other): return Op("+", (self, lift(other)))
    def __radd__(self, other): return Op("+", (lift(other), self))
    def __sub__(self, other): return Op("-", (self, lift(other)))
    def __rsub__(self, other): return Op("-", (lift(other), self))
    def __mul__(self, other): return Op("*", (self, lift(other)))
    def __rmul__(self, other): return Op("*", (lift(other), self))
    def __truediv__(self, other): return Op("/", (self, lift(other)))
    def __rtruediv__(self, other): return Op("/", (lift(other), self))
    def __pow__(self, other): return Op("^", (self, lift(other)))
    def __matmul__(self, other): return Op("@", (self, lift(other)))
    def __neg__(self): return Op("neg", (self,))

    @property
    def T(self):  # noqa: N802 - reads like the math
        return Op("T", (self,))


@dataclass(frozen=True, slots=True, eq=False)
class Sym(Expr):
    """A named quantity; `text` and `latex` override how its name is written."""

    name: str
    text: str | None = None
    latex: str | None = None

    def __reduce__(self):  # answers cross from the budget worker pickled: a call is cheaper than slots state
        return Sym, (self.name, self.text, self.latex)

    def text_name(self) -> str:
        return self.text or _default_text(self.name)

    def latex_name(self) -> str:
        return self.latex or _default_latex(self.name)


@dataclass(frozen=True, slots=True, eq=False)
class Num(Expr):
    """A literal constant written into the formula itself (the 1 in K − 1)."""

    value: Any

    def __reduce__(self):
        return Num, (self.value,)


@dataclass(frozen=True, slots=True, eq=False)
class Op(Expr):
    op: str
    args: tuple

    def __reduce__(self):
        return Op, (self.op, self.args)


def lift(x) -> Expr:
    return x if isinstance(x, Expr) else Num(x)


def symbols(names: str, **latex) -> tuple[Sym, ...]:
    """`H, P = symbols("H P")`; keyword arguments give LaTeX spellings (`H_out="H_{out}"`)."""
    return tuple(Sym(n, latex=latex.get(n)) for n in names.split())


# --- functions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Function:
    text: str
    latex: str
    scalar: Callable
    array: str | Callable  # a numpy function name, or a callable taking numpy arrays
    brackets: tuple[str, str, str, str] | None = None  # text open/close, latex open/close


def _one(x):
    return 1.0


def _same(x):
    return x


def _softmax_whole(v):
    return _np_softmax(v, axis=None)


def _softmax_rows(v):
    return _np_softmax(v, axis=-1)


def _np_diag(v):
    """A vector's entries on the diagonal of a square matrix."""
    import numpy as np

    return np.diag(np.ravel(v))


FUNCTIONS: dict[str, Function] = {
    "floor": Function("floor", "floor", math.floor, "floor", ("⌊", "⌋", r"\left\lfloor ", r"\right\rfloor")),
    "ceil": Function("ceil", "ceil", math.ceil, "ceil", ("⌈", "⌉", r"\left\lceil ", r"\right\rceil")),
    "abs": Function("abs", "abs", abs, "abs", ("|", "|", r"\left| ", r"\right|")),
    "max": Function("max", r"\max", max, "maximum"),
    "min": Function("min", r"\min", min, "minimum"),
    "exp": Function("exp", r"\exp", math.exp, "exp"),
    "log": Function("ln", r"\ln", math.log, "log"),
    "sqrt": Function("√", r"\sqrt", math.sqrt, "sqrt"),
    "tanh": Function("tanh", r"\tanh", math.tanh, "tanh"),
    "sin": Function("sin", r"\sin", math.sin, "sin"),
    "cos": Function("cos", r"\cos", math.cos, "cos"),
    "sigmoid": Function("σ", r"\sigma", _sigmoid, _np_sigmoid),
    # Softmax of a whole vector (a column or a row), and of each row of a matrix (a mini-batch,
    # attention scores); of one number it is 1.
    "softmax": Function("softmax", r"\operatorname{softmax}", _one, _softmax_whole),
    "softmax_rows": Function("softmax", r"\operatorname{softmax}", _one, _softmax_rows),
    "diag": Function("diag", r"\operatorname{diag}", _same, _np_diag),
}


def define_function(name: str, function: Function) -> None:
    """Let a kind add a function (an activation, say) to the formula vocabulary."""
    existing = FUNCTIONS.get(name)
    # Compared as written: the same definition made again (by a budget worker, or a module
    # imported twice) holds equal but distinct callables.
    if existing is not None and _written(existing) != _written(function):
        raise ValueError(f"formula function {name!r} is already defined differently")
    FUNCTIONS[name] = function


def _written(function: Function) -> tuple:
    return function.text, function.latex, function.brackets


def call(name: str, *args) -> Op:
    if name not in FUNCTIONS:
        raise KeyError(f"unknown formula function {name!r}")
    return Op("call:" + name, tuple(lift(a) for a in args))


def floor(x) -> Op:
    return call("floor", x)


def ceil(x) -> Op:
    return call("ceil", x)


def hadamard(a, b) -> Op:
    return Op("⊙", (lift(a), lift(b)))


def total(x) -> Op:
    """Σ of all elements."""
    return Op("sum", (lift(x),))


# --- evaluation --------------------------------------------------------------------------


def _is_array(x) -> bool:
    return hasattr(x, "__array__") and not isinstance(x, (int, float, Fraction))


def _divide(a, b):
    if isinstance(a, int) and isinstance(b, int) and not isinstance(a, bool) and not isinstance(b, bool):
        return Fraction(a, b)
    return a / b


def _post_order(expr: Expr, leaf: Callable[[Expr], Any], combine: Callable[[Op, list], Any]) -> Any:
    """Fold a tree from its leaves up without recursion: a sum of 10,000 terms is a chain
    10,000 deep, deeper than Python's stack allows (SPEC §8: no recursion on sizes a user
    controls)."""
    results: list = []
    stack: list = [(expr, False)]
    while stack:
        node, ready = stack.pop()
        if not isinstance(node, Op):
            results.append(leaf(node))
        elif ready:
            count = len(node.args)
            parts = results[len(results) - count:]
            del results[len(results) - count:]
            results.append(combine(node, parts))
        else:
            stack.append((node, True))
            stack.extend((arg, False) for arg in reversed(node.args))
    return results[0]


# Trees are walked recursively (fast) down to this depth, and below it by `_post_order`.
_RECURSION_DEPTH = 100


def evaluate(expr: Expr, bindings: Mapping[str, Any], _depth: int = 0) -> Any:
    """The value of `expr` with its symbols bound; exact for integer and Fraction inputs."""
    if isinstance(expr, Num):
        return expr.value
    if isinstance(expr, Sym):
        try:
            return bindings[expr.name]
        except KeyError:
            raise KeyError(f"formula symbol {expr.name!r} has no value") from None
    if _depth > _RECURSION_DEPTH:
        return _post_order(expr, lambda node: evaluate(node, bindings), _apply)
    args, depth = expr.args, _depth + 1
    if len(args) == 2:  # most nodes; spelled out, as a comprehension's frame costs more
        return _apply(expr, (evaluate(args[0], bindings, depth), evaluate(args[1], bindings, depth)))
    return _apply(expr, [evaluate(a, bindings, depth) for a in args])


def _apply(expr: Op, values: list) -> Any:
    op = expr.op
    if op == "+":
        return values[0] + values[1]
    if op == "-":
        return values[0] - values[1]
    if op == "*":
        return values[0] * values[1]
    if op == "/":
        return _divide(values[0], values[1])
    if op == "^":
        return values[0] ** values[1]
    if op == "neg":
        return -values[0]
    if op == "@":
        return values[0] @ values[1]
    if op == "T":
        return values[0].T
    if op == "⊙":
        return values[0] * values[1]
    if op == "sum":
        return values[0].sum() if _is_array(values[0]) else sum(values[0])
    if op.startswith("call:"):
        function = FUNCTIONS[op[5:]]
        if any(_is_array(v) for v in values):
            import numpy as np

            impl = getattr(np, function.array) if isinstance(function.array, str) else function.array
            return impl(*values)
        return function.scalar(*values)
    raise ValueError(f"unknown formula operator {op!r}")


# --- rendering ---------------------------------------------------------------------------


class _Writer:
    """Writes a tree as Unicode text or LaTeX, optionally substituting bound values."""

    def __init__(self, latex: bool, values: Mapping[str, Any] | None, decimals: int,
                 format_value: Callable[[Any, int, bool], str] | None):
        self.latex = latex
        self.values = values
        self.decimals = decimals
        self.format_value = format_value

    def write(self, expr: Expr) -> str:
        return self._write(expr, 0)[0]

    def _write(self, expr: Expr, depth: int) -> tuple[str, int]:
        if isinstance(expr, Sym):
            if self.values is not None and expr.name in self.values:
                return self._number(self.values[expr.name])
            return (expr.latex_name() if self.latex else expr.text_name()), _ATOM
        if isinstance(expr, Num):
            return self._number(expr.value)
        if expr.op in ("+", "-") and isinstance(expr.args[0], Op) and expr.args[0].op in ("+", "-"):
            return self._sum_chain(expr, depth)
        if depth > _RECURSION_DEPTH:
            return _post_order(expr, self._leaf, self._compose)
        args, depth = expr.args, depth + 1
        if len(args) == 2:  # most nodes; spelled out, as a comprehension's frame costs more
            return self._compose(expr, (self._write(args[0], depth), self._write(args[1], depth)))
        return self._compose(expr, [self._write(arg, depth) for arg in args])

    def _sum_chain(self, expr: Op, depth: int) -> tuple[str, int]:
        """((a + b) − c) + d written term by term and joined once: a total over 10,000 layers is a
        chain that deep, and writing it node by node would copy the growing text at every node."""
        rights = []
        while isinstance(expr, Op) and expr.op in ("+", "-"):
            rights.append((expr.op, expr.args[1]))
            expr = expr.args[0]
        pieces = [self._wrap(self._write(expr, depth + 1), _ADD)]
        for op, right in reversed(rights):
            sign = " - " if (self.latex and op == "-") else (" − " if op == "-" else " + ")
            pieces.append(sign)
            pieces.append(self._wrap(self._write(right, depth + 1), _ADD + (op == "-")))
        return "".join(pieces), _ADD

    def _number(self, value) -> tuple[str, int]:
        if self.format_value is not None and not isinstance(value, (int, float, Fraction)):
            return self.format_value(value, self.decimals, self.latex), _ATOM
        text = format_number(value, self.decimals)
        if text.startswith("-"):
            # A substituted negative number is parenthesised wherever it is not alone.
            return (text if self.latex else "−" + text[1:]), 0
        return text, _ATOM

    def _leaf(self, expr: Expr) -> tuple[str, int]:
        if isinstance(expr, Num):
            return self._number(expr.value)
        if self.values is not None and expr.name in self.values:
            return self._number(self.values[expr.name])
        return (expr.latex_name() if self.latex else expr.text_name()), _ATOM

    def _compose(self, expr: Op, parts: list[tuple[str, int]]) -> tuple[str, int]:
        """A node written from its arguments' (text, precedence) pairs."""
        op, args, wrap = expr.op, expr.args, self._wrap
        if op in ("+", "-"):
            left = wrap(parts[0], _ADD)
            right = wrap(parts[1], _ADD + (op == "-"))
            sign = " - " if (self.latex and op == "-") else (" − " if op == "-" else " + ")
            return left + sign + right, _ADD
        if op == "*":
            left = wrap(parts[0], _MUL)
            right = wrap(parts[1], _MUL + 1)
            implicit = (isinstance(args[0], Num) and isinstance(args[1], Sym)
                        and not (self.values is not None and args[1].name in self.values))
            joiner = "" if implicit else (r" \cdot " if self.latex else "·")
            return left + joiner + right, _MUL
        if op == "/":
            if self.latex:
                return rf"\frac{{{parts[0][0]}}}{{{parts[1][0]}}}", _ATOM
            return wrap(parts[0], _MUL) + "/" + wrap(parts[1], _NEG), _MUL
        if op == "^":
            base = wrap(parts[0], _POW + 1)
            if self.latex:
                return f"{base}^{{{parts[1][0]}}}", _POW
            return f"{base}^{wrap(parts[1], _POW)}", _POW
        if op == "neg":
            return ("-" if self.latex else "−") + wrap(parts[0], _NEG), _NEG
        if op == "@":
            joiner = " " if self.latex else ""
            return wrap(parts[0], _MUL) + joiner + wrap(parts[1], _MUL + 1), _MUL
        if op == "T":
            inner = wrap(parts[0], _ATOM)
            return (inner + r"^{\top}") if self.latex else inner + "ᵀ", _ATOM
        if op == "⊙":
            joiner = r" \odot " if self.latex else " ⊙ "
            return wrap(parts[0], _HADAMARD) + joiner + wrap(parts[1], _MUL), _HADAMARD
        if op == "sum":
            return (r"\sum " if self.latex else "Σ ") + wrap(parts[0], _MUL + 1), _MUL
        if op.startswith("call:"):
            function = FUNCTIONS[op[5:]]
            inner = ", ".join(text for text, _ in parts)
            if function.brackets:
                t_open, t_close, l_open, l_close = function.brackets
                return ((l_open + inner + l_close) if self.latex else (t_open + inner + t_close)), _ATOM
            if self.latex and function.latex == r"\sqrt":
                return rf"\sqrt{{{inner}}}", _ATOM
            name = function.latex if self.latex else function.text
            left, right = (r"\left(", r"\right)") if self.latex else ("(", ")")
            return f"{name}{left}{inner}{right}", _ATOM
        raise ValueError(f"unknown formula operator {op!r}")

    def _wrap(self, part: tuple[str, int], needed: int) -> str:
        text, level = part
        if level < needed:
            return (r"\left(" + text + r"\right)") if self.latex else f"({text})"
        return text


def to_text(expr: Expr, values: Mapping[str, Any] | None = None, decimals: int = 4,
            format_value=None) -> str:
    """Unicode rendering; with `values`, bound symbols are replaced by their numbers."""
    return _Writer(False, values, decimals, format_value).write(expr)


def to_latex(expr: Expr, values: Mapping[str, Any] | None = None, decimals: int = 4,
             format_value=None) -> str:
    return _Writer(True, values, decimals, format_value).write(expr)
