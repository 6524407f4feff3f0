"""The optimize figure keeps every run visible where runs share points (GD and momentum from
the same x0): the first run is drawn on top, later runs beneath it with larger hollow markers."""

from __future__ import annotations

import math

import pytest

from solver.kinds.optimize._optim_figure import Trajectory, draw_trajectories, run_style


def _drawn_lines(tmp_path, monkeypatch, runs, variables=("x",)):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kept = []
    monkeypatch.setattr(plt, "close", kept.append)  # keep the figure to look at what was drawn
    f = (lambda x: x * x) if len(variables) == 1 else (lambda x, y: x * x + y * y)
    draw_trajectories(tmp_path / "f.png", f, list(variables), runs)
    assert (tmp_path / "f.png").stat().st_size > 1000
    (figure,) = kept
    lines = {line.get_label(): line for line in figure.axes[0].get_lines()}
    plt.close(figure)
    return lines


@pytest.mark.parametrize("variables", [("x",), ("x", "y"), ("x", "y", "z")])
def test_first_run_is_drawn_above_the_later_runs(tmp_path, monkeypatch, variables):
    same = [-3.0, -2.998, -2.996] if len(variables) == 1 else [[-3.0, 1.0], [-2.99, 1.0], [-2.98, 1.0]]
    runs = [Trajectory("GD", same, [0.1, 0.09, 0.08]), Trajectory("momentum", same, [0.1, 0.09, 0.08])]
    lines = _drawn_lines(tmp_path, monkeypatch, runs, variables)
    gd, momentum = lines["GD"], lines["momentum"]
    assert gd.get_zorder() > momentum.get_zorder()
    assert gd.get_markersize() < momentum.get_markersize()  # the hollow marker rings the filled one
    assert momentum.get_fillstyle() == "none" and gd.get_fillstyle() == "full"
    assert gd.get_marker() != momentum.get_marker()


def test_styles_stay_ordered_for_many_runs():
    styles = [run_style(i, 7) for i in range(7)]
    assert all(a["zorder"] > b["zorder"] for a, b in zip(styles, styles[1:]))
    assert all(a["markersize"] < b["markersize"] for a, b in zip(styles, styles[1:]))
    assert len({s["marker"] for s in styles}) == 7
    assert all(math.isfinite(s["markersize"]) for s in styles)
