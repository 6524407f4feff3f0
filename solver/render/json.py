"""The JSON document of SPEC §5: full-precision answers, steps, checks and error entries."""

from __future__ import annotations

import json

from .. import __version__
from . import values
from .common import formula_chain


def _step(step, decimals: int) -> dict:
    latex = None
    text = step.text
    if step.formula is not None:
        latex = " = ".join(formula_chain(step.formula, decimals, latex=True))
        text = f"{step.text} " + " = ".join(formula_chain(step.formula, decimals, latex=False))
    elif step.symbolic is not None:
        latex = values.latex(step.symbolic.expr, decimals)
        if step.symbolic.lhs_latex:
            latex = f"{step.symbolic.lhs_latex} = {latex}"
    elif step.value is not None:
        latex = values.latex(step.value, decimals)
    entry = {"text": text.strip(), "latex": latex,
             "value": values.jsonable(step.value) if step.value is not None else None}
    if step.table is not None:
        entry["table"] = {"columns": step.table.columns,
                          "rows": [[values.jsonable(c) for c in row] for row in step.table.rows]}
    if step.diagram is not None:
        entry["mermaid"] = step.diagram.mermaid
    return entry


def problem_entry(result) -> dict:
    entry = {"id": result.id, "kind": result.kind, "file": result.file, "title": result.title}
    if result.error is not None:
        entry.update(answers={}, answers_latex={}, steps=[], checks=[],
                     error={"message": result.error.message, "line": result.error.line,
                            "field": result.error.field})
        return entry
    solution, decimals = result.solution, result.decimals
    answers = result.answers
    entry["answers"] = {k: values.jsonable(v) for k, v in answers.items()}
    entry["answers_latex"] = {k: solution.answer_latex.get(k) or values.latex(v, decimals)
                              for k, v in answers.items()}
    entry["conventions"] = list(solution.conventions)
    entry["decimals"] = decimals
    entry["round_intermediate"] = result.round_intermediate
    entry["steps"] = [_step(s, decimals) for s in solution.steps]
    entry["checks"] = [{"description": c.description, "passed": c.passed, "detail": c.detail,
                        "error": c.error} for c in solution.checks]
    entry["error"] = None
    return entry


def render_json(file_results) -> str:
    problems = []
    for file_result in file_results:
        if file_result.error is not None:
            problems.append({"id": None, "kind": None, "file": file_result.file, "title": None,
                             "answers": {}, "answers_latex": {}, "steps": [], "checks": [],
                             "error": {"message": file_result.error.message,
                                       "line": file_result.error.line,
                                       "field": file_result.error.field}})
        problems.extend(problem_entry(p) for p in file_result.problems)
    return json.dumps({"dlsolve": __version__, "problems": problems}, indent=2, ensure_ascii=False) + "\n"
