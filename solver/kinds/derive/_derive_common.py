"""Shared machinery of the `derive` kind: sizes, index notation, derivation steps, and the
numerical verification that closes every derivation.

A template writes each result as a formula tree (solver.formula) in matrix form and, where it
helps, in element-wise index form. The trees are rendered (Unicode, LaTeX) *and* evaluated on a
random numerical instance: the matrix form is evaluated with NumPy arrays, the index form by
broadcasting, one array axis per index letter. A step whose two forms disagree is a bug and
fails loudly; every result is then compared with central finite differences of the loss, which
is computed from its definition only — that comparison is the last step shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from ...formula import Expr, Function, Num, Op, Sym, call, define_function, evaluate, to_latex, to_text
from ...nn.functions import sigmoid_array, softmax_array
from ...steps import Solution, Symbolic, Table

# Relative difference between a derived result and finite differences that counts as agreement.
# Central differences in float64 with a step of 1e-6 are good to about 1e-9 here.
CHECK_TOLERANCE = 1e-6
FD_STEP = 1e-6

# Index notation: each index letter owns one array axis, so an element-wise formula evaluates
# by NumPy broadcasting and Σ over a letter is a sum over its axis.
INDEX_AXES = {"i": 0, "j": 1, "k": 2, "m": 3, "n": 4, "c": 5, "p": 6, "q": 7}
_SUBSCRIPT = {"i": "ᵢ", "j": "ⱼ", "k": "ₖ", "m": "ₘ", "n": "ₙ", "t": "ₜ", "p": "ₚ"}


# --- sizes and shapes ---------------------------------------------------------------------


@dataclass(frozen=True)
class Size:
    """One dimension: how it is written, and the number used for the numerical check."""

    text: str  # Unicode: "N", "4", "⌊(L − k)/s⌋ + 1"
    latex: str
    plain: int | str  # the answer's form: an int when known, else a parseable string
    value: int  # the size of the random instance

    @property
    def known(self) -> bool:
        return isinstance(self.plain, int)


ONE = Size("1", "1", 1, 1)


def number_size(value: int) -> Size:
    return Size(str(value), str(value), value, value)


def symbol_size(name: str, check_value: int) -> Size:
    base, _, sub = name.partition("_")
    return Size(name, f"{base}_{{{sub}}}" if sub else name, name, check_value)


def shape_text(shape: tuple[Size, ...]) -> str:
    return " × ".join(size.text for size in shape)


def shape_latex(shape: tuple[Size, ...]) -> str:
    return r" \times ".join(size.latex for size in shape)


def shape_value(shape: tuple[Size, ...]) -> tuple[int, ...]:
    return tuple(size.value for size in shape)


def size_sym(size: Size) -> Expr:
    """A size inside a formula: its number when known, else its symbol."""
    return Num(size.plain) if size.known else Sym(str(size.plain), text=size.text, latex=size.latex)


# --- the formula vocabulary of derivations -------------------------------------------------


def _identity(x):
    return x


def _softmax_rows(v):
    return softmax_array(v, axis=-1)


def _diag(v):
    import numpy as np

    return np.diag(np.ravel(v))


# Registered under a prefix: the formula vocabulary is shared by every kind in the process, and
# another kind may define its own `diag` or `softmax`. Answers are written without the prefix.
PREFIX = "derive_"


def fn(name: str, *args) -> Op:
    """A call of one of this module's formula functions (softmax, diag, sqnorm, group, sums)."""
    return call(PREFIX + name, *args)


define_function(PREFIX + "group", Function("", "", _identity, _identity))
define_function(PREFIX + "softmax", Function("softmax", r"\operatorname{softmax}", _identity, _softmax_rows))
define_function(PREFIX + "diag", Function("diag", r"\operatorname{diag}", _identity, _diag))

_SUM_FUNCTIONS: dict[str, str] = {}


def _squared_norm(v):
    import numpy as np

    return np.sum(np.asarray(v, dtype=float) ** 2)


