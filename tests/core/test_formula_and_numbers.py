"""The step formula tree evaluates exactly and renders the same tree as text and LaTeX."""

from __future__ import annotations

from fractions import Fraction

from solver.check import compare_field
from solver.formula import Sym, call, evaluate, floor, symbols, to_latex, to_text
from solver.numbers import format_number, round_half_away
from solver.steps import Formula, Solution


def test_exact_evaluation_and_rendering():
    H, P, D, K, S = symbols("H P D K S")
    expr = floor((H + 2 * P - D * (K - 1) - 1) / S) + 1
    values = dict(H=10, P=0, D=1, K=3, S=2)
    assert evaluate(expr, values) == 4
    assert to_text(expr) == "⌊(H + 2P − D·(K − 1) − 1)/S⌋ + 1"
    assert to_text(expr, values) == "⌊(10 + 2·0 − 1·(3 − 1) − 1)/2⌋ + 1"
    assert to_latex(expr) == r"\left\lfloor \frac{H + 2P - D \cdot \left(K - 1\right) - 1}{S}\right\rfloor + 1"
    assert evaluate(Sym("a") / Sym("b"), {"a": 1, "b": 3}) == Fraction(1, 3)


def test_negative_numbers_are_parenthesised():
    x = Sym("x")
    assert to_text(call("sigmoid", -x) * x, {"x": -3}) == "σ(−(−3))·(−3)"


def test_answer_comes_from_the_step():
    solution = Solution()
    a = Sym("a")
    value = solution.add("double", Formula("y", 2 * a, {"a": 21}), answer="y")
    assert value == 42 and solution.answers["y"] == 42


def test_rounding_half_away_from_zero():
    assert round_half_away(2.675, 2) == 2.68
    assert round_half_away(-0.95885, 4) == -0.9589
    assert format_number(1.0, 4) == "1"
    assert format_number(-0.00001, 4) == "0"
    assert format_number(0.5503, 4) == "0.5503"


def test_check_comparison_rules():
    matches, mismatches = compare_field("PE", [-0.9598, 0.2837], [-0.9589242746631385, 0.28366218546322625], 4)
    assert [d.index for d in mismatches] == [0] and [d.index for d in matches] == [1]
    assert compare_field("padding", 3, [3, 4], 4)[0]  # a claimed unknown among the solutions
    assert compare_field("n", 7, 7.0, 0)[0]
    assert not compare_field("n", 7, 8, 4)[0]


def test_check_compares_table_rows_by_the_keys_claimed():
    computed = [{"name": "conv1", "params": 156, "output": [6, 28, 28]}, {"name": "pool", "params": 0}]
    matches, mismatches = compare_field("layers", [{"params": 156}, {"params": 1}], computed, 4)
    assert [d.field for d in matches] == ["layers[1].params"]
    assert [(d.field, d.claimed, d.computed) for d in mismatches] == [("layers[2].params", 1, 0)]
