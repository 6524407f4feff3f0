"""Terminal lines written as rich's `Console.print(Text)` writes them, without rich's console.

The terminal key is mostly lines of styled text. Printing each through a rich Console costs
about ten prints per problem, each re-measuring the terminal and re-rendering segments, and
importing rich's console costs ~40 ms of a one-problem command (SPEC §8). `Lines` writes the
same characters directly: rich's own word wrapping (`rich._wrap.divide_line`, cell widths from
`rich.cells`), its cropping, and its ANSI codes for the few styles the key uses. Tables and
other renderables still go through a rich Console, created only when one is printed.

A printed line is a sequence of pieces `(text, style)`, as `Text(a, style=s) + Text(b, style=t)`
builds it: the first piece's style is the style of the whole line (rich's base style), later
pieces add theirs on top, and a piece without a style is no span of its own.
"""

from __future__ import annotations

import os
import re
import sys
from functools import lru_cache

from .console import UNBOUNDED_WIDTH

# SGR parameters of the styles the key uses, in the order rich writes them.
_ATTRIBUTES = {"bold": 1, "dim": 2, "italic": 3, "underline": 4, "reverse": 7}
_COLOURS = {"black": 30, "red": 31, "green": 32, "yellow": 33, "blue": 34, "magenta": 35, "cyan": 36,
            "white": 37}
_TRAILING_SPACE = re.compile(r"\s+$")
_EMOJI_CODE = re.compile(r":\S*?:")  # rich may read `:name:` in a header or title as an emoji
# Environment settings under which rich decides colour or size in ways not copied here.
_RICH_ENVIRONMENT = ("FORCE_COLOR", "NO_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "JUPYTER_COLUMNS",
                     "JUPYTER_LINES")


@lru_cache(maxsize=128)
def _combine(styles: tuple[str, ...], no_color: bool = False) -> str:
    """The SGR codes of styles applied on top of each other ("" when plain); with `no_color`
    (rich's NO_COLOR), bold, dim and italic stay and colours go."""
    attributes: set[int] = set()
    colour = None
    for style in styles:
        for word in style.split():
            if word in _ATTRIBUTES:
                attributes.add(_ATTRIBUTES[word])
            elif word in _COLOURS:
                colour = _COLOURS[word]
            else:
                raise ValueError(f"style {word!r} is not one Lines writes")
    codes = sorted(attributes) + ([colour] if colour is not None and not no_color else [])
    return ";".join(str(code) for code in codes)


def segments(pieces, no_color: bool = False) -> list[tuple[str, str]]:
    """(text, SGR codes) runs as rich renders a Text built from `pieces`: a run ends wherever a
    styled piece begins or ends."""
    runs: list[tuple[str, str]] = []
    base = pieces[0][1] if pieces else ""
    open_plain = False  # the last run carries the base style only, and may grow
    for index, (text, style) in enumerate(pieces):
        if not text:
            continue
        if index == 0 or not style:
            if open_plain:
                runs[-1] = (runs[-1][0] + text, runs[-1][1])
            else:
                runs.append((text, _combine((base,), no_color)))
                open_plain = True
        else:
            runs.append((text, _combine((base, style), no_color)))
            open_plain = False
    return runs


