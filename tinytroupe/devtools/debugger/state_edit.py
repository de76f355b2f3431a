"""Editing an agent's state by path, generically over its state model.

A path names a part of :class:`~tinytroupe.agent.state_models.AgentState` as a dict: dotted keys and
``[n]`` list indexes (``cognitive_state.goals``, ``memory.items[-1].content``,
``components.emotions.pleasure``). ``persona.X`` is short for the persona's own field
``persona.persona.X``. An edit changes the agent's whole state as data, validates it
(:meth:`AgentState.parse`, whose error names the bad field) and loads it back with ``apply_state``: so
whatever the state model holds (emotions included, when the agent has them) can be edited the same way.

Example:
    >>> from tinytroupe.agent import TinyPerson
    >>> ana = TinyPerson("Ana")
    >>> edit_state(ana, "persona.age", 42)
    (None, 42)
    >>> ana.get("age")
    42
    >>> parse_path("memory.items[-1].content")
    ['memory', 'items', -1, 'content']
    >>> parse_value("42"), parse_value("[1, 2]"), parse_value("hello there")
    (42, [1, 2], 'hello there')
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from typing import Any

from tinytroupe.agent.person import TinyPerson
from tinytroupe.agent.state_models import AgentState
from tinytroupe.errors import InvalidArgument, NotFound

_PART = re.compile(r"\.?([^.\[\]]+)|\[(-?\d+)\]")
#: a missing value (deleting, or a key not there before)
MISSING: Any = None


def parse_path(path: str) -> list[str | int]:
    """``a.b[2].c`` as ``['a', 'b', 2, 'c']``.

    Raises:
        InvalidArgument: the path is empty or malformed.
    """
    parts: list[str | int] = []
    pos = 0
    text = path.strip()
    while pos < len(text):
        match = _PART.match(text, pos)
        if match is None or match.end() == pos:
            raise InvalidArgument(f"state path {path!r} is malformed at character {pos}; write keys with dots "
                                  "and list indexes in brackets, e.g. memory.items[-1].content")
        parts.append(match.group(1) if match.group(1) is not None else int(match.group(2)))
        pos = match.end()
    if not parts:
        raise InvalidArgument("a state path is needed, e.g. persona.age or cognitive_state.goals")
    return parts


def expand_persona(parts: list[str | int]) -> list[str | int]:
    """``persona.X`` -> ``persona.persona.X`` (the persona spec's own fields), unless spelled out."""
    if parts and parts[0] == "persona" and len(parts) > 1 and parts[1] not in ("persona", "type"):
        return ["persona", "persona", *parts[1:]]
    return parts


def parse_value(text: str) -> Any:
    """A value typed on a command line: JSON when it reads as JSON (numbers, lists, quoted text,
    true/false/null), else the text itself."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def get_path(data: Any, parts: list[str | int], path: str = "") -> Any:
    """The part of ``data`` at ``parts``.

    Raises:
        NotFound: a key or index along the path is not there (the message says which).
    """
    node = data
    for i, part in enumerate(parts):
        node = _child(node, part, parts[:i + 1], path)
    return node


def _child(node: Any, part: str | int, upto: list[str | int], path: str) -> Any:
    if isinstance(part, int):
        if not isinstance(node, list) or not -len(node) <= part < len(node):
            size = len(node) if isinstance(node, list) else "no"
            raise NotFound(f"state path {path!r}: {format_path(upto)} is not there ({size} items)")
        return node[part]
    if not isinstance(node, dict) or part not in node:
        keys = ", ".join(sorted(node)[:30]) if isinstance(node, dict) else f"a {type(node).__name__}"
        raise NotFound(f"state path {path!r}: {format_path(upto)} is not there (keys: {keys})")
    return node[part]


def format_path(parts: list[str | int]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def changed_state(state: dict[str, Any], path: str, value: Any = MISSING, *,
                  delete: bool = False) -> tuple[dict[str, Any], Any]:
    """A copy of ``state`` with the part at ``path`` set to ``value`` (or deleted), and the value it held.

    A new key may be added to a mapping; list items must exist (``[-1]`` is the last).

    Raises:
        InvalidArgument: the path is malformed, or names a part inside a value that is neither a mapping
            nor a list.
        NotFound: a part along the path (or, to delete, the part itself) is not there.
    """
    parts = expand_persona(parse_path(path))
    data = copy.deepcopy(state)
    parent = get_path(data, parts[:-1], path)
    last = parts[-1]
    if isinstance(last, int):
        before = _child(parent, last, parts, path)
        if delete:
            del parent[last]
        else:
            parent[last] = value
        return data, before
    if not isinstance(parent, dict):
        raise InvalidArgument(f"state path {path!r}: {format_path(parts[:-1])} is a {type(parent).__name__}, "
                              "not a mapping with keys")
    if delete:
        return data, _pop(parent, last, parts, path)
    before = parent.get(last, MISSING)
    parent[last] = value
    return data, before


def _pop(parent: dict[str, Any], key: str, parts: list[str | int], path: str) -> Any:
    if key not in parent:
        raise NotFound(f"state path {path!r}: {format_path(parts)} is not there")
    return parent.pop(key)


def edit_state(agent: TinyPerson, path: str, value: Any = MISSING, *, delete: bool = False,
               resolve: Callable[[str], TinyPerson | None] | None = None) -> tuple[Any, Any]:
    """Set (or delete) the part of ``agent``'s state at ``path`` and load the changed state into the agent.

    Returns ``(before, after)`` (JSON values; None for a part that was not there, or was deleted).
    ``resolve`` turns accessible agents' names back into agents (a world's ``get_agent_by_name``).

    Raises:
        InvalidArgument: the path is malformed, or the changed state does not validate (the message names
            the field); the agent is left as it was.
        NotFound: a part along the path is not there.
    """
    state, before = changed_state(agent.to_state(), path, value, delete=delete)
    if state.get("name") != agent.name:
        raise InvalidArgument(f"state path {path!r}: an agent's name cannot be edited (it is how worlds, "
                              "traces and checkpoints know it)")
    parsed = AgentState.parse(state)  # validated before anything changes
    agent.apply_state(parsed, resolve)
    return before, None if delete else value


__all__ = ["changed_state", "edit_state", "expand_persona", "format_path", "get_path", "parse_path", "parse_value"]
