"""LaTeX to MathML for the HTML key and the quiz export: latex2mathml's output, computed once
per *shape* of formula rather than once per formula.

An answer key repeats a few hundred shapes of formula with different numbers (the same shape
rule, the same matrix of four entries), and the converter costs about a millisecond a formula
(SPEC §8). So each number of a formula is replaced by a numbered placeholder, the resulting
skeleton is converted once, and the real numbers are put back into the placeholders' `<mn>`
elements. latex2mathml writes a number token as `<mn>digits</mn>` whatever its digits, so the
result is the converter's own output for the formula, byte for byte (tested on every formula of
the bundled library and on random ones).

A number is left in the skeleton as it is wherever its digits could change the tokens around
it: right after `_`, `^` (one digit is the whole script), `\\frac` (one-digit arguments), a
digit or a dot, or before a dot, a digit or a unit (`3pt` is a dimension). A negative number
that is a whole matrix cell (`& -0.25 &`) is one placeholder too: the converter writes such a
cell as `<mo>−</mo><mn>…</mn>` whatever its neighbours. A skeleton whose converted form does
not hold every placeholder exactly once, in an `<mn>` (a negative cell's directly in its
`<mtd>`), is converted formula by formula instead.

A formula `a = b + c` is converted in parts, each part once per shape: the converter writes
`=` and `+` at the top level between its parts' elements, unchanged (tested as above). This
also keeps the cost linear: the converter takes longer than linear time on a long sum (the
total of a network of a hundred layers).
"""

from __future__ import annotations

import re

_UNITS = "in|mm|cm|pt|em|ex|pc|bp|dd|cc|sp|mu"
_DIGITS = r"\d+(?:\.\d+)?"
# A whole matrix cell holding a negative number, or a number where its digits do not matter.
_NUMBER = re.compile(
    rf"(?:(?<=& )|(?<=\\\\ )|(?<=\\begin{{matrix}} ))-(?P<cell>{_DIGITS})(?= (?:&|\\\\|\\end{{matrix}}))"
    rf"|(?<![\d._^])(?<!\\frac)(?<!\\[cdt]frac)(?P<plain>{_DIGITS})(?![\d.])(?!\s*(?:{_UNITS}))")
_PLACEHOLDER = re.compile(r"(<mn[^>]*>)([78]\d{7})(</mn>)")
_STRAY = re.compile(r"\d{8}")
_MINUS = "<mo>&#x02212;</mo>"

# skeleton -> (the converted text cut at its placeholders, the placeholders' order and
# whether each is a negative cell), or None when the skeleton cannot stand for its formulas.
_TEMPLATES: dict[tuple[str, str], tuple[list[str], list[tuple[int, bool]]] | None] = {}
_MAX_TEMPLATES = 20_000


def _convert(latex: str, display: str) -> str:
    from latex2mathml.converter import convert

    return convert(latex, display=display)


def _template(skeleton: str, display: str, count: int):
    try:
        converted = _convert(skeleton, display)
    except Exception:  # noqa: BLE001 - the caller converts the formula itself and reports that
        return None
    pieces, slots, start = [], [], 0
    for match in _PLACEHOLDER.finditer(converted):
        negative = match.group(2)[0] == "8"
        if negative:  # the whole <mn> is replaced by the sign and the number
            if match.group(1) != "<mn>" or not (converted.endswith("<mtd>", 0, match.start())
                                                 and converted.startswith("</mtd>", match.end())):
                return None
            cut = (match.start(), match.end())
        else:
            cut = (match.start(2), match.end(2))
        pieces.append(converted[start:cut[0]])
        slots.append((int(match.group(2)[1:]), negative))
        start = cut[1]
    pieces.append(converted[start:])
    if sorted(index for index, _ in slots) != list(range(count)) or any(_STRAY.search(p) for p in pieces):
        return None
    return pieces, slots


def _by_shape(latex: str, display: str) -> str:
    numbers: list[str] = []

    def hold(match: re.Match) -> str:
        numbers.append(match.group("cell") or match.group("plain"))
        return f"{8 if match.group('cell') else 7}{len(numbers) - 1:07d}"

    skeleton = _NUMBER.sub(hold, latex)
    if len(numbers) >= 10 ** 7:
        return _convert(latex, display)
    key = (skeleton, display)
    if key not in _TEMPLATES:
        if len(_TEMPLATES) >= _MAX_TEMPLATES:
            _TEMPLATES.clear()
        _TEMPLATES[key] = _template(skeleton, display, len(numbers))
    template = _TEMPLATES[key]
    if template is None:
        return _convert(latex, display)
    pieces, slots = template
    parts = [pieces[0]]
    for (index, negative), piece in zip(slots, pieces[1:]):
        parts.append(f"{_MINUS}<mn>{numbers[index]}</mn>" if negative else numbers[index])
        parts.append(piece)
    return "".join(parts)


_NESTING = re.compile(r"(?P<open>\\(?:left|begin)(?![a-zA-Z])|\{)|(?P<close>\\(?:right|end)(?![a-zA-Z])|\})"
                      r"|\\.|(?P<script>[_^]\s*\+)|(?P<sign>[=+])")
# How the converter writes each sign it is cut at, between its parts' elements.
_SIGNS = {"=": "<mo>&#x0003D;</mo>", "+": "<mo>&#x0002B;</mo>"}


def _parts(latex: str) -> tuple[list[str], list[str]]:
    """`latex` cut at each `=` and `+` outside braces, \\left…\\right and environments (a `+`
    that is a script, `x^+`, stays): the parts and the signs between them."""
    if "=" not in latex and "+" not in latex:
        return [latex], []
    parts, signs, depth, start = [], [], 0, 0
    for token in _NESTING.finditer(latex):
        if token.group("open"):
            depth += 1
        elif token.group("close"):
            depth -= 1
        elif token.group("sign") and depth == 0:
            parts.append(latex[start:token.start()])
            signs.append(token.group("sign"))
            start = token.end()
    parts.append(latex[start:])
    return parts, signs


def convert(latex: str, display: str = "inline") -> str:
    """latex2mathml's `convert(latex, display=display)`; errors are the converter's own."""
    parts, signs = _parts(latex)
    if not signs or not all(part.strip() for part in parts):
        return _by_shape(latex, display)
    head = f'<math xmlns="http://www.w3.org/1998/Math/MathML" display="{display}"><mrow>'
    tail = "</mrow></math>"
    inner = []
    for part in parts:
        # Spaces around a part are not tokens (the terms of a sum then share one shape), but a
        # space after a backslash is: `\ ` stays.
        part = part.lstrip() if part.rstrip().endswith("\\") else part.strip()
        converted = _by_shape(part, display)
        if not (converted.startswith(head) and converted.endswith(tail)):
            return _by_shape(latex, display)
        inner.append(converted[len(head):-len(tail)])
    return head + "".join(piece + (_SIGNS[sign] if sign else "") for piece, sign in zip(inner, signs + [""])) + tail
