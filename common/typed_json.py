"""JSON data to and from frozen dataclasses, by their type hints (pure: the standard library only).

Blender's Python has no pydantic, so the render spec crosses the process boundary as JSON and is
read back into dataclasses here. Lists become tuples; numbers keep their JSON type (an int stays an
int where a float is declared), so `to_dict(from_dict(cls, d)) == d` byte for byte. A key the
dataclass does not know, a missing key without a default and a value of the wrong type are each a
SpecError naming the key's path (`spec.rigs.tube.materials.*.roughness`).
"""

from __future__ import annotations

import types
from dataclasses import MISSING, Field, field, fields, is_dataclass
from functools import cache
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

T = TypeVar("T")
OMITTED = "omitted_at_default"  # field metadata: JSON leaves the key out when it holds its default
UNIONS = (Union, types.UnionType)


class SpecError(ValueError):
    """JSON that does not fit its dataclass; the message names the key path."""


def optional_key(default: Any = None, factory: Any = None) -> Any:
    """A field whose key is absent from the JSON when it holds its default (a key added after older
    specs were written: leaving it out keeps their bytes and hashes)."""
    if factory is not None:
        return field(default_factory=factory, metadata={OMITTED: True})
    return field(default=default, metadata={OMITTED: True})


@cache
def _hints(cls: type) -> dict[str, Any]:
    return get_type_hints(cls)


def _default(f: Field) -> Any:
    return f.default_factory() if f.default_factory is not MISSING else f.default


def _literals(cls: type, value: dict) -> tuple[bool, bool]:
    """(whether every Literal field of `cls` allows what `value` holds or has a default, whether one
    of them is present in `value`): which members of a union a dict names."""
    fits, named = True, False
    for f in fields(cls):
        tp = _hints(cls)[f.name]
        if get_origin(tp) is not Literal:
            continue
        if f.name in value:
            named = named or value[f.name] in get_args(tp)
            fits = fits and value[f.name] in get_args(tp)
        elif f.default is MISSING and f.default_factory is MISSING:
            fits = False
    return fits, named


def _kinds(options: tuple, key: str) -> list:
    """The values the union's members allow for a Literal field `key`."""
    return [
        a
        for o in options
        if is_dataclass(o)
        for f in fields(o)
        if f.name == key and get_origin(_hints(o)[key]) is Literal
        for a in get_args(_hints(o)[key])
    ]


def _union(options: tuple, value: Any, where: str) -> Any:
    """A value of `X | Y | None`: None, or the first member that builds. A dict tries the members
    its kind key (a Literal field: `mode`, `type`) names, else those that need none (the replace
    material has no `mode`); a kind no member has is an error naming that key."""
    if value is None and type(None) in options:
        return None
    options = tuple(o for o in options if o is not type(None))
    if isinstance(value, dict) and any(is_dataclass(o) for o in options):
        marks = {o: _literals(o, value) if is_dataclass(o) else (False, False) for o in options}
        named = [o for o in options if marks[o] == (True, True)]
        for key in value if not named else ():  # a kind key (`mode`, `type`) that names no member
            allowed = _kinds(options, key)
            if allowed and value[key] not in allowed:
                raise SpecError(f"{where}.{key}: expected one of {', '.join(map(repr, allowed))}; got {value[key]!r}")
        options = tuple(named or [o for o in options if marks[o][0]]) or options
    errors = []
    for option in options:
        try:
            return _build(option, value, where)
        except SpecError as exc:
            errors.append(exc)
    if len(errors) == 1:
        raise errors[0]
    kinds = ", ".join(getattr(o, "__name__", str(o)) for o in options)
    raise SpecError(f"{where}: expected one of {kinds}; got {value!r}")


def _dataclass(cls: type, value: Any, where: str) -> Any:
    if not isinstance(value, dict):
        raise SpecError(f"{where}: expected a mapping ({cls.__name__}); got {value!r}")
    known = {f.name: f for f in fields(cls)}
    for key in value:
        if key not in known:
            raise SpecError(f"{where}.{key}: unknown key; expected one of {', '.join(known)}")
    args = {}
    for name, f in known.items():
        if name in value:
            args[name] = _build(_hints(cls)[name], value[name], f"{where}.{name}")
        elif f.default is MISSING and f.default_factory is MISSING:
            raise SpecError(f"{where}.{name}: missing key")
    return cls(**args)


def _scalar(tp: type, value: Any, where: str) -> Any:
    ok = {
        float: isinstance(value, (int, float)) and not isinstance(value, bool),
        int: isinstance(value, int) and not isinstance(value, bool),
    }.get(tp, isinstance(value, tp))
    if not ok:
        raise SpecError(f"{where}: expected {tp.__name__}; got {value!r}")
    return value


def _build(tp: Any, value: Any, where: str) -> Any:
    origin, args = get_origin(tp), get_args(tp)
    if is_dataclass(tp):
        return _dataclass(tp, value, where)
    if origin in UNIONS:
        return _union(args, value, where)
    if origin is Literal:
        if value not in args or type(value) not in {type(a) for a in args}:
            raise SpecError(f"{where}: expected one of {', '.join(map(repr, args))}; got {value!r}")
        return value
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise SpecError(f"{where}: expected a list; got {value!r}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_build(args[0], v, f"{where}[{i}]") for i, v in enumerate(value))
        if len(value) != len(args):
            raise SpecError(f"{where}: expected {len(args)} items; got {value!r}")
        return tuple(_build(a, v, f"{where}[{i}]") for i, (a, v) in enumerate(zip(args, value, strict=True)))
    if origin is dict:
        if not isinstance(value, dict):
            raise SpecError(f"{where}: expected a mapping; got {value!r}")
        return {_scalar(str, k, where): _build(args[1], v, f"{where}.{k}") for k, v in value.items()}
    return _scalar(tp, value, where)


def from_dict(cls: type[T], data: Any, where: str = "spec") -> T:
    """`data` (parsed JSON) as a `cls`; SpecError naming the key path where it does not fit."""
    return _build(cls, data, where)


def to_dict(value: Any) -> Any:
    """The JSON form of a dataclass (tuples as lists; keys at their default left out where marked)."""
    if is_dataclass(value):
        return {
            f.name: to_dict(getattr(value, f.name))
            for f in fields(value)
            if not (f.metadata.get(OMITTED) and getattr(value, f.name) == _default(f))
        }
    if isinstance(value, (tuple, list)):
        return [to_dict(v) for v in value]
    if isinstance(value, dict):
        return {k: to_dict(v) for k, v in value.items()}
    return value
