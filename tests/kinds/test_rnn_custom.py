"""`rnn` with `cell: custom`: equations through the safe parser, checked against NumPy
implementations written out here, dimensions with symbolic sizes, the cell diagram, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from helpers import render_text, solve_text

GATED = ["c[t] = σ(W_c x[t] + W_h h[t-1])", "h[t] = c[t] ⊙ h[t-1] + (1 - c[t]) ⊙ W_x x[t]"]
SYMBOLIC_SIZES = {"x": "n", "h": "m", "W_c": "m x n", "W_h": "m x m", "W_x": "m x n"}


def solve_one(given: dict, **extra):
    text = yaml.safe_dump({"problems": [{"id": "p", "kind": "rnn", "given": given, **extra}]},
                          sort_keys=False, allow_unicode=True)
    return solve_text(text).problems[0]


def sigmoid(u):
    return 1 / (1 + np.exp(-u))


def gated_by_numpy(W_c, W_h, W_x, h0, xs):
    """The course's gated cell, c = σ(W_c x + W_h h), h = c ⊙ h + (1 − c) ⊙ W_x x."""
    h, out = np.array(h0, dtype=float), []
    for x in xs:
        x = np.array(x, dtype=float)
        c = sigmoid(W_c @ x + W_h @ h)
        h = c * h + (1 - c) * (W_x @ x)
        out.append((c, h))
    return out


@pytest.mark.parametrize("seed", range(12))
def test_gated_cell_matches_numpy(seed):
    rng = np.random.default_rng(seed)
    n, m, steps = (int(v) for v in rng.integers(1, 5, size=3))
    W_c, W_h, W_x = rng.normal(size=(m, n)), rng.normal(size=(m, m)), rng.normal(size=(m, n))
    h0, xs = rng.normal(size=m), rng.normal(size=(steps, n))
    layout = ["out_in", "in_out"][seed % 2]
    shown = (lambda M: M.tolist()) if layout == "out_in" else (lambda M: M.T.tolist())
    result = solve_one({"cell": "custom", "weights": layout, "equations": GATED,
                        "params": {"W_c": shown(W_c), "W_h": shown(W_h), "W_x": shown(W_x)},
                        "h0": h0.tolist(), "inputs": xs.tolist()})
    assert result.error is None, result.error
    for t, (c, h) in enumerate(gated_by_numpy(W_c, W_h, W_x, h0, xs), 1):
        np.testing.assert_allclose(result.answers[f"c{t}"], c, atol=1e-12)
        np.testing.assert_allclose(result.answers[f"h{t}"], h, atol=1e-12)
    assert result.answers["shape_c"] == [m] and result.answers["shape_h"] == [m]


def test_an_elman_cell_written_as_equations_matches_numpy():
    rng = np.random.default_rng(5)
    U, W, V = rng.normal(size=(2, 3)), rng.normal(size=(3, 3)), rng.normal(size=(3, 2))
    b, c = rng.normal(size=3), 0.3
    xs = rng.normal(size=(4, 2))
    result = solve_one({"cell": "custom", "equations": ["h = tanh(U*x + W*h_prev + b)", "y = relu(V*h + c)"],
                        "U": U.tolist(), "W": W.tolist(), "b": b.tolist(), "V": V.tolist(), "c": c,
                        "inputs": xs.tolist()})
    assert result.error is None, result.error
    h = np.zeros(3)
    for t, x in enumerate(xs, 1):  # weights in_out (the default): u = Uᵀx + Wᵀh + b
        h = np.tanh(U.T @ x + W.T @ h + b)
        y = np.maximum(V.T @ h + c, 0)
        np.testing.assert_allclose(result.answers[f"h{t}"], h, atol=1e-12)
        np.testing.assert_allclose(result.answers[f"y{t}"], y, atol=1e-12)


def test_functions_powers_and_division_evaluate_element_wise():
    a, x = np.array([0.5, 2.0]), np.array([[0.3], [1.2]])
    equations = ["s = sqrt(a*a + x_in) / (1 + exp(-a)) - a**3 / 2", "r = log(abs(s) + 1) + cos(s) * sin(s_prev)"]
    given = {"cell": "custom", "equations": [e.replace("x_in", "x") for e in equations],
             "params": {"a": a.tolist()}, "inputs": x.tolist()}
    result = solve_one(dict(given, inputs=[[0.3, 0.7], [1.2, 0.1]]))
    assert result.error is None, result.error
    s_prev = np.zeros(2)
    for t, xt in enumerate([[0.3, 0.7], [1.2, 0.1]], 1):
        xt = np.array(xt)
        s = np.sqrt(a * a + xt) / (1 + np.exp(-a)) - a ** 3 / 2
        r = np.log(np.abs(s) + 1) + np.cos(s) * np.sin(s_prev)
        np.testing.assert_allclose(result.answers[f"s{t}"], s, atol=1e-12)
        np.testing.assert_allclose(result.answers[f"r{t}"], r, atol=1e-12)
        s_prev = s


def test_course_gated_cell_dimensions_are_symbolic():
    result = solve_one({"cell": "custom", "weights": "out_in", "equations": GATED, "sizes": SYMBOLIC_SIZES})
    assert result.error is None, result.error
    assert result.answers == {"shape_c": ["m"], "shape_h": ["m"]}
    text = " ".join(step.text for step in result.solution.steps)
    assert "W_c·x(t): (m×n)·(n) → m" in text and "W_h·h(t−1): (m×m)·(m) → m" in text


