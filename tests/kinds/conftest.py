"""Fixtures for the kind tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def one_torch_thread():
    """Oracle tests compare thousands of tiny tensors: thread hand-offs would cost more than the
    arithmetic on a small shared machine. Used as `pytestmark = usefixtures(...)`."""
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
