"""Shared by the export tests (importable as `export_helpers`): quizzes built through the
command line in this process. The `build` fixture is re-exported by tests/export/conftest.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import REPO

EXAM = REPO / "problems" / "course" / "004-final-exam.yaml"
VARIED = REPO / "problems" / "examples" / "conv-shape-variants.yaml"


def run_export(capsys, *args: str) -> tuple[int, str]:
    """`dlsolve export ARGS` in this process: (exit code, standard error)."""
    from solver.cli import main

    capsys.readouterr()
    try:
        main(["export", *map(str, args)])
        code = 0
    except SystemExit as exc:
        code = exc.code or 0
    return code, capsys.readouterr().err


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    """build(fmt, path, *options) -> the quiz file (built once per module and arguments)."""
    from solver.cli import main

    folder = tmp_path_factory.mktemp("quizzes")
    built: dict[tuple, Path] = {}

    def make(fmt: str, path: Path, *options: str) -> Path:
        key = (fmt, str(path), options)
        if key not in built:
            target = folder / f"{path.stem}-{len(built)}{'.xml' if fmt == 'moodle' else '.zip'}"
            try:
                main(["export", str(path), "--to", fmt, "-o", str(target), *options])
            except SystemExit as exc:
                assert not exc.code, f"export exited {exc.code}"
            built[key] = target
        return built[key]

    return make


def flat(value) -> list:
    """A nested answer as its scalars, row-major; mappings by key order; None and the names in
    table rows left out (they are not asked)."""
    from solver.render.values import to_plain

    value = to_plain(value)
    if isinstance(value, dict):
        return [x for v in value.values() if not isinstance(v, str) for x in flat(v)]
    if isinstance(value, list):
        return [x for v in value for x in flat(v)]
    return [] if value is None else [value]
