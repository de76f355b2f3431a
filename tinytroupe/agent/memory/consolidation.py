"""Consolidation: an episode summarised into semantic facts, each reconciled with what is known.

Two LLM steps, both ``purpose="consolidation"``:

1. **Summarise** a chunk of episodic items into short facts with an importance each.
2. **Reconcile** each new fact with its most similar existing facts: ADD (new information), UPDATE
   (replaces one fact, which is kept and flagged ``superseded``), DELETE (shows one fact is no
   longer true: it is kept and flagged ``deleted``; the new fact is added) or NOOP (already known).
   Facts with no existing fact above ``min_similarity`` are ADDed, and near-duplicates (above
   ``duplicate_similarity``) are NOOPs, without asking; only the ambiguous ones go to the LLM, in
   one batched call.

Example:
    >>> decide_without_llm([0.99], duplicate_similarity=0.97, min_similarity=0.6)
    'NOOP'
    >>> decide_without_llm([], duplicate_similarity=0.97, min_similarity=0.6)
    'ADD'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field, create_model

from tinytroupe.agent.prompts import template
from tinytroupe.llm.client import LLMClient

Operation = Literal["ADD", "UPDATE", "DELETE", "NOOP"]


class FactOut(BaseModel):
    """One fact as the model writes it."""

    content: str = Field(min_length=1, max_length=600)
    importance: int = Field(ge=1, le=10)


class ConsolidatedFacts(BaseModel):
    """The summarising step's answer."""

    facts: list[FactOut] = Field(max_length=30)


class Decision(BaseModel):
    """One reconciliation decision; ``target`` is the ref (``S3``) of the fact updated or deleted."""

    operation: Operation
    target: str = ""


def decisions_model(count: int) -> type[BaseModel]:
    """A response model with exactly ``count`` decisions (the client re-asks otherwise)."""
    return create_model("ReconcileDecisions",
                        decisions=(list[Decision], Field(min_length=count, max_length=count)))


class ConsolidationMetrics(BaseModel):
    """What :meth:`TinyPerson.get_consolidation_metrics` reports."""

    count: int = 0
    automatic: int = 0
    manual: int = 0
    items_consolidated: int = 0
    facts_written: int = 0
    operations: dict[str, int] = Field(default_factory=lambda: {"ADD": 0, "UPDATE": 0, "DELETE": 0, "NOOP": 0})
    last_duration_s: float | None = None
    total_duration_s: float = 0.0

    @property
    def mean_size(self) -> float:
        """Mean episodic items per consolidation."""
        return self.items_consolidated / self.count if self.count else 0.0

    def report(self) -> dict[str, object]:
        return {**self.model_dump(), "mean_size": self.mean_size}


@dataclass(frozen=True)
class Candidate:
    """An existing fact shown beside a new one."""

    ref: str
    content: str
    similarity: float


def decide_without_llm(similarities: Sequence[float], *, duplicate_similarity: float,
                       min_similarity: float) -> Operation | None:
    """ADD when nothing similar exists, NOOP for a near-duplicate, None when the LLM must decide."""
    best = max(similarities, default=-1.0)
    if best >= duplicate_similarity:
        return "NOOP"
    if best < min_similarity:
        return "ADD"
    return None


class Consolidator:
    """The LLM side of consolidation (the agent's memory applies the decisions)."""

    def __init__(self, *, duplicate_similarity: float = 0.97, min_similarity: float = 0.6,
                 max_facts_per_chunk: int = 12) -> None:
        self.duplicate_similarity = duplicate_similarity
        self.min_similarity = min_similarity
        self.max_facts_per_chunk = max_facts_per_chunk

    async def asummarise(self, episode: Sequence[str], agent_name: str, client: LLMClient, *,
                         world: str | None = None, step: int | None = None) -> list[FactOut]:
        prompt = template("memory_consolidation.j2").render(name=agent_name, episode=list(episode),
                                                            max_facts=self.max_facts_per_chunk)
        result = await client.acomplete([{"role": "user", "content": prompt}], response_model=ConsolidatedFacts,
                                        purpose="consolidation", agent=agent_name, world=world, step=step)
        return list(result.value.facts)[: self.max_facts_per_chunk]

    async def areconcile(self, facts: Sequence[str], candidates: Sequence[Sequence[Candidate]], agent_name: str,
                         client: LLMClient, *, world: str | None = None, step: int | None = None) -> list[Decision]:
        """One decision per new fact; at most one LLM call for the ambiguous ones.

        A decision whose target is not among that fact's candidates becomes ADD (the new fact is kept
        and no existing fact is touched), so a confused answer cannot flag an unrelated fact.
        """
        decisions: list[Decision | None] = []
        ask: list[int] = []
        for i, cands in enumerate(candidates):
            quick = decide_without_llm([c.similarity for c in cands], duplicate_similarity=self.duplicate_similarity,
                                       min_similarity=self.min_similarity)
            decisions.append(Decision(operation=quick) if quick is not None else None)
            if quick is None:
                ask.append(i)
        if ask:
            items = [{"fact": facts[i], "existing": [(c.ref, c.content) for c in candidates[i]]} for i in ask]
            prompt = template("memory_reconcile.j2").render(name=agent_name, count=len(items), items=items)
            result = await client.acomplete([{"role": "user", "content": prompt}],
                                            response_model=decisions_model(len(items)), purpose="consolidation",
                                            agent=agent_name, world=world, step=step)
            for i, raw in zip(ask, result.value.decisions, strict=True):
                decision = Decision.model_validate(raw.model_dump() if isinstance(raw, BaseModel) else raw)
                allowed = {c.ref for c in candidates[i]}
                if decision.operation in ("UPDATE", "DELETE") and decision.target.strip("[] ") not in allowed:
                    decision = Decision(operation="ADD")
                elif decision.operation in ("UPDATE", "DELETE"):
                    decision = Decision(operation=decision.operation, target=decision.target.strip("[] "))
                decisions[i] = decision
        return [d if d is not None else Decision(operation="ADD") for d in decisions]


__all__ = ["Candidate", "ConsolidatedFacts", "ConsolidationMetrics", "Consolidator", "Decision", "FactOut",
           "Operation", "decide_without_llm", "decisions_model"]
