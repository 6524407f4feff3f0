"""What a solver needs to know besides its inputs: precision and hand-rounding."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .numbers import round_half_away


@dataclass
class Context:
    decimals: int = 4
    round_intermediate: bool = False
    find: list[str] = field(default_factory=list)
    base_dir: Path | None = None  # folder of the problem file, for relative paths

    def hand_round(self, value):
        """Round a computed quantity as a hand calculation would, when the problem asks to
        (SPEC §5 `round_intermediate`); otherwise return it unchanged."""
        if not self.round_intermediate:
            return value
        return round_values(value, self.decimals)


def round_values(value, decimals: int):
    """Round a number, a (nested) list or a NumPy array, half away from zero."""
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        import numpy as np

        flat = [round_half_away(float(v), decimals) for v in np.asarray(value, dtype=float).ravel()]
        return np.array(flat, dtype=float).reshape(value.shape)
    if isinstance(value, (list, tuple)):
        return type(value)(round_values(v, decimals) for v in value)
    if isinstance(value, (int, float)) or hasattr(value, "denominator"):
        return round_half_away(value, decimals)
    return value
