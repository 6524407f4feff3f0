"""Printing `check` reports: a table of matches and mismatches, or SPEC §5's JSON."""

from __future__ import annotations

import json
import re

from . import values


def _shown(value) -> str:
    return values.text(value, 6) if value is not None else "—"


_COLUMNS = ("problem", "answer", "index", "claimed", "computed", "verdict")


def _lines(reports) -> list:
    """The table's rows in the order the answers were claimed, each a tuple of cells, with the
    sentences said under a row (a diagnosis, a carried-forward source) as plain strings."""
    from rich.text import Text

    out: list = []
    for report in reports:
        if report.verdict == "error" and not report.mismatches and not report.undecided:
            out.append((report.id, "", "", "", "", Text(f"error: {report.message}", style="red")))
            continue
        rows = ([(d, "match") for d in report.matches] + [(f, "follows") for f in report.follows]
                + [(d, "mismatch") for d in report.mismatches] + [(d, "undecided") for d in report.undecided])

        def position(item):
            top = re.split(r"[.\[]", item[0].field, maxsplit=1)[0]
            named = report.order.index(top) if top in report.order else len(report.order)
            return named, item[0].field, -1 if item[0].index is None else item[0].index

        said: set = set()
        for row, verdict in sorted(rows, key=position):
            index = "" if row.index is None else str(row.index)
            if verdict == "match":
                out.append((report.id, row.field, index, _shown(row.claimed), _shown(row.computed),
                            Text("match", style="green")))
            elif verdict == "follows":
                out.append((report.id, row.field, index, _shown(row.claimed), _shown(row.computed),
                            Text("follows", style="yellow")))
                out.append(Text(f"    follows from your own {', '.join(row.sources)} (error carried forward)",
                                style="yellow"))
            elif verdict == "undecided":
                out.append((report.id, row.field, index, _shown(row.claimed), _shown(row.computed),
                            Text("undecided", style="bold yellow")))
            else:
                label = "error" if row.computed is None and report.verdict == "error" else "MISMATCH"
                out.append((report.id, row.field, index, _shown(row.claimed), _shown(row.computed),
                            Text(label, style="bold red")))
                if row.diagnosis and row.field not in said:
                    said.add(row.field)
                    out.append(Text("    " + diagnosis_sentence(row.diagnosis), style="cyan"))
    return out


def render_check_text(console, reports, file_errors) -> None:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    for error in file_errors:
        console.print(Text(f"error: {error}", style="bold red"))
    if not reports:
        return
    lines = _lines(reports)
    rows = [line for line in lines if isinstance(line, tuple)]
    # One width per column for every part of the table, so that the sentences printed between
    # its parts sit under their rows and the parts line up as one table.
    widths = [max([len(column)] + [len(str(row[i])) for row in rows]) for i, column in enumerate(_COLUMNS)]
    widths[3], widths[4] = min(widths[3], 30), min(widths[4], 30)
    room = console.width - 3 * len(widths)
    while sum(widths) > room:  # the widest of problem, answer, claimed, computed gives way
        shrinkable = [i for i in (0, 1, 3, 4) if widths[i] > 8]
        if not shrinkable:
            break
        widths[max(shrinkable, key=lambda i: widths[i])] -= 1

    def part(first: bool) -> Table:
        table = Table(title="check: claimed against computed" if first else None, title_justify="left",
                      box=box.SIMPLE_HEAD, show_header=first, show_edge=False, pad_edge=False)
        for index, (column, width) in enumerate(zip(_COLUMNS, widths)):
            if index in (3, 4):  # values wrap, names are cut short, verdicts keep their width
                table.add_column(column, width=width, overflow="fold")
            else:
                table.add_column(column, width=width, no_wrap=True, overflow="ellipsis")
        return table

    table, first, pending = part(True), True, False
    for line in lines:
        if isinstance(line, tuple):
            table.add_row(*line)
            pending = True
            continue
        if pending:
            console.print(table)
            table, first, pending = part(False), False, False
        console.print(line)
    if pending or first:
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
