"""The architecture figure of kind `network`: one block per layer, left to right, with the
layer's name above and its output shape below, as textbooks draw LeNet-5; a network with
residual or concat blocks as a flow chart with its branches stacked (draw_branched).

A map is drawn as a box whose height follows its spatial size and whose depth follows its
channels (both on a log scale, so 3×224×224 and 512×7×7 fit one figure); a vector is a thin
bar; a sequence a flat slab. Activations, dropout and normalisation, which keep the shape,
are folded into the layer before them. matplotlib is imported here only (Agg backend).
"""

from __future__ import annotations

import math
from pathlib import Path

from ._network_layers import Row
from ._network_shapes import Shape

_FOLDED = ("relu", "relu6", "tanh", "sigmoid", "gelu", "leaky-relu", "elu", "silu", "softmax", "dropout",
           "batchnorm", "layernorm")
_COLOURS = {"conv": "#8fb8de", "convtranspose": "#8fb8de", "depthwise": "#a9cce3", "pointwise": "#a9cce3",
            "maxpool": "#f5c28e", "avgpool": "#f5c28e", "globalavgpool": "#f5c28e", "globalmaxpool": "#f5c28e",
            "fc": "#9fd89f", "flatten": "#d9d9d9", "embedding": "#e3b5e6", "rnn": "#c9a7e0", "lstm": "#c9a7e0",
            "gru": "#c9a7e0", "attention": "#f2a7a7", "input": "#eeeeee", "upsample": "#f5c28e",
            "maxunpool": "#f5c28e", "adaptiveavgpool": "#f5c28e", "adaptivemaxpool": "#f5c28e"}


def _scale(value: int, largest: int, low: float, high: float) -> float:
    if largest <= 1:
        return low
    return low + (high - low) * math.log(max(value, 1)) / math.log(largest)


def _extent(shape: Shape, largest_side: int, largest_depth: int) -> tuple[float, float]:
    """(height, depth) of a block."""
    if shape.form == "map":
        side = max(shape.spatial)
        return _scale(side, largest_side, 0.5, 3.0), _scale(shape.channels, largest_depth, 0.12, 1.0)
    size = shape.dims[-1]
    height = _scale(size, max(largest_side * largest_side, size), 0.6, 3.0)
    return height, 0.12 if shape.form == "vector" else 0.45


def _blocks(shape: Shape, rows: list[Row]) -> list[tuple[str, str, Shape]]:
    """(label, type, output shape) per block; shape-keeping layers join the block before them."""
    blocks = [("input", "input", shape)]
    for row in rows:
        if row.type in _FOLDED and len(blocks) > 1:
            label, kind, _ = blocks[-1]
            joiner = "\n+ " if "\n+ " not in label else ", "
            blocks[-1] = (label + joiner + row.type, kind, row.output)
            continue
        blocks.append((row.name + (f"\n{row.detail}" if row.detail else ""), row.type, row.output))
    return blocks


