"""`dlsolve vary`: deterministic for a seed, conditions hold, impossible blocks are reported."""

from __future__ import annotations

import subprocess
import sys

import yaml

from helpers import REPO

EXAMPLE = REPO / "problems" / "examples" / "conv-shape-variants.yaml"


def run(*args):
    return subprocess.run([sys.executable, "-m", "solver.cli", *args], capture_output=True, text=True, timeout=300)


def test_same_seed_same_files(tmp_path):
    first, second, other = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for folder, seed in ((first, "7"), (second, "7"), (other, "8")):
        result = run("vary", str(EXAMPLE), "--count", "3", "--seed", seed, "-o", f"{folder}/")
        assert result.returncode == 0, result.stderr
    names = sorted(p.name for p in first.glob("*.yaml"))
    assert names == [f"conv-shape-variants-v{k}.yaml" for k in (1, 2, 3)]
    assert all((first / n).read_text() == (second / n).read_text() for n in names)
    assert any((first / n).read_text() != (other / n).read_text() for n in names)
    assert sorted(p.name for p in first.glob("*-key.md")) == [f"conv-shape-variants-v{k}-key.md" for k in (1, 2, 3)]


def test_drawn_values_come_from_the_block_and_meet_conditions(tmp_path):
    from solver.pipeline import solve_file

    result = run("vary", str(EXAMPLE), "--count", "4", "--seed", "3", "-o", f"{tmp_path}/")
    assert result.returncode == 0, result.stderr
    for path in sorted(tmp_path.glob("*-v*.yaml")):
        document = yaml.safe_load(path.read_text())
        first, second = document["problems"]
        assert "vary" not in first and "vary" not in second
        assert first["given"]["kernel"] in (3, 5, 7) and 1 <= first["given"]["stride"] <= 3
        assert 20 <= second["given"]["input"] <= 64
        solved = solve_file(path)
        padding = solved.problems[1].answers["padding"]
        assert isinstance(padding, int) and 0 <= padding <= 2  # the `require` condition


def test_impossible_block_is_reported(tmp_path):
    source = tmp_path / "impossible.yaml"
    source.write_text("problems:\n  - id: q\n    kind: conv-shape\n    given: {input: 10, kernel: 3}\n"
                      "    vary:\n      kernel: [30, 40]\n")
    result = run("vary", str(source), "--count", "1", "--seed", "1", "-o", f"{tmp_path}/out/")
    assert result.returncode == 2
    assert "no valid variant after" in result.stderr and "Traceback" not in result.stderr


def test_a_require_that_is_not_a_condition_is_bad_input(tmp_path):
    source = tmp_path / "require.yaml"
    source.write_text("problems:\n  - id: q\n    kind: conv-shape\n    given: {input: 10, kernel: 3}\n"
                      "    vary:\n      kernel: [3, 5]\n      require: 3\n")
    result = run("vary", str(source), "--count", "1", "--seed", "1", "-o", f"{tmp_path}/out/")
    assert result.returncode == 2, result.stderr
    assert "field vary.require" in result.stderr and "Traceback" not in result.stderr
