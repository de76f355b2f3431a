"""The cold tier: episodic items that left RAM, kept as segments in the run file and loaded on demand.

When the bounded episodic store evicts a batch and the agent's run context has a run file
(``RunContext.memory_store``, set by ``control.begin``), the batch is written as one cold segment
(:mod:`tinytroupe.storage.memory_segments`), besides being consolidated as before. The segment's
number is the store's eviction-batch count (``EvictedBatch.number``), which checkpoints hold: a
replay or a run resumed from a checkpoint writes the same numbers and replaces the rows, and a
segment numbered above the count (written after the checkpoint by a run that then crashed) is not
this memory's and is never shown.

Nothing cold comes back into RAM: :meth:`MemoryColdTier.load_cold_segment`,
:meth:`~MemoryColdTier.retrieve_all` and :meth:`~MemoryColdTier.search` read segments one at a time
and hand back items the caller owns; the bound and the index are untouched.

Example:
    >>> from tinytroupe.agent.memory.facade import AgentMemory
    >>> from tinytroupe.agent.memory.episodic import EpisodicMemory
    >>> from tinytroupe.storage.memory_segments import MemorySegmentStore
    >>> store = MemorySegmentStore(":memory:", "demo")
    >>> mem = AgentMemory("Ana", episodic=EpisodicMemory(max_size=3, eviction_batch=2), cold_store=lambda: store)
    >>> for word in "abcdef":
    ...     _ = mem.episodic.add(kind="stimulus", type="CONVERSATION", content=word, source="Ben")
    >>> [(s.segment, s.first_id, s.last_id) for s in mem.cold_segments()]
    [(1, 1, 2), (2, 3, 4)]
    >>> [i.content for i in mem.load_cold_segment(2)], [i.content for i in mem.episodic.items()]
    (['c', 'd'], ['e', 'f'])
    >>> "".join(i.content for i in mem.retrieve_all(include_cold=True))
    'abcdef'
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime

from pydantic import TypeAdapter

from tinytroupe.agent.memory.core import MemoryCore
from tinytroupe.agent.memory.episodic import MemoryItem
from tinytroupe.errors import NotFound
from tinytroupe.storage.memory_segments import MemorySegment, MemorySegmentStore

# One adapter for a segment's items: JSON in Rust both ways. Only the fields an item was given are
# written (exclude_unset), so a loaded item has the same fields set as the one that left.
_ITEMS: TypeAdapter[list[MemoryItem]] = TypeAdapter(list[MemoryItem])


def encode_items(items: list[MemoryItem]) -> bytes:
    """A segment's payload: the items as one JSON list (what the store compresses).

    Example:
        >>> item = MemoryItem(id=1, kind="stimulus", type="VISUAL", content="a cat")
        >>> decode_items(encode_items([item])) == [item]
        True
    """
    return _ITEMS.dump_json(items, exclude_unset=True)


def decode_items(data: bytes) -> list[MemoryItem]:
    """The items of a payload written by :func:`encode_items`."""
    return _ITEMS.validate_json(data)


def _time_range(items: Iterable[MemoryItem]) -> tuple[datetime | None, datetime | None]:
    times = [i.sim_time for i in items if i.sim_time is not None]
    if not times:
        return None, None
    try:
        return min(times), max(times)
    except TypeError:  # naive and aware times mixed (hand-made items): the order they were added in
        return times[0], times[-1]


class MemoryColdTier(MemoryCore):
    """Spilling evicted batches as cold segments, and reading them back (a layer of
    :class:`~tinytroupe.agent.memory.facade.AgentMemory`; the store comes from ``cold_store``)."""

    def _on_evict(self, items: list[MemoryItem]) -> None:
        super()._on_evict(items)  # index, consolidation and the evict event, as without a cold tier
        if self.settings.cold_segments and items:
            self._spill(items)

    def _spill(self, items: list[MemoryItem]) -> None:
        store = self.cold_store()
        if store is None or not store.accepting:
            return
        number = getattr(items, "number", None) or self._episodic.cleanups
        batch = list(items)  # the hook's list is the memory's; the items themselves are frozen
        first_time, last_time = _time_range(batch)
        # Encoding and compression run on the writer thread: the turn only queues the row.
        store.write(self.owner, number, first_id=min(i.id for i in batch), last_id=max(i.id for i in batch),
                    first_time=first_time, last_time=last_time, count=len(batch),
                    payload=lambda: encode_items(batch))

    def _visible_upto(self) -> int:
        # Segments above the eviction count belong to a run this memory's state does not include.
        return self._episodic.cleanups

    def cold_segments(self) -> list[MemorySegment]:
        """The cold segments of this memory, oldest first: number, id range, simulated-time range, count
        (none without a run file).

        Raises:
            StorageError: the run file cannot be read.
        """
        store = self.cold_store()
        return [] if store is None else store.segments(self.owner, upto=self._visible_upto())

    def load_cold_segment(self, segment: int) -> list[MemoryItem]:
        """The items of cold segment ``segment`` (a number from :meth:`cold_segments`), oldest first,
        exactly as they left RAM. They stay out of the episodic store: loading never grows it.

        Raises:
            NotFound: this memory has no such segment (or no run file).
            StorageError: the run file cannot be read, or the segment's bytes are damaged.
        """
        store = self.cold_store()
        data = None
        if store is not None and 0 < segment <= self._visible_upto():
            data = store.load(self.owner, segment)
        if data is None:
            where = "there is no run file" if store is None else f"it has {len(self.cold_segments())}"
            raise NotFound(f"{self.owner}'s memory has no cold segment {segment} ({where}); "
                           "cold_segments() lists them")
        return decode_items(data)

    def iter_cold_items(self) -> Iterator[MemoryItem]:
        """Every cold item, segment by segment (one segment decoded at a time)."""
        store = self.cold_store()
        if store is None:
            return
        for _, data in store.iter_payloads(self.owner, upto=self._visible_upto()):
            yield from decode_items(data)

    def retrieve_all(self, include_cold: bool = False) -> list[MemoryItem]:
        """Every episodic item in RAM (TinyTroupe's ``retrieve_all``), and with ``include_cold`` the cold
        ones too, ordered by id (each id once: what is in RAM wins, then the latest segment).

        Raises:
            StorageError: the run file cannot be read.
        """
        ram = self._episodic.items()
        if not include_cold:
            return ram
        held = {i.id for i in ram}
        cold = {i.id: i for i in self.iter_cold_items() if i.id not in held}
        return sorted([*cold.values(), *ram], key=lambda i: i.id)

    def search(self, text: str, *, include_cold: bool = True, limit: int | None = None) -> list[MemoryItem]:
        """Episodic items whose content, source or target contains ``text`` (case-insensitive), by id;
        cold items included unless ``include_cold=False``. Relevance ranking is :meth:`retrieve`'s job
        (over RAM and semantic memory); this finds what left RAM too, reading one segment at a time.

        Raises:
            StorageError: the run file cannot be read.
        """
        needle = text.casefold()

        def hit(item: MemoryItem) -> bool:
            return any(needle in field.casefold() for field in (item.content, item.source, item.target) if field)

        ram = self._episodic.items()
        held = {i.id for i in ram}
        cold = {i.id: i for i in (self.iter_cold_items() if include_cold else ()) if i.id not in held and hit(i)}
        found = sorted([*cold.values(), *(i for i in ram if hit(i))], key=lambda i: i.id)
        return found[:limit] if limit is not None else found


__all__ = ["MemoryColdTier", "MemorySegment", "MemorySegmentStore", "decode_items", "encode_items"]
