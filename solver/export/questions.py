"""Solved problems as quiz questions: what is asked, the keys, and the worked solution.

This is the data both quiz formats are written from (moodle.py, qti.py print it). A problem
becomes one question; with variants, a problem with a `vary:` block becomes one question per
variant, drawn by `solver.vary` exactly as `dlsolve vary` draws it.

Which answers are asked: those named in `find`, else all of them except those the problem
states itself (a `given` constraint such as conv-shape's `output`; unless nothing else is left,
as for a `text` problem), up to MAX_BLANKS boxes per question (the rest stay in the worked
solution). Each answer is asked element by element:
a vector `u1` as u1[1], u1[2], …, a matrix as grad_W2[row,column], a mapping as totals.params,
counting from 1. An answer that is a formula or prose (a derivation, an explanation) cannot be
marked by a platform, so a problem with one is an essay question with the key for the grader.
"""

from __future__ import annotations

import math
import re
import tempfile
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from ..errors import BadInput
from ..render import values
from .tolerance import NumericKey, numeric_key

MAX_BLANKS = 100
SHORT_ANSWER_CHARS = 40  # a one-word text answer (a choice, yes/no) is marked; longer ones are read
FIGURE_PREFIX = "FIGURE/"  # how the worked solution links its figures; each format rewrites it


@dataclass(frozen=True)
class Blank:
    """One box a platform marks: a number (with its key and tolerance), a word, or true/false."""

    label: str  # u1[2], grad_W2[3,1], totals.params, answer
    answer: str  # the answer name it belongs to
    kind: str  # number | text | boolean
    key: NumericKey | str | bool


@dataclass(frozen=True)
class OpenAnswer:
    """An answer read by a person: a formula (LaTeX) or prose."""

    label: str
    latex: str | None = None
    prose: str | None = None


@dataclass
class Question:
    uid: str  # FILE-STEM/PROBLEM-ID, plus /vK for a variant: stable across builds
    file: str
    problem_id: str
    kind: str
    title: str
    decimals: int
    prompt: str  # Markdown: the question and its data
    blanks: list[Blank] = field(default_factory=list)
    open_answers: list[OpenAnswer] = field(default_factory=list)
    key: str = ""  # Markdown: every answer, for essay graders
    solution: str = ""  # Markdown: the worked solution (general feedback)
    figures: dict[str, bytes] = field(default_factory=dict)  # name -> file, linked as FIGURE/name
    group: str | None = None  # FILE-STEM/PROBLEM-ID for the variants of one problem
    variant: int | None = None
    variant_seed: str | None = None
    drawn: dict = field(default_factory=dict)  # the `given` values this variant drew
    left_out: list[str] = field(default_factory=list)  # answers only in the worked solution

    @property
    def style(self) -> str:
        """numerical | shortanswer | truefalse | multi (several boxes) | essay."""
        if self.open_answers or not self.blanks:
            return "essay"
        if len(self.blanks) > 1:
            return "multi"
        return {"number": "numerical", "text": "shortanswer", "boolean": "truefalse"}[self.blanks[0].kind]


@dataclass
class Quiz:
    title: str
    questions: list[Question]
    sources: list[str]
    variants: int | None = None
    seed: int | None = None
    categories: dict[str, str] = field(default_factory=dict)  # file -> its title


# ---------------------------------------------------------------------------------------------
# From answers to boxes


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, Fraction)) and not isinstance(value, bool)


def _index_label(name: str, index: tuple) -> str:
    return f"{name}[{','.join(str(i + 1) for i in index)}]" if index else name


def _leaves(value: Any, label: str, index: tuple = ()):
    """(label, leaf) for every scalar of a nested list / mapping; mapping keys extend the label."""
    if isinstance(value, list):
        for position, item in enumerate(value):
            if isinstance(item, dict):
                yield from _leaves(item, _index_label(label, index + (position,)), ())
            else:
                yield from _leaves(item, label, index + (position,))
    elif isinstance(value, dict):
        base = _index_label(label, index)
        for key, item in value.items():
            yield from _leaves(item, f"{base}.{key}", ())
    else:
        yield _index_label(label, index), value


def _is_short_text(value: str) -> bool:
    return 0 < len(value.strip()) <= SHORT_ANSWER_CHARS and len(value.split()) == 1


