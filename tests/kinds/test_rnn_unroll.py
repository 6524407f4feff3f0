"""`rnn-unroll`: node and edge counts against the unrolled graph built here edge by edge, the
Mermaid source against the same graph, the text grid as exact text, and the pictures."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from helpers import render_text, solve_text
from solver.context import Context
from solver.kinds.rnn.rnn_unroll import RnnUnrollInput, solve


def unrolled_graph(layers: int, steps: int, outputs: str, initial: bool) -> tuple[set, set]:
    """Nodes and edges of the unrolled network, listed one by one."""
    nodes, edges = set(), set()
    for t in range(1, steps + 1):
        nodes.add(("x", t))
        edges.add((("x", t), ("h", 1, t)))
        for layer in range(1, layers + 1):
            nodes.add(("h", layer, t))
            if layer > 1:
                edges.add((("h", layer - 1, t), ("h", layer, t)))
            if t > 1 or initial:
                nodes.add(("h", layer, t - 1))
                edges.add((("h", layer, t - 1), ("h", layer, t)))
        if outputs == "all" or (outputs == "last" and t == steps):
            nodes.add(("y", t))
            edges.add((("h", layers, t), ("y", t)))
    return nodes, edges


CASES = [(l, t, o, i) for l in (1, 2, 3, 5) for t in (1, 2, 4, 9) for o in ("all", "last", "none")
         for i in (True, False)]


@pytest.mark.parametrize("layers, steps, outputs, initial", CASES)
def test_counts_match_the_graph_and_the_mermaid_source(layers, steps, outputs, initial):
    given = RnnUnrollInput(layers=layers, steps=steps, outputs=outputs, initial_state=initial)
    sol = solve(given, Context())
    nodes, edges = unrolled_graph(layers, steps, outputs, initial)
    assert sol.answers == {"nodes": len(nodes), "edges": len(edges)}
    mermaid = next(s.diagram for s in sol.steps if s.diagram is not None).mermaid.splitlines()
    declared = [line for line in mermaid if line.startswith("    ") and ("[" in line or "(" in line)]
    arrows = [line for line in mermaid if "-->" in line]
    assert len(declared) == len(nodes) and len(arrows) == len(edges)


def test_course_deep_rnn_problem():
    from helpers import REPO
    from solver.pipeline import solve_file

    result = solve_file(REPO / "problems/course/000-cnn-rnn-assignment.yaml", only={"3-deep-rnn-unroll"})
    (problem,) = result.problems
    nodes, edges = unrolled_graph(3, 4, "all", True)
    assert problem.answers == {"nodes": len(nodes), "edges": len(edges)}


EXPECTED_TEXT = """\
p  (rnn-unroll)
  Given: layers = 2, steps = 3, cell = GRU
  1. Unrolling copies the cell once per time step. The copy of layer l at step t takes h^(l−1)(t) 
from the layer below (x(t) for layer 1) and h^(l)(t−1) from its own previous step; every copy of a 
layer shares that layer's weights.
  2. Nodes: T inputs x(t), L·T cell copies, L initial states h^(l)(0), T outputs y(t).
     N = T + L·T + L + T = 3 + 2·3 + 2 + 3 = 14
  3. Edges: T input edges, (L − 1)·T edges between layers, L·(T − 1) recurrent edges, L edges from 
the initial states, T output edges.
     E = T + (L − 1)·T + L·(T − 1) + L + T = 3 + (2 − 1)·3 + 2·(3 − 1) + 2 + 3 = 15
  4. The unrolled network: layer 1 at the bottom, time from left to right.
                 y(1)        y(2)        y(3)
                  ↑           ↑           ↑
     h²(0) ──→ [GRU 2] ──→ [GRU 2] ──→ [GRU 2]
                  ↑           ↑           ↑
     h¹(0) ──→ [GRU 1] ──→ [GRU 1] ──→ [GRU 1]
                  ↑           ↑           ↑
                 x(1)        x(2)        x(3)
     
     2 layers × 3 steps: → carries h of a layer to its next step, ↑ feeds a layer's output to the 
layer above
  5. Picture of the unrolled network.
     [figure: GRU with 2 layer(s) unrolled over 3 steps; written with --format md -o]
  Answer nodes = 14
  Answer edges = 15

