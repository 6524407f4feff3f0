"""Benchmark: solve the bundled problem library in one process (SPEC §8; goal under 3 s,
figures excluded).

    python benchmarks/library.py [--repeat 5] [--path problems/]

Each run is a fresh `dlsolve solve PATH --format json -o FILE`: start-up, YAML, every solver
(sympy and NumPy imported on first use) and the JSON key, but no figure is drawn (JSON holds
none). The median and best wall times are printed, then the slowest files of one in-process
run, to show where the time goes.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOAL_S = 3.0
REPO = Path(__file__).resolve().parents[1]
# Installed code runs from cached bytecode; a user never pays for recompiling (see startup.py).
ENV = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}


def one_process_run(path: Path, out: Path) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "solver.cli", "solve", str(path), "--format", "json",
                    "-o", str(out)], check=True, capture_output=True, env=ENV, cwd=REPO)
    return time.perf_counter() - start


def slowest_files(path: Path, count: int = 6) -> list[tuple[float, str, int]]:
    """(seconds, file, problems) of one in-process pass; the first files also pay for imports."""
    from solver.pipeline import collect_paths, solve_file

    rows = []
    for file in collect_paths([path]):
        start = time.perf_counter()
        result = solve_file(file)
        rows.append((time.perf_counter() - start, str(file.relative_to(REPO)), len(result.problems)))
    return sorted(rows, reverse=True)[:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--path", type=Path, default=REPO / "problems")
    args = parser.parse_args()
    path = args.path.resolve()

    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "key.json"
        one_process_run(path, out)  # file and bytecode caches
        walls = [one_process_run(path, out) for _ in range(args.repeat)]
    median = statistics.median(walls)
    print(f"dlsolve solve {path.relative_to(REPO) if path.is_relative_to(REPO) else path} --format json: "
          f"median {median:.2f} s, best {min(walls):.2f} s over {args.repeat} runs; "
          f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print(f"goal: under {GOAL_S:.0f} s —", "met" if median < GOAL_S else "NOT met")
    print("slowest files (one in-process pass):")
    for seconds, file, problems in slowest_files(path):
        print(f"  {seconds * 1000:7.0f} ms  {file} ({problems} problems)")


if __name__ == "__main__":
    main()
