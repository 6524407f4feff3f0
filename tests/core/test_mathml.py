"""The HTML key's MathML, converted once per shape of formula, is latex2mathml's own output for
every formula, byte for byte: random formulas here, every formula of the bundled library in
tests/library/test_library_mathml.py."""

from __future__ import annotations

import random

import pytest
from latex2mathml.converter import convert as reference

from solver.render import mathml


def _number(rng: random.Random) -> str:
    whole = str(rng.choice([0, 1, 2, 7, 9, 10, 12, 100, 70000000, rng.randrange(10 ** 9)]))
    return whole if rng.random() < 0.4 else f"{whole}.{rng.randrange(10 ** rng.randint(1, 5))}"


# Pieces of formula with {n} where a number goes: the vocabulary of the keys, and the places
# where a number's digits change the tokens around it (scripts, \frac's one-digit arguments,
# dimensions, a dot before or after, text).
PIECES = [
    "{n}", "-{n}", "x_{n}", "x_{{{n}}}", "x^{n}", "x^{{{n}}}_{{{n}}}", "W_{{{n}}}^{{\\top}}",
    "\\frac{{{n}}}{{{n}}}", "\\frac{n}{n}", "\\frac {n} {n}", "\\dfrac{{{n}}}{{x}}", "{n}pt", "{n} em",
    "{n}in", "{n} \\cdot {n}", "\\left({n} - {n}\\right)", "\\left\\lfloor \\frac{{{n} + {n}}}{{{n}}}\\right\\rfloor",
    "\\sqrt{{{n}}}", "\\sqrt[{n}]{{{n}}}", "\\boldsymbol{{{n}}}", "\\boxed{{{n}}}", "\\mathrm{{{n}}}",
    "\\text{{ {n} units}}", "\\operatorname{{relu}}({n})", ".{n}", "{n}.", "{n}.{n}.{n}", "{n}e-{n}",
    "\\begin{{pmatrix}} {n} & -{n} \\\\ {n} & {n} \\end{{pmatrix}}", "\\sum_{{t={n}}}^{{{n}}} h_t",
    "\\sigma({n})", "e^{{-{n}}}", "{n}x", "h{n}", "\\ell_{{{n}}}", "{n}^{{{n}}}", "\\hat{{y}}_{n}",
    "\\begin{{cases}} {n} & x > {n} \\\\ {n} & \\text{{otherwise}} \\end{{cases}}",
    "\\left(\\begin{{matrix}} -{n} & {n} \\\\ -{n} & -{n} \\end{{matrix}}\\right)", "\\begin{{matrix}} -{n} \\end{{matrix}}",
    "\\begin{{matrix}} \\boldsymbol{{-{n}}} & -{n}x & - {n} & -{n}^{{2}} \\end{{matrix}}", "a = {{b = {n}}}",
    "\\left\\{{ x = {n} \\right\\}}", "\\leftarrow {n} = x", "\\text{{a = {n}}}", "x \\le {n}",
    "x^+", "x_ +", "h^{{+}} + {n}", "+{n}", "\\sum_{{i}} a_i + b", "\\frac{{a + {n}}}{{b}} + c", "a + + b",
]


def _formula(rng: random.Random, shape: list[str]) -> str:
    text = shape[0] + "".join(rng.choice([" + ", " = ", "=", " &= ", " = -", "+", " - "]) + piece for piece in shape[1:])
    while "{n}" in text:
        text = text.replace("{n}", _number(rng), 1)
    return text.replace("{{", "{").replace("}}", "}")


def _shapes(count: int, seed: int) -> list[list[str]]:
    rng = random.Random(seed)
    return [rng.sample(PIECES, rng.randint(1, 4)) for _ in range(count)]


@pytest.mark.parametrize("display", ["inline", "block"])
def test_random_formulas_match_the_converter(display):
    rng = random.Random(7)
    for shape in _shapes(150, seed=11 if display == "inline" else 12):
        for _ in range(4):  # the same shape with other numbers: the template is reused
            latex = _formula(rng, shape)
            try:
                expected = reference(latex, display=display)
            except Exception as exc:  # noqa: BLE001 - then ours must fail the same way
                with pytest.raises(type(exc)):
                    mathml.convert(latex, display)
                continue
            assert mathml.convert(latex, display) == expected, latex


def test_templates_are_shared_by_formulas_of_one_shape():
    mathml._TEMPLATES.clear()
    for value in ("0.25", "13", "7.5", "1024"):
        mathml.convert(rf"y = \sigma\left({value} \cdot x\right) = \begin{{pmatrix}} {value} & -1 \end{{pmatrix}}")
    assert len(mathml._TEMPLATES) == 3  # one per part between the = signs, whatever the numbers
    mathml._TEMPLATES.clear()
    total = " + ".join(rf"\mathrm{{conv{k}}}" for k in range(1, 200))
    assert mathml.convert(total) == reference(total, display="inline")
    assert len(mathml._TEMPLATES) == 1  # a long sum: one shape of term


def test_a_formula_without_numbers_or_with_numbers_in_text_is_converted_itself():
    for latex in (r"\frac{\partial J}{\partial W}", r"\text{layer 12 of 50}", r"x_12", r"\frac12 + 3pt"):
        assert mathml.convert(latex) == reference(latex, display="inline")
