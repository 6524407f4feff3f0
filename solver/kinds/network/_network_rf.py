"""Receptive field arithmetic for kind `network`, one spatial dimension at a time.

For a layer with kernel K, stride S, (left) padding P and dilation D, from the input's
receptive field size r, jump j (distance in input pixels between neighbouring outputs) and
start (centre of the first output's field):

    r = r_in + (K − 1)·D·j_in,   j = j_in·S,   start = start_in + (D·(K − 1)/2 − P)·j_in

The input starts at r = 1, j = 1, start = 0: pixel centres at 0, 1, 2, … A fully connected
layer (or a global pooling) on an H-wide map acts like a convolution with K = H, S = 1, P = 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from ...formula import Sym
from ...steps import Formula, Solution

R_IN = Sym("r_in")
J_IN = Sym("j_in")
START_IN = Sym("start_in", text="start_in", latex=r"\mathrm{start}_{\mathrm{in}}")
K, S, P, D = Sym("K"), Sym("S"), Sym("P"), Sym("D")

RF_EXPR = R_IN + (K - 1) * D * J_IN
JUMP_EXPR = J_IN * S
START_EXPR = START_IN + (D * (K - 1) / 2 - P) * J_IN


@dataclass
class Window:
    """One dimension's window: kernel, stride, left padding, dilation."""

    kernel: int
    stride: int
    padding: int
    dilation: int = 1


@dataclass
class FieldState:
    """Receptive field per spatial dimension (same order as the map's sizes)."""

    r: list
    j: list
    start: list
    labels: list[str]

    @classmethod
    def of_input(cls, labels: list[str]) -> "FieldState":
        return cls([1] * len(labels), [1] * len(labels), [0] * len(labels), list(labels))

    def values(self) -> tuple:
        """(rf, jump, start) for a table row: one number when every dimension agrees."""
        return tuple(_collapse([_plain(v) for v in values]) for values in (self.r, self.j, self.start))


def _plain(value):
    if isinstance(value, Fraction) and value.denominator == 1:
        return value.numerator
    return value


def _collapse(values: list):
    return values[0] if len(set(values)) == 1 else values


def advance(sol: Solution, label: str, state: FieldState, windows: list[Window]) -> FieldState:
    """The state after a layer, with the formulas as steps (one set when all dimensions agree)."""
    same = (len(set((w.kernel, w.stride, w.padding, w.dilation) for w in windows)) == 1
            and len(set(zip(state.r, state.j, state.start))) == 1)
    dims = [0] if same else range(len(windows))
    new = FieldState(list(state.r), list(state.j), list(state.start), state.labels)
    for dim in dims:
        w = windows[dim]
        bindings = {"r_in": state.r[dim], "j_in": state.j[dim], "start_in": state.start[dim],
                    "K": w.kernel, "S": w.stride, "P": w.padding, "D": w.dilation}
        which = ("" if len(windows) == 1 else " (every dimension)" if same
                 else f" along {state.labels[dim]}")
        r = sol.add(f"{label} receptive field{which}: r = r_in + (K − 1)·D·j_in.",
                    Formula(Sym("r"), RF_EXPR, bindings))
        j = sol.add(f"{label} jump (input pixels between neighbouring outputs){which}.",
                    Formula(Sym("j"), JUMP_EXPR, bindings))
        start = sol.add(f"{label} centre of the first output's field{which}.",
                        Formula(Sym("start", text="start", latex=r"\mathrm{start}"), START_EXPR, bindings))
        targets = range(len(windows)) if same else [dim]
        for t in targets:
            new.r[t], new.j[t], new.start[t] = _plain(r), _plain(j), _plain(start)
    return new



def join(sol: Solution, label: str, states: list[FieldState]) -> FieldState:
    """Where branches meet, an output sees the union of what each branch sees: per dimension the
    interval from the leftmost to the rightmost field edge (the largest field when the centres agree)."""
    first = states[0]
    new = FieldState(list(first.r), list(first.j), list(first.start), first.labels)
    for dim in range(len(first.labels)):
        lows = [s.start[dim] - Fraction(s.r[dim] - 1, 2) for s in states]
        highs = [s.start[dim] + Fraction(s.r[dim] - 1, 2) for s in states]
        low, high = min(lows), max(highs)
        new.r[dim] = _plain(high - low + 1)
        new.start[dim] = _plain((low + high) / 2)
        new.j[dim] = max(s.j[dim] for s in states)
    which = "" if len(first.labels) == 1 else " per dimension"
    fields = ", ".join(f"r = {_collapse([_plain(v) for v in s.r])} centred at {_collapse([_plain(v) for v in s.start])}"
                       for s in states)
    sol.note(f"{label}: the branches' fields ({fields}) are joined: the output sees their union{which}, "
             f"r = {_collapse(new.r)}, start = {_collapse(new.start)}, jump = {_collapse(new.j)}.")
    return new


def advance_transposed(sol: Solution, label: str, state: FieldState, windows: list[Window]) -> FieldState:
    """After a transposed convolution (stride S, kernel K, dilation D, padding P): output o takes
    input i where o = i·S − P + t·D, t = 0…K − 1. The inputs one output takes are D/g apart
    (g = gcd(D, S)), at most ⌈K·g/S⌉ of them, so the largest field over the output positions is
    r = r_in + (⌈K·g/S⌉ − 1)·(D/g)·j_in; neighbouring outputs are j_in/S apart, and the first
    output's window is centred at start_in + (P − D(K − 1)/2)·j_in/S (its zero-inserted grid)."""
    from math import gcd

    new = FieldState(list(state.r), list(state.j), list(state.start), state.labels)
    same = len(set((w.kernel, w.stride, w.padding, w.dilation) for w in windows)) == 1 \
        and len(set(zip(state.r, state.j, state.start))) == 1
    for dim in ([0] if same else range(len(windows))):
        w = windows[dim]
        g = gcd(w.dilation, w.stride)
        taken = -(-w.kernel * g // w.stride)  # ⌈K·g/S⌉ inputs at most
        bindings = {"r_in": state.r[dim], "j_in": state.j[dim], "start_in": state.start[dim], "K": w.kernel,
                    "S": w.stride, "P": w.padding, "D": w.dilation, "n": taken, "g": g}
        which = ("" if len(windows) == 1 else " (every dimension)" if same else f" along {state.labels[dim]}")
        n, g_sym = Sym("n", text="⌈K·g/S⌉", latex=r"\lceil Kg/S \rceil"), Sym("g", text="gcd(D,S)")
        r = sol.add(f"{label} receptive field{which}: each output takes at most ⌈K·g/S⌉ = {taken} inputs, "
                    f"D/g apart (g = gcd(D, S) = {g}); the largest field over the output positions.",
                    Formula(Sym("r"), R_IN + (n - 1) * (D / g_sym) * J_IN, bindings))
        j = sol.add(f"{label} jump{which}: neighbouring outputs are j_in/S apart.",
                    Formula(Sym("j"), J_IN / S, bindings))
        start = sol.add(f"{label} centre of the first output's window{which}.",
                        Formula(Sym("start", text="start", latex=r"\mathrm{start}"),
                                START_IN + (P - D * (K - 1) / 2) * J_IN / S, bindings))
        for t in (range(len(windows)) if same else [dim]):
            new.r[t], new.j[t], new.start[t] = _plain(r), _plain(j), _plain(start)
    return new
