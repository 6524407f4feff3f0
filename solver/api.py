"""The Python API (SPEC §13): solve a problem given as a dict or YAML text, or a problem file,
and get a result that shows its worked solution in Jupyter.

    import solver
    result = solver.solve({"kind": "conv-shape", "given": {"input": "10x11", "kernel": 3, "stride": 2}})
    result.answers          # {"output": [4, 5]}, the JSON answers of `dlsolve … --format json`
    result                  # in Jupyter: the worked steps, math typeset

The results hold the same data as the JSON output; Markdown and HTML come from the same
renderers as the command line's keys. Bad input raises `solver.BadInput` with the message the
command line prints; a bug raises `solver.InternalError`; both are `solver.DlsolveError`.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from .errors import BadInput

PROBLEM_NAME = "<problem>"  # how messages name a problem given as a dict or as text


class SolvedProblem:
    """One worked problem: `.answers`, `.answers_latex`, `.steps`, `.checks` (as in the JSON
    output), and its worked solution as Markdown or HTML (shown by Jupyter)."""

    def __init__(self, result) -> None:
        from .render.json import problem_entry

        self.result = result  # the pipeline's ProblemResult, for renderers
        entry = problem_entry(result)
        self.id: str = entry["id"]
        self.kind: str = entry["kind"]
        self.title: str | None = entry["title"]
        self.answers: dict[str, Any] = entry["answers"]
        self.answers_latex: dict[str, str] = entry["answers_latex"]
        self.steps: list[dict] = entry["steps"]
        self.checks: list[dict] = entry["checks"]
        self.conventions: list[str] = entry.get("conventions", [])

    def __repr__(self) -> str:
        return f"SolvedProblem(id={self.id!r}, kind={self.kind!r}, answers={self.answers!r})"

    def __str__(self) -> str:
        return _terminal_text([_file_of([self.result])])

    def to_markdown(self) -> str:
        """The problem's section of a Markdown key, figures embedded."""
        from .render.markdown import MarkdownWriter

        return _with_figures(lambda folder: _problem_markdown(MarkdownWriter(folder, ""), self.result))

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def _repr_html_(self) -> str:
        from .render.markdown import MarkdownWriter

        return _html_fragment(lambda folder: _problem_markdown(MarkdownWriter(folder, ""), self.result))


class SolvedSet:
    """A solved problem set: its problems in order, also by id (`result["q1"]`); `.answers` and
    `.steps` map each problem id to that problem's."""

    def __init__(self, file_results) -> None:
        self.file_results = file_results
        self.problems = [SolvedProblem(p) for r in file_results for p in r.problems]
        self.title = next((r.title for r in file_results if r.title), None)

    @property
    def answers(self) -> dict[str, dict[str, Any]]:
        return {p.id: p.answers for p in self.problems}

    @property
    def steps(self) -> dict[str, list[dict]]:
        return {p.id: p.steps for p in self.problems}

    def __getitem__(self, problem_id: str) -> SolvedProblem:
        for problem in self.problems:
            if problem.id == problem_id:
                return problem
        from .errors import did_you_mean

        raise KeyError(f"no problem {problem_id!r}{did_you_mean(problem_id, [p.id for p in self.problems])}")

    def __iter__(self):
        return iter(self.problems)

    def __len__(self) -> int:
        return len(self.problems)

    def __repr__(self) -> str:
        return f"SolvedSet(title={self.title!r}, problems={[p.id for p in self.problems]!r})"

    def __str__(self) -> str:
        return _terminal_text(self.file_results)

    def to_markdown(self) -> str:
        """The Markdown answer key, as `dlsolve solve --format md` writes it, figures embedded."""
        from .render.markdown import render_markdown

        return _with_figures(lambda folder: render_markdown(self.file_results, folder, ""))

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def _repr_html_(self) -> str:
        from .render.markdown import render_markdown

        return _html_fragment(lambda folder: render_markdown(self.file_results, folder, ""))