def draw_network(path: Path, shape: Shape, rows: list[Row], layout: str = "chw") -> None:
    if any(row.lane for row in rows):
        draw_branched(path, shape, rows, layout)
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, Polygon

    from ...figures import save

    blocks = _blocks(shape, rows)
    maps = [s for _, _, s in blocks if s.form == "map"]
    largest_side = max([max(s.spatial) for s in maps] + [2])
    largest_depth = max([s.channels for s in maps] + [2])
    gap, width = 0.55, 0.9
    fig, ax = plt.subplots(figsize=(max(6.0, 1.45 * len(blocks)), 3.6))
    x = 0.0
    previous_right = None
    for label, kind, block_shape in blocks:
        height, depth = _extent(block_shape, largest_side, largest_depth)
        front_width = depth if block_shape.form == "map" else (0.18 if block_shape.form == "vector" else width * 0.7)
        skew = 0.25 * min(height, 1.2)
        colour = _COLOURS.get(kind, "#dddddd")
        bottom = -height / 2
        front = [(x, bottom), (x + front_width, bottom), (x + front_width, bottom + height), (x, bottom + height)]
        top = [(x, bottom + height), (x + skew, bottom + height + skew),
               (x + front_width + skew, bottom + height + skew), (x + front_width, bottom + height)]
        side = [(x + front_width, bottom), (x + front_width + skew, bottom + skew),
                (x + front_width + skew, bottom + height + skew), (x + front_width, bottom + height)]
        for points, shade in ((side, 0.8), (top, 0.9), (front, 1.0)):
            ax.add_patch(Polygon(points, closed=True, facecolor=colour, edgecolor="#333333", linewidth=0.8,
                                 alpha=shade))
        centre = x + (front_width + skew) / 2
        ax.text(centre, 1.9, label, ha="center", va="bottom", fontsize=7.5)
        ax.text(centre, -1.75, block_shape.text(layout), ha="center", va="top", fontsize=7.5,
                family="monospace")
        if previous_right is not None:
            ax.add_patch(FancyArrowPatch((previous_right + 0.05, 0), (x - 0.05, 0), arrowstyle="-|>",
                                         mutation_scale=9, color="#555555", linewidth=0.8))
        previous_right = x + front_width + skew
        x = previous_right + gap
    ax.set_xlim(-0.3, x)
    ax.set_ylim(-2.3, 2.9)
    ax.axis("off")
    fig.tight_layout()
    save(fig, path, format=Path(path).suffix.lstrip(".").lower() or "png", dpi=150)
    plt.close(fig)


# --- networks with branches -------------------------------------------------------------------------
#
# A network with residual or concat blocks is drawn as a flow chart: one box per layer (the
# shape-keeping layers folded into the box before them, as above), left to right; a block's
# branches stacked one above the other between a fork and its join (⊕ for an add, ‖ for a
# concat); an empty branch — the identity — is a plain line.

_BOX_W, _BOX_H, _GAP, _VGAP, _FORK = 1.9, 1.05, 0.45, 0.35, 0.45


class _Block:
    def __init__(self, name: str):
        self.name = name
        self.branches: list[tuple[str, list]] = []
        self.tail: list[Row] = []  # the join row and the activation after it


def _tree(rows: list[Row], depth: int = 0) -> list:
    """Rows and blocks at one depth, from each row's lane (its enclosing blocks)."""
    items, i = [], 0
    while i < len(rows):
        row = rows[i]
        if len(row.lane) <= depth:
            items.append(row)
            i += 1
            continue
        name, j = row.lane[depth][0], i
        while j < len(rows) and len(rows[j].lane) > depth and rows[j].lane[depth][0] == name:
            j += 1
        block, by_label = _Block(name), {}
        for inner in rows[i:j]:
            label = inner.lane[depth][1]
            if label == "join" and len(inner.lane) == depth + 1:
                block.tail.append(inner)
            else:
                by_label.setdefault(label, []).append(inner)
        labels = list(block.tail[0].joins) if block.tail and block.tail[0].joins else list(by_label)
        block.branches = [(label, _tree(by_label.get(label, []), depth + 1)) for label in labels]
        items.append(block)
        i = j
    return items


def _boxes(items: list) -> list:
    """A chain's items with shape-keeping rows folded into the box before them: (label, row) or a block."""
    out = []
    for item in items:
        if isinstance(item, _Block):
            out.append(item)
            continue
        short = item.name.rsplit(".", 1)[-1] if item.lane else item.name
        if item.type in _FOLDED and out and isinstance(out[-1], tuple):
            label, first = out[-1]
            out[-1] = (label + (", " if "+ " in label else "\n+ ") + item.type, first)
            continue
        out.append((short + (f"\n{item.detail}" if item.detail else ""), item))
    return out