"""


def test_exact_terminal_text():
    text = yaml.safe_dump({"problems": [{"id": "p", "kind": "rnn-unroll",
                                         "given": {"layers": 2, "steps": 3, "cell": "GRU"}}]}, sort_keys=False)
    assert render_text(solve_text(text)) == EXPECTED_TEXT


def test_long_sequences_are_elided_in_the_text_grid():
    sol = solve(RnnUnrollInput(layers=1, steps=30, outputs="last"), Context())
    text = next(s.diagram for s in sol.steps if s.diagram is not None).text
    first_line = text.splitlines()[0]
    assert "y(30)" in first_line and "…" in first_line
    assert "x(1)" in text and "x(29)" in text and "x(15)" not in text


@pytest.mark.parametrize("suffix", [".svg", ".png"])
def test_picture_is_a_figure_to_write_under_its_name(tmp_path: Path, suffix: str):
    sol = solve(RnnUnrollInput(layers=2, steps=3, picture=f"unrolled{suffix}"), Context())
    figure = sol.figures[0]
    assert figure.suffix == suffix and figure.file == f"unrolled{suffix}"
    assert not (tmp_path / f"unrolled{suffix}").exists()  # the kind writes nothing itself
    target = tmp_path / f"drawn{suffix}"
    figure.draw(target)
    data = target.read_bytes()
    if suffix == ".png":
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
    else:
        root = ElementTree.fromstring(data)
        assert root.tag.endswith("svg")


def test_named_picture_goes_into_the_figures_folder_beside_the_key(tmp_path: Path):
    from solver.cli import build_app

    problem = tmp_path / "unroll.yaml"
    problem.write_text(yaml.safe_dump({"problems": [{"id": "deep", "kind": "rnn-unroll",
                                                     "given": {"layers": 1, "steps": 2, "picture": "pic.svg"}}]}))
    key = tmp_path / "out" / "key.md"
    outcome = CliRunner().invoke(build_app("solve"), ["solve", str(problem), "--format", "md", "-o", str(key)])
    assert outcome.exit_code == 0, outcome.output
    assert (tmp_path / "out" / "key_files" / "pic.svg").exists()
    assert not (tmp_path / "pic.svg").exists()
    assert "Picture written to pic.svg in the figures folder." in key.read_text()


def test_markdown_key_embeds_the_figure(tmp_path: Path):
    from solver.cli import build_app

    problem = tmp_path / "unroll.yaml"
    problem.write_text(yaml.safe_dump({"problems": [{"id": "deep", "kind": "rnn-unroll",
                                                     "given": {"layers": 2, "steps": 2}}]}))
    key = tmp_path / "key.md"
    outcome = CliRunner().invoke(build_app("solve"), ["solve", str(problem), "--format", "md", "-o", str(key)])
    assert outcome.exit_code == 0, outcome.output
    text = key.read_text()
    assert "```mermaid" in text and "flowchart BT" in text
    figure = tmp_path / "key_files" / "unroll-deep-unrolled.svg"
    assert figure.exists() and f"]({'key_files/unroll-deep-unrolled.svg'})" in text


@pytest.mark.parametrize("given, field", [
    ({"layers": 2, "steps": 3, "picture": "net.jpg"}, "picture"),
    ({"layers": 2, "steps": 3, "picture": "/tmp/net.svg"}, "picture"),
    ({"layers": 2, "steps": 3, "picture": "../net.svg"}, "picture"),
    ({"layers": 2, "steps": 3, "picture": "~/net.svg"}, "picture"),
    ({"layers": 2, "steps": 3, "picture": "sub/net.svg"}, "picture"),
    ({"layers": 0, "steps": 3}, "layers"),
    ({"steps": 0}, "steps"),
    ({"layers": 2}, "steps"),
    ({"layers": 2, "steps": 3, "cell": "A<b>"}, "cell"),
    ({"layers": 2, "steps": 3, "outputs": "some"}, "outputs"),
])
def test_bad_input_names_the_field(given, field):
    text = yaml.safe_dump({"problems": [{"id": "p", "kind": "rnn-unroll", "given": given}]})
    error = solve_text(text).problems[0].error
    assert error is not None and error.exit_code == 2 and error.field == field, error