define_function(PREFIX + "sqnorm", Function("", "", lambda v: v * v, _squared_norm,
                                   ("‖", "‖²", r"\left\lVert ", r"\right\rVert^{2}")))


def _sum_over(letter: str) -> Callable:
    axis = INDEX_AXES.get(letter)

    def summed(v):
        import numpy as np

        if axis is None:
            raise ValueError(f"Σ over {letter!r} is written, not evaluated by broadcasting")
        v = np.asarray(v)
        return v.sum(axis=axis, keepdims=True) if v.ndim > axis else v * 1
    return summed


def index_sum(letter: str, body, lower: Size | None = None, upper: Size | None = None) -> Op:
    """Σ over an index letter, written Σⱼ(…) or with limits Σ_{j=1}^{k}(…)."""
    if lower is None:
        key = f"sum[{letter}]"
        text = "Σ" + _SUBSCRIPT.get(letter, "_" + letter)
        latex = rf"\sum_{{{letter}}}"
    else:
        key = f"sum[{letter}={lower.plain}..{upper.plain}]"
        text = f"Σ_{{{letter}={lower.text}…{upper.text}}}"
        latex = rf"\sum_{{{letter}={lower.latex}}}^{{{upper.latex}}}"
    if key not in _SUM_FUNCTIONS:
        summed = _sum_over(letter)
        define_function(PREFIX + key, Function(text, latex, summed, summed))
        _SUM_FUNCTIONS[key] = key
    return fn(key, body)


THIN = "\u2009"


def matrix(name: str, text: str | None = None, latex: str | None = None) -> Sym:
    """A matrix with a subscripted name (W_c), written with a thin space after it so that a
    product reads W_c x[t], not W_cx[t]."""
    return Sym(name, text=(text or name) + THIN, latex=latex)


def transposed(m: Sym) -> Sym:
    """Mᵀ as one symbol `M.T` (bound automatically), for subscripted names: W_hᵀ δ, not W_h ᵀδ."""
    text = m.text_name().rstrip(THIN)
    return Sym(f"{m.name}.T", text=f"{text}ᵀ{THIN}", latex=rf"{m.latex_name()}^{{\top}}")


class _Bindings(dict):
    """Symbol values; `M.T` resolves to the transpose of M's value."""

    def __missing__(self, name):
        if name.endswith(".T") and name[:-2] in self:
            return self[name[:-2]].T
        raise KeyError(name)


def group(expr) -> Op:
    """Explicit parentheses (⊙ and matrix products share a precedence level)."""
    return fn("group", expr)


def sym(name: str, text: str | None = None, latex: str | None = None) -> Sym:
    """A quantity of the derivation; `name` is also its plain (answer) spelling."""
    return Sym(name, text=text, latex=latex)


def partial(top: Sym, bottom: Sym, name: str) -> Sym:
    """∂top/∂bottom as one symbol, parenthesised in text so that products stay readable."""
    return Sym(name, text=f"(∂{top.text_name()}/∂{bottom.text_name()})",
               latex=rf"\frac{{\partial {top.latex_name()}}}{{\partial {bottom.latex_name()}}}")


def element(base: Sym, letters: str) -> Sym:
    """The element of `base` at index letters, e.g. W₁[n, m]; bound by `index_view`."""
    shown = ", ".join(letters)
    return Sym(f"{base.name}[{shown}]", text=f"{base.text_name()}[{shown}]",
               latex=f"{{{base.latex_name()}}}_{{{letters}}}")


def element_partial(top: Sym, bottom: Sym, bottom_letters: str, top_letters: str = "", *,
                    paren: bool = False) -> Sym:
    """∂top[i]/∂bottom[j] (or ∂top/∂bottom[i, j] for a scalar top) as a written symbol."""
    def text_index(letters):
        return f"[{', '.join(letters)}]" if letters else ""

    def latex_of(base, letters):
        return f"{{{base.latex_name()}}}_{{{letters}}}" if letters else base.latex_name()

    text = (f"∂{top.text_name()}{text_index(top_letters)}/"
            f"∂{bottom.text_name()}{text_index(bottom_letters)}")
    latex = rf"\frac{{\partial {latex_of(top, top_letters)}}}{{\partial {latex_of(bottom, bottom_letters)}}}"
    name = f"d{top.name}{text_index(top_letters)}_d{bottom.name}{text_index(bottom_letters)}"
    return Sym(name, text=f"({text})" if paren else text, latex=latex)


