"""The Python API of SPEC §13: `solver.solve` and `solver.solve_file` give the answers of the
JSON output, results render themselves in Jupyter, bad input raises one exception type with
the command line's message, and `import solver` stays cheap."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
import yaml
from helpers import REPO

import solver

COURSE = REPO / "problems" / "course"
BAD_INPUT = REPO / "tests" / "bad_input"


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "solver", *args], capture_output=True, text=True, timeout=300)


def test_solve_file_gives_the_answers_of_the_json_output():
    """The oracle is the command line's JSON (SPEC §5), for every problem of the course library."""
    printed = json.loads(cli("solve", str(COURSE), "--format", "json").stdout)["problems"]
    result = solver.solve_file(COURSE)
    assert [p.id for p in result] == [p["id"] for p in printed]
    for problem, entry in zip(result, printed):
        assert problem.answers == entry["answers"], problem.id
        assert problem.steps == entry["steps"], problem.id
        assert problem.answers_latex == entry["answers_latex"]
    assert result.answers == {p["id"]: p["answers"] for p in printed}


def _course_problems():
    for path in sorted(COURSE.glob("*.yaml")):
        document = yaml.safe_load(path.read_text())
        for problem in document["problems"]:
            yield path, {**(document.get("defaults") or {}), **problem}


def test_each_problem_alone_as_a_dict_and_as_yaml_text_gives_the_same_answers():
    sets = {path: solver.solve_file(path) for path in sorted(COURSE.glob("*.yaml"))}
    count = 0
    for path, problem in _course_problems():
        expected = sets[path][str(problem["id"])].answers
        alone = {key: value for key, value in problem.items() if key != "answer"}
        assert solver.solve(alone).answers == expected, problem["id"]
        as_text = solver.solve(yaml.safe_dump(alone, sort_keys=False))
        assert isinstance(as_text, solver.SolvedProblem) and as_text.answers == expected
        count += 1
    assert count > 50


def test_a_problem_needs_no_id_and_a_set_may_be_a_dict():
    one = solver.solve({"kind": "conv-shape", "given": {"input": "10x11", "kernel": 3, "stride": 2}})
    assert one.id == "conv-shape" and one.answers == {"output": [4, 5]}
    assert one.steps[0]["value"] == 4 and "latex" in one.steps[0]
    several = solver.solve({"title": "two", "problems": [
        {"id": "a", "kind": "conv-shape", "given": {"input": 10, "kernel": 3}},
        {"id": "b", "kind": "conv-shape", "given": {"input": 49, "output": 25, "kernel": 3, "stride": 2, "padding": "?"},
         "find": "padding"}]})
    assert isinstance(several, solver.SolvedSet) and len(several) == 2
    assert several.answers == {"a": {"output": [8]}, "b": {"padding": 1}}
    with pytest.raises(KeyError, match="did you mean 'a'"):
        several["a2"]


def test_numpy_arrays_are_accepted_as_given_values():
    np = pytest.importorskip("numpy")
    image = np.arange(16).reshape(4, 4)
    result = solver.solve({"kind": "convolve", "given": {"input": image, "filters": np.ones((2, 2))}})
    by_list = solver.solve({"kind": "convolve", "given": {"input": image.tolist(), "filters": [[1, 1], [1, 1]]}})
    assert result.answers == by_list.answers
    (first,) = result.answers.values()
    assert np.allclose(first, [[[image[i:i + 2, j:j + 2].sum() for j in range(3)] for i in range(3)]])


def _cli_errors(path) -> list[str]:
    stderr = cli("solve", str(path), "--format", "json").stderr
    return [line[len("error: "):] for line in stderr.splitlines() if line.startswith("error: ")]


@pytest.mark.parametrize("path", sorted(BAD_INPUT.glob("[0-9]*.yaml"))[::3], ids=lambda p: p.stem)
def test_bad_input_raises_with_the_command_lines_message(path):
    messages = _cli_errors(path)
    assert messages, path
    with pytest.raises(solver.DlsolveError) as caught:
        solver.solve_file(path)
    assert isinstance(caught.value, solver.BadInput)
    assert str(caught.value) == messages[0]


def test_bad_input_in_text_names_the_line():
    with pytest.raises(solver.BadInput) as caught:
        solver.solve("kind: conv-shape\ngiven:\n  input: 10\n  kernal: 3\n")
    assert str(caught.value).startswith("<problem>:4: problem conv-shape: field kernal: unknown field 'kernal' "
                                        "(did you mean 'kernel'?)")
    with pytest.raises(solver.BadInput, match="not int"):
        solver.solve(3)
    with pytest.raises(solver.BadInput, match="unknown kind 'conv-shap'"):
        solver.solve({"kind": "conv-shap", "given": {}})


def test_results_render_as_markdown_and_html_fragments():
    step = solver.solve({"kind": "optimize", "given": {"f": "x*sigmoid(1.702*x)", "x0": -3, "lr": 0.1,
                                                        "steps": 3, "method": "momentum", "beta": 0.9}})
    markdown = step._repr_markdown_()
    assert markdown.startswith("## optimize") and "$$" in markdown and "**Answer**" in markdown
    figures = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", markdown)
    assert figures and all(link.startswith("data:image/") for link in figures)  # no files needed
    page = step._repr_html_()
    assert page.startswith('<div class="dlsolve-key">') and "<html" not in page and "<body" not in page
    assert "<math" in page and "$$" not in page and 'src="data:image/' in page
    styles = re.search(r"<style>(.*?)</style>", page, re.S).group(1)
    selectors = [s.strip() for block in re.findall(r"([^{}]+){", styles) for s in block.split(",")]
    assert selectors and all(s.startswith(".dlsolve-key") for s in selectors)  # the notebook keeps its style
    assert "Answer" in str(step) and "x3" in str(step)
    exam = solver.solve_file(COURSE / "004-final-exam.yaml")
    assert exam._repr_markdown_().startswith("# ") and "<math" in exam._repr_html_()


def test_import_solver_loads_nothing_but_itself():
    code = ("import sys, solver\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('solver', 'yaml', 'pydantic', 'rich', 'typer', 'numpy', 'sympy', 'importlib_metadata')))\n"
            "solver.solve\nprint('solver.api' in sys.modules)")
    lines = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60).stdout.split()
    assert lines == ["['solver']", "True"]


def _run_notebook(path):
    """Execute a notebook's code cells in order, in one namespace, from the notebook's folder, and
    render each cell's last expression as Jupyter would."""
    notebook = json.loads(path.read_text())
    namespace: dict = {}
    shown = []
    here = os.getcwd()
    os.chdir(path.parent)
    try:
        for cell in notebook["cells"]:
            if cell["cell_type"] != "code":
                continue
            import ast

            tree = ast.parse("".join(cell["source"]))
            last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
            exec(compile(tree, str(path), "exec"), namespace)
            if last is not None:
                value = eval(compile(ast.Expression(last.value), str(path), "eval"), namespace)
                shown.append(value._repr_html_() if hasattr(value, "_repr_html_") else repr(value))
    finally:
        os.chdir(here)
    return shown


def test_the_documented_notebook_runs():
    shown = _run_notebook(REPO / "docs" / "python-api.ipynb")
    assert shown[0] == "{'output': [4, 5]}"
    assert any("<math" in output and "dlsolve-key" in output for output in shown)
    assert len(shown) >= 5
