"""What every recurrent cell shares: the worksheet that turns formulas into steps (with the
hand-rounding of SPEC §5), the output layer y = g(Vᵀh + c), the loss, the sums that make the
weight gradients, and the note on vanishing or exploding products of Jacobians."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...activations import TABLE
from ...context import Context
from ...errors import BadInput
from ...formula import Expr, Op, Sym
from ...steps import Formula, Solution, Table
from . import _rnn_values as rv

SUBSTITUTE_LIMIT = 48  # numbers written into one formula before only the result is shown


@dataclass
class Setup:
    """A validated recurrent problem, ready to run: sizes, values and conventions."""

    cell: str
    layout: rv.Layout
    inputs: list  # x(1)…x(T) as columns
    params: dict[str, Any]  # symbol name -> array (U, W, b, V, c, U_i, …)
    hidden: str  # hidden activation (elman / jordan)
    output: str  # output activation (when there is an output layer)
    has_output: bool  # V and c given: y(t) = g(Vᵀh(t) + c)
    initial: dict[str, Any]  # h0, y0, c0 as columns
    loss: str | None = None
    targets: list = field(default_factory=list)  # one column or None per step
    input_size: int = 0
    hidden_size: int = 0
    output_size: int = 0

    @property
    def steps(self) -> int:
        return len(self.inputs)


class Worksheet:
    """Records each computed quantity as a step and keeps its (hand-rounded) value by name."""

    def __init__(self, sol: Solution, ctx: Context):
        self.sol = sol
        self.ctx = ctx
        self.values: dict[str, Any] = {}

    def bind(self, sym: Sym, value) -> Sym:
        self.values[sym.name] = value
        return sym

    def has(self, sym: Sym) -> bool:
        return sym.name in self.values

    def value(self, sym: Sym):
        return self.values[sym.name]

    def step(self, text: str, lhs: Sym, expr: Expr, answer: str | None = None, matrix: bool = False,
             field: str | None = None):
        """Add `lhs = expr` as a step; `matrix` keeps a one-column answer as a matrix (a weight
        gradient is shaped like its weights). A value that is not finite is bad input, blamed
        on `field` when given."""
        import numpy as np

        bindings = {s.name: self.values[s.name] for s in rv.symbols_in(expr)}
        shown = sum(int(np.size(v)) for v in bindings.values())
        with np.errstate(all="ignore"):  # overflow and log(0) are reported below, in words
            formula = Formula(lhs, expr, bindings, substitute=shown <= SUBSTITUTE_LIMIT)
        if not np.all(np.isfinite(np.asarray(formula.value, dtype=float))):
            raise BadInput(f"{lhs.text_name()} is not a finite number: the values overflow, or a loss "
                           "takes the log of an output of exactly 0 or 1", field=field)
        value = self.sol.add(text, formula)
        value = self.ctx.hand_round(value)
        self.values[lhs.name] = value
        if answer is not None:
            self.sol.set_answer(answer, rv.plain(value, matrix))
            self.sol.steps[-1].answer = answer
        return value


def time_order(steps: int, reverse: bool = False) -> list[tuple[int, int]]:
    """(t, the step whose state feeds t) in the order a direction runs: forward t = 1…T fed by
    t − 1; backward t = T…1 fed by t + 1 (its initial state sits at T + 1)."""
    if reverse:
        return [(t, t + 1) for t in range(steps, 0, -1)]
    return [(t, t - 1) for t in range(1, steps + 1)]


def scratch(ctx: Context) -> Worksheet:
    """A worksheet whose steps are thrown away (checks and Jacobians reuse the step code)."""
    return Worksheet(Solution(), ctx)


def sum_expr(terms: list[Expr]) -> Expr:
    """t₁ + t₂ + …, writing a negated term as a subtraction."""
    total = terms[0]
    for term in terms[1:]:
        negated = isinstance(term, Op) and term.op == "neg"
        total = total - term.args[0] if negated else total + term
    return total


def size_text(rows: int, cols: int = 1) -> str:
    return f"{rows}×{cols}"


# --- output layer -----------------------------------------------------------------------------


V, C_OUT = Sym("V"), Sym("c")
X, H, Y, D = rv.name("x"), rv.name("h"), rv.name("y"), rv.name("d")
U_Y, DELTA_Y = rv.name("u_y"), rv.name("δ_y", r"\delta_{y}")
DJ_DH = rv.name("∂J/∂h", r"\frac{\partial J}{\partial h}", r"\frac{\partial J}{\partial h^{{t}}}")


def output_forward(ws: Worksheet, setup: Setup, t: int) -> None:
    """u_y(t) = Vᵀh(t) + c and y(t) = g(u_y(t))."""
    layout, o = setup.layout, setup.output_size
    pre = ws.step(f"Output pre-activation ({size_text(o)}).", U_Y.at(t),
                  layout.apply(V, H.at(t)) + C_OUT)
    del pre
    ws.step(f"Output y({t}) = {setup.output}(u_y({t})) ({size_text(o)}).", Y.at(t),
            rv.activate(setup.output, U_Y.at(t)), answer=f"y{t}")


def bind_targets(ws: Worksheet, setup: Setup) -> None:
    for t, target in enumerate(setup.targets, 1):
        if target is not None:
            ws.bind(D.at(t), target)


def loss_steps(sol: Solution, ws: Worksheet, setup: Setup) -> None:
    """L(t) for every step with a target, then J = Σ L(t)."""
    out = Y if setup.has_output else H
    size = setup.output_size if setup.has_output else setup.hidden_size
    sol.convention(rv.loss_convention(setup.loss))
    terms = []
    for t, target in enumerate(setup.targets, 1):
        if target is None:
            continue
        lhs = rv.name("L").at(t)
        ws.step(f"Loss at t = {t}.", lhs, rv.loss_expr(setup.loss, out.at(t), D.at(t), size), field="targets")
        terms.append(lhs)
    ws.step("Total loss over the sequence.", Sym("J"), sum_expr(terms), answer="J", field="targets")


def output_delta(ws: Worksheet, setup: Setup, t: int) -> Sym | None:
    """δ_y(t) = ∂L(t)/∂u_y(t) from this step's own loss (None when the step has no target)."""
    if setup.targets[t - 1] is None:
        return None
    size = setup.output_size
    expr = rv.output_delta_expr(setup.loss, setup.output, Y.at(t), U_Y.at(t), D.at(t), size)
    simple = (setup.loss, setup.output) in (("bce", "sigmoid"), ("ce", "softmax"))
    why = (f"{setup.output} with {setup.loss}: the derivative simplifies to y − d" if simple
           else f"∂L/∂y through the output activation ({rv.derivative_text(setup.output)})")
    ws.step(f"Output delta at t = {t}: {why}.", DELTA_Y.at(t), expr)
    return DELTA_Y.at(t)


