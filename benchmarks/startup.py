"""Start-up benchmark (SPEC §8): median wall time of a numeric one-problem command beside a bare
`python -c pass`. Goal: under 0.2 s on a 2-core machine. Run: python benchmarks/startup.py"""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

RUNS = 21
COMMAND = ["conv-shape", "--input", "10x11", "--kernel", "3", "--stride", "2"]


# An installed package runs from cached bytecode; with PYTHONDONTWRITEBYTECODE set (as on some
# CI and container images) every run would recompile dlsolve's modules (≈ 45 ms), which is not
# what a user sees. The warm-up run below writes the cache.
ENV = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}


def median_seconds(argv: list[str]) -> tuple[float, float]:
    """Median wall time and median CPU time (user + system) of a command."""
    walls, cpus = [], []
    for _ in range(RUNS):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True, env=ENV)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    script = shutil.which("dlsolve", path=str(Path(sys.executable).parent)) or shutil.which("dlsolve")
    dlsolve = [script] if script else [sys.executable, "-m", "solver.cli"]
    subprocess.run(dlsolve + COMMAND, check=True, capture_output=True, env=ENV)  # file and bytecode caches
    bare, bare_cpu = median_seconds([sys.executable, "-c", "pass"])
    full, full_cpu = median_seconds(dlsolve + COMMAND)
    load = os.getloadavg()[0]
    print(f"medians of {RUNS} runs; load average {load:.2f} on {os.cpu_count()} cores")
    print(f"{'command':58} {'wall':>9} {'cpu':>9}")
    print(f"{'python -c pass':58} {bare * 1000:7.1f}ms {bare_cpu * 1000:7.1f}ms")
    print(f"{'dlsolve ' + ' '.join(COMMAND):58} {full * 1000:7.1f}ms {full_cpu * 1000:7.1f}ms")
    print("goal: under 200 ms wall —", "met" if full < 0.2 else "NOT met")


if __name__ == "__main__":
    main()
