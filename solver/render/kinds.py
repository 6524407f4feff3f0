"""`dlsolve kinds` and `dlsolve new`: describing kinds from their input models."""

from __future__ import annotations

from typing import Any


def _type_name(annotation: Any) -> str:
    """How a field's type reads in `dlsolve kinds`: `float | None`, `list`, and `mapping` for a
    nested model (its fields are written in YAML as a mapping), not a Python path."""
    import types
    import typing

    origin, arguments = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type_name(part) for part in arguments)
    if origin is typing.Literal:  # the words themselves
        return " | ".join(str(word) for word in arguments)
    if origin in (list, dict, tuple) and arguments:
        return f"{origin.__name__}[{', '.join(_type_name(part) for part in arguments)}]"
    if isinstance(annotation, type) and hasattr(annotation, "model_fields"):
        return "mapping"
    text = getattr(annotation, "__name__", None) or str(annotation)
    text = text.replace("typing.", "").replace("NoneType", "None")
    return "any" if text == "Any" else text


def _default(field) -> str:
    if field.is_required():
        return "required"
    default = field.get_default(call_default_factory=True)
    return "—" if default is None else repr(default)


def field_rows(kind) -> list[tuple[str, str, str, str]]:
    rows = []
    for name, field in kind.input_model.model_fields.items():
        rows.append((name, _type_name(field.annotation), _default(field), field.description or ""))
    return rows


def list_kinds(console, kinds) -> None:
    from rich.table import Table

    table = Table(title="problem kinds", title_justify="left")
    table.add_column("kind", style="bold")
    table.add_column("what it solves")
    for kind in kinds:
        table.add_row(kind.name, kind.summary)
    console.print(table)
    console.print("`dlsolve kinds KIND` lists a kind's fields and answers; `dlsolve new KIND` prints a template.")


def describe_kind(console, kind) -> None:
    from rich.table import Table

    console.print(f"[bold]{kind.name}[/bold]: {kind.summary}")
    fields = Table(title="given fields", title_justify="left")
    for column in ("field", "type", "default", "meaning"):
        fields.add_column(column)
    for row in field_rows(kind):
        fields.add_row(*row)
    console.print(fields)
    answers = Table(title="answers", title_justify="left")
    answers.add_column("name")
    answers.add_column("meaning")
    for name, meaning in kind.answers.items():
        answers.add_row(name, meaning)
    console.print(answers)
    if kind.example:
        console.print(f"Example: dlsolve {kind.name} {kind.example}")


def template(kind) -> str:
    import yaml

    given = yaml.safe_dump({"given": kind.template or {}}, sort_keys=False, default_flow_style=None,
                           allow_unicode=True).rstrip().splitlines()
    field_lines = [f"#   {name}: {type_} (default: {default}){' — ' + meaning if meaning else ''}"
                   for name, type_, default, meaning in field_rows(kind)]
    answer_lines = [f"#   {name}: {meaning}" for name, meaning in kind.answers.items()]
    lines = [
        f"# A dlsolve problem set. Kind `{kind.name}`: {kind.summary}",
        "# Solve it with: dlsolve solve THIS_FILE   (or --format md -o key.md for an answer key)",
        f"# Fields of `given` for {kind.name}:",
        *field_lines,
        "# Answers it computes:",
        *answer_lines,
        "title: My problem set",
        "defaults: {decimals: 4}",
        "problems:",
        "  - id: q1",
        f"    kind: {kind.name}",
        "    title: Describe the question here",
        *["    " + line for line in given],
        "    # find: [output]           # report only these answers",
        "    # decimals: 2              # display and check precision",
        "    # answer: {...}            # claimed answers, compared by `dlsolve check`",
    ]
    return "\n".join(lines) + "\n"
