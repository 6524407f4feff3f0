"""The `dlsolve` command line: thin typer commands that call the library and hand the results
to a renderer. Errors are turned into messages and exit codes in one place, `main()`.

Start-up time is a product goal (SPEC §8): a kind command such as `dlsolve conv-shape …`
registers and imports only that kind, and renderers are imported when they are used.
"""

from __future__ import annotations

import errno
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
FIXED_COMMANDS = ("solve", "check", "grade", "mistakes", "kinds", "new", "vary", "export", *TRAINING_COMMANDS)
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
TIME_LIMIT_HELP = "Seconds each problem may take before it becomes an error entry (default 20; 0: no limit)."
MEMORY_LIMIT_HELP = "Megabytes of memory each problem may take before it becomes an error entry (default 2048)."


def _time_limit_option():
    return typer.Option(20.0, "--time-limit", min=0, max=86400, metavar="SECONDS", help=TIME_LIMIT_HELP)


def _memory_limit_option():
    return typer.Option(2048, "--memory-limit", min=64, max=1_048_576, metavar="MB", help=MEMORY_LIMIT_HELP)


def _limits(time_limit: float, memory_limit: int):
    """The per-problem budget of SPEC §6; `--time-limit 0` turns it off (the work then runs in
    this process, unguarded)."""
    from .budget import Limits

    return Limits(time_limit, memory_limit) if time_limit > 0 else None
FORMAT_HELP = "text (terminal), md (Markdown answer key), html (one self-contained page) or json."


def _console(file=None, width: int | None = None):
    from .render.console import output_console  # full width when not a terminal (SPEC §3)

    console = output_console(file, width)
    if file is None:
        console.on_broken_pipe = _output_closed  # rich would exit 1 without a word
    return console


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

    from .render.console import trimmed
    from .render.terminal import render_terminal

    buffer = io.StringIO()
    render_terminal(_console(buffer), file_results)
    return trimmed(buffer.getvalue())


def emit(file_results, fmt: str, out: Optional[str]) -> None:
    """Print to the terminal, or write one combined file, or one file per input (DIR/).
    Figures a problem names by file go into the figures folder beside the key (the working
    folder without -o); nothing replaces an input of the run or a special file (SPEC §6)."""
    from .output import input_files, output_names, refuse_input, write_atomic, write_requested_figures

    inputs = input_files(file_results)
    problems = [problem for result in file_results for problem in result.problems]
    if out is None:
        with _writing(Path.cwd(), field="figure"):
            write_requested_figures(problems, Path.cwd(), inputs)
        if fmt == "text":
            from .render.terminal import render_terminal

            render_terminal(_console(), file_results)
        else:
            sys.stdout.write(_render(file_results, fmt))
        return
    target = Path(out)
    with _writing(target):
        into_folder = out.endswith(("/", os.sep)) or target.is_dir()
    if into_folder:
        names = output_names([result.file for result in file_results], _SUFFIX[fmt])
        for file_result, name in zip(file_results, names):
            path = target / name
            with _writing(path):
                refuse_input(path, inputs)
                write_requested_figures(file_result.problems, path.parent / "figures", inputs)
                write_atomic(path, _render([file_result], fmt, path.parent / "figures", "figures/"))
            typer.echo(f"wrote {path}", err=True)
        return
    figures = target.parent / f"{target.stem}_files"
    with _writing(target):
        refuse_input(target, inputs)
        write_requested_figures(problems, figures, inputs)
        write_atomic(target, _render(file_results, fmt, figures, f"{figures.name}/"))
    typer.echo(f"wrote {target}", err=True)


@contextmanager
def _writing(path: Path, field: str = "-o"):
    """A key or figure that cannot be written (no such folder, no permission, a full disk, a
    name too long, a device or an input in its place) is the command line's mistake or the
    machine's state, not a bug: one message, exit 2."""
    from .output import SameAsInputError, SpecialFileError
    from .pipeline import short_path

    try:
        yield
    except (SameAsInputError, SpecialFileError, IsADirectoryError) as exc:
        raise BadInput(f"will not write {short_path(exc.filename or path)}: {exc.strerror}",
                       file="command line", field=field) from None
    except (FileExistsError, NotADirectoryError):  # making the folders met a file on the way
        raise BadInput(f"cannot write {short_path(path)}: part of its folder path is a file, not a folder",
                       file="command line", field=field) from None
    except OSError as exc:
        raise BadInput(f"cannot write {short_path(path)}: {exc.strerror or exc}", file="command line",
                       field=field) from None


