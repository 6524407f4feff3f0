"""Accuracy and time of the NumPy training tasks with their default settings.

    python benchmarks/train_numpy.py [--data-dir DIR] [--skip-full] [--threads N]

Runs mnist-mlp-numpy (50k / 10k / 10k), mnist-lenet-numpy on the exercise's 2,000 / 500
subset and mnist-lenet-numpy --full, each in a fresh run folder under a temporary directory,
and prints a Markdown table: test (and validation) accuracy, wall time of the whole run,
CPU time of the process, and the load average around it, because the wall time on a shared
machine says as much about the neighbours as about the code.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

RUNS = [
    ("mnist-mlp-numpy", {}),
    ("mnist-lenet-numpy", {}),
    ("mnist-lenet-numpy", {"full": True}),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None, help="folder with mnist/ (else $DLSOLVE_DATA or the cache)")
    parser.add_argument("--skip-full", action="store_true", help="leave out LeNet on the full split")
    parser.add_argument("--threads", type=int, default=None, help="BLAS threads (e.g. 1 on a busy machine)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.threads:
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = str(args.threads)
    os.environ.setdefault("DLSOLVE_QUIET", "1")

    import numpy as np

    from solver.train.config import TrainConfig
    from solver.train.tasks import run_task

    print(f"python {platform.python_version()}, numpy {np.__version__}, {os.cpu_count()} CPUs, "
          f"BLAS threads {args.threads or 'default'}, seed {args.seed}")
    print()
    print("| task | options | epochs | val acc | test acc | wall (s) | CPU (s) | load 1 min before → after |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |")
    with tempfile.TemporaryDirectory() as scratch:
        for task, options in RUNS:
            if options.get("full") and args.skip_full:
                continue
            load_before = os.getloadavg()[0]
            wall, cpu = time.perf_counter(), time.process_time()
            final = run_task(TrainConfig(task=task, data_dir=args.data_dir, seed=args.seed,
                                         out=str(Path(scratch) / f"{task}-{len(options)}"), **options))
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            val = f"{100 * final['val_accuracy']:.2f} %" if "val_accuracy" in final else "–"
            print(f"| {task} | {' '.join('--' + k for k in options) or 'defaults'} | {final['epochs']} | "
                  f"{val} | {100 * final['test_accuracy']:.2f} % | {wall:.1f} | {cpu:.1f} | "
                  f"{load_before:.1f} → {os.getloadavg()[0]:.1f} |", flush=True)


if __name__ == "__main__":
    main()
