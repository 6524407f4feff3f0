"""The architecture figure of kind `network`: one block per layer, left to right, with the
layer's name above and its output shape below, as textbooks draw LeNet-5.

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

_FOLDED = ("relu", "tanh", "sigmoid", "gelu", "leaky-relu", "elu", "silu", "softmax", "dropout",
           "batchnorm", "layernorm")
_COLOURS = {"conv": "#8fb8de", "convtranspose": "#8fb8de", "depthwise": "#a9cce3", "pointwise": "#a9cce3",
            "maxpool": "#f5c28e", "avgpool": "#f5c28e", "globalavgpool": "#f5c28e", "globalmaxpool": "#f5c28e",
            "fc": "#9fd89f", "flatten": "#d9d9d9", "embedding": "#e3b5e6", "rnn": "#c9a7e0", "lstm": "#c9a7e0",
            "gru": "#c9a7e0", "attention": "#f2a7a7", "input": "#eeeeee"}


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
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, Polygon

    from ..figures import save

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
