"""A figure is drawn once per run, however many keys use it: the Markdown key and the HTML page
of the same results draw each figure one time and show the same image."""

from __future__ import annotations

from helpers import REPO

from solver.pipeline import solve_file
from solver.render.html import render_html
from solver.render.markdown import render_markdown


def test_markdown_then_html_draws_each_figure_once(tmp_path):
    result = solve_file(REPO / "problems" / "examples" / "posenc-layouts.yaml")
    figures = [step.figure for p in result.problems for step in p.solution.steps if step.figure is not None]
    assert figures
    calls = []
    for figure in figures:
        original = figure.draw

        def counting(path, original=original, name=figure.name):
            calls.append(name)
            original(path)

        figure.draw = counting
    markdown = render_markdown([result], tmp_path / "figures", "figures/")
    page = render_html([result])
    assert len(calls) == len(figures)
    written = sorted((tmp_path / "figures").iterdir())
    assert len(written) == len(figures) and markdown.count("](figures/") == len(figures)
    import base64

    for path in written:
        assert base64.b64encode(path.read_bytes()).decode("ascii") in page
