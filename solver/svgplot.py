"""Charts for answer keys, written as SVG by the solver itself.

A key's figures are plain: curves and markers over a function, contour lines, a heat map with
its colour bar. Drawing them with matplotlib cost about 0.1 s each plus half a second to import
it, most of the Markdown and HTML keys' time for the bundled library (SPEC §8); written
directly they cost a few milliseconds. A chart is data until it is written (`Chart.series` and
the rest can be inspected), and the same chart gives the same bytes every time: no dates, no
random ids. NumPy is imported only by contours and images.

Coordinates: data units on the axes; the SVG is `WIDTH` × `HEIGHT` pixels, y growing downwards.
"""

from __future__ import annotations

import base64
import math
import struct
import zlib
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

WIDTH, HEIGHT = 770, 495
MARGIN = {"left": 62, "right": 18, "top": 36, "bottom": 46}
FONT = 'font-family="DejaVu Sans, Helvetica, Arial, sans-serif"'
# Series colours in turn (a colour-blind-safe qualitative palette).
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2")
# Colour maps as evenly spaced stops, interpolated linearly in RGB.
COLORMAPS = {
    "viridis": ("#440154", "#3b528b", "#21918c", "#5ec962", "#fde725"),
    "diverging": ("#2166ac", "#67a9cf", "#f7f7f7", "#ef8a62", "#b2182b"),  # blue, white, red
}


def colours(colormap: str, fractions):
    """RGB bytes (an array of shape fractions.shape + (3,)) at `fractions` (0…1, clamped; NaN
    reads as 0) of a colour map."""
    import numpy as np

    stops = np.array([[int(h[i:i + 2], 16) for i in (1, 3, 5)] for h in COLORMAPS[colormap]], dtype=float)
    position = np.clip(np.nan_to_num(np.asarray(fractions, dtype=float), nan=0.0), 0, 1) * (len(stops) - 1)
    low = np.minimum(position.astype(int), len(stops) - 2)
    part = (position - low)[..., None]
    return np.rint(stops[low] + (stops[low + 1] - stops[low]) * part).astype(np.uint8)


def color_at(colormap: str, fraction: float) -> tuple[int, int, int]:
    """The colour at `fraction` of a colour map, as RGB bytes."""
    return tuple(int(v) for v in colours(colormap, fraction))


def _hex(rgb: tuple[int, int, int]) -> str:
    return "#%02x%02x%02x" % rgb


def nice_ticks(low: float, high: float, count: int = 6) -> list[float]:
    """Round tick positions covering [low, high]: steps of 1, 2, 2.5 or 5 times a power of ten."""
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        return [low] if math.isfinite(low) else []
    raw = (high - low) / max(count - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.ceil(low / step - 1e-9)
    ticks = []
    k = first
    while k * step <= high + 1e-9 * step and len(ticks) < 50:
        ticks.append(round(k * step, 12))
        k += 1
    return ticks


def tick_text(value: float) -> str:
    text = f"{value:.6g}"
    return "−" + text[1:] if text.startswith("-") else text


@dataclass
class Series:
    """A line and/or markers through points; non-finite points break the line."""

    xs: list[float]
    ys: list[float]
    label: str | None = None
    color: str = PALETTE[0]
    line: str | None = "solid"  # solid, dashed, or None for markers only
    width: float = 1.5
    marker: str | None = None  # o s D ^ v < >
    size: float = 5.0
    filled: bool = True
    order: int = 2  # drawn in increasing order: larger is on top


@dataclass
class Label:
    x: float
    y: float
    text: str
    size: float = 8.0
    dx: float = 4.0  # pixels right and up of the point
    dy: float = 4.0


@dataclass
class Box:
    """A rectangle in data units (an outlined cell of a heat map)."""

    x: float
    y: float
    width: float
    height: float
    color: str = "#000000"


@dataclass
class Image:
    """A matrix shown as colours, row 0 at the top, cell (i, j) centred on (j, i)."""

    values: object  # 2-D array
    colormap: str
    low: float
    high: float


@dataclass
class Contours:
    """Lines of equal value of a grid (x, y, z: 2-D arrays of one shape) at `levels`."""

    x: object
    y: object
    z: object
    levels: list[float]
    colormap: str = "viridis"


@dataclass
class Chart:
    title: str = ""
    xlabel: str = ""
    ylabel: str = ""
    xlim: tuple[float, float] | None = None
    ylim: tuple[float, float] | None = None
    series: list[Series] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)
    boxes: list[Box] = field(default_factory=list)
    image: Image | None = None
    contours: Contours | None = None
    zero_lines: bool = False  # grey lines through x = 0 and y = 0
    grid: bool = True
    legend: bool = True
    y_down: bool = False  # row numbers grow downwards (heat maps)
    colorbar: bool = False

    def add(self, series: Series) -> Series:
        self.series.append(series)
        return series

    def svg(self) -> str:
        return _Drawing(self).text()

    def write(self, path: Path) -> None:
        Path(path).write_text(self.svg(), encoding="utf-8")


