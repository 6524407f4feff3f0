"""`dlsolve check`: claimed answers (a problem's `answer:`) against the computed ones (SPEC §5).

A claimed number matches when both round to the same value at the problem's decimals (half
away from zero); integers must be equal; a claimed value matches an unknown when it is among
its solutions; symbolic claims match when the difference simplifies to zero; a kind may
define its own comparison (a gate network passes its truth table). An answer name the
problem does not produce is an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from .errors import did_you_mean
from .numbers import round_half_away
from .render.values import is_sympy, to_plain


@dataclass
class Difference:
    field: str
    index: int | None
    claimed: Any
    computed: Any


@dataclass
class ProblemCheck:
    id: str
    file: str
    verdict: str  # match | mismatch | error
    matches: list[Difference] = field(default_factory=list)
    mismatches: list[Difference] = field(default_factory=list)
    message: str | None = None


def _flatten(value) -> list:
    value = to_plain(value)
    if isinstance(value, list):
        out = []
        for item in value:
            out.extend(_flatten(item))
        return out
    return [value]


def _is_number(value) -> bool:
    return isinstance(value, (int, float, Fraction)) and not isinstance(value, bool)


def numbers_match(claimed, computed, decimals: int) -> bool:
    if isinstance(claimed, bool) or isinstance(computed, bool):
        return claimed == computed
    if isinstance(claimed, int) and isinstance(computed, int):
        return claimed == computed
    return round_half_away(float(claimed), decimals) == round_half_away(float(computed), decimals)


def symbolic_match(claimed: str, computed) -> bool:
    """Both sides through the safe parser; a match when their difference simplifies to 0."""
    import sympy

    from .parse import parse_expression

    try:
        left = parse_expression(str(claimed))
        right = computed if is_sympy(computed) else parse_expression(str(computed))
        return sympy.simplify(left - right) == 0
    except Exception:  # an unparsable claim simply does not match
        return str(claimed).replace(" ", "") == str(computed).replace(" ", "")


def _compare_scalar(claimed, computed, decimals: int) -> bool:
    if _is_number(claimed) and _is_number(computed):
        return numbers_match(claimed, computed, decimals)
    if isinstance(computed, str) or is_sympy(computed):
        if isinstance(claimed, str) and claimed.strip().lower() == str(computed).strip().lower():
            return True
        if isinstance(claimed, (str, int, float)) and not isinstance(claimed, bool):
            if isinstance(computed, str) and not any(c in computed for c in "+-*/()^") \
                    and not computed.replace(".", "").isdigit():
                return str(claimed).strip().lower() == computed.strip().lower()
            return symbolic_match(str(claimed), computed)
    return claimed == computed


def compare_field(name: str, claimed, computed, decimals: int) -> tuple[list[Difference], list[Difference]]:
    """(matches, mismatches) for one answer, element by element in row-major order."""
    claimed, computed = to_plain(claimed), to_plain(computed)
    if isinstance(computed, dict) and isinstance(claimed, dict):
        matches, mismatches = [], []
        for key, value in claimed.items():
            if key not in computed:
                mismatches.append(Difference(f"{name}.{key}", None, value, None))
                continue
            m, mm = compare_field(f"{name}.{key}", value, computed[key], decimals)
            matches += m
            mismatches += mm
        return matches, mismatches
    if (isinstance(computed, list) and isinstance(claimed, list) and len(claimed) == len(computed)
            and all(isinstance(c, dict) for c in claimed) and all(isinstance(c, dict) for c in computed)):
        # Table rows (a network's layers): each claimed row is checked by the keys it gives.
        matches, mismatches = [], []
        for index, (row_claim, row) in enumerate(zip(claimed, computed)):
            m, mm = compare_field(f"{name}[{index + 1}]", row_claim, row, decimals)
            matches += m
            mismatches += mm
        return matches, mismatches
    if isinstance(computed, list) and not isinstance(claimed, list):
        # An unknown with several integer solutions: the claim must be one of them.
        flat = _flatten(computed)
        ok = any(_compare_scalar(claimed, c, decimals) for c in flat)
        diff = Difference(name, None, claimed, computed)
        return ([diff], []) if ok else ([], [diff])
    if isinstance(computed, list) or isinstance(claimed, list):
        left, right = _flatten(claimed), _flatten(computed)
        if len(left) != len(right):
            return [], [Difference(name, None, claimed, computed)]
        matches, mismatches = [], []
        for index, (a, b) in enumerate(zip(left, right)):
            (matches if _compare_scalar(a, b, decimals) else mismatches).append(Difference(name, index, a, b))
        return matches, mismatches
    diff = Difference(name, None, claimed, computed)
    return ([diff], []) if _compare_scalar(claimed, computed, decimals) else ([], [diff])


def check_problem(result) -> ProblemCheck:
    report = ProblemCheck(result.id, result.file, "match")
    if result.error is not None:
        report.verdict, report.message = "error", str(result.error)
        return report
    if not result.claimed:
        report.verdict, report.message = "error", "no claimed `answer:` to check"
        return report
    from .registry import get_kind

    kind = get_kind(result.kind)
    answers = result.solution.answers
    for name, claimed in result.claimed.items():
        if name not in answers:
            report.verdict = "error"
            report.message = (f"`answer` names {name!r}, which this problem does not compute"
                              f"{did_you_mean(name, list(answers))}")
            report.mismatches.append(Difference(name, None, claimed, None))
            continue
        if kind.compare is not None:
            verdict = kind.compare(name, claimed, answers[name], result)
            if verdict is not None:
                diff = Difference(name, None, claimed, answers[name])
                (report.matches if verdict else report.mismatches).append(diff)
                continue
        matches, mismatches = compare_field(name, claimed, answers[name], result.decimals)
        report.matches += matches
        report.mismatches += mismatches
    if report.verdict != "error" and report.mismatches:
        report.verdict = "mismatch"
    return report
