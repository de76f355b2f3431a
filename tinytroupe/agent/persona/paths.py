"""Dot paths into persona data (``"occupation.title"``, ``"relationships[0].name"``) and deep merging.

Reading walks the models and their unknown keys; writing works on a plain-data copy, which the
persona then validates as a whole, so a path can never leave an invalid persona behind.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from tinytroupe.agent.persona.messages import describe
from tinytroupe.errors import InvalidArgument, ScenarioError

# Fields a file may give as a plain string standing for one of their sub-fields.
_STRING_SHORTHANDS = {"occupation": "title"}

_INDEX = re.compile(r"\[(\d+)\]")


def _split_path(path: str) -> list[str]:
    keys = _INDEX.sub(r".\1", path).split(".")
    if not path or any(k == "" for k in keys):
        raise InvalidArgument(f"bad persona path {path!r}: use dot-separated keys like 'occupation.title'")
    return keys


def _is_index(key: str) -> bool:
    return key.isdigit()


def _child(node: Any, key: str, path: str, depth: int) -> Any:
    if isinstance(node, dict):
        return node.get(key)
    if _is_index(key) and int(key) < len(node):
        return node[int(key)]
    raise ScenarioError(
        f"Persona.set({path!r}): step {depth + 1} ({key!r}) is not a valid index into a list of "
        f"{len(node)} items",
        field=path,
    )


def _assign(node: Any, key: str, value: Any, path: str, depth: int) -> None:
    if isinstance(node, dict):
        node[key] = value
    elif _is_index(key) and int(key) < len(node):
        node[int(key)] = value
    else:
        raise ScenarioError(
            f"Persona.set({path!r}): step {depth + 1} ({key!r}) is not a valid index into a list of "
            f"{len(node)} items; to add an item, set the whole list",
            field=path,
        )


def deep_merge(base: dict[str, Any], update: Mapping[str, Any], *, depth: int) -> dict[str, Any]:
    result = dict(base)
    for key, new in update.items():
        old = result.get(key)
        if depth == 0 and key in _STRING_SHORTHANDS and isinstance(old, str) and isinstance(new, Mapping):
            old = {_STRING_SHORTHANDS[key]: old}
        if isinstance(old, dict) and isinstance(new, Mapping):
            result[key] = deep_merge(old, new, depth=depth + 1)
        elif isinstance(old, list) and isinstance(new, list | tuple):
            extended = list(old)
            for item in new:
                if item not in extended:
                    extended.append(copy.deepcopy(item))
            result[key] = extended
        else:
            result[key] = copy.deepcopy(new)
    return result


def plain(node: Any) -> Any:
    """Model objects to plain data, and a copy of containers, so callers cannot change a persona."""
    if isinstance(node, BaseModel):
        return node.model_dump(exclude_unset=True)
    if isinstance(node, list):
        return [plain(item) for item in node]
    if isinstance(node, dict):
        return {k: plain(v) for k, v in node.items()}
    return node


def get_path(model: BaseModel, path: str, default: Any = None) -> Any:
    """The value at dot ``path`` inside ``model``, as plain data; ``default`` when absent or None."""
    node: Any = model
    for key in _split_path(path):
        if isinstance(node, BaseModel):
            if key in type(node).model_fields:
                node = getattr(node, key)
            elif node.model_extra is not None and key in node.model_extra:
                node = node.model_extra[key]
            else:
                return default
        elif isinstance(node, Mapping):
            if key not in node:
                return default
            node = node[key]
        elif isinstance(node, list) and _is_index(key) and int(key) < len(node):
            node = node[int(key)]
        else:
            return default
        if node is None:
            return default
    return plain(node)


def set_path(data: dict[str, Any], path: str, value: Any, *, source: str | None) -> None:
    """Put a copy of ``value`` at dot ``path`` in plain persona ``data`` (in place), creating objects on
    the way; ``source`` names the persona's file in errors."""
    keys = _split_path(path)
    node: Any = data
    for depth, key in enumerate(keys[:-1]):
        child = _child(node, key, path, depth)
        if child is None:
            child = {}
            _assign(node, key, child, path, depth)
        elif isinstance(child, str) and depth == 0 and key in _STRING_SHORTHANDS:
            child = {_STRING_SHORTHANDS[key]: child}
            _assign(node, key, child, path, depth)
        elif not isinstance(child, dict | list):
            at = ".".join(keys[: depth + 1])
            raise ScenarioError(
                f"Persona.set({path!r}): {at} holds {describe(child)}, not an object, so it has no "
                f"field {keys[depth + 1]!r}; set {at!r} itself instead",
                path=source, field=path,
            )
        node = child
    _assign(node, keys[-1], copy.deepcopy(value), path, len(keys) - 1)


__all__ = ["deep_merge", "get_path", "plain", "set_path"]
