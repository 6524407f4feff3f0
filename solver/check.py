"""`dlsolve check`: claimed answers (a problem's `answer:`) against the computed ones (SPEC §5, §9).

A claim is read like a given value of the answer's type (solver.judge.forms): shapes and lists
in any notation, numbers with thousands separators, in scientific notation or as fractions,
one-element lists. A claimed number matches when both round to the same value at the
problem's decimals (half away from zero); integers must be equal; a claimed value matches an
unknown when it is among its solutions (a list, or a rule for infinitely many); symbolic
claims match when equal to the computed expression (solver.judge.symbolic), and a claim that
cannot be decided within the budget is said to be undecided, never a silent mismatch; a kind
may define its own comparison (a gate network passes its truth table).

Where later answers are computed from earlier ones, a wrong value that follows from the
claimant's own earlier values is `follows` (solver.judge.follow); every other wrong field is
tried against the catalogue of known mistakes (solver.judge.diagnose). Judging is a pure
function of the solved problem.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from .errors import did_you_mean
from .numbers import round_half_away
from .values import is_sympy, to_plain


@dataclass
class Difference:
    field: str
    index: int | None
    claimed: Any
    computed: Any
    diagnosis: list[dict] = field(default_factory=list)  # {"mistake", "says", "value"}
    reason: str | None = None  # why it could not be decided


@dataclass
class Follow:
    field: str
    index: int | None
    claimed: Any
    sources: list[str]  # the claimant's earlier answers it was computed from
    computed: Any = None  # the right value, for display


@dataclass
class ProblemCheck:
    id: str
    file: str
    verdict: str  # match | mismatch | error
    matches: list[Difference] = field(default_factory=list)
    mismatches: list[Difference] = field(default_factory=list)
    message: str | None = None
    follows: list[Follow] = field(default_factory=list)
    undecided: list[Difference] = field(default_factory=list)
    kind: str | None = None
    order: list[str] = field(default_factory=list)  # the claimed answer names, as written


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
    if isinstance(claimed, Fraction) and isinstance(computed, (int, Fraction)):
        return claimed == computed
    return round_half_away(float(claimed), decimals) == round_half_away(float(computed), decimals)


def symbolic_match(claimed: str, computed, shape=None) -> bool | None:
    """True, False, or None when it cannot be decided within the budget."""
    from .judge.symbolic import expressions_equal

    return expressions_equal(claimed, computed, shape)


class _Undecided(Exception):
    pass


_PROSE = re.compile(r"[A-Za-z]{2,}[,.;:]?\s+[A-Za-z]{2,}")  # two words in a row: an explanation


def _looks_symbolic(computed) -> bool:
    if is_sympy(computed):
        return True
    if not isinstance(computed, str):
        return False
    text = computed.strip()
    return not _PROSE.search(text) and (any(c in text for c in "+-*/()^@") or ".T" in text)


def _compare_scalar(claimed, computed, decimals: int, shape=None) -> bool:
    """One claimed scalar against one computed scalar; _Undecided when it cannot be settled."""
    from .judge.forms import read_number
    from .rules import in_rule, is_rule

    if is_rule(computed):
        number = read_number(claimed)
        if isinstance(number, float) and number.is_integer():
            number = int(number)
        return in_rule(computed, number)
    if _is_number(computed):
        number = read_number(claimed)
        return _is_number(number) and numbers_match(number, computed, decimals)
    if isinstance(computed, bool):
        if isinstance(claimed, str):
            return claimed.strip().lower() in (("true", "yes") if computed else ("false", "no"))
        return claimed is computed
    if isinstance(computed, str) or is_sympy(computed):
        if isinstance(claimed, str) and claimed.strip().lower() == str(computed).strip().lower():
            return True
        if isinstance(claimed, (str, int, float)) and not isinstance(claimed, bool) and _looks_symbolic(computed):
            verdict = symbolic_match(str(claimed), computed, shape)
            if verdict is None:
                raise _Undecided(f"could not decide whether {claimed!s} equals {computed!s} (neither "
                                 "simplification nor evaluation at random points settled it within the "
                                 "time budget); compare them by hand")
            return verdict
        if isinstance(claimed, str):
            return " ".join(claimed.lower().split()) == " ".join(str(computed).lower().split())
    return claimed == computed


@dataclass
class Judgement:
    matches: list[Difference] = field(default_factory=list)
    mismatches: list[Difference] = field(default_factory=list)
    undecided: list[Difference] = field(default_factory=list)

    def __iadd__(self, other: "Judgement") -> "Judgement":
        self.matches += other.matches
        self.mismatches += other.mismatches
        self.undecided += other.undecided
        return self


def _scalar_row(judgement: Judgement, name: str, index, claimed, computed, decimals: int, shape=None) -> None:
    row = Difference(name, index, claimed, computed)
    try:
        (judgement.matches if _compare_scalar(claimed, computed, decimals, shape) else judgement.mismatches).append(row)
    except _Undecided as reason:
        row.reason = str(reason)
        judgement.undecided.append(row)


def is_solution_set(kind: str | None, name: str, computed) -> bool:
    """An unknown's list of every integer solution (conv-shape, conv-design, a network's solved
    field), as opposed to a vector or shape that is one value."""
    if kind is not None and (kind not in ("conv-shape", "conv-design", "network")
                             or name in ("output", "kernel_values", "formula")):
        return False
    return isinstance(computed, list) and all(isinstance(v, int) and not isinstance(v, bool) for v in computed)


def judge_field(name: str, claimed, computed, decimals: int, *, kind: str | None = None,
                shape=None) -> Judgement:
    """Matches, mismatches and undecided rows for one answer, element by element (row-major)."""
    from .judge.forms import list_depth, read_list, read_number
    from .rules import is_rule

    claimed, computed = to_plain(claimed), to_plain(computed)
    judgement = Judgement()
    if isinstance(computed, dict) and not is_rule(computed):
        if not isinstance(claimed, dict):
            judgement.mismatches.append(Difference(name, None, claimed, computed))
            return judgement
        for key, value in claimed.items():
            if key not in computed:
                judgement.mismatches.append(Difference(f"{name}.{key}", None, value, None))
                continue
            judgement += judge_field(f"{name}.{key}", value, computed[key], decimals, kind=kind)
        return judgement
    if (isinstance(computed, list) and isinstance(claimed, list) and len(claimed) == len(computed)
            and all(isinstance(c, dict) for c in claimed) and all(isinstance(c, dict) for c in computed)):
        # Table rows (a network's layers): each claimed row is checked by the keys it gives.
        for index, (row_claim, row) in enumerate(zip(claimed, computed)):
            judgement += judge_field(f"{name}[{index + 1}]", row_claim, row, decimals, kind=kind)
        return judgement
    if is_rule(computed) and is_rule(claimed):  # the rule itself, as JSON writes it
        same = all(claimed.get(key) == computed.get(key) for key in ("min", "max", "except"))
        (judgement.matches if same else judgement.mismatches).append(Difference(name, None, claimed, computed))
        return judgement
    several = is_solution_set(kind, name, computed) and (kind is not None or not isinstance(claimed, list))
    if is_rule(computed) or several:
        # An unknown with several integer solutions: the claim must be one of them (a claimed
        # list of all of them, as computed, matches too).
        listed = read_list(claimed, 1)
        if isinstance(computed, list) and isinstance(listed, list) and len(listed) > 1:
            return judge_field(name, listed, computed, decimals, kind=None)
        members = [computed] if is_rule(computed) else computed
        row = Difference(name, None, claimed, computed)
        (judgement.matches if any(_compare_scalar(claimed, c, decimals) for c in members)
         else judgement.mismatches).append(row)
        return judgement
    if isinstance(computed, list):
        claimed = read_list(claimed, list_depth(computed))
        if not isinstance(claimed, list) and len(_flatten(computed)) == 1:
            claimed = [claimed]
        left, right = _flatten(claimed) if isinstance(claimed, list) else [claimed], _flatten(computed)
        if not isinstance(claimed, list) or len(left) != len(right):
            judgement.mismatches.append(Difference(name, None, claimed, computed))
            return judgement
        for index, (a, b) in enumerate(zip(left, right)):
            _scalar_row(judgement, name, index, a, b, decimals)
        return judgement
    if isinstance(claimed, list) and len(_flatten(claimed)) == 1:
        claimed = _flatten(claimed)[0]  # a one-element list for a scalar
    elif isinstance(claimed, list):
        judgement.mismatches.append(Difference(name, None, claimed, computed))
        return judgement
    if _is_number(computed):
        claimed = read_number(claimed)
    _scalar_row(judgement, name, None, claimed, computed, decimals, shape)
    return judgement


def compare_field(name: str, claimed, computed, decimals: int) -> tuple[list[Difference], list[Difference]]:
    """(matches, mismatches) for one answer; undecided rows count as mismatches here."""
    judgement = judge_field(name, claimed, computed, decimals)
    return judgement.matches, judgement.mismatches + judgement.undecided


def whole_field_matches(claimed, computed, decimals: int, kind: str | None = None, name: str = "") -> bool:
    """Whether a claimed field equals a value in every element (diagnosis, follow-through)."""
    if computed is None:
        return False
    try:
        judgement = judge_field(name, claimed, computed, decimals, kind=kind)
    except Exception:  # a recomputed value of an unexpected form simply does not reproduce
        return False
    return bool(judgement.matches) and not judgement.mismatches and not judgement.undecided


# --- answer names -----------------------------------------------------------------------------


def answer_paths(answers: dict) -> list[str]:
    """Every name a claim may use: the answers, and `totals.params`-like paths into mappings."""
    paths = list(answers)
    for name, value in answers.items():
        if isinstance(value, dict):
            paths += [f"{name}.{key}" for key in value]
    return paths


def lookup(answers: dict, path: str):
    """The value at `totals.params` or `layers[2].output` (rows from 1); KeyError if none."""
    if path in answers:
        return answers[path]
    parts = re.findall(r"[^.\[\]]+|\[\d+\]", path)
    value: Any = answers
    for part in parts:
        if part.startswith("["):
            index = int(part[1:-1]) - 1
            if not isinstance(value, list) or not 0 <= index < len(value):
                raise KeyError(path)
            value = value[index]
        elif isinstance(value, dict) and part in value:
            value = value[part]
        else:
            raise KeyError(path)
    return value


def _unknown_name_message(name: str, answers: dict) -> str:
    paths = answer_paths(answers)
    hint = did_you_mean(name, paths)
    if not hint:  # `params` for `totals.params`: the closest by its last part
        tails = {path.rsplit(".", 1)[-1]: path for path in paths if "." in path}
        close = did_you_mean(name, list(tails))
        if close:
            suggestion = tails[close.split("'")[1]] if "'" in close else None
            hint = f"; did you mean {suggestion!r}?" if suggestion else close
    shown = ", ".join(list(answers)[:12])
    return f"`answer` names {name!r}, which this problem does not compute{hint} (answers: {shown})"


# --- one problem --------------------------------------------------------------------------------


def check_within(limits, results: list) -> list[ProblemCheck]:
    """`check_problem` for each result, each within the per-problem budget (solver.budget): a
    claim is untrusted, and judging one (diagnosis re-solves the problem) takes time."""
    from .budget import OverBudget, run_within
    from .formula import FUNCTIONS

    reports = []
    for result, report in zip(results, run_within(limits, results, check_problem, (FUNCTIONS,))):
        if isinstance(report, OverBudget):
            report = ProblemCheck(result.id, result.file, "error", kind=result.kind,
                                  message=f"judging the claims: {report.message}")
        reports.append(report)
    return reports


def check_problem(result) -> ProblemCheck:
    report = ProblemCheck(result.id, result.file, "match", kind=result.kind)
    if result.error is not None:
        report.verdict, report.message = "error", str(result.error)
        return report
    if not result.claimed:
        report.verdict, report.message = "error", "no claimed `answer:` to check"
        return report
    from .registry import get_kind

    kind = get_kind(result.kind)
    answers = result.solution.answers
    report.order = list(result.claimed)
    judged: dict[str, Judgement] = {}
    for name, claimed in result.claimed.items():
        try:
            computed = lookup(answers, name)
        except KeyError:
            report.verdict = "error"
            report.message = _unknown_name_message(name, answers)
            report.mismatches.append(Difference(name, None, claimed, None))
            continue
        if kind.compare is not None:
            verdict = kind.compare(name, claimed, computed, result)
            if verdict is not None:
                diff = Difference(name, None, claimed, computed)
                (report.matches if verdict else report.mismatches).append(diff)
                continue
        shape = answers.get(f"shape_{name}")
        judgement = judge_field(name, claimed, computed, result.decimals, kind=result.kind, shape=shape)
        judged[name] = judgement
        report.matches += judgement.matches
        report.undecided += judgement.undecided
    _follow_and_diagnose(result, report, judged)
    if report.verdict != "error":
        if report.mismatches:
            report.verdict = "mismatch"
        elif report.undecided:
            report.verdict = "error"
            report.message = report.undecided[0].reason
    return report


def _follow_and_diagnose(result, report: ProblemCheck, judged: dict[str, "Judgement"]) -> None:
    from .judge.diagnose import diagnose
    from .judge.follow import follow_value

    cache: dict = {}  # each mistake recomputed once per problem
    for name, judgement in judged.items():
        if not judgement.mismatches:
            continue
        rows = judgement.mismatches
        follow = follow_value(result, name)
        if follow is not None:
            value, sources = follow
            again = judge_field(name, result.claimed[name], value, result.decimals, kind=result.kind)
            following = {(d.field, d.index) for d in again.matches}
            report.follows += [Follow(d.field, d.index, d.claimed, sources, d.computed) for d in rows
                               if (d.field, d.index) in following]
            rows = [d for d in rows if (d.field, d.index) not in following]
        if not rows:
            continue
        for path in sorted({d.field for d in rows}):
            found = diagnose(result, path, cache)
            for d in rows:
                if d.field == path:
                    d.diagnosis = found
        report.mismatches += rows