def test_in_out_reads_the_matrix_as_its_transpose():
    sizes = {"x": "n", "h": "m", "W_c": "n x m", "W_h": "m x m", "W_x": "n x m"}
    result = solve_one({"cell": "custom", "equations": GATED, "sizes": sizes})
    assert result.answers["shape_c"] == ["m"]
    wrong = solve_one({"cell": "custom", "equations": GATED, "sizes": SYMBOLIC_SIZES})
    assert wrong.error is not None and "takes vectors of size m" in wrong.error.message


def test_state_size_is_inferred_without_an_initial_value():
    result = solve_one({"cell": "custom", "weights": "out_in", "equations": ["h = tanh(A*x + B*h_prev)"],
                        "params": {"A": [[1.0], [2.0], [0.5]], "B": np.eye(3).tolist()}, "inputs": [1, 2]})
    assert result.error is None, result.error
    h1 = np.tanh(np.array([1.0, 2.0, 0.5]))
    np.testing.assert_allclose(result.answers["h1"], h1, atol=1e-12)
    np.testing.assert_allclose(result.answers["h2"], np.tanh(np.array([1.0, 2.0, 0.5]) * 2 + h1), atol=1e-12)


def test_diagram_of_the_gated_cell():
    result = solve_one({"cell": "custom", "weights": "out_in", "equations": GATED, "sizes": SYMBOLIC_SIZES,
                        "diagram": True})
    diagram = next(step.diagram for step in result.solution.steps if step.diagram is not None)
    mermaid = diagram.mermaid.splitlines()
    assert mermaid[0] == "flowchart LR"
    operations = [line for line in mermaid if '(("' in line]
    assert [op.split('"')[1].split(" ")[1] for op in operations] == ["·", "·", "+", "σ", "⊙", "−", "·", "⊙", "+"]
    assert sum("-.->|next step|" in line for line in mermaid) == 1  # h(t) becomes h(t−1)
    assert "③ = ① + ②" in diagram.text and "④ = σ(③)" in diagram.text
    assert "inputs: x(t), h(t−1)" in diagram.text
    rendered = render_text(solve_text(yaml.safe_dump({"problems": [{"id": "p", "kind": "rnn", "given": {
        "cell": "custom", "weights": "out_in", "equations": GATED, "sizes": SYMBOLIC_SIZES,
        "diagram": True}}]}, allow_unicode=True)))
    assert "⑨ = ⑤ + ⑧" in rendered


def test_standard_cell_diagram_lists_every_gate():
    gates = {q: {"U": [[1.0]], "W": [[0.5]]} for q in "rzn"}
    result = solve_one({"cell": "gru", "gates": gates, "inputs": [1], "diagram": True})
    diagram = next(step.diagram for step in result.solution.steps if step.diagram is not None)
    for name in ("r(t)", "z(t)", "n(t)", "u_hn(t)", "h(t)"):
        assert f'[["{name}"]]' in diagram.mermaid, name


@pytest.mark.parametrize("change, field, words", [
    ({"equations": ["c = sigmoid(W_c*x + W_hh*h_prev)", GATED[1]]}, "equations.0", "did you mean 'W_h'"),
    ({"equations": ["c = sigmoid(x*W_c + W_h*h_prev)", GATED[1]]}, "equations.0", "write the matrix first"),
    ({"equations": ["c = sigmoid(W_c*x + W_h*h)", GATED[1]]}, "equations.0", "h_prev"),
    ({"equations": ["c = sigmoid(W_c*x + W_h*h_prev", GATED[1]]}, "equations.0", "cannot parse"),
    ({"equations": ["c = 9**9**9**9 * x", GATED[1]]}, "equations.0", "too large"),
    ({"equations": ["c = __import__('os')", GATED[1]]}, "equations.0", ""),
    ({"equations": ["x = W_c*x", GATED[1]]}, "equations.0", "cannot be computed"),
    ({"equations": ["c = W_h*x", GATED[1]]}, "equations.0", "takes vectors of size m"),
    ({"equations": "just text"}, "equations.0", "one equation"),
    ({"loss": "mse", "targets": [[0]]}, "inputs", "gradients need numbers"),
    ({"activations": {"hidden": "tanh"}}, "activations", "into the equations"),
    ({"sizes": dict(SYMBOLIC_SIZES, W_c="m x n x k")}, "sizes.W_c", "rows×columns"),
    ({"y0": [1.0]}, "y0", "no equation reads y_prev"),
    ({"equations": None}, "equations", "needs its equations"),
])
def test_bad_custom_input_names_the_field(change, field, words):
    given = dict({"cell": "custom", "weights": "out_in", "equations": GATED, "sizes": SYMBOLIC_SIZES}, **change)
    given = {k: v for k, v in given.items() if v is not None}
    result = solve_one(given)
    assert result.error is not None and result.error.exit_code == 2, result.error
    assert result.error.field == field, result.error
    assert words in result.error.message


def test_numbers_and_sizes_must_agree():
    result = solve_one({"cell": "custom", "equations": ["h = tanh(A*x)"], "params": {"A": [[1.0, 2.0]]},
                        "sizes": {"A": "3 x 2"}, "inputs": [1]})
    assert result.error is not None and result.error.field == "sizes.A"


def test_parser_keeps_the_order_of_noncommuting_products():
    """The additive `noncommutative` option of the safe parser, which custom cells rely on."""
    from solver.parse import parse_expression

    names = ["W", "x", "c"]
    assert parse_expression("W*x", noncommutative=names) != parse_expression("x*W", noncommutative=names)
    assert parse_expression("W*x") == parse_expression("x*W")  # plain symbols still commute
    product = parse_expression("(1 - c)*W*x", noncommutative=names)
    assert [str(f) for f in product.args] == ["1 - c", "W", "x"]
    relu = parse_expression("relu(W*x)", noncommutative=names)  # Max cannot take non-commuting terms
    assert relu.free_symbols and "Abs" in str(relu)
