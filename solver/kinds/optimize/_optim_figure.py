"""The `optimize` figure: every run's trajectory drawn over the function (a curve for one
variable, contours for two, f against t beyond that), as an SVG chart (solver/svgplot.py)
that the Markdown renderer writes with the key."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Trajectory:
    label: str
    points: list  # x_t: floats, or lists for several variables
    values: list[float]  # f(x_t)


def _safe(f: Callable, *args) -> float:
    try:
        value = float(f(*args))
    except (OverflowError, ValueError, ZeroDivisionError):
        return math.nan
    return value if math.isfinite(value) else math.nan


def _span(values: list[float]) -> tuple[float, float]:
    finite = [v for v in values if math.isfinite(v)]
    low, high = (min(finite), max(finite)) if finite else (-1.0, 1.0)
    margin = max(0.5, 0.25 * (high - low))
    return low - margin, high + margin


MARKERS = "osD^v<>"


def run_style(index: int, count: int) -> dict:
    """How run `index` of `count` is drawn (svgplot.Series fields). Runs often share their first
    points (GD and momentum from the same x0), so the earlier run is drawn on top with small
    filled markers and the later ones beneath it with larger hollow markers and dashed lines:
    every run stays visible."""
    later = index > 0
    return {"marker": MARKERS[index % len(MARKERS)], "order": 3 + count - index,
            "size": 5 + 2.5 * index, "line": "dashed" if later else "solid",
            "width": 1.6 if not later else 1.2, "filled": not later}


def trajectory_chart(f: Callable, variables: list[str], runs: list[Trajectory]):
    """The chart: f as a curve (one variable) or contour lines (two), each run's points joined
    in order, its first steps numbered (one variable); f against t beyond two variables."""
    import numpy as np

    from ...svgplot import PALETTE, Chart, Contours, Label, Series

    chart = Chart(title="optimization trajectories")
    if len(variables) == 1:
        low, high = _span([p for run in runs for p in run.points])
        grid = np.linspace(low, high, 400).tolist()
        chart.add(Series(grid, [_safe(f, v) for v in grid], "f(x)", color="#595959", order=1))
        chart.xlabel, chart.ylabel = variables[0], "f"
    elif len(variables) == 2:
        xs = _span([p[0] for run in runs for p in run.points])
        ys = _span([p[1] for run in runs for p in run.points])
        gx, gy = np.meshgrid(np.linspace(*xs, 120), np.linspace(*ys, 120))
        gz = np.array([[_safe(f, a, b) for a, b in zip(row_x, row_y)]
                       for row_x, row_y in zip(gx.tolist(), gy.tolist())])
        finite = gz[np.isfinite(gz)]
        if finite.size:
            levels = np.unique(np.quantile(finite, np.linspace(0, 1, 25)))
            if levels.size > 1:
                chart.contours = Contours(gx, gy, gz, levels.tolist())
        chart.xlim, chart.ylim = xs, ys
        chart.xlabel, chart.ylabel = variables[0], variables[1]
    else:
        chart.xlabel, chart.ylabel = "t", "f(x_t)"
    for index, run in enumerate(runs):
        style = run_style(index, len(runs))
        if len(variables) == 1:
            xs_, ys_ = run.points, run.values
        elif len(variables) == 2:
            xs_, ys_ = [p[0] for p in run.points], [p[1] for p in run.points]
        else:
            xs_, ys_ = list(range(len(run.values))), run.values
        chart.add(Series([float(v) for v in xs_], [float(v) for v in ys_], run.label,
                         color=PALETTE[index % len(PALETTE)], **style))
        if len(variables) == 1:
            chart.labels += [Label(float(x), float(y), str(t)) for t, (x, y) in
                             enumerate(zip(run.points, run.values)) if t < 12 and math.isfinite(y)]
    return chart


def draw_trajectories(path: Path, f: Callable, variables: list[str], runs: list[Trajectory]) -> None:
    trajectory_chart(f, variables, runs).write(path)
