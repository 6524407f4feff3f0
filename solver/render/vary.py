"""The summary `dlsolve vary` prints: each variant's drawn values and how many draws it took."""

from __future__ import annotations

from pathlib import Path


def render_vary_report(console, reports, out_dir: Path) -> None:
    from rich.table import Table

    table = Table(title=f"variants written to {out_dir}", title_justify="left")
    for column in ("variant", "problem", "drawn values", "draws"):
        table.add_column(column)
    for report in reports:
        values = ", ".join(f"{k} = {v}" for k, v in report.values.items())
        table.add_row(str(report.variant), report.problem_id, values, str(report.tries))
    console.print(table)
    retried = sum(r.tries - 1 for r in reports)
    if retried:
        console.print(f"{retried} invalid draw{'s were' if retried != 1 else ' was'} rejected and drawn again.")
