"""Markdown answer keys (SPEC §5): title, a table of final answers, then each problem's given
data, numbered steps with LaTeX that renders on GitHub and in Jupyter, and the answer in bold.
Figures are drawn beside the key and linked; diagrams become Mermaid blocks."""

from __future__ import annotations

import re
from pathlib import Path

from ..output import draw_atomic
from . import values
from .common import formula_chain, is_matrix


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "figure"


def _cell(latex: str) -> str:
    """LaTeX made safe inside a Markdown table cell."""
    return latex.replace("|", r"\vert ")


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|$#])")


_CODE_SPAN = re.compile(r"(`+)([^$]+?)\1")  # no $ inside: the HTML key reads $…$ as math


def _prose(text: str) -> str:
    """Plain text as Markdown that shows it verbatim on one line (table cells included): a
    sentence typeset as math (\\text{…}) would never wrap. `Code spans` stay code."""
    parts, start = [], 0
    for span in _CODE_SPAN.finditer(text):
        parts.append(_MARKDOWN_SPECIAL.sub(r"\\\1", text[start:span.start()]))
        parts.append(span.group(0).replace("|", r"\|"))  # a | would end a table cell
        start = span.end()
    parts.append(_MARKDOWN_SPECIAL.sub(r"\\\1", text[start:]))
    return " ".join("".join(parts).split())


def _prose_answer(result, name: str) -> str | None:
    """The answer as prose when it is plain text (a `text` answer, an explanation), else None."""
    value = result.answers[name]
    if isinstance(value, str) and name not in result.solution.answer_latex:
        return _prose(value)
    return None


def _answer_cell(result, name: str) -> str:
    prose = _prose_answer(result, name)
    if prose is not None:
        return f"**{name}**: {prose}"
    latex = result.solution.answer_latex.get(name) or values.latex(result.answers[name], result.decimals)
    return f"**{name}** = ${_cell(latex)}$"


SUMMARY_LIMIT = 6


def summary_names(result) -> list[str | None]:
    """The answers of a problem's row in the summary table: those asked for with `find`, or the
    solver's own choice, or all of them when few; else the first and last few (None marks the
    gap, every answer is still listed under the problem)."""
    names = list(result.answers)
    if result.find or len(names) <= SUMMARY_LIMIT:
        return names
    chosen = [n for n in result.solution.summary if n in result.answers]
    if chosen:
        return chosen
    half = SUMMARY_LIMIT // 2
    return names[:half] + [None] + names[-half:]


def _given_value(value, decimals: int) -> str:
    if is_matrix(value):
        return f"${values.latex(value, decimals)}$"
    shown = values.text(value, decimals)
    return f"`{shown}`" if "`" not in shown else shown


