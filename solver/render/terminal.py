"""The terminal view: rich tables, aligned matrices and Unicode math."""

from __future__ import annotations

from pathlib import Path

from . import values
from .common import formula_chain, is_matrix


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


def render_step(console, number: int, step, decimals: int) -> None:
    from rich.padding import Padding
    from rich.text import Text

    console.print(Text(f"  {number}. ", style="bold") + Text(step.text))
    if step.formula is not None:
        parts = formula_chain(step.formula, decimals, latex=False)
        if is_matrix(step.formula.value):
            console.print(Text(_indent(" = ".join(parts[:-1]) + " =")))
            console.print(Text(_indent(values.grid(step.formula.value, decimals), "       ")))
        else:
            console.print(Text(_indent(" = ".join(parts))))
    elif step.symbolic is not None:
        lhs = f"{step.symbolic.lhs} = " if step.symbolic.lhs else ""
        console.print(Text(_indent(lhs + values.text(step.symbolic.expr, decimals))))
    elif _shows_value(step):
        console.print(Text(_indent(values.grid(step.value, decimals))))
    if step.table is not None:
        console.print(Padding(_table(step.table, decimals), (0, 0, 0, 5)))
    if step.diagram is not None:
        console.print(Text(_indent(step.diagram.text)))
    if step.highlight is not None:
        from .highlight import terminal_text

        console.print(terminal_text(step.highlight, decimals))
    if step.figure is not None:
        console.print(Text(_indent(f"[figure: {step.figure.alt}; written with --format md -o]"), style="dim"))


def render_problem(console, result) -> None:
    from rich.text import Text

    header = Text(result.id, style="bold cyan")
    if result.title:
        header += Text(f" — {result.title}", style="bold")
    header += Text(f"  ({result.kind})", style="dim")
    console.print(header)
    if result.notes:
        console.print(Text(f"  Note: {result.notes}", style="italic"))
    if result.error is not None:
        console.print(Text(f"  error: {result.error}", style="bold red"))
        console.print()
        return
    decimals = result.decimals
    if result.given:
        given = ", ".join(f"{k} = {values.text(v, decimals)}" for k, v in result.given.items())
        console.print(Text("  Given: ", style="bold") + Text(given))
    for convention in result.solution.conventions:
        console.print(Text("  Convention: ", style="bold") + Text(convention, style="italic"))
    if result.round_intermediate:
        console.print(Text(f"  Every intermediate value is rounded to {decimals} decimals (hand calculation).",
                           style="italic"))
    for number, step in enumerate(result.solution.steps, 1):
        render_step(console, number, step, decimals)
    for check in result.solution.checks:
        mark, style = ("✓", "green") if check.passed else ("✗", "red")
        detail = f" — {check.detail}" if check.detail else ""
        console.print(Text(f"  {mark} {check.description}{detail}", style=style))
    for name, value in result.answers.items():
        if _is_rows(value):
            console.print(Text("  Answer ", style="bold green") + Text(f"{name}: ", style="bold")
                          + Text(f"{len(value)} rows, as in the table above"))
        elif is_matrix(value):
            console.print(Text("  Answer ", style="bold green") + Text(f"{name} =", style="bold"))
            console.print(Text(_indent(values.grid(value, decimals)), style="bold"))
        else:
            console.print(Text("  Answer ", style="bold green")
                          + Text(f"{name} = {values.text(value, decimals)}", style="bold"))
    console.print()


def render_terminal(console, file_results) -> None:
    from rich.rule import Rule

    for file_result in file_results:
        title = file_result.title or Path(file_result.file).stem
        if len(file_results) > 1 or file_result.title:
            console.print(Rule(title, style="blue"), width=min(console.width, 100))  # not a pipe's full width
        if file_result.error is not None:
            from rich.text import Text

            console.print(Text(f"error: {file_result.error}", style="bold red"))
            continue
        for result in file_result.problems:
            render_problem(console, result)
