"""A quiz as an IMS QTI 2.1 content package (a .zip): imsmanifest.xml, one assessmentItem file
per question under items/, an assessmentTest (assessment.xml), and the figures under media/.

- numbers: textEntryInteraction with a float response, marked with <equal> and an absolute
  tolerance (exact for integers); a key that needs more than four decimals is asked in units of
  10^-k (tolerance.py: Canvas keeps four decimals of a typed number);
- words: textEntryInteraction marked with <stringMatch caseSensitive="false">;
- true/false: choiceInteraction (inlineChoiceInteraction among other boxes);
- several boxes in one item, one response and one point each (SCORE sums them, MAXSCORE is
  their number);
- a formula or prose answer: extendedTextInteraction, scored by a person, the key in a
  <rubricBlock view="scorer">.

Every item shows the worked solution as modal feedback once answered; math is MathML. The
variants of one problem form a hidden section with <selection select="1"/>, so that a
QTI player gives each student one of them. Identifiers, file names and zip entries are derived
from the questions only and the zip entries carry a fixed date, so the same quiz gives the same
bytes.
"""

from __future__ import annotations

import hashlib
import io
import re
import xml.etree.ElementTree as ET
import zipfile

from .markup import MATHML, plain_text, qti_elements
from .questions import FIGURE_PREFIX, Blank, Question, Quiz
from .tolerance import for_short_field

QTI = "http://www.imsglobal.org/xsd/imsqti_v2p1"
IMSCP = "http://www.imsglobal.org/xsd/imscp_v1p1"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
QTI_SCHEMA = "http://www.imsglobal.org/xsd/qti/qtiv2p1/imsqti_v2p1.xsd"
CP_SCHEMA = "http://www.imsglobal.org/xsd/qti/qtiv2p1/qtiv2p1_imscpv1p2_v1p0.xsd"
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip entry can carry: no build time in the file
TEST_FILE = "assessment.xml"

ET.register_namespace("", QTI)
ET.register_namespace("m", MATHML)
ET.register_namespace("xsi", XSI)


def identifier(text: str, prefix: str) -> str:
    """A QTI identifier (an XML name: a letter first, no slashes) that stays unique and stable:
    the readable part plus a short hash of the original."""
    readable = re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")[:60]
    return f"{prefix}-{readable}-{hashlib.sha256(text.encode()).hexdigest()[:8]}"


def _q(tag: str) -> str:
    return f"{{{QTI}}}{tag}"


def _sub(parent: ET.Element, tag: str, attrs: dict | None = None, text: str | None = None) -> ET.Element:
    element = ET.SubElement(parent, _q(tag), attrs or {})
    if text is not None:
        element.text = text
    return element


def _with_figures(element: ET.Element, media: str) -> ET.Element:
    for image in element.iter(_q("img")):
        if image.get("src", "").startswith(FIGURE_PREFIX):
            image.set("src", f"../{media}/" + image.get("src")[len(FIGURE_PREFIX):])
    return element


def _keyed(question: Question, blank: Blank):
    """The key the item stores for a numeric box: rescaled where four decimals cannot hold it."""
    return for_short_field(blank.key, question.decimals)


def _declare(item: ET.Element, question: Question, responses: list[tuple[str, Blank]]) -> None:
    for response, blank in responses:
        if blank.kind == "number":
            declaration = _sub(item, "responseDeclaration", {"identifier": response, "cardinality": "single",
                                                             "baseType": "float"})
            value = _keyed(question, blank).text
        elif blank.kind == "boolean":
            declaration = _sub(item, "responseDeclaration", {"identifier": response, "cardinality": "single",
                                                             "baseType": "identifier"})
            value = "TRUE" if blank.key else "FALSE"
        else:
            declaration = _sub(item, "responseDeclaration", {"identifier": response, "cardinality": "single",
                                                             "baseType": "string"})
            value = blank.key
        _sub(_sub(declaration, "correctResponse"), "value", text=value)
    if question.style == "essay":
        _sub(item, "responseDeclaration", {"identifier": "RESPONSE", "cardinality": "single", "baseType": "string"})
    boxes = len(responses) or 1
    for name, default in (("SCORE", "0"), ("MAXSCORE", str(boxes))):
        outcome = _sub(item, "outcomeDeclaration", {"identifier": name, "cardinality": "single", "baseType": "float"})
        _sub(_sub(outcome, "defaultValue"), "value", text=default)
    _sub(item, "outcomeDeclaration", {"identifier": "FEEDBACK", "cardinality": "single", "baseType": "identifier"})


def _label(parent: ET.Element, question: Question, blank: Blank) -> None:
    code = _sub(parent, "code", text=blank.label)
    if blank.kind == "number":
        scale = _keyed(question, blank).scale
        if scale:
            code.tail = " × 10"
            _sub(parent, "sup", text=str(scale)).tail = " = "
            return
    code.tail = " = "


