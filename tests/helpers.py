"""Shared test helpers (importable as `helpers`): solving YAML text and rendering it like the CLI."""

from __future__ import annotations

import io
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def solve_text(text: str, name: str = "example.yaml"):
    from solver.pipeline import solve_problem_set
    from solver.spec import load_problem_set

    return solve_problem_set(load_problem_set(text, name))


def render_text(file_result, width: int = 100) -> str:
    from rich.console import Console

    from solver.render.terminal import render_terminal

    buffer = io.StringIO()
    render_terminal(Console(file=buffer, width=width, color_system=None, highlight=False), [file_result])
    return buffer.getvalue()


def answers_of(text: str) -> dict:
    """{problem id: answers} for a YAML problem set; fails on any error entry."""
    result = solve_text(text)
    errors = [str(p.error) for p in result.problems if p.error]
    assert not errors, errors
    return {p.id: p.answers for p in result.problems}