_CONSTANTS: dict[str, int] = {}


def const(value: int) -> Sym:
    """A signed coefficient written without parentheses: −2·(d − y), not (−2)·(d − y)."""
    name = str(value)
    _CONSTANTS[name] = value
    return Sym(name, text=name.replace("-", "−"), latex=name)


def kronecker(letters: str) -> Sym:
    return Sym(f"delta[{', '.join(letters)}]", text=f"δ[{', '.join(letters)}]", latex=rf"\delta_{{{letters}}}")


def index_view(array, letters: str):
    """`array` (1-D, or 2-D with one size-1 axis per missing letter) placed on the axes of its
    index letters, with size 1 everywhere else, so index formulas broadcast."""
    import numpy as np

    array = np.asarray(array, dtype=float)
    if array.ndim == 2 and len(letters) == 1:
        array = array.reshape(-1)
    if not letters and array.size == 1:
        array = array.reshape(())
    assert array.ndim == len(letters), f"{array.shape} does not match indices {letters!r}"
    ndim = max(INDEX_AXES.values()) + 1
    order = sorted(range(len(letters)), key=lambda k: INDEX_AXES[letters[k]])
    moved = np.transpose(array, order)
    shape = [1] * ndim
    for k in order:
        shape[INDEX_AXES[letters[k]]] = array.shape[k]
    return moved.reshape(shape)


# --- plain (answer) spelling of a formula tree -------------------------------------------


_ADD, _MUL, _NEG, _POW, _ATOM = 1, 2, 3, 4, 5


def to_plain(expr: Expr) -> str:
    """NumPy-like ASCII: `@` matrix product, `*` element-wise product, `.T` transpose.
    Results free of `@`, `.T` and indices are also valid input for the expression parser."""
    return _plain(expr)[0]


def _plain_wrap(expr: Expr, needed: int) -> str:
    text, level = _plain(expr)
    return f"({text})" if level < needed else text


def _plain(expr: Expr) -> tuple[str, int]:
    if isinstance(expr, Num):
        value = expr.value
        text = str(value) if not isinstance(value, float) or not value.is_integer() else str(int(value))
        return text, (_NEG if text.startswith("-") else _ATOM)
    if isinstance(expr, Sym):
        return expr.name, _ATOM
    op, args = expr.op, expr.args
    if op in ("+", "-"):
        return f"{_plain_wrap(args[0], _ADD)} {op} {_plain_wrap(args[1], _ADD + (op == '-'))}", _ADD
    if op in ("*", "⊙", "/", "@"):
        joiner = {"*": " * ", "⊙": " * ", "/": " / ", "@": " @ "}[op]
        return _plain_wrap(args[0], _MUL) + joiner + _plain_wrap(args[1], _MUL + 1), _MUL
    if op == "neg":
        return "-" + _plain_wrap(args[0], _NEG), _NEG
    if op == "^":
        return f"{_plain_wrap(args[0], _POW + 1)}**{_plain_wrap(args[1], _POW)}", _POW
    if op == "T":
        return _plain_wrap(args[0], _ATOM) + ".T", _ATOM
    if op == "sum":
        return f"sum({to_plain(args[0])})", _ATOM
    if op.startswith("call:"):
        name = op[5:].removeprefix(PREFIX)
        inner = ", ".join(to_plain(a) for a in args)
        if name == "group":
            return f"({inner})", _ATOM
        return f"{name}({inner})", _ATOM  # sums read sum[j=1..k](…)
    raise ValueError(f"unknown formula operator {op!r}")


# --- the derivation: steps that are evaluated -------------------------------------------