def answer_parts(name: str, value: Any, latex: str | None, decimals: int) -> tuple[list[Blank], list[OpenAnswer]]:
    """One answer as boxes (numbers, short words, true/false) or as an open answer."""
    plain = values.to_plain(value)
    if values.is_sympy(plain) or (isinstance(plain, str) and latex is not None):
        return [], [OpenAnswer(name, latex=latex or values.latex(plain, decimals))]
    if isinstance(plain, str):
        if _is_short_text(plain):
            return [Blank(name, name, "text", plain.strip())], []
        return [], [OpenAnswer(name, prose=plain)]
    leaves = list(_leaves(plain, name))
    in_mapping = isinstance(plain, dict) or (isinstance(plain, list) and any(isinstance(v, dict) for v in plain))
    blanks, symbolic = [], False
    for label, leaf in leaves:
        if isinstance(leaf, bool):
            blanks.append(Blank(label, name, "boolean", leaf))
        elif _is_number(leaf) and math.isfinite(leaf):
            blanks.append(Blank(label, name, "number", numeric_key(leaf, decimals)))
        elif leaf is None or (in_mapping and isinstance(leaf, str)):
            continue  # a table row's name or type, a field that does not apply: not asked
        else:
            symbolic = True  # a shape written with symbols (K × 1), a list of formulas
    if symbolic or not blanks:
        return [], [OpenAnswer(name, latex=latex or values.latex(plain, decimals))]
    return blanks, []


def _answer_key_line(name: str, value: Any, latex: str | None, decimals: int) -> str:
    plain = values.to_plain(value)
    if isinstance(plain, str) and latex is None:
        return f"- **{name}**: {plain}"
    return f"- **{name}** = ${latex or values.latex(plain, decimals)}$"


# ---------------------------------------------------------------------------------------------
# The prompt and the worked solution


def _given_line(name: str, value: Any, decimals: int) -> str:
    plain = values.to_plain(value)
    if _is_number(plain) or (isinstance(plain, list) and values.depth(plain) >= 1
                             and all(_is_number(v) for _, v in _leaves(plain, name))):
        return f"- `{name}` = ${values.latex(plain, decimals)}$"
    shown = values.text(plain, decimals)
    return f"- `{name}` = `` {shown} ``" if "`" in shown else f"- `{name}` = `{shown}`"


def prompt_markdown(result) -> str:
    """The question: its title, then the data (the `question` itself for a `text` problem)."""
    lines = [f"**{result.title or result.id}**", ""]
    if result.kind == "text":
        question = result.given.get("question")
        if question:
            lines += [str(question), ""]
        return "\n".join(lines).rstrip() + "\n"
    lines += ["Given:", ""]
    lines += [_given_line(name, value, result.decimals) for name, value in result.given.items()]
    if result.round_intermediate:
        lines += ["", f"Round every intermediate value to {result.decimals} decimals as soon as it is "
                      "computed, and use it rounded from then on."]
    return "\n".join(lines).rstrip() + "\n"


def solution_markdown(result, figure_dir: Path) -> str:
    """The worked solution as the Markdown key writes it, without its heading and kind line;
    figures are drawn into `figure_dir` and linked as FIGURE/name."""
    from ..render.markdown import MarkdownWriter

    writer = MarkdownWriter(figure_dir, FIGURE_PREFIX)
    writer.problem(result)
    lines = writer.lines
    while lines and (lines[0].startswith("## ") or lines[0].startswith("*Kind:*") or not lines[0].strip()):
        lines = lines[1:]
    return "\n".join(lines).rstrip() + "\n"


# ---------------------------------------------------------------------------------------------
# Problems to questions


_SHAPE = re.compile(r"^\s*\d+(\s*[x×,]\s*\d+)*\s*$")


def _as_stated(value: Any) -> Any:
    """A given value in the form answers take: "6x49x49" -> [6, 49, 49], 25 -> [25]."""
    value = values.to_plain(value)
    if isinstance(value, str) and _SHAPE.match(value):
        value = [int(part) for part in re.split(r"[x×,]", value)]
    return value if isinstance(value, list) else [value]


def _is_given(name: str, value: Any, given: dict) -> bool:
    """An answer the problem states itself (conv-shape's `output` constraint): not asked."""
    if given.get(name) is None or isinstance(value, bool):
        return False
    return _as_stated(given[name]) == _as_stated(value)


def _stem(file: str) -> str:
    return Path(file).stem if file not in ("-", "<stdin>") else "stdin"


