"""The command line as a user meets it: SPEC §3 examples, formats, -o, check, kinds, new."""

from __future__ import annotations

import json
import subprocess
import sys

import yaml
from helpers import REPO, SHARED
from hypothesis import given, settings
from hypothesis import strategies as st

from solver.cli import _flag_value


def run(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "solver.cli", *args], capture_output=True,
                          text=True, timeout=300, cwd=cwd)


def test_spec_conv_shape_examples_work_as_written():
    first = run("conv-shape", "--input", "10x11", "--kernel", "3", "--stride", "2", "--format", "json")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["problems"][0]["answers"]["output"] == [4, 5]
    second = run("conv-shape", "--input", "49", "--output", "25", "--kernel", "3", "--stride", "2",
                 "--find", "padding", "--format", "json")
    assert json.loads(second.stdout)["problems"][0]["answers"]["padding"] == 1
    third = run("conv-shape", "--input", "C,H,W", "--kernel", "K", "--padding", "P", "--stride", "S",
                "--dilation", "D", "--filters", "F")
    assert third.returncode == 0
    assert "floor((H + 2*P - D*(K - 1) - 1)/S) + 1" in third.stdout.replace("\n", "")


def modules_loaded_by(argv: list[str], modules: tuple[str, ...]) -> list[str]:
    """Which of `modules` a command imports, run in a fresh interpreter."""
    code = ("import json, sys\nfrom solver.cli import main\n"
            f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
            f"print('LOADED', json.dumps([m for m in {modules!r} if m in sys.modules]))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    line = next((out for out in result.stdout.splitlines() if out.startswith("LOADED ")), None)
    assert line is not None, result.stdout + result.stderr
    return json.loads(line[len("LOADED "):])


def test_numeric_command_imports_no_heavy_library():
    argv = ["conv-shape", "--input", "10x11", "--kernel", "3", "--stride", "2"]
    assert modules_loaded_by(argv, ("sympy", "torch", "matplotlib", "numpy")) == []


def test_numeric_command_does_not_load_yaml_for_plain_numbers_and_shapes():
    argv = ["conv-shape", "--input", "10x11", "--kernel", "3", "--stride", "2", "--padding", "-0"]
    assert modules_loaded_by(argv, ("yaml",)) == []
    assert modules_loaded_by([*argv[:-1], "{1: 1}"], ("yaml",)) == ["yaml"]  # the probe can fail


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="0123456789x-+_.e[], ?", min_size=1, max_size=8)
       | st.sampled_from(["010", "-0", "00x3", "0x10", "1_000", "yes", "10x11", "3x3x3", "?"]))
def test_flag_values_read_as_yaml_would_read_them(text):
    try:
        expected = "?" if text.strip() == "?" else yaml.safe_load(text)
    except (yaml.YAMLError, ValueError):  # PyYAML fails on `0x_` with int()'s own ValueError
        expected = text
    if expected is None:
        expected = text
    value = _flag_value(text)
    assert value == expected and type(value) is type(expected)


def test_solve_writes_markdown_key_atomically(tmp_path):
    key = tmp_path / "key.md"
    result = run("solve", str(REPO / "problems" / "course" / "004-final-exam.yaml"), "-o", str(key))
    assert result.returncode == 0, result.stderr
    text = key.read_text()
    assert text.startswith("# ")
    assert "| Problem | Answer |" in text
    assert r"\left\lfloor" in text  # the formula, in LaTeX
    assert "**kernel**" in text
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_solve_directory_output_one_file_per_input(tmp_path):
    out = tmp_path / "keys"
    result = run("solve", str(REPO / "problems" / "course" / "002-cnn-rnn-theory.yaml"),
                 str(REPO / "problems" / "course" / "004-final-exam.yaml"), "--format", "json", "-o", f"{out}/")
    assert result.returncode == 0, result.stderr
    names = sorted(p.name for p in out.iterdir() if p.is_file())
    assert names == ["002-cnn-rnn-theory.json", "004-final-exam.json"]
    document = json.loads((out / "004-final-exam.json").read_text())
    assert document["dlsolve"]
    problem = document["problems"][0]
    assert set(problem) >= {"id", "kind", "file", "title", "answers", "answers_latex", "steps", "checks", "error"}


def test_only_and_decimals(tmp_path):
    result = run("solve", str(REPO / "problems" / "course" / "004-final-exam.yaml"), "--only", "3a-conv2",
                 "--format", "json")
    ids = [p["id"] for p in json.loads(result.stdout)["problems"]]
    assert ids == ["3a-conv2"]
    missing = run("solve", str(REPO / "problems" / "course" / "004-final-exam.yaml"), "--only", "nope")
    assert missing.returncode == 2 and "Traceback" not in missing.stderr


