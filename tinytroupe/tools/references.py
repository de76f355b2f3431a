"""References between the tool calls of one turn: ``${N.field}`` in a call's arguments is a value from
the result of the turn's N-th tool call.

The syntax, inside any string value of a call's JSON arguments (or its plain-text content):

- ``${N}``: the whole result of call N (as a JSON object);
- ``${N.field}``, ``${N.field.sub}``, ``${N.items.0.title}``: a field of it (list items by index);
- calls are numbered from 1 in the order of the turn's tool actions (other actions do not count);
- a string that is exactly one reference takes the referenced value with its type (a number stays a
  number); a reference inside longer text is replaced by the value as text (JSON for objects and lists);
- ``$${`` writes a literal ``${``.

A call may reference only earlier calls (so there can be no cycle): a reference to itself, to a later
call, to a call that does not exist or to a field its result model does not have is an argument error
(:class:`~tinytroupe.errors.ToolArgumentError`) before anything runs. A call waits for the calls it
references; if one of them failed, it fails too, saying which.

Example:
    >>> refs = find_references({"to": "${1.author}", "body": "See ${2.url} (from ${1.title})"})
    >>> [(r.call, r.path) for r in refs]
    [(1, ('author',)), (2, ('url',)), (1, ('title',))]
    >>> resolve({"n": "${1.total}", "s": "total: ${1.total}"}, {1: {"total": 5}})
    {'n': 5, 's': 'total: 5'}
"""

from __future__ import annotations

import json
import re
import types
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel

from tinytroupe.errors import ToolArgumentError

_ANY_REF = re.compile(r"(?<!\$)\$\{([^}]*)\}")
_PATH = re.compile(r"^\s*(\d+)((?:\.[A-Za-z_][A-Za-z0-9_]*|\.\d+)*)\s*$")


@dataclass(frozen=True)
class Reference:
    """One ``${N.path}`` as written: the call it names (1-based) and the path into its result."""

    call: int
    path: tuple[str, ...]
    text: str


def _parse(inner: str, text: str) -> Reference:
    match = _PATH.match(inner)
    if match is None:
        raise ToolArgumentError(f"{text!r} is not a reference to an earlier call's result; write ${{N}} or "
                                "${N.field} with N the number of an earlier tool action of this turn")
    path = tuple(p for p in match.group(2).split(".") if p)
    return Reference(int(match.group(1)), path, text)


def _strings(value: Any, where: tuple[str | int, ...] = ()) -> list[tuple[tuple[str | int, ...], str]]:
    if isinstance(value, str):
        return [(where, value)]
    if isinstance(value, Mapping):
        return [pair for k, v in value.items() for pair in _strings(v, (*where, str(k)))]
    if isinstance(value, list | tuple):
        return [pair for i, v in enumerate(value) for pair in _strings(v, (*where, i))]
    return []


def find_references(value: Any) -> list[Reference]:
    """Every reference in the strings of ``value`` (a JSON-like value), in order.

    Raises:
        ToolArgumentError: a ``${...}`` that is not a well-formed reference.
    """
    return [_parse(m.group(1), m.group(0)) for _, text in _strings(value) for m in _ANY_REF.finditer(text)]


def whole_reference_locations(value: Any) -> list[tuple[str | int, ...]]:
    """Where in ``value`` a string is exactly one reference (its value there takes the referenced type)."""
    return [where for where, text in _strings(value) if _ANY_REF.fullmatch(text.strip())]


def check_references(number: int, value: Any, result_models: Mapping[int, type[BaseModel] | None]) -> list[Reference]:
    """Check the references of call ``number`` before anything runs; its references.

    ``result_models`` maps the numbers of the turn's calls to their result models (None: a call whose
    result cannot be referenced because it is invalid itself).

    Raises:
        ToolArgumentError: a malformed reference, one to this call or a later one, to a call that does
            not exist or is invalid, or to a field its result model lacks.
    """
    refs = find_references(value)
    for ref in refs:
        if ref.call >= number:
            which = "itself" if ref.call == number else f"call {ref.call}, which comes later"
            raise ToolArgumentError(f"{ref.text} refers to {which}; a call may use only the results of earlier "
                                    f"tool actions of its turn (1 to {number - 1})" if number > 1 else
                                    f"{ref.text} refers to {which}; the first tool action of a turn cannot "
                                    "use another's result")
        if ref.call < 1 or ref.call not in result_models:
            raise ToolArgumentError(f"{ref.text}: this turn has no tool action {ref.call}")
        model = result_models[ref.call]
        if model is None:
            raise ToolArgumentError(f"{ref.text}: tool action {ref.call} is itself invalid, so it has no result")
        _check_path(model, ref)
    return refs


def _check_path(model: type[BaseModel], ref: Reference) -> None:
    current: Any = model
    for i, part in enumerate(ref.path):
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(part)
            if field is None:
                shown = ".".join(ref.path[:i]) or "the result"
                raise ToolArgumentError(f"{ref.text}: {shown} of tool action {ref.call} ({current.__name__}) has no "
                                        f"field {part!r}; it has {', '.join(current.model_fields) or 'none'}")
            current = _unoptional(field.annotation)
        elif get_origin(current) in (list, tuple) and part.isdigit():
            args = get_args(current)
            current = _unoptional(args[0]) if args else Any
        else:
            return  # a dict, Any or a union: checked when the value is there


def _unoptional(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, types.UnionType):
        rest = [a for a in get_args(annotation) if a is not type(None)]
        return rest[0] if len(rest) == 1 else annotation
    return annotation


def lookup(results: Mapping[int, Any], ref: Reference) -> Any:
    """The value ``ref`` names in ``results`` (call number -> result model or JSON value).

    Raises:
        ToolArgumentError: the path does not lead to a value (a missing key, an index out of range).
    """
    if ref.call not in results:
        raise ToolArgumentError(f"{ref.text}: tool action {ref.call} has no result")
    value = results[ref.call]
    value = value.model_dump(mode="json") if isinstance(value, BaseModel) else value
    for part in ref.path:
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            raise ToolArgumentError(f"{ref.text}: the result of tool action {ref.call} has nothing at {part!r}")
    return value


def resolve(value: Any, results: Mapping[int, Any]) -> Any:
    """``value`` with every reference replaced by what it names in ``results`` (see the module docstring).

    Raises:
        ToolArgumentError: a malformed reference, or one whose path leads nowhere.
    """
    if isinstance(value, str):
        whole = _ANY_REF.fullmatch(value.strip())
        if whole is not None:
            return lookup(results, _parse(whole.group(1), whole.group(0)))
        replaced = _ANY_REF.sub(lambda m: _as_text(lookup(results, _parse(m.group(1), m.group(0)))), value)
        return replaced.replace("$${", "${")
    if isinstance(value, Mapping):
        return {k: resolve(v, results) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [resolve(v, results) for v in value]
    return value


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


__all__ = ["Reference", "check_references", "find_references", "lookup", "resolve", "whole_reference_locations"]
