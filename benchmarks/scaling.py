"""Benchmark: cost grows linearly with the work (SPEC §8) — a network of 10,000 layers, a
512×512 `convolve`, 10,000 problems in one file, each beside a tenth of it, CPU time of fresh
`dlsolve solve FILE --format json` processes. Linear cost shows as a ratio near 10 (less where
start-up and imports weigh in the smaller run).

    python benchmarks/scaling.py [--runs 1]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

from _measure import dlsolve_command, load_note, run_once


def network(layers: int) -> str:
    chain = " | ".join(["fc 8"] * layers)
    return f"problems:\n  - {{id: deep, kind: network, given: {{layers: \"8 | {chain}\"}}}}\n"


def convolve(side: int) -> str:
    image = [[(7 * row + column) % 11 - 5 for column in range(side)] for row in range(side)]
    return ("problems:\n  - id: big\n    kind: convolve\n    given:\n"
            f"      input: {json.dumps(image)}\n      filters: [[1, 0, -1], [2, 0, -2], [1, 0, -1]]\n")


def problems(count: int) -> str:
    return "problems:\n" + "".join(
        f"  - {{id: p{n}, kind: conv-shape, given: {{input: {8 + n % 50}x{9 + n % 40}, kernel: {1 + n % 5}, "
        f"stride: {1 + n % 3}}}}}\n" for n in range(count))


CASES = {  # name: (builder, small size, full size)
    "network, fc layers": (network, 1_000, 10_000),
    "convolve, side of a square input (pixels ×10.2)": (convolve, 160, 512),
    "conv-shape problems in one file": (problems, 1_000, 10_000),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    dlsolve = dlsolve_command()
    print(f"CPU seconds, medians of {args.runs} run(s); {load_note()}")
    with tempfile.TemporaryDirectory() as scratch:
        for name, (build, small, full) in CASES.items():
            cpu = {}
            for size in (small, full):
                path = Path(scratch) / f"case-{size}.yaml"
                path.write_text(build(size))
                argv = dlsolve + ["solve", str(path), "--format", "json"]
                cpu[size] = statistics.median(run_once(argv)[1] for _ in range(args.runs))
            print(f"  {name:50} {small:>6,}: {cpu[small]:6.2f} s   {full:>6,}: {cpu[full]:6.2f} s   "
                  f"ratio {cpu[full] / cpu[small]:5.1f}")


if __name__ == "__main__":
    main()
