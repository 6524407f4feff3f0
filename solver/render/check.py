"""Printing `check` reports: a table of matches and mismatches, or SPEC §5's JSON."""

from __future__ import annotations

import json

from . import values


def _shown(value) -> str:
    return values.text(value, 6) if value is not None else "—"


def render_check_text(console, reports, file_errors) -> None:
    from rich.table import Table
    from rich.text import Text

    for error in file_errors:
        console.print(Text(f"error: {error}", style="bold red"))
    table = Table(title="check: claimed against computed", title_justify="left")
    for column in ("problem", "answer", "index", "claimed", "computed", "verdict"):
        table.add_column(column)
    for report in reports:
        if report.verdict == "error" and not report.mismatches:
            table.add_row(report.id, "", "", "", "", Text(f"error: {report.message}", style="red"))
            continue
        for diff in report.matches:
            table.add_row(report.id, diff.field, "" if diff.index is None else str(diff.index),
                          _shown(diff.claimed), _shown(diff.computed), Text("match", style="green"))
        for diff in report.mismatches:
            verdict = Text("error" if diff.computed is None and report.verdict == "error" else "MISMATCH",
                           style="bold red")
            table.add_row(report.id, diff.field, "" if diff.index is None else str(diff.index),
                          _shown(diff.claimed), _shown(diff.computed), verdict)
    console.print(table)
    counts = {v: sum(r.verdict == v for r in reports) for v in ("match", "mismatch", "error")}
    console.print(f"{counts['match']} matched, {counts['mismatch']} with mismatches, {counts['error']} errors")
    for report in reports:
        if report.verdict == "error" and report.message and report.mismatches:
            console.print(Text(f"{report.id}: {report.message}", style="red"))


def render_check_json(reports, file_errors) -> str:
    def diff(d):
        return {"field": d.field, "index": d.index, "claimed": values.jsonable(d.claimed),
                "computed": values.jsonable(d.computed)}

    problems = [{"id": r.id, "file": r.file, "verdict": r.verdict, "message": r.message,
                 "matches": [diff(d) for d in r.matches], "mismatches": [diff(d) for d in r.mismatches]}
                for r in reports]
    problems += [{"id": None, "file": e.file, "verdict": "error", "message": e.message,
                  "matches": [], "mismatches": []} for e in file_errors]
    return json.dumps({"problems": problems}, indent=2, ensure_ascii=False) + "\n"
