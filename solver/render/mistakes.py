"""Printing the catalogue of mistakes (`dlsolve mistakes`)."""

from __future__ import annotations

from . import values


def _given_text(given: dict) -> str:
    return ", ".join(f"{key}: {values.text(value, 4)}" for key, value in given.items())


def render_mistakes(console, catalogue) -> None:
    from rich.text import Text

    entries, coincidences = catalogue
    if not entries:
        console.print("No catalogued mistakes for this kind: `check` compares its answers without a diagnosis.")
        return
    kind = None
    for entry in entries:
        if entry.kind != kind:
            kind = entry.kind
            console.print(Text(f"\n{kind}", style="bold"))
        console.print(Text(f"  {entry.id}", style="cyan") + Text(f" — {entry.says}"))
        shown = (f"right {values.text(entry.right, 4)}, with the mistake {values.text(entry.mistaken, 4)}"
                 if entry.mistaken is not None else "no worked example")
        console.print(f"      e.g. {_given_text(entry.given)} → {entry.field}: {shown}", soft_wrap=True)
    if coincidences:
        console.print(Text("\nKnown coincidences (the mistakes give the same value, or none, when):", style="bold"))
        for c in coincidences:
            console.print(f"  {c.kind}: {' = '.join(c.mistakes)} — {c.when}", soft_wrap=True)
