"""The tolerance a numeric quiz box is marked with, against the rule `dlsolve check` applies:
a response is right when it rounds to the key at the problem's decimals."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import numpy as np
import pytest

from solver.export.tolerance import FIELD_DECIMALS, for_short_field, numeric_key


def rounds_alike(response: Decimal, value: float, decimals: int) -> bool:
    """The oracle, written here with Decimal alone: both round (half away from zero) to the same."""
    quantum = Decimal(1).scaleb(-decimals)
    return (response.quantize(quantum, rounding=ROUND_HALF_UP)
            == Decimal(repr(value)).quantize(quantum, rounding=ROUND_HALF_UP))


def _cases(count: int, seed: int):
    rng = np.random.default_rng(seed)
    for _ in range(count):
        decimals = int(rng.integers(0, 9))
        value = float(rng.choice([-1, 1]) * 10.0 ** rng.uniform(-9, 4))
        yield value, decimals, rng


def test_the_key_is_the_value_rounded_half_away_and_the_tolerance_half_a_unit():
    for value, decimals, _ in _cases(400, 1):
        key = numeric_key(value, decimals)
        quantum = Decimal(1).scaleb(-decimals)
        assert key.value == Decimal(repr(value)).quantize(quantum, rounding=ROUND_HALF_UP)
        assert key.tolerance == quantum / 2 and not key.exact
        assert "E" not in key.text and "E" not in key.tolerance_text  # plain notation for every importer
        assert Decimal(key.text) == key.value and Decimal(key.tolerance_text) == key.tolerance


def test_a_response_at_the_problems_decimals_is_accepted_exactly_when_it_rounds_to_the_key():
    for value, decimals, rng in _cases(400, 2):
        key = numeric_key(value, decimals)
        unit = Decimal(1).scaleb(-decimals)
        for step in range(-3, 4):  # the key and its neighbours, written as a student writes them
            response = key.value + step * unit
            assert key.accepts(response) == (step == 0) == rounds_alike(response, value, decimals)
        for _ in range(20):  # longer responses anywhere within three units of the value
            response = Decimal(repr(value)) + Decimal(repr(float(rng.uniform(-3, 3)))) * unit
            if abs(response - key.value) == key.tolerance:
                continue  # the one edge: check rounds it away from zero, a platform's ≤ keeps it
            assert key.accepts(response) == rounds_alike(response, value, decimals), (value, decimals, response)


def test_integers_are_exact():
    for value in (0, 1, -7, 49, 323882, Fraction(12, 1)):
        key = numeric_key(value, 4)
        assert key.exact and key.tolerance == 0 and key.accepts(int(value)) and not key.accepts(int(value) + 1)
        assert for_short_field(key, 9) == key  # never rescaled


def test_a_short_number_field_gets_the_same_answers_in_smaller_units():
    for value, decimals, rng in _cases(400, 3):
        key = numeric_key(value, decimals)
        short = for_short_field(key, decimals)
        if decimals <= FIELD_DECIMALS:
            assert short == key
            continue
        assert short.scale == decimals - FIELD_DECIMALS
        # four decimals hold the key, and nothing nonzero is below 1e-4
        assert short.value == short.value.quantize(Decimal("0.0001"))
        assert short.value == 0 or abs(short.value) >= Decimal("0.0001")
        assert short.tolerance == Decimal("0.00005")
        for _ in range(10):
            response = Decimal(repr(value)) + Decimal(repr(float(rng.uniform(-3, 3)))) * Decimal(1).scaleb(-decimals)
            assert short.accepts(response.scaleb(short.scale)) == key.accepts(response)


@pytest.mark.parametrize("value, decimals, text, tolerance", [
    (0.813460112934598, 4, "0.8135", "0.00005"),  # the course exam's y
    (1.6791101911011967, 4, "1.6791", "0.00005"),
    (0.81, 2, "0.81", "0.005"),
    (-2.249377996643709e-06, 4, "0", "0.00005"),  # rounds to 0: no -0
    (2.675, 2, "2.68", "0.005"),  # half away from zero on the shortest decimal, as check does
    (1e20, 15, "100000000000000000000", "0.0000000000000005"),
])
def test_known_keys(value, decimals, text, tolerance):
    key = numeric_key(value, decimals)
    assert (key.text, key.tolerance_text) == (text, tolerance)
