"""From a problem mapping to a result: envelope -> kind input -> solve -> Solution.

Each problem is validated and solved on its own, so one bad problem never stops the others
(SPEC §6). Every failure becomes an error entry with file, line, problem id and field.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .budget import Limits, OverBudget, run_within
from .context import Context
from .formula import FUNCTIONS
from .errors import EXIT_OK, BadInput, DlsolveError, InternalError, did_you_mean
from .spec import (PROBLEM_KEYS, STDIN_NAME, STDIN_PATH, LineMap, ProblemSet, load_problem_set, read_stdin,
                   read_text)

DEFAULT_DECIMALS = 4
# Module-level registries a kind may add to while solving, which its answer then refers to by
# name: what a budget worker adds is carried back (solver.budget).
_REGISTRIES = (FUNCTIONS,)


@dataclass
class ProblemResult:
    id: str
    kind: str | None
    file: str
    title: str | None = None
    notes: str | None = None
    given: dict = field(default_factory=dict)
    find: list[str] = field(default_factory=list)
    decimals: int = DEFAULT_DECIMALS
    round_intermediate: bool = False
    claimed: dict | None = None
    line: int | None = None
    solution: Any = None  # steps.Solution
    error: DlsolveError | None = None

    @property
    def exit_code(self) -> int:
        return self.error.exit_code if self.error else EXIT_OK

    @property
    def answers(self) -> dict[str, Any]:
        """The answers to report: all of them, or those named in `find`."""
        if self.solution is None:
            return {}
        answers = self.solution.answers
        if not self.find:
            return dict(answers)
        wanted = {name: answers[name] for name in self.find if name in answers}
        return wanted or dict(answers)


@dataclass
class FileResult:
    file: str
    title: str | None = None
    problems: list[ProblemResult] = field(default_factory=list)
    error: DlsolveError | None = None

    @property
    def exit_code(self) -> int:
        codes = [p.exit_code for p in self.problems]
        if self.error:
            codes.append(self.error.exit_code)
        return max(codes, default=EXIT_OK)


def _pydantic_error(exc, lines: LineMap, prefix: tuple, model=None) -> BadInput:
    """The first pydantic error as a BadInput naming the field and its line."""
    # An unknown field explains a "missing" one (a typo), so report it first.
    errors = sorted(exc.errors(), key=lambda e: e.get("type") != "extra_forbidden")
    first = errors[0]
    loc = tuple(first.get("loc", ()))
    field_name = ".".join(str(part) for part in loc) or None
    message = first.get("msg", "invalid value")
    if message.startswith("Value error, "):
        message = message[len("Value error, "):]
    if first.get("type") == "extra_forbidden" and loc:
        known = list(getattr(model, "model_fields", {}) or [])
        message = f"unknown field {str(loc[-1])!r}{did_you_mean(str(loc[-1]), known, shared_start=True)}"
        if known and len(loc) == 1:
            message += f"; {_known_fields_hint(known)}"
    elif first.get("type") == "missing":
        message = "required field is missing"
    elif "input" in first and first.get("type") not in ("missing",):
        shown = repr(first["input"])
        if len(shown) <= 60 and shown not in message:
            message = f"{message} (got {shown})"
    return BadInput(message, field=field_name, line=lines.line(prefix + loc))


def _known_fields_hint(known: list[str]) -> str:
    return "fields: " + ", ".join(known)


def _envelope(raw: Any, index: int, problem_set: ProblemSet) -> dict:
    """Check the problem's own keys (SPEC §4) and apply the file's defaults."""
    lines, prefix = problem_set.lines, ("problems", index)
    if not isinstance(raw, dict):
        raise BadInput("each problem must be a mapping with `id`, `kind` and `given`",
                       line=lines.line(prefix))
    for key in raw:
        if key not in PROBLEM_KEYS:
            raise BadInput(f"unknown problem key {key!r}{did_you_mean(str(key), PROBLEM_KEYS)}",
                           field=str(key), line=lines.line(prefix + (key,)))
    problem = dict(raw)
    for key, value in problem_set.defaults.items():
        if key == "given" and isinstance(value, dict) and isinstance(problem.get("given"), (dict, type(None))):
            problem["given"] = {**value, **(problem.get("given") or {})}
        else:
            problem.setdefault(key, value)
    if "id" not in problem or problem["id"] in (None, ""):
        raise BadInput("every problem needs an `id`", field="id", line=lines.line(prefix))
    if not isinstance(problem["id"], (str, int)) or isinstance(problem["id"], bool):
        raise BadInput("`id` must be text", field="id", line=lines.line(prefix + ("id",)))
    problem["id"] = str(problem["id"])
    if "kind" not in problem:
        raise BadInput("every problem needs a `kind` (see `dlsolve kinds`)", field="kind",
                       line=lines.line(prefix))
    given = problem.get("given", {})
    if given is None:
        given = {}
    if not isinstance(given, dict):
        raise BadInput("`given` must be a mapping of the kind's fields", field="given",
                       line=lines.line(prefix + ("given",)))
    names = [name for name in given if not isinstance(name, str)]
    if names:
        raise BadInput(f"`given` maps field names to values; {names[0]!r} is not a field name",
                       field="given", line=lines.line(prefix + ("given", str(names[0]))))
    problem["given"] = given
    find = problem.get("find") or []
    if isinstance(find, str):
        find = [find]
    if not isinstance(find, list) or not all(isinstance(f, str) for f in find):
        raise BadInput("`find` must be an answer name or a list of them", field="find",
                       line=lines.line(prefix + ("find",)))
    problem["find"] = find
    decimals = problem.get("decimals")
    if decimals is not None and (isinstance(decimals, bool) or not isinstance(decimals, int)
                                 or not 0 <= decimals <= 15):
        raise BadInput("`decimals` must be a whole number from 0 to 15", field="decimals",
                       line=lines.line(prefix + ("decimals",)))
    if not isinstance(problem.get("round_intermediate", False), bool):
        raise BadInput("`round_intermediate` must be true or false", field="round_intermediate",
                       line=lines.line(prefix + ("round_intermediate",)))
    for key in ("answer", "vary"):
        if problem.get(key) is not None and not isinstance(problem[key], dict):
            raise BadInput(f"`{key}` must be a mapping", field=key, line=lines.line(prefix + (key,)))
        names = [name for name in (problem.get(key) or {}) if not isinstance(name, str)]
        if names:
            raise BadInput(f"`{key}` maps names to values; {names[0]!r} is not a name (quote it)",
                           field=key, line=lines.line(prefix + (key,)))
    for key in ("title", "notes"):
        if problem.get(key) is not None and not isinstance(problem[key], (str, int, float)):
            raise BadInput(f"`{key}` must be text", field=key, line=lines.line(prefix + (key,)))
    return problem


def solve_problem(problem: dict, *, file: str, lines: LineMap, prefix: tuple,
                  decimals: int | None, base_dir: Path | None = None) -> ProblemResult:
    """Validate the kind's inputs and solve; every failure is kept as the result's error."""
    from .registry import get_kind

    result = ProblemResult(
        id=problem["id"], kind=str(problem["kind"]), file=file,
        title=None if problem.get("title") is None else str(problem["title"]),
        notes=None if problem.get("notes") is None else str(problem["notes"]),
        given=problem["given"], find=problem["find"],
        decimals=problem.get("decimals") if problem.get("decimals") is not None
        else (decimals if decimals is not None else DEFAULT_DECIMALS),
        round_intermediate=bool(problem.get("round_intermediate", False)),
        claimed=problem.get("answer"), line=lines.line(prefix),
    )
    where = dict(file=file, problem_id=result.id)
    try:
        try:
            kind = get_kind(result.kind)
        except BadInput as exc:
            raise exc.located(line=lines.line(prefix + ("kind",)))
        given_model = _validate_given(kind, result.given, lines, prefix + ("given",))
        ctx = Context(decimals=result.decimals, round_intermediate=result.round_intermediate,
                      find=result.find, base_dir=base_dir)
        try:
            result.solution = kind.solve(given_model, ctx)
        except BadInput as exc:
            if exc.line is None and exc.field:
                exc.line = lines.line(prefix + ("given",) + tuple(
                    int(part) if part.isdigit() else part for part in exc.field.split(".")))
            raise exc.located(line=lines.line(prefix + ("given",)))
        unknown = [name for name in result.find if name not in result.solution.answers]
        if unknown and result.solution.answers:
            names = list(result.solution.answers)
            raise BadInput(f"`find` names unknown answer {unknown[0]!r}"
                           f"{did_you_mean(unknown[0], names)}; answers: {', '.join(names[:12])}",
                           field="find", line=lines.line(prefix + ("find",)))
    except DlsolveError as exc:
        result.error = exc.located(**where).detached()
        result.solution = None
    except MemoryError:
        result.error = BadInput("the problem ran out of memory: it exceeded its memory budget "
                                "(--memory-limit) or the memory this machine has", line=result.line, **where)
        result.solution = None
    except (RecursionError, OverflowError) as exc:
        result.error = BadInput(f"the problem is too large to solve ({type(exc).__name__})",
                                line=result.line, **where)
        result.solution = None
    except Exception as exc:  # a bug: report it as such, exit 3, no traceback by default
        if os.environ.get("DLSOLVE_DEBUG"):
            raise
        result.error = InternalError(
            f"internal error ({type(exc).__name__}: {exc}). This is a bug in dlsolve; "
            "please report it with the problem file (set DLSOLVE_DEBUG=1 for a traceback)",
            line=result.line, **where)
        result.solution = None
    return result


def solve_within(limits: Limits | None, problem: dict, **where) -> ProblemResult:
    """`solve_problem` under a budget: a single problem given on the command line."""
    (solved,) = run_within(limits, [problem], lambda item: solve_problem(item, **where), _REGISTRIES)
    if isinstance(solved, OverBudget):
        solved = ProblemResult(id=problem["id"], kind=str(problem["kind"]), file=where["file"],
                               error=_budget_error(solved, file=where["file"], problem_id=problem["id"]))
    return solved


def _budget_error(over: OverBudget, **where) -> DlsolveError:
    """A problem over its budget is bad input (exit 2); one whose worker failed is a bug (exit 3)."""
    if over.reason == "error":
        return InternalError(f"internal error ({over.message}). This is a bug in dlsolve; please report "
                             "it with the problem file", **where)
    return BadInput(over.message, **where)


def _validate_given(kind, given: dict, lines: LineMap, prefix: tuple):
    from pydantic import ValidationError

    # `field: null` (or an empty `field:`) means the field is not given: its default applies.
    given = {key: value for key, value in given.items() if value is not None}
    for key, value in given.items():
        path = _non_finite_path(value, (key,))
        if path is not None:  # YAML's .nan and .inf: no exercise computes with them
            field = ".".join(str(part) for part in path)
            raise BadInput(f"{field} is not a finite number (.nan or .inf)", field=field,
                           line=lines.line(prefix + path))
    try:
        return kind.input_model.model_validate(given)
    except ValidationError as exc:
        raise _pydantic_error(exc, lines, prefix, kind.input_model) from None


def _non_finite_path(value, path: tuple) -> tuple | None:
    """The path to the first NaN or infinity inside a given value (nested lists and mappings)."""
    if isinstance(value, float) and not math.isfinite(value):
        return path
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        found = _non_finite_path(item, path + (key,))
        if found is not None:
            return found
    return None


def solve_problem_set(problem_set: ProblemSet, *, only: set[str] | None = None,
                      decimals: int | None = None, limits: Limits | None = None) -> FileResult:
    """Every problem of a file, each on its own; with `limits`, each within its budget (a problem
    over it becomes an error entry and the others are still solved)."""
    result, jobs = _plan(problem_set, only, decimals)
    _run([(result, jobs)], limits)
    return result


@dataclass
class _Job:
    """One problem to solve: where its result goes, and what the solver needs."""

    result: FileResult
    position: int
    problem: dict
    problem_set: ProblemSet
    decimals: int | None

    def solve(self) -> ProblemResult:
        problem = dict(self.problem)
        prefix = problem.pop("_prefix")
        return solve_problem(problem, file=self.problem_set.file, lines=self.problem_set.lines,
                             prefix=prefix, decimals=self.decimals, base_dir=self.problem_set.base_dir)


def _plan(problem_set: ProblemSet, only: set[str] | None, decimals: int | None) -> tuple[FileResult, list[_Job]]:
    """A file's result with its envelope errors in place, and the problems left to solve."""
    result = FileResult(problem_set.file, problem_set.title)
    seen: set[str] = set()
    file_decimals = problem_set.defaults.get("decimals", decimals)
    jobs: list[_Job] = []
    for index, raw in enumerate(problem_set.problems):
        prefix = ("problems", index)
        try:
            problem = _envelope(raw, index, problem_set)
        except BadInput as exc:
            raw_id = raw.get("id") if isinstance(raw, dict) else None
            if only and str(raw_id) not in only:
                continue
            exc.located(file=problem_set.file, problem_id=str(raw_id) if raw_id is not None else f"#{index + 1}")
            result.problems.append(ProblemResult(id=str(raw_id) if raw_id is not None else f"#{index + 1}",
                                                 kind=raw.get("kind") if isinstance(raw, dict) else None,
                                                 file=problem_set.file, error=exc.detached(),
                                                 line=problem_set.lines.line(prefix)))
            continue
        if only and problem["id"] not in only:
            continue
        if problem["id"] in seen:
            error = BadInput(f"duplicate problem id {problem['id']!r}", field="id", file=problem_set.file,
                             line=problem_set.lines.line(prefix + ("id",)), problem_id=problem["id"])
            result.problems.append(ProblemResult(id=problem["id"], kind=str(problem["kind"]),
                                                 file=problem_set.file, error=error))
            continue
        seen.add(problem["id"])
        jobs.append(_Job(result, len(result.problems), dict(problem, _prefix=prefix), problem_set, file_decimals))
        result.problems.append(None)  # filled in by _run, in file order
    return result, jobs


