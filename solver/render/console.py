"""The rich console that the command line prints with.

On a terminal rich wraps to the terminal's width. Output that is not a terminal (a pipe, a
file) keeps its full width (SPEC §3): rich would otherwise wrap text and squeeze table columns
("1×28×…") to 80 columns. There the console is as wide as any line can be, and the spaces with
which rich pads a line out to the console's width are trimmed as the lines are written.
"""

from __future__ import annotations

import io
import sys

UNBOUNDED_WIDTH = 100_000


class RightTrimmed(io.TextIOBase):
    """A text stream that writes whole lines to `stream` without their trailing spaces."""

    def __init__(self, stream) -> None:
        self.stream = stream
        self.pending = ""

    @property
    def encoding(self) -> str:
        return getattr(self.stream, "encoding", None) or "utf-8"

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        *lines, self.pending = (self.pending + text).split("\n")
        if lines:
            self.stream.write("".join(line.rstrip(" ") + "\n" for line in lines))
        return len(text)

    def flush(self) -> None:
        if self.pending:
            self.stream.write(self.pending.rstrip(" "))
            self.pending = ""
        self.stream.flush()


def trimmed(text: str) -> str:
    """Rendered text without the spaces that pad its lines out to the console's width."""
    return "\n".join(line.rstrip(" ") for line in text.split("\n"))


def output_console(file=None, width: int | None = None):
    """A console for `file` (rendering into a buffer), else for standard output."""
    from rich.console import Console

    if file is not None:
        return Console(file=file, width=width or UNBOUNDED_WIDTH, color_system=None, highlight=False,
                       soft_wrap=False)
    if sys.stdout.isatty():
        return Console(highlight=False, soft_wrap=False)
    return Console(file=RightTrimmed(sys.stdout), width=UNBOUNDED_WIDTH, highlight=False, soft_wrap=False)
