"""`derive` template `conv1d-gradients`: a 1-D convolutional layer with C input channels of
length L, one filter of width k, stride s, no padding, no bias: the output length, the element
expression of the output, ∂f/∂W, ∂f/∂x, and ∂ℓ/∂W, ∂ℓ/∂x given ∂ℓ/∂f.

Indices count from 1 as the course writes them; the layer is a cross-correlation (no flip)."""

from __future__ import annotations

from ...errors import BadInput
from ...formula import Expr, Num, Sym, floor, to_latex, to_text
from ._derive_common import (ONE, Derivation, Size, index_sum, index_view, instance_text,
                             number_size, numerical_gradient, numerical_jacobian, size_sym, sym, to_plain)

i, j, c, n = Sym("i"), Sym("j"), Sym("c"), Sym("n")
f, W, x, loss = sym("f"), sym("W"), sym("x"), sym("l", "ℓ", r"\ell")


def conv1d_gradients(sol, given, sizes, rng) -> Derivation:
    C, L, k, s = _consistent_sizes(sizes)
    L_out = _output_length(L, k, s)
    sol.convention("Cross-correlation (no kernel flip), as deep-learning libraries compute it; indices "
                   "count from 1; one filter W ∈ ℝ^{1×C×k} whose element W[1, c, j] is written W[c, j]; "
                   "no padding, no dilation, no bias.")
    values = {"x": rng.normal(size=(C.value, L.value)), "W": rng.normal(size=(1, C.value, k.value)),
              "g": rng.normal(size=(1, L_out.value))}
    der = Derivation(sol, values)
    _show_output_length(der, L, k, s, L_out)

    position = _input_position(s)  # the input index that tap j of output i reads
    grid = _gather_positions(s.value, L_out.value, k.value)
    x_read = _element(x, "c", position)
    w_cj = _element(W, "c", j)
    reads = values["x"][:, grid]  # C × L′ × k: x[c, s(i − 1) + j]
    bindings = {x_read.name: index_view(reads, "cij"), w_cj.name: index_view(values["W"][0], "cj")}
    output = _reference_output(values["x"], values["W"][0], s.value)

    element_f = index_sum("c", index_sum("j", w_cj * x_read, ONE, k), ONE, C)
    f_i = _element(f, "", i)
    der.elementwise(f"(i) Output f = f_W(x) ∈ ℝ^{{1×{L_out.text}}}: every output sums over the C channels "
                    f"and the k taps of the filter, for i = 1…{L_out.text}:",
                    f_i, element_f, bindings=bindings, expected=output, letters="i")
    der.answer("f", element_f, latex=None)
    der.shape_answer("f", (ONE, L_out))
    computed_f = der.evaluate(element_f, bindings).reshape(-1)
    der.verify("f (element expression)", computed_f, output.reshape(-1), shape=f"1×{L_out.value}",
               against="numpy.correlate")

    der.elementwise(f"(ii) ∂f/∂W ∈ ℝ^{{{L_out.text}×{C.text}×{k.text}}} (the singleton filter axes of "
                    f"1×{L_out.text}×1×{C.text}×{k.text} dropped): W[c, j] multiplies one input sample",
                    _partial_element(f, "i", W, "c, j"), x_read,
                    bindings=bindings, expected=reads.transpose(1, 0, 2), letters="icj")
    der.answer("df_dW", x_read)
    der.shape_answer("df_dW", (L_out, C, k))

    offset_ok, w_at = _weight_at_offset(s, k)
    offsets = _offsets(s.value, L_out.value, L.value)  # L′ × L: n − s(i − 1) − 1
    inside = (offsets >= 0) & (offsets < k.value)
    w_gather = values["W"][0][:, offsets.clip(0, k.value - 1)] * inside  # C × L′ × L
    x_bindings = {w_at.name: index_view(w_gather, "cin"), offset_ok.name: index_view(inside * 1.0, "in")}
    df_dx_expr = w_at * offset_ok
    der.elementwise(f"(iii) ∂f/∂x ∈ ℝ^{{{L_out.text}×{C.text}×{L.text}}}: input x[c, n] meets tap "
                    f"j = n − s(i − 1) of output i when that tap exists, else it does not reach f[i] "
                    f"([…] is 1 when the condition holds, else 0)",
                    _partial_element(f, "i", x, "c, n"), df_dx_expr,
                    bindings=x_bindings, expected=w_gather.transpose(1, 0, 2), letters="icn")
    der.answer("df_dx", df_dx_expr)
    der.shape_answer("df_dx", (L_out, C, L))

    dl_df = Sym("dl_df[i]", text="∂ℓ/∂f[i]", latex=r"\frac{\partial \ell}{\partial f_{i}}")
    g_view = index_view(values["g"], "i")
    grad_w_expr = index_sum("i", dl_df * x_read, ONE, L_out)
    grad_w = (values["g"][0][None, :, None] * reads).sum(axis=1)  # C × k
    der.elementwise(f"(iv) Given ∂ℓ/∂f ∈ ℝ^{{1×{L_out.text}}}, the chain rule sums over the outputs; "
                    f"∂ℓ/∂W has the shape of W, 1×{C.text}×{k.text}:",
                    _partial_element(loss, "", W, "c, j"), grad_w_expr,
                    bindings={**bindings, dl_df.name: g_view}, expected=grad_w, letters="cj")
    der.answer("grad_W", grad_w_expr)
    der.shape_answer("grad_W", (ONE, C, k))
    sol.note(f"Like (i), ∂ℓ/∂W is a cross-correlation with the input x: in (i) the kernel W slides over x "
             f"with stride s and the channels are summed; here the kernel is ∂ℓ/∂f, dilated by s "
             f"(s − 1 zeros between its entries), sliding with stride 1 over each channel x[c] separately — "
             f"one result per channel, the first k positions giving W's {k.text} taps.")

    grad_x_expr = index_sum("i", dl_df * w_at * offset_ok, ONE, L_out)
    grad_x = (values["g"][0][None, :, None] * w_gather).sum(axis=1)  # C × L
    der.elementwise(f"(v) Likewise the input gradient, ∂ℓ/∂x ∈ ℝ^{{{C.text}×{L.text}}}: a transposed "
                    "convolution, each ∂ℓ/∂f[i] spread back over the inputs that produced f[i]",
                    _partial_element(loss, "", x, "c, n"), grad_x_expr,
                    bindings={**x_bindings, dl_df.name: g_view}, expected=grad_x, letters="cn")
    der.answer("grad_x", grad_x_expr)
    der.shape_answer("grad_x", (C, L))

    # The evaluated results, kept under names (the index trees above produced them).
    der.values.update({"f": computed_f[None, :], "df_dW": reads.transpose(1, 0, 2),
                       "df_dx": w_gather.transpose(1, 0, 2), "dl_dW": grad_w[None], "dl_dx": grad_x})
    _verify(der, values, reads, w_gather, grad_w, grad_x, s.value, k.value)
    return der.finish(instance_text({"C": C, "L": L, "k": k, "s": s}, given.seed),
               "central finite differences of the layer computed with numpy.correlate")


