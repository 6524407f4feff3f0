"""The `optimize` figure: every run's trajectory drawn over the function (a curve for one
variable, contours for two, f against t beyond that). matplotlib is imported only inside
`draw_trajectories`, which the Markdown renderer calls when it writes the key."""

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
    """How run `index` of `count` is drawn. Runs often share their first points (GD and momentum
    from the same x0), so the earlier run is drawn on top with small filled markers and the
    later ones beneath it with larger hollow markers and dashed lines: every run stays visible."""
    later = index > 0
    return {"marker": MARKERS[index % len(MARKERS)], "zorder": 3 + count - index,
            "markersize": 4 + 2.5 * index, "linestyle": "--" if later else "-",
            "linewidth": 1.6 if not later else 1.2, "fillstyle": "none" if later else "full",
            "markeredgewidth": 1.4 if later else 1.0}


def draw_trajectories(path: Path, f: Callable, variables: list[str], runs: list[Trajectory]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from ...figures import save

    figure, axes = plt.subplots(figsize=(7, 4.5), dpi=110)
    if len(variables) == 1:
        low, high = _span([p for run in runs for p in run.points])
        grid = np.linspace(low, high, 400)
        axes.plot(grid, [_safe(f, float(v)) for v in grid], color="0.35", linewidth=1.5, label="f(x)")
        for index, run in enumerate(runs):
            axes.plot(run.points, run.values, label=run.label, **run_style(index, len(runs)))
            for t, (x, y) in enumerate(zip(run.points, run.values)):
                if t < 12 and math.isfinite(y):
                    axes.annotate(str(t), (x, y), textcoords="offset points", xytext=(4, 4), fontsize=7)
        axes.set_xlabel(variables[0])
        axes.set_ylabel("f")
    elif len(variables) == 2:
        xs = _span([p[0] for run in runs for p in run.points])
        ys = _span([p[1] for run in runs for p in run.points])
        gx, gy = np.meshgrid(np.linspace(*xs, 160), np.linspace(*ys, 160))
        gz = np.vectorize(lambda a, b: _safe(f, float(a), float(b)))(gx, gy)
        finite = gz[np.isfinite(gz)]
        if finite.size:
            levels = np.unique(np.quantile(finite, np.linspace(0, 1, 25)))
            if levels.size > 1:
                axes.contour(gx, gy, gz, levels=levels, cmap="viridis", linewidths=0.7)
        for index, run in enumerate(runs):
            axes.plot([p[0] for p in run.points], [p[1] for p in run.points], label=run.label,
                      **run_style(index, len(runs)))
        axes.set_xlabel(variables[0])
        axes.set_ylabel(variables[1])
    else:
        for index, run in enumerate(runs):
            axes.plot(range(len(run.values)), run.values, label=run.label, **run_style(index, len(runs)))
        axes.set_xlabel("t")
        axes.set_ylabel("f(x_t)")
    axes.set_title("optimization trajectories")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    save(figure, path, format="png")
    plt.close(figure)
