"""Start-up benchmark (SPEC §8): a numeric one-problem command, and `solve` of a one-problem
file, beside a bare `python -c pass` measured in the same run. Goal: at most 0.15 s wall and at
most 5× `python -c pass`. Run: python benchmarks/startup.py [--runs 21]"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from _measure import dlsolve_command, load_note, medians

GOAL_S, GOAL_RATIO = 0.15, 5.0
ONE_PROBLEM = "problems:\n  - {id: q1, kind: conv-shape, given: {input: 10x11, kernel: 3, stride: 2}}\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    dlsolve = dlsolve_command()
    with tempfile.TemporaryDirectory() as scratch:
        problem = Path(scratch) / "one.yaml"
        problem.write_text(ONE_PROBLEM)
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "dlsolve conv-shape --input 10x11 --kernel 3 --stride 2":
                dlsolve + ["conv-shape", "--input", "10x11", "--kernel", "3", "--stride", "2"],
            "… --format json": dlsolve + ["conv-shape", "--input", "10x11", "--kernel", "3", "--stride", "2",
                                          "--format", "json"],
            "dlsolve network LeNet-5 string": dlsolve + [
                "network", "1x32x32 | conv 6 5 | maxpool 2 | conv 16 5 | maxpool 2 | fc 120 | fc 84 | fc 10"],
            "dlsolve solve one-problem.yaml": dlsolve + ["solve", str(problem)],
            "the full command line (DLSOLVE_FULL_PATH=1)":
                ["env", "DLSOLVE_FULL_PATH=1"] + dlsolve + ["conv-shape", "--input", "10x11", "--kernel", "3",
                                                           "--stride", "2"],
        }
        results = medians(commands, args.runs)
    bare_wall, bare_cpu = results["python -c pass"]
    print(f"medians of {args.runs} runs, interleaved; {load_note()}; {' '.join(dlsolve[:2])}")
    print(f"{'command':58} {'wall':>8} {'cpu':>8} {'× pass (wall)':>14} {'× pass (cpu)':>13}")
    for name, (wall, cpu) in results.items():
        print(f"{name:58} {wall * 1000:6.0f}ms {cpu * 1000:6.0f}ms {wall / bare_wall:13.1f}× "
              f"{cpu / bare_cpu:12.1f}×")
    for name, (wall, _) in list(results.items())[1:5]:
        met = wall <= GOAL_S and wall / bare_wall <= GOAL_RATIO
        print(f"goal (≤ {GOAL_S} s and ≤ {GOAL_RATIO:.0f}× pass) for {name}: {'met' if met else 'NOT met'}")


if __name__ == "__main__":
    main()