def _interaction(parent: ET.Element, response: str, blank: Blank, inline: bool) -> None:
    if blank.kind == "boolean":
        if inline:
            choice = _sub(parent, "inlineChoiceInteraction", {"responseIdentifier": response, "shuffle": "false"})
            _sub(choice, "inlineChoice", {"identifier": "TRUE"}, "true")
            _sub(choice, "inlineChoice", {"identifier": "FALSE"}, "false")
        else:
            choice = _sub(parent, "choiceInteraction", {"responseIdentifier": response, "shuffle": "false",
                                                         "maxChoices": "1"})
            _sub(choice, "simpleChoice", {"identifier": "TRUE"}, "true")
            _sub(choice, "simpleChoice", {"identifier": "FALSE"}, "false")
        return
    _sub(parent, "textEntryInteraction", {"responseIdentifier": response, "expectedLength": "12"})


def _body(item: ET.Element, question: Question, responses: list[tuple[str, Blank]], media: str) -> None:
    body = _sub(item, "itemBody")
    body.append(_with_figures(qti_elements(question.prompt, QTI), media))
    style = question.style
    if style == "essay":
        names = ", ".join([b.label for b in question.blanks] + [a.label for a in question.open_answers])
        _sub(body, "p", text="Write your answer." if question.kind == "text" else f"Give {names}, with your working.")
        _sub(body, "extendedTextInteraction", {"responseIdentifier": "RESPONSE", "expectedLines": "15"})
        rubric = _sub(body, "rubricBlock", {"view": "scorer"})
        rubric.append(_with_figures(qti_elements("**Key**\n\n" + question.key, QTI), media))
        return
    if style == "truefalse":
        _interaction(body, responses[0][0], responses[0][1], inline=False)
        return
    scaled = any(b.kind == "number" and _keyed(question, b).scale for _, b in responses)
    hint = " Where a power of ten is shown, enter the value multiplied by it." if scaled else ""
    if style == "multi":
        _sub(body, "p", text="Give each value." + hint)
        rows = _sub(_sub(body, "table"), "tbody")
        for response, blank in responses:
            row = _sub(rows, "tr")
            _label(_sub(row, "td"), question, blank)
            _interaction(_sub(row, "td"), response, blank, inline=True)
        return
    response, blank = responses[0]
    if blank.kind == "number" and not blank.key.exact:
        _sub(body, "p", text=f"Give the value to {question.decimals} decimals." + hint)
    line = _sub(body, "p")
    _label(line, question, blank)
    _interaction(line, response, blank, inline=True)


def _condition(processing: ET.Element, question: Question, response: str, blank: Blank) -> None:
    test = _sub(_sub(processing, "responseCondition"), "responseIf")
    if blank.kind == "number":
        key = _keyed(question, blank)
        attrs = ({"toleranceMode": "exact"} if key.exact else
                 {"toleranceMode": "absolute", "tolerance": f"{key.tolerance_text} {key.tolerance_text}"})
        compare = _sub(test, "equal", attrs)
    elif blank.kind == "boolean":
        compare = _sub(test, "match")
    else:
        compare = _sub(test, "stringMatch", {"caseSensitive": "false"})
    _sub(compare, "variable", {"identifier": response})
    _sub(compare, "correct", {"identifier": response})
    add = _sub(_sub(test, "setOutcomeValue", {"identifier": "SCORE"}), "sum")
    _sub(add, "variable", {"identifier": "SCORE"})
    _sub(add, "baseValue", {"baseType": "float"}, "1")


def render_item(question: Question, item_id: str, version: str) -> bytes:
    item = ET.Element(_q("assessmentItem"), {
        f"{{{XSI}}}schemaLocation": f"{QTI} {QTI_SCHEMA}", "identifier": item_id,
        "title": _title(question), "adaptive": "false", "timeDependent": "false",
        "toolName": "dlsolve", "toolVersion": version})
    responses = [(f"RESPONSE_{n}", blank) for n, blank in enumerate(question.blanks, 1)]
    if question.style == "essay":
        responses = []
    media = f"media/{item_id}"
    _declare(item, question, responses)
    _body(item, question, responses, media)
    processing = _sub(item, "responseProcessing")
    for response, blank in responses:
        _condition(processing, question, response, blank)
    feedback = _sub(processing, "setOutcomeValue", {"identifier": "FEEDBACK"})
    _sub(feedback, "baseValue", {"baseType": "identifier"}, "SOLUTION")
    modal = _sub(item, "modalFeedback", {"outcomeIdentifier": "FEEDBACK", "showHide": "show",
                                          "identifier": "SOLUTION", "title": "Worked solution"})
    solution = question.solution
    if question.left_out:
        solution += f"\n*Not asked in the quiz: {', '.join(question.left_out)}.*\n"
    modal.append(_with_figures(qti_elements(solution, QTI), media))
    return _xml(item)


def _title(question: Question) -> str:
    title = f"{question.problem_id} — {plain_text(question.title)}"
    return title + (f" (variant {question.variant})" if question.variant is not None else "")


_KEEP_AS_WRITTEN = {_q(tag) for tag in ("div", "p", "table", "pre", "rubricBlock", "modalFeedback", "choiceInteraction")}


