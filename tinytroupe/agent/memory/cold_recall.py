"""Relevance retrieval over the cold tier: the cold items a query should weigh, read within a bound.

A query with ``include_cold`` (:meth:`~tinytroupe.agent.memory.recall.MemoryRecall.retrieve`) asks
this layer for candidates besides the index's rows:

1. **scan**: the sketches of the newest ``[Memory] COLD_SCAN_SEGMENTS`` segments (64 bytes an item,
   never a payload) give each segment the best estimated similarity of its items to the query;
2. **shortlist**: the exact vectors of the :data:`SHORTLIST` × ``COLD_LOAD_SEGMENTS`` best
   estimated segments are read (a sketch's estimate is within ~0.07: this keeps a close second);
3. **rank**: the items of the ``COLD_LOAD_SEGMENTS`` segments with the best exact match are the
   candidates, scored with the index's rows by the same scorer
   (:func:`~tinytroupe.agent.memory.retrieval.score_index`: recency, importance, relevance,
   forgetting, mood) from their stored vectors and the scores they had when they left RAM;
4. **load**: only the segments holding a cold *hit* are read and decoded (at most ``top_k``);
5. **backfill**: segments with no vectors (written by an older version, by a memory that had not
   embedded yet, or whose embedding failed) are read and embedded now, newest first, at most
   ``COLD_BACKFILL_SEGMENTS`` a query, their items ranked too and their vectors stored for the next queries.

Loaded items stay the caller's: nothing re-enters the episodic store or the index, and recalling a
cold item does not rehearse it.

Example:
    >>> from tinytroupe.agent.memory.facade import AgentMemory
    >>> from tinytroupe.agent.memory.episodic import EpisodicMemory
    >>> from tinytroupe.embeddings import HashingEmbedder
    >>> from tinytroupe.storage.memory_segments import MemorySegmentStore
    >>> store = MemorySegmentStore(":memory:", "demo")
    >>> mem = AgentMemory("Ana", episodic=EpisodicMemory(max_size=4, eviction_batch=2), cold_store=lambda: store,
    ...                   embedder=HashingEmbedder(64))
    >>> _ = mem.episodic.add(kind="stimulus", type="CONVERSATION", content="The safe code is 4471", source="Ben")
    >>> for n in range(6):
    ...     _ = mem.episodic.add(kind="stimulus", type="VISUAL", content=f"a grey pigeon number {n}")
    >>> [m.content for m in mem.retrieve("what is the safe code?", top_k=3) if "safe" in m.content]
    []
    >>> [(m.content, m.cold) for m in mem.retrieve("what is the safe code?", top_k=1, include_cold=True)]
    [('The safe code is 4471', True)]
    >>> stats = mem.last_cold_recall  # COLD_VECTORS is off by default: both segments were embedded now
    >>> (stats.scanned, stats.shortlisted, stats.ranked, stats.loaded, stats.backfilled)
    (2, 0, 2, 2, 2)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from tinytroupe.agent.memory.affect import Mood, congruence
from tinytroupe.agent.memory.cold import decode_items, indexable
from tinytroupe.agent.memory.cold_vectors import (
    SKETCH_BITS,
    ColdVectors,
    embedder_tag,
    sketch,
    sketch_distance,
    sketch_words,
)
from tinytroupe.agent.memory.episodic import UNRATED_IMPORTANCE, MemoryItem
from tinytroupe.agent.memory.index import EMBED_CHARS, hours
from tinytroupe.agent.memory.indexing import MemoryIndexing
from tinytroupe.agent.memory.retrieval import ExtraRows
from tinytroupe.storage.memory_segments import MemorySegmentStore, ScannedSegment

#: segments whose exact vectors a query reads, per segment whose items it loads
SHORTLIST = 4


@dataclass(frozen=True)
class ColdRecallStats:
    """The work of one relevance query over the cold tier, in segments: scanned (sketches only),
    shortlisted (exact vectors read), ranked (their items scored), loaded (items read and decoded:
    those holding a hit, and the backfilled), backfilled (embedded now: no vectors were stored);
    and the cold items scored (candidates)."""

    scanned: int = 0
    shortlisted: int = 0
    ranked: int = 0
    loaded: int = 0
    backfilled: int = 0
    candidates: int = 0


@dataclass
class ColdCandidates:
    """Cold items to score with the index's rows (as :class:`ExtraRows`): the segment of each key, and
    the segments' items read so far (the backfilled ones; the rest when a hit needs them)."""

    rows: ExtraRows
    segment_of: dict[str, int]
    decoded: dict[int, list[MemoryItem]]


