"""Shared by the benchmarks: run a command in a fresh process and measure its wall and CPU time.

CPU time (user + system of the child) is what the figures compare: on a shared machine wall
time mostly measures the other work. Ratios against a baseline measured in the same run
(`python -c pass`, the JSON key) cancel out the machine's speed."""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Installed code runs from cached bytecode; a user never pays for recompiling it.
ENV = {key: value for key, value in os.environ.items() if key not in ("PYTHONDONTWRITEBYTECODE",
                                                                      "DLSOLVE_FULL_PATH")}


def dlsolve_command() -> list[str]:
    """The `dlsolve` script of this environment when it is the fast entry point, else the same
    entry point through `python -m solver` (an editable install made before the entry moved)."""
    script = shutil.which("dlsolve", path=str(Path(sys.executable).parent))
    if script and "solver.fast" in Path(script).read_text(errors="replace"):
        return [script]
    return [sys.executable, "-m", "solver"]


def run_once(argv: list[str], stdout=subprocess.DEVNULL, env: dict | None = None) -> tuple[float, float]:
    """(wall, cpu) seconds of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=stdout, stderr=subprocess.DEVNULL, env=env or ENV, cwd=REPO)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def medians(commands: dict[str, list[str]], runs: int) -> dict[str, tuple[float, float]]:
    """Median (wall, cpu) of each command, the commands interleaved run by run so that a change
    in the machine's load touches all of them alike."""
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for argv in commands.values():
        run_once(argv)  # file and bytecode caches
    for _ in range(runs):
        for name, argv in commands.items():
            times[name].append(run_once(argv))
    return {name: (statistics.median(w for w, _ in values), statistics.median(c for _, c in values))
            for name, values in times.items()}


def load_note() -> str:
    return f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"
