"""The bundled problem library as tests see it: each problem's YAML beside what `solve` answered.

`dlsolve solve problems/ --format json` is what a user runs; the library tests share one such
run (a session fixture in conftest.py), so the whole library is solved once per session.
"""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
PROBLEMS = REPO / "problems"


@dataclass
class LibraryProblem:
    """One problem of problems/: its YAML as written and the answers `solve` gave it."""

    file: str  # relative to problems/, e.g. "course/004-final-exam.yaml"
    id: str
    kind: str
    raw: dict  # the problem's YAML mapping
    defaults: dict  # the file's `defaults:`
    answers: dict
    error: dict | None

    @property
    def given(self) -> dict:
        return self.raw.get("given") or {}

    @property
    def decimals(self) -> int:
        return self.raw.get("decimals", self.defaults.get("decimals", 4))

    @property
    def round_intermediate(self) -> bool:
        return bool(self.raw.get("round_intermediate", self.defaults.get("round_intermediate", False)))


def run_cli(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "solver.cli", *args], capture_output=True,
                          text=True, timeout=300, cwd=cwd)


def library_files() -> list[Path]:
    return sorted(PROBLEMS.glob("*/*.yaml"))


def problem_key(path: Path, problem_id) -> str:
    return f"{path.relative_to(PROBLEMS)}::{problem_id}"


@functools.lru_cache(maxsize=None)
def _documents() -> tuple:
    """(path, parsed YAML) of every library file, read once per session."""
    return tuple((path, yaml.safe_load(path.read_text(encoding="utf-8"))) for path in library_files())


def library_keys(*kinds: str, where=None) -> list[str]:
    """Keys "FILE::ID" of the library's problems (of the given kinds, and for which `where(raw)`
    holds), read from the YAML files; used to parametrize tests when they are collected."""
    return [problem_key(path, raw["id"]) for path, document in _documents() for raw in document["problems"]
            if (not kinds or raw["kind"] in kinds) and (where is None or where(raw))]


def is_custom_cell(raw: dict) -> bool:
    return (raw.get("given") or {}).get("cell") == "custom"


def load_library(solve_json: str) -> dict[str, LibraryProblem]:
    """{"FILE::ID": LibraryProblem} from the YAML files and the JSON of one `solve` run."""
    solved = {}
    for entry in json.loads(solve_json)["problems"]:
        file = str(Path(entry["file"]).relative_to("problems"))
        solved[f"{file}::{entry['id']}"] = entry
    problems = {}
    for path in library_files():
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        for raw in document["problems"]:
            key = problem_key(path, raw["id"])
            entry = solved[key]
            problems[key] = LibraryProblem(str(path.relative_to(PROBLEMS)), str(raw["id"]),
                                           raw["kind"], raw, document.get("defaults") or {},
                                           entry.get("answers") or {}, entry.get("error"))
    return problems
