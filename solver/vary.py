"""`dlsolve vary`: randomized variants of a problem set, each with its answer key.

A problem's `vary:` block maps `given` fields to a list of choices or `{min, max, step}`, and
may list `require:` conditions. Each variant is drawn from a random generator seeded by
(seed, variant number), so the same seed always gives the same files. A draw that fails to
solve or breaks a condition is drawn again, up to a bounded number of tries; a problem that
never gets a valid draw is reported as bad input.

Conditions are `integer(EXPR)`, `positive(EXPR)` or `nonnegative(EXPR)`, where EXPR goes
through the safe parser and may use the problem's numeric `given` fields and scalar answers:
`integer((input + 2*padding - kernel)/stride)` asks that the windows tile the input exactly.
"""

from __future__ import annotations

import copy
import random
import re
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from .errors import BadInput

MAX_TRIES = 200
MAX_CHOICES = 100_000
_CONDITION = re.compile(r"^\s*(integer|positive|nonnegative)\s*\((.+)\)\s*$", re.DOTALL)


@dataclass
class VariantReport:
    problem_id: str
    variant: int
    tries: int
    values: dict = field(default_factory=dict)


def choices_for(field_name: str, spec: Any, problem_id: str) -> list:
    """The values a `vary` entry allows: a list as given, or min..max by step."""
    if isinstance(spec, list):
        if not spec:
            raise BadInput(f"vary.{field_name} lists no choices", field=f"vary.{field_name}", problem_id=problem_id)
        return spec
    if isinstance(spec, dict) and {"min", "max"} <= set(spec) and set(spec) <= {"min", "max", "step"}:
        low, high, step = spec["min"], spec["max"], spec.get("step", 1)
        numbers = (low, high, step)
        if any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in numbers) or step <= 0 or high < low:
            raise BadInput(f"vary.{field_name} needs numbers with min ≤ max and step > 0",
                           field=f"vary.{field_name}", problem_id=problem_id)
        count = int((Fraction(str(high)) - Fraction(str(low))) / Fraction(str(step))) + 1
        if count > MAX_CHOICES:
            raise BadInput(f"vary.{field_name} allows more than {MAX_CHOICES:,} values",
                           field=f"vary.{field_name}", problem_id=problem_id)
        exact = all(isinstance(v, int) for v in numbers)
        return [low + i * step if exact else round(low + i * step, 10) for i in range(count)]
    raise BadInput(f"vary.{field_name} must be a list of choices or {{min, max, step}}",
                   field=f"vary.{field_name}", problem_id=problem_id)


def _numeric_scope(given: dict, answers: dict) -> dict:
    scope = {}
    for source in (given, answers):
        for name, value in source.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool) and re.match(r"^[A-Za-z]\w*$", name):
                scope[name] = value
    return scope


def condition_holds(condition: str, given: dict, answers: dict, problem_id: str) -> bool:
    import sympy

    from .parse import make_symbol, parse_expression

    match = _CONDITION.match(str(condition))
    if not match:
        raise BadInput(f"unknown condition {condition!r}: use integer(...), positive(...) or nonnegative(...)",
                       field="vary.require", problem_id=problem_id)
    test, text = match.groups()
    scope = _numeric_scope(given, answers)
    names = set(given) | set(answers)
    expr = parse_expression(text, variables=names, field="vary.require")
    if any(str(s) not in scope for s in expr.free_symbols):
        return False  # a name that is not a single number this draw (a list of solutions, say)
    value = expr.subs({make_symbol(k): sympy.nsimplify(v) if isinstance(v, float) else v for k, v in scope.items()})
    if not value.is_number:
        return False
    if test == "integer":
        return bool(value.is_integer)
    return bool(value > 0) if test == "positive" else bool(value >= 0)


def _solve(problem: dict, file: str, decimals, limits=None):
    from .pipeline import solve_within
    from .spec import LineMap

    problem = copy.deepcopy(problem)
    problem["id"] = str(problem.get("id"))
    find = problem.get("find") or []
    problem["find"] = [find] if isinstance(find, str) else find
    return solve_within(limits, problem, file=file, lines=LineMap(), prefix=(), decimals=decimals)


