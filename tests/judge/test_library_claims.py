"""Never a false mismatch on the bundled library: every computed answer of every problem,
claimed back as its JSON value and as the key prints it (text at the problem's decimals),
matches."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from solver.check import check_problem
from solver.pipeline import collect_paths, solve_file
from solver.render import values
from solver.rules import is_rule

ROOT = Path(__file__).parents[2] / "problems"


def _printed(value, decimals):
    """The answer as the text key prints it, or None where that is not a claimable form."""
    plain = values.to_plain(value)
    if isinstance(plain, dict) and not is_rule(plain):
        return None  # table rows and totals: claimed by their JSON values
    if is_rule(plain):
        return plain["listed"][-1]
    if isinstance(plain, list) and any(isinstance(v, (dict, str)) for v in values_flat(plain)):
        return None
    return values.text(value, decimals)


def values_flat(value):
    if isinstance(value, list):
        for item in value:
            yield from values_flat(item)
    else:
        yield value


def test_every_library_answer_matches_when_claimed_back():
    checked = 0
    for path in collect_paths([ROOT]):
        for problem in solve_file(path).problems:
            if problem.error is not None or not problem.solution.answers:
                continue
            if problem.kind in ("gate", "text", "tensor", "rnn-unroll"):
                continue  # compared by their own rules (truth table, prose, any tensor of the shape)
            answers = problem.solution.answers
            as_json = {name: values.jsonable(value) for name, value in answers.items()}
            report = check_problem(dataclasses.replace(problem, claimed=as_json))
            assert report.verdict == "match", (path.name, problem.id, report.mismatches[:2], report.undecided[:2])
            printed = {name: _printed(value, problem.decimals) for name, value in answers.items()}
            printed = {name: text for name, text in printed.items() if text is not None}
            if printed and not problem.round_intermediate:
                report = check_problem(dataclasses.replace(problem, claimed=printed))
                assert report.verdict == "match", (path.name, problem.id, report.mismatches[:2],
                                                   report.undecided[:2])
            checked += 1
    assert checked > 100
