"""The `dlsolve` command line: thin typer commands that call the library and hand the results
to a renderer. Errors are turned into messages and exit codes in one place, `main()`.

Start-up time is a product goal (SPEC §8): a kind command such as `dlsolve conv-shape …`
registers and imports only that kind, and renderers are imported when they are used.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from .errors import EXIT_BAD_INPUT, EXIT_INTERNAL, BadInput, DlsolveError, did_you_mean
from .flags import flag_value as _flag_value  # noqa: F401 - the name tests and callers use
from .flags import kind_problem, parse_flags  # noqa: F401

TRAINING_COMMANDS = ("train", "generate", "gradcheck")
FIXED_COMMANDS = ("solve", "check", "kinds", "new", "vary", *TRAINING_COMMANDS)
_CONTEXT = {"help_option_names": ["-h", "--help"]}


class Format(str, Enum):
    text = "text"
    md = "md"
    html = "html"
    json = "json"


class CheckFormat(str, Enum):
    text = "text"
    json = "json"


_SUFFIX = {"text": ".txt", "md": ".md", "html": ".html", "json": ".json"}
_FORMAT_OF_SUFFIX = {".md": "md", ".markdown": "md", ".html": "html", ".htm": "html", ".json": "json",
                     ".txt": "text"}

OUT_OPTION = typer.Option(None, "-o", "--out-file", metavar="FILE|DIR/",
                          help="Write to FILE (one document) or DIR/ (one file per input).")
DECIMALS_HELP = "Display and check precision when a problem or file sets none (default 4)."
FORMAT_HELP = "text (terminal), md (Markdown answer key), html (one self-contained page) or json."


def _console(file=None, width: int | None = None):
    from rich.console import Console

    if file is not None:
        return Console(file=file, width=width or 100, color_system=None, highlight=False, soft_wrap=False)
    return Console(highlight=False, soft_wrap=False)


def _pick_format(fmt: Optional[Format], out: Optional[str]) -> str:
    if fmt is not None:
        return fmt.value
    if out and not out.endswith(("/", os.sep)):
        return _FORMAT_OF_SUFFIX.get(Path(out).suffix.lower(), "text")
    return "text"


def _render(file_results, fmt: str, figure_dir: Path | None = None, figure_prefix: str = "") -> str:
    if fmt == "json":
        from .render.json import render_json

        return render_json(file_results)
    if fmt == "md":
        from .render.markdown import render_markdown

        return render_markdown(file_results, figure_dir, figure_prefix)
    if fmt == "html":  # figures are embedded, so none are written beside the page
        from .render.html import render_html

        return render_html(file_results)
    import io

    from .render.terminal import render_terminal

    buffer = io.StringIO()
    render_terminal(_console(buffer), file_results)
    return buffer.getvalue()


def emit(file_results, fmt: str, out: Optional[str]) -> None:
    """Print to the terminal, or write one combined file, or one file per input (DIR/)."""
    from .output import write_atomic

    if out is None:
        if fmt == "text":
            from .render.terminal import render_terminal

            render_terminal(_console(), file_results)
        else:
            sys.stdout.write(_render(file_results, fmt))
        return
    target = Path(out)
    if out.endswith(("/", os.sep)) or target.is_dir():
        for file_result in file_results:
            path = target / (Path(file_result.file).stem + _SUFFIX[fmt])
            with _writing(path):
                write_atomic(path, _render([file_result], fmt, target / "figures", "figures/"))
            typer.echo(f"wrote {path}", err=True)
        return
    figures = target.parent / f"{target.stem}_files"  # only Markdown writes figures here
    with _writing(target):
        write_atomic(target, _render(file_results, fmt, figures, f"{figures.name}/"))
    typer.echo(f"wrote {target}", err=True)


@contextmanager
def _writing(path: Path):
    """A key or figure that cannot be written (no such folder, no permission, a full disk) is
    the command line's mistake or the machine's state, not a bug: one message, exit 2."""
    try:
        yield
    except (FileExistsError, NotADirectoryError):  # making the folders met a file on the way
        raise BadInput(f"cannot write {path}: part of its folder path is a file, not a folder",
                       file="command line", field="-o") from None
    except OSError as exc:
        raise BadInput(f"cannot write {path}: {exc.strerror or exc}", file="command line",
                       field="-o") from None


def _exit_code(file_results) -> int:
    return max((r.exit_code for r in file_results), default=0)


def _report_errors(file_results) -> None:
    """Bad-input messages also go to stderr, one line each, whatever the output format."""
    for file_result in file_results:
        errors = ([file_result.error] if file_result.error else []) + [
            p.error for p in file_result.problems if p.error is not None]
        for error in errors:
            typer.echo(f"error: {error}", err=True)


def _solve_paths(paths: list[Path], only: Optional[str], decimals: Optional[int]):
    from .pipeline import collect_paths, solve_file

    wanted = {part.strip() for part in only.split(",") if part.strip()} if only else None
    files = collect_paths(paths)
    results = [solve_file(path, only=wanted, decimals=decimals) for path in files]
    if wanted:
        found = {p.id for r in results for p in r.problems}
        missing = sorted(wanted - found)
        if missing:
            raise BadInput(f"--only names no problem {missing[0]!r}{did_you_mean(missing[0], found)}",
                           field="--only")
    return results


def build_app(command: Optional[str]) -> typer.Typer:
    app = typer.Typer(
        name="dlsolve",
        help="Worked solutions for deep-learning course exercises.\n\n"
             "Example: dlsolve solve problems/ --format md -o key.md",
        add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
        context_settings=_CONTEXT, rich_markup_mode=None,
    )

    @app.command()
    def solve(
        paths: list[Path] = typer.Argument(..., help="Problem files or folders (every *.yaml below)."),
        format: Optional[Format] = typer.Option(None, "--format", "-f", help=FORMAT_HELP),
        out: Optional[str] = OUT_OPTION,
        only: Optional[str] = typer.Option(None, "--only", help="Comma-separated problem ids."),
        decimals: Optional[int] = typer.Option(None, "--decimals", min=0, max=15, help=DECIMALS_HELP),
    ) -> None:
        """Solve problem sets and show every step.

        Example: dlsolve solve problems/course/ --format md -o keys/
        """
        results = _solve_paths(paths, only, decimals)
        emit(results, _pick_format(format, out), out)
        _report_errors(results)
        raise typer.Exit(_exit_code(results))

    @app.command()
    def check(
        paths: list[Path] = typer.Argument(..., help="Problem files or folders with `answer:` blocks."),
        format: CheckFormat = typer.Option(CheckFormat.text, "--format", "-f", help="text or json."),
        only: Optional[str] = typer.Option(None, "--only", help="Comma-separated problem ids."),
        decimals: Optional[int] = typer.Option(None, "--decimals", min=0, max=15, help=DECIMALS_HELP),
    ) -> None:
        """Compare claimed answers with computed ones; exit 1 on any mismatch.

        Example: dlsolve check problems/examples/exam-key.yaml
        """
        from .check import check_problem
        from .render.check import render_check_json, render_check_text

        results = _solve_paths(paths, only, decimals)
        reports = [check_problem(p) for r in results for p in r.problems if p.claimed or p.error]
        file_errors = [r.error for r in results if r.error is not None]
        if format == CheckFormat.json:
            sys.stdout.write(render_check_json(reports, file_errors))
        else:
            render_check_text(_console(), reports, file_errors)
        code = max([_exit_code(results)] + [1 if r.verdict == "mismatch" else 0 for r in reports])
        if any(r.verdict == "error" for r in reports):
            code = max(code, EXIT_BAD_INPUT)
        _report_errors(results)
        raise typer.Exit(code)

    @app.command()
    def kinds(kind: Optional[str] = typer.Argument(None, help="A kind to describe in full.")) -> None:
        """List the problem kinds, or one kind's fields, defaults and answer names.

        Example: dlsolve kinds conv-shape
        """
        from .render.kinds import describe_kind, list_kinds
        from .registry import all_kinds, get_kind

        console = _console()
        if kind is None:
            list_kinds(console, all_kinds())
        else:
            describe_kind(console, get_kind(kind))

    @app.command()
    def new(kind: str = typer.Argument(..., help="The kind of the template.")) -> None:
        """Print a commented YAML problem-set template for a kind.

        Example: dlsolve new conv-shape > my-problems.yaml
        """
        from .registry import get_kind
        from .render.kinds import template

        sys.stdout.write(template(get_kind(kind)))

    @app.command()
    def vary(
        path: Path = typer.Argument(..., help="A problem file whose problems have `vary:` blocks."),
        count: int = typer.Option(..., "--count", "-n", min=1, max=1000, help="How many variants."),
        seed: int = typer.Option(..., "--seed", "-s", help="Same seed, same variants."),
        out: str = typer.Option(..., "-o", "--out-dir", metavar="DIR/", help="Folder for the variants and keys."),
    ) -> None:
        """Randomized variants of a problem set, each with its Markdown answer key.

        Example: dlsolve vary problems/examples/conv-shape-variants.yaml --count 5 --seed 1 -o variants/
        """
        from .render.vary import render_vary_report
        from .vary import make_variants

        with _writing(Path(out)):
            reports = make_variants(path, count, seed, Path(out))
        render_vary_report(_console(), reports, Path(out))

    from .registry import kind_names

    names = kind_names()
    _add_kind_commands(app, command, names)
    # Training commands only when they may be wanted: a kind command stays lean (SPEC §8).
    if command in (None, *TRAINING_COMMANDS) or (command not in FIXED_COMMANDS and command not in names):
        from .train.commands import register as register_training

        register_training(app)
    return app


def _add_kind_commands(app: typer.Typer, command: Optional[str], names: list[str]) -> None:
    """One command per kind, generated from the registry: only the one being run is imported,
    all of them for the top-level help."""
    from .registry import get_kind

    if command in FIXED_COMMANDS:
        return
    if command in names:  # the one kind being run: its training commands are not needed either
        chosen = [command]
    else:
        chosen = names
    for name in chosen:
        kind = get_kind(name)
        app.command(
            name=name, help=_kind_help(kind), short_help=_first_clause(kind.summary),
            context_settings={"allow_extra_args": True, "ignore_unknown_options": True, **_CONTEXT},
        )(_make_kind_command(kind))


def _first_clause(summary: str) -> str:
    """A kind's summary up to its first `;` outside parentheses: the line in `dlsolve --help`."""
    depth = 0
    for index, char in enumerate(summary):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == ";" and depth == 0:
            return summary[:index]
    return summary.rstrip(".")


