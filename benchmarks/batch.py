"""Benchmark: one file of 10,000 conv-shape problems (SPEC §8) — the terminal text costs at most
2× the JSON key of the same batch, CPU time in fresh processes measured side by side.

    python benchmarks/batch.py [--problems 10000] [--runs 3]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
from pathlib import Path

from _measure import dlsolve_command, load_note, run_once

GOAL_RATIO = 2.0


def batch_file(path: Path, count: int) -> None:
    rng = random.Random(0)
    lines = ["problems:"]
    for number in range(count):
        h, w, k, s, p = rng.randint(8, 64), rng.randint(8, 64), rng.randint(1, 7), rng.randint(1, 3), rng.randint(0, 2)
        lines.append(f"  - {{id: p{number}, kind: conv-shape, given: {{input: {h}x{w}, kernel: {k}, stride: {s}, "
                     f"padding: {p}}}}}")
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    dlsolve = dlsolve_command()
    with tempfile.TemporaryDirectory() as scratch:
        problems = Path(scratch) / "batch.yaml"
        batch_file(problems, args.problems)
        commands = {fmt: dlsolve + ["solve", str(problems), "--format", fmt] for fmt in ("json", "text")}
        times = {fmt: [] for fmt in commands}
        for _ in range(args.runs):
            for fmt, argv in commands.items():
                with open(Path(scratch) / f"out.{fmt}", "w") as out:  # not a terminal: full width
                    times[fmt].append(run_once(argv, stdout=out))
    print(f"{args.problems:,} conv-shape problems in one file; medians of {args.runs} runs; {load_note()}")
    cpu = {fmt: statistics.median(c for _, c in values) for fmt, values in times.items()}
    for fmt, values in times.items():
        wall = statistics.median(w for w, _ in values)
        print(f"  --format {fmt:5} wall {wall:6.2f} s   cpu {cpu[fmt]:6.2f} s   {cpu[fmt] / cpu['json']:.2f}× JSON")
    ratio = cpu["text"] / cpu["json"]
    print(f"goal: text at most {GOAL_RATIO:.0f}× JSON (CPU) — {'met' if ratio <= GOAL_RATIO else 'NOT met'} ({ratio:.2f}×)")


if __name__ == "__main__":
    main()
