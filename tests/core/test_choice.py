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


def test_a_suggestion_only_when_asked_and_only_when_close():
    with pytest.raises(ValueError, match=r"^type must be one of step, exponential, cosine, got 'cosin'$"):
        choice("cosin", OPTIONS, ALIASES, name="type")  # off by default: the message stays as it was
    with pytest.raises(ValueError, match=r"^type must be one of step, exponential, cosine, got 'cosin' "
                                         r"\(did you mean 'cosine'\?\)$"):
        choice("cosin", OPTIONS, ALIASES, name="type", suggest=True)
    with pytest.raises(ValueError, match=r"^type must be one of step, exponential, cosine, got 'linear'$"):
        choice("linear", OPTIONS, ALIASES, name="type", suggest=True)  # nothing close: nothing suggested


def test_suggestions_agree_with_difflib_on_random_words():
    import difflib

    rng = random.Random(1)
    letters = "abcdefghijklmnopqrstuvwxyz"
    for _ in range(500):
        word = rng.choice(OPTIONS)
        for _ in range(rng.randint(1, 4)):  # a few typos: replace, drop or add a letter
            i = rng.randrange(len(word))
            word = rng.choice([word[:i] + rng.choice(letters) + word[i + 1:], word[:i] + word[i + 1:],
                               word[:i] + rng.choice(letters) + word[i:]])
        if word in OPTIONS or word in ALIASES:
            continue
        close = difflib.get_close_matches(word, OPTIONS, n=1, cutoff=0.6)
        with pytest.raises(ValueError) as caught:
            choice(word, OPTIONS, ALIASES, name="type", suggest=True)
        expected = f" (did you mean '{close[0]}'?)" if close else ""
        assert str(caught.value) == f"type must be one of step, exponential, cosine, got {word!r}{expected}"


def test_own_wording_and_upper_case_words():
    with pytest.raises(ValueError, match=r"^unknown schedule 'cosin' \(did you mean 'cosine'\?\); schedules: "
                                         r"step, exponential, cosine$"):
        choice("cosin", OPTIONS, name="type", suggest=True,
               message="unknown schedule {value}{suggestion}; schedules: {options}")
    with pytest.raises(ValueError, match=r"^unknown schedule 'x'; schedules: step, exponential, cosine$"):
        choice("x", OPTIONS, name="type", message="unknown schedule {value}{suggestion}; schedules: {options}")
    assert choice(" x-or ", ("AND", "XOR"), {"EXOR": "XOR"}, name="gate", upper=True, fold={"-": ""}) == "XOR"
    assert choice("exor", ("AND", "XOR"), {"EXOR": "XOR"}, name="gate", upper=True) == "XOR"
