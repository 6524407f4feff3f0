"""The malformed-file corpus (tests/bad_input): exit 2, one clear message naming file, line,
problem and field, no traceback; the other problems of a file are still solved."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

CORPUS = Path(__file__).resolve().parents[1] / "bad_input"
EXPECTED = yaml.safe_load((CORPUS / "expected.yml").read_text())


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "solver.cli", *args], capture_output=True, text=True,
                          timeout=120)


def test_corpus_is_large_enough():
    files = sorted(CORPUS.glob("*.yaml"))
    assert len(files) >= 30
    assert {f.name for f in files} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_malformed_file_is_one_clear_message(name):
    from solver.cli import main

    expected = EXPECTED[name]
    path = CORPUS / name
    with pytest.raises(SystemExit) as exit_info:
        _run_main(main, ["solve", str(path), "--format", "json"])
    assert exit_info.value.code == 2
    stderr = _captured["err"]
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, stderr
    message = lines[0]
    assert str(path) in message
    if expected["line"] is not None:
        assert f"{path}:{expected['line']}:" in message
    if expected["field"] is not None:
        assert f"field {expected['field']}" in message
    assert expected["message"] in message
    document = json.loads(_captured["out"])
    assert any(p["error"] is not None for p in document["problems"])


_captured: dict = {}


def _run_main(main, argv):
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            main(argv)
    finally:
        _captured["out"], _captured["err"] = out.getvalue(), err.getvalue()


def test_other_problems_are_still_solved():
    result = run_cli("solve", str(CORPUS / "mixed_good_and_bad.yml"), "--format", "json")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    problems = {p["id"]: p for p in json.loads(result.stdout)["problems"]}
    assert problems["good-1"]["answers"]["output"] == [4, 5]
    assert problems["good-2"]["answers"]["padding"] == 1
    assert problems["bad"]["error"]["field"] == "kernel"
    assert problems["bad"]["error"]["line"] == 8
    assert problems["bad"]["answers"] == {}


def test_hostile_expression_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    problem = tmp_path / "hostile.yaml"
    problem.write_text(
        "problems:\n  - id: q1\n    kind: conv-shape\n"
        f"    given: {{input: 10, kernel: \"__import__('os').system('touch {marker}')\"}}\n")
    result = run_cli("solve", str(problem))
    assert result.returncode == 2
    assert not marker.exists()
