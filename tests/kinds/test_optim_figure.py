"""The optimize figure keeps every run visible where runs share points (GD and momentum from
the same x0): the first run is drawn on top, later runs beneath it with larger hollow markers.
The chart is data until written, so the test reads what will be drawn."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import pytest

from solver.kinds.optimize._optim_figure import Trajectory, draw_trajectories, run_style, trajectory_chart


def _chart(runs, variables):
    f = (lambda x: x * x) if len(variables) == 1 else (lambda x, y: x * x + y * y)
    return trajectory_chart(f, list(variables), runs)


@pytest.mark.parametrize("variables", [("x",), ("x", "y"), ("x", "y", "z")])
def test_first_run_is_drawn_above_the_later_runs(tmp_path, variables):
    same = [-3.0, -2.998, -2.996] if len(variables) == 1 else [[-3.0, 1.0], [-2.99, 1.0], [-2.98, 1.0]]
    runs = [Trajectory("GD", same, [0.1, 0.09, 0.08]), Trajectory("momentum", same, [0.1, 0.09, 0.08])]
    series = {s.label: s for s in _chart(runs, variables).series}
    gd, momentum = series["GD"], series["momentum"]
    assert gd.order > momentum.order
    assert gd.size < momentum.size  # the hollow marker rings the filled one
    assert gd.filled and not momentum.filled
    assert gd.marker != momentum.marker
    draw_trajectories(tmp_path / "f.svg", lambda *v: sum(x * x for x in v), list(variables), runs)
    svg = ET.parse(tmp_path / "f.svg").getroot()
    assert svg.tag.endswith("svg")
    texts = [t.text for t in svg.iter("{http://www.w3.org/2000/svg}text")]
    assert "GD" in texts and "momentum" in texts and "optimization trajectories" in texts


def test_two_variables_draw_contours_of_f_through_the_runs_points():
    runs = [Trajectory("GD", [[-2.0, 1.0], [-1.0, 0.5], [0.0, 0.0]], [5.0, 1.25, 0.0])]
    chart = _chart(runs, ("x", "y"))
    assert chart.contours is not None and len(chart.contours.levels) > 5
    (gd,) = chart.series
    assert gd.xs == [-2.0, -1.0, 0.0] and gd.ys == [1.0, 0.5, 0.0]
    low, high = chart.xlim
    assert low < -2.0 and high > 0.0


def test_styles_stay_ordered_for_many_runs():
    styles = [run_style(i, 7) for i in range(7)]
    assert all(a["order"] > b["order"] for a, b in zip(styles, styles[1:]))
    assert all(a["size"] < b["size"] for a, b in zip(styles, styles[1:]))
    assert len({s["marker"] for s in styles}) == 7
    assert all(math.isfinite(s["size"]) for s in styles)
