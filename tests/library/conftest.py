"""Session fixtures of the library tests: one `dlsolve solve problems/` run shared by all."""

from __future__ import annotations

import subprocess

import pytest

from library_support import LibraryProblem, load_library, run_cli


@pytest.fixture(scope="session")
def library_solve() -> subprocess.CompletedProcess:
    return run_cli("solve", "problems/", "--format", "json")


@pytest.fixture(scope="session")
def library(library_solve) -> dict[str, LibraryProblem]:
    assert library_solve.returncode == 0, library_solve.stderr[-2000:]
    return load_library(library_solve.stdout)