def _kind_help(kind) -> str:
    fields = ", ".join("--" + f.replace("_", "-") for f in kind.input_model.model_fields)
    positional = f"\n\nThe argument fills `{kind.positional}`." if kind.positional else ""
    return (f"{kind.summary}\n\nFields: {fields}. List and dict values are inline YAML "
            f"(--dims \"[0, 2]\"); --find F means F: '?'. `dlsolve kinds {kind.name}` describes them."
            f"{positional}\n\nExample: dlsolve {kind.name} {kind.example}")


def _make_kind_command(kind):
    def command(
        ctx: typer.Context,
        format: Optional[Format] = typer.Option(None, "--format", "-f", help=FORMAT_HELP),
        out: Optional[str] = OUT_OPTION,
        decimals: Optional[int] = typer.Option(None, "--decimals", min=0, max=15, help=DECIMALS_HELP),
        find: Optional[str] = typer.Option(None, "--find", help="Field(s) to solve for: same as F: '?'."),
    ) -> None:
        from .pipeline import FileResult, solve_problem
        from .spec import LineMap

        problem = kind_problem(kind, ctx.args, find)
        result = solve_problem(problem, file="command line", lines=LineMap(), prefix=(),
                               decimals=decimals)
        results = [FileResult("command line", None, [result])]
        emit(results, _pick_format(format, out), out)
        if result.error is not None and (format not in (None, Format.text) or out):
            typer.echo(f"error: {result.error}", err=True)
        raise typer.Exit(_exit_code(results))

    command.__name__ = kind.name.replace("-", "_")
    return command


def _first_command(argv: list[str]) -> Optional[str]:
    for arg in argv:
        if not arg.startswith("-"):
            return arg
        if arg in ("-h", "--help"):
            return None
    return None


def main(argv: Optional[list[str]] = None, quick: bool = True) -> None:
    argv = sys.argv[1:] if argv is None else argv
    from .fast import answer_quickly  # a one-problem kind command without typer, rich or pydantic

    if quick and answer_quickly(argv):
        return
    try:
        app = build_app(_first_command(argv))
        app(args=argv, prog_name="dlsolve")
    except DlsolveError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # a bug: say so, no traceback unless asked for
        if os.environ.get("DLSOLVE_DEBUG"):
            raise
        typer.echo(f"internal error ({type(exc).__name__}: {exc}). This is a bug in dlsolve; please "
                   "report it (set DLSOLVE_DEBUG=1 for a traceback).", err=True)
        sys.exit(EXIT_INTERNAL)


if __name__ == "__main__":
    main()
