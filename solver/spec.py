"""Problem files: safe YAML loading with line numbers, and the problem envelope (SPEC §4).

YAML is read with PyYAML's SafeLoader only (a tag that would build a Python object is bad
input), and every mapping key and list item keeps the line it was written on, so a validation
error deep inside `given` can name its line.
"""

from __future__ import annotations

import os
import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import BadInput, did_you_mean

# Room for a 512×512 `convolve` input written with decimals (≈ 2–5 MB, 263,000 nodes) or 10,000
# problems in one file (≈ 150,000 nodes); loading a million nodes takes ≈ 300 MB and a few seconds.
MAX_FILE_BYTES = 10_000_000
# A document may hold at most this many nodes once every alias is expanded: an alias costs what
# it stands for, so a "billion laughs" file of nested aliases is refused before it is built.
MAX_YAML_NODES = 1_000_000

PROBLEM_KEYS = ("id", "kind", "title", "notes", "given", "find", "decimals",
                "round_intermediate", "answer", "vary", "points")
FILE_KEYS = ("title", "defaults", "problems", "grading")  # points and grading: `dlsolve grade`


class LineMap:
    """Line numbers of the keys and items of a YAML document, by path."""

    def __init__(self) -> None:
        self._lines: dict[tuple, int] = {}

    def record(self, path: tuple, line: int) -> None:
        self._lines.setdefault(path, line)

    def nested(self, prefix: tuple) -> "LineMap":
        """The same lines for a document placed at `prefix` of a larger one (a single problem
        read as item 0 of a set's `problems`)."""
        moved = LineMap()
        for path, line in self._lines.items():
            moved.record(tuple(prefix) + path, line)
        return moved

    def line(self, path: tuple) -> int | None:
        """The line of `path`, or of its nearest recorded ancestor."""
        path = tuple(path)
        while path:
            if path in self._lines:
                return self._lines[path]
            path = path[:-1]
        return self._lines.get((), None)


def _walk(node, path: tuple, lines: LineMap, seen: set[int]) -> None:
    """Record the line of every key and item below `node`; a key written twice in one mapping
    is bad input (YAML would silently keep the last)."""
    import yaml

    if id(node) in seen:  # an alias: its lines were recorded where it was defined
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        keys: dict[str, int] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if isinstance(key_node, yaml.ScalarNode):
                key = key_node.value
                if key != "<<" and key in keys:  # `<<` merges are YAML's own way to override
                    raise BadInput(f"the key {key!r} is written twice in one mapping (first on line "
                                   f"{keys[key]}); YAML would silently keep only the last", line=line)
                keys[key] = line
            else:
                key = str(id(key_node))
            lines.record(path + (key,), line)
            _walk(value_node, path + (key,), lines, seen)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines.record(path + (index,), item.start_mark.line + 1)
            _walk(item, path + (index,), lines, seen)


def _expanded_size(root) -> int:
    """How many nodes the document holds with every alias expanded, counted without expanding
    anything (each node's size is computed once), stopping as soon as it exceeds the limit."""
    import yaml

    sizes: dict[int, int] = {}
    pending = [(root, False)]
    while pending:
        node, children_done = pending.pop()
        if id(node) in sizes:
            continue
        if isinstance(node, yaml.ScalarNode):
            sizes[id(node)] = 1
            continue
        children = ([child for pair in node.value for child in pair] if isinstance(node, yaml.MappingNode)
                    else list(node.value))
        if not children_done:
            pending.append((node, True))
            pending.extend((child, False) for child in children if id(child) not in sizes)
            continue
        total = 1 + sum(sizes.get(id(child), 0) for child in children)
        sizes[id(node)] = total
        if total > MAX_YAML_NODES:
            return total
    return sizes.get(id(root), 0)


def _scalar_nodes(node):
    """Every scalar node below `node` (keys included), in document order; aliases once."""
    import yaml

    pending, seen = [node], set()
    while pending:
        node = pending.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            yield node
        elif isinstance(node, yaml.MappingNode):
            pending.extend(child for pair in reversed(node.value) for child in reversed(pair))
        else:
            pending.extend(reversed(node.value))


def _unreadable_scalar(root):
    """The first scalar below `root` that PyYAML's safe constructor rejects with a plain
    exception (`0x_` as a hexadecimal integer, `2001-13-40` as a date), with the reason; None
    when every one reads. Looked for only after the document failed to construct."""
    import yaml

    constructor = yaml.constructor.SafeConstructor()
    for node in _scalar_nodes(root):
        try:
            constructor.construct_object(node)
        except (ValueError, TypeError, OverflowError) as exc:
            return node, exc
    return None


