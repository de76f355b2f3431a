"""Semantic memory: facts and insights an agent distilled from its episodes.

A fact is never erased: when reconciliation replaces or contradicts it, it is kept and flagged
(``superseded`` with a link to its successor, or ``deleted``); when its retention falls under the
floor it is flagged ``forgotten``. Only ``active`` facts are in the retrieval index.

Example:
    >>> sem = SemanticMemory()
    >>> old = sem.add("Ana works at the bakery")
    >>> new = sem.add("Ana works at the library")
    >>> sem.supersede(old.id, new.id)
    >>> [f.content for f in sem.active()], sem.get(old.id).status
    (['Ana works at the library'], 'superseded')
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from tinytroupe.errors import NotFound
from tinytroupe.state import StateModel

FactStatus = Literal["active", "superseded", "deleted", "forgotten"]
#: a fact (from consolidation), an insight (from reflection) or a passage of a document the agent read
FactKind = Literal["fact", "insight", "document"]


class SemanticFact(BaseModel):
    """One fact (from consolidation), insight (from reflection) or passage of a document read."""

    id: int
    content: str
    kind: FactKind = "fact"
    importance: float = 5.0
    sim_time: datetime | None = None
    evidence: list[str] = Field(default_factory=list, description="refs (E12, S3) it was drawn from")
    status: FactStatus = "active"
    superseded_by: int | None = None
    reason: str | None = None  # why it stopped being active
    source: str | None = None  # the document a passage comes from

    @property
    def ref(self) -> str:
        """How prompts and insights cite it: ``S<id>``."""
        return f"S{self.id}"


class SemanticMemory:
    """Facts by id, thread-safe; JSON round trip with :meth:`to_state` / :meth:`from_state`."""

    def __init__(self) -> None:
        self._facts: dict[int, SemanticFact] = {}
        self._next_id = 1
        self._lock = threading.Lock()

    def add(self, content: str, *, kind: FactKind = "fact", importance: float = 5.0,
            sim_time: datetime | None = None, evidence: Sequence[str] = (), source: str | None = None) -> SemanticFact:
        with self._lock:
            fact = SemanticFact(id=self._next_id, content=content, kind=kind, importance=importance,
                                sim_time=sim_time, evidence=list(evidence), source=source)
            self._facts[fact.id] = fact
            self._next_id += 1
            return fact

    def get(self, fact_id: int) -> SemanticFact | None:
        return self._facts.get(fact_id)

    def _flag(self, fact_id: int, **update: Any) -> None:
        with self._lock:
            fact = self._facts.get(fact_id)
            if fact is None:
                raise NotFound(f"no semantic fact S{fact_id}")
            self._facts[fact_id] = fact.model_copy(update=update)

    def supersede(self, old_id: int, new_id: int, reason: str | None = None) -> None:
        """Flag ``old_id`` as replaced by ``new_id`` (kept, out of retrieval)."""
        self._flag(old_id, status="superseded", superseded_by=new_id, reason=reason)

    def delete(self, fact_id: int, reason: str | None = None) -> None:
        """Flag a fact as no longer true (kept, out of retrieval)."""
        self._flag(fact_id, status="deleted", reason=reason)

    def forget(self, fact_id: int) -> None:
        """Flag a fact whose retention fell under the floor (kept, out of retrieval)."""
        self._flag(fact_id, status="forgotten", reason="retention under the floor")

    def prune_inactive(self, keep: int) -> list[SemanticFact]:
        """Drop all but the ``keep`` newest inactive (superseded, deleted, forgotten) facts; returns the dropped.

        Callers publish what they drop, so the trace still holds every fact ever written.
        """
        with self._lock:
            inactive = [f for f in self._facts.values() if f.status != "active"]
            dropped = inactive[: max(0, len(inactive) - keep)]  # dicts keep insertion order: oldest first
            for fact in dropped:
                del self._facts[fact.id]
            return dropped

    def active(self) -> list[SemanticFact]:
        return [f for f in self._facts.values() if f.status == "active"]

    def all(self) -> list[SemanticFact]:
        return list(self._facts.values())

    @property
    def active_count(self) -> int:
        return sum(1 for f in self._facts.values() if f.status == "active")

    def __len__(self) -> int:
        return len(self._facts)

    def state_model(self) -> SemanticState:
        """These facts as a :class:`SemanticState`."""
        with self._lock:
            return SemanticState.model_construct(next_id=self._next_id, facts=list(self._facts.values()))

    @classmethod
    def from_model(cls, state: SemanticState) -> SemanticMemory:
        """A semantic memory holding ``state``'s facts."""
        sem = cls()
        sem._facts = {fact.id: fact for fact in state.facts}
        sem._next_id = state.next_id if state.next_id is not None else len(sem._facts) + 1
        return sem

    def to_state(self) -> dict[str, Any]:
        """JSON-ready state (:meth:`state_model` as a dict)."""
        return self.state_model().to_dict()

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> SemanticMemory:
        """Rebuild from :meth:`to_state`.

        Raises:
            InvalidArgument: ``state`` is not a semantic memory's state (the message names the field).
        """
        return cls.from_model(SemanticState.parse(state))


class SemanticState(StateModel):
    """A :class:`SemanticMemory` as data: its facts, oldest first.

    Example:
        >>> SemanticState.parse({"next_id": 2, "facts": [{"id": 1, "content": "Ana bakes"}]}).facts[0].ref
        'S1'
    """

    next_id: int | None = None
    facts: list[SemanticFact] = Field(default_factory=list)


__all__ = ["FactKind", "FactStatus", "SemanticFact", "SemanticMemory", "SemanticState"]
