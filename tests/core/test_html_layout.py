"""How the HTML key looks: stretchy fences around matrices, transposes as superscripts, no
scroll arrows on equations that fit, prose code as code, and a table of contents for a page of
several documents. Checked in the MathML, and laid out in headless Chromium where installed."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ElementTree

import pytest
from helpers import REPO

MATRICES = REPO / "problems" / "course" / "004-final-exam.yaml"
MATH = "{http://www.w3.org/1998/Math/MathML}"


def key(tmp_path, *paths, only=None) -> str:
    out = tmp_path / "key.html"
    extra = ["--only", only] if only else []
    result = subprocess.run([sys.executable, "-m", "solver", "solve", *map(str, paths), *extra, "-o", str(out)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return out


def formulas(page: str):
    for source in re.findall(r"<math\b.*?</math>", page, re.S):
        yield ElementTree.fromstring(source)


def test_matrices_have_stretchy_fences_and_scripts_have_two_parts(tmp_path):
    page = key(tmp_path, MATRICES).read_text()
    tables = 0
    for math in formulas(page):
        for parent in math.iter():
            children = list(parent)
            for index, child in enumerate(children):
                if child.tag == MATH + "mtable":
                    tables += 1
                    before, after = children[index - 1], children[index + 1]
                    assert before.get("stretchy") == "true" and after.get("stretchy") == "true"
            arity = {MATH + "msup": 2, MATH + "msub": 2, MATH + "msubsup": 3}.get(parent.tag)
            if arity:
                assert len(children) == arity, ElementTree.tostring(parent)[:300]
    assert tables > 20
    assert "<mo>&#x022A4;</mo>" not in page and "&#x022A4;</mi>" in page  # ⊤ without operator spacing


def test_display_math_scrolls_in_its_own_box_and_prose_code_is_code(tmp_path):
    page = key(tmp_path, REPO / "problems" / "course").read_text()
    assert page.count('<math xmlns="http://www.w3.org/1998/Math/MathML" display="block">') == \
        page.count('<div class="equation"><math xmlns="http://www.w3.org/1998/Math/MathML" display="block">')
    text = re.sub(r"<[^>]+>", "", re.sub(r"<(code|pre)\b.*?</\1>", "", page, flags=re.S))
    assert "`" not in text
    assert "<code>dlsolve train mnist-cnn</code>" in page


def test_a_page_of_several_documents_has_a_table_of_contents(tmp_path):
    course = sorted((REPO / "problems" / "course").glob("*.yaml"))
    page = key(tmp_path, *course[:2]).read_text()
    contents = re.search(r'<nav class="contents">(.*?)</nav>', page, re.S)
    assert contents
    targets = re.findall(r'href="#([^"]+)"', contents.group(1))
    ids = re.findall(r'<h[12] id="([^"]+)"', page)
    assert len(targets) == len(set(ids)) == len(ids) > 2 and set(targets) <= set(ids)
    assert '<nav class="contents">' not in key(tmp_path, course[0]).read_text()


_PROBE = """<script>
window.addEventListener('load', () => {
  const box = (e) => e.getBoundingClientRect();
  const fences = [], scripts = [], scrolled = [];
  for (const table of document.querySelectorAll('mtable')) {
    if (table.querySelectorAll('mtr').length < 2) continue;
    const fence = table.previousElementSibling;
    fences.push([box(fence).height, box(table).height]);
  }
  for (const mark of document.querySelectorAll('msup > :last-child, msubsup > :last-child')) {
    if (!mark.textContent.includes('\\u22A4')) continue;
    const base = mark.parentElement.firstElementChild;
    const size = (e) => parseFloat(getComputedStyle(e).fontSize);
    scripts.push([box(mark).top + box(mark).height / 2, box(base).top + box(base).height / 2, size(mark),
                  size(base), box(base).height]);
  }
  for (const equation of document.querySelectorAll('div.equation')) {
    scrolled.push([equation.scrollHeight - equation.clientHeight, equation.scrollWidth - equation.clientWidth,
                   equation.clientWidth]);
  }
  document.body.setAttribute('data-probe', JSON.stringify({fences, scripts, scrolled}));
});
</script>"""


def _chromium():
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.mark.skipif(_chromium() is None, reason="Chromium is not installed")
def test_the_key_lays_out_in_a_browser(tmp_path):
    page = key(tmp_path, MATRICES, only="2-mlp-sgd-exact,4a-jordan-rnn,1b-ii-linear-neuron-l2")
    probe = tmp_path / "probe.html"
    probe.write_text(page.read_text().replace("</body>", _PROBE + "</body>"))
    dom = subprocess.run([_chromium(), *FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
                          "--virtual-time-budget=3000", "--window-size=1200,2000", "--dump-dom", probe.as_uri()],
                         capture_output=True, text=True, timeout=120)
    found = re.search(r"data-probe=\"([^\"]*)\"", dom.stdout)
    assert found, dom.stderr[-2000:]
    import html

    probe_data = json.loads(html.unescape(found.group(1)))
    assert len(probe_data["fences"]) > 5
    for fence, table in probe_data["fences"]:  # a fence spans its matrix's rows
        assert fence >= 0.9 * table, (fence, table)
    assert probe_data["scripts"]
    for mark_middle, base_middle, mark_size, base_size, base_height in probe_data["scripts"]:
        assert mark_middle < base_middle - 0.15 * base_height  # raised, not on the baseline
        assert mark_size < base_size  # in script size
    assert probe_data["scrolled"]
    for vertical, horizontal, _width in probe_data["scrolled"]:
        assert vertical <= 1 and horizontal <= 0  # these equations fit: nothing to scroll (1 px: rounding)
