"""Shared fixtures of the training-module tests: where the verified data copies live."""

from __future__ import annotations

from pathlib import Path

import pytest

# The repository's sibling folder shared/data holds verified copies (see its PROVENANCE.md).
SHARED_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """Folder with mnist/ and tinyshakespeare.txt; the test is skipped when it is absent."""
    if not (SHARED_DATA / "mnist" / "train-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"MNIST copies not found under {SHARED_DATA.resolve()}")
    return SHARED_DATA.resolve()


@pytest.fixture(scope="session")
def cifar_dir() -> Path:
    folder = SHARED_DATA / "cifar-10-subset"
    if not (folder / "test_batch").is_file():
        pytest.skip(f"CIFAR-10 subset not found under {SHARED_DATA.resolve()}")
    return folder.resolve()


@pytest.fixture(autouse=True)
def _quiet_and_offline(monkeypatch, tmp_path):
    """No progress bars in test output, no DLSOLVE_DATA from the environment, and a cache
    folder inside tmp_path, so that no test can fill the user's cache."""
    monkeypatch.setenv("DLSOLVE_QUIET", "1")
    monkeypatch.delenv("DLSOLVE_DATA", raising=False)
    monkeypatch.setattr("solver.train.data.cache_dir", lambda: tmp_path / "cache")
