"""Problem kinds declare themselves here; the CLI and the pipeline look them up by name.

A kind lives in `solver/kinds/<name with _>.py` and registers itself with `@register`.
Listing kinds reads module names only (no imports), and looking one up imports just that
module, so a one-kind command stays fast (SPEC §8). Modules whose names start with `_` are
helpers shared by kinds, not kinds.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
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
) -> Callable:
    """Decorator for a kind's `solve(given, ctx) -> Solution`."""

    def decorate(solve: Callable) -> Callable:
        if name in _REGISTRY:
            raise RuntimeError(f"problem kind {name!r} is registered twice")
        _REGISTRY[name] = Kind(name, input_model, solve, summary, answers, positional,
                               example, dict(template or {}), compare)
        return solve

    return decorate


def kind_names() -> list[str]:
    """All kind names, from module names alone."""
    package = importlib.import_module(_KINDS_PACKAGE)
    return sorted(
        info.name.replace("_", "-")
        for info in pkgutil.iter_modules(package.__path__)
        if not info.name.startswith("_")
    )


def get_kind(name: str) -> Kind:
    """Import the kind's module on first use; an unknown name suggests the closest one."""
    if name in _REGISTRY:
        return _REGISTRY[name]
    names = kind_names()
    if not isinstance(name, str) or name not in names:
        raise BadInput(f"unknown kind {name!r}{did_you_mean(str(name), names)}; "
                       f"`dlsolve kinds` lists them", field="kind")
    importlib.import_module(f"{_KINDS_PACKAGE}.{name.replace('-', '_')}")
    if name not in _REGISTRY:
        raise RuntimeError(f"module for kind {name!r} did not register it")
    return _REGISTRY[name]


def all_kinds() -> list[Kind]:
    return [get_kind(name) for name in kind_names()]
