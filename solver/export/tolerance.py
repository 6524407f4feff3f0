"""The numbers a quiz stores for one numeric blank: the key, its tolerance, and how a platform
with a short number field is asked for it.

A real answer is keyed at the problem's `decimals`, rounded half away from zero as everywhere
in dlsolve, with a tolerance of half a unit of the last decimal: with `decimals: 4` the key
0.8135 accepts every response within 0.00005 of it, which is every response that rounds to
0.8135 (what `dlsolve check` calls a match; the only difference is the upper edge, which
`check` rounds away and a platform's ≤ keeps). Integers are keyed exactly (tolerance 0).

Canvas keeps four decimal places of a typed number and turns anything below 1e-4 into 0, so a
key that needs more than four decimals could never be entered there. For such platforms an
answer with `decimals` above 4 is asked in units of 10^-(decimals − 4): with `decimals: 6` the
value 0.000002 is entered as 0.0002 (units of 10⁻²) — key and tolerance scaled alike, so exactly
the same responses are accepted.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Context, Decimal, localcontext
from fractions import Fraction

from ..numbers import round_half_away

_WIDE = Context(prec=400)
FIELD_DECIMALS = 4  # what Canvas keeps of a typed number (and below 1e-4 it stores 0)


@dataclass(frozen=True)
class NumericKey:
    """A key as a platform stores it: `value` ± `tolerance`, entered in units of 10^-scale."""

    value: Decimal
    tolerance: Decimal
    exact: bool  # an integer answer: no tolerance
    scale: int = 0  # the response is the answer × 10^scale

    def accepts(self, response: float | Decimal | str) -> bool:
        """What the platform does with a response (already in the asked units): |r − key| ≤ tol."""
        with localcontext(_WIDE):
            return abs(Decimal(str(response)) - self.value) <= self.tolerance

    @property
    def text(self) -> str:
        return plain(self.value)

    @property
    def tolerance_text(self) -> str:
        return plain(self.tolerance)


def plain(number: Decimal) -> str:
    """A Decimal in plain positional notation (never 1E-7, which some importers misread)."""
    if number == 0:
        return "0"
    text = format(number, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def numeric_key(value: int | float | Fraction, decimals: int) -> NumericKey:
    """The key of one numeric answer at `decimals` places (half a unit of the last decimal)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return NumericKey(Decimal(value), Decimal(0), exact=True)
    if isinstance(value, Fraction) and value.denominator == 1:
        return NumericKey(Decimal(value.numerator), Decimal(0), exact=True)
    with localcontext(_WIDE):  # a float has at most 309 integer digits, decimals at most 15
        rounded = Decimal(repr(round_half_away(value, decimals))).quantize(Decimal(1).scaleb(-decimals))
        rounded = rounded.normalize() if rounded else Decimal(0)  # -0.0000 keys as 0
    return NumericKey(rounded, Decimal(5).scaleb(-decimals - 1), exact=False)


def for_short_field(key: NumericKey, decimals: int) -> NumericKey:
    """The same key for a number field that keeps FIELD_DECIMALS places: asked in units of
    10^-(decimals − FIELD_DECIMALS) when the problem's decimals exceed them."""
    scale = decimals - FIELD_DECIMALS
    if key.exact or scale <= 0:
        return key
    with localcontext(_WIDE):
        return NumericKey(key.value.scaleb(scale).normalize(), key.tolerance.scaleb(scale), exact=False, scale=scale)
