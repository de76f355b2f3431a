"""The cold tier: episodic items that left RAM, kept as segments in the run file and loaded on demand.

When the bounded episodic store evicts a batch and the agent's run context has a run file
(``RunContext.memory_store``, set by ``control.begin``), the batch is written as one cold segment
(:mod:`tinytroupe.storage.memory_segments`), besides being consolidated as before. The segment's
number is the store's eviction-batch count (``EvictedBatch.number``), which checkpoints hold: a
replay or a run resumed from a checkpoint writes the same numbers and replaces the rows, and a
segment numbered above the count (written after the checkpoint by a run that then crashed) is not
this memory's and is never shown.

With ``[Memory] COLD_VECTORS`` on and a memory that embeds (it has its embedder), the batch's
vectors go beside the segment (:mod:`.cold_vectors`): those the retrieval index held, taken before
the index lets them go, and the rest embedded on the writer thread with the memory's embedder, so
relevance retrieval can rank cold items (:mod:`.cold_recall`) without reading every segment.

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

import logging
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt
from pydantic import TypeAdapter

from tinytroupe.agent.memory.cold_keys import spill_key
from tinytroupe.agent.memory.cold_vectors import ColdVectors, embedder_tag
from tinytroupe.agent.memory.core import MemoryCore
from tinytroupe.agent.memory.episodic import TRIVIAL_TYPES, UNRATED_IMPORTANCE, MemoryItem
from tinytroupe.agent.memory.index import EMBED_CHARS, hours
from tinytroupe.embeddings.port import Embedder
from tinytroupe.errors import NotFound
from tinytroupe.storage.memory_segments import MemorySegment, MemorySegmentStore, SegmentVectors

logger = logging.getLogger(__name__)

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


def indexable(items: Iterable[MemoryItem]) -> list[MemoryItem]:
    """The items relevance retrieval ranks (as the index holds them): not trivial, not empty."""
    return [i for i in items if i.type not in TRIVIAL_TYPES and i.content.strip()]


@dataclass(frozen=True)
class _Held:
    """What the index held of an evicted batch: its embedder, row by item id, vectors and scores."""

    embedder: Embedder
    rows: dict[int, int]
    arrays: tuple[npt.NDArray[np.float32], npt.NDArray[np.float64]] | None

    def vectors_of(self, batch: list[MemoryItem], owner: str) -> SegmentVectors | None:
        """The batch's vectors row (on the writer thread); None when embedding fails (the segment then
        gets its vectors when a query first needs them)."""
        items = indexable(batch)
        try:
            missing = [i for i in items if i.id not in self.rows]
            fresh = self.embedder.embed([i.content[:EMBED_CHARS] for i in missing]) if missing else None
        except Exception as exc:  # never the writer's failure: its other rows must still be written
            logger.warning("%s: the vectors of an evicted batch could not be made (%s); that cold segment gets "
                           "them when a relevance query first needs them", owner, exc)
            return None
        dim = self.embedder.dim
        vectors = np.zeros((len(items), dim), dtype=np.float32)
        scores = np.tile([UNRATED_IMPORTANCE, math.nan, 0.0], (len(items), 1))
        k = 0
        for n, item in enumerate(items):
            row = self.rows.get(item.id)
            if row is not None and self.arrays is not None:
                vectors[n], scores[n] = self.arrays[0][row], self.arrays[1][row]
            else:
                assert fresh is not None
                vectors[n], scores[n, 1] = fresh[k], hours(item.sim_time)
                k += 1
        cold = ColdVectors.of([i.id for i in items], vectors, importance=scores[:, 0], access_h=scores[:, 1],
                              access_count=scores[:, 2])
        return cold.encode(embedder_tag(self.embedder))


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
        store = self.cold_store() if self.settings.cold_segments and items else None
        if store is not None and not store.accepting:
            store = None
        if store is None and items and self._episodic.cold_keys is None:
            self._episodic.cold_keys = []  # evicted, nothing spilled: a later spill claims a key (not a legacy state)
        # The index's vectors of what leaves, taken before the index lets them go (below).
        held = self._held_vectors(items) if store is not None and self.settings.cold_vectors else None
        super()._on_evict(items)  # index, consolidation and the evict event, as without a cold tier
        if store is not None:
            self._spill(store, items, held)

    def _held_vectors(self, items: list[MemoryItem]) -> _Held | None:
        embedder = self._embedder
        if embedder is None:  # a memory that never embedded: its segments get vectors when first queried
            return None
        with self._lock:
            index = self.index
            rows = {} if index is None else {i.id: index.row_of(f"E{i.id}") for i in items}
            found = {item_id: row for item_id, row in rows.items() if row is not None}
            if index is None or not found:
                return _Held(embedder, {}, None)
            picked = list(found.values())
            vectors = index.vectors_at(picked)
            scores = np.stack([index.importance[picked], index.access_h[picked], index.access_count[picked]], axis=1)
        return _Held(embedder, {item_id: k for k, item_id in enumerate(found)}, (vectors, scores))

    def _spill(self, store: MemorySegmentStore, items: list[MemoryItem], held: _Held | None = None) -> None:
        number = getattr(items, "number", None) or self._episodic.cleanups
        episodic = self._episodic
        if episodic.cold_keys is None:
            episodic.cold_keys = []
        # A key of its own (claimed at the first spill, kept in its state): same-named memories never mix.
        key = spill_key(store, episodic.cold_keys, self.owner, number, episodic)
        batch = list(items)  # the hook's list is the memory's; the items themselves are frozen
        first_time, last_time = _time_range(batch)
        first_id, last_id = min(i.id for i in batch), max(i.id for i in batch)
        # Encoding and compression run on the writer thread: the turn only queues the row.
        store.write(key, number, first_id=first_id, last_id=last_id,
                    first_time=first_time, last_time=last_time, count=len(batch),
                    payload=lambda: encode_items(batch))
        if held is not None:  # the vectors too, embedding what the index did not hold on that thread
            store.write_vectors(key, number, first_id=first_id, last_id=last_id,
                                make=lambda: held.vectors_of(batch, self.owner))

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
        return [] if store is None else self._cold_view(store).segments()

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
            data = self._cold_view(store).load(segment)
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
        for _, data in self._cold_view(store).iter_payloads():
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


__all__ = ["MemoryColdTier", "MemorySegment", "MemorySegmentStore", "decode_items", "encode_items", "indexable"]