def _indent(element: ET.Element, level: int = 0) -> None:
    """ET.indent, except inside question text: whitespace added there would show (in <pre>, or
    between two inline elements)."""
    if element.tag in _KEEP_AS_WRITTEN or not len(element):
        return
    pad = "\n" + "  " * (level + 1)
    if not (element.text or "").strip():
        element.text = pad
    for child in element:
        _indent(child, level + 1)
        if not (child.tail or "").strip():
            child.tail = pad
    element[-1].tail = "\n" + "  " * level


def _xml(root: ET.Element) -> bytes:
    _indent(root)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8", xml_declaration=False) + b"\n"


def render_test(quiz: Quiz, item_ids: dict[str, str], version: str) -> bytes:
    test = ET.Element(_q("assessmentTest"), {
        f"{{{XSI}}}schemaLocation": f"{QTI} {QTI_SCHEMA}", "identifier": identifier(quiz.title, "TEST"),
        "title": plain_text(quiz.title), "toolName": "dlsolve", "toolVersion": version})
    part = _sub(test, "testPart", {"identifier": "PART-1", "navigationMode": "nonlinear",
                                   "submissionMode": "simultaneous"})
    sections: dict[str, ET.Element] = {}
    groups: dict[str, ET.Element] = {}
    for question in quiz.questions:
        if question.file not in sections:
            title = quiz.categories.get(question.file, question.file)
            sections[question.file] = _sub(part, "assessmentSection", {
                "identifier": identifier(question.file, "SECTION"), "title": plain_text(title), "visible": "true"})
        parent = sections[question.file]
        if question.group:
            if question.group not in groups:
                groups[question.group] = _sub(parent, "assessmentSection", {
                    "identifier": identifier(question.group, "VARIANTS"),
                    "title": f"{question.problem_id}: one variant", "visible": "false"})
                _sub(groups[question.group], "selection", {"select": "1"})
            parent = groups[question.group]
        _sub(parent, "assessmentItemRef", {"identifier": item_ids[question.uid],
                                           "href": f"items/{item_ids[question.uid]}.xml"})
    return _xml(test)


def render_manifest(quiz: Quiz, item_ids: dict[str, str], figures: dict[str, list[str]]) -> bytes:
    ET.register_namespace("", IMSCP)
    try:
        manifest = ET.Element(f"{{{IMSCP}}}manifest", {
            f"{{{XSI}}}schemaLocation": f"{IMSCP} {CP_SCHEMA}", "identifier": identifier(quiz.title, "MANIFEST")})
        cp = lambda parent, tag, attrs=None: ET.SubElement(parent, f"{{{IMSCP}}}{tag}", attrs or {})  # noqa: E731
        metadata = cp(manifest, "metadata")
        cp(metadata, "schema").text = "QTIv2.1 Package"
        cp(metadata, "schemaversion").text = "1.0.0"
        cp(manifest, "organizations")
        resources = cp(manifest, "resources")
        test = cp(resources, "resource", {"identifier": identifier(quiz.title, "RES-TEST"),
                                          "type": "imsqti_test_xmlv2p1", "href": TEST_FILE})
        cp(test, "file", {"href": TEST_FILE})
        for question in quiz.questions:
            cp(test, "dependency", {"identifierref": "RES-" + item_ids[question.uid]})
        for question in quiz.questions:
            item_id = item_ids[question.uid]
            resource = cp(resources, "resource", {"identifier": "RES-" + item_id, "type": "imsqti_item_xmlv2p1",
                                                  "href": f"items/{item_id}.xml"})
            cp(resource, "file", {"href": f"items/{item_id}.xml"})
            for path in figures.get(question.uid, []):
                cp(resource, "file", {"href": path})
        return _xml(manifest)
    finally:
        ET.register_namespace("", QTI)


def render_qti(quiz: Quiz, version: str, extra: dict[str, bytes] | None = None) -> bytes:
    """The package as zip bytes; `extra` adds files (the dlsolve manifest) at its top."""
    item_ids = {q.uid: identifier(q.uid, "ITEM") for q in quiz.questions}
    files: dict[str, bytes] = {}
    figures: dict[str, list[str]] = {}
    for question in quiz.questions:
        item_id = item_ids[question.uid]
        files[f"items/{item_id}.xml"] = render_item(question, item_id, version)
        for name, data in question.figures.items():
            path = f"media/{item_id}/{name}"
            if f"{FIGURE_PREFIX}{name}" in question.solution or f"{FIGURE_PREFIX}{name}" in question.prompt:
                files[path] = data
                figures.setdefault(question.uid, []).append(path)
    files[TEST_FILE] = render_test(quiz, item_ids, version)
    files.update(extra or {})
    manifest = render_manifest(quiz, item_ids, figures)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in [("imsmanifest.xml", manifest)] + sorted(files.items()):
            entry = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.create_system = 3  # the same bytes on every system
            entry.external_attr = 0o644 << 16
            archive.writestr(entry, data)
    return buffer.getvalue()
