"""inputs.choice: the one reading of a word field through its aliases."""

from __future__ import annotations

import random

import pytest

from solver.inputs import choice

OPTIONS = ("step", "exponential", "cosine")
ALIASES = {"steplr": "step", "exp": "exponential", "cos": "cosine"}


def test_words_aliases_case_and_spaces():
    assert choice("  Cosine ", OPTIONS, ALIASES, name="type") == "cosine"
    assert choice("EXP", OPTIONS, ALIASES, name="type") == "exponential"
    assert choice("half_sse", ("half-sse", "mse"), name="loss", fold={"_": "-"}) == "half-sse"


def test_messages_name_the_field_and_the_options():
    with pytest.raises(ValueError, match=r"^type must be one of step, exponential, cosine, got 'linear'$"):
        choice("linear", OPTIONS, ALIASES, name="type")
    with pytest.raises(ValueError, match=r"^reduction must be mean or sum, got 3$"):
        choice(3, ("mean", "sum"), name="reduction", either=True)


def test_random_spellings_are_accepted_exactly_when_they_name_an_option():
    rng = random.Random(0)
    words = list(OPTIONS) + list(ALIASES) + ["cosin", "step-", "", "exponentials", "none"]
    for _ in range(500):
        word = rng.choice(words)
        spelled = "".join(c.upper() if rng.random() < 0.5 else c for c in word)
        spelled = " " * rng.randint(0, 2) + spelled + " " * rng.randint(0, 2)
        expected = ALIASES.get(word, word)
        if expected in OPTIONS:
            assert choice(spelled, OPTIONS, ALIASES, name="type") == expected
        else:
            with pytest.raises(ValueError):
                choice(spelled, OPTIONS, ALIASES, name="type")
