"""Drawing a deep RNN unrolled through time: L layers (rows, layer 1 at the bottom) by T steps
(columns). Three renderings of one layout: Mermaid (Markdown), a text grid (terminal), and a
picture (SVG written directly; PNG drawn with matplotlib from the same layout)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
ARROW = " ──→ "
MAX_TEXT_COLUMNS = 8  # longer sequences show their first and last steps around "…"


@dataclass(frozen=True)
class Unrolled:
    layers: int
    steps: int
    cell: str
    outputs: str  # all, last, none
    initial_state: bool

    def has_output(self, t: int) -> bool:
        return self.outputs == "all" or (self.outputs == "last" and t == self.steps)


def sup(n: int) -> str:
    return str(n).translate(_SUPERSCRIPT)


def state_label(layer: int, t: int | str) -> str:
    return f"h{sup(layer)}({t})"


# --- Mermaid -----------------------------------------------------------------------------------


def mermaid(net: Unrolled) -> str:
    lines = ["flowchart BT"]
    if net.initial_state:
        lines.append('  subgraph s0 ["t = 0"]')
        lines += [f'    h{l}_0(["{state_label(l, 0)}"])' for l in range(1, net.layers + 1)]
        lines.append("  end")
    for t in range(1, net.steps + 1):
        lines.append(f'  subgraph s{t} ["t = {t}"]')
        lines.append(f'    x{t}(["x({t})"])')
        lines += [f'    h{l}_{t}["{net.cell} layer {l}<br/>{state_label(l, t)}"]' for l in range(1, net.layers + 1)]
        if net.has_output(t):
            lines.append(f'    y{t}(["y({t})"])')
        lines.append("  end")
    for t in range(1, net.steps + 1):
        lines.append(f"  x{t} --> h1_{t}")
        lines += [f"  h{l}_{t} --> h{l + 1}_{t}" for l in range(1, net.layers)]
        if net.has_output(t):
            lines.append(f"  h{net.layers}_{t} --> y{t}")
    for l in range(1, net.layers + 1):
        first = 0 if net.initial_state else 1
        lines += [f"  h{l}_{t} --> h{l}_{t + 1}" for t in range(first, net.steps)]
    return "\n".join(lines)


# --- text grid ------------------------------------------------------------------------------------


def _columns(steps: int) -> list[int | None]:
    if steps <= MAX_TEXT_COLUMNS:
        return list(range(1, steps + 1))
    return [1, 2, 3, None, steps - 1, steps]


def text_grid(net: Unrolled) -> str:
    columns = _columns(net.steps)
    boxes = {l: f"[{net.cell} {l}]" for l in range(1, net.layers + 1)}
    width = max([len(b) for b in boxes.values()] + [len(f"y({net.steps})") + 2])
    prefix_width = max(len(state_label(l, 0)) for l in boxes) + len(ARROW) if net.initial_state else 0
    gap = " " * len(ARROW)

    def row(items: list[str], prefix: str = "", joiner: str = gap) -> str:
        return (prefix.rjust(prefix_width) + joiner.join(item.center(width) for item in items)).rstrip()

    lines = []
    outputs = ["…" if t is None else (f"y({t})" if net.has_output(t) else "") for t in columns]
    if any(o.strip("…") for o in outputs):
        lines += [row(outputs), row(["↑" if o and o != "…" else "" for o in outputs])]
    for layer in range(net.layers, 0, -1):
        cells = ["···" if t is None else boxes[layer] for t in columns]
        prefix = (state_label(layer, 0) + ARROW) if net.initial_state else ""
        lines.append(row(cells, prefix, ARROW))
        lines.append(row(["" if t is None else "↑" for t in columns]))
    lines.append(row(["…" if t is None else f"x({t})" for t in columns]))
    legend = (f"{net.layers} layer{'s' if net.layers > 1 else ''} × {net.steps} step"
              f"{'s' if net.steps > 1 else ''}: → carries h of a layer to its next step, "
              "↑ feeds a layer's output to the layer above")
    return "\n".join(lines + ["", legend])


# --- picture -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Picture:
    """The picture's layout in grid units: time along x, layers along y (inputs at y = 0)."""

    boxes: list  # (x, y, text, fill colour)
    arrows: list  # (x0, y0, x1, y1), box centre to box centre
    title: str
    x_range: tuple[float, float]
    y_range: tuple[float, float]


BOX_W, BOX_H = 0.86, 0.6  # a box's size with its padding, in grid units


