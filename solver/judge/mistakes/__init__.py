"""The catalogue of known mistakes, per kind (SPEC §9).

Each mistake recomputes the answers as the mistaken student would: where possible by the
kind's own solve on a modified `given` (padding halved, `bias: false`, the other
`momentum_form`, `round_intermediate` flipped), otherwise by a small transformation of the
right answers (a transposed gradient). A mistake returns None where it does not apply.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Mistake:
    id: str
    kinds: tuple[str, ...]
    says: str  # one sentence for the student
    fields: str  # regular expression of the answer paths it can explain
    # (given, result) -> (given, round_intermediate): the mistaken problem, solved by the kind
    modify: Callable[[dict, Any], tuple[dict, bool] | None] | None = None
    # (result) -> answers: the mistaken answers computed directly
    recompute: Callable[[Any], dict | None] | None = None
    example: dict = field(default_factory=dict)  # {"given": …, "field": …} for `dlsolve mistakes`
    # optimize: (Settings) -> Settings | None, the run's settings as the student used them; also
    # applied from the student's own earlier values (follow-through with the mistake)
    settings: Callable[[Any], Any] | None = None


@dataclass(frozen=True)
class Coincidence:
    kind: str
    mistakes: tuple[str, ...]
    when: str


_MODULES = ("shapes", "counts", "sequences", "posenc")


def catalogue() -> list[Mistake]:
    import importlib

    found: list[Mistake] = []
    for name in _MODULES:
        found += importlib.import_module(f"{__name__}.{name}").MISTAKES
    return found


def for_kind(kind: str) -> list[Mistake]:
    return [m for m in catalogue() if kind in m.kinds]


def coincidences() -> list[Coincidence]:
    import importlib

    found: list[Coincidence] = []
    for name in _MODULES:
        found += getattr(importlib.import_module(f"{__name__}.{name}"), "COINCIDENCES", [])
    return found


def solve_given(kind_name: str, given: dict, *, decimals: int, round_intermediate: bool = False):
    """The kind's own answers for a (modified) given; None when the kind rejects it."""
    from ...context import Context
    from ...registry import get_kind

    kind = get_kind(kind_name)
    given = {key: value for key, value in given.items() if value is not None}
    try:
        model = kind.input_model.model_validate(given)
        return kind.solve(model, Context(decimals=decimals, round_intermediate=round_intermediate)).answers
    except Exception:  # the mistaken problem cannot be solved: the mistake does not apply
        return None


def hand_rounding(kinds: tuple[str, ...], example: dict) -> Mistake:
    return Mistake(
        "hand-rounding", kinds,
        "Intermediate values were rounded to the problem's decimals (or kept exact where hand "
        "rounding was asked), and the rounding carried through.",
        r".*", modify=lambda given, result: (given, not result.round_intermediate), example=example)