class MarkdownWriter:
    def __init__(self, figure_dir: Path | None = None, figure_prefix: str = ""):
        self.figure_dir = figure_dir
        self.figure_prefix = figure_prefix
        self.lines: list[str] = []

    def emit(self, *lines: str) -> None:
        self.lines.extend(lines)

    def file(self, file_result) -> None:
        title = file_result.title or Path(file_result.file).stem
        self.emit(f"# {title}", "", f"*Source:* `{file_result.file}`", "")
        if file_result.error is not None:
            self.emit(f"> **Error** — {file_result.error}", "")
            return
        self.emit("| Problem | Answer |", "|---|---|")
        for result in file_result.problems:
            label = result.id + (f" — {result.title}" if result.title else "")
            if result.error is not None:
                self.emit(f"| {label} | *error:* {result.error.message.replace('|', '/')} |")
                continue
            shown = "<br>".join("…" if name is None else _answer_cell(result, name)
                                for name in summary_names(result))
            self.emit(f"| {label} | {shown} |")
        self.emit("")
        for result in file_result.problems:
            self.problem(result)

    def problem(self, result) -> None:
        heading = result.id + (f" — {result.title}" if result.title else "")
        self.emit(f"## {heading}", "", f"*Kind:* `{result.kind}`", "")
        if result.notes:
            self.emit(f"> {result.notes}", "")
        if result.error is not None:
            self.emit(f"> **Error** — {result.error}", "")
            return
        decimals = result.decimals
        if result.given:
            self.emit("**Given**", "")
            for key, value in result.given.items():
                self.emit(f"- `{key}` = {_given_value(value, decimals)}")
            self.emit("")
        solution = result.solution
        if solution.conventions:
            self.emit("**Conventions**", "")
            self.emit(*[f"- {c}" for c in solution.conventions])
            self.emit("")
        if result.round_intermediate:
            self.emit(f"*Every intermediate value is rounded to {decimals} decimals as soon as it is "
                      "computed and used rounded from then on, as in a hand calculation.*", "")
        if solution.steps:
            self.emit("**Solution**", "")
            for number, step in enumerate(solution.steps, 1):
                self.step(number, step, result)
        if solution.checks:
            self.emit("**Checks**", "")
            for check in solution.checks:
                mark = "✓" if check.passed else "✗"
                detail = f" — {check.detail}" if check.detail else ""
                self.emit(f"- {mark} {check.description}{detail}")
            self.emit("")
        self.emit("**Answer**", "")
        for name, value in result.answers.items():
            prose = _prose_answer(result, name)
            if prose is not None:
                self.emit(f"- **{name}**: {prose}")
                continue
            latex = solution.answer_latex.get(name) or values.latex(value, decimals)
            self.emit(f"- **{name}** = $\\boldsymbol{{{latex}}}$" if not is_matrix(value)
                      else f"- **{name}** =", *([] if not is_matrix(value) else ["", f"$$\n{latex}\n$$", ""]))
        self.emit("")

    def step(self, number: int, step, result) -> None:
        decimals = result.decimals
        indent = "   "
        self.emit(f"{number}. {step.text}".rstrip())
        if step.formula is not None:
            chain = " = ".join(formula_chain(step.formula, decimals, latex=True))
            self.emit("", f"{indent}$$", f"{indent}{chain}", f"{indent}$$")
        elif step.symbolic is not None:
            latex = values.latex(step.symbolic.expr, decimals)
            if step.symbolic.lhs_latex:
                latex = f"{step.symbolic.lhs_latex} = {latex}"
            self.emit("", f"{indent}$$", f"{indent}{latex}", f"{indent}$$")
        elif step.value is not None and step.table is None and isinstance(values.to_plain(step.value), list):
            self.emit("", f"{indent}$$", f"{indent}{values.latex(step.value, decimals)}", f"{indent}$$")
        if step.table is not None:
            self.table(step.table, decimals, indent)
        if step.highlight is not None:
            from .highlight import latex as highlight_latex

            self.emit("", f"{indent}$$", f"{indent}{highlight_latex(step.highlight, decimals)}", f"{indent}$$")
        if step.diagram is not None:
            self.emit("", f"{indent}```mermaid", *[indent + line for line in step.diagram.mermaid.splitlines()],
                      f"{indent}```")
        if step.figure is not None:
            self.figure(step.figure, result, indent)
        self.emit("")

    def table(self, table, decimals: int, indent: str) -> None:
        self.emit("")
        if table.title:
            self.emit(f"{indent}*{table.title}*", "")
        self.emit(indent + "| " + " | ".join(table.columns) + " |",
                  indent + "|" + "---|" * len(table.columns))
        for row in table.rows:
            cells = []
            for cell in row:
                if isinstance(cell, str):
                    cells.append(cell.replace("|", "/"))
                elif isinstance(cell, (list, tuple)) and not is_matrix(cell):
                    cells.append(values.text(cell, decimals))
                else:
                    cells.append(f"${_cell(values.latex(cell, decimals))}$")
            self.emit(indent + "| " + " | ".join(cells) + " |")

    def figure(self, figure, result, indent: str) -> None:
        if self.figure_dir is None:
            self.emit("", f"{indent}*(figure “{figure.alt}” is drawn when the key is written to a file with -o)*")
            return
        name = _safe_name(f"{Path(result.file).stem}-{result.id}-{figure.name}") + figure.suffix
        draw_atomic(self.figure_dir / name, figure.write)
        link = f"{self.figure_prefix}{name}"
        self.emit("", f"{indent}![{figure.alt}]({link})")


def render_markdown(file_results, figure_dir: Path | None = None, figure_prefix: str = "") -> str:
    writer = MarkdownWriter(figure_dir, figure_prefix)
    for file_result in file_results:
        writer.file(file_result)
    return "\n".join(writer.lines).rstrip() + "\n"
