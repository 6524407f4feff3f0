"""Infinite solution sets written as a rule (SPEC §9): every integer from `min` to `max`
(`max` None: no upper end), with `listed` the first solutions for display. A set whose first
solutions have gaps names the integers it skips in `except`.

A rule is a plain dict, so JSON writes it as it is: {"min": 8, "max": null, "listed": [8, 9, …]}.
"""

from __future__ import annotations

LISTED = 5  # solutions written out for display


def integer_rule(solutions: list[int], tail_start: int, maximum: int | None = None) -> dict:
    """The rule for `solutions` (sorted) followed by every integer from `tail_start` on."""
    below = [s for s in solutions if s < tail_start]
    low = below[0] if below else tail_start
    rule: dict = {"min": low, "max": maximum,
                  "listed": below + list(range(tail_start, tail_start + LISTED))}
    skipped = sorted(set(range(low, tail_start)) - set(below))
    if skipped:
        rule["except"] = skipped
    return rule


def is_rule(value) -> bool:
    return isinstance(value, dict) and "min" in value and "max" in value and "listed" in value


def in_rule(rule: dict, number) -> bool:
    """Whether an integer belongs to the set the rule describes."""
    if isinstance(number, bool) or not isinstance(number, int):
        return False
    if number < rule["min"] or (rule["max"] is not None and number > rule["max"]):
        return False
    return number not in rule.get("except", ())


def rule_text(rule: dict) -> str:
    """`every integer ≥ 8 (8, 9, 10, …)`."""
    upper = "" if rule["max"] is None else f" and ≤ {rule['max']}"
    skipped = f" except {', '.join(map(str, rule['except']))}" if rule.get("except") else ""
    listed = ", ".join(map(str, rule["listed"]))
    return f"every integer ≥ {rule['min']}{upper}{skipped} ({listed}, …)"
