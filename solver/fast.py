"""The fast path of a one-problem kind command (`dlsolve conv-shape --input 10x11 --kernel 3`)
and of `solve` for files whose problems all solve.

SPEC §8 wants such a command answered in a few times Python's own start-up; typer, rich and
pydantic together cost several times that before anything is computed. This path reads the
command's few options itself, validates the kind's input with the stand-in of
`solver.light_models`, solves through the same pipeline, and writes the same text or JSON. It
answers only the plain case — a kind name with its field flags and `--find`, or `solve` with
files; `--format text|json`, `--decimals`; problems that all solve — and only after everything
has succeeded does it write. Any other command (help, `-o`, other formats, a bad value, a
validator's complaint, an error entry, anything unexpected) returns False and the full command
line answers it, messages included.
"""

from __future__ import annotations

import io
import os
import re
import sys

_KIND_NAME = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
_FORMATS = ("text", "json")
_DECIMALS = re.compile(r"[0-9]{1,2}")


def _kind_module_exists(name: str) -> bool:
    if not _KIND_NAME.fullmatch(name):
        return False
    from .registry import kind_names  # file names only, in kinds/ and its family packages

    return name in kind_names()


def _read_options(argv: list[str]):
    """(command, arguments, format, decimals, find) of a kind command or of `solve` with files,
    or None for anything but the plain case."""
    if not argv or not (argv[0] == "solve" or _kind_module_exists(argv[0])):
        return None
    options: dict[str, str] = {}
    rest: list[str] = []
    index = 1
    while index < len(argv):
        token = argv[index]
        name, has_value, value = token.partition("=") if token.startswith("--") else (token, "", "")
        key = {"--format": "format", "-f": "format", "--decimals": "decimals", "--find": "find"}.get(name)
        if key is not None:
            if not has_value:
                if index + 1 >= len(argv):
                    return None
                value = argv[index + 1]
                index += 1
            if key in options:
                return None
            options[key] = value
        elif token in ("--", "-h", "--help") or (token.startswith("-") and not token.startswith("--")
                                                  and not _is_number(token)):
            return None  # help, -o and other short options: the full command line
        elif token.startswith("--") and (name in ("--out-file", "--version", "--only") or argv[0] == "solve"):
            return None
        else:
            rest.append(token)
        index += 1
    if argv[0] == "solve" and (not rest or "find" in options):
        return None
    fmt = options.get("format", "text")
    decimals = options.get("decimals")
    if fmt not in _FORMATS or (decimals is not None and not (_DECIMALS.fullmatch(decimals)
                                                               and int(decimals) <= 15)):
        return None
    return argv[0], rest, fmt, None if decimals is None else int(decimals), options.get("find")


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def answer_quickly(argv: list[str]) -> bool:
    """Answer a plain one-problem kind command and return True, or return False untouched."""
    if os.environ.get("DLSOLVE_FULL_PATH"):
        return False
    parsed = _read_options(argv)
    if parsed is None:
        return False
    name, args, fmt, decimals, find = parsed
    from .render.lines import Lines

    terminal = Lines.for_stdout()
    if terminal is None or not (getattr(sys.stdout, "encoding", "") or "").lower().startswith("utf"):
        return False
    try:
        text = _answer(name, args, fmt, decimals, find, terminal)
    except KeyboardInterrupt:
        raise
    except Exception:  # noqa: BLE001 - whatever went wrong, the full path says it properly
        return False
    if text is None:
        return False
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except OSError as exc:  # a closed pipe or a full disk: one message, exit 2 (SPEC §6)
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        closed = isinstance(exc, BrokenPipeError)
        sys.stderr.write("error: the output was closed before everything was written\n" if closed
                         else f"error: cannot write the output: {exc.strerror or exc}\n")
        sys.exit(2)
    return True


def _answer(name: str, args: list[str], fmt: str, decimals, find, terminal) -> str | None:
    from .light_models import light_models

    with light_models():
        results = _solve_files(args, decimals) if name == "solve" else _solve_flags(name, args, find, decimals)
        if results is None or _names_a_figure_file(results):  # files are the full path's to write
            return None
        if fmt == "json":
            from .render.json import render_json

            return render_json(results)
        from .render.lines import Lines
        from .render.terminal import render_terminal

        from .render.console import UNBOUNDED_WIDTH, trimmed

        buffer = io.StringIO()
        render_terminal(Lines(buffer, terminal.width, terminal.color), results)
        # A pipe or a file: lines without trailing spaces, as the full path writes them.
        return trimmed(buffer.getvalue()) if terminal.width >= UNBOUNDED_WIDTH else buffer.getvalue()


def _names_a_figure_file(results) -> bool:
    return any(figure.file for result in results for problem in result.problems
               if problem.solution is not None for figure in problem.solution.figures)


def _solve_flags(name: str, args: list[str], find, decimals):
    from .budget import Limits  # every problem within the default budget (SPEC §6), as on the full path
    from .flags import kind_problem
    from .pipeline import FileResult, solve_within
    from .registry import get_kind
    from .spec import LineMap

    problem = kind_problem(get_kind(name), args, find)
    result = solve_within(Limits(), problem, file="command line", lines=LineMap(), prefix=(), decimals=decimals)
    return None if result.error is not None else [FileResult("command line", None, [result])]


def _solve_files(paths: list[str], decimals):
    """`solve FILE…`: every file read and every problem solved, or None at the first error."""
    from pathlib import Path

    from .budget import Limits
    from .pipeline import collect_paths, solve_files

    files, limits = collect_paths([Path(p) for p in paths]), Limits()
    results = solve_files(files, decimals=decimals, limits=limits)
    if any(r.error is not None or any(p.error is not None for p in r.problems) for r in results):
        _HANDED_OVER[_handover_key(files, decimals, limits)] = results
        return None
    return results


# Files the fast path solved but does not print (an error entry is the full command line's to
# report): the full command line, next in this same process, prints them without solving them
# again.
_HANDED_OVER: dict[tuple, list] = {}


def _handover_key(files, decimals, limits) -> tuple:
    return tuple(str(file) for file in files), decimals, limits


def solved_before(files, decimals, limits):
    """The results of exactly these files, precision and budget, if the fast path solved them."""
    return _HANDED_OVER.pop(_handover_key(files, decimals, limits), None)


def version_line() -> str:
    """`dlsolve X.Y.Z`: the installed distribution's version; importlib.metadata is loaded
    only here, so the other commands do not pay for it."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        number = version("dlsolve")
    except PackageNotFoundError:  # run from a source tree that was never installed
        from . import __version__ as number
    return f"dlsolve {number}"


# Collect cyclic garbage after 50,000 new objects rather than Python's 700: a run builds large
# trees of answers and of Markdown tokens that are not cycles, and each collection walks the
# whole heap (at 700, a third of the HTML key's Markdown conversion). Memory stays bounded.
GC_THRESHOLDS = (50_000, 20, 20)


def main(argv: list[str] | None = None) -> None:
    """The `dlsolve` script: the fast path when it applies, else the full command line."""
    import gc

    gc.set_threshold(*GC_THRESHOLDS)
    argv = sys.argv[1:] if argv is None else argv
    if argv == ["--version"]:  # without building the whole command line (a third of a second)
        print(version_line())
        return
    if not answer_quickly(argv):
        from .cli import main as full_command_line

        full_command_line(argv, quick=False)
