"""The command line as a newcomer meets it: the README's set-up puts `dlsolve` on the PATH,
`-` reads standard input, piped output keeps its full width, `--version`, shell completion and
`python -m solver`."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import REPO

EXAM_KEY = REPO / "problems" / "examples" / "exam-004-key-check.yaml"


def run(*args: str, stdin: str | None = None, env: dict | None = None, module: str = "solver.cli"):
    """The command line with its output piped (never a terminal), as in `dlsolve … | cat`."""
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True,
                          input=stdin, timeout=300, env=env)


def test_readme_setup_gives_one_line_that_puts_dlsolve_on_the_path():
    readme = (REPO / "README.md").read_text()
    quick_start = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    assert "make demo" in quick_start and "source .venv/bin/activate" in quick_start
    makefile = (REPO / "Makefile").read_text()
    assert re.search(r"^VENV \?= \.venv$", makefile, re.M)
    demo = makefile.split("\ndemo:", 1)[1].split("\n\n", 1)[0]
    assert "source $(VENV)/bin/activate" in demo  # `make demo` says it too
    # The "Using it" examples call plain `dlsolve`.
    using = readme.split("## Using it", 1)[1]
    assert re.search(r"^dlsolve conv-shape ", using, re.M)


def test_activating_the_environment_puts_dlsolve_on_the_path(tmp_path):
    """What the README's line does, in the environment that runs these tests (`make test`
    runs them from .venv): a shell with a bare PATH finds `dlsolve` after `source …/activate`."""
    scripts = Path(sys.executable).parent
    if not (scripts / "activate").is_file() or not (scripts / "dlsolve").is_file():
        pytest.skip("the tests do not run from a virtual environment with dlsolve installed")
    env = {**os.environ, "PATH": "/usr/bin:/bin"}
    env.pop("VIRTUAL_ENV", None)
    script = f'source "{scripts / "activate"}" && command -v dlsolve && dlsolve --version'
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    found, version = result.stdout.split("\n")[:2]
    assert Path(found) == scripts / "dlsolve"
    assert version.startswith("dlsolve ")


def test_version_is_the_package_version():
    from importlib.metadata import PackageNotFoundError, version

    import solver

    result = run("--version")
    assert result.returncode == 0
    assert result.stdout == f"dlsolve {solver.__version__}\n"
    try:
        assert version("dlsolve") == solver.__version__  # one number: pyproject reads it from solver
    except PackageNotFoundError:
        pass
    solved = run("conv-shape", "--input", "10", "--kernel", "3", "--format", "json")
    assert json.loads(solved.stdout)["dlsolve"] == solver.__version__


def test_python_dash_m_solver_is_the_command_line():
    result = run("conv-shape", "--input", "10x11", "--kernel", "3", "--stride", "2", "--format", "json",
                 module="solver")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["problems"][0]["answers"]["output"] == [4, 5]
    bad = run("conv-shape", "--input", "10", "--kernal", "3", module="solver")
    assert bad.returncode == 2 and "did you mean 'kernel'" in bad.stdout + bad.stderr


def test_shell_completion_offers_commands_and_options():
    env = {**os.environ, "_DLSOLVE_COMPLETE": "complete_bash", "COMP_WORDS": "dlsolve conv", "COMP_CWORD": "1"}
    commands = subprocess.run([sys.executable, "-m", "solver"], capture_output=True, text=True, env=env,
                              timeout=120)
    assert commands.stdout.split() == ["conv-design", "conv-shape", "convolve"]
    env.update(COMP_WORDS="dlsolve solve --for", COMP_CWORD="2")
    options = subprocess.run([sys.executable, "-m", "solver"], capture_output=True, text=True, env=env,
                             timeout=120)
    assert options.stdout.split() == ["--format"]
    script = run("--show-completion", "bash", env={**os.environ, "SHELL": "/bin/bash"})
    assert "_DLSOLVE_COMPLETE" in script.stdout


def test_dash_reads_the_problem_set_from_standard_input():
    text = (REPO / "problems" / "examples" / "conv-shape-variants.yaml").read_text()
    piped = run("solve", "-", "--format", "json", stdin=text)
    from_file = run("solve", str(REPO / "problems" / "examples" / "conv-shape-variants.yaml"), "--format", "json")
    assert piped.returncode == 0, piped.stderr
    piped_problems, file_problems = json.loads(piped.stdout)["problems"], json.loads(from_file.stdout)["problems"]
    assert [p["answers"] for p in piped_problems] == [p["answers"] for p in file_problems]
    assert {p["file"] for p in piped_problems} == {"<stdin>"}

    checked = run("check", "-", "--format", "json", stdin=EXAM_KEY.read_text())
    by_file = run("check", str(EXAM_KEY), "--format", "json")
    assert checked.returncode == by_file.returncode == 1
    assert [(p["id"], p["verdict"]) for p in json.loads(checked.stdout)["problems"]] == \
        [(p["id"], p["verdict"]) for p in json.loads(by_file.stdout)["problems"]]


def test_bad_input_on_standard_input_is_named_stdin(tmp_path):
    result = run("solve", "-", stdin="problems:\n  - id: a\n    kind: conv-shap\n")
    assert result.returncode == 2
    assert "<stdin>:3: problem a: field kind: unknown kind 'conv-shap'" in result.stderr
    empty = run("check", "-", stdin="")
    assert empty.returncode == 2 and "<stdin>" in empty.stderr and "empty" in empty.stderr
    twice = run("solve", "-", "-", stdin="")
    assert twice.returncode == 2 and "only once" in twice.stderr
    keys = run("solve", "-", "-o", f"{tmp_path}/", stdin=EXAM_KEY.read_text())
    assert keys.returncode == 0 and [p.name for p in tmp_path.iterdir()] == ["stdin.txt"]


def test_piped_output_keeps_its_full_width():
    network = run("network", "1x28x28 | conv 6 5 | maxpool 2 | conv 16 5 | maxpool 2 | fc 120 | fc 84 | fc 10")
    assert network.returncode == 0
    for shape in ("1×28×28", "6×24×24", "6×12×12", "16×8×8", "16×4×4"):
        assert shape in network.stdout
    assert not re.search(r"…\s*[│┃]", network.stdout)  # no table cell was cut short
    lines = network.stdout.splitlines()
    assert max(len(line) for line in lines) > 80  # nothing was wrapped to fit 80 columns
    assert max(len(line) for line in lines) < 400  # and nothing is padded out to an unbounded width


def test_check_keeps_long_problem_ids_whole_when_piped():
    long_id = "question-" + "-".join(["seven"] * 12)
    text = (f"problems:\n  - id: {long_id}\n    kind: conv-shape\n    given: {{input: 10x11, kernel: 3}}\n"
            "    answer: {output: [8, 9]}\n")
    result = run("check", "-", stdin=text)
    assert result.returncode == 0, result.stderr
    assert long_id in result.stdout and not re.search(r"…\s*[│┃]", result.stdout)


def test_every_path_cited_in_help_exists():
    from solver.registry import kind_names

    texts = [run(*args).stdout for args in (["--help"], ["solve", "-h"], ["check", "-h"], ["vary", "-h"],
                                            ["kinds", "-h"], ["new", "-h"])]
    cited = {m for text in texts for m in re.findall(r"\bproblems/[\w./-]+\.ya?ml\b", text)}
    assert cited, "the help cites no example file"
    for path in cited:
        assert (REPO / path).is_file(), path
    assert kind_names()  # the registry is readable beside it
    assert shutil.which("bash")


def test_an_unknown_flag_suggests_the_closest_field():
    result = run("posenc", "--positions", "5", "--dims", "0..10", "--d-model", "512")
    assert result.returncode == 2
    assert "unknown field 'positions' (did you mean 'pos'?)" in result.stdout + result.stderr
    typo = run("conv-shape", "--input", "10", "--kernal", "3")
    assert "(did you mean 'kernel'?)" in typo.stdout + typo.stderr
    unrelated = run("conv-shape", "--input", "10", "--kernel", "3", "--zzz", "1")
    assert "did you mean" not in unrelated.stdout + unrelated.stderr


def test_every_field_of_every_kind_has_a_meaning():
    from solver.registry import all_kinds

    for kind in all_kinds():
        for name, field in kind.input_model.model_fields.items():
            assert field.description, f"{kind.name}.{name}"
    listing = run("kinds", "rnn-unroll")
    row = next(line for line in listing.stdout.splitlines() if line.startswith("│ steps"))
    assert "time steps" in row
