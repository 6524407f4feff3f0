"""Short runs get a batch size that gives the one-cycle schedule enough steps."""

from __future__ import annotations

import pytest

from solver.train.torch_utils import MIN_STEPS, fitted_batch_size


@pytest.mark.parametrize("samples, epochs, expected", [
    (10_000, 1, 32),  # 78 steps of 128 → 312 of 32
    (50_000, 3, 128),  # the full split: the default
    (50_000, 1, 128),  # 390 steps
    (20_000, 1, 64),  # 312 steps of 64
    (1_000, 1, 32),  # as small as it goes
    (100, 5, 32),
])
def test_batch_halves_until_the_schedule_has_its_steps(samples, epochs, expected):
    batch = fitted_batch_size(samples, epochs, 128)
    assert batch == expected
    assert (samples // batch) * epochs >= MIN_STEPS or batch == 32
    assert batch == 128 or (samples // (2 * batch)) * epochs < MIN_STEPS  # no smaller than needed


def test_a_default_below_the_floor_is_kept():
    assert fitted_batch_size(100, 1, 16) == 16