def _best_segments(scanned: list[ScannedSegment], query_vec: npt.NDArray[np.float32], k: int) -> list[int]:
    """The ``k`` segments whose best item is estimated (by sketch) most similar to the query."""
    size = SKETCH_BITS // 8
    usable = [s for s in scanned if s.sketch and s.items and len(s.sketch) == s.items * size]
    if not usable:
        return []
    # One buffer for every sketch: one comparison over all items, then the best of each segment.
    words = sketch_words(b"".join(s.sketch or b"" for s in usable))
    distance = sketch_distance(sketch(query_vec).view(np.uint64)[0], words)
    starts = np.concatenate([[0], np.cumsum([s.items or 0 for s in usable])[:-1]])
    nearest = np.minimum.reduceat(distance, starts)
    order = np.argsort(nearest, kind="stable")[:k]  # ties: the newer segment (scanned newest first)
    return [usable[i].segment for i in order]


class MemoryColdRecall(MemoryIndexing):
    """Cold candidates for relevance retrieval (a layer of :class:`~tinytroupe.agent.memory.facade.AgentMemory`)."""

    #: the work of the last relevance query that included cold items (None: none yet)
    last_cold_recall: ColdRecallStats | None = None

    def _cold_candidates(self, query_vec: npt.NDArray[np.float32], exclude: Iterable[str],
                         mood: Mood | None) -> ColdCandidates | None:
        """The cold items worth scoring for ``query_vec`` (None: no run file or nothing evicted).

        Raises:
            StorageError: the run file cannot be read.
        """
        store, upto = self.cold_store(), self._visible_upto()
        if store is None or upto <= 0:
            return None
        s, tag, dim = self.settings, embedder_tag(self.embedder), self.embedder.dim
        skip = {int(i.id) for i in self._episodic.items()}  # RAM wins; what the prompt shows is out too
        skip |= {int(k[1:]) for k in exclude if k.startswith("E") and k[1:].isdigit()}
        view = self._cold_view(store)
        scanned = view.scan(tag, limit=s.cold_scan_segments)
        shortlist = _best_segments(scanned, query_vec, SHORTLIST * s.cold_load_segments)
        rows = view.load_vectors(shortlist, tag)
        stored = {n: ColdVectors.decode(row, dim) for n, row in rows.items()}
        best = {n: _best_match(cold, query_vec, skip) for n, cold in stored.items() if cold is not None}
        order = sorted(best, key=lambda n: (-best[n], -n))[: s.cold_load_segments]
        ranked = {n: cold for n in order if (cold := stored[n]) is not None}
        lacking = [x.segment for x in scanned if x.items is None][: s.cold_backfill_segments]
        decoded = {n: decode_items(data) for n, data in view.load_many(lacking).items()}
        ranked.update((n, self._backfill(store, n, batch, tag)) for n, batch in decoded.items())
        keys: list[str] = []
        segment_of: dict[str, int] = {}
        parts: list[ColdVectors] = []
        for number, cold in ranked.items():
            take = [k for k, item_id in enumerate(cold.ids.tolist()) if item_id not in skip]
            keys += [f"E{int(cold.ids[k])}" for k in take]
            segment_of.update((f"E{int(cold.ids[k])}", number) for k in take)
            parts.append(_subset(cold, take))
        self.last_cold_recall = ColdRecallStats(scanned=len(scanned), shortlisted=len(stored), ranked=len(ranked),
                                                loaded=len(decoded), backfilled=len(decoded), candidates=len(keys))
        if not keys:
            return None
        return ColdCandidates(self._extra_rows(keys, parts, query_vec, mood), segment_of, decoded)

    def _cold_items(self, cold: ColdCandidates, keys: Iterable[str]) -> dict[str, MemoryItem]:
        """The items of some cold candidates, by key: their segments read now unless read already (a
        key whose item is not in its segment any more is left out).

        Raises:
            StorageError: the run file cannot be read, or a segment's bytes are damaged.
        """
        wanted = {cold.segment_of[k] for k in keys if k in cold.segment_of}
        missing = sorted(n for n in wanted if n not in cold.decoded)
        store = self.cold_store()
        if missing and store is not None:
            loaded = self._cold_view(store).load_many(missing)
            cold.decoded.update((n, decode_items(data)) for n, data in loaded.items())
            stats = self.last_cold_recall
            if stats is not None:
                self.last_cold_recall = replace(stats, loaded=stats.loaded + len(missing))
        found = {f"E{i.id}": i for n in wanted for i in cold.decoded.get(n, ())}
        return {k: found[k] for k in keys if k in found}

    def _extra_rows(self, keys: list[str], parts: list[ColdVectors], query_vec: npt.NDArray[np.float32],
                    mood: Mood | None) -> ExtraRows:
        vectors = np.concatenate([p.vectors for p in parts])
        ids = np.array([int(k[1:]) for k in keys], dtype=np.int64)
        # Rank recency: older than anything in the index (whose touch sequence starts at 1), in id order.
        seq = ids - int(ids.max()) - 1
        # As the index's untagged rows: neutral PAD (their tags left with them), only when mood counts at all.
        moods = congruence(mood.pad, np.zeros((len(keys), 3))) if mood is not None and mood.weight and \
            len(self.affect) else None
        return ExtraRows(keys=keys, sims=vectors @ np.asarray(query_vec, dtype=np.float32),
                         importance=np.concatenate([p.importance for p in parts]),
                         access_h=np.concatenate([p.access_h for p in parts]),
                         access_count=np.concatenate([p.access_count for p in parts]), seq=seq, congruence=moods)

    def _backfill(self, store: MemorySegmentStore, number: int, batch: list[MemoryItem], tag: str) -> ColdVectors:
        items = indexable(batch)
        vectors = self.embedder.embed([i.content[:EMBED_CHARS] for i in items])
        cold = ColdVectors.of([i.id for i in items], vectors, importance=np.full(len(items), UNRATED_IMPORTANCE),
                              access_h=[hours(i.sim_time) for i in items])
        key = self._cold_view(store).key_of(number)
        if store.accepting and key is not None:
            store.write_vectors(key, number, first_id=min(i.id for i in batch),
                                last_id=max(i.id for i in batch), make=cold.encode(tag))
        return cold

    def backfill_cold_vectors(self, limit: int | None = None) -> int:
        """Embed and store the vectors of cold segments that have none (newest first, at most ``limit``);
        returns how many. A run file from before cold relevance retrieval needs this once for every old
        segment to be ranked at once (queries otherwise do it ``COLD_BACKFILL_SEGMENTS`` at a time).

        Raises:
            StorageError: the run file cannot be read or written.
        """
        store, upto = self.cold_store(), self._visible_upto()
        if store is None or upto <= 0 or not store.accepting:
            return 0
        tag = embedder_tag(self.embedder)
        view = self._cold_view(store)
        lacking = [x.segment for x in view.scan(tag) if x.items is None]
        done = 0
        for number in lacking[:limit]:
            data = view.load_many([number]).get(number)
            if data is not None:
                self._backfill(store, number, decode_items(data), tag)
                done += 1
        return done


def _best_match(cold: ColdVectors, query_vec: npt.NDArray[np.float32], skip: set[int]) -> float:
    """The best exact similarity to the query of a segment's items (those not skipped; -2: none)."""
    keep = ~np.isin(cold.ids, np.fromiter(skip, dtype=np.int64, count=len(skip)))
    return float((cold.vectors[keep] @ query_vec).max()) if keep.any() else -2.0


def _subset(cold: ColdVectors, take: list[int]) -> ColdVectors:
    picked = np.asarray(take, dtype=np.intp)
    return ColdVectors(ids=cold.ids[picked], vectors=cold.vectors[picked], importance=cold.importance[picked],
                       access_h=cold.access_h[picked], access_count=cold.access_count[picked],
                       sketches=cold.sketches[picked])


__all__ = ["SHORTLIST", "ColdCandidates", "ColdRecallStats", "MemoryColdRecall"]
