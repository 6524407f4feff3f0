"""QTI 2.1 packages: every element the IMS schemas require is there (no XSD of QTI 2.1 is
published in a package on PyPI, so the structure is checked here element by element), the
items score their keys as the problem's decimals say, and the zip rebuilds byte for byte."""

from __future__ import annotations

import io
import json
import re
import zipfile
import xml.etree.ElementTree as ET
from decimal import Decimal
from pathlib import Path


from export_helpers import EXAM, VARIED, run_export
from test_moodle import expected_boxes, key_of

QTI = "{http://www.imsglobal.org/xsd/imsqti_v2p1}"
CP = "{http://www.imsglobal.org/xsd/imscp_v1p1}"
MATHML = "{http://www.w3.org/1998/Math/MathML}"
XSI = "{http://www.w3.org/2001/XMLSchema-instance}"
NCNAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")

# The content model of QTI 2.1 (imsqti_v2p1.xsd): the XHTML subset and the interactions used.
BODY_ELEMENTS = {"div", "p", "span", "ul", "ol", "li", "table", "thead", "tbody", "tr", "td", "th", "pre", "code",
                 "em", "strong", "b", "i", "h1", "h2", "h3", "h4", "h5", "h6", "br", "hr", "blockquote", "sub",
                 "sup", "img", "a", "textEntryInteraction", "extendedTextInteraction", "choiceInteraction",
                 "simpleChoice", "inlineChoiceInteraction", "inlineChoice", "rubricBlock"}
# assessmentItem's children, in the order its XSD sequence requires
ITEM_ORDER = ["responseDeclaration", "outcomeDeclaration", "templateDeclaration", "templateProcessing",
              "stylesheet", "itemBody", "responseProcessing", "modalFeedback"]


