"""Grading a class against a key (SPEC §9 `dlsolve grade`).

The key is a problem file; each problem's `answer:` names the answers that are graded (or
`points:` names them), `points:` gives a problem's points (split evenly over its answers) or
each answer's, 1 per answer by default; a top-level `grading: {follows: 0.5}` sets the fraction
a carried-forward (`follows`) answer earns. Each submission is `{student: NAME, answers:
{PROBLEM_ID: {ANSWER: VALUE}}}`; a malformed one is reported and skipped. The key's problems
are solved once and every student is judged by `check` against them.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import BadInput

DEFAULT_FOLLOWS = 0.5


@dataclass
class Asked:
    problem: str
    answer: str
    points: float

    @property
    def column(self) -> str:
        return f"{self.problem}.{self.answer}"


@dataclass
class Mark:
    asked: Asked
    verdict: str  # match | follows | mismatch | missing | undecided
    earned: float
    claimed: object = None
    right: object = None
    diagnosis: list = field(default_factory=list)
    sources: list = field(default_factory=list)  # follows: the student's answers it came from


@dataclass
class StudentGrade:
    student: str
    file: str
    marks: list[Mark]
    reports: dict  # problem id -> ProblemCheck

    @property
    def total(self) -> float:
        return sum(m.earned for m in self.marks)


@dataclass
class Grading:
    key: str
    asked: list[Asked]
    results: dict  # problem id -> ProblemResult of the key
    students: list[StudentGrade]
    skipped: list[str]
    follows: float
    key_warnings: list[str] = field(default_factory=list)  # the key's claims that are not computed


def _load_key(path: Path, decimals):
    """The key solved once, with the points and the graded answers of each problem."""
    from ..pipeline import solve_problem_set
    from ..spec import load_problem_set, parse_yaml, read_text

    text = read_text(path)
    data, _ = parse_yaml(text, str(path))  # the guarded reader: aliases bounded, duplicates refused
    if not isinstance(data, dict) or not isinstance(data.get("problems"), list):
        raise BadInput("the key must be a problem file with a `problems:` list", file=str(path))
    grading = data.get("grading") or {}
    follows = grading.get("follows", DEFAULT_FOLLOWS) if isinstance(grading, dict) else DEFAULT_FOLLOWS
    if isinstance(follows, bool) or not isinstance(follows, (int, float)) or not 0 <= follows <= 1:
        raise BadInput("grading.follows must be a fraction from 0 to 1", file=str(path), field="grading.follows")
    shared = (data.get("defaults") or {}).get("points") if isinstance(data.get("defaults"), dict) else None
    points = {str(raw.get("id")): raw.get("points", shared) for raw in data["problems"] if isinstance(raw, dict)}
    for problem_id, value in points.items():
        if value is not None and not _valid_points(value):
            raise BadInput("`points` must be a number or a mapping of answer names to numbers",
                           file=str(path), problem_id=problem_id, field="points")
    solved = solve_problem_set(load_problem_set(text, str(path), base_dir=path.parent), decimals=decimals)
    results, asked, warnings = {}, [], []
    from ..check import check_problem

    for result in solved.problems:
        if result.error is not None:
            raise BadInput(f"the key's problem {result.id!r} cannot be solved: {result.error.message}",
                           file=str(path))
        results[result.id] = result
        asked += _asked(result, points.get(result.id), path)
        if result.claimed:  # the key's own values, checked: students are graded on the computed ones
            report = check_problem(result)
            warnings += [f"{result.id}: the key claims {d.field} = {d.claimed}, computed {d.computed}"
                         for d in report.mismatches]
    if not asked:
        raise BadInput("the key grades nothing: give each problem an `answer:` block (or `points:` per "
                       "answer) naming the answers to grade", file=str(path))
    return results, asked, float(follows), warnings


def _valid_points(value) -> bool:
    def number(v):
        return not isinstance(v, bool) and isinstance(v, (int, float)) and 0 <= v < 1e9

    return number(value) or (isinstance(value, dict) and bool(value) and all(
        isinstance(k, str) and number(v) for k, v in value.items()))


def _asked(result, points, path: Path) -> list[Asked]:
    if isinstance(points, dict):
        names = list(points)
    elif result.claimed:  # a partial claim of a mapping (`totals: {params: …}`) grades its parts
        names = []
        for name, value in result.claimed.items():
            computed = result.solution.answers.get(name)
            if isinstance(value, dict) and isinstance(computed, dict):
                names += [f"{name}.{key}" for key in value]
            else:
                names.append(name)
    else:
        names = list(result.find)
    if not names:
        return []
    for name in names:
        from ..check import lookup

        try:
            lookup(result.solution.answers, name)
        except KeyError:
            raise BadInput(f"the key grades {name!r}, which problem {result.id!r} does not compute",
                           file=str(path), field="points") from None
    if isinstance(points, dict):
        return [Asked(result.id, n, float(points[n])) for n in names]
    share = 1.0 if points is None else float(points) / len(names)
    return [Asked(result.id, n, share) for n in names]


def _submissions(paths: list[Path]) -> list[Path]:
    found = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
        else:
            found.append(path)
    return found


def _read_submission(path: Path) -> tuple[str, dict]:
    from ..spec import parse_yaml, read_text

    try:  # a submission is untrusted: read with the size, alias and duplicate-key guards
        data, _ = parse_yaml(read_text(path), str(path))
    except BadInput as exc:
        raise ValueError(exc.message if exc.line is None else f"line {exc.line}: {exc.message}") from None
    if not isinstance(data, dict) or set(data) - {"student", "answers"}:
        raise ValueError("a submission is a mapping {student: NAME, answers: {PROBLEM_ID: {ANSWER: VALUE}}}")
    student = data.get("student")
    if not isinstance(student, (str, int)) or isinstance(student, bool) or not str(student).strip():
        raise ValueError("the submission names no `student`")
    answers = data.get("answers")
    if not isinstance(answers, dict) or not all(isinstance(v, dict) for v in answers.values()):
        raise ValueError("`answers` must map each problem id to its answers")
    return str(student).strip(), {str(k): v for k, v in answers.items()}


def grade_submission(student: str, file: str, answers: dict, results: dict, asked: list[Asked],
                     follows: float) -> StudentGrade:
    from ..check import check_problem, lookup

    marks, reports = [], {}
    for problem_id, result in results.items():
        wanted = [a for a in asked if a.problem == problem_id]
        claims = {}
        for a in wanted:
            try:
                claims[a.answer] = lookup(answers.get(problem_id) or {}, a.answer)
            except KeyError:
                pass
        report = check_problem(dataclasses.replace(result, claimed=claims)) if claims else None
        reports[problem_id] = report
        for a in wanted:
            right = lookup(result.solution.answers, a.answer)
            if a.answer not in claims:
                marks.append(Mark(a, "missing", 0.0, None, right))
                continue
            mine = lambda rows: [r for r in rows if r.field == a.answer or r.field.startswith(a.answer + ".")  # noqa: E731
                                 or r.field.startswith(a.answer + "[")]
            wrong, carried, open_ = mine(report.mismatches), mine(report.follows), mine(report.undecided)
            diagnosis = next((r.diagnosis for r in wrong if r.diagnosis), [])
            if wrong:
                marks.append(Mark(a, "mismatch", 0.0, claims[a.answer], right, diagnosis))
            elif open_:
                marks.append(Mark(a, "undecided", 0.0, claims[a.answer], right))
            elif carried:
                marks.append(Mark(a, "follows", a.points * follows, claims[a.answer], right,
                                  sources=sorted({s for row in carried for s in row.sources})))
            else:
                marks.append(Mark(a, "match", a.points, claims[a.answer], right))
    return StudentGrade(student, file, marks, reports)


def grade_class(key: Path, submissions: list[Path], *, decimals=None, limits=None) -> Grading:
    """The key solved once, then every submission graded on its own, each within `limits`
    (solver.budget): a submission that is malformed or over its budget is reported and skipped."""
    from ..budget import OverBudget, run_within
    from ..formula import FUNCTIONS

    results, asked, follows, warnings = _load_key(key, decimals)

    def grade_one(path: Path):
        try:
            student, answers = _read_submission(path)
        except ValueError as exc:
            return str(exc)
        return grade_submission(student, str(path), answers, results, asked, follows)

    students, skipped, seen = [], [], set()
    paths = _submissions(submissions)
    for path, outcome in zip(paths, run_within(limits, paths, grade_one, (FUNCTIONS,))):
        if isinstance(outcome, OverBudget):
            skipped.append(f"{path}: {outcome.message}")
        elif isinstance(outcome, str):
            skipped.append(f"{path}: {outcome}")
        elif outcome.student in seen:
            skipped.append(f"{path}: a second submission of {outcome.student!r}")
        else:
            seen.add(outcome.student)
            students.append(outcome)
    return Grading(str(key), asked, results, students, skipped, follows, warnings)


# --- writing ------------------------------------------------------------------------------------


def _points(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}".rstrip("0").rstrip(".")


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-")[:60] or "student"


def grades_csv(grading: Grading) -> str:
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student"] + [a.column for a in grading.asked] + ["total"])
    for student in grading.students:
        writer.writerow([student.student] + [_points(m.earned) for m in student.marks] + [_points(student.total)])
    writer.writerow(["(maximum)"] + [_points(a.points) for a in grading.asked]
                    + [_points(sum(a.points for a in grading.asked))])
    return buffer.getvalue()


_VERDICT_TEXT = {"match": "right", "follows": "follows from your earlier answers (error carried forward)",
                 "mismatch": "wrong", "missing": "not answered",
                 "undecided": "could not be decided automatically; your teacher will look at it"}


def feedback_markdown(student: StudentGrade, grading: Grading) -> str:
    from ..render import values
    from ..render.markdown import MarkdownWriter

    maximum = sum(a.points for a in grading.asked)
    lines = [f"# Feedback for {student.student}", "",
             f"**Total: {_points(student.total)} of {_points(maximum)} points**", ""]
    for problem_id, result in grading.results.items():
        marks = [m for m in student.marks if m.asked.problem == problem_id]
        if not marks:
            continue
        lines += [f"## {problem_id}" + (f" — {result.title}" if result.title else ""), "",
                  "| answer | yours | right | verdict | points |", "|---|---|---|---|---|"]
        for m in marks:
            yours = "—" if m.claimed is None else values.text(m.claimed, result.decimals)
            lines.append(f"| {m.asked.answer} | {yours.replace('|', '/')} | "
                         f"{values.text(m.right, result.decimals).replace('|', '/')} | {_VERDICT_TEXT[m.verdict]} | "
                         f"{_points(m.earned)} / {_points(m.asked.points)} |")
        lines.append("")
        for m in marks:
            if m.diagnosis:
                from ..render.check import diagnosis_sentence

                lines += [f"*{m.asked.answer}:* {diagnosis_sentence(m.diagnosis)}", ""]
            elif m.sources:
                lines += [f"*{m.asked.answer}:* right when computed from your own {', '.join(m.sources)}, "
                          "which was wrong: the error was carried forward.", ""]
        if any(m.verdict in ("mismatch", "missing", "undecided") for m in marks):
            writer = MarkdownWriter(None)
            writer.problem(result)
            worked = [line.replace("### ", "#### ", 1) if line.startswith("### ") else line
                      for line in writer.lines]
            if worked and worked[0].startswith("## "):  # the problem's own heading is above
                worked = worked[1:]
            lines += ["<details><summary>The worked solution</summary>", ""] + worked + ["", "</details>", ""]
    return "\n".join(lines).rstrip() + "\n"


def summary_markdown(grading: Grading) -> str:
    count = len(grading.students)
    lines = [f"# Grading summary: {Path(grading.key).name}", "",
             f"{count} student{'s' if count != 1 else ''} graded"
             + (f", {len(grading.skipped)} submission(s) skipped" if grading.skipped else "") + ".", ""]
    for problem_id in grading.results:
        asked = [a for a in grading.asked if a.problem == problem_id]
        lines += [f"## {problem_id}", "", "| answer | right | follows | wrong | missing | average |",
                  "|---|---|---|---|---|---|"]
        mistakes: Counter = Counter()
        for a in asked:
            marks = [m for s in grading.students for m in s.marks if m.asked == a]  # equal, not identical: a mark may come back from a budget worker
            tally = Counter(m.verdict for m in marks)
            average = sum(m.earned for m in marks) / len(marks) if marks else 0.0
            lines.append(f"| {a.answer} | {tally['match']} | {tally['follows']} | {tally['mismatch']} | "
                         f"{tally['missing']} | {_points(round(average, 2))} / {_points(a.points)} |")
            for m in marks:
                for d in m.diagnosis:
                    mistakes[(a.answer, d["mistake"], d["says"])] += 1
        lines.append("")
        if mistakes:
            lines += ["Most common mistakes:", ""]
            for (answer, mistake, says), n in mistakes.most_common(5):
                lines.append(f"- **{mistake}** ({n}× in {answer}): {says}")
            lines.append("")
    if grading.key_warnings:
        lines += ["## The key's own values that differ from the computed ones", "",
                  "Students were graded against the computed values.", ""]
        lines += [f"- {w}" for w in grading.key_warnings] + [""]
    if grading.skipped:
        lines += ["## Skipped submissions", ""] + [f"- {s}" for s in grading.skipped] + [""]
    return "\n".join(lines).rstrip() + "\n"


def write_grading(grading: Grading, out: Path) -> list[Path]:
    from ..output import write_atomic

    out.mkdir(parents=True, exist_ok=True)
    (out / "feedback").mkdir(exist_ok=True)
    written = [out / "grades.csv", out / "summary.md"]
    write_atomic(written[0], grades_csv(grading))
    write_atomic(written[1], summary_markdown(grading))
    used: set[str] = set()
    for student in grading.students:
        name = _slug(student.student)
        while name in used:
            name += "_"
        used.add(name)
        path = out / "feedback" / f"{name}.md"
        write_atomic(path, feedback_markdown(student, grading))
        written.append(path)
    return written