def _consistent_sizes(sizes: dict) -> tuple[Size, Size, Size, Size]:
    """The filter must fit in the input; the check instance must respect that too."""
    C, L, k, s = sizes["C"], sizes["L"], sizes["k"], sizes["s"]
    if L.known and k.known and k.plain > L.plain:
        raise BadInput(f"the filter width k = {k.plain} exceeds the input length L = {L.plain}", field="sizes.k")
    if k.value > L.value:
        if not k.known:
            k = Size(k.text, k.latex, k.plain, L.value)
        else:
            L = Size(L.text, L.latex, L.plain, k.value + 4)
    return C, L, k, s


def _output_length(L: Size, k: Size, s: Size) -> Size:
    value = (L.value - k.value) // s.value + 1
    if L.known and k.known and s.known:
        plain = (L.plain - k.plain) // s.plain + 1
        # A size beyond the check instance's is checked on a smaller stand-in (derive.MAX_SIZE):
        # the output length of the check instance follows the stand-in, not the written size.
        return number_size(plain) if plain == value else Size(str(plain), str(plain), plain, value)
    # Written L′ in the steps (defined once); the answers spell out the formula.
    return Size("L′", "L'", to_plain(_output_length_expr(L, k, s)), value)


def _output_length_expr(L: Size, k: Size, s: Size) -> Expr:
    span = size_sym(L) - size_sym(k)
    if s.known and s.plain == 1:
        return span + 1
    return floor(span / size_sym(s)) + 1


def _show_output_length(der: Derivation, L: Size, k: Size, s: Size, L_out: Size) -> None:
    general = floor((Sym("L") - Sym("k")) / Sym("s")) + 1
    L_prime = Sym("L_out", text="L′", latex="L'")
    if L_out.known:
        bindings = {"L": L.plain, "k": k.plain, "s": s.plain}
        der.show("Number of outputs: the filter fits at every s-th position", L_prime, general,
                 _substituted(general, bindings), Num(L_out.plain))
        der.sol.set_answer("output_length", L_out.plain, str(L_out.plain))
    else:
        specific = _output_length_expr(L, k, s)
        chain = (general,) if to_text(specific) == to_text(general) else (general, specific)
        der.show("Number of outputs: the filter fits at every s-th position", L_prime, *chain)
        der.sol.set_answer("output_length", L_out.plain, to_latex(specific))


