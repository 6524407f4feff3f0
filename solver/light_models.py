"""A small stand-in for the part of pydantic that the kinds' input models use, for one-problem
commands (SPEC §8: importing pydantic and building one model costs ~110 ms, several times the
answer).

It accepts only values whose meaning is plain — the type the annotation names (an `int` where
`float` is asked becomes a float, as pydantic makes it), a `Literal` member of the same type —
and runs the models' own validators on them, so every value it lets through is validated as
pydantic validates it. Anything else (an unknown field, a missing one, a conversion pydantic
would attempt, a validator's complaint, an annotation or option not handled here) raises
`Unsupported`, and the caller answers the command through the full pipeline, which gives
pydantic's result or its message. `light_models()` puts the stand-in in place of `pydantic`
while a kind is imported and solved.
"""

from __future__ import annotations

import re
import sys
from contextlib import contextmanager
from typing import Any

_REQUIRED = object()
_LITERAL = re.compile(r"Literal\[(.*)\]")
_LITERAL_ITEM = re.compile(r"\s*(?:(-?\d+)|\"([^\"\\]*)\"|'([^'\\]*)')\s*(?:,|$)")
_BOUNDS = {"ge": lambda v, b: v >= b, "gt": lambda v, b: v > b, "le": lambda v, b: v <= b,
           "lt": lambda v, b: v < b}
_PLAIN_TYPES = {"Any": None, "object": None, "bool": bool, "int": int, "float": float, "str": str}


class Unsupported(Exception):
    """The stand-in cannot say what pydantic would make of this input: use pydantic."""


class ValidationError(Exception):
    """Never raised: named so that `except ValidationError` compiles against the stand-in."""


def ConfigDict(**options) -> dict:  # noqa: N802 - pydantic's name
    return dict(options)


class FieldInfo:
    def __init__(self, default=_REQUIRED, *, default_factory=None, description=None, **options):
        self.default = default
        self.default_factory = default_factory
        self.description = description
        self.options = options  # bounds (ge, gt, le, lt) of numbers are checked; other options are left to pydantic
        self.annotation: Any = None
        self.check: Any = "unsupported"  # how a given value is checked, from the annotation

    def is_required(self) -> bool:
        return self.default is _REQUIRED and self.default_factory is None


def Field(default=_REQUIRED, **options) -> FieldInfo:  # noqa: N802 - pydantic's name
    if default is Ellipsis:
        default = _REQUIRED
    return FieldInfo(default, **options)


class _Decorated:
    """A validator as the decorators leave it in a class body."""

    def __init__(self, function, fields: tuple[str, ...], mode: str, model: bool):
        self.function = function.__func__ if isinstance(function, classmethod) else function
        self.fields, self.mode, self.model = fields, mode, model


def field_validator(*fields: str, mode: str = "after", **options):
    def decorate(function):
        return _Decorated(function, fields, mode if not options else "unsupported", model=False)

    return decorate


def model_validator(*, mode: str):
    def decorate(function):
        return _Decorated(function, (), mode, model=True)

    return decorate


class _Info:
    def __init__(self, field_name: str, data: dict):
        self.field_name, self.data = field_name, data


def _checker(annotation: str):
    """How values of an annotation are accepted: a type, None (anything), a tuple of Literal
    members, or "unsupported"."""
    text = annotation.strip()
    optional = False
    for suffix in ("| None", "|None"):
        if text.endswith(suffix):
            text, optional = text[: -len(suffix)].strip(), True
    if text in _PLAIN_TYPES:
        return optional, _PLAIN_TYPES[text]
    match = _LITERAL.fullmatch(text)
    if match:
        members, position, body = [], 0, match.group(1)
        while position < len(body):
            item = _LITERAL_ITEM.match(body, position)
            if item is None:
                return optional, "unsupported"
            number, double, single = item.groups()
            members.append(int(number) if number is not None else double if double is not None else single)
            position = item.end()
        return optional, tuple(members)
    return optional, "unsupported"


def _accept(check, optional: bool, value):
    if value is None and optional:
        return None
    if check is None:
        return value
    if check == "unsupported":
        raise Unsupported("annotation")
    if isinstance(check, tuple):  # Literal: a member of the same type, unchanged
        if any(value == member and type(value) is type(member) for member in check):
            return value
        raise Unsupported("literal")
    if check is float and type(value) is int:
        return float(value)
    if type(value) is check:
        return value
    raise Unsupported("type")