def _wrap(runs: list[tuple[str, str]], width: int) -> list[list[tuple[str, str]]]:
    """Runs split into terminal lines: at newlines, then by rich's word wrapping, each line
    stripped of trailing space beyond the width and cropped to it."""
    plain = "".join(text for text, _ in runs)
    if "\n" not in plain and _fits(plain, width):  # the common case: nothing to wrap or crop
        return [runs]
    from rich._wrap import divide_line
    from rich.cells import cell_len, set_cell_size

    owner: list[int] = []  # the run of each character
    starts: list[int] = []  # where each run begins
    for number, (text, _) in enumerate(runs):
        starts.append(len(owner))
        owner.extend([number] * len(text))
    lines = []
    start = 0
    for logical in plain.split("\n"):
        end = start + len(logical)
        breaks = divide_line(logical, width, fold=True) if logical and not _fits(logical, width) else []
        cuts = [start, *(start + b for b in breaks), end]
        for left, right in zip(cuts, cuts[1:]):
            text = plain[left:right]
            if len(text) > width:  # rich's Text.rstrip_end: only the excess, by characters
                space = _TRAILING_SPACE.search(text)
                if space is not None:
                    right -= min(len(space.group(0)), len(text) - width)
                    text = plain[left:right]
            if cell_len(text) > width:
                right = left + len(set_cell_size(text, width))
            lines.append(_runs_between(runs, owner, starts, left, right))
        start = end + 1
    return lines


def _fits(text: str, width: int) -> bool:
    """No cell is wider than two, so a short text fits without measuring it; a text that fits
    has no line breaks (every word fits in the space left)."""
    if 2 * len(text) <= width:
        return True
    from rich.cells import cell_len

    return cell_len(text) <= width


def _runs_between(runs, owner, starts, left: int, right: int) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    position = left
    while position < right:
        number = owner[position]
        run_start = starts[number]
        text, codes = runs[number]
        stop = min(right, run_start + len(text))
        out.append((text[position - run_start:stop - run_start], codes))
        position = stop
    return out