def solve(problem: dict | str, *, decimals: int | None = None) -> SolvedProblem | SolvedSet:
    """Solve one problem (a mapping with `kind` and `given`, and optionally `id`, `find`,
    `decimals`, … as in a problem file) or a whole problem set (a mapping with `problems:`),
    given as a dict or as YAML text. One problem gives a SolvedProblem, a set a SolvedSet."""
    from .pipeline import solve_problem_set

    problem_set, single = _problem_set(problem)
    file_result = solve_problem_set(problem_set, decimals=decimals)
    _raise_first_error([file_result])
    return SolvedProblem(file_result.problems[0]) if single else SolvedSet([file_result])


def solve_file(path: str | Path, *, decimals: int | None = None) -> SolvedSet:
    """Solve a problem file, or every *.yaml file in a folder, as `dlsolve solve PATH` does."""
    from .pipeline import collect_paths
    from .pipeline import solve_file as solve_one_file

    results = [solve_one_file(file, decimals=decimals) for file in collect_paths([Path(path)])]
    _raise_first_error(results)
    return SolvedSet(results)


def _problem_set(problem: dict | str):
    """The problem as a ProblemSet, and whether it was a single problem rather than a set."""
    from .spec import LineMap, ProblemSet, load_problem_set, parse_yaml

    if isinstance(problem, str):
        data, lines = parse_yaml(problem, PROBLEM_NAME)
        if isinstance(data, dict) and "problems" not in data:
            return ProblemSet(PROBLEM_NAME, problems=[_with_id(data)], lines=lines.nested(("problems", 0)),
                              base_dir=Path.cwd()), True
        return load_problem_set(problem, PROBLEM_NAME, base_dir=Path.cwd()), False
    if not isinstance(problem, dict):
        raise BadInput(f"a problem is a dict or YAML text, not {type(problem).__name__}", file=PROBLEM_NAME)
    if "problems" not in problem:
        return ProblemSet(PROBLEM_NAME, problems=[_with_id(problem)], base_dir=Path.cwd()), True
    # A whole set as a dict: read as its YAML would be, so that it is checked the same way.
    import yaml

    from .values import to_plain

    try:
        text = yaml.safe_dump(to_plain(problem), sort_keys=False)
    except yaml.YAMLError as exc:
        raise BadInput(f"the problem set holds a value that is not plain data ({exc})",
                       file=PROBLEM_NAME) from None
    problem_set = load_problem_set(text, PROBLEM_NAME, base_dir=Path.cwd())
    problem_set.lines = LineMap()  # lines of the dumped text would mean nothing to the caller
    return problem_set, False


def _with_id(problem: dict) -> dict:
    """A single problem needs no `id`: it is named after its kind, as on the command line."""
    from .values import to_plain

    problem = to_plain(dict(problem))  # NumPy arrays as nested lists
    if problem.get("id") in (None, "") and isinstance(problem.get("kind"), str):
        problem["id"] = problem["kind"]
    return problem


def _raise_first_error(file_results) -> None:
    for file_result in file_results:
        if file_result.error is not None:
            raise file_result.error
        for problem in file_result.problems:
            if problem.error is not None:
                raise problem.error


def _file_of(results):
    from .pipeline import FileResult

    return FileResult(results[0].file, None, list(results))


def _problem_markdown(writer, result) -> str:
    writer.problem(result)
    return "\n".join(writer.lines).rstrip() + "\n"


def _with_figures(render) -> str:
    """Markdown from `render(folder)`, its figures (drawn into `folder`) embedded as data URIs:
    a notebook shows them without files beside it."""
    import re

    from .render.html import data_uri

    with tempfile.TemporaryDirectory(prefix="dlsolve-figures-") as folder:
        markdown = render(Path(folder))
        return re.sub(r"(!\[[^\]]*\]\()([^)\s]+)\)",
                      lambda m: f"{m.group(1)}{data_uri(Path(folder), m.group(2))})", markdown)


def _html_fragment(render) -> str:
    from .render.html import markdown_to_fragment

    with tempfile.TemporaryDirectory(prefix="dlsolve-figures-") as folder:
        return markdown_to_fragment(render(Path(folder)), Path(folder))


def _terminal_text(file_results) -> str:
    import io

    from .render.console import output_console, trimmed
    from .render.terminal import render_terminal

    buffer = io.StringIO()
    render_terminal(output_console(buffer, width=100), file_results)
    return trimmed(buffer.getvalue())
