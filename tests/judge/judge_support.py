"""Solving one problem with claimed answers, as `check` sees it."""

from __future__ import annotations

from solver.check import check_problem
from solver.pipeline import solve_problem
from solver.spec import LineMap


def solved(kind: str, given: dict, answer: dict | None = None, **problem):
    entry = {"id": "q", "kind": kind, "given": dict(given), "find": [], "answer": answer or {}, **problem}
    return solve_problem(entry, file="test", lines=LineMap(), prefix=(), decimals=None)


def judged(kind: str, given: dict, answer: dict, **problem):
    return check_problem(solved(kind, given, answer, **problem))
