"""Mistakes of `posenc`: the sinusoidal encoding with one slip in its formula."""

from __future__ import annotations

import math

from . import Coincidence, Mistake


def _encoding(variant: str):
    def recompute(result):
        from ...kinds import posenc as kind

        model = kind.PosencInput.model_validate({k: v for k, v in result.given.items() if v is not None})
        positions = model.pos if isinstance(model.pos, list) else [model.pos]
        dims = model.dims if model.dims is not None else list(range(model.d_model))
        d, base, half = model.d_model, float(model.base), model.d_model // 2

        def value(pos: int, j: int) -> float:
            if model.layout == "interleaved":
                i, use_sin = j // 2, j % 2 == 0
            else:
                i, use_sin = (j, True) if j < half else (j - half, False)
            exponent = {"exponent-i-for-2i": i / d, "exponent-j-for-2i": j / d}.get(variant, 2 * i / d)
            angle = pos / base ** exponent
            if variant == "degrees-for-radians":
                angle = math.radians(angle)
            if variant == "sin-cos-swapped":
                use_sin = not use_sin
            return math.sin(angle) if use_sin else math.cos(angle)

        rows = [[value(p, j) for j in dims] for p in positions]
        return {"PE": rows if isinstance(model.pos, list) else rows[0]}

    return recompute


def _example(**given):
    return {"kind": "posenc", "given": {"pos": 5, "dims": "0..3", "d_model": 8, **given}, "field": "PE"}


MISTAKES = [
    Mistake("sin-cos-swapped", ("posenc",), "Sine and cosine were swapped (cos on the even "
            "dimensions, sin on the odd ones).", r"^PE$", recompute=_encoding("sin-cos-swapped"),
            example=_example()),
    Mistake("exponent-i-for-2i", ("posenc",), "The exponent was ⌊j/2⌋/d instead of 2⌊j/2⌋/d "
            "(i where the formula has 2i).", r"^PE$", recompute=_encoding("exponent-i-for-2i"),
            example=_example()),
    Mistake("exponent-j-for-2i", ("posenc",), "The exponent was j/d for every dimension j (the pair "
            "index 2i not used for the odd dimensions).", r"^PE$", recompute=_encoding("exponent-j-for-2i"),
            example=_example()),
    Mistake("degrees-for-radians", ("posenc",), "The angles were taken in degrees instead of radians.",
            r"^PE$", recompute=_encoding("degrees-for-radians"), example=_example()),
]

COINCIDENCES = [
    Coincidence("posenc", ("exponent-j-for-2i",), "only even dimensions are asked (j = 2i there): it "
                "changes nothing"),
    Coincidence("posenc", ("exponent-i-for-2i",), "only dimensions 0 and 1 are asked (i = 0): it changes "
                "nothing"),
    Coincidence("posenc", ("exponent-i-for-2i", "exponent-j-for-2i", "degrees-for-radians"),
                "position 0 (every angle is 0): none of them changes anything"),
]