def _run(planned: list[tuple[FileResult, list[_Job]]], limits: Limits | None) -> None:
    """Solve the planned problems of one or more files in one pass of budget workers: a worker
    stays warm (imports, caches) from one file to the next."""
    jobs = [job for _, file_jobs in planned for job in file_jobs]
    if limits is not None and len(jobs) > 1:
        _import_for(jobs)
    for job, solved in zip(jobs, run_within(limits, jobs, _Job.solve, _REGISTRIES)):
        if isinstance(solved, OverBudget):
            solved = _over_budget(job.problem, solved, job.problem_set)
        job.result.problems[job.position] = solved


def _import_for(jobs: list[_Job]) -> None:
    """The libraries the batch's kinds import while solving (numpy, sympy: a second or so),
    imported here before the workers start. A forked worker then shares them instead of
    importing them itself, and this process, which needs them anyway to read the answers back
    and render them, does not import them a second time."""
    import importlib

    from .registry import get_kind

    names: set[str] = set()
    for kind_name in {job.problem.get("kind") for job in jobs}:
        try:
            names.update(get_kind(kind_name).imports)
        except (BadInput, RuntimeError, TypeError):  # the job reports a bad kind itself
            continue
    for name in sorted(names):
        importlib.import_module(name)


def _over_budget(problem: dict, over: OverBudget, problem_set: ProblemSet) -> ProblemResult:
    error = _budget_error(over, file=problem_set.file, problem_id=problem["id"],
                          line=problem_set.lines.line(problem["_prefix"]))
    return ProblemResult(id=problem["id"], kind=str(problem["kind"]), file=problem_set.file,
                         title=None if problem.get("title") is None else str(problem["title"]),
                         claimed=problem.get("answer"), line=error.line, error=error)


