"""Maintenance after a turn: rate new memories, consolidate, forget, reflect.

The LLM side of each process lives in its own module (:mod:`.importance`, :mod:`.consolidation`,
:mod:`.reflection`) and the forgetting curve in :mod:`.forgetting`; this layer decides when each
is due, applies what they return to the stores and the index, publishes a
:class:`~tinytroupe.events.MemoryEvent` for each, and backs a failing task off instead of failing
the turn.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Sequence
from datetime import datetime
from typing import Any

import numpy as np

from tinytroupe.agent.memory.consolidation import Candidate
from tinytroupe.agent.memory.episodic import TRIVIAL_TYPES, UNRATED_IMPORTANCE
from tinytroupe.agent.memory.index import hours
from tinytroupe.agent.memory.recall import MemoryRecall
from tinytroupe.agent.memory.reflection import valid_evidence
from tinytroupe.agent.memory.semantic import SemanticFact
from tinytroupe.errors import TinyTroupeError
from tinytroupe.events import WarningEvent
from tinytroupe.llm.client import LLMClient
from tinytroupe.redaction import redact

logger = logging.getLogger(__name__)

#: the most turns a failing maintenance task (rating, consolidation, reflection) waits between tries
MAX_BACKOFF_TURNS = 32


class MemoryMaintenance(MemoryRecall):
    """Rating, consolidation, forgetting and reflection (a layer of
    :class:`~tinytroupe.agent.memory.facade.AgentMemory`)."""

    async def aafter_turn(self, client: LLMClient, *, world: str | None = None, step: int | None = None) -> None:
        """Rate new memories, consolidate and reflect when due, then publish a snapshot.

        This runs after the turn's actions happened, so a failure here does not fail the turn: it is
        published as a ``memory_maintenance_failed`` :class:`WarningEvent` and that task backs off
        (skips the next 2, 4, 8 ... turns, at most :data:`MAX_BACKOFF_TURNS`) instead of paying for
        the same failing calls on every turn. Its work is not lost: what was not rated or
        consolidated waits for the next attempt.
        """
        self._turns_done += 1
        if self._due("rate"):
            await self._maintain("rate", self.arate_new(client, world=world, step=step), world, step)
        if self._due("consolidate") and self.should_consolidate():
            await self._maintain("consolidate", self.aconsolidate(client, automatic=True, world=world, step=step),
                                 world, step)
        if self._due("reflect") and self.should_reflect():
            await self._maintain("reflect", self.areflect(client, world=world, step=step), world, step)
        self.publish(self._event("snapshot"))

    def _due(self, task: str) -> bool:
        backoff = self._backoff.get(task)
        return backoff is None or self._turns_done >= backoff[1]

    async def _maintain(self, task: str, work: Awaitable[Any], world: str | None, step: int | None) -> None:
        """Await one maintenance task; on our errors, publish a warning and back off that task."""
        try:
            await work
        except TinyTroupeError as exc:
            failures = self._backoff.get(task, (0, 0))[0] + 1
            wait = min(MAX_BACKOFF_TURNS, 2 ** failures)
            self._backoff[task] = (failures, self._turns_done + wait)
            message = (f"{self.owner}: memory {task} failed ({type(exc).__name__}: {redact(str(exc))[:300]}); "
                       f"the turn's actions stand, and {task} is tried again in {wait} turns "
                       f"({failures} failure{'s' if failures > 1 else ''} in a row)")
            logger.warning("%s", message)
            self.publish(WarningEvent(code="memory_maintenance_failed", message=message, agent=self.owner,
                                      world=world, step=step,
                                      data={"task": task, "failures": failures, "retry_in_turns": wait,
                                            "error_type": type(exc).__name__}))
        else:
            self._backoff.pop(task, None)

    async def arate_new(self, client: LLMClient, *, world: str | None = None, step: int | None = None) -> None:
        with self._lock:
            new = self._episodic.after(self._rated_upto)
        if not new:
            return
        scores = await self.scorer.arate(new, self.owner, client, world=world, step=step)
        if len(self.affect):  # strong feelings at encoding raise importance (affect.py)
            scores = {i: min(10.0, v + self.affect.bonus(i)) for i, v in scores.items()}
        with self._lock:
            # Only now: if rating failed, these items wait for the next attempt.
            self._rated_upto = max(self._rated_upto, new[-1].id)
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
        episode = [i for i in episode if i.type not in TRIVIAL_TYPES and i.content.strip()]
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
                self.index = self._new_index(self.embedder.dim)
            candidates: list[list[Candidate]] = []
            for vec in vectors:
                sims = self.index.similarities(vec)
                rows = [r for r in np.argsort(-sims)[: self.settings.reconcile_top_k * 4]
                        if self.index.alive[r] and str(self.index.key_at(int(r))).startswith("S")]
                cands = []
                for r in rows[: self.settings.reconcile_top_k]:
                    key = str(self.index.key_at(int(r)))
                    fact = self.semantic.get(int(key[1:]))
                    # A passage of a document is what the document says: news updates the agent's
                    # facts, never the text it read.
                    if fact is not None and fact.kind != "document":
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
        recent_items = [i for i in self._episodic.recent(n * 2) if i.type not in TRIVIAL_TYPES][-n:]
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


__all__ = ["MAX_BACKOFF_TURNS", "MemoryMaintenance"]
