"""Tables in the terminal key, written directly by `Lines.table`, are exactly what rich prints
for the same table (render.terminal's rich Table inside a Padding): random tables, titles,
wide characters, widths, colour on and off, pipes. Where rich would wrap, cut or read markup,
`Lines.table` declines and rich prints it."""

from __future__ import annotations

import io
import random

import pytest

from solver.render.console import UNBOUNDED_WIDTH
from solver.render.lines import Lines
from solver.render.terminal import _table
from solver.steps import Table

WORDS = ["conv1", "fc", "6×28×28", "−0.25", "12", "", "x[i]", "表", "ReLU(x)", "1,024", "a b", "∂J/∂W", "é", "none"]


def _random_table(rng: random.Random) -> Table:
    columns = [rng.choice(["layer", "output", "params", "MACs", "t", "x_t (GD)", "f(x_t)", "表头", "a:b", "in:out:x", "layers: cost",
                           "[bold]x[/bold]"]) for _ in range(rng.randint(1, 6))]
    rows = [[rng.choice(WORDS) if rng.random() < 0.6 else str(round(rng.uniform(-1e4, 1e4), rng.randint(0, 4)))
             for _ in columns] for _ in range(rng.randint(0, 7))]
    title = rng.choice([None, "costs", "the runs side by side", "表 of values", "layers: cost and receptive field", ":smile: here", "x" * rng.randint(1, 80)])
    return Table(columns, rows, title)


def _through_rich(table: Table, width: int, color: bool) -> str:
    from rich.padding import Padding

    buffer = io.StringIO()
    Lines(buffer, width, color).rich(Padding(_table(table, 4), (0, 0, 0, 5)))
    return buffer.getvalue()


def _direct(table: Table, width: int, color: bool) -> str | None:
    buffer = io.StringIO()
    written = Lines(buffer, width, color).table(table.title, table.columns, table.rows, indent=5)
    return buffer.getvalue() if written else None


def test_tables_are_written_as_rich_writes_them():
    rng = random.Random(0)
    compared = 0
    for _ in range(400):
        table = _random_table(rng)
        width = rng.choice([UNBOUNDED_WIDTH, 20, 40, 60, 80, 100, 132, 200])
        color = width != UNBOUNDED_WIDTH and rng.random() < 0.7  # a pipe has no colour
        direct = _direct(table, width, color)
        if direct is None:  # declined: rich prints it (too wide, markup or emoji codes in a header)
            continue
        assert direct == _through_rich(table, width, color), (table, width, color)
        compared += 1
    assert compared >= 100  # the rest: narrow widths, long titles, markup in a header


def test_the_common_tables_are_written_directly():
    rng = random.Random(1)
    written = 0
    for _ in range(100):
        table = _random_table(rng)
        table.columns = [c for c in table.columns if "[" not in c and ":" not in c] or ["layer"]
        table.rows = [row[:len(table.columns)] + [""] * (len(table.columns) - len(row)) for row in table.rows]
        table.title = rng.choice([None, "costs", "runs"])
        written += _direct(table, UNBOUNDED_WIDTH, False) is not None
    assert written == 100
