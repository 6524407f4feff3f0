"""Backpropagation through time for a cell given as equations.

Each equation q(t) = f(…) is a formula tree; its vector–Jacobian products with respect to the
quantities it reads are built as formula trees too (Uᵀ·upstream for a matrix product, upstream ⊙
σ(1 − σ) for a sigmoid, …), so the recursion is shown like the built-in cells':
    ∂J/∂q(t) = ∂L(t)/∂q(t) + Σ over the equations that read q(t) (this step) or q_prev (next step).
The weight gradients sum the products that reach each weight over all steps.
"""

from __future__ import annotations

from collections import defaultdict

from ...activations import POSITIVE, TABLE
from ...formula import Expr, Num, Op, Sym, call, define_function, evaluate, hadamard, total
from . import _rnn_values as rv
from ._rnn_common import Worksheet, grad_sym, sum_expr, zero_step

ADJOINT = "∂J/∂"


def _np_sign(x):
    import numpy as np

    return np.sign(np.asarray(x, dtype=float))


def _define_sign() -> None:
    from ...formula import FUNCTIONS, Function

    if "rnn_sign" not in FUNCTIONS:
        define_function("rnn_sign", Function("sign", r"\operatorname{sign}",
                                             lambda x: (x > 0) - (x < 0), _np_sign))


_define_sign()


def adjoint(name: str) -> rv.Name:
    return rv.name(f"{ADJOINT}{name}", rf"\frac{{\partial J}}{{\partial {rv.name(name).latex}}}",
                   rf"\frac{{\partial J}}{{\partial {rv.name(name).latex}^{{t}}}}")


class ReversePass:
    """Vector–Jacobian products of one formula tree, with the numbers of a worksheet at hand to
    tell scalars (whose gradient sums over the vector they scale) from vectors."""

    def __init__(self, ws: Worksheet, layout: rv.Layout):
        self.ws = ws
        self.layout = layout

    def is_scalar(self, expr: Expr) -> bool:
        import numpy as np

        return np.ndim(evaluate(expr, self.ws.values)) == 0

    def fit(self, part: Expr, gradient: Expr) -> Expr:
        """A scalar that was broadcast over a vector collects the sum of the gradient."""
        return total(gradient) if self.is_scalar(part) else gradient

    def times(self, a: Expr, b: Expr) -> Expr:
        return a * b if self.is_scalar(a) or self.is_scalar(b) else hadamard(a, b)

    def products(self, expr: Expr, upstream: Expr, result: Sym | None = None) -> list[tuple[str, Expr]]:
        """(name of a leaf, its share of the gradient) for every leaf under `expr`; `result`
        names expr's own value so a derivative written with it (σ′ = σ(1 − σ)) can use it."""
        if isinstance(expr, Sym):
            return [(expr.name, upstream)]
        if isinstance(expr, Num):
            return []
        op, args = expr.op, expr.args
        value = result if result is not None else expr
        if op == "+":
            return (self.products(args[0], self.fit(args[0], upstream))
                    + self.products(args[1], self.fit(args[1], upstream)))
        if op == "-":
            return (self.products(args[0], self.fit(args[0], upstream))
                    + self.products(args[1], self.fit(args[1], -upstream)))
        if op == "neg":
            return self.products(args[0], -upstream)
        if op in ("⊙", "*"):
            a, b = args
            return (self.products(a, self.fit(a, self.times(upstream, b)))
                    + self.products(b, self.fit(b, self.times(upstream, a))))
        if op == "/":
            a, b = args
            return (self.products(a, self.fit(a, upstream / b))
                    + self.products(b, self.fit(b, -(self.times(upstream, a) / (b ** 2)))))
        if op == "^":
            base, exponent = args
            assert isinstance(exponent, Num), "exponents are numbers in cell equations"
            slope = exponent * base ** Num(exponent.value - 1)
            return self.products(base, self.times(upstream, slope))
        if op == "@":
            left, vector = args
            if isinstance(left, Op) and left.op == "T":  # in_out: u = Mᵀv
                matrix = left.args[0]
                return (self.products(matrix, vector @ upstream.T)
                        + self.products(vector, matrix @ upstream))
            return self.products(left, upstream @ vector.T) + self.products(vector, left.T @ upstream)
        if op.startswith("call:"):
            (inner,) = args
            return self.products(inner, self.through(op[5:], upstream, inner, value))
        raise AssertionError(f"no reverse rule for {op}")

    def through(self, function: str, upstream: Expr, inner: Expr, value: Expr) -> Expr:
        if function == "sigmoid":
            return hadamard(upstream, hadamard(value, 1 - value))
        if function == "tanh":
            return hadamard(upstream, 1 - value ** 2)
        if function == "exp":
            return hadamard(upstream, value)
        if function == "log":
            return upstream / inner
        if function == "sqrt":
            return upstream / (Num(2) * value)
        if function == "sin":
            return hadamard(upstream, call("cos", inner))
        if function == "cos":
            return -hadamard(upstream, call("sin", inner))
        if function == "abs":
            return hadamard(upstream, call("rnn_sign", inner))
        if function == TABLE["relu"].word:
            return hadamard(upstream, call(POSITIVE, inner))
        raise AssertionError(f"no derivative for {function}")


