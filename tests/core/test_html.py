"""The self-contained HTML key: MathML, no network references, and math that a real browser
lays out (headless Chromium; skipped where it is not installed)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pytest

from helpers import REPO

KEY_SOURCE = REPO / "problems" / "course" / "004-final-exam.yaml"


def build_key(tmp_path):
    out = tmp_path / "key.html"
    result = subprocess.run([sys.executable, "-m", "solver.cli", "solve", str(KEY_SOURCE), "--format", "html",
                             "-o", str(out)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return out


def test_html_is_self_contained(tmp_path):
    page = build_key(tmp_path).read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert "<math" in page and "<mfrac>" in page
    assert not re.search(r"""(src|href)=["']https?://""", page)
    assert "$$" not in page


_PROBE = """<script>
window.addEventListener('load', () => {
  const fraction = document.querySelector('mfrac');
  const text = document.querySelector('p');
  const f = fraction.getBoundingClientRect(), t = text.getBoundingClientRect();
  const lines = parseFloat(getComputedStyle(text).lineHeight) || 20;
  document.body.setAttribute('data-probe', `fraction-height=${f.height.toFixed(1)} line=${lines.toFixed(1)}`);
});
</script>"""


def _chromium():
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.mark.skipif(_chromium() is None, reason="Chromium is not installed")
def test_math_renders_in_a_browser(tmp_path):
    page = build_key(tmp_path)
    probe = tmp_path / "probe.html"
    probe.write_text(page.read_text().replace("</body>", _PROBE + "</body>"))
    browser = _chromium()
    profile = tmp_path / "profile"
    dom = subprocess.run([browser, *FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=3000",
                          "--dump-dom", probe.as_uri()], capture_output=True, text=True, timeout=120)
    match = re.search(r'data-probe="fraction-height=([\d.]+) line=([\d.]+)"', dom.stdout)
    assert match, dom.stderr[-2000:]
    fraction_height, line = map(float, match.groups())
    # A laid-out MathML fraction stacks numerator over denominator: taller than one text line.
    assert fraction_height > 1.3 * line * 0.75
    png = tmp_path / "key.png"
    subprocess.run([browser, *FLAGS, f"--user-data-dir={profile}", f"--screenshot={png}",
                    "--window-size=1000,1600", page.as_uri()], capture_output=True, timeout=120)
    assert png.exists() and png.stat().st_size > 10_000


def test_words_in_math_are_escaped_for_tex_and_read_plainly_in_mathml():
    """A dict's keys and a string value are \\text{…} with TeX's `_` escaped (the Markdown key
    is LaTeX); the HTML key's MathML shows the words without the escapes."""
    from solver.render.html import latex_to_mathml
    from solver.render.values import latex

    written = latex({"activation_bytes": 32376, "params": 5}, 4)
    assert r"\text{activation\_bytes}" in written and "activation_bytes}" not in written
    assert latex("x_t of {a}", 4) == r"\text{x\_t of \{a\}}"
    mathml = latex_to_mathml(written, False)
    assert "<mtext>activation_bytes</mtext>" in mathml and "\\" not in mathml
