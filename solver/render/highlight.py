"""A map with some cells marked (`steps.Highlight`, e.g. the window of one convolution output):
in the terminal the marked cells are bracketed (and reversed where colour is on), in LaTeX they
are boxed inside a pmatrix."""

from __future__ import annotations

from . import values


def _as_matrices(grid, marked) -> list[tuple[list[list], list[list]]]:
    """A row, a matrix, or a list of matrices -> a list of (matrix, mask) pairs."""
    grid, marked = values.to_plain(grid), values.to_plain(marked)
    d = values.depth(grid)
    if d <= 1:
        return [([grid], [marked])]
    if d == 2:
        return [(grid, marked)]
    return list(zip(grid, marked))


def terminal_text(highlight, decimals: int, indent: str = "     "):
    """Aligned rows with marked cells as `[v]`; several matrices (channels) one below another."""
    from rich.text import Text

    out = Text()
    if highlight.label:
        out.append(f"{indent}{highlight.label}:\n", style="dim")
    blocks = _as_matrices(highlight.grid, highlight.marked)
    for number, (matrix, mask) in enumerate(blocks):
        if len(blocks) > 1:
            out.append(f"{indent}channel {number + 1}:\n", style="dim")
        cells = [[(values.text(v, decimals), bool(m)) for v, m in zip(row, mask_row)]
                 for row, mask_row in zip(matrix, mask)]
        widths = [max(len(row[j][0]) for row in cells) + 2 for j in range(len(cells[0]))]
        for row in cells:
            line = Text(indent)
            for (text, is_marked), width in zip(row, widths):
                shown = f"[{text}]" if is_marked else f" {text} "
                line.append(" " + shown.rjust(width), style="reverse bold" if is_marked else "")
            line.rstrip()
            out.append_text(line)
            out.append("\n")
    out.rstrip()
    return out


def latex(highlight, decimals: int) -> str:
    """pmatrix (one per channel) with the marked cells boxed."""
    parts = []
    for matrix, mask in _as_matrices(highlight.grid, highlight.marked):
        rows = [" & ".join(rf"\boxed{{{values.latex(v, decimals)}}}" if m else values.latex(v, decimals)
                           for v, m in zip(row, mask_row))
                for row, mask_row in zip(matrix, mask)]
        parts.append(r"\begin{pmatrix} " + r" \\ ".join(rows) + r" \end{pmatrix}")
    body = r",\ ".join(parts)
    if highlight.label:
        return rf"\text{{{highlight.label}}}: {body}"
    return body
