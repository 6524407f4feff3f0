"""Reading a claim like a given value of the answer's type (SPEC §9).

A claimed shape may be written `6x28x28`, `6×28×28`, `(6, 28, 28)`, `[6, 28, 28]` or
`6,28,28`; a number `61,706`, `61 706`, `1.2e-3`, `3/7` or `[0.5]`. Each reader returns the
claim in the computed answer's form, or the claim unchanged when it cannot be read as one (it
then simply does not match). Nothing here evaluates code: numbers are matched by patterns and
lists are split by hand, with their sizes bounded.
"""

from __future__ import annotations

import re
from fractions import Fraction

MAX_CLAIM_TEXT = 20_000  # characters of a claimed list or number read at all
MAX_ELEMENTS = 100_000

_MINUS = str.maketrans({"−": "-", "–": "-", "\u2009": " ", "\u202f": " ", "\u00a0": " "})
_INTEGER = re.compile(r"[+-]?\d+")
_GROUPED = re.compile(r"([+-]?)(\d{1,3}(?:([, ])\d{3})+)(\.\d+)?")  # 61,706 and 61 706.5
_DECIMAL = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d{1,3})?")
_TIMES_TEN = re.compile(r"([+-]?(?:\d+\.?\d*|\.\d+))\s*[x×·*]\s*10\s*(?:\^|\*\*)\s*\(?([+-]?\d{1,3})\)?")
_FRACTION = re.compile(r"([+-]?\d+)\s*/\s*([+-]?\d+)")
_SUPERSCRIPT = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺", "0123456789-+")
# × anywhere, x between numbers (6x28x28) or between spaced terms (F x (H - 4)): not the x of
# an expression such as exp(x) or 2*x
_SHAPE_SEPARATOR = re.compile(r"\s*×\s*|\s+x\s+|(?<=\d)\s*x\s*(?=\d)")


def read_number(claim):
    """A number from a claimed scalar, or the claim unchanged."""
    if isinstance(claim, bool) or isinstance(claim, (int, float, Fraction)):
        return claim
    if isinstance(claim, list) and len(claim) == 1 and not isinstance(claim[0], list):
        return read_number(claim[0])  # a one-element list
    if not isinstance(claim, str) or len(claim) > 200:
        return claim
    text = claim.translate(_MINUS).strip()
    if text.startswith(("[", "(")) and text.endswith(("]", ")")) and "," not in text[1:-1]:
        return read_number(text[1:-1])
    if _INTEGER.fullmatch(text):
        return int(text)
    grouped = _GROUPED.fullmatch(text)
    if grouped:
        sign, digits, separator, decimals = grouped.groups()
        whole = int(sign + digits.replace(separator, ""))
        return whole if decimals is None else float(f"{sign}{digits.replace(separator, '')}{decimals}")
    if _DECIMAL.fullmatch(text):
        return float(text)
    # 1.2×10^-3, 1.2·10⁻³, 1.2*10**-3
    powers = re.sub(r"10([⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺]+)", lambda m: "10^" + m.group(1).translate(_SUPERSCRIPT), text)
    times_ten = _TIMES_TEN.fullmatch(powers)
    if times_ten:
        return float(times_ten.group(1)) * 10.0 ** int(times_ten.group(2))
    fraction = _FRACTION.fullmatch(text)
    if fraction and int(fraction.group(2)) != 0:
        return Fraction(int(fraction.group(1)), int(fraction.group(2)))
    return claim


def read_list(claim, computed_depth: int):
    """A claimed list (shape, vector or matrix) in any accepted notation, as nested lists whose
    scalars went through read_number; the claim unchanged when it is not a list."""
    if isinstance(claim, (list, tuple)):
        return [read_list(item, computed_depth - 1) if isinstance(item, (list, tuple, str)) and computed_depth > 1
                else read_number(item) for item in claim]
    if not isinstance(claim, str) or len(claim) > MAX_CLAIM_TEXT:
        return claim
    text = claim.translate(_MINUS).strip()
    parsed = _bracketed(text)
    if parsed is not None:
        return read_list(parsed, computed_depth)
    if computed_depth == 1:
        if _SHAPE_SEPARATOR.search(text) and not re.search(r"10\s*(\^|\*\*)", text):
            parts = _SHAPE_SEPARATOR.split(text)
        elif re.fullmatch(r"\d+(\s*\*\s*\d+)+", text):  # 6*28*28
            parts = text.split("*")
        elif "," in text or ";" in text:
            parts = re.split(r"\s*[,;]\s*", text)
        else:
            parts = text.split()
        if len(parts) > MAX_ELEMENTS or any(p == "" for p in parts):
            return claim
        return [read_number(p) for p in parts]
    return claim


def _bracketed(text: str):
    """`[[1, 2], [3, 4]]` or `(6, 28, 28)` as nested lists of strings, split by hand (no eval);
    None when the brackets do not pair up."""
    if not text or text[0] not in "[(" or text[-1] not in "])":
        return None
    stack: list[list] = []
    result = None
    token = ""
    for char in text:
        if char in "[(":
            stack.append([])
            if len(stack) > 32:
                return None
            token = ""
        elif char in "])":
            if not stack:
                return None
            if token.strip():
                stack[-1].append(token.strip())
            token = ""
            done = stack.pop()
            if stack:
                stack[-1].append(done)
            elif result is None:
                result = done
            else:
                return None
        elif char in ",;":
            if not stack:
                return None
            if token.strip():
                stack[-1].append(token.strip())
            token = ""
        else:
            if not stack:
                return None
            token += char
    return result if not stack else None


def list_depth(value) -> int:
    depth = 0
    while isinstance(value, list) and value:
        depth += 1
        value = value[0]
    return depth
