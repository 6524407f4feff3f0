"""The catalogue as `dlsolve mistakes` shows it: each mistake with one worked example (the
right value and the value the mistake gives) and the known coincidences."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Entry:
    kind: str
    id: str
    says: str
    given: dict
    field: str
    right: object
    mistaken: object


def example_result(example: dict):
    """The example problem solved as `check` would see it."""
    from ..pipeline import solve_problem
    from ..spec import LineMap

    problem = {"id": f"{example['kind']}-example", "kind": example["kind"], "given": dict(example["given"]),
               "find": [], "answer": {}}
    if "decimals" in example:
        problem["decimals"] = example["decimals"]
    return solve_problem(problem, file="catalogue", lines=LineMap(), prefix=(), decimals=None)


def describe_catalogue(kind: str | None = None) -> tuple[list[Entry], list]:
    from ..check import lookup
    from .diagnose import _mistaken_answers
    from .mistakes import catalogue, coincidences

    entries = []
    for mistake in catalogue():
        for kind_name in mistake.kinds:
            if kind is not None and kind_name != kind:
                continue
            example = {**mistake.example, "kind": kind_name}
            result = example_result(example)
            right = mistaken = None
            if result.error is None:
                right = lookup(result.solution.answers, example["field"])
                try:
                    answers, _ = _mistaken_answers(mistake, result)
                    mistaken = None if answers is None else lookup(answers, example["field"])
                except Exception:
                    mistaken = None
            entries.append(Entry(kind_name, mistake.id, mistake.says, example["given"], example["field"],
                                 right, mistaken))
    found = [c for c in coincidences() if kind is None or c.kind == kind]
    return entries, found
