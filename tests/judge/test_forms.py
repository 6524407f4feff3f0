"""Every equivalent form of a right answer matches (SPEC §9): computed answers of random
problems rendered in every accepted notation; controls that wrong ones do not."""

from __future__ import annotations

import time
from fractions import Fraction

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from judge_support import judged, solved

from solver.judge.forms import read_list, read_number
from solver.judge.symbolic import expressions_equal


def shape_notations(shape: list[int]) -> list:
    return ["x".join(map(str, shape)), "×".join(map(str, shape)), " x ".join(map(str, shape)),
            "(" + ", ".join(map(str, shape)) + ")", "[" + ", ".join(map(str, shape)) + "]",
            ",".join(map(str, shape)), list(shape)]


def number_notations(n: int) -> list:
    forms = [n, str(n), f"{n:.3e}" if abs(n) < 1000 else f"{n:.6e}", f"{n}/1", [n], f"{n}.0"]
    if abs(n) >= 1000:
        forms += [f"{n:,}", f"{n:,}".replace(",", " "), f"{n:,}".replace(",", "\u202f")]
    return forms


_conv = st.fixed_dictionaries({
    "channels": st.integers(1, 8), "size": st.integers(8, 64), "kernel": st.integers(1, 7),
    "stride": st.integers(1, 3), "padding": st.integers(0, 3), "filters": st.integers(1, 64)})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_conv)
def test_conv_shapes_match_in_every_notation(case):
    problem = dict(input=f"{case['channels']}x{case['size']}x{case['size']}", kernel=case["kernel"],
                   stride=case["stride"], padding=case["padding"], filters=case["filters"])
    shape = solved("conv-shape", problem).solution.answers["output"]
    for form in shape_notations(shape):
        report = judged("conv-shape", problem, {"output": form})
        assert report.verdict == "match", (form, shape, report.mismatches)
    wrong = list(shape)
    wrong[-1] += 1
    assert judged("conv-shape", problem, {"output": "x".join(map(str, wrong))}).verdict == "mismatch"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 16), st.integers(1, 512), st.integers(8, 64))
def test_parameter_counts_match_with_separators_and_exponents(channels, width, size):
    problem = {"input": f"{channels}x{size}x{size}", "layers": f"conv {width} 3 | fc 10"}
    total = solved("network", problem).solution.answers["totals"]["params"]
    for form in number_notations(total):
        claim = float(form) if isinstance(form, str) and "e" in form else form
        if isinstance(claim, float) and round(claim) != total:
            continue  # the three-digit mantissa cannot say this number exactly
        report = judged("network", problem, {"totals": {"params": form}})
        assert report.verdict == "match", (form, total, report.mismatches)
    assert judged("network", problem, {"totals": {"params": f"{total + 1:,}"}}).verdict == "mismatch"


@settings(max_examples=25, deadline=None)
@given(st.integers(-5, 5), st.integers(1, 9), st.integers(1, 4))
def test_real_answers_in_fractions_scientific_notation_and_lists(x0, lr_tenths, steps):
    problem = {"f": "x**2", "x0": x0, "lr": lr_tenths / 20, "steps": steps}
    answers = solved("optimize", problem).solution.answers
    value = answers[f"x{steps}"]
    exact = Fraction(value).limit_denominator(10**6)
    for form in (value, f"{value:.6e}", f"{exact.numerator}/{exact.denominator}", [value], f"[{value}]",
                 f"{value:.4f}".replace("-", "−")):
        report = judged("optimize", problem, {f"x{steps}": form})
        assert report.verdict == "match", (form, value, report.mismatches)


def test_readers():
    assert read_number("61,706") == 61706 and read_number("61 706") == 61706
    assert read_number("1.2×10^-3") == 1.2e-3 and read_number("1.2·10⁻³") == 1.2e-3
    assert read_number("3/7") == Fraction(3, 7) and read_number("[0.5]") == 0.5
    assert read_number("12,5") == "12,5"  # no decimal comma: not a number
    assert read_list("(6, 28, 28)", 1) == [6, 28, 28] and read_list("[[1, 2], [3, 4]]", 2) == [[1, 2], [3, 4]]


def test_matrix_expressions_in_the_kinds_own_names():
    computed = "-2 * x @ (d - y).T"
    for claim in ("2*x@(y-d).T", "−2x(d−y)ᵀ", "-2*x@d.T + 2*x@y.T", "2 * x @ (y - d).T"):
        assert expressions_equal(claim, computed, ["n", "K"]) is True, claim
    for claim in ("-2*(d-y)@x.T", "2*x@(d-y).T", "x@(y-d).T"):  # transposed, sign, factor
        assert expressions_equal(claim, computed, ["n", "K"]) is False, claim
    report = judged("derive", {"template": "linear-square-error"}, {"grad_W": "2*x@(y-d).T"})
    assert report.verdict == "match", report.mismatches


