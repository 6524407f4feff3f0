"""Whether a claimed expression equals a computed one (SPEC §9): True, False, or None when it
cannot be decided within the budget — never a silent mismatch.

Scalar expressions go through the project's whitelist parser (solver.parse) and are compared
first by a structural simplification (their difference is 0 as sympy builds it), then by
evaluation at random points. Matrix expressions (`@`, `.T`, `ᵀ`) are read by a small
whitelisted grammar of their own: the variables' shapes are inferred from the computed
expression and the answer's `shape_*`, and both sides are evaluated on random matrices.

Hostile claims are bounded before anything is computed: the parser's length, node and depth
limits, integer powers of at most MAX_POWER, and a wall-clock budget for the evaluations.
Nothing here expands or simplifies a large expression.
"""

from __future__ import annotations

import ast
import math
import random
import re
import time

MAX_POWER = 64  # integer powers beyond this are evaluated numerically only, never expanded
POINTS = 12  # random points that must agree
BUDGET_S = 2.0  # seconds of evaluation per comparison
MAX_VARIABLES = 40

_FUNCTIONS = ("sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "exp", "log", "ln",
              "sqrt", "abs", "erf", "sigmoid", "relu", "Phi", "max", "min", "floor", "ceiling", "ceil")
_UNICODE = {"−": "-", "–": "-", "·": "*", "×": "*", "⋅": "*", "⊙": "*", "÷": "/", "σ": "sigmoid",
            "ᵀ": ".T", "^": "**", "²": "**2", "³": "**3"}


def normalise(text: str) -> str:
    for old, new in _UNICODE.items():
        text = text.replace(old, new)
    return text.strip()


def compact(text: str) -> str:
    return re.sub(r"\s+", "", normalise(str(text)))


def is_matrix_text(text: str) -> bool:
    text = normalise(str(text))
    return "@" in text or ".T" in text


def implicit_products(text: str, operator: str) -> str:
    """`2x(d - y).T` -> `2*x@(d - y).T`: juxtaposed factors made explicit (numbers always with
    `*`; names and brackets with `operator`, `@` for matrix expressions)."""
    # a number before a name or bracket (not the e of 1e-3)
    text = re.sub(r"(?<![A-Za-z_\d.])(\d+\.?\d*)\s*(?=[A-Za-df-zA-DF-Z_(]|[eE](?![+-]?\d))", r"\1*", text)
    # a closing bracket before a name, number or opening bracket
    text = re.sub(r"\)\s*(?=[A-Za-z_\d(])", ")" + operator, text)
    # a name before an opening bracket, unless the name is a function
    def name_call(match):
        name = match.group(1)
        return match.group(0) if name in _FUNCTIONS or name == "diag" else f"{name}{operator}("
    text = re.sub(r"(?<![.\w])([A-Za-z_]\w*)\s*\(", name_call, text)
    # a transpose `.T` before a name or bracket
    text = re.sub(r"\.T\s*(?=[A-Za-z_(])", ".T" + operator, text)
    return text


# --- scalar expressions ---------------------------------------------------------------------------