def _nothing_to_check(file_results) -> list:
    """A file whose problems claim no answer is bad input: there is nothing to check (SPEC §9)."""
    return [BadInput("nothing to check: no problem has an `answer:` block", file=r.file).detached()
            for r in file_results if r.error is None and r.problems
            and not any(p.claimed or p.error for p in r.problems)]


def _exit_code(file_results) -> int:
    return max((r.exit_code for r in file_results), default=0)


def _report_errors(file_results) -> None:
    """Bad-input messages also go to stderr, one line each, whatever the output format."""
    for file_result in file_results:
        errors = ([file_result.error] if file_result.error else []) + [
            p.error for p in file_result.problems if p.error is not None]
        for error in errors:
            typer.echo(f"error: {error}", err=True)


def _print_version(wanted: bool) -> None:
    """`dlsolve --version`: the installed distribution's version; importlib.metadata is loaded
    only here, so the other commands do not pay for it."""
    if not wanted:
        return
    from .fast import version_line

    typer.echo(version_line())
    raise typer.Exit()


def _solve_paths(paths: list[Path], only: Optional[str], decimals: Optional[int], limits=None):
    from .pipeline import collect_paths, solve_files

    from .fast import solved_before

    wanted = {part.strip() for part in only.split(",") if part.strip()} if only else None
    files = collect_paths(paths)
    results = None if wanted else solved_before(files, decimals, limits)
    if results is None:
        results = solve_files(files, only=wanted, decimals=decimals, limits=limits)
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
        add_completion=True, no_args_is_help=True, pretty_exceptions_enable=False,
        context_settings=_CONTEXT, rich_markup_mode=None,
    )

    @app.callback()
    def options(
        version: bool = typer.Option(False, "--version", is_eager=True, callback=_print_version,
                                     help="Print the version and exit."),
    ) -> None:
        pass

    @app.command()
    def solve(
        paths: list[Path] = typer.Argument(
            ..., help="Problem files or folders (every *.yaml below); - reads standard input."),
        format: Optional[Format] = typer.Option(None, "--format", "-f", help=FORMAT_HELP),
        out: Optional[str] = OUT_OPTION,
        only: Optional[str] = typer.Option(None, "--only", help="Comma-separated problem ids."),
        decimals: Optional[int] = typer.Option(None, "--decimals", min=0, max=15, help=DECIMALS_HELP),
        time_limit: float = _time_limit_option(),
        memory_limit: int = _memory_limit_option(),
    ) -> None:
        """Solve problem sets and show every step.

        Example: dlsolve solve problems/course/ --format md -o keys/
        """
        results = _solve_paths(paths, only, decimals, _limits(time_limit, memory_limit))
        emit(results, _pick_format(format, out), out)
        _report_errors(results)
        raise typer.Exit(_exit_code(results))

    @app.command()
    def check(
        paths: list[Path] = typer.Argument(
            ..., help="Problem files or folders with `answer:` blocks; - reads standard input."),
        format: CheckFormat = typer.Option(CheckFormat.text, "--format", "-f", help="text or json."),
        only: Optional[str] = typer.Option(None, "--only", help="Comma-separated problem ids."),
        decimals: Optional[int] = typer.Option(None, "--decimals", min=0, max=15, help=DECIMALS_HELP),
        time_limit: float = _time_limit_option(),
        memory_limit: int = _memory_limit_option(),
    ) -> None:
        """Compare claimed answers with computed ones; exit 1 on any mismatch.

        Example: dlsolve check problems/examples/exam-004-key-check.yaml
        """
        from .check import check_within
        from .render.check import render_check_json, render_check_text

        limits = _limits(time_limit, memory_limit)
        results = _solve_paths(paths, only, decimals, limits)
        reports = check_within(limits, [p for r in results for p in r.problems if p.claimed or p.error])
        empty = _nothing_to_check(results)
        file_errors = [r.error for r in results if r.error is not None] + empty
        if format == CheckFormat.json:
            sys.stdout.write(render_check_json(reports, file_errors))
        else:
            render_check_text(_console(), reports, file_errors)
        code = max([_exit_code(results)] + [1 if r.verdict == "mismatch" else 0 for r in reports])
        if any(r.verdict == "error" for r in reports) or file_errors:
            code = max(code, EXIT_BAD_INPUT)
        _report_errors(results)
        for error in empty:
            typer.echo(f"error: {error}", err=True)
        raise typer.Exit(code)

    @app.command()
    def grade(
        key: Path = typer.Argument(..., help="The problem file with the right answers (and optional points:)."),
        submissions: list[Path] = typer.Argument(..., help="Submission files or folders: {student, answers}."),
        out: str = typer.Option("grades/", "-o", "--out-dir", metavar="DIR/",
                                help="Folder for grades.csv, feedback/ and summary.md."),
        decimals: Optional[int] = typer.Option(None, "--decimals", min=0, max=15, help=DECIMALS_HELP),
        time_limit: float = _time_limit_option(),
        memory_limit: int = _memory_limit_option(),
    ) -> None:
        """Grade a class's answers against a key: grades.csv, feedback per student, common mistakes.

        Example: dlsolve grade exam.yaml submissions/ -o grades/
        """
        from .judge.grade import grade_class, write_grading

        grading = grade_class(key, submissions, decimals=decimals, limits=_limits(time_limit, memory_limit))
        with _writing(Path(out)):
            written = write_grading(grading, Path(out))
        for path in written:
            typer.echo(f"wrote {path}", err=True)
        for warning in grading.key_warnings:
            typer.echo(f"warning: {warning}", err=True)
        for problem in grading.skipped:
            typer.echo(f"skipped: {problem}", err=True)
        typer.echo(f"{len(grading.students)} graded, {len(grading.skipped)} skipped", err=True)
        raise typer.Exit(EXIT_BAD_INPUT if grading.skipped or not grading.students else 0)

    @app.command()
    def mistakes(kind: Optional[str] = typer.Argument(None, help="Only this kind's mistakes.")) -> None:
        """The catalogue of mistakes `check` recognises, with an example each and known coincidences.

        Example: dlsolve mistakes conv-shape
        """
        from .judge.catalogue_view import describe_catalogue
        from .render.mistakes import render_mistakes

        if kind is not None:
            from .registry import get_kind

            get_kind(kind)  # an unknown kind gets its "did you mean"
        render_mistakes(_console(), describe_catalogue(kind))

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
        time_limit: float = _time_limit_option(),
        memory_limit: int = _memory_limit_option(),
    ) -> None:
        """Randomized variants of a problem set, each with its Markdown answer key.

        Example: dlsolve vary problems/examples/conv-shape-variants.yaml --count 5 --seed 1 -o variants/
        """
        from .render.vary import render_vary_report
        from .vary import make_variants

        with _writing(Path(out)):
            reports = make_variants(path, count, seed, Path(out), _limits(time_limit, memory_limit))
        render_vary_report(_console(), reports, Path(out))

    _add_export_command(app)

    from .registry import kind_names

    names = kind_names()
    _add_kind_commands(app, command, names)
    # Training commands only when they may be wanted: a kind command stays lean (SPEC §8).
    if command in (None, *TRAINING_COMMANDS) or (command not in FIXED_COMMANDS and command not in names):
        from .train.commands import register as register_training

        register_training(app)
    return app


