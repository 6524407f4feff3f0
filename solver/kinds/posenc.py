"""Kind `posenc`: sinusoidal positional encodings (Vaswani et al.) at given positions and
dimensions, each value with its angle in radians, and a heat map of the encoding matrix.

    θ = pos / base^(2i/d_model);  interleaved: PE(pos, 2i) = sin θ, PE(pos, 2i+1) = cos θ
                                  halves: dims 0…d/2−1 are sin θ_i, dims d/2…d−1 are cos θ_i
"""

from __future__ import annotations

from functools import partial
from typing import Any, Literal

from pydantic import Field, field_validator

from ..context import Context
from ..errors import BadInput
from ..formula import Sym, call
from ..inputs import KindInput, parse_int_list
from ..registry import register
from ..steps import Figure, Formula, Solution, Table

FULL_WORKING = 12  # values shown with their full working; more go into the table only
HEATMAP_POSITIONS = 50  # the heat map shows at least this many positions…
HEATMAP_MAX_POSITIONS = 2000  # …and at most this many
MAX_VALUES = 20_000  # a table for a person to read, not a tensor

POS = Sym("pos")
BASE = Sym("base")
I = Sym("i")
D_MODEL = Sym("d_model", text="d_model", latex=r"d_{\mathrm{model}}")
THETA = Sym("theta")


class PosencInput(KindInput):
    pos: Any = Field(description="a position (from 0), a list of them, or a range a..b")
    dims: Any = Field(None, description="dimensions: a list or a range a..b (every dimension when omitted)")
    d_model: int = Field(description="the model (embedding) dimension")
    base: float = Field(10000, description="the base of the wavelengths")
    layout: Literal["interleaved", "halves"] = Field("interleaved", description="sin on even / cos on odd "
                                                     "dimensions, or sin half then cos half")
    show: Literal["first", "all"] = Field("first", description="full working for the first 12 values, or all")
    heatmap: bool = Field(True, description="draw the encoding matrix as a heat map in written keys")

    @field_validator("pos")
    @classmethod
    def _pos(cls, value):
        listed = isinstance(value, (list, tuple)) or (isinstance(value, str) and ".." in value)
        positions = parse_int_list(value, name="pos")
        if not positions:
            raise ValueError("pos is empty")
        if any(p < 0 for p in positions):
            raise ValueError("positions count from 0; pos cannot be negative")
        return positions if listed else positions[0]

    @field_validator("dims")
    @classmethod
    def _dims(cls, value):
        if value is None:
            return None
        dims = parse_int_list(value, name="dims")
        if not dims:
            raise ValueError("dims is empty")
        return dims

    @field_validator("d_model")
    @classmethod
    def _d_model(cls, value):
        if value < 1:
            raise ValueError("d_model must be at least 1")
        if value > 100_000:
            raise ValueError("d_model is unreasonably large (at most 100000)")
        return value

    @field_validator("base")
    @classmethod
    def _base(cls, value):
        if not value > 0 or value == 1:
            raise ValueError("base must be positive and not 1")
        return int(value) if float(value).is_integer() else value


def dimensions(given: PosencInput) -> list[int]:
    """The requested dimensions (all when none are given), each checked against d_model."""
    dims = list(range(given.d_model)) if given.dims is None else given.dims
    bad = [d for d in dims if not 0 <= d < given.d_model]
    if bad:
        raise BadInput(f"dims must lie in 0..{given.d_model - 1} (d_model = {given.d_model}); got {bad[0]}",
                       field="dims")
    if given.layout == "halves" and given.d_model % 2:
        raise BadInput("layout: halves needs an even d_model (a sin half and a cos half)", field="d_model")
    return dims


def frequency_index(dim: int, d_model: int, layout: str) -> tuple[int, str]:
    """(i, "sin" | "cos") of a dimension: its angle uses base^(2i/d_model)."""
    if layout == "interleaved":
        return dim // 2, ("sin" if dim % 2 == 0 else "cos")
    half = d_model // 2
    return (dim, "sin") if dim < half else (dim - half, "cos")


def _dims_of(i: int, given: PosencInput) -> tuple[int, int]:
    """The sin and cos dimensions that share frequency i."""
    if given.layout == "interleaved":
        return 2 * i, 2 * i + 1
    return i, i + given.d_model // 2


def _theta_symbol(pos: int, i: int) -> Sym:
    return Sym(f"theta_{pos}_{i}", text=f"θ(pos={pos}, i={i})", latex=rf"\theta_{{{pos},{i}}}")


def _pe_symbol(pos: int, dim: int) -> Sym:
    return Sym(f"PE_{pos}_{dim}", text=f"PE({pos}, {dim})", latex=rf"PE_{{({pos},{dim})}}")


def _layout_note(sol: Solution, given: PosencInput) -> None:
    if given.layout == "interleaved":
        sol.convention("Interleaved layout: even dimensions 2i hold sin, odd dimensions 2i+1 hold cos, "
                       "both at the angle pos/base^(2i/d_model); positions count from 0.")
    else:
        sol.convention(f"Halves layout: dimensions 0…{given.d_model // 2 - 1} hold sin θ_i, dimensions "
                       f"{given.d_model // 2}…{given.d_model - 1} hold cos θ_i (i = dim − d_model/2), "
                       "θ_i = pos/base^(2i/d_model); positions count from 0.")
    sol.convention(f"Angles in radians; base {given.base}.")


