"""Kind `rnn-unroll`: a (deep) RNN of L layers unrolled over T time steps — how many nodes and
edges the unrolled graph has, and the diagram itself: Mermaid in Markdown, a text grid in the
terminal, and a picture (SVG or PNG) embedded in the answer key; `picture` names the file it is
also written to, in the figures folder beside the key.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from ...context import Context
from ...formula import Sym
from ...inputs import KindInput, figure_file_name
from ...registry import register
from ...steps import Diagram, Figure, Formula, Solution

PICTURE_SUFFIXES = (".svg", ".png")


class RnnUnrollInput(KindInput):
    layers: int = Field(1, ge=1, le=50, description="L, the number of stacked recurrent layers (1–50)")
    steps: int = Field(ge=1, le=200, description="T, the number of time steps (1–200)")
    cell: str = Field("RNN", description="the label of a cell (RNN, LSTM, GRU, …)")
    outputs: Literal["all", "last", "none"] = Field(
        "all", description="all: y(t) at every step; last: only y(T) (sequence classification); none")
    initial_state: bool = Field(True, description="draw each layer's initial state h(0) and its edge")
    picture: str | None = Field(None, description="a file name ending in .svg or .png: the picture is "
                                                  "written there and embedded in the Markdown key")

    @field_validator("cell")
    @classmethod
    def _cell(cls, value):
        text = str(value).strip()
        if not text or len(text) > 20 or any(ch in text for ch in '"<>[]{}|\n'):
            raise ValueError("cell is a short label such as RNN, LSTM or GRU (at most 20 characters, "
                             "no brackets or quotes)")
        return text

    @field_validator("picture")
    @classmethod
    def _picture(cls, value):
        return None if value is None else figure_file_name(value, PICTURE_SUFFIXES, name="picture")


T, L = Sym("T"), Sym("L")


def _count_steps(sol: Solution, given: RnnUnrollInput) -> None:
    bindings = {"T": given.steps, "L": given.layers}
    outputs = {"all": T, "last": 1, "none": 0}[given.outputs]
    initial = L if given.initial_state else 0
    node_expr = T + L * T
    edge_expr = T + (L - 1) * T + L * (T - 1)
    if given.initial_state:
        node_expr, edge_expr = node_expr + initial, edge_expr + initial
    if given.outputs != "none":
        node_expr, edge_expr = node_expr + outputs, edge_expr + outputs
    sol.note("Unrolling copies the cell once per time step. The copy of layer l at step t takes "
             "h^(l−1)(t) from the layer below (x(t) for layer 1) and h^(l)(t−1) from its own previous "
             "step; every copy of a layer shares that layer's weights.")
    parts = ["T inputs x(t)", "L·T cell copies"] + (["L initial states h^(l)(0)"] if given.initial_state else []) \
        + ({"all": ["T outputs y(t)"], "last": ["one output y(T)"], "none": []}[given.outputs])
    sol.add("Nodes: " + ", ".join(parts) + ".", Formula(Sym("nodes", text="N", latex="N"), node_expr, bindings),
            answer="nodes")
    edge_parts = ["T input edges", "(L − 1)·T edges between layers", "L·(T − 1) recurrent edges"] + (
        ["L edges from the initial states"] if given.initial_state else []) + (
        {"all": ["T output edges"], "last": ["one output edge"], "none": []}[given.outputs])
    sol.add("Edges: " + ", ".join(edge_parts) + ".", Formula(Sym("edges", text="E", latex="E"), edge_expr, bindings),
            answer="edges")


@register(
    "rnn-unroll",
    RnnUnrollInput,
    summary="A (deep) RNN of L layers unrolled over T time steps: node and edge counts, and the "
            "diagram (Mermaid, text, SVG/PNG picture).",
    answers={"nodes": "nodes of the unrolled graph (inputs, cell copies, initial states, outputs)",
             "edges": "edges of the unrolled graph"},
    example="--layers 3 --steps 4 --cell LSTM",
    template={"layers": 2, "steps": 4, "cell": "RNN", "outputs": "all", "initial_state": True},
)
def solve(given: RnnUnrollInput, ctx: Context) -> Solution:
    from . import _rnn_unroll_draw as drawing

    sol = Solution()
    net = drawing.Unrolled(given.layers, given.steps, given.cell, given.outputs, given.initial_state)
    _count_steps(sol, given)
    sol.add("The unrolled network: layer 1 at the bottom, time from left to right.",
            diagram=Diagram(drawing.mermaid(net), drawing.text_grid(net)))
    suffix = Path(given.picture).suffix.lower() if given.picture else ".svg"
    name = Path(given.picture).stem if given.picture else "unrolled"
    figure = Figure(name, f"{given.cell} with {given.layers} layer(s) unrolled over {given.steps} steps",
                    partial(drawing.draw, net), suffix=suffix, file=given.picture)
    if given.picture:
        sol.add(f"Picture written to {given.picture} in the figures folder.", figure=figure)
    else:
        sol.add("Picture of the unrolled network.", figure=figure)
    return sol
