"""Episodic memory: what an agent perceived and did, in order, with simulated time.

This is the basic store. It keeps every item and shows the most recent ones in the prompt; bounds,
relevance retrieval and consolidation extend it behind the same interface (``add``, ``recent``,
``items``, ``to_state``/``from_state``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict


class MemoryItem(BaseModel):
    """One remembered event: a stimulus perceived or an action taken."""

    model_config = ConfigDict(frozen=True)

    id: int
    kind: Literal["stimulus", "action"]
    type: str
    content: str
    source: str | None = None  # who caused a stimulus
    target: str | None = None  # whom an action was for
    sim_time: datetime | None = None
    step: int | None = None

    def describe(self, agent_name: str, max_chars: int | None = None) -> str:
        """One line for prompts and displays, e.g. ``[14:05] Oscar said to you: "Hi"``."""
        content = self.content
        if max_chars is not None and len(content) > max_chars:
            content = content[: max(0, max_chars - 1)] + "…"
        when = f"[{self.sim_time:%Y-%m-%d %H:%M}] " if self.sim_time else ""
        if self.kind == "stimulus":
            who = self.source or "someone"
            phrases = {
                "CONVERSATION": f'{who} said: "{content}"',
                "VISUAL": f"you saw: {content}",
                "THOUGHT": f"a thought came to you: {content}",
                "INTERNAL_GOAL_FORMULATION": f"you set yourself a goal: {content}",
                "SOCIAL": f"social: {content}",
                "LOCATION": f"you are now at: {content}",
            }
            return when + phrases.get(self.type, f"{self.type.lower()}: {content}")
        to = f" to {self.target}" if self.target else ""
        phrases = {
            "TALK": f'you ({agent_name}) said{to}: "{content}"',
            "THINK": f"you ({agent_name}) thought: {content}",
            "REACH_OUT": f"you ({agent_name}) reached out{to}",
            "DONE": f"you ({agent_name}) finished your turn",
        }
        return when + phrases.get(self.type, f"you ({agent_name}) did {self.type}{to}: {content}")


class EpisodicMemory:
    """An ordered, thread-safe list of :class:`MemoryItem`.

    Example:
        >>> mem = EpisodicMemory()
        >>> _ = mem.add(kind="stimulus", type="CONVERSATION", content="Hello", source="Ana")
        >>> len(mem), mem.recent(1)[0].content
        (1, 'Hello')
    """

    def __init__(self) -> None:
        self._items: list[MemoryItem] = []
        self._next_id = 1
        self._lock = threading.Lock()

    def add(self, *, kind: Literal["stimulus", "action"], type: str, content: str, source: str | None = None,
            target: str | None = None, sim_time: datetime | None = None, step: int | None = None) -> MemoryItem:
        with self._lock:
            item = MemoryItem(id=self._next_id, kind=kind, type=type, content=content, source=source,
                              target=target, sim_time=sim_time, step=step)
            self._next_id += 1
            self._items.append(item)
            return item

    def recent(self, n: int) -> list[MemoryItem]:
        """The last ``n`` items, oldest first."""
        with self._lock:
            return self._items[-n:] if n > 0 else []

    def items(self) -> list[MemoryItem]:
        with self._lock:
            return list(self._items)

    def after(self, item_id: int) -> list[MemoryItem]:
        """Items newer than ``item_id``."""
        with self._lock:
            # ids are increasing, so scan from the end until we pass item_id
            out: list[MemoryItem] = []
            for item in reversed(self._items):
                if item.id <= item_id:
                    break
                out.append(item)
            return out[::-1]

    @property
    def last_id(self) -> int:
        return self._next_id - 1

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[MemoryItem]:
        return iter(self.items())

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def to_state(self) -> dict[str, Any]:
        """JSON-ready state; :meth:`from_state` restores it exactly."""
        with self._lock:
            return {"next_id": self._next_id, "items": [i.model_dump(mode="json") for i in self._items]}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> EpisodicMemory:
        mem = cls()
        mem._items = [MemoryItem.model_validate(i) for i in state.get("items", [])]
        mem._next_id = int(state.get("next_id", len(mem._items) + 1))
        return mem


__all__ = ["EpisodicMemory", "MemoryItem"]