def _size(item) -> tuple[float, float]:
    if isinstance(item, _Block):
        chains = [_chain_size(_boxes(items)) for _, items in item.branches]
        width = max(w for w, _ in chains) + 2 * _FORK + 0.5
        height = sum(h for _, h in chains) + _VGAP * (len(chains) - 1)
        return width, max(height, _BOX_H)
    return _BOX_W, _BOX_H


def _chain_size(boxes: list) -> tuple[float, float]:
    if not boxes:
        return 0.6, 0.5
    sizes = [_size(b) for b in boxes]
    return sum(w for w, _ in sizes) + _GAP * (len(sizes) - 1), max(h for _, h in sizes)


def draw_branched(path: Path, shape: Shape, rows: list[Row], layout: str = "chw") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

    from ...figures import save

    items = [("input", None)] + _boxes(_tree(rows))
    width, height = _chain_size(items)
    fig, ax = plt.subplots(figsize=(min(max(6.0, width * 0.75), 400), min(max(2.5, height * 0.75 + 0.6), 200)))

    def line(a, b, arrow=True):
        ax.add_patch(FancyArrowPatch(a, b, arrowstyle="-|>" if arrow else "-", mutation_scale=8,
                                     color="#555555", linewidth=0.8, shrinkA=0, shrinkB=0))

    def box(x, y, label, row):
        kind = row.type if row is not None else "input"
        ax.add_patch(FancyBboxPatch((x + 0.05, y - _BOX_H / 2 + 0.05), _BOX_W - 0.1, _BOX_H - 0.1,
                                    boxstyle="round,pad=0.02", facecolor=_COLOURS.get(kind, "#dddddd"),
                                    edgecolor="#333333", linewidth=0.7))
        text = shape.text(layout) if row is None else row.output.text(layout)
        ax.text(x + _BOX_W / 2, y + 0.12, label, ha="center", va="center", fontsize=5.5)
        ax.text(x + _BOX_W / 2, y - 0.32, text, ha="center", va="center", fontsize=5.5, family="monospace")
        return x + _BOX_W

    def chain(boxes, x, y):
        """Draw a chain from x at height y; the x where it ends."""
        if not boxes:
            line((x, y), (x + 0.6, y), arrow=False)
            return x + 0.6
        for index, item in enumerate(boxes):
            if index:
                line((x, y), (x + _GAP, y))
                x += _GAP
            x = block(item, x, y) if isinstance(item, _Block) else box(x, y, *item)
        return x

    def block(item, x, y):
        chains = [_boxes(items) for _, items in item.branches]
        sizes = [_chain_size(c) for c in chains]
        inner = max(w for w, _ in sizes)
        total = sum(h for _, h in sizes) + _VGAP * (len(sizes) - 1)
        top = y + total / 2
        join_x = x + 2 * _FORK + inner
        for boxes, (w, h) in zip(chains, sizes):
            centre = top - h / 2
            line((x, y), (x + _FORK, centre), arrow=False)
            end = chain(boxes, x + _FORK, centre)
            line((end, centre), (join_x - 0.18, y + (centre - y) * 0.15))
            top -= h + _VGAP
        joined = item.tail[0] if item.tail else None
        symbol = "+" if joined is not None and joined.type == "add" else "‖"
        ax.add_patch(Circle((join_x, y), 0.18, facecolor="#ffffff", edgecolor="#333333", linewidth=0.8))
        ax.text(join_x, y, symbol, ha="center", va="center", fontsize=7)
        if joined is not None:
            after = "".join(f"{row.type} " for row in item.tail[1:])
            ax.text(join_x, y - 0.3, after + joined.output.text(layout), ha="center", va="top", fontsize=5,
                    family="monospace")
        return join_x + 0.25

    end = chain(items, 0.0, 0.0)
    ax.set_xlim(-0.2, end + 0.2)
    ax.set_ylim(-height / 2 - 0.3, height / 2 + 0.3)
    ax.set_aspect("equal")
    ax.axis("off")
    fig.tight_layout()
    save(fig, path, format=Path(path).suffix.lstrip(".").lower() or "png", dpi=150)
    plt.close(fig)
