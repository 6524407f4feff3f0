"""`derive` templates `sigmoid-derivative` and `tanh-derivative`: the derivative of the
activation, rewritten in terms of the activation's own output (y(1 − y), 1 − h²), as a
backward pass uses it. Each equality of the chain is confirmed by sympy, and the result is
compared with finite differences at random points."""

from __future__ import annotations

from ...activations import TABLE
from ...formula import Expr, Num, Op, Sym, call
from ._derive_common import Derivation, group

u = Sym("u")


def sigmoid_derivative(sol, given, sizes, rng) -> Derivation:
    y = Sym("y")
    e = call("exp", -u)
    definition = Num(1) / (1 + e)
    chain = [
        e / group(1 + e) ** 2,
        (Num(1) / (1 + e)) * (e / (1 + e)),
        (Num(1) / (1 + e)) * group(1 - Num(1) / (1 + e)),
    ]
    return _derive(sol, given, rng, activation=TABLE["sigmoid"], output=y, definition=definition, chain=chain,
            via_output=y * (1 - y), in_u=chain[0],
            texts=("The logistic sigmoid", "Differentiate (chain rule on (1 + e^{−u})^{−1})",
                   "Split the fraction, and use e^{−u}/(1 + e^{−u}) = 1 − 1/(1 + e^{−u})",
                   "Written with the output y = σ(u), as a backward pass uses it"))


def tanh_derivative(sol, given, sizes, rng) -> Derivation:
    h = Sym("h")
    plus, minus = call("exp", u), call("exp", -u)
    definition = (plus - minus) / (plus + minus)
    chain = [
        (group(plus + minus) ** 2 - group(plus - minus) ** 2) / group(plus + minus) ** 2,
        1 - group((plus - minus) / (plus + minus)) ** 2,
        1 - call("tanh", u) ** 2,
    ]
    return _derive(sol, given, rng, activation=TABLE["tanh"], output=h, definition=definition, chain=chain,
            via_output=1 - h ** 2, in_u=chain[-1],
            texts=("The hyperbolic tangent", "Quotient rule: (e^u − e^{−u})′ = e^u + e^{−u} and "
                   "(e^u + e^{−u})′ = e^u − e^{−u}", "Split the fraction: what is subtracted is tanh(u) squared",
                   "Written with the output h = tanh(u), as a backward pass uses it"))


_CONFIRMED: dict[str, str] = {}  # template -> what sympy confirmed (the same for every instance)


def _confirm_symbolically(name, output, definition, chain, via_output) -> str:
    """Every written form equals sympy's derivative of the definition (a failure is a bug)."""
    import sympy

    from ...parse import make_symbol

    if name not in _CONFIRMED:
        u_sym = make_symbol("u")
        exact = _to_sympy(definition, {"u": u_sym})
        derivative = sympy.diff(exact, u_sym)
        for form in chain:
            assert _same(_to_sympy(form, {"u": u_sym}), derivative, u_sym), f"{name}: a step is wrong"
        assert _same(_to_sympy(via_output, {output.name: exact}), derivative, u_sym)
        _CONFIRMED[name] = f"each of the {len(chain) + 1} forms minus d/du {sympy.sstr(exact)} cancels to 0"
    return _CONFIRMED[name]


def _derive(sol, given, rng, *, activation, output, definition, chain, via_output, in_u, texts) -> Derivation:
    import numpy as np

    name = activation.text
    confirmed = _confirm_symbolically(name, output, definition, chain, via_output)
    lhs = Sym(f"{name}(u)", text=f"{name}(u)", latex=rf"{activation.latex}(u)")
    prime = Sym("prime", text=f"{name}′(u)", latex=rf"{activation.latex}'(u)")
    points = rng.uniform(-3, 3, size=(1, 7))
    der = Derivation(sol, {"u": points})
    der.define(texts[0], lhs, definition)
    der.derive(texts[1], prime, chain[0])
    der.derive(texts[2], prime, chain[-1], via=tuple(chain[1:-1]))
    der.values[output.name] = der.values[lhs.name]
    der.derive(texts[3], prime, via_output)
    der.answer("derivative", via_output)
    der.answer("derivative_u", in_u)
    sol.check("sympy: every form above equals d/du of the definition", True, confirmed)

    def function(v):  # written out here: the check stays independent of the table's numbers
        return 1 / (1 + np.exp(-v)) if name == "σ" else np.tanh(v)

    step = 1e-6
    numeric = (function(points + step) - function(points - step)) / (2 * step)
    der.verify(f"{name}′ via the output", der.values["prime"], numeric)
    return der.finish(f"7 random points u in [−3, 3], seed {given.seed}")


def _same(left, right, u) -> bool:
    """Exact equality of two expressions in exp(±u): with z = e^u both are rational in z, and a
    rational function is zero exactly when it cancels to 0 (quick, unlike sympy.simplify)."""
    import sympy

    z = sympy.Symbol("z", positive=True)
    difference = (left - right).rewrite(sympy.exp).subs(u, sympy.log(z))
    return sympy.cancel(sympy.expand(difference)) == 0


def _to_sympy(expr: Expr, symbols: dict):
    """A formula tree as a sympy expression, for checking each written step symbolically."""
    import sympy

    from ...sympy_functions import FORMULA_WORDS

    if isinstance(expr, Num):
        return sympy.Integer(expr.value) if isinstance(expr.value, int) else sympy.Float(expr.value)
    if isinstance(expr, Sym):
        return symbols[expr.name]
    assert isinstance(expr, Op)
    args = [_to_sympy(a, symbols) for a in expr.args]
    operations = {
        "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
        "/": lambda a, b: a / b, "^": lambda a, b: a ** b, "neg": lambda a: -a,
        "call:derive_group": lambda a: a,
        **{"call:" + word: meaning for word, meaning in FORMULA_WORDS.items()},
    }
    return operations[expr.op](*args)
