"""A quiz as Moodle XML (the format of Moodle's question bank import).

- one number: a `numerical` question, key ± tolerance (tolerance.py);
- several boxes: a `cloze` (embedded answers) question, one {1:NUMERICAL:=key:tolerance} per
  number, {1:SHORTANSWER:=word} per word, {1:MULTICHOICE:=true~false} per true/false;
- one word: `shortanswer` (not case-sensitive); true/false: `truefalse`;
- a formula or prose answer: `essay`, the key as information for graders.

The worked solution is every question's general feedback, math as TeX for the MathJax filter,
figures embedded as files. Each file's questions sit in a category named after the file's
title; the variants of one problem sit in a subcategory of their own, so that a quiz can draw
one of them at random for each student ("random question" from that category).
"""

from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET
from html import escape

from .markup import moodle_html, plain_text
from .questions import FIGURE_PREFIX, Blank, Question, Quiz

PENALTY = "0.3333333"
_CLOZE_SPECIAL = re.compile(r'([}#~/"\\])')


def _text(parent: ET.Element, tag: str, value: str, **attrs) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    ET.SubElement(element, "text").text = value
    return element


def _rich(parent: ET.Element, tag: str, markdown_html: str, figures: dict[str, bytes]) -> None:
    """An HTML field; the figures it links are attached to it as files."""
    body = markdown_html.replace(f'src="{FIGURE_PREFIX}', 'src="@@PLUGINFILE@@/')
    element = _text(parent, tag, body, format="html")
    for name, data in figures.items():
        if f"@@PLUGINFILE@@/{name}" in body:
            file = ET.SubElement(element, "file", {"name": name, "path": "/", "encoding": "base64"})
            file.text = base64.b64encode(data).decode("ascii")


def _simple(parent: ET.Element, tag: str, value: str) -> None:
    ET.SubElement(parent, tag).text = value


def cloze_escape(text: str) -> str:
    """A word inside {…:SHORTANSWER:=…}: Moodle's special characters behind a backslash."""
    return _CLOZE_SPECIAL.sub(r"\\\1", text)


def cloze_field(blank: Blank) -> str:
    if blank.kind == "number":
        return f"{{1:NUMERICAL:={blank.key.text}:{blank.key.tolerance_text}}}"
    if blank.kind == "boolean":
        return "{1:MULTICHOICE:=true~false}" if blank.key else "{1:MULTICHOICE:true~=false}"
    return f"{{1:SHORTANSWER:={cloze_escape(blank.key)}}}"


def _label(text: str) -> str:
    return f"<code>{text}</code>"


def _ask(question: Question) -> str:
    """The line under the data that says what to give."""
    names = [b.label for b in question.blanks] + [a.label for a in question.open_answers]
    shown = ", ".join(_label(n) for n in names)
    if question.kind == "text" and question.style != "truefalse":
        return "<p>Write your answer.</p>" if question.style == "essay" else "<p>Your answer (one word):</p>"
    if question.style == "essay":
        return f"<p>Give {shown}, with your working.</p>"
    if question.style == "multi":
        rows = "".join(f"<tr><td>{_label(b.label)}</td><td>{cloze_field(b)}</td></tr>" for b in question.blanks)
        return f'<p>Give each value:</p><table class="dlsolve-answers">{rows}</table>'
    blank = question.blanks[0]
    if blank.kind == "number" and not blank.key.exact:
        return f"<p>Give {shown} to {question.decimals} decimals.</p>"
    if blank.kind == "boolean":
        return "<p>True or false?</p>"
    return f"<p>Give {shown}.</p>"


def _name(question: Question) -> str:
    name = f"{question.problem_id} — {plain_text(question.title)}"
    return name + (f" (variant {question.variant})" if question.variant is not None else "")


def _feedback(question: Question) -> str:
    text = question.solution
    if question.left_out:
        text += f"\n*Not asked in the quiz: {', '.join(question.left_out)}.*\n"
    return text


def _question(quiz_root: ET.Element, question: Question) -> None:
    element = ET.SubElement(quiz_root, "question", {"type": {
        "numerical": "numerical", "multi": "cloze", "shortanswer": "shortanswer",
        "truefalse": "truefalse", "essay": "essay"}[question.style]})
    _text(element, "name", _name(question))
    _rich(element, "questiontext", moodle_html(question.prompt) + "\n" + _ask(question), question.figures)
    _rich(element, "generalfeedback", moodle_html(_feedback(question)), question.figures)
    if question.style != "multi":  # a cloze question's grade is the sum of its boxes
        _simple(element, "defaultgrade", "1")
    _simple(element, "penalty", "0" if question.style == "essay" else PENALTY)
    _simple(element, "hidden", "0")
    _simple(element, "idnumber", question.uid[:100])
    style = question.style
    if style == "numerical":
        key = question.blanks[0].key
        answer = _text(element, "answer", key.text, fraction="100", format="moodle_auto_format")
        _text(answer, "feedback", "", format="html")
        _simple(answer, "tolerance", key.tolerance_text)
        for tag, value in (("unitgradingtype", "0"), ("unitpenalty", "0.1000000"), ("showunits", "3"),
                           ("unitsleft", "0")):
            _simple(element, tag, value)
    elif style == "shortanswer":
        _simple(element, "usecase", "0")
        answer = _text(element, "answer", question.blanks[0].key, fraction="100", format="moodle_auto_format")
        _text(answer, "feedback", "", format="html")
    elif style == "truefalse":
        correct = question.blanks[0].key
        for word in ("true", "false"):
            answer = _text(element, "answer", word, fraction="100" if (word == "true") == correct else "0",
                           format="moodle_auto_format")
            _text(answer, "feedback", "", format="html")
    elif style == "essay":
        for tag, value in (("responseformat", "editor"), ("responserequired", "1"),
                           ("responsefieldlines", "15"), ("attachments", "0"), ("attachmentsrequired", "0")):
            _simple(element, tag, value)
        _rich(element, "graderinfo", moodle_html(question.key), question.figures)
        _text(element, "responsetemplate", "", format="html")


def category_path(*parts: str) -> str:
    """$course$/top/PART/…; a slash inside a name is doubled, as Moodle reads it."""
    return "/".join(["$course$", "top"] + [plain_text(part).replace("/", "//") for part in parts])


def _category(root: ET.Element, path: str, info: str) -> None:
    element = ET.SubElement(root, "question", {"type": "category"})
    _text(element, "category", path)
    _text(element, "info", info, format="html")


def render_moodle(quiz: Quiz, header: str) -> bytes:
    """The Moodle XML file; `header` becomes a comment at its top (how it was made)."""
    root = ET.Element("quiz")
    root.append(ET.Comment(f" {header.replace('--', '-')} "))  # `--` cannot stand in a comment
    current = None
    for question in quiz.questions:
        title = quiz.categories.get(question.file, question.file)
        path = category_path(title, question.problem_id) if question.group else category_path(title)
        if path != current:
            info = (f"<p>{len([q for q in quiz.questions if q.group == question.group])} variants of problem "
                    f"{question.problem_id}: add a random question from this category.</p>"
                    if question.group else f"<p>Problems of {escape(question.file)}.</p>")
            _category(root, path, info)
            current = path
        _question(root, question)
    ET.indent(root, space="  ")
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8", xml_declaration=False) + b"\n"
