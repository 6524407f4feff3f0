"""Moodle XML: the course exam and a varied set parse, carry the keys of the computed answers
with tolerances from each problem's decimals, the worked solution as feedback, and rebuild
byte for byte from their seeds."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
import yaml

from export_helpers import EXAM, VARIED, flat, run_export

# {weight:TYPE:answers}: what Moodle's cloze (multianswer) importer reads, written from its
# documentation: answers separated by ~, each [=|%n%]text[:tolerance][#feedback], \ escapes.
CLOZE = re.compile(r"\{(\d*):(NUMERICAL|NM|SHORTANSWER|SA|MW|SHORTANSWER_C|SAC|MWC|MULTICHOICE|MC)"
                   r":((?:\\.|[^}\\])*)\}")


def parse_cloze(text: str) -> list[dict]:
    fields = []
    for weight, kind, body in CLOZE.findall(text):
        answers = []
        for part in re.split(r"(?<!\\)~", body):
            correct = part.startswith("=") or part.startswith("%100%")
            part = re.sub(r"^(=|%-?\d+%)", "", part)
            part = re.split(r"(?<!\\)#", part)[0]
            if kind in ("NUMERICAL", "NM"):
                value, _, tolerance = part.partition(":")
                answers.append({"correct": correct, "value": Decimal(value), "tolerance": Decimal(tolerance or "0")})
            else:
                answers.append({"correct": correct, "text": re.sub(r"\\(.)", r"\1", part)})
        fields.append({"weight": int(weight or 1), "type": kind, "answers": answers})
    return fields


def test_the_cloze_parser_reads_escapes():
    fields = parse_cloze(r"a {1:NUMERICAL:=-4.7:0.00005} b {2:SHORTANSWER:=x\}y\#z} c {1:MULTICHOICE:true~=false}")
    assert fields[0]["answers"][0] == {"correct": True, "value": Decimal("-4.7"), "tolerance": Decimal("0.00005")}
    assert fields[1]["answers"][0]["text"] == "x}y#z" and fields[1]["weight"] == 2
    assert [a["correct"] for a in fields[2]["answers"]] == [False, True]


def questions(path: Path) -> list[ET.Element]:
    root = ET.parse(path).getroot()
    assert root.tag == "quiz"
    return [q for q in root.findall("question") if q.get("type") != "category"]


def expected_boxes(result) -> list:
    """(value, decimals) of every asked number, recomputed from the solved problem."""
    out = []
    for name, value in result.answers.items():
        given = result.given.get(name)
        if isinstance(given, str) and re.fullmatch(r"\d+(x\d+)*", given):
            given = [int(g) for g in given.split("x")]
        if given is not None and (given if isinstance(given, list) else [given]) == (
                value if isinstance(value, list) else [value]):
            continue  # a constraint the problem states (conv-shape's output "6x49x49" or 25)
        if isinstance(value, str) or any(isinstance(v, str) for v in flat(value)):
            continue
        out += flat(value)
    return out


def key_of(value, decimals: int) -> tuple[Decimal, Decimal]:
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value), Decimal(0)
    quantum = Decimal(1).scaleb(-decimals)
    return Decimal(repr(float(value))).quantize(quantum, rounding=ROUND_HALF_UP), quantum / 2


def test_every_exam_question_carries_the_computed_keys_and_tolerances(build):
    from solver.pipeline import solve_file

    quiz = questions(build("moodle", EXAM))
    solved = {p.id: p for p in solve_file(EXAM).problems}
    assert len(quiz) == len(solved)
    checked = 0
    for question in quiz:
        problem = solved[question.findtext("idnumber").split("/")[-1]]
        text = question.findtext("questiontext/text")
        kind = question.get("type")
        if problem.kind == "text" and isinstance(problem.answers["answer"], bool):
            assert kind == "truefalse"
            right = [a.findtext("text") for a in question.findall("answer") if a.get("fraction") == "100"]
            assert right == [str(problem.answers["answer"]).lower()]
            continue
        if problem.kind in ("derive",) or (problem.kind == "text" and " " in str(problem.answers["answer"])):
            assert kind == "essay"
            assert question.findtext("graderinfo/text").strip()  # the key, for the grader
            continue
        if problem.kind == "text":
            assert kind == "shortanswer" and question.findtext("answer/text") == problem.answers["answer"]
            continue
        expected = [key_of(v, problem.decimals) for v in expected_boxes(problem)]
        if kind == "numerical":
            found = [(Decimal(question.findtext("answer/text")), Decimal(question.findtext("answer/tolerance")))]
        else:
            assert kind == "cloze", problem.id
            found = [(f["answers"][0]["value"], f["answers"][0]["tolerance"]) for f in parse_cloze(text)]
        assert found == expected, problem.id
        checked += len(found)
    assert checked > 200  # the exam has 250 numbers to give


def test_the_hand_rounded_problem_is_keyed_at_its_two_decimals(build):
    quiz = {q.findtext("idnumber"): q for q in questions(build("moodle", EXAM))}
    fields = parse_cloze(quiz["004-final-exam/2-mlp-sgd-hand-rounded"].findtext("questiontext/text"))
    tolerances = {f["answers"][0]["tolerance"] for f in fields}
    assert tolerances == {Decimal("0.005")}
    values = [f["answers"][0]["value"] for f in fields]
    assert values[:3] == [Decimal("1.3"), Decimal("-4.7"), Decimal("3.6")]  # u1 of the answer key


def test_feedback_is_the_worked_solution_with_tex_for_mathjax(build):
    for question in questions(build("moodle", EXAM)):
        feedback = question.findtext("generalfeedback/text")
        assert question.find("generalfeedback").get("format") == "html"
        assert "<strong>Answer</strong>" in feedback
        assert "$" not in feedback.replace("$course$", "")  # math is \( \) / \[ \], not Markdown's $
    exact = {q.findtext("idnumber"): q for q in questions(build("moodle", EXAM))}["004-final-exam/2-mlp-sgd-exact"]
    feedback = exact.findtext("generalfeedback/text")
    assert "\\[" in feedback and "\\(" in feedback and "<script" not in feedback


def test_the_positional_encoding_figure_is_embedded(build):
    quiz = {q.findtext("idnumber"): q for q in questions(build("moodle", EXAM))}
    feedback = quiz["004-final-exam/4c-ii-positional-encoding"].find("generalfeedback")
    files = feedback.findall("file")
    assert files and all(f"@@PLUGINFILE@@/{f.get('name')}" in feedback.findtext("text") for f in files)
    import base64

    assert files[0].get("name").endswith(".svg")
    assert base64.b64decode(files[0].text).startswith(b"<svg xmlns=\"http://www.w3.org/2000/svg\"")


def test_variants_are_the_ones_vary_draws_each_in_its_category(build, tmp_path):
    from solver.pipeline import solve_file
    from solver.vary import make_variants

    path = build("moodle", VARIED, "--variants", "3", "--seed", "7")
    manifest = json.loads(Path(f"{path}.manifest.json").read_text())
    assert manifest["seed"] == 7 and manifest["variants"] == 3
    make_variants(VARIED, 3, 7, tmp_path)
    root = ET.parse(path).getroot()
    categories = [q.findtext("category/text") for q in root.findall("question") if q.get("type") == "category"]
    assert categories == ["$course$/top/Convolution output sizes (randomized)/out-size",
                          "$course$/top/Convolution output sizes (randomized)/find-padding"]
    quiz = {q.findtext("idnumber"): q for q in questions(path)}
    assert len(quiz) == 6
    for entry in manifest["questions"]:
        number = entry["variant"]
        assert entry["variant_seed"] == f"7:{number}"
        written = yaml.safe_load((tmp_path / f"conv-shape-variants-v{number}.yaml").read_text())
        problem = next(p for p in written["problems"] if p["id"] == entry["problem"])
        assert entry["drawn"] == {k: problem["given"][k] for k in entry["drawn"]}
        solved = next(p for p in solve_file(tmp_path / f"conv-shape-variants-v{number}.yaml").problems
                      if p.id == entry["problem"])
        question = quiz[entry["id"]]
        expected = [key_of(v, solved.decimals) for v in expected_boxes(solved)]
        if question.get("type") == "numerical":
            found = [(Decimal(question.findtext("answer/text")), Decimal(question.findtext("answer/tolerance")))]
        else:
            found = [(f["answers"][0]["value"], f["answers"][0]["tolerance"])
                     for f in parse_cloze(question.findtext("questiontext/text"))]
        assert found == expected


def test_the_same_command_rebuilds_the_same_bytes(capsys, tmp_path):
    outputs = []
    for folder, seed in (("a", "7"), ("b", "7"), ("c", "8")):
        target = tmp_path / folder / "quiz.xml"
        code, err = run_export(capsys, VARIED, "--to", "moodle", "--variants", "2", "--seed", seed, "-o", target)
        assert code == 0, err
        outputs.append(target.read_bytes())
    assert outputs[0] == outputs[1] and outputs[0] != outputs[2]
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["quiz.xml", "quiz.xml.manifest.json"]


@pytest.mark.parametrize("args, words", [
    (("--variants", "2"), "--variants needs --seed"),
    (("--seed", "3"), "--seed only applies with --variants"),
])
def test_variants_and_seed_go_together(capsys, tmp_path, args, words):
    code, err = run_export(capsys, VARIED, "--to", "moodle", "-o", tmp_path / "q.xml", *args)
    assert code == 2 and words in err and "Traceback" not in err
    assert not (tmp_path / "q.xml").exists()


def test_a_problem_that_does_not_solve_is_one_message(capsys, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("problems:\n  - id: ok\n    kind: conv-shape\n    given: {input: 10, kernel: 3}\n"
                   "  - id: broken\n    kind: conv-shape\n    given: {input: 10, kernel: 30}\n")
    code, err = run_export(capsys, bad, "--to", "moodle", "-o", tmp_path / "q.xml")
    assert code == 2 and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and "bad.yaml" in err and "broken" in err
    assert not (tmp_path / "q.xml").exists()


def test_an_output_folder_is_refused(capsys, tmp_path):
    code, err = run_export(capsys, VARIED, "--to", "qti", "-o", f"{tmp_path}/")
    assert code == 2 and "-o" in err and "Traceback" not in err


def test_a_prose_answer_with_cloze_characters_is_escaped():
    from solver.export.moodle import cloze_escape

    field = "{1:SHORTANSWER:=" + cloze_escape('a}b#c~d/e"f\\g') + "}"
    assert parse_cloze(field)[0]["answers"][0]["text"] == 'a}b#c~d/e"f\\g'


def test_variants_of_a_set_without_vary_blocks_are_refused(capsys, tmp_path):
    code, err = run_export(capsys, EXAM, "--to", "moodle", "--variants", "2", "--seed", "1", "-o", tmp_path / "q.xml")
    assert code == 2 and "no problem has a `vary:` block" in err and "Traceback" not in err


def test_an_input_is_never_replaced(capsys, tmp_path):
    source = tmp_path / "set.yaml"
    source.write_text(VARIED.read_text())
    code, err = run_export(capsys, source, "--to", "moodle", "-o", source)
    assert code == 2 and "will not replace" in err
    assert source.read_text() == VARIED.read_text()