def test_check_reports_matches_and_mismatches(tmp_path):
    claims = tmp_path / "claims.yaml"
    claims.write_text("""
problems:
  - id: right
    kind: conv-shape
    given: {input: 49, output: 25, kernel: 3, stride: 2, padding: "?"}
    answer: {padding: 1, output: [25]}
  - id: wrong
    kind: conv-shape
    given: {input: 10x11, kernel: 3, stride: 2}
    answer: {output: [4, 4]}
""")
    result = run("check", str(claims), "--format", "json")
    assert result.returncode == 1
    problems = {p["id"]: p for p in json.loads(result.stdout)["problems"]}
    assert problems["right"]["verdict"] == "match"
    assert problems["wrong"]["verdict"] == "mismatch"
    assert problems["wrong"]["mismatches"] == [{"field": "output", "index": 1, "claimed": 4, "computed": 5,
                                               "diagnosis": []}]
    text = run("check", str(claims))
    assert "MISMATCH" in text.stdout and text.returncode == 1


def test_check_unknown_answer_name_is_error(tmp_path):
    claims = tmp_path / "claims.yaml"
    claims.write_text("problems:\n  - id: q\n    kind: conv-shape\n    given: {input: 10, kernel: 3}\n"
                      "    answer: {outptu: [8]}\n")
    result = run("check", str(claims), "--format", "json")
    assert json.loads(result.stdout)["problems"][0]["verdict"] == "error"
    assert result.returncode == 2


def test_kinds_and_new():
    listing = run("kinds")
    assert listing.returncode == 0 and "conv-shape" in listing.stdout and "conv-design" in listing.stdout
    one = run("kinds", "conv-shape")
    assert "padding" in one.stdout and "output" in one.stdout
    template = run("new", "conv-shape")
    import yaml

    document = yaml.safe_load(template.stdout)
    assert document["problems"][0]["kind"] == "conv-shape"
    unknown = run("new", "conv-shap")
    assert unknown.returncode == 2 and "did you mean 'conv-shape'" in unknown.stderr


def test_template_solves(tmp_path):
    for kind in ("conv-shape", "conv-design", "tensor", "text"):
        path = tmp_path / f"{kind}.yaml"
        path.write_text(run("new", kind).stdout)
        result = run("solve", str(path))
        assert result.returncode == 0, (kind, result.stderr)


def test_unknown_flag_suggests_field():
    result = run("conv-shape", "--input", "10", "--kernal", "3")
    assert result.returncode == 2
    assert "did you mean 'kernel'" in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_help_has_examples():
    for args in (["--help"], ["solve", "--help"], ["check", "--help"], ["conv-shape", "--help"]):
        result = run(*args)
        assert result.returncode == 0
        assert "Example" in result.stdout


def test_shared_conformance_of_built_kinds(tmp_path):
    shapes = SHARED / "conformance" / "shapes.yaml"
    if not shapes.exists():
        import pytest

        pytest.skip("../shared/conformance is not beside the repository")
    result = run("solve", str(shapes), "--format", "json")
    assert result.returncode == 0, result.stderr
    answers = {p["id"]: p["answers"] for p in json.loads(result.stdout)["problems"]}
    assert answers["s004-3a-conv-unknowns-params-conv1"]["kernel"] == 7
    assert answers["s004-3a-conv-unknowns-params-conv2"]["padding"] == 1


def test_top_level_help_lists_every_kind_in_whole_clauses():
    from solver.registry import kind_names

    result = run("--help")
    assert result.returncode == 0
    commands = result.stdout.split("Commands:", 1)[1]
    for name in kind_names():
        assert f"  {name} " in commands
    # A summary is cut at its first ';' outside parentheses, never inside one.
    assert commands.count("(") == commands.count(")")


def test_an_output_path_that_cannot_be_written_is_one_message(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    for args in (["conv-shape", "--input", "10", "--kernel", "3", "-o", f"{blocker}/key.md"],
                 ["solve", str(REPO / "problems" / "examples" / "conv-shape-variants.yaml"), "--format", "md",
                  "-o", f"{blocker}/keys/"],
                 ["vary", str(REPO / "problems" / "examples" / "conv-shape-variants.yaml"), "--count", "1",
                  "--seed", "1", "-o", f"{blocker}/variants/"]):
        result = run(*args)
        assert result.returncode == 2, (args, result.stderr)
        assert f"cannot write {blocker}" in result.stderr and "Traceback" not in result.stderr
        assert "internal error" not in result.stderr


def test_kinds_names_field_types_as_a_problem_file_writes_them():
    """`dlsolve kinds KIND` shows a nested model as a mapping and a Literal as its words, never
    a Python path or typing's spelling."""
    from solver.registry import all_kinds
    from solver.render.kinds import field_rows

    types = {row[1] for kind in all_kinds() for row in field_rows(kind)}
    assert not any("solver." in t or "Optional" in t or "Literal" in t or "typing" in t for t in types), types
    assert "mapping | None" in types and "in_out | out_in" in types
