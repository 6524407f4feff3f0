"""A run folder: the history, checkpoint, model and report of one training run.

Layout of `runs/<task>-<timestamp>/` (or the folder given by --out):

    metrics.json     {"task", "config", "epochs": [{"epoch": 1, ...}, ...], "final": {...}}
    config.json      the configuration the run used
    checkpoint.npz   last completed epoch of a NumPy task (a torch task writes checkpoint.pt)
    <model file>     .npz for NumPy models, .pt state dict for PyTorch ones
    curves.png       loss and error per epoch
    report.md        configuration, results table, curves, the task's own sections

Accuracies and error rates are fractions in [0, 1] everywhere in these files.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from solver.output import atomic_path, write_atomic, write_json

RUNS_ROOT = Path("runs")
CHECKPOINT_FILE = "checkpoint.npz"
QUIET_ENV = "DLSOLVE_QUIET"
# np.savez holds flat names; nested dicts are stored as "outer/inner" keys.
_KEY_SEP = "/"


class Run:
    """One run folder; create it with Run.create."""

    def __init__(self, directory: Path, task: str, config: dict, resume: bool,
                 epochs: list[dict] | None = None):
        self.dir = Path(directory)
        self.task = task
        self.config = dict(config)
        self.resume = resume
        self.epochs: list[dict] = list(epochs or [])
        self.final: dict = {}

    # ------------------------------------------------------------------ creation

    @classmethod
    def create(cls, out_dir: str | Path | None, task: str, config: dict, resume: bool = False) -> "Run":
        """Open the run folder, new or (with resume) existing.

        Without out_dir a new run gets `runs/<task>-<timestamp>`, and a resumed one continues
        the most recent `runs/<task>-*` folder.
        """
        if out_dir is not None:
            directory = Path(out_dir)
        elif resume:
            directory = latest_run(task) or default_run_dir(task)
        else:
            directory = default_run_dir(task)
        directory.mkdir(parents=True, exist_ok=True)
        epochs = []
        metrics_path = directory / "metrics.json"
        if resume and metrics_path.is_file():
            epochs = json.loads(metrics_path.read_text()).get("epochs", [])
        run = cls(directory, task, config, resume, epochs)
        write_json(directory / "config.json", run.config)
        return run

    def path(self, name: str) -> Path:
        """A file inside the run folder."""
        return self.dir / name

    # ------------------------------------------------------------------ history

    def log_epoch(self, epoch: int, **metrics: Any) -> None:
        """Record one epoch's metrics and rewrite metrics.json.

        Logging an epoch again (after a resume) replaces it and drops any later entries,
        which belonged to the interrupted attempt.
        """
        self.epochs = [e for e in self.epochs if e["epoch"] < epoch]
        self.epochs.append({"epoch": int(epoch), **_plain(metrics)})
        self._write_metrics()
        report_epoch(self.epochs[-1], self.config.get("epochs"))

    def _write_metrics(self) -> None:
        write_json(self.path("metrics.json"), {
            "task": self.task, "config": self.config, "epochs": self.epochs, "final": self.final,
        })

    # ------------------------------------------------------------------ checkpoints

    def save_checkpoint(self, state: dict) -> None:
        """Save arrays and scalars (nested dicts allowed) to checkpoint.npz, without pickle.

        Include the number of the completed epoch (e.g. state["epoch"]) so a resume
        knows where to continue.
        """
        import numpy as np

        with atomic_path(self.path(CHECKPOINT_FILE)) as temp:
            np.savez(temp, **_flatten(state))

    def load_checkpoint(self) -> dict | None:
        """The last checkpoint when resuming, else None (a fresh run ignores old files)."""
        import zipfile

        import numpy as np

        from .data import DataError

        path = self.path(CHECKPOINT_FILE)
        if not self.resume or not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as stored:
                flat = {key: stored[key] for key in stored.files}
            return _unflatten(flat)
        except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile) as error:
            raise DataError(f"{path}: not a readable dlsolve checkpoint ({type(error).__name__}: "
                            f"{str(error)[:120]}); start without --resume or remove the file") from None

    # ------------------------------------------------------------------ progress

    @contextmanager
    def progress(self, total: int, description: str) -> Iterator["ProgressBar"]:
        """A progress bar with live metrics; silent when not on a terminal or DLSOLVE_QUIET=1."""
        bar = ProgressBar(total, description, enabled=progress_enabled())
        with bar:
            yield bar

    # ------------------------------------------------------------------ the end

    def finish(self, final: dict, model_file: str,
               report_sections: list[tuple[str, str]] | tuple = ()) -> None:
        """Write the final metrics, curves.png, config.json and report.md."""
        from solver.train.report import plot_curves, render_report

        if "test_accuracy" not in final and "val_loss" not in final:
            raise ValueError("final metrics must include test_accuracy or val_loss")
        self.final = {**_plain(final), "model_file": model_file}
        self._write_metrics()
        write_json(self.path("config.json"), self.config)
        curves = plot_curves(self.epochs, self.path("curves.png"), title=self.task)
        report = render_report(self.task, self.config, self.epochs, self.final,
                               curves.name if curves else None, list(report_sections))
        write_atomic(self.path("report.md"), report)


def check_interrupt(config, epoch: int) -> None:
    """For tests of --resume: stop as Ctrl-C would, right after the checkpoint of epoch
    `interrupt_after` (a task option no user sets)."""
    stop_after = config.extra.get("interrupt_after")
    if stop_after is not None and epoch == stop_after and epoch < config.epochs:
        raise KeyboardInterrupt(f"interrupted after epoch {epoch}")


def default_run_dir(task: str) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    directory = RUNS_ROOT / f"{task}-{stamp}"
    suffix = 1
    while directory.exists():  # two runs started in the same second
        suffix += 1
        directory = RUNS_ROOT / f"{task}-{stamp}-{suffix}"
    return directory


def latest_run(task: str) -> Path | None:
    """The most recently modified runs/<task>-* folder, if any."""
    if not RUNS_ROOT.is_dir():
        return None
    candidates = [p for p in RUNS_ROOT.glob(f"{task}-*") if p.is_dir()]
    return max(candidates, key=lambda p: p.stat().st_mtime, default=None)


def progress_enabled() -> bool:
    if os.environ.get(QUIET_ENV, "") not in ("", "0"):
        return False
    return sys.stderr.isatty()


class ProgressBar:
    """rich progress bar whose text shows the latest loss / accuracy."""

    def __init__(self, total: int, description: str, enabled: bool):
        self.total = total
        self.description = description
        self.enabled = enabled
        self.completed = 0
        self.metrics: dict[str, float] = {}
        self._progress = None
        self._task = None

    def __enter__(self) -> "ProgressBar":
        if self.enabled:
            from rich.console import Console
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                       TimeElapsedColumn, TimeRemainingColumn)

            self._progress = Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                TimeElapsedColumn(), TimeRemainingColumn(), TextColumn("{task.fields[live]}"),
                console=Console(stderr=True), transient=False,
            )
            self._progress.start()
            self._task = self._progress.add_task(self.description, total=self.total, live="")
        return self

    def advance(self, n: int = 1, **live_metrics: float) -> None:
        self.completed += n
        self.metrics.update(live_metrics)
        if self._progress is not None:
            self._progress.update(self._task, advance=n, live=format_metrics(self.metrics))

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def report_epoch(entry: dict, epochs: int | None) -> None:
    """One line per finished epoch on standard error, validation accuracy included: written
    as the epoch ends, also when the output goes to a pipe or a log file (where the progress
    bar stays silent). DLSOLVE_QUIET=1 silences it."""
    if os.environ.get(QUIET_ENV, "") not in ("", "0"):
        return
    metrics = {k: v for k, v in entry.items() if k not in ("epoch", "elapsed_s") and isinstance(v, (int, float))}
    total = f"/{epochs}" if epochs else ""
    elapsed = f"  ({entry['elapsed_s']:.1f} s)" if isinstance(entry.get("elapsed_s"), (int, float)) else ""
    sys.stderr.write(f"epoch {entry['epoch']}{total}  {format_metrics(metrics)}{elapsed}\n")
    sys.stderr.flush()


def format_metrics(metrics: dict[str, float]) -> str:
    """'loss 0.2314  acc 93.1%': accuracies and errors as percentages, the rest 4 digits."""
    parts = []
    for name, value in metrics.items():
        if any(word in name for word in ("acc", "error")):
            parts.append(f"{name} {100 * value:.1f}%")
        else:
            parts.append(f"{name} {value:.4g}")
    return "  ".join(parts)


def _plain(values: dict) -> dict:
    """JSON-ready copy: numpy and torch scalars become Python numbers."""
    plain = {}
    for key, value in values.items():
        if hasattr(value, "item") and getattr(value, "ndim", 0) == 0:
            value = value.item()
        plain[key] = value
    return plain


def _flatten(state: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in state.items():
        if _KEY_SEP in key:
            raise ValueError(f"checkpoint key {key!r} may not contain {_KEY_SEP!r}")
        name = prefix + key
        if isinstance(value, dict):
            flat.update(_flatten(value, name + _KEY_SEP))
        else:
            flat[name] = value
    return flat


def _unflatten(flat: dict) -> dict:
    state: dict = {}
    for name, value in flat.items():
        *outer, last = name.split(_KEY_SEP)
        node = state
        for key in outer:
            node = node.setdefault(key, {})
        # A 0-d array was a scalar when saved: give back the Python number or string.
        node[last] = value.item() if value.ndim == 0 else value
    return state