class BaseModel:
    model_config: dict = {}
    model_fields: dict = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        fields: dict[str, FieldInfo] = {}
        validators: list[_Decorated] = []
        for base in reversed(cls.__mro__[1:]):
            fields.update(getattr(base, "model_fields", {}))
            validators.extend(getattr(base, "_validators", []))
        config = {}
        for base in reversed(cls.__mro__):
            config.update(base.__dict__.get("model_config", {}))
        for name, annotation in cls.__dict__.get("__annotations__", {}).items():
            if name.startswith("_") or name in ("model_config", "model_fields"):
                continue
            value = cls.__dict__.get(name, _REQUIRED)
            info = value if isinstance(value, FieldInfo) else FieldInfo(value)
            info.annotation = annotation
            optional, check = _checker(annotation) if isinstance(annotation, str) else (False, "unsupported")
            bounds_only = set(info.options) <= set(_BOUNDS) and check in (int, float)
            info.check = (optional, check if not info.options or bounds_only else "unsupported")
            fields[name] = info
            if name in cls.__dict__:
                delattr(cls, name)
        for name, value in list(cls.__dict__.items()):
            if isinstance(value, _Decorated):
                validators.append(value)
                delattr(cls, name)
        cls.model_fields = fields
        cls.model_config = config
        cls._validators = validators
        unknown_options = set(config) - {"extra", "arbitrary_types_allowed"}
        cls._supported = not unknown_options and config.get("extra", "ignore") == "forbid" and all(
            v.mode in ("before", "after") for v in validators)

    @classmethod
    def model_validate(cls, data):
        if not cls._supported or not isinstance(data, dict):
            raise Unsupported("model")
        for validator in cls._validators:
            if validator.model and validator.mode == "before":
                try:
                    data = validator.function(cls, data)
                except (ValueError, AssertionError, TypeError) as exc:
                    raise Unsupported("model validator") from exc
                if not isinstance(data, dict):
                    raise Unsupported("model")
        if any(name not in cls.model_fields for name in data):
            raise Unsupported("extra field")
        values: dict[str, Any] = {}
        for name, info in cls.model_fields.items():
            if name not in data:
                if info.is_required():
                    raise Unsupported("missing field")
                values[name] = info.default_factory() if info.default_factory else _copied(info.default)
                continue
            value = data[name]
            for validator in cls._field_validators(name, "before"):
                value = _call(validator, cls, value, name, values)
            optional, check = info.check
            value = _accept(check, optional, value)
            for bound, holds in _BOUNDS.items():
                if bound in info.options and value is not None and not holds(value, info.options[bound]):
                    raise Unsupported("bound")
            for validator in cls._field_validators(name, "after"):
                value = _call(validator, cls, value, name, values)
            values[name] = value
        model = cls.__new__(cls)
        model.__dict__.update(values)
        model.__dict__["_fields_set"] = set(data)
        for validator in cls._validators:
            if validator.model and validator.mode == "after":
                try:
                    model = validator.function(model)
                except (ValueError, AssertionError, TypeError) as exc:
                    raise Unsupported("model validator") from exc
        return model

    @classmethod
    def _field_validators(cls, name: str, mode: str):
        return [v for v in cls._validators if not v.model and v.mode == mode and name in v.fields]

    @property
    def model_fields_set(self) -> set[str]:
        return self.__dict__["_fields_set"]

    def model_dump(self) -> dict:
        return {name: self.__dict__[name] for name in self.model_fields}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.model_dump().items())})"


def _copied(default):
    if isinstance(default, (list, dict, set)):
        import copy

        return copy.deepcopy(default)
    return default


def _call(validator: _Decorated, cls, value, name: str, data: dict):
    try:
        if validator.function.__code__.co_argcount >= 3:
            return validator.function(cls, value, _Info(name, data))
        return validator.function(cls, value)
    except (ValueError, AssertionError, TypeError) as exc:  # pydantic's message comes from the full path
        raise Unsupported("validator") from exc


def _swapped(name: str) -> bool:
    """Modules loaded afresh on the stand-in: pydantic itself and dlsolve's own (kinds, and the
    modules that keep state kinds add to, such as the formula functions), except this one."""
    return name == "pydantic" or (name.startswith("solver.") and name not in _KEPT)


_KEPT = (__name__, "solver.fast")


@contextmanager
def light_models():
    """Import and run kinds on the stand-in: dlsolve's modules are loaded afresh while the
    context lasts, and the ones loaded before are put back after, with the package's
    attributes, so that nothing made on the stand-in is seen outside it."""
    import solver

    saved = {name: module for name, module in sys.modules.items() if _swapped(name)}
    attributes = dict(vars(solver))
    for name in saved:
        del sys.modules[name]
    sys.modules["pydantic"] = sys.modules[__name__]
    try:
        yield
    finally:
        for name in [n for n in sys.modules if _swapped(n)]:
            del sys.modules[name]
        sys.modules.update(saved)
        for name in [n for n in vars(solver) if n not in attributes]:
            delattr(solver, name)
        for name, value in attributes.items():
            setattr(solver, name, value)
