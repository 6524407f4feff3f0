"""A kind command's flags as a problem's `given` (SPEC §3): `--d-model 512` fills `d_model`,
values are inline YAML, `--find F` means `F: "?"`, one bare argument fills the kind's
positional field. Shared by the full command line and the fast path of one-problem commands.
"""

from __future__ import annotations

import re

from .errors import BadInput

# Values that YAML reads as a plain decimal integer or leaves as a string, recognised without
# importing PyYAML (≈ 20 ms of a one-problem command, SPEC §8): `3`, `-1`, `10x11`, `3x3x3`.
# A leading zero is left to YAML, which reads `010` as octal and `0x10` as hexadecimal.
_PLAIN_INT = re.compile(r"-?(0|[1-9][0-9]*)")
_PLAIN_SHAPE = re.compile(r"[1-9][0-9]*(x[0-9]+)+")
# Nested lists of decimal integers and plain decimals (`[[0, 1.5], [-2, 3]]`) read the same as
# JSON and as YAML; JSON reads a 512×512 matrix in milliseconds, where PyYAML's loaders take
# 0.3–10 s (libyaml's differs from the pure loader on some odd values, `!`, so it is not used). Numbers YAML reads otherwise (`1e5`, `010`, `.5`, `1_000`) are not JSON: they fail
# here and go to YAML.
# Words with a space between them and none of YAML's indicators (`1x32x32 | conv 6 5 | fc 10`):
# no YAML number, boolean, null or date has a space without a colon, so YAML reads these as the
# same plain string.
_PLAIN_WORDS = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ×|=.,_+\-/()]*[A-Za-z0-9×|=.,_+\-/()]")
# One name (`same`, `conv1d`, `sigmoid`) is a plain string in YAML unless it is one of YAML 1.1's
# booleans or nulls.
_PLAIN_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_\-]*")
_YAML_WORDS = {"yes", "Yes", "YES", "no", "No", "NO", "true", "True", "TRUE", "false", "False", "FALSE", "on",
               "On", "ON", "off", "Off", "OFF", "null", "Null", "NULL"}
_JSON_NUMBERS = re.compile(r"\[[\[\]\s,0-9.\-]*\]")


def flag_value(text: str):
    """A flag's value as inline YAML (`[0, 2]`, `3`, `10x11`); `?` stays the unknown marker."""
    if text.strip() == "?":
        return "?"
    if _PLAIN_INT.fullmatch(text):
        return int(text)
    if _PLAIN_SHAPE.fullmatch(text):
        return text
    if (" " in text and _PLAIN_WORDS.fullmatch(text)) or (_PLAIN_NAME.fullmatch(text) and text not in _YAML_WORDS):
        return text
    if _JSON_NUMBERS.fullmatch(text):
        import json

        try:
            return json.loads(text)
        except ValueError:
            pass
    import yaml

    try:
        value = yaml.safe_load(text)
    except (yaml.YAMLError, ValueError, TypeError, OverflowError):  # `0x_`: PyYAML's int() fails
        return text
    return text if value is None else value


def parse_flags(args: list[str]) -> tuple[dict, list[str]]:
    """`XOR --d-model 512 --dims "[0, 2]" --ceil-mode` ->
    ({"d_model": 512, "dims": [0, 2], "ceil_mode": True}, ["XOR"])."""
    given: dict = {}
    positional: list[str] = []
    index = 0
    while index < len(args):
        token = args[index]
        if not token.startswith("--") or len(token) == 2:
            positional.append(token)
            index += 1
            continue
        name, has_value, value = token[2:].partition("=")
        key = name.replace("-", "_")
        if not has_value:
            following = args[index + 1] if index + 1 < len(args) else None
            if following is None or (following.startswith("--") and len(following) > 2):
                given[key] = True
                index += 1
                continue
            value = following
            index += 1
        given[key] = flag_value(value)
        index += 1
    return given, positional


def kind_problem(kind, args: list[str], find: str | None) -> dict:
    """The one problem a kind command describes."""
    given, positional = parse_flags(args)
    if positional:
        if len(positional) > 1:
            raise BadInput(f"`{kind.name}` takes at most one argument, got {len(positional)}: "
                           f"{' '.join(positional)}", file="command line")
        argument = positional[0]
        if kind.positional is None:
            raise BadInput(f"`{kind.name}` takes no positional argument (got {argument!r}); "
                           "use --field value", file="command line")
        given[kind.positional] = flag_value(argument)
    for name in (find.split(",") if find else []):
        given[name.strip().replace("-", "_")] = "?"
    return {"id": kind.name, "kind": kind.name, "given": given, "find": []}