def picture(net: Unrolled) -> Picture:
    boxes, arrows = [], []
    for t in range(1, net.steps + 1):
        boxes.append((t, 0, f"x({t})", "#f4f4f4"))
        arrows.append((t, 0, t, 1))
        for layer in range(1, net.layers + 1):
            boxes.append((t, layer, f"{net.cell} {layer}\n{state_label(layer, t)}", "#dde6ff"))
            if layer < net.layers:
                arrows.append((t, layer, t, layer + 1))
            if t > 1 or net.initial_state:
                arrows.append((t - 1, layer, t, layer))
        if net.has_output(t):
            boxes.append((t, net.layers + 1, f"y({t})", "#f4f4f4"))
            arrows.append((t, net.layers, t, net.layers + 1))
    if net.initial_state:
        boxes += [(0, layer, state_label(layer, 0), "#ffffff") for layer in range(1, net.layers + 1)]
    first = 0 if net.initial_state else 1
    title = (f"{net.cell}: {net.layers} layer{'s' if net.layers > 1 else ''} unrolled over "
             f"{net.steps} step{'s' if net.steps > 1 else ''}")
    return Picture(boxes, arrows, title, (first - 0.6, net.steps + 0.6), (-0.6, net.layers + 1.6))


def _edge_points(x0, y0, x1, y1) -> tuple[float, float, float, float]:
    """An arrow from the edge of one box to the edge of the next."""
    dx, dy = (BOX_W / 2, 0) if y0 == y1 else (0, BOX_H / 2)
    return x0 + dx, y0 + dy, x1 - dx, y1 - dy


def draw(net: Unrolled, path: Path) -> None:
    """The unrolled network as a picture; the file suffix (.svg or .png) picks the format."""
    layout = picture(net)
    if Path(path).suffix.lower() == ".svg":
        Path(path).write_text(_svg(layout), encoding="utf-8")
    else:
        _draw_matplotlib(layout, path)


UNIT = 110  # pixels per grid unit in the SVG


def _svg(layout: Picture) -> str:
    from html import escape

    (x_low, x_high), (y_low, y_high) = layout.x_range, layout.y_range
    width, height = round((x_high - x_low) * UNIT), round((y_high - y_low) * UNIT + 30)

    def px(x):
        return (x - x_low) * UNIT

    def py(y):
        return 30 + (y_high - y) * UNIT

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
             f'height="{height}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">',
             '<defs><marker id="head" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
             'orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" fill="#333344"/></marker></defs>',
             f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
             f'<text x="{width / 2:.1f}" y="20" font-size="13" text-anchor="middle">{escape(layout.title)}</text>']
    for arrow in layout.arrows:
        x0, y0, x1, y1 = _edge_points(*arrow)
        parts.append(f'<line x1="{px(x0):.1f}" y1="{py(y0):.1f}" x2="{px(x1):.1f}" y2="{py(y1):.1f}" '
                     f'stroke="#333344" stroke-width="1.2" marker-end="url(#head)"/>')
    for x, y, text, fill in layout.boxes:
        parts.append(f'<rect x="{px(x - BOX_W / 2):.1f}" y="{py(y + BOX_H / 2):.1f}" width="{BOX_W * UNIT:.1f}" '
                     f'height="{BOX_H * UNIT:.1f}" rx="7" fill="{fill}" stroke="#333344"/>')
        lines = text.split("\n")
        for row, line in enumerate(lines):
            baseline = py(y) + 4 + 13 * (row - (len(lines) - 1) / 2)
            parts.append(f'<text x="{px(x):.1f}" y="{baseline:.1f}" font-size="12" text-anchor="middle">'
                         f'{escape(line)}</text>')
    return "\n".join(parts + ["</svg>\n"])


def _draw_matplotlib(layout: Picture, path: Path) -> None:
    """PNG (or another raster format matplotlib writes) of the same layout."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch

    from ...figures import save

    (x_low, x_high), (y_low, y_high) = layout.x_range, layout.y_range
    fig, ax = plt.subplots(figsize=(min(1.6 * (x_high - x_low), 40), min(1.1 * (y_high - y_low) + 1, 40)))
    ax.set_xlim(x_low, x_high)
    ax.set_ylim(y_low, y_high)
    ax.axis("off")
    for x, y, text, face in layout.boxes:
        ax.add_patch(FancyBboxPatch((x - 0.38, y - 0.25), 0.76, 0.5, boxstyle="round,pad=0.05",
                                    facecolor=face, edgecolor="#334"))
        ax.text(x, y, text, ha="center", va="center", fontsize=9)
    for arrow in layout.arrows:
        x0, y0, x1, y1 = _edge_points(*arrow)
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0),
                    arrowprops=dict(arrowstyle="->", color="#334", shrinkA=0, shrinkB=0))
    ax.set_title(layout.title, fontsize=10)
    save(fig, path, format=Path(path).suffix.lstrip(".").lower(), bbox_inches="tight")
    plt.close(fig)