def safe_loader_class():
    """libyaml's safe loader when PyYAML was built with it: the same nodes, marks and safe
    constructors as the pure-Python one, several times faster on long problem files."""
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_yaml(text: str, file: str) -> tuple[Any, LineMap]:
    """Safe-load one YAML document and map its paths to lines; errors are BadInput."""
    import yaml

    lines = LineMap()
    loader = safe_loader_class()(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, lines
        lines.record((), node.start_mark.line + 1)
        if _expanded_size(node) > MAX_YAML_NODES:
            raise BadInput(f"the document is too large: over {MAX_YAML_NODES:,} values once its "
                           "aliases (&name / *name) are expanded", file=file, line=1)
        _walk(node, (), lines, set())
        try:
            data = loader.construct_document(node)
        except (ValueError, TypeError, OverflowError):  # PyYAML's own checks raise plain errors
            found = _unreadable_scalar(node)
            if found is None:
                raise
            bad, reason = found
            raise BadInput(f"YAML value {bad.value!r} cannot be read as {bad.tag.rsplit(':', 1)[-1]}: "
                           f"{reason} (quote it to keep it as text)", file=file,
                           line=bad.start_mark.line + 1) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = (exc.problem or exc.context or "invalid YAML").strip()
        if "could not determine a constructor" in problem:
            problem = ("a YAML tag that would build a Python object is not allowed "
                       "(problem files are untrusted and loaded with a safe loader)")
        raise BadInput(f"YAML syntax error: {problem}", file=file,
                       line=mark.line + 1 if mark else None) from None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow, such as NUL
        line = text.count("\n", 0, exc.position) + 1 if isinstance(exc.position, int) else None
        raise BadInput(f"the file holds a character YAML does not allow ({exc.reason}, "
                       f"character {exc.character!r})", file=file, line=line) from None
    except yaml.YAMLError as exc:
        raise BadInput(f"YAML error: {exc}", file=file) from None
    except RecursionError:
        raise BadInput("the YAML document is nested too deeply", file=file) from None
    finally:
        loader.dispose()
    return data, lines


def read_text(path: Path) -> str:
    """A problem file's text, read with a size limit before anything is parsed. Only regular
    files are read: a device (/dev/zero) or a FIFO is refused without reading from it, so it
    can neither fill the memory nor block. Size, encoding and access problems are BadInput."""
    if str(path) == STDIN_PATH:
        return read_stdin()
    file = str(path) if len(str(path)) <= 200 else f"{str(path)[:80]}…{str(path)[-40:]}"
    try:
        # O_NONBLOCK: opening a FIFO with no writer would otherwise wait forever.
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise BadInput("no such file", file=file) from None
    except IsADirectoryError:
        raise BadInput("is a folder, not a file", file=file) from None
    except OSError as exc:
        raise BadInput(f"cannot read the file: {exc.strerror or exc}", file=file) from None
    with os.fdopen(descriptor, "rb") as handle:
        status = os.fstat(descriptor)
        if stat.S_ISDIR(status.st_mode):
            raise BadInput("is a folder, not a file", file=file)
        if not stat.S_ISREG(status.st_mode):
            raise BadInput("is not a regular file (a device, FIFO or socket); problem files are "
                           "read only from regular files", file=file)
        if status.st_size > MAX_FILE_BYTES:
            raise BadInput(f"the file is larger than {MAX_FILE_BYTES // 1_000_000} MB", file=file)
        try:
            raw = read_limited(handle)
        except BadInput as exc:
            raise exc.located(file=file) from None
        except OSError as exc:
            raise BadInput(f"cannot read the file: {exc.strerror or exc}", file=file) from None
    return decode_problem_text(raw, file)


def read_limited(stream) -> bytes:
    """At most MAX_FILE_BYTES from a binary stream; more is BadInput (never read whole)."""
    raw = stream.read(MAX_FILE_BYTES + 1)
    if len(raw) > MAX_FILE_BYTES:
        raise BadInput(f"the file is larger than {MAX_FILE_BYTES // 1_000_000} MB")
    return raw


def decode_problem_text(raw: bytes, file: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise BadInput(f"the file is not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start})",
                       file=file, line=line) from None


STDIN_PATH = "-"  # as a PATH on the command line: read the problem set from standard input
STDIN_NAME = "<stdin>"  # how messages and outputs name it


def read_stdin() -> str:
    """A problem set piped in (`cat set.yaml | dlsolve solve -`), under the same size limit and
    encoding rules as a file."""
    try:
        raw = read_limited(sys.stdin.buffer)
    except BadInput as exc:
        raise exc.located(file=STDIN_NAME) from None
    return decode_problem_text(raw, STDIN_NAME)


@dataclass
class ProblemSet:
    """A problem file as read: its problems still raw mappings, validated one at a time."""

    file: str
    title: str | None = None
    defaults: dict = field(default_factory=dict)
    problems: list[dict] = field(default_factory=list)
    lines: LineMap = field(default_factory=LineMap)
    base_dir: Path | None = None


def load_problem_set(text: str, file: str, base_dir: Path | None = None) -> ProblemSet:
    """Read the file-level structure; problem-level errors are left for the pipeline."""
    data, lines = parse_yaml(text, file)
    if data is None:
        raise BadInput("the file is empty; it needs a `problems:` list", file=file, line=1)
    if not isinstance(data, dict):
        raise BadInput("the top level must be a mapping with a `problems:` list",
                       file=file, line=lines.line(()))
    for key in data:
        if key not in FILE_KEYS:
            raise BadInput(f"unknown top-level key {key!r}{did_you_mean(str(key), FILE_KEYS)}",
                           file=file, line=lines.line((key,)), field=str(key))
    problems = data.get("problems")
    if not isinstance(problems, list) or not problems:
        raise BadInput("`problems:` must be a non-empty list", file=file,
                       line=lines.line(("problems",)), field="problems")
    title = data.get("title")
    if title is not None and not isinstance(title, (str, int, float)):
        raise BadInput("`title` must be text", file=file, line=lines.line(("title",)), field="title")
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise BadInput("`defaults` must be a mapping", file=file,
                       line=lines.line(("defaults",)), field="defaults")
    for key in defaults:
        if key in ("id", "answer", "vary"):
            raise BadInput(f"`defaults` cannot set {key!r}: it belongs to each problem", file=file,
                           line=lines.line(("defaults", key)), field=f"defaults.{key}")
        if key not in PROBLEM_KEYS:
            shared = [k for k in PROBLEM_KEYS if k not in ("id", "answer", "vary")]
            raise BadInput(f"`defaults` cannot set {key!r}{did_you_mean(str(key), shared)}", file=file,
                           line=lines.line(("defaults", str(key))), field=f"defaults.{key}")
    return ProblemSet(file, None if title is None else str(title), defaults, problems, lines, base_dir)
