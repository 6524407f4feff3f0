"""Rounding and number formatting shared by renderers, `check` and hand-rounding.

Rounding is half away from zero, as people round by hand (2.675 -> 2.68), applied to the
shortest decimal representation of the number rather than to its binary expansion.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from fractions import Fraction


def _as_decimal(x) -> Decimal:
    if isinstance(x, Fraction):
        return Decimal(x.numerator) / Decimal(x.denominator)
    return Decimal(repr(float(x))) if not isinstance(x, int) else Decimal(x)


def round_half_away(x, decimals: int):
    """Round a real number to `decimals` places, half away from zero; ints stay ints."""
    if isinstance(x, bool) or isinstance(x, int):
        return x
    value = float(x)
    if value != value or value in (float("inf"), float("-inf")):
        return value
    quantum = Decimal(1).scaleb(-decimals)
    try:
        return float(_as_decimal(x).quantize(quantum, rounding=ROUND_HALF_UP))
    except InvalidOperation:  # more digits than Decimal's precision: the decimals cannot matter
        return value


def is_integral(x) -> bool:
    if isinstance(x, bool):
        return False
    if isinstance(x, int):
        return True
    if isinstance(x, Fraction):
        return x.denominator == 1
    try:
        return float(x).is_integer()
    except (TypeError, ValueError):
        return False


def _is_exact(x, rounded: float) -> bool:
    """Whether rounding left the number as it was (its shortest decimal form)."""
    try:
        return _as_decimal(x) == _as_decimal(rounded)
    except (InvalidOperation, ValueError, OverflowError):
        return True


def format_number(x, decimals: int) -> str:
    """A number for display: integers plainly; a real that rounding changes with all `decimals`
    places, as a key writes a rounded value (sin 5 = -0.9589, PE = -0.9750 at 4 decimals); a
    real that is exact in fewer places as it is (0.5, 1.66, 3), as a given value is written;
    anything that rounds to zero is shown as 0."""
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, int):
        return str(x)
    value = float(x)
    if value != value:
        return "nan"
    if value in (float("inf"), float("-inf")):
        return "∞" if value > 0 else "-∞"
    rounded = round_half_away(x, decimals)
    text = f"{rounded:.{decimals}f}"
    if "." in text and _is_exact(x, rounded):
        text = text.rstrip("0").rstrip(".")
    if not text.strip("-0."):  # 0, -0, 0.0000: a value that rounds to zero is 0
        text = "0"
    return text
