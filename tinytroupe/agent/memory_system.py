"""An agent's whole memory: bounded episodic store, semantic facts, retrieval index and the
processes between them (importance, consolidation, forgetting, reflection).

:class:`AgentMemory` ties the small modules together. The agent calls it at two points of a turn:
before building the prompt (:meth:`AgentMemory.arecall_text`, the "What you remember" section) and
after committing its actions (:meth:`AgentMemory.aafter_turn`: rate new memories, consolidate at
the thresholds, reflect when enough happened, publish a snapshot). Everything it does is published
as :class:`~tinytroupe.events.MemoryEvent` (and warnings as :class:`~tinytroupe.events.WarningEvent`)
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

import asyncio
import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

import numpy as np
from pydantic import BaseModel

from tinytroupe.agent.consolidation import Candidate, ConsolidationMetrics, Consolidator
from tinytroupe.agent.forgetting import ForgettingCurve
from tinytroupe.agent.importance import ImportanceScorer
from tinytroupe.agent.memory import UNRATED_IMPORTANCE, EpisodicMemory, MemoryItem
from tinytroupe.agent.reflection import Reflector, valid_evidence
from tinytroupe.agent.retrieval import RetrievalParams, score_index
from tinytroupe.agent.semantic_memory import SemanticFact, SemanticMemory
from tinytroupe.agent.vector_index import VectorIndex
from tinytroupe.config import MemorySettings, current_settings
from tinytroupe.embeddings.port import Embedder
from tinytroupe.events import Event, MemoryEvent, WarningEvent
from tinytroupe.llm.client import LLMClient

logger = logging.getLogger(__name__)

_shared: dict[str, Embedder] = {}
_shared_lock = threading.Lock()


def shared_embedder(kind: str) -> Embedder:
    """One process-wide embedder per kind (``use``, ``hash``, ``openai``), created on first use."""
    with _shared_lock:
        if kind not in _shared:
            if kind == "use":
                from tinytroupe.embeddings.usem import USEEmbedder

                _shared[kind] = USEEmbedder()
            elif kind == "hash":
                from tinytroupe.embeddings.hashing import HashingEmbedder

                _shared[kind] = HashingEmbedder()
            elif kind == "openai":
                from tinytroupe.embeddings.openai import OpenAIEmbedder

                _shared[kind] = OpenAIEmbedder(current_settings().openai.embedding_model)
            else:
                raise ValueError(f"unknown embedder kind {kind!r}; [Memory] EMBEDDER is use, hash or openai")
        return _shared[kind]


def hours(t: datetime | None) -> float:
    """Simulated time as hours since the epoch (NaN when unknown)."""
    return t.timestamp() / 3600.0 if t is not None else math.nan


class RetrievedMemory(BaseModel):
    """One recalled memory: its id (``E12`` episodic, ``S3`` semantic), text and score components."""

    ref: str
    kind: str  # "episodic", "fact" or "insight"
    content: str
    text: str  # as shown in prompts
    score: float
    recency: float
    importance: float
    relevance: float
    similarity: float


_TRIVIAL_TYPES = frozenset({"DONE"})
#: characters of a memory (or query) that are embedded
EMBED_CHARS = 300


class AgentMemory:
    """Episodic + semantic memory of one agent, with retrieval, consolidation, forgetting and reflection.

    Args:
        owner: the agent's name (used in prompts and events).
        episodic: an existing episodic memory (default: a bounded one from ``[Memory]``).
        settings: the ``[Memory]`` section (default: the current settings').
        embedder: the embedder (default: the shared one named by ``[Memory] EMBEDDER``, made lazily).
        publish: where events go (the agent passes its own publisher).
        now: the simulated clock (None: no simulated time; recency then works by rank and nothing decays).
    """

    def __init__(self, owner: str, *, episodic: EpisodicMemory | None = None, settings: MemorySettings | None = None,
                 embedder: Embedder | None = None, publish: Callable[[Event], None] | None = None,
                 now: Callable[[], datetime | None] | None = None) -> None:
        self.owner = owner
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
        self.importance_since_reflection = 0.0
        self.reflections = 0
        self.insights_discarded = 0
        self.forgotten = 0
        self._episodic = EpisodicMemory()  # replaced just below; keeps the attribute typed
        self.episodic = episodic if episodic is not None else EpisodicMemory()

    # ---------------------------------------------------------------- wiring

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
            # A replaced store starts over: its items are indexed, rated and consolidated afresh.
            if self.index is not None:
                for key in [k for k in self.index.keys_live() if k.startswith("E")]:
                    self.index.remove(key)
            self._indexed_upto = self._rated_upto = self._consolidated_upto = 0
            self._awaiting = []

    @property
    def embedder(self) -> Embedder:
        """The embedder, created on first use."""
        if self._embedder is None:
            self._embedder = shared_embedder(self.settings.embedder)
        return self._embedder

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
            pending = [i for i in items if i.id > self._consolidated_upto and i.type not in _TRIVIAL_TYPES]
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

    # ---------------------------------------------------------------- indexing

    def _to_index(self) -> list[MemoryItem]:
        with self._lock:
            new = self._episodic.after(self._indexed_upto)
            if new:
                self._indexed_upto = new[-1].id
            return [i for i in new if i.type not in _TRIVIAL_TYPES and i.content.strip()]

    def _embed_into_index(self, items: Sequence[MemoryItem], facts: Sequence[SemanticFact] = ()) -> None:
        # A sentence encoder gains little past a few sentences, and cost grows with length: cut long texts.
        texts = [i.content[:EMBED_CHARS] for i in items] + [f.content[:EMBED_CHARS] for f in facts]
        if not texts:
            return
        vectors = self.embedder.embed(texts)
        with self._lock:
            if self.index is None:
                self.index = VectorIndex(self.embedder.dim)
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

    # ---------------------------------------------------------------- retrieval

    def _resolve(self, key: str) -> tuple[str, str, str] | None:
        """(kind, content, prompt text) of an index key, or None when it is gone."""
        if key.startswith("E"):
            item = self._episodic.get(int(key[1:]))
            if item is None:
                return None
            return "episodic", item.content, f"[{key}] " + item.describe(self.owner, 400)
        fact = self.semantic.get(int(key[1:]))
        if fact is None:
            return None
        when = f"[{fact.sim_time:%Y-%m-%d %H:%M}] " if fact.sim_time else ""
        label = "insight" if fact.kind == "insight" else "fact"
        return fact.kind, fact.content, f"[{key}] {when}({label}) {fact.content}"

    def _search(self, query_vec: np.ndarray, top_k: int | None, exclude: Iterable[str], rehearse: bool,
                now: datetime | None) -> list[RetrievedMemory]:
        with self._lock:
            if self.index is None or len(self.index) == 0:
                return []
            params = self.params if top_k is None else RetrievalParams(**{**self.params.__dict__, "top_k": top_k})
            now_h = hours(now)
            hits = score_index(self.index, query_vec, params, now_h=now_h, exclude=set(exclude),
                               forgetting=self.forgetting)
            out = []
            for hit in hits:
                resolved = self._resolve(hit.key)
                if resolved is None:
                    continue
                kind, content, text = resolved
                out.append(RetrievedMemory(ref=hit.key, kind=kind, content=content, text=text, score=hit.score,
                                           recency=hit.recency, importance=hit.importance,
                                           relevance=hit.relevance, similarity=hit.similarity))
            if rehearse and out:
                self.index.touch([m.ref for m in out], now_h)
                self._episodic.note_retrieved(int(m.ref[1:]) for m in out if m.ref.startswith("E"))
            return out

    def retrieve(self, query: str, top_k: int | None = None, *, exclude: Iterable[str] = (),
                 rehearse: bool = True) -> list[RetrievedMemory]:
        """The ``top_k`` memories best scored for ``query`` (blocking; see :meth:`aretrieve`)."""
        self.sync_index()
        if self.index is None:
            return []
        query_vec = self.embedder.embed([query[:EMBED_CHARS]])[0]
        return self._search(query_vec, top_k, exclude, rehearse, self.now())

    async def aretrieve(self, query: str, top_k: int | None = None, *, exclude: Iterable[str] = (),
                        rehearse: bool = True) -> list[RetrievedMemory]:
        """Async twin of :meth:`retrieve`: embedding runs in a worker thread."""
        return await asyncio.to_thread(self.retrieve, query, top_k, exclude=exclude, rehearse=rehearse)

    def _has_unshown(self, shown: set[int]) -> bool:
        # Retrieval (and so the embedder) is needed only when something is not on screen already.
        if self.semantic.active_count:
            return True
        ep = self._episodic
        window = len(shown) + 64
        if len(ep) > window:
            return True
        return any(i.id not in shown and i.type not in _TRIVIAL_TYPES for i in ep.recent(window))

    def recall_text(self, query: str, shown_ids: Iterable[int], budget_tokens: int, *,
                    rehearse: bool = False) -> str:
        """The prompt's memory section: retrieved memories not already shown, within ``budget_tokens``."""
        shown = set(shown_ids)
        if not self.settings.relevance_retrieval or not query.strip() or not self._has_unshown(shown):
            return ""  # everything the agent remembers is on screen already: no embedding at all
        hits = self.retrieve(query, exclude=[f"E{i}" for i in shown], rehearse=rehearse)
        return self._fit(hits, budget_tokens)

    async def arecall_text(self, query: str, shown_ids: Iterable[int], budget_tokens: int, *,
                           rehearse: bool = True) -> str:
        """Async twin of :meth:`recall_text` (used by the agent's turn; retrieval counts as rehearsal)."""
        shown = set(shown_ids)
        if not self.settings.relevance_retrieval or not query.strip() or not self._has_unshown(shown):
            return ""
        hits = await self.aretrieve(query, exclude=[f"E{i}" for i in shown], rehearse=rehearse)
        return self._fit(hits, budget_tokens)

    @staticmethod
    def _fit(hits: Sequence[RetrievedMemory], budget_tokens: int) -> str:
        budget_chars, lines, used = budget_tokens * 4, [], 0
        for hit in hits:  # best first: the least relevant are the ones cut
            if used + len(hit.text) + 1 > budget_chars:
                break
            lines.append(hit.text)
            used += len(hit.text) + 1
        return "\n".join(lines)

    # ---------------------------------------------------------------- after a turn

    async def aafter_turn(self, client: LLMClient, *, world: str | None = None, step: int | None = None) -> None:
        """Rate new memories, consolidate and reflect when due, then publish a snapshot.

        LLM failures propagate (the world records them as a failed turn).
        """
        await self.arate_new(client, world=world, step=step)
        if self.should_consolidate():
            await self.aconsolidate(client, automatic=True, world=world, step=step)
        if self.should_reflect():
            await self.areflect(client, world=world, step=step)
        self.publish(self._event("snapshot"))

    async def arate_new(self, client: LLMClient, *, world: str | None = None, step: int | None = None) -> None:
        with self._lock:
            new = self._episodic.after(self._rated_upto)
            if new:
                self._rated_upto = new[-1].id
        if not new:
            return
        scores = await self.scorer.arate(new, self.owner, client, world=world, step=step)
        with self._lock:
            self._episodic.set_importance(scores)
            if self.index is not None:
                for item_id, value in scores.items():
                    self.index.set_importance(f"E{item_id}", value)
            self.importance_since_reflection += sum(scores.values())

    def unconsolidated(self) -> int:
        """Episodic memories (held or evicted and waiting) not consolidated yet."""
        return max(0, self._episodic.last_id - self._consolidated_upto)

    def should_consolidate(self) -> bool:
        """True when automatic consolidation is due: the threshold is reached, or evicted items wait."""
        s = self.settings
        if self._awaiting and s.consolidate_before_eviction:
            return True
        return s.auto_consolidate_on_threshold and self.unconsolidated() >= s.auto_consolidation_threshold

    def should_reflect(self) -> bool:
        s = self.settings
        return s.enable_reflection and self.importance_since_reflection >= s.reflection_threshold

    async def aconsolidate(self, client: LLMClient, *, automatic: bool = False, world: str | None = None,
                           step: int | None = None) -> list[SemanticFact]:
        """Summarise the unconsolidated episode into facts and reconcile them; returns the facts written."""
        start = time.perf_counter()
        with self._lock:
            episode = [*self._awaiting, *self._episodic.after(self._consolidated_upto)]
            upto = self._episodic.last_id
        episode = [i for i in episode if i.type not in _TRIVIAL_TYPES and i.content.strip()]
        written: list[SemanticFact] = []
        ops = {"ADD": 0, "UPDATE": 0, "DELETE": 0, "NOOP": 0}
        size = self.settings.consolidation_chunk_size
        for start_i in range(0, len(episode), size):
            chunk = episode[start_i:start_i + size]
            lines = [f"[E{i.id}] " + i.describe(self.owner, 400) for i in chunk]
            facts = await self.consolidator.asummarise(lines, self.owner, client, world=world, step=step)
            if not facts:
                continue
            written += await self._reconcile(facts, [f"E{i.id}" for i in chunk], client, ops,
                                             sim_time=chunk[-1].sim_time, world=world, step=step)
        with self._lock:
            self._awaiting = []
            self._consolidated_upto = max(self._consolidated_upto, upto)
            m = self.metrics
            m.count += 1
            m.automatic += int(automatic)
            m.manual += int(not automatic)
            m.items_consolidated += len(episode)
            m.facts_written += len(written)
            for op, n in ops.items():
                m.operations[op] = m.operations.get(op, 0) + n
            m.last_duration_s = time.perf_counter() - start
            m.total_duration_s += m.last_duration_s
        self._forget_faded()
        self._bound_semantic()
        self.publish(self._event("consolidate", items_in=len(episode), items_out=len(written), automatic=automatic,
                                 duration_s=self.metrics.last_duration_s or 0.0,
                                 items=[{**f.model_dump(mode="json"), "ref": f.ref} for f in written]))
        return written

    async def _reconcile(self, facts: Sequence[Any], evidence: list[str], client: LLMClient, ops: dict[str, int], *,
                         sim_time: datetime | None, world: str | None, step: int | None) -> list[SemanticFact]:
        texts = [f.content for f in facts]
        vectors = await asyncio.to_thread(self.embedder.embed, texts)
        with self._lock:
            if self.index is None:
                self.index = VectorIndex(self.embedder.dim)
            candidates: list[list[Candidate]] = []
            for vec in vectors:
                sims = self.index.similarities(vec)
                rows = [r for r in np.argsort(-sims)[: self.settings.reconcile_top_k * 4]
                        if self.index.alive[r] and str(self.index.key_at(int(r))).startswith("S")]
                cands = []
                for r in rows[: self.settings.reconcile_top_k]:
                    key = str(self.index.key_at(int(r)))
                    fact = self.semantic.get(int(key[1:]))
                    if fact is not None:
                        cands.append(Candidate(ref=key, content=fact.content, similarity=float(sims[r])))
                candidates.append(cands)
        decisions = await self.consolidator.areconcile(texts, candidates, self.owner, client, world=world, step=step)
        written: list[SemanticFact] = []
        with self._lock:
            for fact_out, vec, decision in zip(facts, vectors, decisions, strict=True):
                ops[decision.operation] += 1
                if decision.operation == "NOOP":
                    continue
                fact = self.semantic.add(fact_out.content, importance=float(fact_out.importance),
                                         sim_time=sim_time, evidence=evidence)
                self.index.add(fact.ref, vec, importance=fact.importance, created_h=hours(sim_time))
                written.append(fact)
                if decision.operation in ("UPDATE", "DELETE"):
                    old_id = int(decision.target[1:])
                    if decision.operation == "UPDATE":
                        self.semantic.supersede(old_id, fact.id, reason=f"updated by {fact.ref}")
                    else:
                        self.semantic.delete(old_id, reason=f"contradicted by {fact.ref}")
                    self.index.remove(decision.target)
        return written

    def _forget_faded(self) -> None:
        """Flag semantic facts under the retention floor as forgotten and take them out of the index."""
        now_h = hours(self.now())
        if not self.forgetting.enabled or math.isnan(now_h) or self.index is None:
            return
        with self._lock:
            n = self.index.used
            age = now_h - self.index.access_h[:n]
            keep = self.forgetting.retained(age, self.index.importance[:n], self.index.access_count[:n])
            gone = [self.index.key_at(int(r)) for r in np.flatnonzero(~keep & self.index.alive[:n])]
            facts = [k for k in gone if k is not None and k.startswith("S")]
            for key in facts:
                self.semantic.forget(int(key[1:]))
                self.index.remove(key)
            self.forgotten += len(facts)
        if facts:
            self.publish(self._event("forget", items_in=len(facts), items=[{"ref": k} for k in facts]))

    def _bound_semantic(self) -> None:
        """Keep semantic memory bounded: forget the least important active facts over the limit, and
        drop the oldest inactive facts from RAM. Both leave with a MemoryEvent carrying their records,
        so the trace keeps them."""
        s = self.settings
        with self._lock:
            active = self.semantic.active()
            over = len(active) - s.max_semantic_memory_size
            faded: list[SemanticFact] = []
            if over > 0:
                # Least important first; among equals the oldest (lowest id).
                faded = sorted(active, key=lambda f: (f.importance, f.id))[:over]
                for fact in faded:
                    self.semantic.forget(fact.id)
                    if self.index is not None:
                        self.index.remove(fact.ref)
                self.forgotten += len(faded)
            dropped = self.semantic.prune_inactive(s.max_inactive_semantic_facts)
        if faded:
            self.publish(self._event("forget", items_in=len(faded),
                                     items=[{**f.model_dump(mode="json"), "ref": f.ref, "reason": "semantic bound"}
                                            for f in faded]))
        if dropped:
            self.publish(self._event("drop", items_in=len(dropped),
                                     items=[{**f.model_dump(mode="json"), "ref": f.ref} for f in dropped]))

    async def areflect(self, client: LLMClient, *, world: str | None = None,
                       step: int | None = None) -> list[SemanticFact]:
        """Ask salient questions, recall evidence for each, write insights citing it; returns the insights."""
        start = time.perf_counter()
        await self.async_index()
        n = self.settings.reflection_recent_items
        recent_items = [i for i in self._episodic.recent(n * 2) if i.type not in _TRIVIAL_TYPES][-n:]
        recent = [f"[E{i.id}] " + i.describe(self.owner, 300) for i in recent_items]
        recent += [f"[{f.ref}] {f.content}" for f in self.semantic.active()[-max(5, n // 5):]]
        if not recent:
            return []
        questions = await self.reflector.aquestions(recent, self.owner, client, world=world, step=step)
        evidence: list[tuple[str, list[str]]] = []
        shown: dict[str, float] = {}
        for question in questions:
            hits = await self.aretrieve(question, top_k=self.settings.reflection_evidence_k)
            evidence.append((question, [h.text for h in hits]))
            for h in hits:
                shown[h.ref] = self._importance_of_ref(h.ref)
        written: list[SemanticFact] = []
        if shown:
            insights = await self.reflector.ainsights(evidence, self.owner, client, world=world, step=step)
            now = self.now()
            for insight in insights:
                refs = valid_evidence(insight.evidence, set(shown))
                if not refs:
                    self.insights_discarded += 1
                    self.publish(WarningEvent(code="reflection_insight_without_evidence", agent=self.owner,
                                              message=f"{self.owner}: an insight cited no memory it was shown "
                                                      f"and was discarded: {insight.content[:120]!r}",
                                              data={"cited": insight.evidence}))
                    continue
                importance = min(10.0, max(shown[r] for r in refs) + 1.0)
                written.append(self.semantic.add(insight.content, kind="insight", importance=importance,
                                                 sim_time=now, evidence=refs))
            if written:
                await asyncio.to_thread(self._embed_into_index, [], written)
                self._bound_semantic()
        with self._lock:
            self.importance_since_reflection = 0.0
            self.reflections += 1
        self.publish(self._event("reflect", items_in=len(shown), items_out=len(written),
                                 duration_s=time.perf_counter() - start,
                                 items=[{**f.model_dump(mode="json"), "ref": f.ref} for f in written]))
        return written

    def _importance_of_ref(self, ref: str) -> float:
        if ref.startswith("E"):
            value = self._episodic.importance_of(int(ref[1:]))
            return value if value is not None else UNRATED_IMPORTANCE
        fact = self.semantic.get(int(ref[1:]))
        return fact.importance if fact is not None else UNRATED_IMPORTANCE

    # ---------------------------------------------------------------- stats and state

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

    def to_state(self, include_vectors: bool = True, include_episodic: bool = True) -> dict[str, Any]:
        """JSON-ready state; :meth:`load_state` restores it exactly (vectors included, or re-embedded)."""
        with self._lock:
            return {
                **({"episodic": self._episodic.to_state()} if include_episodic else {}),
                "semantic": self.semantic.to_state(),
                "index": self.index.to_state(include_vectors) if self.index is not None else None,
                "indexed_upto": self._indexed_upto,
                "rated_upto": self._rated_upto,
                "consolidated_upto": self._consolidated_upto,
                "awaiting": [i.model_dump(mode="json") for i in self._awaiting],
                "importance_since_reflection": self.importance_since_reflection,
                "reflections": self.reflections,
                "insights_discarded": self.insights_discarded,
                "forgotten": self.forgotten,
                "metrics": self.metrics.model_dump(mode="json"),
                "importance_cache": list(self.scorer._cache.items()),
            }

    def load_state(self, state: dict[str, Any]) -> None:
        """Restore :meth:`to_state` into this memory; an index saved without vectors is re-embedded."""
        with self._lock:
            if "episodic" in state:
                self.episodic = EpisodicMemory.from_state(state["episodic"])
            self.semantic = SemanticMemory.from_state(state.get("semantic", {}))
            index_state = state.get("index")
            if index_state is None:
                self.index = None
            elif "vectors" in index_state:
                self.index = VectorIndex.from_state(index_state)
            else:  # deterministic rebuild: the same texts through the same embedder
                texts = []
                for key in index_state["keys"]:
                    resolved = self._resolve(key)
                    if resolved is None:
                        raise ValueError(f"cannot rebuild the memory index of {self.owner}: {key} is not in the "
                                         "saved memory; save with include_vectors=True")
                    texts.append(resolved[1])
                self.index = VectorIndex.from_state(index_state, vectors=self.embedder.embed(texts))
            self._indexed_upto = int(state.get("indexed_upto", 0))
            self._rated_upto = int(state.get("rated_upto", 0))
            self._consolidated_upto = int(state.get("consolidated_upto", 0))
            self._awaiting = [MemoryItem.model_validate(i) for i in state.get("awaiting", [])]
            self.importance_since_reflection = float(state.get("importance_since_reflection", 0.0))
            self.reflections = int(state.get("reflections", 0))
            self.insights_discarded = int(state.get("insights_discarded", 0))
            self.forgotten = int(state.get("forgotten", 0))
            self.metrics = ConsolidationMetrics.model_validate(state.get("metrics", {}))
            self.scorer._cache.clear()
            for key, value in state.get("importance_cache", []):
                self.scorer._cache[key] = float(value)


__all__ = ["AgentMemory", "RetrievedMemory", "hours", "shared_embedder"]