@dataclass
class CheckRow:
    label: str
    shape: str
    error: float
    scale: float
    against: str = "finite differences"

    @property
    def relative(self) -> float:
        return self.error / max(1.0, self.scale)

    @property
    def passed(self) -> bool:
        return self.relative < CHECK_TOLERANCE


def _close(a, b) -> bool:
    import numpy as np

    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-9, atol=1e-10))


class Derivation:
    """Builds the steps of one derivation and evaluates each one on the check instance.

    `values` maps symbol names to NumPy arrays: the random instance at first, then every
    derived result under its left-hand side's name, so later steps can use earlier ones."""

    def __init__(self, sol: Solution, values: dict[str, Any]):
        self.sol = sol
        self.values = dict(values)
        self.rows: list[CheckRow] = []

    def evaluate(self, expr: Expr, extra: dict | None = None):
        return evaluate(expr, _Bindings({**_CONSTANTS, **self.values, **(extra or {})}))

    def show(self, text: str, lhs: Expr | str, *chain: Expr, lhs_latex: str | None = None) -> None:
        """A written step `lhs = chain[0] = chain[1] = …` (nothing evaluated)."""
        *middle, last = chain
        left_text = lhs if isinstance(lhs, str) else _lhs_text(lhs)
        left_latex = lhs_latex if lhs_latex is not None else (lhs if isinstance(lhs, str) else to_latex(lhs))
        for part in middle:
            left_text += " = " + to_text(part)
            left_latex += " = " + to_latex(part)
        self.sol.add(text, symbolic=Symbolic(last, left_text, left_latex))

    def define(self, text: str, lhs: Sym, expr: Expr, shape: tuple[Size, ...] | None = None):
        """A forward definition, evaluated and remembered under lhs's name."""
        value = self.evaluate(expr)
        self._check_shape(lhs, value, shape)
        self.values[lhs.name] = value
        self.show(_with_shape(text, shape), lhs, expr)
        return value

    def derive(self, text: str, lhs: Sym, expr: Expr, *, via: Expr | tuple | None = None,
               shape: tuple[Size, ...] | None = None, answer: str | None = None,
               value: Any = None):
        """A derived result `lhs = via = expr`: both forms evaluated and required to agree;
        the value is remembered, and with `answer` the closed form becomes that answer.
        `value` supplies the result where `expr` is evaluated outside the tree (a sum over t)."""
        if value is None:
            value = self.evaluate(expr)
        vias = () if via is None else (via if isinstance(via, tuple) else (via,))
        for form in vias:
            assert _close(self.evaluate(form), value), f"{lhs.name}: {to_text(form)} ≠ {to_text(expr)}"
        self._check_shape(lhs, value, shape)
        self.values[lhs.name] = value
        self.show(_with_shape(text, shape), lhs, *vias, expr)
        if answer is not None:
            self.answer(answer, expr, shape)
        return value

    def elementwise(self, text: str, lhs: Expr, *chain: Expr, bindings: dict, expected, letters: str) -> None:
        """An index-notation step, evaluated by broadcasting and required to equal `expected`
        (the matrix form's value, whose axes carry `letters`)."""
        import numpy as np

        target = index_view(expected, letters)
        for form in chain:
            got = self.evaluate(form, bindings)
            assert np.allclose(np.broadcast_to(got, np.broadcast_shapes(got.shape, target.shape)), target,
                               rtol=1e-9, atol=1e-10), f"index form {to_text(form)} disagrees"
        self.show(text, lhs, *chain)

    def answer(self, name: str, expr: Expr | str, shape: tuple[Size, ...] | None = None,
               latex: str | None = None) -> None:
        if isinstance(expr, Expr):
            self.sol.set_answer(name, to_plain(expr), to_latex(expr))
        else:
            self.sol.set_answer(name, expr, latex)
        if shape is not None:
            self.shape_answer(name, shape)

    def shape_answer(self, name: str, shape: tuple[Size, ...]) -> None:
        self.sol.set_answer(f"shape_{name}", [size.plain for size in shape], shape_latex(shape))

    def _check_shape(self, lhs: Sym, value, shape) -> None:
        if shape is not None and hasattr(value, "shape"):
            assert tuple(value.shape) == shape_value(shape), \
                f"{lhs.name} has shape {value.shape}, expected {shape_value(shape)}"

    # --- verification ---

    def verify(self, label: str, derived, reference, shape: str = "",
               against: str = "finite differences") -> None:
        """Compare a derived value with an independent reference (finite differences)."""
        import numpy as np

        derived = np.asarray(derived, dtype=float)
        reference = np.asarray(reference, dtype=float)
        assert derived.shape == reference.shape, f"{label}: {derived.shape} vs {reference.shape}"
        error = float(np.max(np.abs(derived - reference))) if derived.size else 0.0
        scale = float(np.max(np.abs(reference))) if reference.size else 0.0
        self.rows.append(CheckRow(label, shape or "×".join(map(str, derived.shape)), error, scale, against))

    def finish(self, instance: str, reference: str = "central finite differences") -> "Derivation":
        """The closing step: the table of comparisons, recorded as the solver's checks."""
        if not self.rows:
            self.sol.note(f"Numerical check on a random instance ({instance}): no result could be compared "
                          f"with {reference}.")
            return self
        rows = [[row.label, row.shape, bound(row.error), bound(row.relative), "✓" if row.passed else "✗"]
                for row in self.rows]
        verdict = "every result agrees" if all(row.passed for row in self.rows) else "SOME RESULTS DISAGREE"
        self.sol.add(f"Numerical check on a random instance ({instance}): each derived result "
                     f"evaluated and compared with {reference} — {verdict} "
                     f"(relative tolerance {CHECK_TOLERANCE:.0e}).",
                     table=Table(["result", "shape", "max abs difference", "relative", "agrees"], rows))
        for row in self.rows:
            self.sol.check(f"{row.label} vs {row.against}", row.passed,
                           f"largest difference {bound(row.error)}, relative {bound(row.relative)}", row.relative)
        return self


