"""Keeping the retrieval index in step with the stores: what to embed, and the shared embedders.

New episodic items are embedded in batches (on the next retrieval, or in a worker thread before
reflection), cut to :data:`EMBED_CHARS`; semantic facts are embedded as they are written. The
embedder is created on first use only, one process-wide instance per kind.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from tinytroupe.agent.memory.cold import MemoryColdTier
from tinytroupe.agent.memory.episodic import TRIVIAL_TYPES, UNRATED_IMPORTANCE, MemoryItem
from tinytroupe.agent.memory.index import EMBED_CHARS, hours
from tinytroupe.agent.memory.semantic import SemanticFact
from tinytroupe.config import current_settings
from tinytroupe.embeddings.port import Embedder
from tinytroupe.errors import InvalidArgument
from tinytroupe.lazy import Lazy


def _use_embedder() -> Embedder:
    from tinytroupe.embeddings.usem import USEEmbedder

    return USEEmbedder(threads=current_settings().memory.embedder_threads)


def _hash_embedder() -> Embedder:
    from tinytroupe.embeddings.hashing import HashingEmbedder

    return HashingEmbedder()


def _openai_embedder() -> Embedder:
    from tinytroupe.embeddings.openai import OpenAIEmbedder

    return OpenAIEmbedder(current_settings().openai.embedding_model)


# Imported inside the factories: only the kind in use loads its model or SDK.
_shared: dict[str, Lazy[Embedder]] = {"use": Lazy(_use_embedder), "hash": Lazy(_hash_embedder),
                                      "openai": Lazy(_openai_embedder)}


def shared_embedder(kind: str) -> Embedder:
    """One process-wide embedder per kind (``use``, ``hash``, ``openai``), created on first use.

    Raises:
        InvalidArgument: ``kind`` is not one of those.
        ConfigError: the kind's model or key is missing (e.g. no OPENAI_API_KEY for ``openai``).
    """
    if kind not in _shared:
        raise InvalidArgument(f"unknown embedder kind {kind!r}; [Memory] EMBEDDER is use, hash or openai")
    return _shared[kind].get()


class MemoryIndexing(MemoryColdTier):
    """Embedding memories into the index (a layer of :class:`~tinytroupe.agent.memory.facade.AgentMemory`)."""

    @property
    def embedder(self) -> Embedder:
        """The embedder, created on first use."""
        if self._embedder is None:
            self._embedder = shared_embedder(self.settings.embedder)
        return self._embedder

    def _to_index(self) -> list[MemoryItem]:
        with self._lock:
            new = self._episodic.after(self._indexed_upto)
            if new:
                self._indexed_upto = new[-1].id
            return [i for i in new if i.type not in TRIVIAL_TYPES and i.content.strip()]

    def _embed_into_index(self, items: Sequence[MemoryItem], facts: Sequence[SemanticFact] = ()) -> None:
        # A sentence encoder gains little past a few sentences, and cost grows with length: cut long texts.
        texts = [i.content[:EMBED_CHARS] for i in items] + [f.content[:EMBED_CHARS] for f in facts]
        if not texts:
            return
        vectors = self.embedder.embed(texts)
        with self._lock:
            if self.index is None:
                self.index = self._new_index(self.embedder.dim)
            for item, vec in zip(items, vectors[: len(items)], strict=True):
                if self._episodic.get(item.id) is None:  # evicted while embedding
                    continue
                imp = self._episodic.importance_of(item.id)
                self.index.add(f"E{item.id}", vec, importance=imp if imp is not None else UNRATED_IMPORTANCE,
                               created_h=hours(item.sim_time))
            for fact, vec in zip(facts, vectors[len(items):], strict=True):
                self.index.add(fact.ref, vec, importance=fact.importance, created_h=hours(fact.sim_time))

    def sync_index(self) -> None:
        """Embed the memories not yet in the index (one batch)."""
        self._embed_into_index(self._to_index())

    async def async_index(self) -> None:
        """:meth:`sync_index` in a worker thread."""
        items = self._to_index()
        if items:
            await asyncio.to_thread(self._embed_into_index, items)


__all__ = ["EMBED_CHARS", "MemoryIndexing", "shared_embedder"]
