"""solver/sympy_functions.py, the one symbolic vocabulary: the parser's functions, σ, and the
formula trees' words read as sympy, against the numeric formula vocabulary and finite
differences on seeded random points."""

from __future__ import annotations

import math
import random

import sympy

import solver.activations  # noqa: F401 - adds erf (and the activations) to the formula vocabulary
from solver import parse
from solver.formula import FUNCTIONS
from solver.nn.functions import sigmoid as numeric_sigmoid
from solver.sympy_functions import FORMULA_WORDS, PARSER_FUNCTIONS, sigma, with_sigma

x = sympy.Symbol("x", real=True)


def test_the_parser_lists_exactly_the_vocabularys_functions():
    assert parse.FUNCTION_NAMES == tuple(PARSER_FUNCTIONS)


def test_formula_words_mean_in_sympy_what_the_numeric_vocabulary_computes():
    rng = random.Random(0)
    for word, meaning in FORMULA_WORDS.items():
        numeric = FUNCTIONS[word].scalar
        f = sympy.lambdify(x, meaning(x), "math")
        for _ in range(200):
            point = rng.uniform(0.01, 5) if word in ("log", "sqrt") else rng.uniform(-8, 8)
            assert math.isclose(f(point), numeric(point), rel_tol=1e-12, abs_tol=1e-15), (word, point)


def test_parsed_activations_are_the_course_functions():
    rng = random.Random(1)
    relu = sympy.lambdify(x, parse.parse_expression("relu(x)"), "math")
    gelu_exact = sympy.lambdify(x, parse.parse_expression("x*Phi(x)"), "math")
    sig = sympy.lambdify(x, parse.parse_expression("σ(x)"), "math")
    for _ in range(300):
        point = rng.uniform(-10, 10)
        assert relu(point) == max(point, 0.0)
        assert math.isclose(gelu_exact(point), point * 0.5 * (1 + math.erf(point / math.sqrt(2))), rel_tol=1e-12,
                            abs_tol=1e-15)
        assert math.isclose(sig(point), numeric_sigmoid(point), rel_tol=1e-12)


def test_sigma_is_the_sigmoid_with_the_taught_derivative():
    expr = with_sigma(parse.parse_expression("x*sigmoid(1.702*x)"))
    assert expr.has(sigma)
    derivative = sympy.diff(expr, x)
    assert derivative.has(sigma)  # σ′ = σ(1 − σ), not exponentials
    f = sympy.lambdify(x, expr.rewrite(sympy.exp), "math")
    d = sympy.lambdify(x, derivative.rewrite(sympy.exp), "math")
    rng = random.Random(2)
    for _ in range(200):
        point, h = rng.uniform(-6, 6), 1e-6
        assert math.isclose(d(point), (f(point + h) - f(point - h)) / (2 * h), rel_tol=1e-6, abs_tol=1e-8)
