"""`check`'s terminal output as exact text: rows in claim order, the diagnosis and the
carried-forward source in one sentence under their rows."""

from __future__ import annotations

import io

from judge_support import judged
from rich.console import Console

from solver.render.check import render_check_text

EXPECTED = """\
check: claimed against computed
problem   answer   index   claimed   computed   verdict
────────────────────────────────────────────────────────
descent   x1               2.4       1.6        MISMATCH
    Likely mistake (gradient-sign): The steps went uphill: the gradient was added instead of subtracted.
descent   x2               1.92      1.28       follows
    follows from your own x1 (error carried forward)
0 matched, 1 with mismatches, 0 errors
"""


def test_check_text_says_the_mistake_under_its_row():
    report = judged("optimize", {"f": "x**2", "x0": 2, "lr": 0.1, "steps": 2}, {"x1": 2.4, "x2": 1.92},
                    id="descent")
    buffer = io.StringIO()
    render_check_text(Console(file=buffer, width=120, color_system=None), [report], [])
    assert "\n".join(line.rstrip() for line in buffer.getvalue().splitlines()) + "\n" == EXPECTED