class ExportFormat(str, Enum):
    moodle = "moodle"
    qti = "qti"


def _add_export_command(app: typer.Typer) -> None:
    @app.command()
    def export(
        paths: list[Path] = typer.Argument(..., help="Problem files or folders (every *.yaml below)."),
        to: ExportFormat = typer.Option(..., "--to", help="moodle (Moodle XML) or qti (a QTI 2.1 .zip package)."),
        out: str = typer.Option(..., "-o", "--out-file", metavar="FILE", help="The quiz file to write."),
        variants: Optional[int] = typer.Option(None, "--variants", min=1, max=1000,
                                               help="Versions of each problem with a `vary:` block."),
        seed: Optional[int] = typer.Option(None, "--seed", help="Seed of the variants: same seed, same quiz."),
        time_limit: float = _time_limit_option(),
        memory_limit: int = _memory_limit_option(),
    ) -> None:
        """Quizzes for a course platform: Moodle XML or a QTI 2.1 package, with the worked
        solutions as feedback; a manifest FILE.manifest.json is written beside the quiz.

        Example: dlsolve export problems/course/004-final-exam.yaml --to moodle -o exam.xml
        """
        from .export import export_quiz, manifest_path
        from .output import write_atomic

        from .pipeline import collect_paths

        target = Path(out)
        with _writing(target):
            into_folder = out.endswith(("/", os.sep)) or target.is_dir()
        if into_folder:
            raise BadInput(f"{out} is a folder; -o names the quiz file (e.g. quiz.xml)", file="command line",
                           field="-o")
        inputs = {p.resolve() for p in collect_paths(paths)}
        for written in (target, manifest_path(target)):
            if written.resolve() in inputs or (written.exists() and not written.is_file()):
                raise BadInput(f"will not replace {written}: it is an input or not a regular file",
                               file="command line", field="-o")
        command = " ".join(["dlsolve export", *map(str, paths), "--to", to.value, "-o", out]
                           + ([f"--variants {variants}"] if variants is not None else [])
                           + ([f"--seed {seed}"] if seed is not None else []))
        data, manifest = export_quiz(paths, to.value, variants, seed, command, _limits(time_limit, memory_limit))
        with _writing(target):
            write_atomic(target, data)
            write_atomic(manifest_path(target), manifest)
        typer.echo(f"wrote {target} and {manifest_path(target)}", err=True)


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
        time_limit: float = _time_limit_option(),
        memory_limit: int = _memory_limit_option(),
    ) -> None:
        from .pipeline import FileResult, solve_within
        from .spec import LineMap

        problem = kind_problem(kind, ctx.args, find)
        result = solve_within(_limits(time_limit, memory_limit), problem, file="command line",
                              lines=LineMap(), prefix=(), decimals=decimals)
        results = [FileResult("command line", None, [result])]
        chosen = _pick_format(format, out)
        # The message of a rejected problem goes to stderr; a terminal page holding only that
        # message is not printed (a JSON or file output still records the error entry).
        if result.error is None or chosen != "text" or out:
            emit(results, chosen, out)
        if result.error is not None:
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
    import gc

    from .fast import GC_THRESHOLDS, answer_quickly

    gc.set_threshold(*GC_THRESHOLDS)
    argv = sys.argv[1:] if argv is None else argv
    if quick and answer_quickly(argv):  # a one-problem kind command without typer, rich or pydantic
        return
    _signals_end_cleanly()
    try:
        app = build_app(_first_command(argv))
        app(args=argv, prog_name="dlsolve")
    except SystemExit:
        _flush_stdout()
        raise
    except DlsolveError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except _Stopped as stop:  # SIGTERM / SIGHUP: temporary files are gone by now
        typer.echo(f"stopped by signal {stop.signal_number}", err=True)
        sys.exit(128 + stop.signal_number)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        _output_closed()
    except OSError as exc:
        if exc.errno == errno.ENOSPC or (exc.errno == errno.EPIPE):
            if exc.errno == errno.EPIPE:
                _output_closed()
            _silence_stdout()
            typer.echo(f"error: cannot write the output: {exc.strerror}", err=True)
            sys.exit(EXIT_BAD_INPUT)
        _internal(exc)
    except Exception as exc:  # a bug: say so, no traceback unless asked for
        _internal(exc)
    _flush_stdout()


