"""Start-up benchmark (SPEC §8): median wall time of a numeric one-problem command beside a bare
`python -c pass`. Goal: under 0.2 s on a 2-core machine. Run: python benchmarks/startup.py"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

RUNS = 21
COMMAND = ["conv-shape", "--input", "10x11", "--kernel", "3", "--stride", "2"]


def median_seconds(argv: list[str]) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    script = shutil.which("dlsolve", path=str(Path(sys.executable).parent)) or shutil.which("dlsolve")
    dlsolve = [script] if script else [sys.executable, "-m", "solver.cli"]
    subprocess.run(dlsolve + COMMAND, check=True, capture_output=True)  # warm the file cache
    bare = median_seconds([sys.executable, "-c", "pass"])
    full = median_seconds(dlsolve + COMMAND)
    print(f"python -c pass:                  {bare * 1000:7.1f} ms (median of {RUNS})")
    print(f"dlsolve {' '.join(COMMAND)}: {full * 1000:7.1f} ms (median of {RUNS})")
    print(f"dlsolve's own share:             {(full - bare) * 1000:7.1f} ms")
    print("goal: under 200 ms wall —", "met" if full < 0.2 else "NOT met")


if __name__ == "__main__":
    main()
