"""`Lines` writes what rich's Console.print writes for the same Text, character for character:
wrapping, cropping, trailing spaces, newlines inside pieces, and the ANSI codes of the styles."""

from __future__ import annotations

import io

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from rich.text import Text

from solver.render.lines import Lines

STYLES = ["", "bold", "dim", "italic", "bold cyan", "bold green", "bold red", "green", "red", "reverse bold"]
# Words, runs of spaces, newlines, long words, and characters two cells wide.
TEXT = st.lists(st.sampled_from(list("ab xyz  ⌊⌋·−=ᵀ\n") + ["長", "Σ", "lorem", "0123456789" * 3]),
                max_size=25).map("".join)


def rich_output(pieces, width: int, color: bool, no_color: bool = False) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, color_system="standard" if color else None,
                      force_terminal=color, highlight=False, soft_wrap=False, no_color=no_color)
    text = Text(pieces[0][0], style=pieces[0][1])
    for part, style in pieces[1:]:
        text = text + Text(part, style=style)
    console.print(text)
    return buffer.getvalue()


def lines_output(pieces, width: int, color: bool, no_color: bool = False) -> str:
    buffer = io.StringIO()
    Lines(buffer, width, color, no_color=no_color).print(*pieces)
    return buffer.getvalue()


@settings(max_examples=400, deadline=None)
@given(pieces=st.lists(st.tuples(TEXT, st.sampled_from(STYLES)), min_size=1, max_size=4),
       width=st.integers(min_value=3, max_value=40), color=st.booleans(), no_color=st.booleans())
def test_lines_write_what_rich_prints(pieces, width, color, no_color):
    assert lines_output(pieces, width, color, no_color) == rich_output(pieces, width, color, no_color)


def test_a_blank_line_and_a_wide_table_go_through():
    from rich.table import Table

    buffer = io.StringIO()
    out = Lines(buffer, 30, False)
    out.blank()
    table = Table("a", "b")
    table.add_row("1", "2")
    out.rich(table)
    expected = io.StringIO()
    Console(file=expected, width=30, color_system=None, highlight=False, soft_wrap=False).print(table)
    assert buffer.getvalue() == "\n" + expected.getvalue()
