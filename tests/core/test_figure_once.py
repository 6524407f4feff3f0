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


def test_fast_png_compression_keeps_every_pixel(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.image
    import matplotlib.pyplot as plt
    import numpy as np

    from solver.figures import save

    figure, axes = plt.subplots(figsize=(3, 2), dpi=80)
    axes.imshow(np.sin(np.arange(400).reshape(20, 20) / 7), cmap="RdBu_r")
    axes.set_title("a title")
    save(figure, tmp_path / "fast.png")
    figure.savefig(tmp_path / "default.png")
    plt.close(figure)
    fast, default = (matplotlib.image.imread(tmp_path / name) for name in ("fast.png", "default.png"))
    assert fast.shape == default.shape and np.array_equal(fast, default)
