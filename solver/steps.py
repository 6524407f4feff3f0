"""The one representation of a worked answer: a Solution made of Steps that hold math.

Solvers build Steps from Formula objects (an expression tree plus the numbers bound to its
symbols) and the answers are the evaluated values of those steps, so the working shown can
never disagree with the answer. Renderers only format; nothing here prints.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .formula import Expr, Sym, evaluate


@dataclass(eq=False)
class Formula:
    """`lhs = expr`, with `bindings` giving the numbers of expr's symbols.

    `substitute=False` skips the line with the numbers written in (for big matrices)."""

    lhs: Expr | str
    expr: Expr
    bindings: dict[str, Any] = field(default_factory=dict)
    substitute: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.lhs, str):
            self.lhs = Sym(self.lhs)
        self._value = evaluate(self.expr, self.bindings)

    @property
    def value(self) -> Any:
        return self._value


@dataclass(eq=False)
class Table:
    """Rows of values under column headers; cells are numbers, lists, strings or Expr."""

    columns: list[str]
    rows: list[list[Any]]
    title: str | None = None


@dataclass(eq=False)
class Figure:
    """A picture drawn on demand: renderers that write files call `write(path)`."""

    name: str
    alt: str
    draw: Callable[[Path], None]  # picklable (a module-level function or a partial of one)
    suffix: str = ".png"
    file: str | None = None  # a plain file name the problem asked for; the output layer writes it
    _image: bytes | None = field(default=None, init=False, repr=False)

    def write(self, path: Path) -> None:
        """Draw into `path` the first time; later keys of the same run (Markdown, then HTML, or
        a notebook's two views) get the same bytes without drawing again."""
        if self._image is None:
            self.draw(path)
            self._image = Path(path).read_bytes()
        else:
            Path(path).write_bytes(self._image)


@dataclass(eq=False)
class Diagram:
    """A diagram given as Mermaid source (Markdown/HTML) and as plain text (terminal)."""

    mermaid: str
    text: str


@dataclass(eq=False)
class Highlight:
    """A map of numbers with some cells marked (the window an output element came from): the
    terminal shows marked cells in brackets, Markdown boxes them in a pmatrix."""

    grid: Any  # nested list: a row, a matrix, or a list of matrices (channels)
    marked: Any  # nested list of booleans shaped like `grid`
    label: str | None = None


@dataclass(eq=False)
class Symbolic:
    """A symbolic result: a sympy expression (or matrix), with an optional left-hand side."""

    expr: Any
    lhs: str | None = None
    lhs_latex: str | None = None


@dataclass(eq=False)
class Step:
    text: str
    formula: Formula | None = None
    value: Any = None
    table: Table | None = None
    symbolic: Symbolic | None = None
    figure: Figure | None = None
    diagram: Diagram | None = None
    answer: str | None = None  # the answer name this step produces, if any
    highlight: Highlight | None = None

    @property
    def has_value(self) -> bool:
        return self.value is not None


@dataclass(eq=False)
class Check:
    """One of the solver's own verifications (SPEC §5 `checks`)."""

    description: str
    passed: bool
    detail: str = ""
    error: float | None = None


class Solution:
    """Steps in order, the answers they produced, and the conventions the solver used."""

    def __init__(self) -> None:
        self.steps: list[Step] = []
        self.answers: dict[str, Any] = {}
        self.answer_latex: dict[str, str] = {}
        self.conventions: list[str] = []
        self.checks: list[Check] = []
        self.figures: list[Figure] = []
        self.summary: list[str] = []  # answers for a key's summary table; empty: renderers choose

    def add(
        self,
        text: str,
        formula: Formula | None = None,
        *,
        value: Any = None,
        answer: str | None = None,
        table: Table | None = None,
        symbolic: Symbolic | None = None,
        figure: Figure | None = None,
        diagram: Diagram | None = None,
        highlight: Highlight | None = None,
    ) -> Any:
        """Record a step and return its value; with `answer`, the value becomes that answer."""
        if formula is not None:
            assert value is None, "a formula step computes its own value"
            value = formula.value
        elif symbolic is not None and value is None:
            value = symbolic.expr
        step = Step(text, formula, value, table, symbolic, figure, diagram, answer, highlight)
        self.steps.append(step)
        if figure is not None:
            self.figures.append(figure)
        if answer is not None:
            self.answers[answer] = value
        return value

    def note(self, text: str) -> None:
        """A step of prose only (a reason, an observation)."""
        self.steps.append(Step(text))

    def convention(self, text: str) -> None:
        """A convention that changes numbers; every renderer states it."""
        if text not in self.conventions:
            self.conventions.append(text)

    def check(self, description: str, passed: bool, detail: str = "", error: float | None = None) -> None:
        self.checks.append(Check(description, bool(passed), detail, error))

    def set_answer(self, name: str, value: Any, latex: str | None = None) -> None:
        """An answer assembled from earlier steps' values (a list of per-dimension sizes)."""
        self.answers[name] = value
        if latex is not None:
            self.answer_latex[name] = latex