def parse_claim(text: str):
    """The project's whitelist parser (solver.parse) with its limits, plus floor and ceiling,
    which answers such as conv-shape's general formula contain (kept out of the problem-file
    language, where a solver would have to differentiate them)."""
    import sympy

    from ..errors import BadInput
    from ..parse import MAX_LENGTH, MAX_NODES, _Converter, _normalise

    if not isinstance(text, str) or not text.strip() or len(text) > MAX_LENGTH:
        raise BadInput("not an expression of a readable size")
    source = _normalise(text.strip())
    try:
        tree = ast.parse(source, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise BadInput("cannot parse the expression") from None
    if sum(1 for _ in ast.walk(tree)) > MAX_NODES:
        raise BadInput("the expression is too large")
    converter = _Converter(text, None, None)
    converter.functions = {**converter.functions, "floor": (sympy.floor, 1), "ceiling": (sympy.ceiling, 1),
                           "ceil": (sympy.ceiling, 1)}
    try:
        return converter.convert(tree)
    except RecursionError:
        raise BadInput("the expression is nested too deeply") from None


def _too_big(expr) -> bool:
    import sympy

    for node in sympy.preorder_traversal(expr):
        if isinstance(node, sympy.Pow) and node.exp.is_Number and abs(float(node.exp)) > MAX_POWER:
            return True
    return False


def scalar_equal(claimed: str, computed, budget: float = BUDGET_S) -> bool | None:
    import sympy

    from ..errors import BadInput

    try:
        right = computed if type(computed).__module__.startswith("sympy") else \
            parse_claim(implicit_products(normalise(str(computed)), "*"))
    except (BadInput, RecursionError, ValueError, TypeError):
        return None
    try:
        left = parse_claim(implicit_products(normalise(str(claimed)), "*"))
    except BadInput:
        return False  # not an expression the parser accepts: it cannot be the answer
    except (RecursionError, ValueError, TypeError, MemoryError):
        return None
    right = right.subs({s: sympy.Symbol(str(s), real=True) for s in right.free_symbols})
    left = left.subs({s: sympy.Symbol(str(s), real=True) for s in left.free_symbols})
    if not (_too_big(left) or _too_big(right)):
        try:
            if left - right == 0 or (sympy.count_ops(left) + sympy.count_ops(right) < 20
                                     and sympy.simplify(left - right) == 0):
                return True
        except Exception:  # simplification is only a shortcut; evaluation decides
            pass
    return _evaluate_scalars(left, right, budget)


def _evaluate_scalars(left, right, budget: float) -> bool | None:
    import sympy

    names = sorted({str(s) for s in left.free_symbols | right.free_symbols})
    if len(names) > MAX_VARIABLES:
        return None
    symbols = [sympy.Symbol(n, real=True) for n in names]
    try:
        # Machine floats: a tower such as exp(exp(exp(exp(exp(x))))) overflows at once instead
        # of being carried out in arbitrary precision.
        left_fn = sympy.lambdify(symbols, left, modules="math")
        right_fn = sympy.lambdify(symbols, right, modules="math")
    except Exception:
        return None
    rng = random.Random(1729)
    start, agreed = time.monotonic(), 0
    for attempt in range(POINTS * 4):
        if time.monotonic() - start > budget:
            return None
        low, high = ((0.1, 2.0), (-2.0, 2.0), (0.5, 9.5))[attempt % 3]
        point = [rng.uniform(low, high) for _ in names]
        try:
            a, b = complex(left_fn(*point)), complex(right_fn(*point))
        except Exception:  # outside the domain at this point (log of a negative, overflow)
            continue
        if not all(math.isfinite(v) for v in (a.real, a.imag, b.real, b.imag)):
            continue
        if abs(a.imag) > 1e-12 or abs(b.imag) > 1e-12:
            continue
        if abs(a - b) > 1e-8 * max(1.0, abs(a), abs(b)):
            return False
        agreed += 1
        if agreed >= POINTS:
            return True
    return True if agreed >= 3 else None


# --- matrix expressions ---------------------------------------------------------------------------


class _Unreadable(Exception):
    pass


_ELEMENTWISE = {"exp", "log", "ln", "tanh", "sigmoid", "sqrt", "abs", "sin", "cos", "relu"}


def _tree(text: str):
    """A whitelisted tree: ("num", v) ("var", name) (op, a, b) ("neg", a) ("T", a) ("fn", f, a)."""
    source = implicit_products(normalise(text), "@")
    if len(source) > 2000:
        raise _Unreadable("too long")
    try:
        node = ast.parse(source, mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise _Unreadable("syntax") from None
    if sum(1 for _ in ast.walk(node)) > 600:
        raise _Unreadable("too large")
    return _convert(node, 0)


def _convert(node, depth: int):
    if depth > 60:
        raise _Unreadable("too deep")
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return ("num", float(node.value))
    if isinstance(node, ast.Name):
        if node.id.startswith("_") or len(node.id) > 40:
            raise _Unreadable("name")
        return ("var", node.id)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        inner = _convert(node.operand, depth + 1)
        return ("neg", inner) if isinstance(node.op, ast.USub) else inner
    if isinstance(node, ast.Attribute) and node.attr == "T":
        return ("T", _convert(node.value, depth + 1))
    if isinstance(node, ast.BinOp):
        ops = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div", ast.MatMult: "matmul"}
        if isinstance(node.op, ast.Pow):
            exponent = node.right
            if not (isinstance(exponent, ast.Constant) and isinstance(exponent.value, int)
                    and not isinstance(exponent.value, bool) and 0 <= exponent.value <= MAX_POWER):
                raise _Unreadable("power")
            return ("pow", _convert(node.left, depth + 1), exponent.value)
        if type(node.op) not in ops:
            raise _Unreadable("operator")
        return (ops[type(node.op)], _convert(node.left, depth + 1), _convert(node.right, depth + 1))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and len(node.args) == 1 \
            and not node.keywords and node.func.id in _ELEMENTWISE:
        return ("fn", node.func.id, _convert(node.args[0], depth + 1))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "diag" \
            and len(node.args) == 1 and not node.keywords:
        return ("diag", _convert(node.args[0], depth + 1))
    raise _Unreadable(type(node).__name__)


def _variables(tree, found: set) -> set:
    if tree[0] == "var":
        found.add(tree[1])
    for part in tree[1:]:
        if isinstance(part, tuple):
            _variables(part, found)
    return found


class _Shapes:
    """Union-find over dimensions; a dimension may be fixed to a size."""

    def __init__(self):
        self.parent: list[int] = []
        self.size: dict[int, int] = {}
        self.diagonals: list[tuple] = []  # (vector shape, side): one of the vector's sizes is 1

    def settle_diagonals(self) -> None:
        """diag(v): v is a row or a column; a column unless its shape says otherwise."""
        for (rows, cols), side in self.diagonals:
            if self.size.get(self.find(rows)) == 1:
                self.unify(cols, side)
            elif self.size.get(self.find(cols)) == 1 or self.find(rows) == self.find(side):
                self.unify(rows, side)
                self.unify(cols, self.new(1))
            else:
                self.unify(cols, side)
                self.unify(rows, self.new(1))

    def new(self, size: int | None = None) -> int:
        self.parent.append(len(self.parent))
        if size is not None:
            self.size[len(self.parent) - 1] = size
        return len(self.parent) - 1

    def find(self, d: int) -> int:
        while self.parent[d] != d:
            self.parent[d] = self.parent[self.parent[d]]
            d = self.parent[d]
        return d

    def unify(self, a: int, b: int) -> None:
        a, b = self.find(a), self.find(b)
        if a == b:
            return
        if a in self.size and b in self.size and self.size[a] != self.size[b]:
            raise _Unreadable("shapes")
        self.parent[b] = a
        if b in self.size:
            self.size[a] = self.size.pop(b)


def _infer(tree, shapes: _Shapes, variables: dict):
    """The shape (rows, cols) of a subtree as dimension ids, or None for a number."""
    kind = tree[0]
    if kind == "num":
        return None
    if kind == "var":
        if tree[1] not in variables:
            variables[tree[1]] = (shapes.new(), shapes.new())
        return variables[tree[1]]
    if kind in ("neg", "pow"):
        return _infer(tree[1], shapes, variables)
    if kind == "fn":
        return _infer(tree[2], shapes, variables)
    if kind == "T":
        inner = _infer(tree[1], shapes, variables)
        return None if inner is None else (inner[1], inner[0])
    if kind == "diag":  # a vector's entries on a square matrix's diagonal
        inner = _infer(tree[1], shapes, variables)
        if inner is None:
            raise _Unreadable("diag of a number")
        side = shapes.new()
        shapes.diagonals.append((inner, side))
        return (side, side)
    left, right = _infer(tree[1], shapes, variables), _infer(tree[2], shapes, variables)
    if left is None or right is None:
        return left if right is None else right
    if kind == "matmul":
        shapes.unify(left[1], right[0])
        return (left[0], right[1])
    shapes.unify(left[0], right[0])
    shapes.unify(left[1], right[1])
    return left


def _evaluate(tree, values: dict):
    import numpy as np

    kind = tree[0]
    if kind == "num":
        return np.float64(tree[1])
    if kind == "var":
        return values[tree[1]]
    if kind == "neg":
        return -_evaluate(tree[1], values)
    if kind == "pow":
        return _evaluate(tree[1], values) ** tree[2]
    if kind == "T":
        return np.transpose(_evaluate(tree[1], values))
    if kind == "diag":
        vector = np.asarray(_evaluate(tree[1], values))
        if vector.ndim != 2 or 1 not in vector.shape:
            raise _Unreadable("diag of a matrix")
        return np.diagflat(vector)
    if kind == "fn":
        x = _evaluate(tree[2], values)
        name = tree[1]
        if name == "sigmoid":
            return 1 / (1 + np.exp(-x))
        if name == "relu":
            return np.maximum(x, 0)
        return getattr(np, {"ln": "log"}.get(name, name))(x)
    a, b = _evaluate(tree[1], values), _evaluate(tree[2], values)
    if kind == "add":
        return a + b
    if kind == "sub":
        return a - b
    if kind == "mul":
        return a * b
    if kind == "div":
        return a / b
    if np.ndim(a) == 0 or np.ndim(b) == 0:  # a number times a matrix
        return a * b
    if a.shape[1] != b.shape[0]:
        raise _Unreadable("matmul")
    return a @ b


def matrix_equal(claimed: str, computed: str, target_shape=None, budget: float = BUDGET_S) -> bool | None:
    """Claimed and computed matrix expressions on random matrices of inferred shapes."""
    import numpy as np

    try:
        right = _tree(str(computed))
    except _Unreadable:
        return None
    try:
        left = _tree(str(claimed))
    except _Unreadable:
        return False if _readable_as_scalar(claimed) is False else None
    shapes, variables = _Shapes(), {}
    try:
        result = _infer(right, shapes, variables)
        named: dict[str, int] = {}
        if result is not None and isinstance(target_shape, list) and len(target_shape) == 2:
            for dim, size in zip(result, target_shape):
                if isinstance(size, int) and not isinstance(size, bool):
                    shapes.unify(dim, shapes.new(size))
                elif isinstance(size, str) and re.fullmatch(r"[A-Za-z_]\w*", size):
                    shapes.unify(dim, named.setdefault(size, shapes.new()))
        shapes.settle_diagonals()
    except _Unreadable:
        return None
    extra = _variables(left, set()) - set(variables)
    if extra:
        return False  # a name the answer does not have
    sizes, next_size = {}, iter(range(2, 100))
    for d in range(len(shapes.parent)):
        root = shapes.find(d)
        if root not in sizes:
            sizes[root] = shapes.size.get(root) or next(next_size)
    rng = np.random.default_rng(1729)
    start, agreed = time.monotonic(), 0
    for attempt in range(POINTS):
        if time.monotonic() - start > budget:
            return None
        values = {name: rng.uniform(0.1, 1.0, (sizes[shapes.find(r)], sizes[shapes.find(c)]))
                  * (1 if attempt % 2 == 0 else rng.choice([-1.0, 1.0]))
                  for name, (r, c) in variables.items()}
        with np.errstate(all="ignore"):
            expected = np.asarray(_evaluate(right, values))
            if not np.all(np.isfinite(expected)):
                continue
            try:
                got = np.asarray(_evaluate(left, values))
            except (_Unreadable, ValueError, TypeError, FloatingPointError):
                return False  # the claim's shapes do not fit (a transposed gradient)
        if got.size == expected.size == 1:
            got, expected = got.reshape(1), expected.reshape(1)
        if got.shape != expected.shape or not np.allclose(got, expected, rtol=1e-9, atol=1e-12):
            return False
        agreed += 1
    return True if agreed >= 3 else None


def _readable_as_scalar(claimed) -> bool | None:
    from ..errors import BadInput

    try:
        parse_claim(implicit_products(normalise(str(claimed)), "*"))
        return True
    except BadInput:
        return False
    except Exception:
        return None


def expressions_equal(claimed, computed, target_shape=None, budget: float = BUDGET_S) -> bool | None:
    """True, False or None (undecided) for a claimed expression against a computed one."""
    if compact(claimed).lower() == compact(computed).lower():
        return True
    parts = str(computed).split(" x ")
    if len(parts) > 1 and all(re.fullmatch(r"\w+|\(.*\)", part.strip()) for part in parts):
        # a symbolic shape, `F x (floor(…) + 1) x (…)`: compared size by size
        from .forms import read_list

        left, right = read_list(str(claimed), 1), parts
        if not isinstance(left, list) or len(left) != len(right):
            return False
        verdicts = [expressions_equal(str(a), b.strip(), None, budget / len(right)) for a, b in zip(left, right)]
        return False if False in verdicts else None if None in verdicts else True
    if is_matrix_text(str(computed)) or is_matrix_text(str(claimed)):
        return matrix_equal(str(claimed), str(computed), target_shape, budget)
    return scalar_equal(str(claimed), computed, budget)
