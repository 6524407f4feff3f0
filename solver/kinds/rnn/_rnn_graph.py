"""One cell's computation graph (`rnn` with `diagram: true`): the cell's equations for a
generic step t, as formula trees, become a Mermaid flowchart (Markdown) and a numbered list of
operations (terminal). The same builder draws the standard cells and custom equations."""

from __future__ import annotations

from dataclasses import dataclass, field

from ...formula import Expr, Num, Op, Sym, call, hadamard, to_text
from ...numbers import format_number
from ...steps import Diagram
from . import _rnn_values as rv

_OPERATOR_LABELS = {"+": "+", "-": "−", "*": "×", "/": "÷", "⊙": "⊙", "@": "·", "neg": "−", "^": "^"}
_CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"


@dataclass
class Node:
    id: str
    label: str
    kind: str  # input, state, weight, constant, op, result


@dataclass
class Graph:
    nodes: list[Node] = field(default_factory=list)
    edges: list[tuple[str, str]] = field(default_factory=list)
    by_name: dict[str, str] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)  # the terminal listing
    op_count: int = 0

    def add(self, label: str, kind: str) -> Node:
        node = Node(f"n{len(self.nodes) + 1}", label, kind)
        self.nodes.append(node)
        return node

    def leaf(self, sym: Sym, transposed: bool = False) -> str:
        key = sym.name + ("ᵀ" if transposed else "")
        if key not in self.by_name:
            label = sym.text_name() + ("ᵀ" if transposed else "")
            kind = "state" if "(t−1)" in label else "input" if "(t)" in label else "weight"
            self.by_name[key] = self.add(label, kind).id
        return self.by_name[key]

    def label_of(self, node_id: str) -> str:
        node = next(n for n in self.nodes if n.id == node_id)
        if node.kind == "op":
            return node.label.split(" ")[0]
        return node.label

    def operation(self, symbol: str, inputs: list[str]) -> str:
        mark = _CIRCLED[self.op_count] if self.op_count < len(_CIRCLED) else f"({self.op_count + 1})"
        self.op_count += 1
        node = self.add(f"{mark} {symbol}", "op")
        for source in inputs:
            self.edges.append((source, node.id))
        shown = [self.label_of(i) for i in inputs]
        if symbol in ("σ", "tanh", "ReLU", "exp", "ln", "√", "sin", "cos", "abs", "softmax"):
            self.lines.append(f"{mark} = {symbol}({', '.join(shown)})")
        else:
            self.lines.append(f"{mark} = {f' {symbol} '.join(shown)}")
        return node.id

    def expression(self, expr: Expr) -> str:
        if isinstance(expr, Sym):
            return self.leaf(expr)
        if isinstance(expr, Num):
            return self.add(format_number(expr.value, 4) if not hasattr(expr.value, "shape") else "0",
                            "constant").id
        assert isinstance(expr, Op)
        if expr.op == "T":
            inner = expr.args[0]
            return self.leaf(inner, transposed=True) if isinstance(inner, Sym) else self.expression(inner)
        if expr.op == "+":
            return self.operation("+", [self.expression(a) for a in _flatten_sum(expr)])
        if expr.op.startswith("call:"):
            from ...formula import FUNCTIONS

            return self.operation(FUNCTIONS[expr.op[5:]].text, [self.expression(a) for a in expr.args])
        if expr.op == "neg":
            return self.operation("−", [self.expression(expr.args[0])])
        return self.operation(_OPERATOR_LABELS.get(expr.op, expr.op), [self.expression(a) for a in expr.args])

    def equation(self, lhs: Sym, expr: Expr) -> None:
        source = self.expression(expr)
        result = self.add(lhs.text_name(), "result")
        self.edges.append((source, result.id))
        self.by_name[lhs.name] = result.id
        self.lines.append(f"{lhs.text_name()} = {self.label_of(source)}    [{lhs.text_name()} = {to_text(expr)}]")


def _flatten_sum(expr: Op) -> list[Expr]:
    terms = []
    for arg in expr.args:
        if isinstance(arg, Op) and arg.op == "+":
            terms += _flatten_sum(arg)
        else:
            terms.append(arg)
    return terms


_SHAPES = {"input": ('(["', '"])'), "state": ('(["', '"])'), "weight": ('["', '"]'),
           "constant": ('["', '"]'), "op": ('(("', '"))'), "result": ('[["', '"]]')}


