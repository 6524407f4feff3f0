"""A class of 30 generated submissions graded end to end (`dlsolve grade`)."""

from __future__ import annotations

import csv
import random
import subprocess
import sys

KEY = """
title: Quiz
grading: {follows: 0.5}
problems:
  - id: shape
    kind: conv-shape
    given: {input: 3x32x32, kernel: 5, padding: 2, stride: 1, filters: 6}
    answer: {output: [6, 32, 32]}
    points: 2
  - id: descent
    kind: optimize
    given: {f: "x**2", x0: 2, lr: 0.1, steps: 2}
    answer: {x1: 1.6, x2: 1.28}
"""

# Per answer: (claim, points earned, diagnosed mistake)
CHOICES = {
    "shape.output": [("6x32x32", 2, None), ("(6, 32, 32)", 2, None), ("6×30×30", 0, "padding-once"),
                     ("[6, 28, 28]", 0, "padding-ignored"), ("6x31x31", 0, None), (None, 0, None)],
    "descent.x1": [(1.6, 1, None), ("8/5", 1, None), (2.4, 0, "gradient-sign"), (1.7, 0, None)],
}


def test_thirty_students(tmp_path):
    (tmp_path / "key.yaml").write_text(KEY)
    subs = tmp_path / "subs"
    subs.mkdir()
    rng = random.Random(3)
    expected, mistakes = {}, set()
    for n in range(30):
        shape, x1 = rng.choice(CHOICES["shape.output"]), rng.choice(CHOICES["descent.x1"])
        x1_value = 1.6 if x1[1] else float(x1[0])
        x2_value = x1_value - 0.1 * 2 * x1_value  # computed from the student's own x1
        x2_points = 1 if x1[1] else 0.5
        lines = [f"student: Student {n:02d}", "answers:"]
        if shape[0] is not None:
            lines.append(f"  shape: {{output: \"{shape[0]}\"}}")
        lines.append(f"  descent: {{x1: \"{x1[0]}\", x2: {round(x2_value, 4)}}}")
        (subs / f"s{n:02d}.yaml").write_text("\n".join(lines) + "\n")
        expected[f"Student {n:02d}"] = shape[1] + x1[1] + x2_points
        mistakes |= {m for m in (shape[2], x1[2]) if m}
    (subs / "broken.yaml").write_text("answers: {shape: 3}\n")
    out = tmp_path / "grades"
    done = subprocess.run([sys.executable, "-m", "solver.cli", "grade", str(tmp_path / "key.yaml"), str(subs),
                           "-o", f"{out}/"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "broken.yaml" in done.stderr  # reported, skipped, others graded
    with open(out / "grades.csv") as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    assert rows.pop("(maximum)")["total"] == "4"
    assert {name: float(row["total"]) for name, row in rows.items()} == expected
    feedback = sorted((out / "feedback").glob("*.md"))
    assert len(feedback) == 30
    summary = (out / "summary.md").read_text()
    assert all(m in summary for m in mistakes) and "broken.yaml" in summary
    wrong = next(p for p in feedback if "padding-once" in p.read_text()) if "padding-once" in mistakes else None
    if wrong is not None:
        assert "The worked solution" in wrong.read_text()


BINDING = {
    "conv-shape": ["padding-ignored", "padding-once", "missing-plus-one", "ceil-for-floor", "floor-for-ceil",
                   "dilation-ignored", "conv-formula-for-transposed"],
    "network": ["padding-ignored", "padding-once", "missing-plus-one", "ceil-for-floor", "floor-for-ceil",
                "dilation-ignored", "conv-formula-for-transposed", "bias-omitted", "depthwise-as-standard",
                "flops-as-macs", "macs-as-flops", "bias-flops-toggled", "rnn-bias-style"],
    "optimize": ["gradient-sign", "momentum-other-form", "adam-no-bias-correction", "hand-rounding"],
    "backprop": ["hand-rounding", "gradient-transposed", "activation-derivative-omitted", "delta-sign"],
    "rnn": ["hand-rounding", "jordan-elman-swapped"],
    "posenc": ["sin-cos-swapped", "exponent-i-for-2i", "exponent-j-for-2i", "degrees-for-radians"],
}


def test_the_catalogue_has_every_binding_mistake_with_a_worked_example():
    from solver.judge.catalogue_view import describe_catalogue

    entries, coincidences = describe_catalogue()
    found = {(e.kind, e.id): e for e in entries}
    for kind, ids in BINDING.items():
        for mistake in ids:
            entry = found[(kind, mistake)]
            assert entry.mistaken is not None and entry.mistaken != entry.right, (kind, mistake)
    assert any(set(c.mistakes) == {"padding-once", "missing-plus-one"} for c in coincidences)
    listing = subprocess.run([sys.executable, "-m", "solver.cli", "mistakes", "posenc"], capture_output=True,
                             text=True, timeout=120)
    assert listing.returncode == 0 and all(m in listing.stdout for m in BINDING["posenc"])
    assert "conv-shape" not in listing.stdout
