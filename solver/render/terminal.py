"""The terminal view: styled lines, rich tables, aligned matrices and Unicode math."""

from __future__ import annotations

from pathlib import Path

from . import values
from .common import formula_chain, is_matrix
from .lines import Lines


def _indent(block: str, prefix: str = "     ") -> str:
    return "\n".join(prefix + line for line in block.splitlines())


def _is_rows(value) -> bool:
    """A list of table rows (dicts), such as a network's per-layer answer."""
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _shows_value(step) -> bool:
    """A prose step states its scalar result in words; lists and matrices are shown below it."""
    return step.value is not None and step.table is None and isinstance(values.to_plain(step.value), list)


def _table(table, decimals: int):
    from rich.table import Table as RichTable
    from rich.text import Text

    rich_table = RichTable(title=table.title, show_edge=True, pad_edge=False, title_justify="left")
    for column in table.columns:
        rich_table.add_column(column, justify="right")
    for row in table.rows:
        # Text(), not markup: a cell such as "x[i]" must show its brackets.
        rich_table.add_row(*[Text(values.text(c, decimals) if not isinstance(c, str) else c) for c in row])
    return rich_table


def render_step(out: Lines, number: int, step, decimals: int) -> None:
    out.print((f"  {number}. ", "bold"), step.text)
    if step.formula is not None:
        parts = formula_chain(step.formula, decimals, latex=False)
        if is_matrix(step.formula.value):
            out.print(_indent(" = ".join(parts[:-1]) + " ="))
            out.print(_indent(values.grid(step.formula.value, decimals), "       "))
        else:
            out.print(_indent(" = ".join(parts)))
    elif step.symbolic is not None:
        lhs = f"{step.symbolic.lhs} = " if step.symbolic.lhs else ""
        out.print(_indent(lhs + values.text(step.symbolic.expr, decimals)))
    elif _shows_value(step):
        out.print(_indent(values.grid(step.value, decimals)))
    if step.table is not None:
        cells = [[c if isinstance(c, str) else values.text(c, decimals) for c in row] for row in step.table.rows]
        if not out.table(step.table.title, list(step.table.columns), cells, indent=5):
            from rich.padding import Padding

            out.rich(Padding(_table(step.table, decimals), (0, 0, 0, 5)))
    if step.diagram is not None:
        out.print(_indent(step.diagram.text))
    if step.highlight is not None:
        from .highlight import terminal_text

        out.rich(terminal_text(step.highlight, decimals))
    if step.figure is not None:
        out.print((_indent(f"[figure: {step.figure.alt}; written with --format md -o]"), "dim"))


def render_problem(out: Lines, result) -> None:
    header = [(result.id, "bold cyan")]
    if result.title:
        header.append((f" — {result.title}", "bold"))
    header.append((f"  ({result.kind})", "dim"))
    out.print(*header)
    if result.notes:
        out.print((f"  Note: {result.notes}", "italic"))
    if result.error is not None:
        out.print((f"  error: {result.error}", "bold red"))
        out.blank()
        return
    decimals = result.decimals
    if result.given:
        given = ", ".join(f"{k} = {values.text(v, decimals)}" for k, v in result.given.items())
        out.print(("  Given: ", "bold"), given)
    for convention in result.solution.conventions:
        out.print(("  Convention: ", "bold"), (convention, "italic"))
    if result.round_intermediate:
        out.print((f"  Every intermediate value is rounded to {decimals} decimals (hand calculation).",
                   "italic"))
    for number, step in enumerate(result.solution.steps, 1):
        render_step(out, number, step, decimals)
    for check in result.solution.checks:
        mark, style = ("✓", "green") if check.passed else ("✗", "red")
        detail = f" — {check.detail}" if check.detail else ""
        out.print((f"  {mark} {check.description}{detail}", style))
    for name, value in result.answers.items():
        if _is_rows(value):
            out.print(("  Answer ", "bold green"), (f"{name}: ", "bold"),
                      f"{len(value)} rows, as in the table above")
        elif is_matrix(value):
            out.print(("  Answer ", "bold green"), (f"{name} =", "bold"))
            out.print((_indent(values.grid(value, decimals)), "bold"))
        else:
            out.print(("  Answer ", "bold green"), (f"{name} = {values.text(value, decimals)}", "bold"))
    out.blank()


def render_terminal(console, file_results) -> None:
    """Print to a rich Console, or to `Lines` (which needs rich only for tables)."""
    out = console if isinstance(console, Lines) else Lines.of(console)
    for file_result in file_results:
        title = file_result.title or Path(file_result.file).stem
        if len(file_results) > 1 or file_result.title:
            from rich.rule import Rule

            out.rich(Rule(title, style="blue"), width=min(out.width, 100))  # not a pipe's full width
        if file_result.error is not None:
            out.print((f"error: {file_result.error}", "bold red"))
            continue
        for result in file_result.problems:
            render_problem(out, result)
