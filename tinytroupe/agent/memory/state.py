"""An agent's memory as one state model, :class:`MemoryState`: the episodic and semantic stores, the
retrieval index, and the counters of the processes between them. Each store's own model lives beside
it (:class:`~.episodic.EpisodicState`, :class:`~.semantic.SemanticState`, :class:`~.index.IndexState`).

:class:`~tinytroupe.agent.memory.facade.AgentMemory` produces it (``state_model()``) and takes it back
(``apply_state()``); its ``to_dict()`` is the JSON ``AgentMemory.to_state()`` returns, and the JSON
written before these models existed (no ``version``) parses back.

Example:
    >>> state = MemoryState.parse({"semantic": {"next_id": 2, "facts": [{"id": 1, "content": "Ana bakes"}]},
    ...                            "index": None, "reflections": 2})
    >>> state.semantic.facts[0].content, state.reflections, state.episodic is None
    ('Ana bakes', 2, True)
    >>> "episodic" in state.to_dict()
    False
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from tinytroupe.agent.memory.consolidation import ConsolidationMetrics
from tinytroupe.agent.memory.episodic import EpisodicState, MemoryItem
from tinytroupe.agent.memory.index import IndexState
from tinytroupe.agent.memory.semantic import SemanticState
from tinytroupe.state import StateModel


class MemoryState(StateModel):
    """An :class:`~tinytroupe.agent.memory.facade.AgentMemory` as data.

    ``episodic`` is None when the episodic store is kept elsewhere (an agent's state holds it under
    ``memory``, beside this one under ``long_term_memory``); ``index`` is None when nothing was
    indexed yet.
    """

    omit_when: ClassVar[dict[str, Any]] = {"episodic": None, "affect": []}

    episodic: EpisodicState | None = None
    semantic: SemanticState = Field(default_factory=SemanticState)
    index: IndexState | None = None
    indexed_upto: int = 0
    rated_upto: int = 0
    consolidated_upto: int = 0
    awaiting: list[MemoryItem] = Field(default_factory=list)
    importance_since_reflection: float = 0.0
    reflections: int = 0
    insights_discarded: int = 0
    forgotten: int = 0
    metrics: ConsolidationMetrics = Field(default_factory=ConsolidationMetrics)
    importance_cache: list[tuple[str, float]] = Field(default_factory=list)
    #: PAD at encoding of episodic memories: (id, pleasure, arousal, dominance, importance bonus); see affect.py
    affect: list[tuple[int, float, float, float, float]] = Field(default_factory=list)


__all__ = ["EpisodicState", "IndexState", "MemoryState", "SemanticState"]