def package(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        return {info.filename: archive.read(info) for info in archive.infolist()}


def local(tag: str) -> str:
    return tag.split("}")[-1]


def check_manifest(files: dict[str, bytes]) -> list[str]:
    """imsmanifest.xml: the IMS CP elements QTI 2.1 packaging requires; returns the item files."""
    manifest = ET.fromstring(files["imsmanifest.xml"])
    assert manifest.tag == f"{CP}manifest" and NCNAME.match(manifest.get("identifier"))
    assert manifest.findtext(f"{CP}metadata/{CP}schema") == "QTIv2.1 Package"
    assert manifest.findtext(f"{CP}metadata/{CP}schemaversion")
    assert manifest.find(f"{CP}organizations") is not None
    resources = manifest.findall(f"{CP}resources/{CP}resource")
    ids = [r.get("identifier") for r in resources]
    assert len(ids) == len(set(ids)) and all(NCNAME.match(i) for i in ids)
    items = []
    for resource in resources:
        assert resource.get("type") in ("imsqti_test_xmlv2p1", "imsqti_item_xmlv2p1")
        assert resource.get("href") in files
        for file in resource.findall(f"{CP}file"):
            assert file.get("href") in files, file.get("href")
        for dependency in resource.findall(f"{CP}dependency"):
            assert dependency.get("identifierref") in ids
        if resource.get("type") == "imsqti_item_xmlv2p1":
            items.append(resource.get("href"))
    return items


def check_item(item: ET.Element, files: dict[str, bytes], name: str) -> None:
    """An assessmentItem: required attributes, child order, declared responses, body vocabulary."""
    assert item.tag == f"{QTI}assessmentItem"
    for attribute in ("identifier", "title", "adaptive", "timeDependent"):
        assert item.get(attribute), attribute
    assert NCNAME.match(item.get("identifier")) and name == f"items/{item.get('identifier')}.xml"
    order = [ITEM_ORDER.index(local(child.tag)) for child in item]
    assert order == sorted(order)
    declared = {d.get("identifier"): d for d in item.findall(f"{QTI}responseDeclaration")}
    for declaration in declared.values():
        assert declaration.get("cardinality") == "single" and declaration.get("baseType") in (
            "float", "string", "identifier")
    outcomes = {o.get("identifier") for o in item.findall(f"{QTI}outcomeDeclaration")}
    assert {"SCORE", "MAXSCORE", "FEEDBACK"} <= outcomes
    body = item.find(f"{QTI}itemBody")
    interactions = [e for e in body.iter() if local(e.tag).endswith("Interaction")]
    assert interactions and {e.get("responseIdentifier") for e in interactions} == set(declared)
    for element in body.iter():
        if element is body or element.tag.startswith(MATHML):
            continue
        assert element.tag.startswith(QTI) and local(element.tag) in BODY_ELEMENTS, element.tag
        if local(element.tag) == "img":
            assert element.get("alt") is not None and element.get("src").startswith("../media/")
            assert element.get("src")[len("../"):] in files  # relative to items/
        assert not any(a in element.attrib for a in ("style", "onclick", "onload"))
    feedback = item.findall(f"{QTI}modalFeedback")
    assert len(feedback) == 1 and feedback[0].get("outcomeIdentifier") == "FEEDBACK"
    assert feedback[0].get("showHide") == "show" and feedback[0].get("identifier") == "SOLUTION"


def score(item: ET.Element, responses: dict[str, str]) -> float:
    """Run the item's responseProcessing on `responses` (QTI 2.1 semantics of the few operators
    used: equal with a tolerance, stringMatch, match, sum)."""
    outcomes = {"SCORE": 0.0}
    correct = {d.get("identifier"): d.findtext(f"{QTI}correctResponse/{QTI}value")
               for d in item.findall(f"{QTI}responseDeclaration")}

    def value(expression):
        tag = local(expression.tag)
        if tag == "variable":
            name = expression.get("identifier")
            return outcomes[name] if name in outcomes else responses.get(name)
        if tag == "correct":
            return correct[expression.get("identifier")]
        if tag == "baseValue":
            return float(expression.text)
        if tag == "sum":
            return sum(value(e) for e in expression)
        left, right = (value(e) for e in expression)
        if left is None:
            return False
        if tag == "equal":
            if expression.get("toleranceMode") == "exact":
                return Decimal(left) == Decimal(right)
            low, high = (Decimal(t) for t in expression.get("tolerance").split())
            return Decimal(right) - low <= Decimal(left) <= Decimal(right) + high
        if tag == "stringMatch":
            return left.lower() == right.lower() if expression.get("caseSensitive") == "false" else left == right
        if tag == "match":
            return left == right
        raise AssertionError(f"operator {tag} is not expected")

    for rule in item.find(f"{QTI}responseProcessing"):
        if local(rule.tag) == "responseCondition":
            branch = rule.find(f"{QTI}responseIf")
            test, action = list(branch)
            if value(test):
                outcomes[action.get("identifier")] = value(action[0])
    return outcomes["SCORE"]


def items_of(path: Path) -> tuple[dict[str, bytes], dict[str, ET.Element]]:
    files = package(path)
    items = {}
    for name in check_manifest(files):
        item = ET.fromstring(files[name])
        check_item(item, files, name)
        items[item.get("title").split(" — ")[0] + (f"/v{item.get('title').split('(variant ')[1][:-1]}"
                                                  if "(variant " in item.get("title") else "")] = item
    return files, items


def numeric_keys(item: ET.Element) -> list[tuple[Decimal, Decimal]]:
    keys = []
    conditions = item.findall(f"{QTI}responseProcessing/{QTI}responseCondition/{QTI}responseIf/{QTI}equal")
    declared = {d.get("identifier"): d for d in item.findall(f"{QTI}responseDeclaration")}
    for equal in conditions:
        response = equal.find(f"{QTI}variable").get("identifier")
        assert declared[response].get("baseType") == "float"
        tolerance = Decimal(0) if equal.get("toleranceMode") == "exact" else Decimal(equal.get("tolerance").split()[0])
        keys.append((Decimal(declared[response].findtext(f"{QTI}correctResponse/{QTI}value")), tolerance))
    return keys


def test_the_exam_package_is_complete_and_keyed_from_each_problems_decimals(build):
    from solver.pipeline import solve_file

    files, items = items_of(build("qti", EXAM))
    solved = {p.id: p for p in solve_file(EXAM).problems}
    assert set(items) == set(solved)
    test = ET.fromstring(files["assessment.xml"])
    assert test.tag == f"{QTI}assessmentTest" and test.get("identifier") and test.get("title")
    references = [r.get("href") for r in test.iter(f"{QTI}assessmentItemRef")]
    assert len(references) == len(items) and all(r in files for r in references)
    assert all(part.get("navigationMode") and part.get("submissionMode") for part in test.iter(f"{QTI}testPart"))
    for problem_id, item in items.items():
        problem = solved[problem_id]
        if problem.kind in ("derive", "text"):
            continue
        assert numeric_keys(item) == [key_of(v, problem.decimals) for v in expected_boxes(problem)], problem_id


def test_keys_score_full_marks_and_a_response_off_by_a_unit_scores_nothing(build):
    _, items = items_of(build("qti", EXAM))
    for problem_id, item in items.items():
        declared = item.findall(f"{QTI}responseDeclaration")
        keys = {d.get("identifier"): d.findtext(f"{QTI}correctResponse/{QTI}value") for d in declared}
        if not any(keys.values()):
            assert item.find(f".//{QTI}extendedTextInteraction") is not None  # an essay, scored by a person
            assert item.find(f".//{QTI}rubricBlock[@view='scorer']") is not None
            continue
        maximum = float(item.find(f"{QTI}outcomeDeclaration[@identifier='MAXSCORE']").findtext(f".//{QTI}value"))
        assert score(item, keys) == maximum == len(keys), problem_id
        floats = [d.get("identifier") for d in declared if d.get("baseType") == "float"]
        if floats:
            wrong = dict(keys)
            first = floats[0]
            tolerance = next(Decimal(e.get("tolerance", "0 0").split()[0]) for e in item.iter(f"{QTI}equal")
                             if e.find(f"{QTI}variable").get("identifier") == first)
            wrong[first] = str(Decimal(keys[first]) + 2 * tolerance + Decimal("0.01"))
            assert score(item, wrong) == maximum - 1
            near = dict(keys)
            near[first] = str(Decimal(keys[first]) + tolerance * Decimal("0.9"))
            assert score(item, near) == maximum  # a longer answer that rounds to the key


def test_true_false_and_choices(build):
    _, items = items_of(build("qti", EXAM))
    true_false = items["3c-ii-autoencoder-pretraining"]
    assert true_false.find(f".//{QTI}choiceInteraction") is not None
    assert score(true_false, {"RESPONSE_1": "TRUE"}) == 1 and score(true_false, {"RESPONSE_1": "FALSE"}) == 0
    choice = items["4b-i-attention-heads"]
    assert score(choice, {"RESPONSE_1": "b"}) == 1 and score(choice, {"RESPONSE_1": "C"}) == 0


def test_feedback_is_the_worked_solution_in_mathml(build):
    files, items = items_of(build("qti", EXAM))
    for item in items.values():
        feedback = item.find(f"{QTI}modalFeedback")
        assert "Answer" in "".join(feedback.itertext())
    exact = items["2-mlp-sgd-exact"].find(f"{QTI}modalFeedback")
    assert len(list(exact.iter(f"{MATHML}math"))) > 20
    figure = items["4c-ii-positional-encoding"].find(f".//{QTI}img")
    assert files[figure.get("src")[len("../"):]].startswith(b"<svg xmlns=\"http://www.w3.org/2000/svg\"")


def test_variants_form_sections_that_draw_one(build):
    path = build("qti", VARIED, "--variants", "3", "--seed", "7")
    files, items = items_of(path)
    assert len(items) == 6
    test = ET.fromstring(files["assessment.xml"])
    groups = [s for s in test.iter(f"{QTI}assessmentSection") if s.find(f"{QTI}selection") is not None]
    assert len(groups) == 2
    for group in groups:
        assert group.find(f"{QTI}selection").get("select") == "1"
        assert len(group.findall(f"{QTI}assessmentItemRef")) == 3
    inside = json.loads(files["dlsolve-manifest.json"])
    assert inside == json.loads(Path(f"{path}.manifest.json").read_text())
    assert [q["variant_seed"] for q in inside["questions"]] == ["7:1", "7:2", "7:3"] * 2


def test_the_same_command_rebuilds_the_same_zip(capsys, tmp_path):
    outputs = []
    for seed in ("5", "5", "6"):
        target = tmp_path / "quiz.zip"
        code, err = run_export(capsys, VARIED, EXAM, "--to", "qti", "--variants", "2", "--seed", seed, "-o", target)
        assert code == 0, err
        outputs.append(target.read_bytes())
    assert outputs[0] == outputs[1] and outputs[0] != outputs[2]
    with zipfile.ZipFile(io.BytesIO(outputs[0])) as archive:
        infos = archive.infolist()
    assert infos[0].filename == "imsmanifest.xml"
    assert [i.filename for i in infos[1:]] == sorted(i.filename for i in infos[1:])
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["quiz.zip", "quiz.zip.manifest.json"]


SMALL = """\
title: Saturated units
problems:
  - id: tiny
    kind: activation
    decimals: 6
    given: {function: sigmoid, points: [-12, 0.5]}
"""


def test_values_below_what_canvas_keeps_are_asked_in_smaller_units(tmp_path, capsys):
    import math

    source = tmp_path / "small.yaml"
    source.write_text(SMALL)
    code, err = run_export(capsys, source, "--to", "qti", "-o", tmp_path / "small.zip")
    assert code == 0, err
    _, items = items_of(tmp_path / "small.zip")
    item = items["tiny"]
    sigmoid = 1 / (1 + math.exp(12))
    keys = numeric_keys(item)
    assert keys[0] == (Decimal(f"{sigmoid:.6f}") * 100, Decimal("0.00005"))  # 0.000006 asked as 0.0006 × 10⁻²
    assert all(k == 0 or abs(k) >= Decimal("0.0001") for k, _ in keys)
    assert all(k == k.quantize(Decimal("0.0001")) for k, _ in keys)
    labels = "".join(item.find(f"{QTI}itemBody").itertext())
    assert "value[1] × 10" in labels
    code, err = run_export(capsys, source, "--to", "moodle", "-o", tmp_path / "small.xml")
    assert code == 0, err
    text = ET.parse(tmp_path / "small.xml").getroot().find("question[@type='cloze']").findtext("questiontext/text")
    assert "{1:NUMERICAL:=0.000006:0.0000005}" in text  # Moodle keeps the number as it is