def direct_hidden_gradient(setup: Setup, t: int) -> Expr | None:
    """∂L(t)/∂h(t) from this step's own loss: through V when there is an output layer,
    directly when the hidden state is the output."""
    if setup.targets[t - 1] is None:
        return None
    if setup.has_output:
        return setup.layout.back(V, DELTA_Y.at(t))
    return rv.loss_gradient_expr(setup.loss, H.at(t), D.at(t), setup.hidden_size)


def zero_step(ws: Worksheet, text: str, lhs: Sym, size: int):
    import numpy as np

    zero = ws.bind(Sym(f"zero[{size}]", text="0", latex=r"\mathbf{0}"), np.zeros((size, 1)))
    return ws.step(text, lhs, zero)


def own_loss_terms(ws: Worksheet, setup: Setup, t: int) -> list[Expr]:
    """What step t's own loss sends to h(t), as a list of zero or one term; the output delta
    it goes through is written as a step first."""
    if setup.has_output:
        output_delta(ws, setup, t)
    direct = direct_hidden_gradient(setup, t)
    return [] if direct is None else [direct]


def sum_step(ws: Worksheet, text: str, lhs: Sym, terms: list[Expr], size: int):
    """lhs = the sum of the gradient terms reaching it, or a zero vector when none does."""
    if terms:
        return ws.step(text, lhs, sum_expr(terms))
    return zero_step(ws, text, lhs, size)