def _mermaid(graph: Graph) -> str:
    lines = ["flowchart LR"]
    for node in graph.nodes:
        left, right = _SHAPES[node.kind]
        label = node.label.replace('"', "#quot;")
        lines.append(f"  {node.id}{left}{label}{right}")
    lines += [f"  {a} --> {b}" for a, b in graph.edges]
    lines += [f"  {a} -.->|next step| {b}" for a, b in _feedback_edges(graph)]
    lines.append("  classDef state fill:#eef,stroke:#447")
    states = [n.id for n in graph.nodes if n.kind in ("state", "result")]
    if states:
        lines.append(f"  class {','.join(states)} state")
    return "\n".join(lines)


def _feedback_edges(graph: Graph) -> list[tuple[str, str]]:
    """s(t) becomes s(t−1) of the next step: a dashed edge closes each loop."""
    states = {n.label.replace("(t−1)", ""): n.id for n in graph.nodes if n.kind == "state"}
    return [(n.id, states[n.label.replace("(t)", "")]) for n in graph.nodes
            if n.kind == "result" and n.label.replace("(t)", "") in states]


def diagram_of(equations: list[tuple[Sym, Expr]], title: str) -> Diagram:
    graph = Graph()
    for lhs, expr in equations:
        graph.equation(lhs, expr)
    inputs = [n.label for n in graph.nodes if n.kind in ("input", "state")]
    weights = [n.label for n in graph.nodes if n.kind == "weight"]
    text = [title, f"inputs: {', '.join(inputs)}", f"weights: {', '.join(weights) or '—'}", *graph.lines]
    return Diagram(_mermaid(graph), "\n".join(text))


# --- the standard cells for a generic step t ------------------------------------------------------


def _at(name: rv.Name, now: bool = True) -> Sym:
    return name.at("t" if now else "t−1")


def standard_equations(cell: str, setup) -> list[tuple[Sym, Expr]]:
    from ._rnn_gated import B_HN, GATE_ACTIVATION, GATES, gate, weight

    lay = setup.layout
    x, h = rv.name("x"), rv.name("h")
    if cell in ("elman", "jordan"):
        fed = h if cell == "elman" else rv.name("y")
        u_h = rv.name("u_h")
        eqs = [(_at(u_h), lay.apply(Sym("U"), _at(x)) + lay.apply(Sym("W"), _at(fed, False)) + Sym("b")),
               (_at(h), rv.activate(setup.hidden, _at(u_h)))]
    else:
        eqs = []
        for q in GATES[cell]:
            pre = lay.apply(weight("U", q), _at(x))
            if q == "n":
                u_hn = rv.name("u_hn")
                eqs.append((_at(u_hn), lay.apply(weight("W", "n"), _at(h, False)) + B_HN))
                pre = pre + weight("b", q) + hadamard(_at(gate("r")), _at(u_hn))
            else:
                pre = pre + lay.apply(weight("W", q), _at(h, False)) + weight("b", q)
            eqs.append((_at(gate(q)), rv.activate(GATE_ACTIVATION[q], pre)))
        if cell == "lstm":
            c = rv.name("c")
            eqs.append((_at(c), hadamard(_at(gate("f")), _at(c, False)) + hadamard(_at(gate("i")), _at(gate("g")))))
            eqs.append((_at(h), hadamard(_at(gate("o")), call("tanh", _at(c)))))
        else:
            z = _at(gate("z"))
            eqs.append((_at(h), hadamard(1 - z, _at(gate("n"))) + hadamard(z, _at(h, False))))
    if setup.has_output:
        u_y, y = rv.name("u_y"), rv.name("y")
        eqs += [(_at(u_y), lay.apply(Sym("V"), _at(h)) + Sym("c")), (_at(y), rv.activate(setup.output, _at(u_y)))]
    return eqs


def cell_diagram(cell: str, setup) -> Diagram:
    return diagram_of(standard_equations(cell, setup), f"one {cell} step (operations in order):")


def custom_diagram(equations: list[tuple[Sym, Expr]], states: list[str]) -> Diagram:
    title = "one step of the cell (operations in order)" + (
        f"; fed back: {', '.join(s + '(t−1)' for s in states)}" if states else "") + ":"
    return diagram_of(equations, title)
