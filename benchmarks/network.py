"""Benchmark: analyse a 50-layer network after start-up (SPEC §8; target under 50 ms).

    python benchmarks/network.py [--repeat 20]

Start-up (Python, pydantic, the kind module) is excluded: the first solve warms everything, then
the median of the following runs is reported. The network mixes 3×3 convolutions, pooling,
activations, batch norm and fully connected layers, every layer with its worked steps.
"""

from __future__ import annotations

import argparse
import statistics
import time

TARGET_MS = 50.0


def fifty_layers() -> str:
    block = ["conv 32 3 p=1", "batchnorm", "relu"]
    layers = block * 14 + ["maxpool 2", "conv 64 3 p=1", "relu", "maxpool 2", "flatten", "fc 128", "relu",
                           "fc 10"]
    assert len(layers) == 50
    return "3x64x64 | " + " | ".join(layers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()

    from solver.pipeline import solve_problem
    from solver.spec import LineMap

    problem = {"id": "bench", "kind": "network", "given": {"layers": fifty_layers()}, "find": []}

    def run():
        result = solve_problem(problem, file="benchmark", lines=LineMap(), prefix=(), decimals=None)
        assert result.error is None, result.error
        return result

    run()  # start-up: imports, registration
    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        result = run()
        times.append((time.perf_counter() - start) * 1000)
    median = statistics.median(times)
    rows = len(result.answers["layers"])
    print(f"network: {rows} layers, {len(result.solution.steps)} steps; median {median:.1f} ms, "
          f"best {min(times):.1f} ms over {args.repeat} runs (target < {TARGET_MS:.0f} ms): "
          f"{'ok' if median < TARGET_MS else 'SLOW'}")


if __name__ == "__main__":
    main()