# --- weight gradients ---------------------------------------------------------------------------


def grad_sym(label: str, latex: str) -> Sym:
    return Sym(f"grad_{label}", text=f"∂J/∂{label}", latex=rf"\frac{{\partial J}}{{\partial {latex}}}")


# --- vanishing / exploding -----------------------------------------------------------------------


def jacobian_note(sol: Solution, state: str, formula_text: str, jacobians: list, bound_text: str = "") -> None:
    """Norms of ∂s(t)/∂s(t−1) and of their running product ∂s(t)/∂s(1), with what it means."""
    import numpy as np

    if not jacobians:
        sol.note("With one time step no gradient travels through time, so nothing can vanish or explode.")
        return
    rows, product = [], np.eye(jacobians[0].shape[1])
    for t, jac in enumerate(jacobians, 2):
        product = jac @ product
        rows.append([t, float(np.linalg.norm(jac, 2)), float(np.linalg.norm(product, 2))])
    sol.add(f"Vanishing or exploding gradients: the gradient that reaches step 1 from step t is "
            f"multiplied by the product of the Jacobians ∂{state}(k)/∂{state}(k−1), k = 2…t, where "
            f"{formula_text}. Their spectral norms (largest singular values):",
            table=Table(["t", f"‖∂{state}(t)/∂{state}(t−1)‖₂", f"‖∂{state}(t)/∂{state}(1)‖₂"], rows,
                        title="products of Jacobians for the given weights"))
    final = rows[-1][2]
    if final < 0.5:
        verdict = "shrinks: over longer sequences such products vanish, so early steps get little gradient"
    elif final > 2:
        verdict = "grows: over longer sequences such products explode (gradient clipping helps)"
    else:
        verdict = "changes little over so few steps"
    sol.note(f"Over the {len(jacobians)} transition{'s' if len(jacobians) > 1 else ''} here the "
             f"product has norm {final:.4g}: the gradient {verdict}." + (f" {bound_text}" if bound_text else ""))


def activation_derivative(name: str, out, pre):
    """f′ as a matrix (diagonal, or the softmax Jacobian) from the activation's output/input."""
    import numpy as np

    out, pre = np.asarray(out, dtype=float).reshape(-1), np.asarray(pre, dtype=float).reshape(-1)
    activation = TABLE[name]
    if activation.jacobian is not None:
        return activation.jacobian(out)
    return np.diag(activation.derivative(pre, out))


def map_matrix(layout: rv.Layout, weights):
    """The matrix M with u = M·v for a weight matrix used as apply(W, v)."""
    import numpy as np

    return np.asarray(weights, dtype=float).T if layout.in_out else np.asarray(weights, dtype=float)


# --- the solver's own check of the gradients -----------------------------------------------------

DIRECTIONS = 3  # random directions of the finite-difference check


def finite_difference_check(sol: Solution, params: dict, gradients: dict, loss_of) -> None:
    """Central differences of J along a few random directions of all weights at once, against the
    same directional derivatives from the backpropagated gradients; `loss_of(params)` is J."""
    import numpy as np

    from ...nn.gradcheck import directional_difference

    worst, scale = directional_difference(loss_of, params, gradients, DIRECTIONS, np.random.default_rng(0))
    sol.check("backpropagation through time agrees with central finite differences of J",
              worst <= 1e-6 * max(1.0, scale), f"directional derivatives along {DIRECTIONS} random "
              "directions of all weights agree to 1e-6", worst)


def output_rows(setup, lay, h: int, o: int) -> list[list[str]]:
    """The dimension table's rows for the output layer, when the network has one."""
    if not setup.has_output:
        return []
    return [["V", lay.shape_text(h, o), "hidden → output weights"],
            ["c", size_text(o), "output bias"],
            ["u_y(t), y(t)", size_text(o), "output pre-activation and output"]]
