"""Convolution arithmetic shared by conv-shape, conv-design and network: pure integer functions
and the formulas that show them. No heavy imports: these sit on the fast path.

Conventions (DESIGN.md): output = ⌊(H + 2P − D(K−1) − 1)/S⌋ + 1; transposed
(H−1)S − 2P + D(K−1) + output_padding + 1; PyTorch's ceil mode drops a last window that would
start in the right padding; "same" is TF/Keras SAME: ⌈H/S⌉ with the odd pixel right/bottom.
"""

from __future__ import annotations

from ...formula import Expr, Sym, ceil, floor

K = Sym("K")
P = Sym("P")
S = Sym("S")
D = Sym("D")
OUTPUT_PADDING = Sym("A", text="P_out", latex=r"P_{\mathrm{out}}")


def size_symbol(label: str) -> Sym:
    """The input size of one dimension: H, W, L or Z (depth, to keep D for dilation)."""
    return Sym(label)


def out_symbol(label: str) -> Sym:
    return Sym(f"{label}_out", text=f"{label}_out", latex=rf"{label}_{{\mathrm{{out}}}}")


def conv_expr(size: Sym) -> Expr:
    return floor((size + 2 * P - D * (K - 1) - 1) / S) + 1


def ceil_expr(size: Sym) -> Expr:
    return ceil((size + 2 * P - D * (K - 1) - 1) / S) + 1


def transposed_expr(size: Sym) -> Expr:
    return (size - 1) * S - 2 * P + D * (K - 1) + OUTPUT_PADDING + 1


def same_expr(size: Sym) -> Expr:
    return ceil(size / S)


def same_total_padding_expr(size: Sym, out: Sym) -> Expr:
    return (out - 1) * S + D * (K - 1) + 1 - size


def full_padding_expr() -> Expr:
    return D * (K - 1)


def conv_out(size: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> int:
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def pool_out_ceil(size: int, kernel: int, stride: int, padding: int = 0, dilation: int = 1) -> int:
    """PyTorch's ceil_mode: round up, but a last window must start inside input or left padding."""
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    out = -(-span // stride) + 1
    if (out - 1) * stride >= size + padding:
        out -= 1
    return out


def transposed_out(size: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1,
                   output_padding: int = 0) -> int:
    return (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1


def same_out(size: int, stride: int) -> int:
    return -(-size // stride)


def same_padding(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """(left, right) padding of TF/Keras SAME; the odd pixel goes right/bottom."""
    out = same_out(size, stride)
    total = max((out - 1) * stride + dilation * (kernel - 1) + 1 - size, 0)
    return total // 2, total - total // 2


def effective_kernel(kernel: int, dilation: int) -> int:
    return dilation * (kernel - 1) + 1
