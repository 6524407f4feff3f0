"""YAML loading: libyaml's safe loader (used when PyYAML has it) must read every problem file
exactly as PyYAML's pure-Python safe loader does — the same data, the same line for every key
and item, and the same line for a syntax error."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from helpers import REPO, SHARED

from solver import spec
from solver.errors import BadInput

FILES = sorted([*(REPO / "problems").rglob("*.yaml"), *(REPO / "tests" / "bad_input").glob("*.y*ml"),
                *(SHARED / "conformance").rglob("*.yaml")])


def parse_with(loader_class, monkeypatch, text: str):
    monkeypatch.setattr(spec, "safe_loader_class", lambda: loader_class)
    try:
        data, lines = spec.parse_yaml(text, "f.yaml")
    except BadInput as error:
        return "error", error.line
    return data, lines._lines


def test_the_fast_loader_is_used_when_available():
    if not getattr(yaml, "__with_libyaml__", False):
        pytest.skip("this PyYAML was built without libyaml")
    assert spec.safe_loader_class() is yaml.CSafeLoader


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(p.parents[1])))
def test_libyaml_reads_every_file_as_the_pure_loader_does(path: Path, monkeypatch):
    if not getattr(yaml, "__with_libyaml__", False):
        pytest.skip("this PyYAML was built without libyaml")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        pytest.skip("not UTF-8: rejected before YAML is parsed")
    assert parse_with(yaml.CSafeLoader, monkeypatch, text) == parse_with(yaml.SafeLoader, monkeypatch, text)


def test_the_corpus_includes_files_both_loaders_reject(monkeypatch):
    rejected = [p for p in FILES if "bad_input" in p.parts and p.suffix == ".yaml"
                and parse_with(yaml.SafeLoader, monkeypatch, p.read_text(errors="replace"))[0] == "error"]
    assert rejected  # the syntax-error and tag files: the comparison above covers error lines too
