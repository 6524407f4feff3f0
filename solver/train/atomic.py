"""Atomic file writes for run folders: the project's one implementation lives in solver.output."""

from __future__ import annotations

from pathlib import Path

from solver.output import atomic_path, write_atomic, write_json

__all__ = ["atomic_path", "write_bytes", "write_text", "write_json"]


def write_bytes(path: str | Path, data: bytes) -> None:
    write_atomic(path, data)


def write_text(path: str | Path, text: str) -> None:
    write_atomic(path, text)
