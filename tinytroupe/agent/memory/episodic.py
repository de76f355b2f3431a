"""Episodic memory: what an agent perceived and did, in order, with simulated time.

The store is bounded: past ``max_size`` items a batch leaves by a cleanup strategy, after being
handed to the agent for consolidation (see ``docs/memory.md``). Relevance retrieval, semantic
memory, forgetting and reflection live in their own modules beside this one and are tied together
by :class:`tinytroupe.agent.memory.facade.AgentMemory`.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from operator import attrgetter
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from tinytroupe.agent.memory.clock import clock_text
from tinytroupe.agent.memory.sharing import compact_item
from tinytroupe.config import current_settings
from tinytroupe.errors import InvalidArgument
from tinytroupe.state import StateModel
from tinytroupe.vision.attachment import ImageAttachment

#: how :meth:`MemoryItem.describe` introduces a stimulus (other than speech), before its content
_STIMULUS_PREFIXES: dict[str, str] = {
    "VISUAL": "you saw:", "THOUGHT": "a thought came to you:", "INTERNAL_GOAL_FORMULATION": "you set yourself a goal:",
    "SOCIAL": "social:", "LOCATION": "you are now at:", "DOCUMENT": "you read:", "TOOL_RESULT": "a tool answered you:"}


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
    #: an image the item is about (``see(image=...)``); left out of dumps when None, as states always were
    attachment: ImageAttachment | None = Field(None, exclude_if=lambda value: value is None)

    def describe(self, agent_name: str, max_chars: int | None = None) -> str:
        """One line for prompts and displays, e.g. ``[14:05] Oscar said to you: "Hi"``."""
        content = self.content
        if max_chars is not None and len(content) > max_chars:
            content = content[: max(0, max_chars - 1)] + "…"
        when = f"[{clock_text(self.sim_time)}] " if self.sim_time else ""
        # Prompts describe a dozen items per agent turn: build only the phrase that is needed.
        kind = self.type
        if self.kind == "stimulus":
            if kind == "CONVERSATION":
                return f'{when}{self.source or "someone"} said: "{content}"'
            prefix = _STIMULUS_PREFIXES.get(kind)
            return f"{when}{prefix if prefix is not None else kind.lower() + ':'} {content}"
        to = f" to {self.target}" if self.target else ""
        if kind == "TALK":
            return f'{when}you ({agent_name}) said{to}: "{content}"'
        if kind == "THINK":
            return f"{when}you ({agent_name}) thought: {content}"
        if kind == "REACH_OUT":
            return f"{when}you ({agent_name}) reached out{to}"
        if kind == "DONE":
            return f"{when}you ({agent_name}) finished your turn"
        return f"{when}you ({agent_name}) did {kind}{to}: {content}"

    def to_message(self, max_chars: int | None = None) -> dict[str, Any]:
        """The item in TinyTroupe's memory shape (what ``store_in_memory`` accepts back).

        Example:
            >>> msg = MemoryItem(id=1, kind="stimulus", type="CONVERSATION", content="Hi", source="Ben").to_message()
            >>> msg["role"], msg["type"], msg["content"]
            ('user', 'stimulus', {'stimuli': [{'type': 'CONVERSATION', 'content': 'Hi', 'source': 'Ben'}]})
        """
        content = self.content
        if max_chars is not None and len(content) > max_chars:
            content = content[: max(0, max_chars - 1)] + "…"
        when = self.sim_time.isoformat() if self.sim_time else None
        if self.kind == "stimulus":
            stimulus = {"type": self.type, "content": content, "source": self.source or ""}
            return {"role": "user", "type": "stimulus", "content": {"stimuli": [stimulus]},
                    "simulation_timestamp": when}
        action = {"type": self.type, "content": content, "target": self.target or ""}
        return {"role": "assistant", "type": "action", "content": {"action": action}, "simulation_timestamp": when}


class EvictedBatch(list[MemoryItem]):
    """Items that left a memory at once, oldest first; ``number`` counts the memory's eviction batches,
    this one included (its ``cleanups`` then: checkpointed, so a replay gives a batch the same number)."""

    def __init__(self, items: Iterable[MemoryItem] = (), number: int = 0) -> None:
        super().__init__(items)
        self.number = number


CleanupStrategy = Literal["fifo", "age", "relevance"]
#: item types that carry no information worth indexing, rating or consolidating
TRIVIAL_TYPES = frozenset({"DONE"})
#: importance assumed for an item nobody has rated yet (the middle of the 1-10 scale)
UNRATED_IMPORTANCE = 5.0


class EpisodicMemory:
    """An ordered, thread-safe, bounded list of :class:`MemoryItem`.

    When an :meth:`add` takes the memory past ``max_size``, a batch of items leaves it, chosen by
    ``cleanup_strategy``:

    * ``fifo``: the first added;
    * ``age``: the oldest in simulated time (items without a time count as oldest), then the first added;
    * ``relevance``: the least valuable — lowest importance plus a bonus per retrieval — never
      among the newest ``protect_recent`` items.

    Evicted items go to :attr:`on_evict` (the agent consolidates them and publishes a trace
    record) before they are dropped. When usage (size / max_size) rises past
    ``warning_threshold``, :attr:`on_warning` is called once; it is called again only after usage
    fell below the threshold.

    Arguments left as None come from ``[Memory]`` in :func:`tinytroupe.config.current_settings`.

    Example:
        >>> mem = EpisodicMemory(max_size=3)
        >>> for word in ["a", "b", "c", "d"]:
        ...     _ = mem.add(kind="stimulus", type="CONVERSATION", content=word, source="Ana")
        >>> [i.content for i in mem.items()], mem.evictions
        (['b', 'c', 'd'], 1)
    """

    def __init__(self, max_size: int | None = None, cleanup_strategy: CleanupStrategy | None = None,
                 warning_threshold: float | None = None, *, eviction_batch: int | None = None,
                 protect_recent: int | None = None) -> None:
        cfg = current_settings().memory
        self.max_size = int(max_size if max_size is not None else cfg.max_episodic_memory_size)
        if self.max_size < 1:
            raise InvalidArgument(f"EpisodicMemory max_size must be at least 1, got {self.max_size}")
        self.cleanup_strategy: CleanupStrategy = cleanup_strategy or cfg.memory_cleanup_strategy
        if self.cleanup_strategy not in ("fifo", "age", "relevance"):
            raise InvalidArgument(f"unknown cleanup_strategy {self.cleanup_strategy!r}; use fifo, age or relevance")
        self.warning_threshold = float(warning_threshold if warning_threshold is not None
                                       else cfg.memory_warning_threshold)
        self.eviction_batch = min(self.max_size, max(1, int(eviction_batch if eviction_batch is not None
                                                            else self.max_size * cfg.eviction_batch_fraction)))
        # The recent window must survive a relevance cleanup, or the prompt would lose its thread.
        self.protect_recent = int(protect_recent if protect_recent is not None else max(1, self.max_size // 10))
        self._items: list[MemoryItem] = []
        self._next_id = 1
        self._lock = threading.Lock()
        self._importance: dict[int, float] = {}
        self._retrievals: dict[int, int] = {}
        self.evictions = 0  # items evicted so far
        self.cleanups = 0  # eviction batches so far
        #: where its cold segments lie in a run file: (first segment number, key) pairs kept by the cold
        #: tier (``cold_keys.py``); [] when it evicted without spilling, None before it evicted
        self.cold_keys: list[tuple[int, str]] | None = None
        self._warned = False
        #: called with the items about to leave (an :class:`EvictedBatch`), before they are dropped
        self.on_evict: Callable[[list[MemoryItem]], None] | None = None
        #: called with the usage ratio when it passes ``warning_threshold``
        self.on_warning: Callable[[float], None] | None = None

    def add(self, *, kind: Literal["stimulus", "action"], type: str, content: str, source: str | None = None,
            target: str | None = None, sim_time: datetime | None = None, step: int | None = None,
            attachment: ImageAttachment | None = None) -> MemoryItem:
        """Append one item (evicting a batch first when the memory is full); returns it.

        The item shares its texts and field-name set with alike items (a world holds millions): :mod:`.sharing`."""
        evicted: EvictedBatch | None = None
        warn_ratio: float | None = None
        with self._lock:
            item = compact_item(MemoryItem(id=self._next_id, kind=kind, type=type, content=content, source=source,
                                           target=target, sim_time=sim_time, step=step, **(
                                               {"attachment": attachment} if attachment is not None else {})))
            self._next_id += 1
            self._items.append(item)
            if len(self._items) > self.max_size:
                evicted = self._evict_locked(len(self._items) - self.max_size + self.eviction_batch - 1)
            ratio = len(self._items) / self.max_size
            if ratio >= self.warning_threshold and not self._warned:
                self._warned, warn_ratio = True, ratio
            elif ratio < self.warning_threshold:
                self._warned = False
        # Hooks run outside the lock: they may read this memory (stats) or publish events.
        if evicted and self.on_evict is not None:
            self.on_evict(evicted)
        if warn_ratio is not None and self.on_warning is not None:
            self.on_warning(warn_ratio)
        return item

    def _evict_locked(self, n: int) -> EvictedBatch:
        n = max(1, min(n, len(self._items) - 1))
        if self.cleanup_strategy == "fifo":
            victims = self._items[:n]
            self._items = self._items[n:]
        else:
            if self.cleanup_strategy == "age":
                ranked = sorted(self._items, key=lambda i: (i.sim_time is not None,
                                                            i.sim_time or datetime.min, i.id))
            else:
                candidates = self._items[: max(1, len(self._items) - self.protect_recent)]
                ranked = sorted(candidates, key=self._value)
            gone = {i.id for i in ranked[:n]}
            victims = [i for i in self._items if i.id in gone]
            self._items = [i for i in self._items if i.id not in gone]
        for victim in victims:
            self._importance.pop(victim.id, None)
            self._retrievals.pop(victim.id, None)
        self.evictions += len(victims)
        self.cleanups += 1
        return EvictedBatch(victims, self.cleanups)

    def _value(self, item: MemoryItem) -> tuple[float, int]:
        # Lowest first: unimportant, never retrieved, old. Each retrieval counts like two importance points.
        return self._importance.get(item.id, UNRATED_IMPORTANCE) + 2.0 * self._retrievals.get(item.id, 0), item.id

    # ---------------------------------------------------------------- importance and rehearsal

    def set_importance(self, scores: Mapping[int, float]) -> None:
        """Record importance (1-10) for items still held; other ids are ignored (already evicted)."""
        with self._lock:
            for item_id, value in scores.items():
                if self._find_locked(item_id) is not None:
                    self._importance[item_id] = float(value)

    def importance_of(self, item_id: int) -> float | None:
        """The recorded importance of an item, or None when it was not rated."""
        return self._importance.get(item_id)

    def note_retrieved(self, item_ids: Iterable[int]) -> None:
        """Count a retrieval of each item (rehearsal: retrieved items are kept longer)."""
        with self._lock:
            for item_id in item_ids:
                self._retrievals[item_id] = self._retrievals.get(item_id, 0) + 1

    def retrievals_of(self, item_id: int) -> int:
        return self._retrievals.get(item_id, 0)

    # ---------------------------------------------------------------- reading

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
            return self._items[bisect.bisect_right(self._items, item_id, key=attrgetter("id")):]  # ids increase

    def get(self, item_id: int) -> MemoryItem | None:
        """The item with ``item_id`` if it is still held."""
        with self._lock:
            return self._find_locked(item_id)

    def _find_locked(self, item_id: int) -> MemoryItem | None:
        lo = bisect.bisect_left(self._items, item_id, key=attrgetter("id"))  # ids increase; no lambda call per item
        if lo < len(self._items) and self._items[lo].id == item_id:
            return self._items[lo]
        return None

    @property
    def last_id(self) -> int:
        return self._next_id - 1

    @property
    def usage_ratio(self) -> float:
        """size / max_size."""
        return len(self._items) / self.max_size

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[MemoryItem]:
        return iter(self.items())

    def clear(self, max_prefix_to_clear: int | None = None,
              max_suffix_to_clear: int | None = None) -> list[MemoryItem]:
        """Forget every item, or only the first ``max_prefix_to_clear`` and/or the last
        ``max_suffix_to_clear`` (TinyTroupe's parameters); returns the items forgotten.

        Ids keep increasing afterwards, so nothing later is mistaken for a forgotten item.

        Example:
            >>> mem = EpisodicMemory(max_size=10)
            >>> for word in "abcde":
            ...     _ = mem.add(kind="stimulus", type="CONVERSATION", content=word)
            >>> [i.content for i in mem.clear(max_prefix_to_clear=1, max_suffix_to_clear=2)]
            ['a', 'd', 'e']
            >>> [i.content for i in mem.items()]
            ['b', 'c']
        """
        for label, n in (("max_prefix_to_clear", max_prefix_to_clear), ("max_suffix_to_clear", max_suffix_to_clear)):
            if n is not None and (not isinstance(n, int) or n < 0):
                raise InvalidArgument(f"{label} must be a non-negative integer or None, got {n!r}")
        with self._lock:
            if max_prefix_to_clear is None and max_suffix_to_clear is None:
                removed, self._items = self._items, []
            else:
                head = min(max_prefix_to_clear or 0, len(self._items))
                tail = min(max_suffix_to_clear or 0, len(self._items) - head)
                removed = self._items[:head] + self._items[len(self._items) - tail:]
                self._items = self._items[head:len(self._items) - tail]
            for item in removed:
                self._importance.pop(item.id, None)
                self._retrievals.pop(item.id, None)
            if self.usage_ratio < self.warning_threshold:
                self._warned = False
            return removed

    # ---------------------------------------------------------------- state

    def state_model(self) -> EpisodicState:
        """This memory as an :class:`EpisodicState` (the items themselves are shared: they are frozen)."""
        with self._lock:
            return EpisodicState.model_construct(
                next_id=self._next_id, items=list(self._items), max_size=self.max_size,
                cleanup_strategy=self.cleanup_strategy, warning_threshold=self.warning_threshold,
                eviction_batch=self.eviction_batch, protect_recent=self.protect_recent,
                importance=dict(self._importance), retrievals=dict(self._retrievals), evictions=self.evictions,
                cleanups=self.cleanups, warned=self._warned,
                cold_keys=None if self.cold_keys is None else list(self.cold_keys))

    @classmethod
    def from_model(cls, state: EpisodicState) -> EpisodicMemory:
        """A memory in ``state`` (a state without the bound's fields gets the settings' defaults)."""
        items = [compact_item(i) for i in state.items]
        mem = cls(max_size=state.max_size, cleanup_strategy=state.cleanup_strategy,
                  warning_threshold=state.warning_threshold, eviction_batch=state.eviction_batch,
                  protect_recent=state.protect_recent)
        if len(items) > mem.max_size:  # an old, unbounded save: keep it whole rather than drop items silently
            mem.max_size = len(items)
        mem._items = items
        mem._next_id = state.next_id if state.next_id is not None else len(items) + 1
        mem._importance = dict(state.importance)
        mem._retrievals = dict(state.retrievals)
        mem.evictions, mem.cleanups, mem._warned = state.evictions, state.cleanups, state.warned
        # a state saved before keys spilled under its owner's name (""), if it spilled at all
        mem.cold_keys = list(state.cold_keys) if state.cold_keys is not None else [(1, "")] if state.cleanups else None
        return mem

    def to_state(self) -> dict[str, Any]:
        """JSON-ready state (:meth:`state_model` as a dict); :meth:`from_state` restores it exactly."""
        return self.state_model().to_dict()

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> EpisodicMemory:
        """Rebuild a memory from :meth:`to_state` (or the state of an older tinytroupe).

        Raises:
            InvalidArgument: ``state`` is not an episodic memory's state (the message names the field).

        Example:
            >>> mem = EpisodicMemory(max_size=5)
            >>> _ = mem.add(kind="stimulus", type="VISUAL", content="a cat")
            >>> [i.content for i in EpisodicMemory.from_state(mem.to_state()).items()]
            ['a cat']
        """
        return cls.from_model(EpisodicState.parse(state))


class EpisodicState(StateModel):
    """An :class:`EpisodicMemory` as data: its items, bound and counters.

    The bound's fields are None in states written before the memory was bounded: they take the
    settings' defaults (and a bound below the number of items grows to hold them all).
    """

    omit_when: ClassVar[dict[str, Any]] = {"cold_keys": None}

    next_id: int | None = None
    items: list[MemoryItem] = Field(default_factory=list)
    max_size: int | None = None
    cleanup_strategy: CleanupStrategy | None = None
    warning_threshold: float | None = None
    eviction_batch: int | None = None
    protect_recent: int | None = None
    importance: dict[int, float] = Field(default_factory=dict)
    retrievals: dict[int, int] = Field(default_factory=dict)
    evictions: int = 0
    cleanups: int = 0
    warned: bool = False
    cold_keys: list[tuple[int, str]] | None = None


__all__ = ["TRIVIAL_TYPES", "UNRATED_IMPORTANCE", "CleanupStrategy", "EpisodicMemory", "EpisodicState", "EvictedBatch",
           "MemoryItem"]
