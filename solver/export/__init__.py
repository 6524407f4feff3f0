"""`dlsolve export`: problem sets as quizzes a course platform imports (SPEC §11).

questions.py turns solved problems (and their variants) into question data; moodle.py and
qti.py write that data as Moodle XML or as a QTI 2.1 package; tolerance.py holds the numbers a
numeric box is marked with. The manifest (manifest_of) records what was built and from which
seeds, so the same command rebuilds the same bytes.
"""

from __future__ import annotations

import json
from pathlib import Path

FORMATS = ("moodle", "qti")
SUFFIX = {"moodle": ".xml", "qti": ".zip"}


def manifest_of(quiz, fmt: str, command: str) -> dict:
    """What the quiz holds: each question's source, problem, type and, for a variant, the seed
    of its draw (`vary`'s SEED:K) and the values drawn."""
    from .. import __version__

    questions = []
    for question in quiz.questions:
        entry = {"id": question.uid, "file": question.file, "problem": question.problem_id,
                 "type": question.style, "boxes": len(question.blanks)}
        if question.variant is not None:
            entry.update(variant=question.variant, variant_seed=question.variant_seed, drawn=question.drawn)
        if question.left_out:
            entry["not_asked"] = question.left_out
        questions.append(entry)
    return {"dlsolve": __version__, "format": fmt, "command": command, "seed": quiz.seed,
            "variants": quiz.variants, "sources": quiz.sources, "questions": questions}


def manifest_path(out: Path) -> Path:
    """quiz.xml -> quiz.xml.manifest.json, beside the quiz (a .zip and an .xml of one name keep
    their own)."""
    return out.with_name(out.name + ".manifest.json")


def export_quiz(paths: list[Path], fmt: str, variants: int | None, seed: int | None,
                command: str, limits=None) -> tuple[bytes, str]:
    """The quiz file's bytes and its manifest (JSON text)."""
    from .. import __version__
    from .questions import build_quiz

    quiz = build_quiz(paths, variants, seed, limits)
    manifest = json.dumps(manifest_of(quiz, fmt, command), indent=2, ensure_ascii=False) + "\n"
    if fmt == "moodle":
        from .moodle import render_moodle

        return render_moodle(quiz, f"Made by dlsolve {__version__} export; the command and the seeds of "
                                   "its variants are in the .manifest.json beside it"), manifest
    from .qti import render_qti

    return render_qti(quiz, __version__, {"dlsolve-manifest.json": manifest.encode()}), manifest
