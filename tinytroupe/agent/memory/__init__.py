"""An agent's memory: what it lived (episodic), what it concluded (semantic), and how it recalls.

One room per concept::

    episodic.py           MemoryItem, EpisodicMemory: bounded, ordered, cleanup strategies
    semantic.py           SemanticFact, SemanticMemory: facts and insights, flagged, never erased
    index.py              VectorIndex: numpy rows plus the metadata retrieval scores with
    retrieval.py          score_index: recency + importance + relevance, weighted, top-k
    importance.py         ImportanceScorer: a rule, or one batched LLM call per turn
    consolidation.py      an episode summarised into facts, reconciled (ADD/UPDATE/DELETE/NOOP)
    forgetting.py         ForgettingCurve: retention exp(-t/S)
    reflection.py         salient questions, evidence, insights citing it
    tinytroupe_format.py  TinyTroupe's memory dicts read into items
    documents.py          read_document, passages: a text, Markdown or PDF file as bounded passages
    cold.py               evicted batches kept as cold segments in the run file, read on demand
    cold_vectors.py       the vectors, scores and sketches kept beside a cold segment

and ``AgentMemory``, the one object an agent holds, built in layers, each a subclass of the one
before: ``core.py`` (state, eviction hooks) → ``cold.py`` (evicted batches as cold segments in the
run file, loaded on demand) → ``indexing.py`` (embedding) → ``cold_recall.py`` (which cold
items a relevance query reads, within a bound) → ``recall.py`` (retrieval, the prompt's memory
section) → ``maintenance.py`` (rating, consolidation, forgetting, reflection after a turn) →
``facade.py`` (TinyTroupe-shaped writes, stats, JSON state).

Public names: AgentMemory, RetrievedMemory, EpisodicMemory, EvictedBatch, MemoryItem, MemorySegment,
SemanticMemory, SemanticFact, VectorIndex, ForgettingCurve, RetrievalParams, Document, read_document, passages,
shared_embedder, hours.
"""

from tinytroupe.agent.memory.documents import Document, passages, read_document
from tinytroupe.agent.memory.episodic import (
    TRIVIAL_TYPES,
    UNRATED_IMPORTANCE,
    CleanupStrategy,
    EpisodicMemory,
    EvictedBatch,
    MemoryItem,
)
from tinytroupe.agent.memory.facade import AgentMemory
from tinytroupe.agent.memory.forgetting import ForgettingCurve
from tinytroupe.agent.memory.index import VectorIndex, hours
from tinytroupe.agent.memory.indexing import shared_embedder
from tinytroupe.agent.memory.recall import RetrievedMemory
from tinytroupe.agent.memory.retrieval import RetrievalParams
from tinytroupe.agent.memory.semantic import SemanticFact, SemanticMemory
from tinytroupe.storage.memory_segments import MemorySegment

__all__ = [
    "TRIVIAL_TYPES",
    "UNRATED_IMPORTANCE",
    "AgentMemory",
    "CleanupStrategy",
    "Document",
    "EpisodicMemory",
    "EvictedBatch",
    "ForgettingCurve",
    "MemoryItem",
    "MemorySegment",
    "RetrievalParams",
    "RetrievedMemory",
    "SemanticFact",
    "SemanticMemory",
    "VectorIndex",
    "hours",
    "passages",
    "read_document",
    "shared_embedder",
]
