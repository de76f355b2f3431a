"""Under which keys of the run file a memory's cold segments lie.

Segments are keyed by ``(simulation, key, number)``. A memory does not write under its owner's name
alone: same-named agents of one run (the same persona in two worlds, two replications, two agents
loaded from one saved state) would replace and read each other's segments. Each memory claims a key
from the run's :class:`~tinytroupe.storage.memory_segments.MemorySegmentStore` at its first spill
(``Ana``, then ``Ana#2``...) and keeps, in its episodic state, the ranges it wrote: ``(first segment
number, key)`` pairs. A memory restored from a state goes on under its last key unless another live
memory of the run writes there (it was restored from the same state): then what it adds goes under a
new key, while the segments they share stay where they were. ``""`` is the owner's name (a state saved
before memories had keys).

Example:
    >>> from tinytroupe.storage.memory_segments import MemorySegmentStore
    >>> from tinytroupe.agent.memory.episodic import EpisodicMemory
    >>> store, one, two = MemorySegmentStore(":memory:", "demo"), EpisodicMemory(), EpisodicMemory()
    >>> ranges_one: ColdRanges = [(1, "Ana")]
    >>> ranges_two: ColdRanges = [(1, "Ana")]  # both restored from one saved state
    >>> spill_key(store, ranges_one, "Ana", 3, one), spill_key(store, ranges_two, "Ana", 3, two)
    ('Ana', 'Ana#2')
    >>> ranges_two, ColdView(store, ranges_two, "Ana", upto=4).spans
    ([(1, 'Ana'), (3, 'Ana#2')], [('Ana', 0, 2), ('Ana#2', 2, 4)])
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator

from tinytroupe.storage.memory_segments import MemorySegment, MemorySegmentStore, ScannedSegment, SegmentVectors

#: ``(first segment number, key)``, in number order; a key holds the segments up to the next pair's first
ColdRanges = list[tuple[int, str]]


def spill_key(store: MemorySegmentStore, ranges: ColdRanges, owner: str, number: int, writer: object) -> str:
    """The key segment ``number`` of ``owner``'s memory (``writer``) goes under; ``ranges`` grows when it
    is a new one."""
    if ranges:
        key = ranges[-1][1] or owner
        if store.take(key, writer):
            return key
    key = store.claim(owner, writer)
    ranges.append((number, key))
    return key


class ColdView:
    """A memory's segments numbered ``upto`` or less, read across the keys its ``ranges`` name (the
    store's reads, without a key)."""

    def __init__(self, store: MemorySegmentStore, ranges: ColdRanges, owner: str, *, upto: int) -> None:
        self.store = store
        #: (key, after, upto): the key holds the segments numbered above ``after`` up to ``upto``
        self.spans: list[tuple[str, int, int]] = []
        for i, (first, key) in enumerate(ranges):
            last = min(ranges[i + 1][0] - 1 if i + 1 < len(ranges) else upto, upto)
            if last >= first:
                self.spans.append((key or owner, first - 1, last))

    def key_of(self, number: int) -> str | None:
        """The key segment ``number`` lies under (None: not one of these segments)."""
        return next((key for key, after, upto in self.spans if after < number <= upto), None)

    def segments(self) -> list[MemorySegment]:
        return [s for key, after, upto in self.spans for s in self.store.segments(key, upto=upto, after=after)]

    def load(self, number: int) -> bytes | None:
        key = self.key_of(number)
        return None if key is None else self.store.load(key, number)

    def iter_payloads(self) -> Iterator[tuple[int, bytes]]:
        for key, after, upto in self.spans:
            yield from self.store.iter_payloads(key, upto=upto, after=after)

    def scan(self, embedder: str, *, limit: int = 0) -> list[ScannedSegment]:
        """Newest first, the ``limit`` newest (0: all)."""
        found: list[ScannedSegment] = []
        for key, after, upto in reversed(self.spans):
            room = limit - len(found) if limit else 0
            found += self.store.scan(key, embedder, upto=upto, after=after, limit=room)
            if limit and len(found) >= limit:
                break
        return found

    def load_many(self, numbers: Iterable[int]) -> dict[int, bytes]:
        return {n: data for key, wanted in self._by_key(numbers)
                for n, data in self.store.load_many(key, wanted).items()}

    def load_vectors(self, numbers: Iterable[int], embedder: str) -> dict[int, SegmentVectors]:
        return {n: row for key, wanted in self._by_key(numbers)
                for n, row in self.store.load_vectors(key, wanted, embedder).items()}

    def _by_key(self, numbers: Iterable[int]) -> list[tuple[str, list[int]]]:
        grouped: dict[str, list[int]] = defaultdict(list)
        for n in numbers:
            key = self.key_of(n)
            if key is not None:
                grouped[key].append(n)
        return list(grouped.items())


__all__ = ["ColdRanges", "ColdView", "spill_key"]