def backward(ws: Worksheet, trees: dict[int, list[tuple[str, Expr]]], output: str, loss: str,
             targets: list, sizes: dict[str, int], params: dict[str, tuple], layout: rv.Layout) -> None:
    """`params`: each weight's shape (a matrix keeps its gradient as a matrix)."""
    """∂J/∂q(t) for every quantity from the last step to the first, then ∂J/∂P for every weight."""
    reverse = ReversePass(ws, layout)
    steps = len(trees)
    pending: dict[str, list[Expr]] = defaultdict(list)  # quantity at a step -> shares received
    weight_shares: dict[str, list[Expr]] = defaultdict(list)
    ws.sol.note(f"Backpropagation through time, from step {steps} down to 1 and through the equations "
                f"in reverse: each quantity collects what its own loss sends ({output} only) and what "
                "every equation that reads it sends back, in this step or (as _prev) in the next.")
    for t in range(steps, 0, -1):
        for name, tree in reversed(trees[t]):
            quantity = rv.name(name).at(t)
            shares = list(pending.pop(quantity.name, []))
            if name == output and targets[t - 1] is not None:
                shares.insert(0, rv.loss_gradient_expr(loss, quantity, rv.name("d").at(t), sizes[name]))
            text = f"Gradient reaching {name}({t})."
            if shares:
                ws.step(text, adjoint(name).at(t), sum_expr(shares))
            else:
                zero_step(ws, text + " Nothing reads it later: zero.", adjoint(name).at(t), sizes[name])
            upstream, inner = adjoint(name).at(t), tree
            if isinstance(tree, Op) and tree.op.startswith("call:"):
                # Through the outer function first, as a named step: δ_q(t) = ∂J/∂(its argument).
                delta = rv.name(f"δ_{name}", rf"\delta_{{{rv.name(name).latex}}}").at(t)
                (inner,) = tree.args
                ws.step(f"Through the outer {tree.op[5:].replace('rnn_', '')} of {name}({t}).", delta,
                        reverse.through(tree.op[5:], upstream, inner, quantity))
                upstream = delta
            for leaf, share in reverse.products(inner, upstream):
                if leaf in params:
                    weight_shares[leaf].append(share)
                elif leaf != rv.name("x").at(t).name:
                    pending[leaf].append(share)
    ws.sol.note("Each weight collects one share per step (and per place it appears): the weights are "
                "shared by all steps.")
    for param, shape in params.items():
        shares = weight_shares.get(param)
        if not shares:
            ws.sol.note(f"{param} does not reach the loss: its gradient is zero.")
            continue
        ws.step(f"Gradient of {param} ({'×'.join(map(str, shape)) or 'a number'}).",
                grad_sym(param, rv.name(param).latex), sum_expr(shares), answer=f"grad_{param}",
                matrix=len(shape) == 2)
