"""One exception family for everything a user can get wrong, with its exit code.

Exit codes (SPEC §5): 0 success, 1 `check` found a mismatch, 2 bad input, 3 internal error.
The CLI catches these in exactly one place; solvers raise them and never print.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable

EXIT_OK = 0
EXIT_MISMATCH = 1
EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 3


class DlsolveError(Exception):
    """Base class: a message plus where it happened (file, line, problem id, field)."""

    exit_code = EXIT_INTERNAL

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        file: str | None = None,
        line: int | None = None,
        problem_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.file = file
        self.line = line
        self.problem_id = problem_id

    def located(self, **where) -> "DlsolveError":
        """Fill in location details that are still unknown, keep those already set."""
        for key, value in where.items():
            if getattr(self, key) is None and value is not None:
                setattr(self, key, value)
        return self

    def detached(self) -> "DlsolveError":
        """The error as a record to keep in a result: without its traceback and the exception it
        replaced. Those hold every frame of the failed solve, including the result that holds
        this error — a cycle through pydantic-core's errors that the garbage collector cannot
        see, so each failed problem would stay in memory."""
        self.__traceback__ = None
        self.__context__ = None
        self.__cause__ = None
        return self

    def where(self) -> str:
        """`file:line: problem id: field` as far as known."""
        parts = []
        if self.file:
            parts.append(f"{self.file}:{self.line}" if self.line else self.file)
        if self.problem_id:
            parts.append(f"problem {self.problem_id}")
        if self.field:
            parts.append(f"field {self.field}")
        return ": ".join(parts)

    def __str__(self) -> str:
        where = self.where()
        return f"{where}: {self.message}" if where else self.message


class BadInput(DlsolveError):
    """The user's input is malformed, inconsistent or impossible (exit 2)."""

    exit_code = EXIT_BAD_INPUT


class InternalError(DlsolveError):
    """A bug in dlsolve itself (exit 3)."""

    exit_code = EXIT_INTERNAL


def did_you_mean(name: str, choices: Iterable[str], *, shared_start: bool = False) -> str:
    """' (did you mean 'x'?)' for the closest choice, or '' when nothing is close. With
    `shared_start`, a choice that begins as the name does (three letters or all of it) counts as
    close too: a field name typed out longer or shorter (`positions` for `pos`)."""
    choices = list(choices)
    close = difflib.get_close_matches(str(name), choices, n=1, cutoff=0.6)
    if not close and shared_start:
        def shared(choice: str) -> int:
            return len(os.path.commonprefix([str(name), choice]))

        best = max(choices, key=shared, default=None)
        if best is not None and shared(best) >= min(3, len(best)):
            close = [best]
    return f" (did you mean '{close[0]}'?)" if close else ""
