"""The training tasks, one module each; the module name is the task name with '_' for '-'.

A task module holds SUMMARY (one line), DEFAULTS (epochs, batch_size, lr, ...) and
train(config: TrainConfig) -> dict of final metrics. A task whose defaults depend on its
options (e.g. --full) may add defaults_for(config) -> dict. Listing the tasks reads module names
only (pkgutil), so it imports none of them and none of their libraries.
"""

from __future__ import annotations

import difflib
import importlib
import pkgutil
from types import ModuleType

from solver.train.config import TrainConfig


class UnknownTaskError(ValueError):
    """A task name that no module in this package provides."""


def task_names() -> list[str]:
    """Every task name, sorted, without importing any task module."""
    return sorted(info.name.replace("_", "-") for info in pkgutil.iter_modules(__path__)
                  if not info.name.startswith("_"))


def load_task(name: str) -> ModuleType:
    """Import one task module by task name; an unknown name lists the known ones."""
    names = task_names()
    if name not in names:
        close = difflib.get_close_matches(name, names, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise UnknownTaskError(f"unknown task {name!r}.{hint} Tasks: {', '.join(names)}")
    return importlib.import_module(f"{__name__}.{name.replace('-', '_')}")


def task_summaries() -> dict[str, str]:
    """Task name -> one-line summary (imports every task module, each cheap at top level)."""
    return {name: load_task(name).SUMMARY for name in task_names()}


def task_defaults(module: ModuleType, config: TrainConfig) -> dict:
    chooser = getattr(module, "defaults_for", None)
    return chooser(config) if chooser is not None else module.DEFAULTS


def run_task(config: TrainConfig) -> dict:
    """Run config.task with the task's defaults filling every option not given."""
    module = load_task(config.task)
    return module.train(config.with_defaults(task_defaults(module, config)))
