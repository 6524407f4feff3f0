"""Drawing a deep RNN unrolled through time: L layers (rows, layer 1 at the bottom) by T steps
(columns). Three renderings of one layout: Mermaid (Markdown), a text grid (terminal), and a
matplotlib picture (SVG or PNG)."""

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


def draw(net: Unrolled, path: Path) -> None:
    """The unrolled network as a picture; the file suffix (.svg or .png) picks the format."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch

    from ...figures import save

    first = 0 if net.initial_state else 1
    fig_w = 1.2 + 1.6 * (net.steps + 1 - first)
    fig_h = 1.2 + 1.1 * (net.layers + 2)
    fig, ax = plt.subplots(figsize=(min(fig_w, 40), min(fig_h, 40)))
    ax.set_xlim(first - 0.8, net.steps + 0.8)
    ax.set_ylim(-0.8, net.layers + 1.8)
    ax.axis("off")

    def box(x, y, text, face):
        ax.add_patch(FancyBboxPatch((x - 0.38, y - 0.25), 0.76, 0.5, boxstyle="round,pad=0.05",
                                    facecolor=face, edgecolor="#334"))
        ax.text(x, y, text, ha="center", va="center", fontsize=9)

    def arrow(x0, y0, x1, y1):
        """From the edge of one box to the edge of the next (boxes are 0.86 × 0.6 with padding)."""
        dx, dy = (0.44, 0) if y0 == y1 else (0, 0.31)
        ax.annotate("", xy=(x1 - dx, y1 - dy), xytext=(x0 + dx, y0 + dy),
                    arrowprops=dict(arrowstyle="->", color="#334", shrinkA=0, shrinkB=0))

    for t in range(1, net.steps + 1):
        box(t, 0, f"x({t})", "#f4f4f4")
        arrow(t, 0, t, 1)
        for layer in range(1, net.layers + 1):
            box(t, layer, f"{net.cell} {layer}\n{state_label(layer, t)}", "#dde6ff")
            if layer < net.layers:
                arrow(t, layer, t, layer + 1)
            if t > 1 or net.initial_state:
                arrow(t - 1, layer, t, layer)
        if net.has_output(t):
            box(t, net.layers + 1, f"y({t})", "#f4f4f4")
            arrow(t, net.layers, t, net.layers + 1)
    if net.initial_state:
        for layer in range(1, net.layers + 1):
            box(0, layer, state_label(layer, 0), "#ffffff")
    ax.set_title(f"{net.cell}: {net.layers} layer{'s' if net.layers > 1 else ''} unrolled over "
                 f"{net.steps} step{'s' if net.steps > 1 else ''}", fontsize=10)
    save(fig, path, format=Path(path).suffix.lstrip(".").lower(), bbox_inches="tight")
    plt.close(fig)
