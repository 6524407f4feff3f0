"""The per-problem budget (SPEC §6) holds for any kind, including one written tomorrow: kinds
registered here hang in pure Python, hang in a C call that never checks for signals, allocate
without end, or crash their process; each becomes an error entry naming the limit, and the
problems around them are solved as usual."""

from __future__ import annotations

import time

import pytest
from pydantic import BaseModel

from solver.budget import Limits, OverBudget, run_within
from solver.pipeline import solve_problem_set
from solver.registry import register
from solver.spec import load_problem_set
from solver.steps import Solution


class _Nothing(BaseModel):
    n: int = 1


def _hang_in_python(given, ctx):
    while True:
        pass


def _hang_in_c(given, ctx):
    import re

    re.match(r"(a+)+$", "a" * 64 + "b")  # catastrophic backtracking inside one C call
    return Solution()


def _eat_memory(given, ctx):
    hoard = []
    while True:
        hoard.append(bytearray(50 * 1024 * 1024))


def _crash(given, ctx):
    import os
    import signal

    os.kill(os.getpid(), signal.SIGSEGV)


def _fine(given, ctx):
    sol = Solution()
    sol.set_answer("n", given.n * 2)
    return sol


for _name, _solve in (("test-hang-python", _hang_in_python), ("test-hang-c", _hang_in_c),
                      ("test-eat-memory", _eat_memory), ("test-crash", _crash), ("test-fine", _fine)):
    try:
        register(_name, _Nothing, summary="a kind for the budget tests", answers={"n": "n"})(_solve)
    except RuntimeError:  # registered already (the module imported twice)
        pass


def _problem_set(kinds: list[str]):
    lines = ["problems:"] + [f"  - {{id: p{index}, kind: {kind}, given: {{n: {index}}}}}"
                             for index, kind in enumerate(kinds)]
    return load_problem_set("\n".join(lines) + "\n", "budget.yaml")


@pytest.mark.parametrize("kind, reason", [("test-hang-python", "time limit"), ("test-hang-c", "time limit"),
                                          ("test-eat-memory", "memory"), ("test-crash", "signal")])
def test_a_problem_over_its_budget_is_an_error_entry_and_the_batch_goes_on(kind, reason):
    started = time.monotonic()
    seconds = 1.0 if reason == "time limit" else 20.0  # memory runs out well before 20 s
    result = solve_problem_set(_problem_set(["test-fine", kind, "test-fine", kind, "test-fine"]),
                               limits=Limits(seconds=seconds, memory_mb=300))
    assert time.monotonic() - started < 60
    assert [p.id for p in result.problems] == ["p0", "p1", "p2", "p3", "p4"]
    for index in (0, 2, 4):
        assert result.problems[index].error is None
        assert result.problems[index].answers == {"n": index * 2}
    for index in (1, 3):
        error = result.problems[index].error
        assert error is not None and error.exit_code == 2
        assert reason in error.message
        assert error.problem_id == f"p{index}" and error.file == "budget.yaml"
    assert result.exit_code == 2


def test_without_limits_the_work_runs_in_this_process():
    seen = []
    assert list(run_within(None, [1, 2, 3], lambda item: seen.append(item) or item * 10)) == [10, 20, 30]
    assert seen == [1, 2, 3]


def test_results_come_back_in_order_with_closures_and_registries():
    registry: dict = {}

    def work(item):
        registry[f"f{item}"] = lambda x, item=item: x + item  # a closure the parent never made
        return (lambda x: x * item)  # a result that is itself a closure

    results = list(run_within(Limits(seconds=5), [1, 2, 3], work, registries=(registry,)))
    assert [result(2) for result in results] == [2, 4, 6]
    assert sorted(registry) == ["f1", "f2", "f3"]
    assert registry["f3"](1) == 4


def test_over_budget_reports_which_limit():
    outcomes = list(run_within(Limits(seconds=0.5, memory_mb=100), [0, 1],
                               lambda item: _hang_in_python(None, None) if item else "ok"))
    assert outcomes[0] == "ok"
    assert isinstance(outcomes[1], OverBudget) and outcomes[1].reason == "time"


def test_an_answer_that_cannot_travel_is_redone_here_after_finishing_within_budget():
    import os
    import threading

    def work(item):
        return (os.getpid(), threading.Lock()) if item else (os.getpid(), "ok")

    first, second = list(run_within(Limits(seconds=5), [0, 1], work))
    assert first[1] == "ok" and first[0] != os.getpid()  # sent back from the worker
    assert second[0] == os.getpid() and isinstance(second[1], type(threading.Lock()))  # redone here


def test_a_worker_that_raises_is_an_internal_error_for_that_item_only():
    def work(item):
        if item == 1:
            raise ValueError("a bug")
        return item

    outcomes = list(run_within(Limits(seconds=5), [0, 1, 2], work))
    assert outcomes[0] == 0 and outcomes[2] == 2
    assert isinstance(outcomes[1], OverBudget) and outcomes[1].reason == "error" and "a bug" in outcomes[1].message


def test_a_batch_imports_its_kinds_libraries_before_the_workers_start(tmp_path):
    """The libraries a batch's kinds name (`imports=`) are imported in this process before the
    first worker is forked, so the workers share them; a lone problem imports nothing extra."""
    import subprocess
    import sys

    problems = tmp_path / "batch.yaml"
    problems.write_text("problems:\n"
                        "  - {id: a, kind: optimize, given: {f: 'x^2', x0: 1, lr: 0.1, steps: 2}}\n"
                        "  - {id: b, kind: conv-shape, given: {input: 10x11, kernel: 3}}\n")
    single = tmp_path / "single.yaml"
    single.write_text("problems:\n  - {id: b, kind: conv-shape, given: {input: 10x11, kernel: 3}}\n")
    code = ("import sys\nfrom pathlib import Path\nfrom solver import pipeline\n"
            "seen = []\nreal = pipeline.run_within\n"
            "def spy(*args, **kwargs):\n"
            "    seen.append([m for m in ('numpy', 'sympy') if m in sys.modules])\n"
            "    return real(*args, **kwargs)\n"
            "pipeline.run_within = spy\n"
            "pipeline.solve_files([Path(sys.argv[1])], limits=pipeline.Limits())\nprint(seen)\n")
    for path, expected in ((problems, "[['numpy', 'sympy']]"), (single, "[[]]")):
        done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120)
        assert done.stdout.strip() == expected, done.stdout + done.stderr