def draw_variant(problem: dict, rng: random.Random, file: str, decimals, limits=None) -> tuple[dict, int]:
    """A valid variant of one problem (its `vary` block applied and removed), and the tries it took."""
    block = dict(problem["vary"])
    requires = block.pop("require", []) or []
    if isinstance(requires, str):
        requires = [requires]
    if not isinstance(requires, list) or not all(isinstance(c, str) for c in requires):
        raise BadInput("`require` is a condition or a list of them, e.g. integer(output)",
                       field="vary.require", problem_id=problem["id"])
    unknown = [name for name in block if name not in (problem.get("given") or {})]
    if unknown:
        raise BadInput(f"vary names {unknown[0]!r}, which is not a `given` field of this problem",
                       field=f"vary.{unknown[0]}", problem_id=problem["id"])
    options = {name: choices_for(name, spec, problem["id"]) for name, spec in block.items()}
    last_reason = "no draw was tried"
    for tries in range(1, MAX_TRIES + 1):
        candidate = {k: v for k, v in problem.items() if k not in ("vary", "answer")}
        candidate["given"] = {**problem["given"], **{name: rng.choice(values) for name, values in options.items()}}
        result = _solve(candidate, file, decimals, limits)
        if result.error is not None:
            last_reason = result.error.message
            continue
        broken = [c for c in requires if not condition_holds(c, candidate["given"], result.answers, problem["id"])]
        if broken:
            last_reason = f"condition {broken[0]} does not hold"
            continue
        return candidate, tries
    raise BadInput(f"no valid variant after {MAX_TRIES} draws (last: {last_reason})", field="vary",
                   problem_id=problem["id"])


def variant_seed(seed: int, number: int) -> str:
    """The seed of variant `number`'s random generator: every problem of that variant draws from it."""
    return f"{seed}:{number}"


def variant_document(raw: dict, number: int, seed: int, file: str, decimals,
                     limits=None) -> tuple[dict, list[VariantReport]]:
    """Variant `number` of a problem file (its raw mapping): every problem with a `vary` block
    drawn anew, the others as written; claimed `answer:` blocks are dropped."""
    rng = random.Random(variant_seed(seed, number))
    problems, reports = [], []
    for problem in raw["problems"]:
        if isinstance(problem, dict) and problem.get("vary"):
            variant, tries = draw_variant(problem, rng, file, decimals, limits)
            reports.append(VariantReport(str(problem.get("id")), number, tries,
                                         {k: variant["given"][k] for k in problem["vary"] if k != "require"}))
            problems.append(variant)
        else:
            problems.append({k: v for k, v in problem.items() if k != "answer"})
    document = {k: v for k, v in raw.items() if k != "problems"}
    if document.get("title"):
        document["title"] = f"{document['title']} (variant {number})"
    document["problems"] = problems
    return document, reports


def make_variants(path: Path, count: int, seed: int, out_dir: Path, limits=None) -> list[VariantReport]:
    """Write DIR/NAME-vK.yaml and its key DIR/NAME-vK-key.md for K = 1..count."""
    import yaml

    from .output import write_atomic
    from .pipeline import solve_file
    from .render.markdown import render_markdown
    from .spec import load_problem_set, parse_yaml, read_text

    file = str(path)
    text = read_text(path)  # read once: the file may change (or be a pipe) between two reads
    problem_set = load_problem_set(text, file, base_dir=path.parent)
    raw, _ = parse_yaml(text, file)
    if not any(isinstance(p, dict) and p.get("vary") for p in problem_set.problems):
        raise BadInput("no problem has a `vary:` block to draw variants from", file=file)
    decimals = problem_set.defaults.get("decimals")
    reports: list[VariantReport] = []
    for number in range(1, count + 1):
        document, drawn = variant_document(raw, number, seed, file, decimals, limits)
        reports.extend(drawn)
        target = out_dir / f"{path.stem}-v{number}.yaml"
        header = f"# Variant {number} of {path.name} (seed {seed}); its key is {target.stem}-key.md\n"
        write_atomic(target, header + yaml.safe_dump(document, sort_keys=False, allow_unicode=True))
        key = solve_file(target, limits=limits)
        write_atomic(out_dir / f"{target.stem}-key.md",
                     render_markdown([key], out_dir / "figures", "figures/"))
        if key.exit_code:
            raise BadInput(f"variant {number} did not solve: {key.problems[0].error if key.problems else key.error}",
                           file=str(target))
    return reports