def bound(error: float) -> str:
    """An error as the power of ten just above it (< 1e-10): the digits of a rounding error
    vary with the platform, its order of magnitude does not."""
    import math

    if error == 0:
        return "0"
    if not math.isfinite(error):
        return str(error)
    return f"< 1e{math.ceil(math.log10(error)):d}"


def _with_shape(text: str, shape: tuple[Size, ...] | None) -> str:
    if shape is None:
        return text
    if text.endswith(":"):
        return f"{text[:-1]} ({shape_text(shape)}):"
    return f"{text} ({shape_text(shape)})"


def _lhs_text(lhs: Expr) -> str:
    """A left-hand side written alone needs no protective parentheses: ∂E/∂x, not (∂E/∂x)."""
    text = to_text(lhs).strip(THIN)
    if isinstance(lhs, Sym) and text.startswith("(") and text.endswith(")"):
        return text[1:-1]
    return text


# --- finite differences -----------------------------------------------------------------


def numerical_gradient(loss: Callable[[], float], array) -> Any:
    """∂loss/∂array by central differences; `array` is perturbed in place and restored."""
    from ...nn.gradcheck import numeric_gradient

    return numeric_gradient(loss, array, FD_STEP)


def numerical_jacobian(output: Callable[[], Any], array) -> Any:
    """∂output/∂array by central differences, shaped output.shape + array.shape."""
    from ...nn.gradcheck import numeric_jacobian

    return numeric_jacobian(output, array, FD_STEP)


def sigmoid(v):
    return sigmoid_array(v)


def one_hot(rng, size: int):
    import numpy as np

    y = np.zeros((1, size))
    y[0, rng.integers(size)] = 1.0
    return y


def instance_text(sizes: dict[str, Size], seed: int) -> str:
    shown = ", ".join(f"{name} = {size.value}" for name, size in sizes.items())
    return f"{shown}, seed {seed}" if shown else f"seed {seed}"