def _finite(values) -> list[float]:
    return [v for v in values if isinstance(v, (int, float)) and math.isfinite(v)]


# Values beyond this are drawn at it: a diverging run (1e308) must not overflow the axes' span.
LARGEST = 1e300
PIXELS = 1e6  # coordinates are cut here; the plot area's clip hides anything that far out


def _span(values: list[float], pad: float = 0.05) -> tuple[float, float]:
    values = [min(max(v, -LARGEST), LARGEST) for v in values]
    if not values:
        return -1.0, 1.0
    low, high = min(values), max(values)
    if high == low:  # one value: a span around it that floats can tell apart
        half = max(1.0, abs(low) * 0.1)
        return low - half, high + half
    margin = pad * (high - low)
    return low - margin, high + margin


def _usable(limits: tuple[float, float] | None, values: list[float], pad: float) -> tuple[float, float]:
    """The caller's axis limits when they are finite and increasing, else ones from the values."""
    if limits is not None and all(math.isfinite(v) for v in limits) and limits[1] > limits[0] \
            and math.isfinite(limits[1] - limits[0]):
        return limits
    return _span([v for v in (limits or ()) if math.isfinite(v)] or values, pad)


class _Drawing:
    def __init__(self, chart: Chart):
        self.chart = chart
        self.right = WIDTH - MARGIN["right"] - (70 if chart.colorbar else 0)
        self.left, self.top, self.bottom = MARGIN["left"], MARGIN["top"], HEIGHT - MARGIN["bottom"]
        if chart.title.count("\n"):
            self.top += 14 * chart.title.count("\n")
        self.xlim = _usable(chart.xlim, _finite(x for s in chart.series for x in s.xs), 0.05)
        self.ylim = _usable(chart.ylim, _finite(y for s in chart.series for y in s.ys), 0.08)
        self.y_down = chart.y_down
        if chart.image is not None:  # one cell per unit, row 0 at the top
            rows, cols = len(chart.image.values), len(chart.image.values[0])
            self.xlim, self.ylim, self.y_down = (-0.5, cols - 0.5), (-0.5, rows - 0.5), True
        self.parts: list[str] = []

    def px(self, x: float) -> float:
        low, high = self.xlim
        fraction = (min(max(x, -LARGEST), LARGEST) - low) / (high - low)
        return min(max(self.left + fraction * (self.right - self.left), -PIXELS), PIXELS)

    def py(self, y: float) -> float:
        low, high = self.ylim
        fraction = (min(max(y, -LARGEST), LARGEST) - low) / (high - low)
        position = self.top + fraction * (self.bottom - self.top) if self.y_down else \
            self.bottom - fraction * (self.bottom - self.top)
        return min(max(position, -PIXELS), PIXELS)

    def text(self) -> str:
        chart = self.chart
        self.parts.append(f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
                          f'width="{WIDTH}" height="{HEIGHT}" {FONT}>')
        self.parts.append(f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>')
        self.parts.append(f'<clipPath id="plot-area"><rect x="{self.left}" y="{self.top}" '
                          f'width="{self.right - self.left}" height="{self.bottom - self.top}"/></clipPath>')
        if chart.image is not None:
            self._image(chart.image)
        self._axes()
        self.parts.append('<g clip-path="url(#plot-area)">')
        if chart.zero_lines:
            self._zero_lines()
        if chart.contours is not None:
            self._contours(chart.contours)
        for series in sorted(chart.series, key=lambda s: s.order):
            self._series(series)
        for box in chart.boxes:
            x0, x1 = sorted((self.px(box.x), self.px(box.x + box.width)))
            y0, y1 = sorted((self.py(box.y), self.py(box.y + box.height)))
            self.parts.append(f'<rect x="{x0:.2f}" y="{y0:.2f}" width="{x1 - x0:.2f}" height="{y1 - y0:.2f}" '
                              f'fill="none" stroke="{box.color}" stroke-width="0.8"/>')
        for label in chart.labels:
            if math.isfinite(label.x) and math.isfinite(label.y):
                self.parts.append(f'<text x="{self.px(label.x) + label.dx:.2f}" y="{self.py(label.y) - label.dy:.2f}" '
                                  f'font-size="{label.size}">{escape(label.text)}</text>')
        self.parts.append("</g>")
        if chart.legend and any(s.label for s in chart.series):
            self._legend()
        if chart.colorbar and chart.image is not None:
            self._colorbar(chart.image)
        self.parts.append("</svg>\n")
        return "\n".join(self.parts)

    # --- axes, ticks, title ---------------------------------------------------------------------

    def _axes(self) -> None:
        chart, parts = self.chart, self.parts
        xticks = [t for t in nice_ticks(*self.xlim) if self.xlim[0] <= t <= self.xlim[1]]
        yticks = [t for t in nice_ticks(*sorted(self.ylim)) if min(self.ylim) <= t <= max(self.ylim)]
        for t in xticks:
            x = self.px(t)
            if chart.grid:
                parts.append(f'<line x1="{x:.2f}" y1="{self.top}" x2="{x:.2f}" y2="{self.bottom}" stroke="#dddddd"/>')
            parts.append(f'<line x1="{x:.2f}" y1="{self.bottom}" x2="{x:.2f}" y2="{self.bottom + 4}" stroke="#000000"/>')
            parts.append(f'<text x="{x:.2f}" y="{self.bottom + 17}" font-size="11" text-anchor="middle">{tick_text(t)}</text>')
        for t in yticks:
            y = self.py(t)
            if chart.grid:
                parts.append(f'<line x1="{self.left}" y1="{y:.2f}" x2="{self.right}" y2="{y:.2f}" stroke="#dddddd"/>')
            parts.append(f'<line x1="{self.left - 4}" y1="{y:.2f}" x2="{self.left}" y2="{y:.2f}" stroke="#000000"/>')
            parts.append(f'<text x="{self.left - 7}" y="{y + 4:.2f}" font-size="11" text-anchor="end">{tick_text(t)}</text>')
        parts.append(f'<rect x="{self.left}" y="{self.top}" width="{self.right - self.left}" '
                     f'height="{self.bottom - self.top}" fill="none" stroke="#000000"/>')
        middle = (self.left + self.right) / 2
        if chart.xlabel:
            parts.append(f'<text x="{middle:.1f}" y="{HEIGHT - 10}" font-size="12" text-anchor="middle">'
                         f'{escape(chart.xlabel)}</text>')
        if chart.ylabel:
            y_middle = (self.top + self.bottom) / 2
            parts.append(f'<text x="16" y="{y_middle:.1f}" font-size="12" text-anchor="middle" '
                         f'transform="rotate(-90 16 {y_middle:.1f})">{escape(chart.ylabel)}</text>')
        for row, line in enumerate(chart.title.split("\n") if chart.title else []):
            parts.append(f'<text x="{middle:.1f}" y="{22 + 14 * row}" font-size="13" text-anchor="middle">'
                         f'{escape(line)}</text>')

    def _zero_lines(self) -> None:
        if self.xlim[0] < 0 < self.xlim[1]:
            self.parts.append(f'<line x1="{self.px(0):.2f}" y1="{self.top}" x2="{self.px(0):.2f}" '
                              f'y2="{self.bottom}" stroke="#808080" stroke-width="0.6"/>')
        if min(self.ylim) < 0 < max(self.ylim):
            self.parts.append(f'<line x1="{self.left}" y1="{self.py(0):.2f}" x2="{self.right}" '
                              f'y2="{self.py(0):.2f}" stroke="#808080" stroke-width="0.6"/>')

    # --- series, markers, legend ----------------------------------------------------------------

    def _series(self, s: Series) -> None:
        points = [(self.px(x), self.py(y)) if math.isfinite(x) and math.isfinite(y) else None
                  for x, y in zip(s.xs, s.ys)]
        if s.line:
            dash = ' stroke-dasharray="6 4"' if s.line == "dashed" else ""
            for run in _runs(points):
                if len(run) > 1:
                    path = " ".join(f"{x:.2f},{y:.2f}" for x, y in run)
                    self.parts.append(f'<polyline points="{path}" fill="none" stroke="{s.color}" '
                                      f'stroke-width="{s.width}"{dash} stroke-linejoin="round"/>')
        if s.marker:
            for point in points:
                if point is not None:
                    self.parts.append(_marker(s.marker, *point, s.size, s.color, s.filled))

    def _legend(self) -> None:
        entries = [s for s in self.chart.series if s.label]
        width = 26 + 7 * max(len(s.label) for s in entries)
        height = 8 + 16 * len(entries)
        x = self.right - width - 8
        y = self._legend_top(width, height, x)
        parts = self.parts
        parts.append(f'<rect x="{x}" y="{y}" width="{width}" height="{height}" fill="#ffffff" '
                     f'fill-opacity="0.85" stroke="#cccccc"/>')
        for row, s in enumerate(entries):
            cy = y + 12 + 16 * row
            if s.line:
                dash = ' stroke-dasharray="6 4"' if s.line == "dashed" else ""
                parts.append(f'<line x1="{x + 4}" y1="{cy}" x2="{x + 20}" y2="{cy}" stroke="{s.color}" '
                             f'stroke-width="{s.width}"{dash}/>')
            if s.marker:
                parts.append(_marker(s.marker, x + 12, cy, min(s.size, 7), s.color, s.filled))
            parts.append(f'<text x="{x + 24}" y="{cy + 4}" font-size="10">{escape(s.label)}</text>')

    def _legend_top(self, width: float, height: float, x: float) -> float:
        """Top right, unless more of the points fall there than in the bottom right corner."""
        def count(top: float) -> int:
            return sum(1 for s in self.chart.series for px_, py_ in zip(s.xs, s.ys)
                       if math.isfinite(px_) and math.isfinite(py_)
                       and x <= self.px(px_) <= x + width and top <= self.py(py_) <= top + height)
        upper, lower = self.top + 8, self.bottom - height - 8
        return lower if count(lower) < count(upper) else upper

    # --- images and contours --------------------------------------------------------------------

    def _image(self, image: Image) -> None:
        import numpy as np

        values = np.asarray(image.values, dtype=float)
        rows, cols = values.shape
        png = _png(_colours(values, image))
        x0, y0 = self.left, self.top
        # Sharp cells when each gets a few pixels; finer maps are smoothed by the viewer (no moiré).
        sharp = cols * 3 <= self.right - self.left and rows * 3 <= self.bottom - self.top
        rendering = ' style="image-rendering:pixelated"' if sharp else ""
        self.parts.append(f'<image x="{x0}" y="{y0}" width="{self.right - self.left}" height="{self.bottom - self.top}" '
                          f'preserveAspectRatio="none"{rendering} href="data:image/png;base64,'
                          f'{base64.b64encode(png).decode("ascii")}"/>')

    def _colorbar(self, image: Image) -> None:
        import numpy as np

        x, width = self.right + 22, 14
        ramp = np.linspace(image.high, image.low, 128).reshape(-1, 1)
        png = _png(_colours(ramp, image))
        self.parts.append(f'<image x="{x}" y="{self.top}" width="{width}" height="{self.bottom - self.top}" '
                          f'preserveAspectRatio="none" href="data:image/png;base64,{base64.b64encode(png).decode("ascii")}"/>')
        self.parts.append(f'<rect x="{x}" y="{self.top}" width="{width}" height="{self.bottom - self.top}" '
                          f'fill="none" stroke="#000000"/>')
        for t in nice_ticks(image.low, image.high, 5):
            y = self.bottom - (t - image.low) / (image.high - image.low) * (self.bottom - self.top)
            self.parts.append(f'<line x1="{x + width}" y1="{y:.2f}" x2="{x + width + 4}" y2="{y:.2f}" stroke="#000000"/>')
            self.parts.append(f'<text x="{x + width + 7}" y="{y + 4:.2f}" font-size="11">{tick_text(t)}</text>')

    def _contours(self, c: Contours) -> None:
        levels = list(c.levels)
        for index, level in enumerate(levels):
            segments = contour_segments(c.x, c.y, c.z, level)
            if not segments:
                continue
            colour = _hex(color_at(c.colormap, index / max(len(levels) - 1, 1)))
            path = " ".join(f"M{self.px(a):.1f} {self.py(b):.1f}L{self.px(p):.1f} {self.py(q):.1f}"
                            for a, b, p, q in segments)
            self.parts.append(f'<path d="{path}" fill="none" stroke="{colour}" stroke-width="0.8"/>')


def _runs(points: list) -> list[list[tuple[float, float]]]:
    runs, current = [], []
    for point in points:
        if point is None:
            if current:
                runs.append(current)
            current = []
        else:
            current.append(point)
    if current:
        runs.append(current)
    return runs


def _marker(kind: str, x: float, y: float, size: float, color: str, filled: bool) -> str:
    fill = color if filled else "none"
    style = f'fill="{fill}" stroke="{color}" stroke-width="1.2"'
    r = size / 2
    if kind == "o":
        return f'<circle cx="{x:.2f}" cy="{y:.2f}" r="{r:.2f}" {style}/>'
    if kind == "s":
        return f'<rect x="{x - r:.2f}" y="{y - r:.2f}" width="{size:.2f}" height="{size:.2f}" {style}/>'
    corners = {"D": [(0, -1.3), (1.3, 0), (0, 1.3), (-1.3, 0)], "^": [(0, -1.2), (1.1, 0.8), (-1.1, 0.8)],
               "v": [(0, 1.2), (1.1, -0.8), (-1.1, -0.8)], "<": [(-1.2, 0), (0.8, -1.1), (0.8, 1.1)],
               ">": [(1.2, 0), (-0.8, -1.1), (-0.8, 1.1)]}[kind]
    points = " ".join(f"{x + dx * r:.2f},{y + dy * r:.2f}" for dx, dy in corners)
    return f'<polygon points="{points}" {style}/>'


def _colours(values, image: Image):
    """RGB bytes (rows × cols × 3) of a matrix under the image's colour map (NaN: its low end)."""
    span = image.high - image.low or 1.0
    return colours(image.colormap, (values - image.low) / span)


def _png(rgb) -> bytes:
    """An RGB array as a PNG file (8-bit, no filter: the rows of a heat map compress well)."""
    rows, cols, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[r].tobytes() for r in range(rows))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack("!I", len(data)) + kind + data + struct.pack("!I", zlib.crc32(kind + data))

    header = struct.pack("!IIBBBBB", cols, rows, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")


def contour_segments(x, y, z, level: float) -> list[tuple[float, float, float, float]]:
    """Marching squares: the line segments where the bilinear surface through a grid crosses
    `level`, one or two per grid cell, in data units. A cell with a non-finite corner has none."""
    import numpy as np

    x, y, z = (np.asarray(a, dtype=float) for a in (x, y, z))
    # The cell's corners counter-clockwise from (i, j); edge e joins corner e and corner e + 1.
    corners = np.stack([z[:-1, :-1], z[:-1, 1:], z[1:, 1:], z[1:, :-1]])
    xs = np.stack([x[:-1, :-1], x[:-1, 1:], x[1:, 1:], x[1:, :-1]])
    ys = np.stack([y[:-1, :-1], y[:-1, 1:], y[1:, 1:], y[1:, :-1]])
    finite = np.isfinite(corners).all(axis=0)
    above = corners >= level
    after = np.roll(np.arange(4), -1)
    crosses = (above != above[after]) & finite
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(crosses, (level - corners) / (corners[after] - corners), 0.0)
    px, py = xs + t * (xs[after] - xs), ys + t * (ys[after] - ys)
    count = crosses.sum(axis=0)
    # Two crossings: the segment joins them (the first and the last crossed edge).
    rows, cols = np.nonzero(count == 2)
    first = np.argmax(crosses, axis=0)[rows, cols]
    last = (3 - np.argmax(crosses[::-1], axis=0))[rows, cols]
    segments = list(zip(px[first, rows, cols].tolist(), py[first, rows, cols].tolist(),
                        px[last, rows, cols].tolist(), py[last, rows, cols].tolist()))
    for i, j in zip(*np.nonzero(count == 4)):  # a saddle: pair the crossings by the centre's value
        points = [(px[e, i, j], py[e, i, j]) for e in range(4)]
        centre_above = corners[:, i, j].mean() >= level
        pairs = ((0, 1), (2, 3)) if centre_above == above[0, i, j] else ((0, 3), (1, 2))
        segments += [(*points[a], *points[b]) for a, b in pairs]
    return segments
