"""The training thread count follows one rule: OMP_NUM_THREADS, else the free cores (available
cores less the load average, rounded down) shared among the local processes, at least one."""

from __future__ import annotations

import os

import pytest

from solver.train.torch_utils import cpu_threads


@pytest.fixture
def no_omp(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(8)), raising=False)


@pytest.mark.parametrize("load, processes, expected", [
    (0.0, 1, 8), (0.9, 1, 8), (1.2, 1, 7), (3.7, 1, 5), (7.9, 1, 1), (30.0, 1, 1),
    (0.0, 2, 4), (3.0, 2, 2), (6.5, 4, 1), (0.0, 16, 1),
])
def test_free_cores_shared_among_local_processes(no_omp, load, processes, expected):
    assert cpu_threads(processes, load=load) == expected


def test_omp_num_threads_wins(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert cpu_threads(1, load=50.0) == 3
