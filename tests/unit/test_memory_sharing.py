"""Memory at scale: identical texts and vectors stored once, and never changed through another agent."""

from __future__ import annotations

import copy
import gc
import json
import pickle
from datetime import datetime, timedelta

import numpy as np

from tinytroupe.agent import EpisodicMemory
from tinytroupe.agent.memory import AgentMemory
from tinytroupe.agent.memory.episodic import MemoryItem
from tinytroupe.agent.memory.index import VectorIndex
from tinytroupe.agent.memory.sharing import TextTable, compact_item
from tinytroupe.agent.memory.vector_pool import VectorPool
from tinytroupe.config import MemorySettings
from tinytroupe.embeddings import HashingEmbedder

START = datetime(2025, 1, 6, 9, 0)


def memory(pool: VectorPool, name: str = "Ana") -> AgentMemory:
    return AgentMemory(name, episodic=EpisodicMemory(max_size=50, eviction_batch=5), settings=MemorySettings(),
                       embedder=HashingEmbedder(32), vector_pool=pool)


def hear(mem: AgentMemory, texts: list[str]) -> None:
    for n, text in enumerate(texts):
        mem.episodic.add(kind="stimulus", type="CONVERSATION", content="".join(text), source="Host",
                         sim_time=START + timedelta(hours=n))
    mem.sync_index()


def test_identical_items_share_their_texts_and_field_sets() -> None:
    a, b = EpisodicMemory(max_size=5), EpisodicMemory(max_size=5)
    x = a.add(kind="stimulus", type="CONVERSATION", content="".join(["the bakery ", "opens at seven"]), source="Ben")
    y = b.add(kind="stimulus", type="CONVERSATION", content="the bakery opens at seven", source="Ben")
    assert x.content is y.content and x.__pydantic_fields_set__ is y.__pydantic_fields_set__
    assert x.model_dump() == {**y.model_dump(), "id": x.id}
    # Pydantic never changes a shared field set in place: a copy with changes gets its own.
    lean = compact_item(MemoryItem(id=1, kind="action", type="THINK", content="hm"))
    twin = compact_item(MemoryItem(id=2, kind="action", type="THINK", content="hm"))
    changed = lean.model_copy(update={"target": "Ana"})
    assert twin.__pydantic_fields_set__ is lean.__pydantic_fields_set__ is not changed.__pydantic_fields_set__
    assert "target" not in twin.model_fields_set and "target" in changed.model_fields_set
    # A restored memory shares too, and equals the original.
    restored = EpisodicMemory.from_state(json.loads(json.dumps(a.to_state())))
    assert restored.items()[0].content is x.content and restored.items() == a.items()


def test_text_table_is_bounded() -> None:
    table = TextTable(max_entries=3, max_chars=10)
    for n in range(10):
        table.share(f"text {n}")
    assert len(table) <= 3
    long = "x" * 11
    assert table.share(long) is long and len(table) <= 3


def test_agents_share_pooled_vectors_and_never_change_each_other() -> None:
    pool = VectorPool(32)
    broadcast = ["the market opens at noon", "rain is expected tomorrow", "the bridge is closed"]
    ana, ben = memory(pool, "Ana"), memory(pool, "Ben")
    hear(ana, broadcast)
    hear(ben, broadcast)
    assert ana.index is not None and ben.index is not None
    assert pool.live == 3  # three texts heard by two agents: three vectors stored
    assert np.array_equal(ana.index.vectors, ben.index.vectors)
    before = [m.model_dump() for m in ben.retrieve("market", rehearse=False)]
    # Ana's memory changes (new items, evictions, a reset): Ben's retrieval and state do not.
    ben_state = ben.to_state()
    hear(ana, [f"Ana's own thought {n}" for n in range(60)])
    ana.episodic = EpisodicMemory(max_size=50)
    assert [m.model_dump() for m in ben.retrieve("market", rehearse=False)] == before
    assert ben.to_state() == ben_state
    assert pool.live == 3


def test_pooled_and_private_indexes_score_alike_and_round_trip() -> None:
    pool = VectorPool(32)
    pooled = memory(pool)
    private = AgentMemory("Ana", episodic=EpisodicMemory(max_size=50, eviction_batch=5), settings=MemorySettings(),
                          embedder=HashingEmbedder(32))
    private._new_index = lambda dim: VectorIndex(dim)  # type: ignore[method-assign]  # the old layout
    texts = [f"event {n} about {'tea' if n % 3 else 'a dog'} and item {n % 7}" for n in range(70)]
    hear(pooled, texts)
    hear(private, texts)
    assert private.index is not None and private.index.pool is None
    for query in ("tea", "a dog", "item 3"):
        assert ([m.model_dump() for m in pooled.retrieve(query, rehearse=False)]
                == [m.model_dump() for m in private.retrieve(query, rehearse=False)])
    assert pooled.to_state() == private.to_state()  # checkpoints do not depend on where vectors live
    clone = memory(pool)
    clone.load_state(json.loads(json.dumps(pooled.to_state())))
    assert clone.to_state() == pooled.to_state() and clone.index is not None and clone.index.pool is pool


def test_pool_counts_rows_and_frees_them_when_an_index_goes() -> None:
    pool = VectorPool(4, capacity=8)
    vecs = np.eye(4, dtype=np.float32)
    idx = VectorIndex(4, pool=pool)
    for n in range(4):
        idx.add(f"E{n}", vecs[n])
    other = VectorIndex(4, pool=pool)
    other.add("E1", vecs[0])
    assert pool.live == 4 and int(pool.refs[: 4].sum()) == 5
    idx.remove("E0")
    assert pool.live == 4  # still held by `other`
    twin = copy.deepcopy(idx)
    assert twin.pool is pool and np.array_equal(twin.vectors, idx.vectors[idx.alive[: idx.used]])
    restored = pickle.loads(pickle.dumps(other))
    assert np.array_equal(restored.vectors, other.vectors)
    del idx, twin, restored
    gc.collect()
    assert pool.live == 1 and int(pool.refs.sum()) == 1  # only `other`'s row is left
    for n in range(20):  # freed rows are reused before the block grows
        other.add(f"S{n}", np.full(4, n + 2, dtype=np.float32))
    assert len(pool.rows) == 32 and pool.live == 21