class Lines:
    """Writes styled lines to a file as a rich Console of that width and colour would."""

    def __init__(self, file, width: int, color: bool, console=None, no_color: bool = False):
        self.file = file
        self.width = width
        self.color = color
        self.no_color = no_color
        self._console = console

    @classmethod
    def of(cls, console) -> "Lines":
        """The lines of an existing rich Console: its file, width and colour."""
        return cls(console.file, console.width, console.color_system is not None, console,
                   no_color=bool(getattr(console, "no_color", False)))

    @classmethod
    def for_stdout(cls) -> "Lines | None":
        """Standard output measured as `rich.console.Console()` measures it; None where rich
        would decide by rules not copied here (Windows, notebooks, colour settings)."""
        environ = os.environ
        if sys.platform == "win32" or any(name in environ for name in _RICH_ENVIRONMENT) \
                or environ.get("TERM", "") in ("dumb", "unknown") or "idlelib" in sys.modules:
            return None
        isatty = getattr(sys.stdout, "isatty", None)
        try:
            color = bool(isatty and isatty())
        except ValueError:  # a closed standard output
            return None
        width = None
        for descriptor in (0, 1, 2):  # rich asks stdin, stdout and stderr, in this order
            try:
                width = os.get_terminal_size(descriptor).columns
            except (AttributeError, ValueError, OSError):
                continue
            break
        columns = environ.get("COLUMNS")
        if columns is not None and columns.isdigit():
            width = int(columns)
        if not color:  # a pipe or a file: never cut to a width (SPEC §3), as render.console does
            width = UNBOUNDED_WIDTH
        return cls(sys.stdout, width or 80, color)

    def print(self, *pieces) -> None:
        """One Text made of (text, style) pieces (a bare string is an unstyled piece)."""
        pieces = [(piece, "") if isinstance(piece, str) else piece for piece in pieces]
        if any("\t" in text for text, _ in pieces):  # tab expansion: leave it to rich
            from rich.text import Text

            text = Text()
            for number, (part, style) in enumerate(pieces):
                text = Text(part, style=style) if number == 0 else text + Text(part, style=style)
            self.rich(text)
            return
        runs = segments(pieces, self.no_color)
        if not runs:
            self.file.write("\n")
            return
        out = []
        for line in _wrap(runs, self.width):
            for text, codes in line:
                out.append(f"\x1b[{codes}m{text}\x1b[0m" if codes and self.color and text else text)
            out.append("\n")
        self.file.write("".join(out))

    def blank(self) -> None:
        self.file.write("\n")

    def table(self, title: str | None, columns: list[str], rows: list[list[str]], indent: int) -> bool:
        """A table as `render.terminal` builds it with rich (heavy head, outer edge, no edge
        padding, every column right-justified, the title left-justified above it), written
        directly; False, writing nothing, where rich would do more than this copies (wrap or
        cut a cell, read markup or emoji codes in a header, expand tabs)."""
        from rich.cells import cell_len

        cells = [columns, *rows]
        if any(len(row) != len(columns) for row in rows) or not columns:
            return False
        if any("\n" in c or "\t" in c or "\r" in c for row in cells for c in row) or any(
                "[" in c or _EMOJI_CODE.search(c) for c in [*columns, title or ""]) \
                or (title and ("\n" in title or "\t" in title)):
            return False
        widths = [max(cell_len(row[k]) for row in cells) for k in range(len(columns))]
        last = len(columns) - 1
        pads = [(0 if k == 0 else 1, 0 if k == last else 1) for k in range(len(columns))]
        table_width = 1 + sum(w + left + right + 1 for w, (left, right) in zip(widths, pads))
        if indent + table_width > self.width or (title and cell_len(title) > table_width):
            return False
        line_width = indent + table_width if self.width >= UNBOUNDED_WIDTH else self.width
        margin = " " * indent

        def styled(text: str, code: str) -> str:
            return f"\x1b[{code}m{text}\x1b[0m" if self.color and code and text else text

        def finish(line: str, visible: int) -> str:
            if self.width >= UNBOUNDED_WIDTH:  # a pipe: rich's trailing padding is trimmed
                return line.rstrip(" ") + "\n"
            return line + " " * (line_width - visible) + "\n"

        def rule(left: str, fill: str, cross: str, right: str) -> str:
            inner = cross.join(fill * (w + a + b) for w, (a, b) in zip(widths, pads))
            return finish(margin + left + inner + right, indent + table_width)

        def row_line(row: list[str], code: str, border: str) -> str:
            parts = []
            for text, width, (left, right) in zip(row, widths, pads):
                justified = " " * (width - cell_len(text)) + text
                parts.append(styled(" " * left, code) + styled(justified, code) + styled(" " * right, code))
            return finish(margin + border + border.join(parts) + border, indent + table_width)

        out = []
        if title:
            out.append(finish(margin + styled(title + " " * (table_width - cell_len(title)), _combine(("italic",))),
                              indent + table_width))
        out.append(rule("┏", "━", "┳", "┓"))
        out.append(row_line(columns, _combine(("bold",), self.no_color), "┃"))
        out.append(rule("┡", "━", "╇", "┩"))
        out += [row_line(row, "", "│") for row in rows]
        out.append(rule("└", "─", "┴", "┘"))
        self.file.write("".join(out))
        return True

    def rich(self, renderable, **options) -> None:
        """A rich renderable (a table, a Text with its own spans) through a rich Console."""
        console = self.console
        if "width" not in options and console.width >= UNBOUNDED_WIDTH:
            # A pipe or a file: as wide as the renderable needs, not padded out to the
            # unbounded width (that padding, trimmed again later, would cost most of the time).
            from rich.measure import Measurement

            options["width"] = max(1, Measurement.get(console, console.options, renderable).maximum)
        console.print(renderable, **options)

    @property
    def console(self):
        if self._console is None:
            from rich.console import Console

            if self.file is sys.stdout:
                from .console import output_console

                self._console = output_console()
            else:
                from .console import RightTrimmed

                # An unbounded width (a pipe): rich pads each line to the width; trim it as
                # render.console does for standard output.
                file = RightTrimmed(self.file) if self.width >= UNBOUNDED_WIDTH else self.file
                self._console = Console(file=file, width=self.width, highlight=False, soft_wrap=False,
                                        color_system="standard" if self.color else None,
                                        force_terminal=self.color)
        return self._console
