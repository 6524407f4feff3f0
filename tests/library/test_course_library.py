"""The bundled library as a whole: it solves, it covers every question of the five course
documents, every problem is pinned by an oracle, the conformance inputs solve, and
`dlsolve check` finds exactly the one real mistake of the exam's printed answer key.

The numbers themselves are pinned per kind in test_library_numeric.py, test_library_networks.py
and test_library_symbolic.py.
"""

from __future__ import annotations

import json
import math
import re

import pytest

from library_support import REPO, library_files, library_keys, run_cli

COURSE = "course/"

# The questions of each course document (/work/shared/seeds 000…004), as the problem ids in
# problems/course begin: every one must be answered by at least one problem.
DOCUMENT_QUESTIONS = {
    "course/000-cnn-rnn-assignment.yaml": ["1", "2", "3", "P1", "P2", "P3", "P4"],
    "course/001-mandatory-assignment.yaml": ["1ab", "1c", "1d", "1e", "1f", "1g", "1h", "2a", "2b", "2c", "2d"],
    "course/002-cnn-rnn-theory.yaml": ["1.1a", "1.1b", "1.1c", "1.1c-i", "1.1c-iv", "1.2a", "1.2b", "1.2b-c",
                                       "1.2d", "2"],
    "course/003-gradient-descent-gelu.yaml": ["1a", "1b", "1c", "2", "3a", "3b", "4a", "4b", "4c", "4d", "P1", "P2"],
    "course/004-final-exam.yaml": ["1a-i", "1a-ii", "1a-iii", "1a-iv", "1a-v", "1a-vi", "1a-vii", "1a-viii",
                                   "1b-i", "1b-ii", "2", "3a", "3b", "3b-iii", "3c-i", "3c-ii", "3c-iii", "3c-iv",
                                   "3c-v", "3c-vi", "4a", "4b-i", "4b-ii", "4b-iii", "4c-i", "4c-ii", "4d"],
}

# Kinds whose every library problem an oracle in this folder recomputes.
KINDS_WITH_ORACLES = {"activation", "attention", "backprop", "batchnorm", "conv-design", "conv-shape",
                      "convolve", "derive", "gate", "layer", "loss", "network", "optimize", "posenc", "rnn",
                      "rnn-unroll", "tensor", "text"}


def test_the_whole_library_solves_with_exit_0(library_solve, library):
    assert library_solve.returncode == 0, library_solve.stderr[-2000:]
    failed = [(key, p.error) for key, p in library.items() if p.error]
    assert not failed, failed
    assert all(p.answers for p in library.values())


def test_one_course_file_per_document():
    course = sorted(str(p.relative_to(REPO / "problems")) for p in library_files() if p.parent.name == "course")
    assert course == sorted(DOCUMENT_QUESTIONS)


@pytest.mark.parametrize("file", sorted(DOCUMENT_QUESTIONS))
def test_every_question_of_the_document_has_a_problem(file):
    ids = [key.split("::", 1)[1] for key in library_keys() if key.startswith(file + "::")]
    missing = [q for q in DOCUMENT_QUESTIONS[file]
               if not any(re.match(rf"{re.escape(q)}(-|$)", problem_id) for problem_id in ids)]
    assert not missing, f"{file}: no problem for questions {missing}"


def test_every_library_problem_has_an_oracle():
    kinds = {key: kind for kind in KINDS_WITH_ORACLES for key in library_keys(kind)}
    unpinned = [key for key in library_keys() if key not in kinds]
    assert not unpinned, f"problems of a kind without an oracle in tests/library: {unpinned}"


def test_the_gated_rnn_derivation_is_pinned_where_the_skip_says():
    """The one derivation test_library_symbolic.py leaves to the kind's own tests."""
    text = (REPO / "tests" / "kinds" / "test_derive.py").read_text(encoding="utf-8")
    assert "def test_course_gated_rnn" in text and "1.2b-c-gated-rnn" in text


def test_written_answers_are_short_and_say_how_to_run_the_programming_tasks(library):
    for key, problem in library.items():
        if problem.kind != "text" or not key.startswith(COURSE):
            continue
        answer = str(problem.given["answer"])
        assert len(answer) < 1200, key
        if re.match(r"P\d|1h|2d|2-notebooks", problem.id):
            assert "dlsolve train " in answer, f"{key} should name the dlsolve train command"


# --- conformance inputs ----------------------------------------------------------------------------


def test_every_conformance_file_solves_with_exit_0(shared_dir):
    """One run over the folder: its exit code is the highest of all files' (SPEC §5)."""
    folder = shared_dir / "conformance"
    result = run_cli("solve", str(folder), "--format", "json")
    assert result.returncode == 0, result.stderr[-1500:]
    problems = json.loads(result.stdout)["problems"]
    solved_files = {p["file"].replace("\\", "/").rsplit("/", 1)[-1] for p in problems}
    assert solved_files == {path.name for path in folder.glob("*.yaml")}
    failed = [(p["file"], p["id"]) for p in problems if p["error"] is not None or not p["answers"]]
    assert not failed, failed


# --- the exam's printed key -------------------------------------------------------------------------


def test_check_finds_exactly_the_key_mistake_in_pe_5_0():
    """The key prints PE(5, 0) = sin 5 as −0.9598; sin 5 = −0.95892. Everything else it claims
    matches, so `check` exits 1 with that single mismatch."""
    result = run_cli("check", "problems/examples/exam-004-key-check.yaml", "--format", "json")
    assert result.returncode == 1, result.stderr[-1500:]
    report = json.loads(result.stdout)["problems"]
    mismatches = [(p["id"], m) for p in report for m in p["mismatches"]]
    assert len(mismatches) == 1, mismatches
    problem_id, mismatch = mismatches[0]
    assert problem_id == "4c-ii-positional-encoding"
    assert mismatch["field"] == "PE" and mismatch["index"] == 0
    assert mismatch["claimed"] == -0.9598
    assert mismatch["computed"] == pytest.approx(math.sin(5), abs=1e-12)
    assert round(math.sin(5), 5) == -0.95892
    others = [p for p in report if p["id"] != problem_id]
    assert others and all(p["verdict"] == "match" and p["matches"] for p in others)


def test_check_of_the_key_prints_the_mismatch_in_its_table():
    result = run_cli("check", "problems/examples/exam-004-key-check.yaml")
    assert result.returncode == 1
    assert "MISMATCH" in result.stdout and "-0.9598" in result.stdout
