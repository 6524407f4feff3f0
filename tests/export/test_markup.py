"""Question text and feedback: math written for each platform, and only plain formatting from
a problem file reaches the platform (a teaching assistant exports files students wrote)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
import zipfile

from conftest import run_export
from solver.export.markup import clean_html, moodle_html, qti_elements

HOSTILE = """\
title: "<script>alert('title')</script> Sizes"
problems:
  - id: q1
    kind: conv-shape
    title: "Output <img src=x onerror=alert(1)> size"
    notes: "See <a href='javascript:alert(2)'>here</a> and <iframe src='http://x'></iframe> <b style='x'>this</b>."
    given: {input: 10, kernel: 3}
"""


def test_tex_for_moodle_escapes_html_but_keeps_the_math():
    assert moodle_html("$a<b$ and $$x_1 \\\\ y$$") == "<p>\\(a&lt;b\\) and \\[x_1 \\\\ y\\]</p>"


def test_qti_math_is_mathml_in_its_namespace():
    div = qti_elements("$\\frac{1}{2}$", "urn:test")
    assert div.tag == "{urn:test}div"
    math = div.find("{urn:test}p/{http://www.w3.org/1998/Math/MathML}math")
    assert math is not None and math.find(".//{http://www.w3.org/1998/Math/MathML}mfrac") is not None


def test_only_plain_formatting_survives():
    cleaned = clean_html('<p onclick="x"><a href="javascript:bad()">a</a><a href="https://ok.example">b</a>'
                         '<img src="file:///etc/passwd"><script>bad()</script>c</p>')
    assert cleaned == '<p>a<a href="https://ok.example">b</a>c</p>'


def test_a_hostile_file_exports_without_its_markup(tmp_path, capsys):
    source = tmp_path / "hostile.yaml"
    source.write_text(HOSTILE)
    for fmt, name in (("moodle", "q.xml"), ("qti", "q.zip")):
        code, err = run_export(capsys, source, "--to", fmt, "-o", tmp_path / name)
        assert code == 0, err
    moodle = (tmp_path / "q.xml").read_text()
    ET.fromstring(moodle)
    with zipfile.ZipFile(tmp_path / "q.zip") as archive:
        texts = [moodle] + [archive.read(n).decode() for n in archive.namelist() if n.endswith(".xml")]
    for text in texts:
        for bad in ("&lt;script", "<script", "javascript:", "onerror", "iframe", "style="):
            assert bad not in text, bad
    assert "this" in moodle  # the note's words are kept, its markup is not
