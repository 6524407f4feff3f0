"""The key's own SVG charts (solver/svgplot.py): contour lines against contourpy (matplotlib's
contouring library), the embedded PNG against Pillow's decoder, ticks, colours, and the same
bytes for the same chart."""

from __future__ import annotations

import io
import math
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from solver import svgplot
from solver.svgplot import Chart, Contours, Image, Series, color_at, contour_segments, nice_ticks

SVG = "{http://www.w3.org/2000/svg}"


def _points_near(points: np.ndarray, others: np.ndarray, tol: float) -> bool:
    distances = np.sqrt(((points[:, None, :] - others[None, :, :]) ** 2).sum(axis=2))
    return bool((distances.min(axis=1) <= tol).all())


@pytest.mark.parametrize("seed", range(12))
def test_contour_segments_lie_on_contourpy_lines(seed):
    contourpy = pytest.importorskip("contourpy")
    rng = np.random.default_rng(seed)
    gx, gy = np.meshgrid(np.linspace(-2, 2, 31), np.linspace(-1.5, 1.5, 27))
    a, b, c = rng.normal(size=3)
    gz = a * gx ** 2 + b * gy ** 2 + c * np.sin(2 * gx * gy) + 0.3 * gx
    if seed % 3 == 0:
        gz[rng.integers(0, 27, 5), rng.integers(0, 31, 5)] = np.nan  # holes: cells without a line
    generator = contourpy.contour_generator(gx, gy, np.ma.masked_invalid(gz), name="serial",
                                            line_type="SeparateCode", corner_mask=False)
    for level in np.nanquantile(gz, [0.1, 0.35, 0.6, 0.9]):
        ours = contour_segments(gx, gy, gz, float(level))
        lines, _ = generator.lines(float(level))
        theirs = np.concatenate(lines) if lines else np.zeros((0, 2))
        ends = np.array([p for a_, b_, c_, d_ in ours for p in ((a_, b_), (c_, d_))]).reshape(-1, 2)
        assert len(ours) > 0 and len(theirs) > 0
        # Every end of ours is a vertex of theirs and every vertex of theirs an end of ours:
        # the same crossings of the grid's edges, interpolated the same way.
        assert _points_near(ends, theirs, 1e-9) and _points_near(theirs, ends, 1e-9)


def test_contour_segments_of_a_plane_are_straight_and_on_the_level():
    gx, gy = np.meshgrid(np.linspace(0, 1, 11), np.linspace(0, 1, 11))
    segments = contour_segments(gx, gy, 2 * gx + 3 * gy, 2.5)
    assert segments
    for x0, y0, x1, y1 in segments:
        assert 2 * x0 + 3 * y0 == pytest.approx(2.5) and 2 * x1 + 3 * y1 == pytest.approx(2.5)


def test_embedded_png_decodes_to_the_colours():
    image_module = pytest.importorskip("PIL.Image")
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, size=(17, 23, 3), dtype=np.uint8)
    decoded = np.asarray(image_module.open(io.BytesIO(svgplot._png(rgb))).convert("RGB"))
    assert (decoded == rgb).all()


@pytest.mark.parametrize("seed", range(200))
def test_ticks_are_round_and_cover_the_range(seed):
    rng = np.random.default_rng(seed)
    low = float(rng.normal() * 10.0 ** rng.integers(-3, 4))
    high = low + float(rng.uniform(1e-3, 1e4))
    ticks = nice_ticks(low, high)
    assert 2 <= len(ticks) <= 12
    step = ticks[1] - ticks[0]
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert any(math.isclose(mantissa, m, rel_tol=1e-6) for m in (1, 2, 2.5, 5, 10))
    assert all(low - 1e-9 * step <= t <= high + 1e-9 * step for t in ticks)
    assert ticks[0] - low < step + 1e-9 * step and high - ticks[-1] < step + 1e-9 * step


def test_colour_maps_run_from_their_first_to_their_last_stop():
    assert color_at("diverging", 0.0) == (0x21, 0x66, 0xAC) and color_at("diverging", 1.0) == (0xB2, 0x18, 0x2B)
    assert color_at("diverging", 0.5) == (0xF7, 0xF7, 0xF7)
    assert color_at("viridis", -5) == color_at("viridis", 0) and color_at("viridis", 7) == color_at("viridis", 1)