def _encode(sol: Solution, ctx: Context, given: PosencInput, pos: int, dims: list[int],
            full: set, angles: dict, rows: list) -> list:
    values = []
    for dim in dims:
        i, wave = frequency_index(dim, given.d_model, given.layout)
        key = (pos, i)
        shown = (pos, dim) in full
        if key not in angles or (shown and not angles[key][1]):
            formula = Formula(_theta_symbol(pos, i), POS / BASE ** (2 * I / D_MODEL),
                              {"pos": pos, "base": given.base, "i": i, "d_model": given.d_model})
            if shown:
                sol.add(f"Angle at position {pos} for i = {i} (shared by dimensions "
                        f"{' and '.join(map(str, _dims_of(i, given)))}):", formula)
            angles[key] = (ctx.hand_round(formula.value), shown)
        theta = angles[key][0]
        formula = Formula(_pe_symbol(pos, dim), call(wave, _theta_symbol(pos, i)),
                          {f"theta_{pos}_{i}": theta})
        if shown:
            sol.add(f"Dimension {dim} takes the {'sine' if wave == 'sin' else 'cosine'}.", formula)
        value = ctx.hand_round(formula.value)
        rows.append([pos, dim, i, wave, theta, value])
        values.append(value)
    return values


def heatmap_chart(given: PosencInput, rows: int, positions: list[int], dims: list[int]):
    """The encodings of positions 0…rows−1 as colours (−1 blue, 0 white, 1 red), the requested
    cells outlined."""
    import numpy as np

    from ..svgplot import Box, Chart, Image

    pos = np.arange(rows)[:, None]
    columns = np.arange(given.d_model)[None, :]
    if given.layout == "interleaved":
        i, use_sin = columns // 2, columns % 2 == 0
    else:
        half = given.d_model // 2
        i, use_sin = np.where(columns < half, columns, columns - half), columns < half
    theta = pos / np.power(float(given.base), 2 * i / given.d_model)
    matrix = np.where(use_sin, np.sin(theta), np.cos(theta))
    chart = Chart(title=f"Sinusoidal positional encoding (d_model = {given.d_model}, base {given.base}, "
                        f"{given.layout})\nrequested cells outlined",
                  xlabel="dimension", ylabel="position", grid=False, legend=False, colorbar=True,
                  image=Image(matrix, "diverging", -1.0, 1.0))
    chart.boxes = [Box(d - 0.5, p - 0.5, 1, 1) for p in positions if p < rows for d in dims]
    return chart


def _draw_heatmap(given: PosencInput, rows: int, positions: list[int], dims: list[int], path) -> None:
    heatmap_chart(given, rows, positions, dims).write(path)


def _heatmap(given: PosencInput, positions: list[int], dims: list[int]) -> Figure:
    rows = min(max(max(positions) + 1, HEATMAP_POSITIONS), HEATMAP_MAX_POSITIONS)
    draw = partial(_draw_heatmap, given, rows, positions, dims)
    return Figure("posenc-heatmap", f"heat map of the positional encodings, positions 0–{rows - 1}, "
                                    f"dimensions 0–{given.d_model - 1}", draw, suffix=".svg")


@register(
    "posenc",
    PosencInput,
    summary="Sinusoidal positional encodings at given positions and dimensions, each value with its "
            "angle; interleaved sin/cos or concatenated halves; a heat map for the key.",
    answers={"PE": "the encodings in `dims` order (one row per position when `pos` is a list)"},
    example="--pos 5 --dims 0..10 --d-model 512",
    template={"pos": 5, "dims": "0..10", "d_model": 512, "base": 10000, "layout": "interleaved"},
)
def solve(given: PosencInput, ctx: Context) -> Solution:
    sol = Solution()
    _layout_note(sol, given)
    positions = given.pos if isinstance(given.pos, list) else [given.pos]
    dims = dimensions(given)
    if len(positions) * len(dims) > MAX_VALUES:
        raise BadInput(f"{len(positions)} positions × {len(dims)} dimensions is more than {MAX_VALUES:,} "
                       "values; ask for fewer", field="pos")
    cells = [(p, d) for p in positions for d in dims]
    full = set(cells if given.show == "all" else cells[:FULL_WORKING])
    angles: dict = {}
    rows: list = []
    encoded = [_encode(sol, ctx, given, p, dims, full, angles, rows) for p in positions]
    if len(cells) > len(full):
        sol.note(f"The other {len(cells) - len(full)} values follow the same two steps (show: all writes "
                 "every one); the table lists them all.")
    if len(cells) > 1:
        sol.add("Every value with its angle (radians):",
                table=Table(["pos", "dim", "i", "function", "angle θ", "PE"], rows))
    if given.heatmap:
        sol.add("The encoding matrix as a heat map (requested cells outlined).",
                figure=_heatmap(given, positions, dims))
    answer = encoded if isinstance(given.pos, list) else encoded[0]
    sol.set_answer("PE", answer)
    return sol
