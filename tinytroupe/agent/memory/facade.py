"""An agent's whole memory: bounded episodic store, semantic facts, retrieval index and the
processes between them (importance, consolidation, forgetting, reflection).

:class:`AgentMemory` is the one object an agent holds. It is built in layers, one concern per
module, each a subclass of the one below: :class:`~.core.MemoryCore` (the state and the hooks into
the episodic store), :class:`~.cold.MemoryColdTier` (evicted batches kept in the run file, read on
demand), :class:`~.indexing.MemoryIndexing` (embedding into the index),
:class:`~.cold_recall.MemoryColdRecall` (the cold items a relevance query reads, within a bound),
:class:`~.recall.MemoryRecall` (retrieval and the prompt's memory section),
:class:`~.maintenance.MemoryMaintenance` (rating, consolidation, forgetting, reflection after a
turn), and here the facade: TinyTroupe-shaped writes, stats and JSON state.

The agent calls it at two points of a turn: before building the prompt
(:meth:`AgentMemory.arecall_text`, the "What you remember" section) and after committing its
actions (:meth:`AgentMemory.aafter_turn`: rate new memories, consolidate at the thresholds, reflect
when enough happened, publish a snapshot). Everything it does is published as
:class:`~tinytroupe.events.MemoryEvent` (and warnings as :class:`~tinytroupe.events.WarningEvent`)
through the ``publish`` callback, so monitors never reach into agents.

The embedder is created on first use only (a process-wide instance per kind) and embedding runs
in a worker thread in async paths. See ``docs/memory.md`` for the design and every parameter.

Example:
    >>> from tinytroupe.embeddings import HashingEmbedder
    >>> mem = AgentMemory("Ana", embedder=HashingEmbedder(64))
    >>> _ = mem.episodic.add(kind="stimulus", type="CONVERSATION", content="The bakery opens at seven", source="Ben")
    >>> _ = mem.episodic.add(kind="stimulus", type="VISUAL", content="a red bicycle")
    >>> mem.retrieve("when does the bakery open?", top_k=1)[0].content
    'The bakery opens at seven'
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from tinytroupe.agent.memory.affect import AffectTags, Pad, emotional_bonus
from tinytroupe.agent.memory.consolidation import ConsolidationMetrics
from tinytroupe.agent.memory.episodic import EpisodicMemory, MemoryItem
from tinytroupe.agent.memory.index import IndexState, VectorIndex
from tinytroupe.agent.memory.maintenance import MemoryMaintenance
from tinytroupe.agent.memory.semantic import SemanticFact, SemanticMemory
from tinytroupe.agent.memory.state import MemoryState
from tinytroupe.agent.memory.tinytroupe_format import read_tinytroupe_memory
from tinytroupe.config import TinyTroupeCompatibilityWarning
from tinytroupe.errors import InvalidArgument


class AgentMemory(MemoryMaintenance):
    """Episodic + semantic memory of one agent, with retrieval, consolidation, forgetting and reflection.

    Args:
        owner: the agent's name (used in prompts and events).
        episodic: an existing episodic memory (default: a bounded one from ``[Memory]``).
        settings: the ``[Memory]`` section (default: the current settings').
        embedder: the embedder (default: the shared one named by ``[Memory] EMBEDDER``, made lazily).
        publish: where events go (the agent passes its own publisher).
        now: the simulated clock (None: no simulated time; recency then works by rank and nothing decays).
        vector_pool: where the retrieval index keeps its vectors (default: the process's pool of that
            dimension, :func:`~tinytroupe.agent.memory.vector_pool.shared_pool`, where a vector held by
            many agents is stored once).
        cold_store: returns where evicted items go as cold segments, asked at each eviction (the agent
            passes its run context's ``memory_store``: the run file's, or None). See :mod:`.cold` for
            :meth:`cold_segments`, :meth:`load_cold_segment`, :meth:`retrieve_all` and :meth:`search`, and
            :mod:`.cold_recall` for ``retrieve(..., include_cold=True)`` and :meth:`backfill_cold_vectors`.
    """

    # ---------------------------------------------------------------- TinyTroupe-shaped writes

    def _warn_once(self, key: str, message: str) -> None:
        with self._lock:
            if key in self._warned:
                return
            self._warned.add(key)
        # stacklevel 4: the user's line calling agent.store_in_memory(...)
        warnings.warn(f"{self.owner}: {message} (said once per agent)", TinyTroupeCompatibilityWarning, stacklevel=4)

    def store(self, value: Mapping[str, Any], *, now: datetime | None = None,
              step: int | None = None) -> list[MemoryItem]:
        """Write a memory given in TinyTroupe's shape into episodic memory; returns the items written.

        ``value`` is ``{"role": ..., "content": ..., "type": "stimulus" | "action" | "feedback",
        "simulation_timestamp": ...}``. A ``content`` of ``{"stimuli": [{type, content, source}, ...]}``
        becomes one stimulus per entry; ``{"action": {type, content, target}, "cognitive_state": ...}``
        becomes one action (the cognitive state lives in the agent, not in memory); plain text becomes one
        item of type INFORMATION, ACTION or FEEDBACK; other data is stored as its JSON text. Without a
        ``type`` the role decides (user: stimulus, assistant: action, system: feedback). A timestamp that is
        not an ISO date-time, and keys other than these four, are accepted with a warning once per agent.

        Raises:
            TypeError: ``value`` is not a mapping.
            ValueError: no ``content``, or a ``type`` other than the three above.

        Example:
            >>> mem = AgentMemory("Ana")
            >>> [item] = mem.store({"role": "assistant", "type": "action", "simulation_timestamp": "2025-01-06T09:30",
            ...                     "content": {"action": {"type": "TALK", "content": "Hello", "target": "Ben"}}})
            >>> item.kind, item.type, item.target, item.sim_time.hour
            ('action', 'TALK', 'Ben', 9)
            >>> [(i.type, i.content) for i in mem.store({"content": "The shop closes at 6", "type": "stimulus"})]
            [('INFORMATION', 'The shop closes at 6')]
        """
        parsed = read_tinytroupe_memory(value, now=now)
        for key, message in parsed.warnings:
            self._warn_once(key, message)
        return [self._episodic.add(kind=parsed.kind, sim_time=parsed.sim_time, step=step, **entry)
                for entry in parsed.entries]

    def add_document(self, name: str, passages: Sequence[str], *, sim_time: datetime | None = None,
                     importance: float = 5.0) -> list[SemanticFact]:
        """Write the passages of a document into semantic memory (kind ``document``, ``source=name``)
        and the retrieval index; returns them. Consolidation never updates or deletes them.

        Example:
            >>> from tinytroupe.embeddings import HashingEmbedder
            >>> mem = AgentMemory("Ana", embedder=HashingEmbedder(64))
            >>> _ = mem.add_document("menu.md", ["Soup of the day: leek.", "Dessert: apple pie."])
            >>> mem.retrieve("what is the dessert?", top_k=1)[0].text
            '[S2] (from menu.md) Dessert: apple pie.'
        """
        facts = [self.semantic.add(p, kind="document", importance=importance, sim_time=sim_time, source=name)
                 for p in passages if p.strip()]
        self._embed_into_index([], facts)
        self._bound_semantic()
        return facts

    def use_semantic(self, semantic: SemanticMemory) -> None:
        """Make ``semantic`` this memory's semantic store (TinyTroupe's ``semantic_memory=``): its active
        facts are embedded into the retrieval index, replacing the facts there.

        Example:
            >>> from tinytroupe.embeddings import HashingEmbedder
            >>> known = SemanticMemory()
            >>> _ = known.add("The bakery opens at seven")
            >>> mem = AgentMemory("Ana", embedder=HashingEmbedder(64))
            >>> mem.use_semantic(known)
            >>> mem.retrieve("bakery", top_k=1)[0].content
            'The bakery opens at seven'
        """
        with self._lock:
            if self.index is not None:
                for key in [k for k in self.index.keys_live() if k.startswith("S")]:
                    self.index.remove(key)
            self.semantic = semantic
        self._embed_into_index([], semantic.active())

    def forget_faded(self) -> int:
        """Apply forgetting now (the retention floor, then the semantic memory bound); returns how many
        facts were forgotten. Consolidation does this too.

        Example:
            >>> AgentMemory("Ana").forget_faded()
            0
        """
        before = self.forgotten
        self._forget_faded()
        self._bound_semantic()
        return self.forgotten - before

    # ---------------------------------------------------------------- stats and state

    def tag_affect(self, pads: Mapping[int, Pad], importance_boost: float = 0.0) -> None:
        """Record the PAD state each episodic memory (by id) was encoded in; see :mod:`.affect`.

        Each earns ``importance_boost · intensity`` of importance: added when it is rated, or at once
        if it was rated already. Memories no longer held are skipped.

        Example:
            >>> mem = AgentMemory("Ana")
            >>> item = mem.episodic.add(kind="stimulus", type="CONVERSATION", content="You idiot!")
            >>> mem.tag_affect({item.id: (-0.5, 0.5, 0.0)}, importance_boost=3.0)
            >>> mem.affect_of(item.id)
            (-0.5, 0.5, 0.0)
        """
        with self._lock:
            for item_id, pad in pads.items():
                if self._episodic.get(item_id) is None:
                    continue
                bonus = emotional_bonus(pad, importance_boost)
                self.affect.tag(item_id, pad, bonus)
                rated = self._episodic.importance_of(item_id)
                if rated is not None and bonus:
                    self._episodic.set_importance({item_id: min(10.0, rated + bonus)})
                    if self.index is not None:
                        self.index.set_importance(f"E{item_id}", min(10.0, rated + bonus))
            if len(self.affect) > len(self._episodic) + 64:  # ids cleared from the store by hand
                self.affect.retain(lambda i: self._episodic.get(i) is not None)

    def affect_of(self, item_id: int) -> Pad | None:
        """The PAD state an episodic memory was encoded in, or None (not tagged, or gone)."""
        return self.affect.get(item_id)

    def get_stats(self) -> dict[str, Any]:
        """Sizes, usage, age of the oldest item, consolidations, evictions and the approaching-limit flag."""
        ep = self._episodic
        items = ep.recent(len(ep))
        oldest = items[0] if items else None
        now = self.now()
        age_h = (now - oldest.sim_time).total_seconds() / 3600.0 if (now and oldest and oldest.sim_time) else None
        return {
            "episodic_size": len(ep),
            "max_episodic_size": ep.max_size,
            "usage_ratio": ep.usage_ratio,
            "approaching_limit": ep.usage_ratio >= ep.warning_threshold,
            "cleanup_strategy": ep.cleanup_strategy,
            "oldest_item_id": oldest.id if oldest else None,
            "oldest_item_age_hours": age_h,
            "semantic_size": self.semantic.active_count,
            "semantic_total": len(self.semantic),
            "index_size": len(self.index) if self.index is not None else 0,
            "evictions": ep.evictions,
            "consolidations": self.metrics.count,
            "unconsolidated": self.unconsolidated(),
            "awaiting_consolidation": len(self._awaiting),
            "reflections": self.reflections,
            "importance_since_reflection": self.importance_since_reflection,
            "forgotten": self.forgotten,
        }

    def state_model(self, include_vectors: bool = True, include_episodic: bool = True) -> MemoryState:
        """This memory as a :class:`MemoryState`; :meth:`apply_state` restores it exactly (vectors
        included, or re-embedded from the texts when left out)."""
        with self._lock:
            return MemoryState.model_construct(
                episodic=self._episodic.state_model() if include_episodic else None,
                semantic=self.semantic.state_model(),
                index=self.index.state_model(include_vectors) if self.index is not None else None,
                indexed_upto=self._indexed_upto, rated_upto=self._rated_upto,
                consolidated_upto=self._consolidated_upto, awaiting=list(self._awaiting),
                importance_since_reflection=self.importance_since_reflection, reflections=self.reflections,
                insights_discarded=self.insights_discarded, forgotten=self.forgotten,
                metrics=_copy_metrics(self.metrics), importance_cache=list(self.scorer._cache.items()),
                affect=self.affect.rows())

    def apply_state(self, state: MemoryState) -> None:
        """Put this memory in ``state`` (in place). An episodic store in the state replaces this one's;
        an index saved without vectors is re-embedded.

        Raises:
            InvalidArgument: the index has no vectors and a key of it is no longer in the memory.
        """
        with self._lock:
            if state.episodic is not None:
                self.episodic = EpisodicMemory.from_model(state.episodic)
            self.semantic = SemanticMemory.from_model(state.semantic)
            self.index = None if state.index is None else self._index_from(state.index)
            self._indexed_upto = state.indexed_upto
            self._rated_upto = state.rated_upto
            self._consolidated_upto = state.consolidated_upto
            self._awaiting = list(state.awaiting)
            self.importance_since_reflection = state.importance_since_reflection
            self.reflections = state.reflections
            self.insights_discarded = state.insights_discarded
            self.forgotten = state.forgotten
            self.metrics = _copy_metrics(state.metrics)
            self.scorer._cache.clear()
            self.scorer._cache.update(state.importance_cache)
            self.affect = AffectTags.from_rows(state.affect)

    def _index_from(self, state: IndexState) -> VectorIndex:
        if state.vectors is not None:
            return VectorIndex.from_model(state, pool=self._pool(state.dim))
        texts = []  # deterministic rebuild: the same texts through the same embedder
        for key in state.keys:
            resolved = self._resolve(key)
            if resolved is None:
                raise InvalidArgument(f"cannot rebuild the memory index of {self.owner}: {key} is not in the "
                                      "saved memory; save with include_vectors=True")
            texts.append(resolved[1])
        return VectorIndex.from_model(state, vectors=self.embedder.embed(texts), pool=self._pool(state.dim))

    def to_state(self, include_vectors: bool = True, include_episodic: bool = True) -> dict[str, Any]:
        """JSON-ready state (:meth:`state_model` as a dict); :meth:`load_state` restores it exactly.

        Example:
            >>> mem = AgentMemory("Ana")
            >>> _ = mem.semantic.add("Ana bakes bread")
            >>> copy = AgentMemory("Ana")
            >>> copy.load_state(mem.to_state())
            >>> [f.content for f in copy.semantic.active()]
            ['Ana bakes bread']
        """
        return self.state_model(include_vectors, include_episodic).to_dict()

    def load_state(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`to_state` (or an older tinytroupe's) into this memory.

        Raises:
            InvalidArgument: ``state`` is not a memory's state (the message names the field), or its index
                cannot be rebuilt.
        """
        self.apply_state(MemoryState.parse(state))


def _copy_metrics(metrics: ConsolidationMetrics) -> ConsolidationMetrics:
    # The metrics are counted in place: a state keeps its own copy (a deep copy costs ten times more).
    return metrics.model_copy(update={"operations": dict(metrics.operations)})


__all__ = ["AgentMemory"]