def _chart() -> Chart:
    chart = Chart(title="two lines\nsecond row", xlabel="x", ylabel="f & g")
    chart.add(Series([0, 1, 2, float("nan"), 4], [0, 1, 4, 9, 16], "f <x²>", marker="o"))
    chart.add(Series([0, 4], [1, 1], "g", color=svgplot.PALETTE[1], line="dashed", marker="D", filled=False, order=5))
    return chart


def test_a_chart_is_well_formed_escaped_and_the_same_every_time(tmp_path):
    chart = _chart()
    assert chart.svg() == _chart().svg()
    chart.write(tmp_path / "c.svg")
    root = ET.parse(tmp_path / "c.svg").getroot()
    texts = [t.text for t in root.iter(SVG + "text")]
    assert "f <x²>" in texts and "f & g" in texts and "second row" in texts
    # The NaN breaks f's line in two; markers at the four finite points.
    lines = [p for p in root.iter(SVG + "polyline") if p.get("stroke") == svgplot.PALETTE[0]]
    assert [len(p.get("points").split()) for p in lines] == [3]  # 0, 1, 2; then 4 alone
    assert sum(1 for c in root.iter(SVG + "circle")) == 4 + 1  # four points and the legend's


def test_points_map_onto_the_plot_area():
    chart = Chart(xlim=(0.0, 10.0), ylim=(-1.0, 1.0))
    drawing = svgplot._Drawing(chart)
    assert drawing.px(0) == svgplot.MARGIN["left"] and drawing.px(10) == drawing.right
    assert drawing.py(-1) == drawing.bottom and drawing.py(1) == drawing.top


def test_heat_map_image_and_contours_draw():
    gx, gy = np.meshgrid(np.linspace(-1, 1, 20), np.linspace(-1, 1, 20))
    chart = Chart(image=Image(np.sin(gx * 3), "diverging", -1, 1), colorbar=True, legend=False)
    root = ET.fromstring(chart.svg())
    assert len(list(root.iter(SVG + "image"))) == 2  # the map and its colour bar
    chart = Chart(contours=Contours(gx, gy, gx ** 2 + gy ** 2, [0.1, 0.5, 1.0]), xlim=(-1, 1), ylim=(-1, 1))
    root = ET.fromstring(chart.svg())
    assert len([p for p in root.iter(SVG + "path")]) == 3


@pytest.mark.parametrize("seed", range(150))
def test_awkward_series_still_draw_a_well_formed_chart(seed):
    """Diverging runs, single points, constant or empty series, huge and tiny values: the chart
    is drawn (non-finite points leave gaps) and every coordinate written is a finite number."""
    rng = np.random.default_rng(seed)
    chart = Chart(title="t", xlabel="x", ylabel="y", zero_lines=bool(rng.integers(2)))
    choices = [np.nan, np.inf, -np.inf, 0.0, 1e300, -1e300, 1e-300, 5.0]
    for index in range(rng.integers(0, 4)):
        size = int(rng.integers(0, 12))
        scale = 10.0 ** rng.integers(-8, 9)
        xs = (rng.normal(size=size) * scale).tolist()
        ys = (rng.normal(size=size) * scale).tolist()
        for _ in range(int(rng.integers(0, 4))):
            if size:
                ys[int(rng.integers(size))] = float(rng.choice(choices))
                xs[int(rng.integers(size))] = float(rng.choice(choices))
        chart.add(Series(xs, ys, f"run {index}", marker=str(rng.choice(list("osD^v<>"))),
                         line=str(rng.choice(["solid", "dashed"]))))
    root = ET.fromstring(chart.svg())
    numbers = []
    for element in root.iter():
        for name in ("x", "y", "x1", "y1", "x2", "y2", "cx", "cy", "r", "width", "height"):
            if element.get(name) is not None:
                numbers.append(float(element.get(name)))
        for pair in (element.get("points") or "").split():
            numbers += [float(v) for v in pair.split(",")]
    assert all(math.isfinite(v) for v in numbers)