def test_symbolic_scalars_and_hostile_claims_are_bounded():
    assert expressions_equal("x*sigmoid(x)*(1-sigmoid(x)) + sigmoid(x)",
                             "sigmoid(x) + x*exp(-x)/(1+exp(-x))**2") is True
    assert expressions_equal("floor((H+2P-D(K-1)-1)/S)+1", "floor((H + 2*P - D*(K - 1) - 1)/S) + 1") is True
    start = time.monotonic()
    for claim in ("exp(exp(exp(x)))*(a+b+c+d)**300", "9**9**9**9", "__import__('os').system('x')",
                  "(" * 200 + "x" + ")" * 200, "x" * 5000):
        assert expressions_equal(claim, "x**2") in (False, None), claim
    assert time.monotonic() - start < 10


def test_rules_lists_lengths_names_and_empty_files(tmp_path):
    rule = {"input": 32, "kernel": 3, "output": 1, "stride": "?"}
    for claim in (30, 31, 1000, [45], "100"):
        assert judged("conv-shape", rule, {"stride": claim}).verdict == "match", claim
    assert judged("conv-shape", rule, {"stride": 29}).verdict == "mismatch"
    wrong_length = judged("conv-shape", {"input": "1x10x10", "kernel": 3, "filters": 2}, {"output": [2, 8]})
    assert [(d.field, d.index) for d in wrong_length.mismatches] == [("output", None)]
    unknown = judged("network", {"input": 4, "layers": "fc 3"}, {"params": 15})
    assert unknown.verdict == "error" and "totals.params" in unknown.message
    import subprocess
    import sys

    empty = tmp_path / "no-claims.yaml"
    empty.write_text("problems:\n  - {id: a, kind: conv-shape, given: {input: 10, kernel: 3}}\n")
    done = subprocess.run([sys.executable, "-m", "solver.cli", "check", str(empty)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2 and "nothing to check" in done.stdout + done.stderr


_TEMPLATES = ["linear-square-error", "softmax-cross-entropy", "sigmoid-mlp-input-gradient", "logistic-bce",
              "lstm-cell"]


def _unicode(expression: str) -> str:
    """An answer as a student copies it from the key: − and · signs, ᵀ for .T, no spaces."""
    return (expression.replace(" ", "").replace(".T", "ᵀ").replace("-", "−").replace("*", "·")
            .replace("·@·", "@").replace("··", "^"))


def test_derived_expressions_match_as_the_key_writes_them():
    checked = 0
    for template in _TEMPLATES:
        answers = solved("derive", {"template": template}).solution.answers
        for name, expression in answers.items():
            if name.startswith("shape_") or not isinstance(expression, str):
                continue
            for form in (expression, _unicode(expression), expression.replace(" ", "")):
                report = judged("derive", {"template": template}, {name: form})
                assert report.verdict == "match", (template, name, form, report.mismatches, report.undecided)
                checked += 1
    assert checked > 30


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 200), st.sampled_from([8, 16, 64, 512]), st.integers(0, 5))
def test_vectors_and_matrices_in_text_notations(pos, d_model, first):
    problem = {"pos": [pos, pos + 1], "dims": f"{first}..{first + 1}", "d_model": d_model}
    matrix = solved("posenc", problem).solution.answers["PE"]
    rows = ["[" + ", ".join(f"{v:.9f}" for v in row) + "]" for row in matrix]
    for form in ("[" + ", ".join(rows) + "]", "(" + "; ".join(r.strip("[]") for r in rows) + ")",
                 [[repr(v).replace("-", "−") for v in row] for row in matrix]):
        report = judged("posenc", problem, {"PE": form})
        assert report.verdict == "match", (form, report.mismatches)
    vector = {"pos": pos, "dims": f"{first}..{first + 2}", "d_model": d_model}
    values = solved("posenc", vector).solution.answers["PE"]
    for form in (", ".join(f"{v:.9f}" for v in values), " ".join(f"{v:.9f}" for v in values)):
        assert judged("posenc", vector, {"PE": form}).verdict == "match", form


def test_jacobians_and_symbolic_shapes():
    assert expressions_equal("-o.T@o + diag(o)", "diag(o) - o.T @ o", ["K", "K"]) is True
    assert expressions_equal("diag(o) - o@o.T", "diag(o) - o.T @ o", ["K", "K"]) is False
    general = {"input": "C,H,W", "kernel": "K", "padding": "P", "stride": "S", "filters": "F"}
    answers = solved("conv-shape", general).solution.answers
    claim = "F x (floor((H + 2P - K)/S) + 1) x (floor((W+2*P-K)/S)+1)"
    assert judged("conv-shape", general, {"formula": claim}).verdict == "match", answers["formula"]
    assert judged("conv-shape", general, {"output": ["F", "floor((H+2P-K)/S)+1", "floor((W+2P-K)/S)+1"]}
                  ).verdict == "match"
    assert judged("conv-shape", general, {"formula": claim.replace("2P", "P")}).verdict == "mismatch"


def test_the_equivalent_forms_example_file_checks_clean():
    import subprocess
    import sys
    from pathlib import Path

    example = Path(__file__).parents[2] / "problems" / "examples" / "check-equivalent-forms.yaml"
    done = subprocess.run([sys.executable, "-m", "solver.cli", "check", str(example)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "MISMATCH" not in done.stdout
