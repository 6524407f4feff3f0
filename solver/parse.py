"""The safe expression parser: user text -> sympy expression, without ever running code.

Problem files are untrusted (SPEC §6). Python's `ast` module only *parses* the text; the tree
is then walked with a whitelist — numbers, plain symbols, + − × ÷ and powers, and a fixed set
of functions — and turned into sympy objects directly. There is no `eval`, no `sympify`, no
attribute access, no indexing, no keyword arguments. Size limits keep a hostile expression
such as `9**9**9**9` from hanging the program.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable, Iterable

from .errors import BadInput, did_you_mean

MAX_LENGTH = 2000
MAX_NODES = 600
MAX_DEPTH = 60
MAX_INTEGER_DIGITS = 100
MAX_POWER_DIGITS = 2000  # a constant power may have at most this many digits
MAX_EXPONENT = 1000  # x**n for a symbolic x, also when powers of powers multiply (x**999)**999
MAX_TOWER = 3  # x**x**x: at most three symbolic exponents stacked
MAX_EXPANDED_TERMS = 20_000  # (a+b+c+d)**n is refused when expanding it would give more terms
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")

# Unicode spellings people paste from course notes.
_REPLACEMENTS = {"^": "**", "·": "*", "×": "*", "−": "-", "÷": "/", "σ": "sigmoid", "π": "pi"}


def _functions():
    from .sympy_functions import PARSER_FUNCTIONS

    return PARSER_FUNCTIONS


# The functions a formula may call; their sympy meaning is in solver/sympy_functions.py.
FUNCTION_NAMES = ("sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "exp",
                  "log", "ln", "sqrt", "abs", "erf", "sigmoid", "relu", "Phi", "max", "min")
CONSTANTS = ("pi",)


def make_symbol(name: str):
    """The one way symbols are made, so that every kind's `x` is the same sympy object.
    Symbols are real: course quantities are real numbers (|x|, √x² simplify as expected)."""
    import sympy

    return sympy.Symbol(name, real=True)


def _normalise(text: str) -> str:
    for old, new in _REPLACEMENTS.items():
        text = text.replace(old, new)
    return text


class _Converter:
    def __init__(self, text: str, variables: set[str] | None, field: str | None,
                 noncommutative: frozenset[str] = frozenset()):
        import sympy

        self.sympy = sympy
        self.text = text
        self.variables = variables
        self.field = field
        self.functions = _functions()
        self.noncommutative = noncommutative

    def fail(self, message: str) -> BadInput:
        return BadInput(f"{message} in expression {self.text!r}", field=self.field)

    def convert(self, node: ast.AST, depth: int = 0):
        if depth > MAX_DEPTH:
            raise self.fail("the expression is nested too deeply")
        if isinstance(node, ast.Expression):
            return self.convert(node.body, depth + 1)
        if isinstance(node, ast.Constant):
            return self.number(node.value)
        if isinstance(node, ast.Name):
            return self.name(node.id)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            operand = self.convert(node.operand, depth + 1)
            return -operand if isinstance(node.op, ast.USub) else operand
        if isinstance(node, ast.BinOp):
            left = self.convert(node.left, depth + 1)
            right = self.convert(node.right, depth + 1)
            if isinstance(node.op, ast.Add):
                return left + right
            if isinstance(node.op, ast.Sub):
                return left - right
            if isinstance(node.op, ast.Mult):
                return left * right
            if isinstance(node.op, ast.Div):
                if right == 0:
                    raise self.fail("division by zero")
                return left / right
            if isinstance(node.op, ast.Pow):
                return self.power(left, right)
            raise self.fail(f"the operator {type(node.op).__name__} is not allowed")
        if isinstance(node, ast.Call):
            return self.call(node, depth)
        if isinstance(node, ast.Attribute):
            raise self.fail("attribute access ('.') is not allowed")
        if isinstance(node, ast.Subscript):
            raise self.fail("indexing ('[...]') is not allowed")
        raise self.fail(f"{type(node).__name__} is not allowed (only numbers, symbols, + - * / ** "
                        f"and the functions {', '.join(FUNCTION_NAMES)})")

    def number(self, value):
        sympy = self.sympy
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(f"the constant {value!r} is not a number")
        if isinstance(value, int):
            if len(str(abs(value))) > MAX_INTEGER_DIGITS:
                raise self.fail("an integer constant is too large")
            return sympy.Integer(value)
        if not math.isfinite(value):
            raise self.fail("a constant is not finite")
        return sympy.Float(value) if not value.is_integer() else sympy.Integer(int(value))

    def name(self, name: str):
        if name in CONSTANTS:
            return self.sympy.pi
        if name in self.functions:
            raise self.fail(f"{name} is a function: write {name}(...)")
        if name.startswith("_") or not _NAME.match(name):
            raise self.fail(f"the name {name!r} is not allowed")
        if self.variables is not None and name not in self.variables:
            known = sorted(self.variables)
            raise self.fail(f"unknown symbol {name!r}{did_you_mean(name, known)}"
                            + (f"; allowed: {', '.join(known)}" if known else ""))
        if name in self.noncommutative:
            return self.sympy.Symbol(name, commutative=False)
        return make_symbol(name)

    def power(self, base, exponent):
        if exponent.is_Number and base.is_Number:
            magnitude = abs(float(exponent)) * math.log10(max(abs(float(base)), 2.0)) \
                if abs(float(base)) != 0 else 0.0
            if magnitude > MAX_POWER_DIGITS:
                raise self.fail("a power is too large to compute")
        elif exponent.is_Number and abs(float(exponent)) > MAX_EXPONENT:
            raise self.fail("an exponent is too large")
        elif not exponent.is_Number and base.is_Number and abs(float(base)) > 1e100:
            raise self.fail("a power is too large")
        if not exponent.is_Number and 1 + _tower_height(exponent) > MAX_TOWER:
            raise self.fail(f"a tower of powers is higher than {MAX_TOWER}")
        if exponent.is_Integer and base.is_Add and _expanded_terms(len(base.args), int(exponent)) > MAX_EXPANDED_TERMS:
            raise self.fail(f"a power of a sum would expand to more than {MAX_EXPANDED_TERMS:,} terms")
        result = base ** exponent
        if result.is_Pow and result.exp.is_Number and not result.base.is_Number \
                and abs(float(result.exp)) > MAX_EXPONENT:  # (x**999)**999 is x**998001
            raise self.fail("a power of a power is too large")
        return result

    def call(self, node: ast.Call, depth: int):
        if not isinstance(node.func, ast.Name):
            raise self.fail("only plain function names may be called")
        name = node.func.id
        if name not in self.functions:
            raise self.fail(f"unknown function {name!r}{did_you_mean(name, FUNCTION_NAMES)}")
        if node.keywords:
            raise self.fail("keyword arguments are not allowed")
        function, arity = self.functions[name]
        args = [self.convert(a, depth + 1) for a in node.args]
        if arity is not None and len(args) != arity:
            raise self.fail(f"{name} takes {arity} argument{'s' if arity != 1 else ''}, got {len(args)}")
        if arity is None and len(args) < 2:
            raise self.fail(f"{name} takes at least 2 arguments")
        try:
            return function(*args)
        except (TypeError, ValueError) as exc:  # max(x, sqrt(-1)): no order on complex numbers
            raise self.fail(f"{name} is not defined for these arguments ({exc})") from None


def _tower_height(expr) -> int:
    """How many symbolic exponents are stacked at the top of `expr` (x**y**z: 2)."""
    height = 0
    while expr.is_Pow and not expr.exp.is_Number:
        height += 1
        expr = expr.exp
    return height


def _expanded_terms(terms: int, power: int) -> int:
    """Terms of (t₁ + … + tₖ)**n multiplied out: C(n + k − 1, k − 1); 0 for n < 2."""
    return math.comb(power + terms - 1, terms - 1) if power >= 2 else 0


def parse_expression(text, variables: Iterable[str] | None = None, *, field: str | None = None,
                     noncommutative: Iterable[str] = ()):
    """Parse a user's expression into sympy; BadInput naming `field` if it is not allowed.

    `variables`, when given, is the complete list of symbols the expression may use.
    `noncommutative` names become non-commuting symbols, so that a product keeps the order it
    was written in (a matrix times a vector)."""
    import sympy

    if isinstance(text, bool):
        raise BadInput("expected an expression, got a boolean", field=field)
    if isinstance(text, (int, float)):
        return sympy.Integer(text) if float(text).is_integer() else sympy.Float(text)
    if not isinstance(text, str) or not text.strip():
        raise BadInput("expected an expression (text)", field=field)
    if len(text) > MAX_LENGTH:
        raise BadInput(f"the expression is longer than {MAX_LENGTH} characters", field=field)
    source = _normalise(text.strip())
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        raise BadInput(f"cannot parse expression {text!r}: {exc.msg}", field=field) from None
    except (ValueError, RecursionError, MemoryError):
        raise BadInput(f"cannot parse expression {text!r}", field=field) from None
    if sum(1 for _ in ast.walk(tree)) > MAX_NODES:
        raise BadInput(f"the expression has more than {MAX_NODES} parts", field=field)
    converter = _Converter(text, None if variables is None else set(variables), field,
                           frozenset(noncommutative))
    try:
        return converter.convert(tree)
    except RecursionError:
        raise BadInput("the expression is nested too deeply", field=field) from None


def parse_assignment(text: str, variables: Iterable[str] | None = None, *, field: str | None = None):
    """`name = expression` -> (name, sympy expression)."""
    if not isinstance(text, str) or text.count("=") != 1:
        raise BadInput(f"expected one equation 'name = expression', got {text!r}", field=field)
    name, expression = (part.strip() for part in text.split("="))
    if not _NAME.match(name):
        raise BadInput(f"the left side {name!r} of an equation must be a name", field=field)
    return name, parse_expression(expression, variables, field=field)


def symbols_of(expr) -> list[str]:
    """The names of an expression's free symbols, sorted."""
    return sorted(str(s) for s in expr.free_symbols)


def compile_numeric(expr, variables: Iterable[str], backend: str = "math") -> Callable:
    """A fast numeric function of `variables` (in that order) for an expression from this parser.
    The code is generated by sympy from the whitelisted tree, never from the user's text.
    `backend="numpy"` evaluates element-wise on arrays."""
    import sympy

    symbols = [make_symbol(name) for name in variables]
    return sympy.lambdify(symbols, expr, modules=backend)
