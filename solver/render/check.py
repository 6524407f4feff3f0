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
        for row in report.follows:
            table.add_row(report.id, row.field, "" if row.index is None else str(row.index),
                          _shown(row.claimed), "", Text("follows", style="yellow"))
            table.add_row("", "", "", Text(f"  carried forward: right from your own {', '.join(row.sources)}",
                                           style="yellow"), "", "")
        shown: set = set()
        for diff in report.mismatches:
            verdict = Text("error" if diff.computed is None and report.verdict == "error" else "MISMATCH",
                           style="bold red")
            table.add_row(report.id, diff.field, "" if diff.index is None else str(diff.index),
                          _shown(diff.claimed), _shown(diff.computed), verdict)
            if diff.diagnosis and diff.field not in shown:
                shown.add(diff.field)
                table.add_row("", "", "", Text("  " + diagnosis_sentence(diff.diagnosis), style="cyan"), "", "")
        for diff in report.undecided:
            table.add_row(report.id, diff.field, "" if diff.index is None else str(diff.index),
                          _shown(diff.claimed), _shown(diff.computed), Text("undecided", style="bold yellow"))
    console.print(table)
    counts = {v: sum(r.verdict == v for r in reports) for v in ("match", "mismatch", "error")}
    console.print(f"{counts['match']} matched, {counts['mismatch']} with mismatches, {counts['error']} errors")
    for report in reports:
        if report.verdict == "error" and report.message and (report.mismatches or report.undecided):
            console.print(Text(f"{report.id}: {report.message}", style="red"))


def diagnosis_sentence(diagnosis: list[dict]) -> str:
    """One sentence for the likely mistakes of a row: `Likely mistake: …` or `one of: …`."""
    if len(diagnosis) == 1:
        return f"Likely mistake ({diagnosis[0]['mistake']}): {diagnosis[0]['says']}"
    return "Likely one of these mistakes (they give the same value here): " + "; ".join(
        f"{d['mistake']}: {d['says'].rstrip('.')}" for d in diagnosis) + "."


def check_json_problem(r) -> dict:
    def diff(d, mismatch=False):
        row = {"field": d.field, "index": d.index, "claimed": values.jsonable(d.claimed),
               "computed": values.jsonable(d.computed)}
        if mismatch:
            row["diagnosis"] = d.diagnosis
        return row

    return {"id": r.id, "file": r.file, "verdict": r.verdict, "message": r.message,
            "matches": [diff(d) for d in r.matches],
            "mismatches": [diff(d, True) for d in r.mismatches],
            "follows": [{"field": f.field, "index": f.index, "claimed": values.jsonable(f.claimed),
                         "from": f.sources} for f in r.follows],
            "undecided": [{**diff(d), "reason": d.reason} for d in r.undecided]}


def render_check_json(reports, file_errors) -> str:
    problems = [check_json_problem(r) for r in reports]
    problems += [{"id": None, "file": e.file, "verdict": "error", "message": e.message,
                  "matches": [], "mismatches": [], "follows": [], "undecided": []} for e in file_errors]
    return json.dumps({"problems": problems}, indent=2, ensure_ascii=False) + "\n"
