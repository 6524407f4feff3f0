"""Question text and feedback: math written for each platform, and only plain formatting from
a problem file reaches the platform (a teaching assistant exports files students wrote)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
import zipfile
from html.parser import HTMLParser

from export_helpers import run_export
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
    # What a platform renders: Moodle's question texts are HTML inside XML text; QTI items are
    # XHTML elements. Neither may hold a live script, frame, event handler, style or
    # javascript: link — the hostile markup may only survive as visible text.
    elements = list(ET.fromstring(moodle).iter())
    html_texts = [element.text for element in elements if element.text]
    with zipfile.ZipFile(tmp_path / "q.zip") as archive:
        for name in archive.namelist():
            if name.endswith(".xml"):
                elements += list(ET.fromstring(archive.read(name)).iter())
    live = _LiveMarkup()
    for text in html_texts:
        live.feed(text)
    for element in elements:
        live.handle_starttag(element.tag.rsplit("}", 1)[-1], list(element.attrib.items()))
    assert not live.found, live.found
    assert "this" in moodle  # the note's words are kept, its markup is not


class _LiveMarkup(HTMLParser):
    """Collects markup that would act in a browser."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag.lower() in ("script", "iframe", "object", "embed", "style"):
            self.found.append(tag)
        for name, value in attrs:
            name = name.rsplit("}", 1)[-1].lower()
            if name.startswith("on") or name == "style":
                self.found.append(f"{tag} {name}")
            if name in ("href", "src") and (value or "").strip().lower().startswith(("javascript:", "file:")):
                self.found.append(f"{tag} {name}={value}")