def solve_text(text: str, file: str, *, base_dir: Path | None = None, only: set[str] | None = None,
               decimals: int | None = None, limits: Limits | None = None) -> FileResult:
    """Solve a problem set given as YAML text; `file` names it in messages."""
    try:
        problem_set = load_problem_set(text, file, base_dir=base_dir)
    except BadInput as exc:
        return FileResult(file, error=exc.located(file=file).detached())
    return solve_problem_set(problem_set, only=only, decimals=decimals, limits=limits)


def solve_files(paths: list[Path], *, only: set[str] | None = None, decimals: int | None = None,
                limits: Limits | None = None) -> list[FileResult]:
    """Read and solve several problem files (as `solve_file` each), all in one pass of workers."""
    planned = []
    for path in paths:
        if str(path) == STDIN_PATH:
            try:
                text = read_stdin()
                problem_set = load_problem_set(text, STDIN_NAME, base_dir=Path.cwd())
            except BadInput as exc:
                planned.append((FileResult(STDIN_NAME, error=exc.located(file=STDIN_NAME).detached()), []))
                continue
        else:
            try:
                problem_set = load_problem_set(read_text(path), str(path), base_dir=path.parent)
            except BadInput as exc:
                planned.append((FileResult(str(path), error=exc.located(file=short_path(path)).detached()), []))
                continue
        planned.append(_plan(problem_set, only, decimals))
    _run(planned, limits)
    return [result for result, _ in planned]


