"""The state every part of an agent's memory shares, and its wiring to the episodic store.

:class:`MemoryCore` holds the stores (episodic, semantic), the retrieval index, the counters that
say how far indexing, rating and consolidation got, and the processes' parameters. It hooks
itself into the episodic store, so evictions and the near-limit warning become events. The layers
above it add one concern each: indexing (:mod:`.indexing`), recall (:mod:`.recall`), maintenance
(:mod:`.maintenance`), and the public facade :class:`~tinytroupe.agent.memory.facade.AgentMemory`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from tinytroupe.agent.memory.affect import AffectTags
from tinytroupe.agent.memory.cold_keys import ColdView
from tinytroupe.agent.memory.consolidation import ConsolidationMetrics, Consolidator
from tinytroupe.agent.memory.episodic import TRIVIAL_TYPES, EpisodicMemory, MemoryItem
from tinytroupe.agent.memory.forgetting import ForgettingCurve
from tinytroupe.agent.memory.importance import ImportanceScorer
from tinytroupe.agent.memory.index import VectorIndex
from tinytroupe.agent.memory.reflection import Reflector
from tinytroupe.agent.memory.retrieval import RetrievalParams
from tinytroupe.agent.memory.semantic import SemanticMemory
from tinytroupe.agent.memory.vector_pool import VectorPool, shared_pool
from tinytroupe.config import MemorySettings, current_settings
from tinytroupe.embeddings.port import Embedder
from tinytroupe.events import Event, MemoryEvent, WarningEvent
from tinytroupe.storage.memory_segments import MemorySegmentStore

logger = logging.getLogger(__name__)


class MemoryCore:
    """The shared state of :class:`~tinytroupe.agent.memory.facade.AgentMemory` (see there for the arguments)."""

    def __init__(self, owner: str, *, episodic: EpisodicMemory | None = None, settings: MemorySettings | None = None,
                 embedder: Embedder | None = None, publish: Callable[[Event], None] | None = None,
                 now: Callable[[], datetime | None] | None = None, vector_pool: VectorPool | None = None,
                 cold_store: Callable[[], MemorySegmentStore | None] | None = None) -> None:
        self.owner = owner
        # Where evicted items go as cold segments: asked at each eviction, since an agent moves between
        # run contexts (a simulation's, with a run file, or none); the cold layer (cold.py) uses it.
        self.cold_store: Callable[[], MemorySegmentStore | None] = cold_store or (lambda: None)
        # Where the index keeps its vectors: by default the process's pool, where each distinct
        # vector is stored once for every agent that holds it (vector_pool.py).
        self.vector_pool = vector_pool
        self.settings = settings if settings is not None else current_settings().memory
        s = self.settings
        self.semantic = SemanticMemory()
        self._embedder = embedder
        self.publish: Callable[[Event], None] = publish or (lambda event: None)
        self.now: Callable[[], datetime | None] = now or (lambda: None)
        self.params = RetrievalParams(top_k=s.retrieval_top_k, recency_weight=s.recency_weight,
                                      importance_weight=s.importance_weight, relevance_weight=s.relevance_weight,
                                      recency_mode=s.recency_mode, recency_decay=s.recency_decay)
        self.forgetting = ForgettingCurve(base_hours=s.forgetting_base_hours,
                                          importance_factor=s.forgetting_importance_factor,
                                          rehearsal_factor=s.forgetting_rehearsal_factor,
                                          floor=s.retention_floor, enabled=s.forgetting)
        self.scorer = ImportanceScorer(s.importance_scoring, s.importance_cache_size)
        self.consolidator = Consolidator(duplicate_similarity=s.duplicate_similarity,
                                         min_similarity=s.reconcile_min_similarity)
        self.reflector = Reflector(s.reflection_questions)
        self.metrics = ConsolidationMetrics()
        self.index: VectorIndex | None = None
        self._lock = threading.RLock()
        self._indexed_upto = 0  # episodic ids up to here were considered for the index
        self._rated_upto = 0
        self._consolidated_upto = 0
        self._awaiting: list[MemoryItem] = []  # evicted before being consolidated
        self.affect = AffectTags()  # PAD at encoding, by episodic id (emotions on only; affect.py)
        self.importance_since_reflection = 0.0
        self.reflections = 0
        # maintenance task -> (failures in a row, first turn it may run again); transient, not state
        self._backoff: dict[str, tuple[int, int]] = {}
        self._turns_done = 0
        self.insights_discarded = 0
        self.forgotten = 0
        self._warned: set[str] = set()  # compatibility warnings already given (once per agent each)
        self._episodic = EpisodicMemory()  # replaced just below; keeps the attribute typed
        self.episodic = episodic if episodic is not None else EpisodicMemory()

    # ---------------------------------------------------------------- wiring

    def _pool(self, dim: int) -> VectorPool:
        pool = self.vector_pool
        return pool if pool is not None and pool.dim == dim else shared_pool(dim)

    def _new_index(self, dim: int) -> VectorIndex:
        return VectorIndex(dim, pool=self._pool(dim))

    @property
    def episodic(self) -> EpisodicMemory:
        return self._episodic

    @episodic.setter
    def episodic(self, value: EpisodicMemory) -> None:
        with self._lock:
            self._episodic.on_evict = None
            self._episodic.on_warning = None
            self._episodic = value
            value.on_evict = self._on_evict
            value.on_warning = self._on_warning
            store = self.cold_store() if value.cold_keys else None
            if store is not None:  # a restored memory's keys: no other memory of the run claims them
                for _, key in value.cold_keys or ():
                    store.hold(key or self.owner)
            # A replaced store starts over: its items are indexed, rated and consolidated afresh.
            if self.index is not None:
                for key in [k for k in self.index.keys_live() if k.startswith("E")]:
                    self.index.remove(key)
            self._indexed_upto = self._rated_upto = self._consolidated_upto = 0
            self._awaiting = []
            self.affect.clear()

    def _cold_view(self, store: MemorySegmentStore) -> ColdView:
        """This memory's own cold segments in ``store``, across the keys it wrote them under (cold_keys.py)."""
        ep = self._episodic
        return ColdView(store, ep.cold_keys or [], self.owner, upto=ep.cleanups)

    def _event(self, operation: str, **fields: Any) -> MemoryEvent:
        ep = self._episodic
        return MemoryEvent(operation=operation, agent=self.owner, episodic_size=len(ep),
                           semantic_size=self.semantic.active_count, max_size=ep.max_size,
                           usage_ratio=ep.usage_ratio, consolidations=self.metrics.count,
                           evictions=ep.evictions, **fields)

    def _on_evict(self, items: list[MemoryItem]) -> None:
        with self._lock:
            if self.index is not None:
                for item in items:
                    self.index.remove(f"E{item.id}")
            self.affect.remove(i.id for i in items)
            pending = [i for i in items if i.id > self._consolidated_upto and i.type not in TRIVIAL_TYPES]
            if self.settings.consolidate_before_eviction and pending:
                room = self._episodic.max_size - len(self._awaiting)
                self._awaiting.extend(pending[: max(0, room)])
                if len(pending) > room:
                    self.publish(WarningEvent(
                        code="memory_eviction_unconsolidated", agent=self.owner,
                        message=f"{self.owner}: {len(pending) - room} memories left episodic memory before they "
                                "could be consolidated (no agent turn ran to consolidate them); they are kept "
                                "only in the trace. Let the agent act, or raise [Memory] MAX_EPISODIC_MEMORY_SIZE.",
                        data={"count": len(pending) - room}))
        # The records of what left: the trace keeps them, so nothing disappears without a trace.
        self.publish(self._event("evict", items_in=len(items),
                                 items=[i.model_dump(mode="json") for i in items]))

    def _on_warning(self, ratio: float) -> None:
        ep = self._episodic
        message = (f"{self.owner}'s episodic memory is {ratio:.0%} full ({len(ep)} of {ep.max_size} items); "
                   f"from {ep.max_size} on, items leave by the {ep.cleanup_strategy} strategy"
                   + (" after consolidation" if self.settings.consolidate_before_eviction else ""))
        logger.warning(message)
        self.publish(WarningEvent(code="memory_near_limit", message=message, agent=self.owner,
                                  data={"usage_ratio": ratio, "size": len(ep), "max_size": ep.max_size}))
        self.publish(self._event("warning"))


__all__ = ["MemoryCore"]