def _internal(exc: Exception) -> None:
    if os.environ.get("DLSOLVE_DEBUG"):
        raise exc
    typer.echo(f"internal error ({type(exc).__name__}: {exc}). This is a bug in dlsolve; please "
               "report it (set DLSOLVE_DEBUG=1 for a traceback).", err=True)
    sys.exit(EXIT_INTERNAL)


class _Stopped(BaseException):
    """SIGTERM or SIGHUP, raised where the program is, so that `finally` blocks (temporary
    files) run before it ends."""

    def __init__(self, signal_number: int) -> None:
        super().__init__(signal_number)
        self.signal_number = signal_number


def _signals_end_cleanly() -> None:
    import signal

    def stop(signal_number, frame):
        raise _Stopped(signal_number)

    for name in ("SIGTERM", "SIGHUP"):
        number = getattr(signal, name, None)
        if number is not None and signal.getsignal(number) is signal.SIG_DFL:
            signal.signal(number, stop)


def _flush_stdout() -> None:
    """Output still buffered is written now, so that a full disk or a closed pipe is reported
    here as one message rather than by the interpreter on its way out."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _output_closed()
    except OSError as exc:
        _silence_stdout()
        typer.echo(f"error: cannot write the output: {exc.strerror or exc}", err=True)
        sys.exit(EXIT_BAD_INPUT)


def _output_closed() -> None:
    """The reader of our output went away (`dlsolve … | head`): one message, exit 2."""
    _silence_stdout()
    try:
        typer.echo("error: the output was closed before everything was written", err=True)
    except OSError:
        pass
    sys.exit(EXIT_BAD_INPUT)


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


if __name__ == "__main__":
    main()