def solve_file(path: Path, *, only: set[str] | None = None, decimals: int | None = None,
               limits: Limits | None = None) -> FileResult:
    """Read and solve one problem file; a file-level error becomes the result's error."""
    if str(path) == STDIN_PATH:
        try:
            text = read_stdin()
        except BadInput as exc:
            return FileResult(STDIN_NAME, error=exc.detached())
        return solve_text(text, STDIN_NAME, base_dir=Path.cwd(), only=only, decimals=decimals, limits=limits)
    try:
        text = read_text(path)
        problem_set = load_problem_set(text, str(path), base_dir=path.parent)
    except BadInput as exc:
        return FileResult(str(path), error=exc.located(file=short_path(path)).detached())
    return solve_problem_set(problem_set, only=only, decimals=decimals, limits=limits)


def short_path(path) -> str:
    """A path as messages show it: whole, or its two ends when it is absurdly long."""
    text = str(path)
    return text if len(text) <= 200 else f"{text[:80]}…{text[-40:]}"


def collect_paths(paths: list[Path]) -> list[Path]:
    """Files as given; folders expand to every *.yaml / *.yml below them, sorted."""
    files: list[Path] = []
    if sum(str(path) == STDIN_PATH for path in paths) > 1:
        raise BadInput("standard input (-) can be read only once", file="command line")
    for path in paths:
        try:
            is_folder = path.is_dir()
        except OSError as exc:  # a name too long for the file system, say
            raise BadInput(f"cannot read it: {exc.strerror or exc}", file=short_path(path)) from None
        if is_folder:
            found = sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
            if not found:
                raise BadInput("no *.yaml or *.yml files in this folder", file=str(path))
            files.extend(found)
        else:
            files.append(path)
    return files