def _substituted(expr: Expr, bindings: dict) -> Expr:
    from ...formula import Op

    if isinstance(expr, Sym) and expr.name in bindings:
        return Num(bindings[expr.name])
    if isinstance(expr, Op):
        return Op(expr.op, tuple(_substituted(a, bindings) for a in expr.args))
    return expr


def _input_position(s: Size) -> Expr:
    """s(i − 1) + j, written i + j − 1 when s = 1."""
    if s.known and s.plain == 1:
        return i + j - 1
    return size_sym(s) * (i - 1) + j


def _element(base: Sym, first: str, index: Expr) -> Sym:
    """base[first, index] as a written symbol (first may be empty)."""
    parts_text = ([first] if first else []) + [to_text(index)]
    parts_latex = ([first] if first else []) + [to_latex(index)]
    parts_plain = ([first] if first else []) + [to_plain(index)]
    latex_index = r",\,".join(parts_latex)
    return Sym(f"{base.name}[{', '.join(parts_plain)}]", text=f"{base.text_name()}[{', '.join(parts_text)}]",
               latex=f"{{{base.latex_name()}}}_{{{latex_index}}}")


def _partial_element(top: Sym, top_index: str, bottom: Sym, bottom_index: str) -> Sym:
    top_text = f"{top.text_name()}[{top_index}]" if top_index else top.text_name()
    top_latex = f"{top.latex_name()}_{{{top_index}}}" if top_index else top.latex_name()
    return Sym(f"d{top.name}_d{bottom.name}", text=f"∂{top_text}/∂{bottom.text_name()}[{bottom_index}]",
               latex=rf"\frac{{\partial {top_latex}}}{{\partial {bottom.latex_name()}_{{{bottom_index}}}}}")


def _weight_at_offset(s: Size, k: Size) -> tuple[Sym, Sym]:
    """The tap of W that input n meets in output i, and the indicator that the tap exists."""
    offset = n - (size_sym(s) * (i - 1) if not (s.known and s.plain == 1) else i - 1)
    shown_text, shown_latex, shown_plain = to_text(offset), to_latex(offset), to_plain(offset)
    weight = Sym(f"W[c, {shown_plain}]", text=f"W[c, {shown_text}]", latex=rf"W_{{c,\, {shown_latex}}}")
    indicator = Sym(f"[1 <= {shown_plain} <= {k.plain}]", text=f"[1 ≤ {shown_text} ≤ {k.text}]",
                    latex=rf"[1 \le {shown_latex} \le {k.latex}]")
    return indicator, weight


def _gather_positions(s: int, L_out: int, k: int):
    import numpy as np

    return s * np.arange(L_out)[:, None] + np.arange(k)[None, :]


def _offsets(s: int, L_out: int, L: int):
    import numpy as np

    return np.arange(L)[None, :] - s * np.arange(L_out)[:, None]


def _reference_output(x, w, s: int):
    """The layer computed the library way, channel by channel with numpy.correlate."""
    import numpy as np

    full = sum(np.correlate(x[ch], w[ch], mode="valid") for ch in range(x.shape[0]))
    return full[::s][None, :]


def _dilate(v, s: int):
    import numpy as np

    out = np.zeros((len(v) - 1) * s + 1)
    out[::s] = v
    return out


def _verify(der: Derivation, values: dict, reads, w_gather, grad_w, grad_x, s: int, k: int) -> None:
    import numpy as np

    x_arr, w_arr, g = values["x"], values["W"], values["g"]

    def layer():
        return _reference_output(x_arr, w_arr[0], s)

    def loss_value() -> float:
        return float(np.sum(g * layer()))

    jac_w = numerical_jacobian(layer, w_arr)  # 1 × L′ × 1 × C × k
    der.verify("∂f/∂W", reads.transpose(1, 0, 2), jac_w.reshape(jac_w.shape[1], *jac_w.shape[3:]))
    jac_x = numerical_jacobian(layer, x_arr)  # 1 × L′ × C × L
    der.verify("∂f/∂x", w_gather.transpose(1, 0, 2), jac_x[0])
    der.verify("∂ℓ/∂W", grad_w[None], numerical_gradient(loss_value, w_arr))
    der.verify("∂ℓ/∂x", grad_x, numerical_gradient(loss_value, x_arr))
    as_correlation = np.stack([np.correlate(x_arr[ch], _dilate(g[0], s), mode="valid")[:k]
                               for ch in range(x_arr.shape[0])])
    der.verify("∂ℓ/∂W as x ⋆ dilated ∂ℓ/∂f", grad_w, as_correlation, against="numpy.correlate")