def question_from(result, *, variant: int | None = None, variant_seed: str | None = None,
                  drawn: dict | None = None) -> Question:
    """A solved problem (pipeline.ProblemResult) as a question."""
    if result.error is not None:
        raise result.error
    solution = result.solution
    decimals = result.decimals
    group = f"{_stem(result.file)}/{result.id}"
    question = Question(
        uid=group + (f"/v{variant}" if variant is not None else ""), file=result.file,
        problem_id=result.id, kind=result.kind, title=result.title or result.id, decimals=decimals,
        prompt=prompt_markdown(result), group=group if variant is not None else None,
        variant=variant, variant_seed=variant_seed, drawn=dict(drawn or {}),
    )
    asked = {name: value for name, value in result.answers.items()
             if result.find or not _is_given(name, value, result.given)}
    key_lines = []
    for name, value in (asked or result.answers).items():  # a `text` answer echoes its given `answer`
        size = sum(1 for _ in _leaves(values.to_plain(value), name))  # counted before keying a big map
        if not result.find and len(question.blanks) + size > MAX_BLANKS:
            question.left_out.append(name)
            continue
        latex = solution.answer_latex.get(name)
        blanks, open_answers = answer_parts(name, value, latex, decimals)
        question.blanks += blanks
        question.open_answers += open_answers
        key_lines.append(_answer_key_line(name, value, latex, decimals))
    question.key = "\n".join(key_lines) + "\n"
    with tempfile.TemporaryDirectory(prefix="dlsolve-export-") as folder:
        question.solution = solution_markdown(result, Path(folder))
        question.figures = {path.name: path.read_bytes() for path in sorted(Path(folder).iterdir())}
    return question


def _problem_set(path: Path):
    from ..spec import load_problem_set, read_text

    return load_problem_set(read_text(path), str(path), base_dir=path.parent)


def _file_questions(path: Path, variants: int | None, seed: int | None,
                    limits=None) -> tuple[str, list[Question]]:
    from ..pipeline import solve_problem_set
    from ..spec import ProblemSet
    from ..vary import variant_document, variant_seed

    problem_set = _problem_set(path)
    title = problem_set.title or path.stem
    varied = {str(p.get("id")) for p in problem_set.problems if isinstance(p, dict) and p.get("vary")}
    if not variants or not varied:
        return title, [question_from(r) for r in solve_problem_set(problem_set, limits=limits).problems]
    raw = {"title": problem_set.title, "defaults": problem_set.defaults, "problems": problem_set.problems}
    decimals = problem_set.defaults.get("decimals")
    by_problem: dict[str, list[Question]] = {}
    for number in range(1, variants + 1):
        document, reports = variant_document(raw, number, seed, str(path), decimals, limits)
        drawn = {report.problem_id: report.values for report in reports}
        variant_set = ProblemSet(problem_set.file, problem_set.title, problem_set.defaults,
                                 document["problems"], problem_set.lines, problem_set.base_dir)
        # Problems without `vary` are the same in every variant: solved once, with variant 1.
        for result in solve_problem_set(variant_set, only=None if number == 1 else varied,
                                        limits=limits).problems:
            if result.id in varied:
                by_problem.setdefault(result.id, []).append(question_from(
                    result, variant=number, variant_seed=variant_seed(seed, number), drawn=drawn[result.id]))
            else:
                by_problem.setdefault(result.id, []).append(question_from(result))
    return title, [q for problem_questions in by_problem.values() for q in problem_questions]


def build_quiz(paths: list[Path], variants: int | None = None, seed: int | None = None,
               limits=None) -> Quiz:
    """Every problem of the files (folders expand to their YAML files) as questions. A problem
    that does not solve is bad input: a quiz with a missing question is not handed out."""
    from ..pipeline import collect_paths

    if variants is not None and seed is None:
        raise BadInput("--variants needs --seed, so that the same command rebuilds the same quiz",
                       file="command line", field="--seed")
    if seed is not None and variants is None:
        raise BadInput("--seed only applies with --variants N", file="command line", field="--variants")
    files = collect_paths(paths)
    questions: list[Question] = []
    categories: dict[str, str] = {}
    for path in files:
        try:
            title, found = _file_questions(path, variants, seed, limits)
        except BadInput as exc:  # a `vary` block that never gives a valid draw names no file
            raise exc.located(file=str(path)) from None
        categories[str(path)] = title
        questions += found
    if variants and not any(q.variant is not None for q in questions):
        raise BadInput("--variants: no problem has a `vary:` block to draw variants from",
                       file=", ".join(str(p) for p in files), field="vary")
    seen: dict[str, str] = {}
    for question in questions:
        if question.uid in seen:
            raise BadInput(f"two questions would both be called {question.uid!r} ({seen[question.uid]} and "
                           f"{question.file}): rename one file or problem", file=question.file,
                           problem_id=question.problem_id)
        seen[question.uid] = question.file
    title = next(iter(categories.values())) if len(categories) == 1 else "dlsolve quiz"
    return Quiz(title, questions, [str(p) for p in files], variants, seed, categories)
