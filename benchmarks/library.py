"""Benchmark: solve the bundled problem library in one process, to each key format (SPEC §8:
under 3 s to JSON, 4 s to Markdown, 6 s to HTML, figures included).

    python benchmarks/library.py [--repeat 3] [--path problems/] [--formats json,md,html]

Each run is a fresh `dlsolve solve PATH --format F -o FILE`: start-up, YAML, every solver
(sympy and NumPy imported on first use), the key, and for Markdown and HTML every figure
(matplotlib imported, each figure drawn once). The formats are run in turn, repeat after
repeat, and compared by CPU time with the JSON key of the same run; then the slowest files
of one in-process pass, to show where the solving time goes.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from _measure import REPO, dlsolve_command, load_note, run_once

GOALS_S = {"json": 3.0, "md": 4.0, "html": 6.0}


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
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--path", type=Path, default=REPO / "problems")
    parser.add_argument("--formats", default="json,md,html")
    args = parser.parse_args()
    path = args.path.resolve()
    formats = args.formats.split(",")
    dlsolve = dlsolve_command()
    times: dict[str, list[tuple[float, float]]] = {fmt: [] for fmt in formats}
    with tempfile.TemporaryDirectory() as scratch:
        commands = {fmt: dlsolve + ["solve", str(path), "--format", fmt, "-o", str(Path(scratch) / f"key.{fmt}")]
                    for fmt in formats}
        run_once(commands[formats[0]])  # file and bytecode caches
        for _ in range(args.repeat):
            for fmt, argv in commands.items():
                times[fmt].append(run_once(argv))
    shown = path.relative_to(REPO) if path.is_relative_to(REPO) else path
    print(f"dlsolve solve {shown}: medians of {args.repeat} runs; {load_note()}")
    cpu = {fmt: statistics.median(c for _, c in values) for fmt, values in times.items()}
    for fmt, values in times.items():
        wall = statistics.median(w for w, _ in values)
        ratio = f"   {cpu[fmt] / cpu['json']:.2f}× JSON" if "json" in cpu else ""
        goal = GOALS_S.get(fmt)
        verdict = f"   goal {goal:.0f} s: {'met' if cpu[fmt] < goal else 'NOT met'}" if goal else ""
        print(f"  --format {fmt:5} wall {wall:6.2f} s   cpu {cpu[fmt]:6.2f} s{ratio}{verdict}")
    print("slowest files (one in-process pass, solving only):")
    for seconds, file, problems in slowest_files(path):
        print(f"  {seconds * 1000:7.0f} ms  {file} ({problems} problems)")


if __name__ == "__main__":
    main()
