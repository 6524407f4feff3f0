"""Problem kinds declare themselves here; the CLI and the pipeline look them up by name.

A kind lives in `solver/kinds/<name with _>.py`, or inside a family package
`solver/kinds/<family>/<name with _>.py` next to its relatives and their helpers, and registers
itself with `@register`. Listing kinds reads module and folder names only (no imports), and
looking one up imports just that module (and its family package's empty `__init__`), so a
one-kind command stays fast (SPEC §8). Modules and packages whose names start with `_` are
helpers, not kinds; a family package holds no kind of its own name beyond its modules.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import BadInput, did_you_mean

_KINDS_PACKAGE = "solver.kinds"
_REGISTRY: dict[str, "Kind"] = {}


@dataclass(frozen=True)
class Kind:
    name: str
    input_model: type  # a pydantic model (solver.inputs.KindInput)
    solve: Callable[[Any, Any], Any]  # (validated input, Context) -> Solution
    summary: str
    answers: dict[str, str]  # answer name (pattern) -> what it holds
    positional: str | None = None  # the field a bare command-line argument fills
    example: str = ""  # command-line flags of a typical call
    template: dict = field(default_factory=dict)  # `given` of a typical problem, for `new`
    # Optional (answer name, claimed, computed, ProblemResult) -> bool | None for answers that
    # need more than a numeric comparison (a gate network is checked by its truth table).
    compare: Callable | None = None
    # Libraries its usual problems import while solving ("numpy", "sympy"): a batch imports
    # them once, before its budget workers start (pipeline._import_for). Only a speed hint.
    imports: tuple[str, ...] = ()


def register(
    name: str,
    input_model: type,
    *,
    summary: str,
    answers: dict[str, str],
    positional: str | None = None,
    example: str = "",
    template: dict | None = None,
    compare: Callable | None = None,
    imports: tuple[str, ...] = (),
) -> Callable:
    """Decorator for a kind's `solve(given, ctx) -> Solution`."""

    def decorate(solve: Callable) -> Callable:
        if name in _REGISTRY:
            raise RuntimeError(f"problem kind {name!r} is registered twice")
        _REGISTRY[name] = Kind(name, input_model, solve, summary, answers, positional,
                               example, dict(template or {}), compare, tuple(imports))
        return solve

    return decorate


def kind_modules() -> dict[str, str]:
    """Kind name -> the module that registers it, from file and folder names alone.

    A module `solver/kinds/x_y.py` is kind `x-y`; a package `solver/kinds/family/` contributes
    one kind per public module inside it (`family/x_y.py` is kind `x-y`). Nothing is imported
    but `solver.kinds` itself, whose `__init__` is empty.
    """
    package = importlib.import_module(_KINDS_PACKAGE)
    found: list[tuple[str, str]] = []  # (module name, dotted path)
    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith("_"):
            continue
        if not info.ispkg:
            found.append((info.name, f"{_KINDS_PACKAGE}.{info.name}"))
            continue
        family_path = [str(Path(entry) / info.name) for entry in package.__path__]
        found += [(member.name, f"{_KINDS_PACKAGE}.{info.name}.{member.name}")
                  for member in pkgutil.iter_modules(family_path)
                  if not member.name.startswith("_") and not member.ispkg]
    modules: dict[str, str] = {}
    for module_name, dotted in found:
        name = module_name.replace("_", "-")
        if name in modules:
            raise RuntimeError(f"problem kind {name!r} has two modules: {modules[name]} and {dotted}")
        modules[name] = dotted
    return modules


def kind_names() -> list[str]:
    """All kind names, from module names alone."""
    return sorted(kind_modules())


def get_kind(name: str) -> Kind:
    """Import the kind's module on first use; an unknown name suggests the closest one."""
    if name in _REGISTRY:
        return _REGISTRY[name]
    modules = kind_modules()
    if not isinstance(name, str) or name not in modules:
        raise BadInput(f"unknown kind {name!r}{did_you_mean(str(name), sorted(modules))}; "
                       f"`dlsolve kinds` lists them", field="kind")
    importlib.import_module(modules[name])
    if name not in _REGISTRY:
        raise RuntimeError(f"module for kind {name!r} did not register it")
    return _REGISTRY[name]


def all_kinds() -> list[Kind]:
    return [get_kind(name) for name in kind_names()]
