"""Every formula of the bundled library's keys, converted once per shape (solver/render/mathml.py),
is exactly latex2mathml's output for it — the HTML key is the converter's own, only faster."""

from __future__ import annotations

import json

from latex2mathml.converter import convert as reference

from solver.render import mathml
from solver.render.html import _fenced_matrices


def _formulas(library_solve) -> list[str]:
    found = set()
    for problem in json.loads(library_solve.stdout)["problems"]:
        found.update(step["latex"] for step in problem.get("steps") or [] if step.get("latex"))
        found.update(value for value in (problem.get("answers_latex") or {}).values() if isinstance(value, str))
    return sorted(found)


def test_every_formula_of_the_library_converts_as_the_converter_does(library_solve):
    formulas = _formulas(library_solve)
    assert len(formulas) > 2000  # the library's keys: thousands of formulas, a fraction of the shapes
    mathml._TEMPLATES.clear()
    for latex in formulas:
        latex = _fenced_matrices(latex)
        assert mathml.convert(latex, "inline") == reference(latex, display="inline"), latex
    parts = sum(len(mathml._parts(_fenced_matrices(latex))[0]) for latex in formulas)
    assert len(mathml._TEMPLATES) < parts / 4  # the point of it: far fewer conversions than parts
