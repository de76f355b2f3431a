"""Memories written in TinyTroupe's dict shape (``agent.store_in_memory(...)``), read into our items.

TinyTroupe stores chat-style dicts: ``{"role": ..., "content": ..., "type": "stimulus" | "action" |
"feedback", "simulation_timestamp": ...}``. :func:`read_tinytroupe_memory` turns one into the
fields of episodic items, without touching any memory, so the facade only adds them.

Example:
    >>> parsed = read_tinytroupe_memory({"type": "stimulus", "content": "The shop closes at 6"}, now=None)
    >>> parsed.kind, parsed.entries, parsed.warnings
    ('stimulus', [{'type': 'INFORMATION', 'content': 'The shop closes at 6'}], [])
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from tinytroupe.errors import InvalidArgument, InvalidArgumentType

#: TinyTroupe's memory ``type`` -> the kind of item it becomes here (feedback is something perceived)
_TT_KINDS: dict[str, Literal["stimulus", "action"]] = {"stimulus": "stimulus", "action": "action",
                                                        "feedback": "stimulus"}
#: TinyTroupe's chat ``role`` -> its memory ``type``, used when a dict gives a role but no type
_TT_ROLE_TYPES = {"user": "stimulus", "assistant": "action", "system": "feedback"}
#: item type for plain-text content, which TinyTroupe's dicts do not name (it uses stimuli/action dicts)
_TT_TEXT_TYPES = {"stimulus": "INFORMATION", "action": "ACTION", "feedback": "FEEDBACK"}
_TT_KEYS = frozenset({"role", "content", "type", "simulation_timestamp"})
_TT_SHAPE = ('{"role": "user", "content": {"stimuli": [{"type": "CONVERSATION", "content": "Hi", '
             '"source": "Ben"}]}, "type": "stimulus", "simulation_timestamp": "2025-01-06T09:00:00"}')


@dataclass
class ParsedMemory:
    """What one TinyTroupe memory dict becomes: the items' kind, time and fields, and what to warn about.

    ``warnings`` are (key, message) pairs: the caller warns once per agent and key, from its own frame,
    so the warning points at the user's line.
    """

    kind: Literal["stimulus", "action"]
    sim_time: datetime | None
    entries: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)


def read_tinytroupe_memory(value: Mapping[str, Any], *, now: datetime | None) -> ParsedMemory:
    """Read a memory in TinyTroupe's shape (see :meth:`AgentMemory.store` for the shapes accepted).

    Raises:
        InvalidArgumentType: ``value`` is not a mapping (also a ``TypeError``).
        InvalidArgument: no ``content``, or a ``type`` other than stimulus, action, feedback (also a
            ``ValueError``).
    """
    if not isinstance(value, Mapping):
        raise InvalidArgumentType(f"store_in_memory takes a dict in TinyTroupe's shape, e.g. {_TT_SHAPE}; "
                                  f"got {type(value).__name__}")
    if "content" not in value:
        raise InvalidArgument(f"a memory needs 'content', e.g. {_TT_SHAPE}; got keys {sorted(map(str, value))}")
    role = value.get("role")
    mem_type = str(value.get("type") or _TT_ROLE_TYPES.get(str(role), "stimulus")).lower()
    if mem_type not in _TT_KINDS:
        raise InvalidArgument(f"memory type {value.get('type')!r} is not one of TinyTroupe's stimulus, action, "
                              "feedback")
    notes: list[tuple[str, str]] = []
    extra = sorted(str(k) for k in value if k not in _TT_KEYS)
    if extra:
        notes.append(("keys", f"memory keys {extra} have no meaning here and were ignored (TinyTroupe's "
                              f"memories have {sorted(_TT_KEYS)})"))
    sim_time = _sim_time(value.get("simulation_timestamp"), now, notes)
    kind = _TT_KINDS[mem_type]
    return ParsedMemory(kind=kind, sim_time=sim_time, entries=_entries(kind, mem_type, value["content"]),
                        warnings=notes)


def _entries(kind: str, mem_type: str, content: Any) -> list[dict[str, Any]]:
    """The items' fields: one per stimulus of a ``stimuli`` list, one for an ``action``, else one of text."""
    if kind == "stimulus" and isinstance(content, Mapping) and isinstance(content.get("stimuli"), list):
        entries = []
        for stimulus in content["stimuli"]:
            s = stimulus if isinstance(stimulus, Mapping) else {"content": stimulus}
            source = s.get("source")
            entries.append({"type": str(s.get("type") or _TT_TEXT_TYPES[mem_type]).upper(),
                            "content": _as_text(s.get("content", "")),
                            "source": str(source) if source else None})
        return entries
    if kind == "action" and isinstance(content, Mapping) and isinstance(content.get("action"), Mapping):
        action = content["action"]
        target = action.get("target")
        return [{"type": str(action.get("type") or _TT_TEXT_TYPES[mem_type]).upper(),
                 "content": _as_text(action.get("content", "")),
                 "target": (str(target).strip() or None) if target else None}]
    return [{"type": _TT_TEXT_TYPES[mem_type], "content": _as_text(content)}]


def _sim_time(value: Any, now: datetime | None, notes: list[tuple[str, str]]) -> datetime | None:
    if value is None:
        return now
    when: datetime | None = value if isinstance(value, datetime) else None
    if isinstance(value, str):
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            when = None
    if when is None:
        notes.append(("simulation_timestamp",
                      f"simulation_timestamp {value!r} is not an ISO date-time (e.g. '2025-01-06T09:00:00'); "
                      "such memories are stored with the agent's current simulated time"
                      + ("" if now is not None else " (none: it is in no world)")))
        return now
    # Simulated clocks here are naive; an aware time could not be compared with them (age cleanup, recency).
    return when.astimezone(UTC).replace(tzinfo=None) if when.tzinfo is not None else when


def _as_text(value: Any) -> str:
    """Memory content as text: strings as they are, other data as JSON (as TinyTroupe shows it)."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


__all__ = ["ParsedMemory", "read_tinytroupe_memory"]
