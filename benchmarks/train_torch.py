"""Accuracy and wall time of the PyTorch training tasks against their goals.

    python benchmarks/train_torch.py [--data-dir DIR] [--cifar-dir DIR] [--only NAME ...]
                                     [--precision] [--threads N]

Each goal runs its task with the default settings in a fresh run folder (a temporary
directory) and prints one Markdown row: the metric, the goal, the wall time of the whole run
(data loading included) and of the training alone, the CPU time of the process, and the
1-minute load average before and after. On a shared machine the wall time says as much about
the neighbours as about the code: read it with the load beside it. With --precision, the
CNN tasks are also run with bfloat16 autocast, to compare with float32.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

# name, task, options, metric, goal (metric must be >= goal, or <= for losses), time limit (s)
GOALS = [
    ("mnist-cnn", "mnist-cnn", {"extra": {"baseline": False}}, "test_accuracy", 0.993, 60),
    ("mnist-cnn+baseline", "mnist-cnn", {}, "test_accuracy", 0.993, None),
    ("mnist-rnn-lstm", "mnist-rnn", {"cell": "lstm"}, "test_accuracy", 0.985, 60),
    ("mnist-rnn-gru", "mnist-rnn", {"cell": "gru"}, "test_accuracy", 0.985, 60),
    ("cifar10-cnn", "cifar10-cnn", {}, "test_accuracy", 0.80, 300),
    ("shakespeare-lstm", "shakespeare-lstm", {}, "val_loss", 1.45, 600),
    ("shakespeare-lstm-numpy", "shakespeare-lstm", {"backend": "numpy"}, "val_loss", None, None),
]
PRECISION_RUNS = ["mnist-cnn", "cifar10-cnn"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None, help="folder with mnist/, tinyshakespeare.txt")
    parser.add_argument("--cifar-dir", default=None, help="folder of the CIFAR-10 python batches")
    parser.add_argument("--only", nargs="*", default=None, help="goal names to run")
    parser.add_argument("--precision", action="store_true", help="also run the CNNs in bfloat16")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads (default: all cores)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.threads:
        os.environ["OMP_NUM_THREADS"] = str(args.threads)
    os.environ.setdefault("DLSOLVE_QUIET", "1")

    import torch

    from solver.train.config import TrainConfig
    from solver.train.tasks import run_task

    cpu = platform.processor() or platform.machine()
    print(f"python {platform.python_version()}, torch {torch.__version__}, {os.cpu_count()} CPUs "
          f"({cpu}), CPU capability {torch.backends.cpu.get_cpu_capability()}, "
          f"threads {args.threads or 'all'}, seed {args.seed}")
    print()
    print("| goal | precision | metric | value | goal | wall (s) | train (s) | CPU (s) "
          "| load before → after | also |")
    print("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- | --- |")
    runs = [(goal, None) for goal in GOALS]
    if args.precision:
        runs += [(goal, "bf16") for goal in GOALS if goal[0] in PRECISION_RUNS]
    with tempfile.TemporaryDirectory() as scratch:
        for (name, task, options, metric, goal, limit_s), precision in runs:
            if args.only and name not in args.only:
                continue
            options = {**options, "extra": dict(options.get("extra", {}))}
            if precision:
                options["extra"]["precision"] = precision
            load_before = os.getloadavg()[0]
            wall, cpu_time = time.perf_counter(), time.process_time()
            final = run_task(TrainConfig(
                task=task, data_dir=args.data_dir, cifar_dir=args.cifar_dir, seed=args.seed,
                out=str(Path(scratch) / f"{name}-{precision}"), **options))
            wall, cpu_time = time.perf_counter() - wall, time.process_time() - cpu_time
            value = final[metric]
            shown = f"{100 * value:.2f} %" if "accuracy" in metric else f"{value:.3f}"
            if goal is None:
                target = "–"
            else:
                target = (f"≥ {100 * goal:.1f} %" if "accuracy" in metric else f"≤ {goal}")
                target += f" in {limit_s} s" if limit_s else ""
            print(f"| {name} | {precision or 'default'} | {metric} | {shown} | {target} | "
                  f"{wall:.1f} | {final.get('train_time_s', float('nan')):.1f} | {cpu_time:.1f} | "
                  f"{load_before:.1f} → {os.getloadavg()[0]:.1f} | {also(final)} |", flush=True)


def also(final: dict) -> str:
    """The figures a goal's row should be read with: the baseline, the gain of TTA."""
    notes = []
    if "baseline_test_accuracy" in final:
        notes.append(f"baseline {100 * final['baseline_test_accuracy']:.2f} % "
                     f"in {final['baseline_train_time_s']:.0f} s")
    if "test_accuracy_no_tta" in final:
        notes.append(f"without TTA {100 * final['test_accuracy_no_tta']:.2f} %")
    if "unigram_val_loss" in final:
        notes.append(f"unigram baseline {final['unigram_val_loss']:.3f}")
    return "; ".join(notes) or "–"


if __name__ == "__main__":
    main()
