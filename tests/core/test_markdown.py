"""Markdown keys: prose answers are written as text (escaped, so they show verbatim on GitHub
and in the HTML key), numbers and formulas as math."""

from __future__ import annotations

import html
import re

from helpers import solve_text

from solver.render.html import markdown_to_html
from solver.render.markdown import render_markdown

PROSE = "Costs $5 | a*b_c [x](y) <b>bold</b> #1 `code` back\\slash"

PROBLEMS = f"""
problems:
  - id: prose
    kind: text
    given:
      answer: {PROSE!r}
  - id: number
    kind: conv-shape
    given: {{input: 10x11, kernel: 3, stride: 2}}
"""


def test_prose_answers_are_text_and_numbers_are_math():
    markdown = render_markdown([solve_text(PROBLEMS.replace("'", '"'))])
    summary_row = next(line for line in markdown.splitlines() if line.startswith("| prose"))
    assert r"\text{" not in summary_row
    assert summary_row.count("|") - summary_row.count(r"\|") == 3  # the answer's | stays inside its cell
    assert "- **answer**: Costs" in markdown
    assert re.search(r"\| number .*\*\*output\*\* = \$.*4.*5.*\$", markdown)


def test_prose_answers_show_verbatim_in_the_html_key():
    page = markdown_to_html(render_markdown([solve_text(PROBLEMS.replace("'", '"'))]), "key")
    cells = re.findall(r"<td>(.*?)</td>", page, flags=re.DOTALL)
    prose_cell = next(cell for cell in cells if "Costs" in cell)
    shown = f"answer: {PROSE}".replace("`code`", "<code>code</code>")  # a code span stays code
    assert html.unescape(re.sub(r"</?strong>", "", prose_cell)) == shown
    assert "<math" not in prose_cell
