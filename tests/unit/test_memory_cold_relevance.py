"""Relevance retrieval over the cold tier: evicted items ranked with RAM's, reading a bounded number of segments.

Real run files in ``tmp_path`` (real SQLite), the hashing embedder, and agents in a world on the
scripted backend for the user-level paths (``retrieve_relevant_memories``, the prompt's memory section).
"""

from __future__ import annotations

import logging
import sqlite3
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import START, action_prompt, agent_of, is_action_request, turn

from tinytroupe import control
from tinytroupe.agent import TinyPerson
from tinytroupe.agent.memory import AgentMemory, EpisodicMemory, MemoryItem
from tinytroupe.agent.memory.cold import encode_items
from tinytroupe.agent.memory.cold_vectors import ColdVectors, embedder_tag, sketch, sketch_similarity
from tinytroupe.agent.memory.index import VectorIndex
from tinytroupe.agent.memory.retrieval import ExtraRows, RetrievalParams, score_index
from tinytroupe.config import MemorySettings, Settings, using_settings
from tinytroupe.embeddings import HashingEmbedder
from tinytroupe.environment import TinyWorld
from tinytroupe.llm import LLMRequest, ScriptedBackend
from tinytroupe.storage.memory_segments import MemorySegmentStore
from tinytroupe.storage.writer import BatchWriter

FACT = "The code of the garden safe is 4471"
QUESTION = "what is the code of the garden safe?"
NAMES = ("Ana", "Ben")
SETTINGS = Settings(memory={"max_episodic_memory_size": 8, "eviction_batch_fraction": 0.25, "embedder": "hash",
                              "cold_vectors": True})


@pytest.fixture(autouse=True)
def _no_leftover_simulation() -> Iterator[None]:
    yield
    control.reset()


def _memory(store: MemorySegmentStore, *, embedder: HashingEmbedder | None = None, size: int = 6, batch: int = 2,
            **settings: Any) -> AgentMemory:
    return AgentMemory("Ana", episodic=EpisodicMemory(max_size=size, eviction_batch=batch), cold_store=lambda: store,
                       embedder=embedder or HashingEmbedder(128),
                       settings=MemorySettings(**{"cold_vectors": True, **settings}))


def _fill(mem: AgentMemory, n: int, start: int = 0) -> None:
    """``n`` distractors, each about something else (no word of the fact or the question)."""
    for k in range(start, start + n):
        mem.episodic.add(kind="stimulus", type="VISUAL", content=f"pigeon {k} lands on a wet bench near tram {k}")


def _found(hits: Sequence[Any]) -> list[bool]:
    return [h.cold for h in hits if h.content == FACT]


def test_a_fact_evicted_to_the_cold_tier_is_recalled_by_relevance_only_with_include_cold(tmp_path: Path) -> None:
    store = MemorySegmentStore(tmp_path / "run.sqlite", "sim")
    mem = _memory(store)
    mem.episodic.add(kind="stimulus", type="CONVERSATION", content=FACT, source="Ben")
    mem.sync_index()  # the fact is in the index when it leaves: its vector goes with it
    _fill(mem, 20)
    assert mem.episodic.get(1) is None and mem.episodic.cleanups >= 8
    assert _found(mem.retrieve(QUESTION, top_k=5)) == []
    in_ram = len(mem.episodic)
    hits = mem.retrieve(QUESTION, top_k=5, include_cold=True)
    assert _found(hits) == [True] and hits[0].content == FACT and hits[0].ref == "E1"
    assert hits[0].text.startswith("[E1] ") and "Ben said" in hits[0].text
    assert any(not h.cold for h in hits)  # ranked together with RAM's items
    # reading is not remembering: RAM, the bound and the index are as they were
    assert len(mem.episodic) == in_ram and "E1" not in (mem.index or ())
    assert _found(mem.retrieve(QUESTION, top_k=5)) == []
    store.close()


def test_by_default_no_vectors_are_written_and_a_query_embeds_what_it_meets(tmp_path: Path) -> None:
    """COLD_VECTORS is off by default (vectors are ten times an item's stored size): evicted items leave
    without them, and a relevance query embeds the segments it meets (COLD_BACKFILL_SEGMENTS each time)."""
    store = MemorySegmentStore(tmp_path / "run.sqlite", "sim")
    mem = _memory(store, cold_vectors=False, cold_backfill_segments=100)
    mem.episodic.add(kind="stimulus", type="CONVERSATION", content=FACT, source="Ben")
    mem.sync_index()
    _fill(mem, 20)
    tag = embedder_tag(mem.embedder) if mem.embedder is not None else ""
    assert store.load_vectors("Ana", [s.segment for s in mem.cold_segments()], tag) == {}
    assert _found(mem.retrieve(QUESTION, top_k=5, include_cold=True)) == [True]
    assert store.load_vectors("Ana", [1], tag)  # embedded when met, and kept
    store.close()


def test_the_vectors_the_index_held_are_what_is_stored(tmp_path: Path) -> None:
    store = MemorySegmentStore(tmp_path / "run.sqlite", "sim")
    emb = HashingEmbedder(128)
    mem = _memory(store, embedder=emb)
    _fill(mem, 6)
    mem.sync_index()
    assert mem.index is not None
    mem.index.set_importance("E1", 9.0)
    rows = mem.index.row_of("E1"), mem.index.row_of("E2")
    held = mem.index.vectors_at(r for r in rows if r is not None)
    _fill(mem, 1, start=6)  # evicts E1 and E2 (a batch of two)
    row = store.load_vectors("Ana", [1], embedder_tag(emb))[1]
    assert row.embedder == "hashing/128"
    cold = ColdVectors.decode(row, emb.dim)
    assert cold is not None and cold.ids.tolist() == [1, 2]
    assert np.allclose(cold.vectors, held, atol=2e-3) and cold.importance.tolist() == [9.0, 5.0]
    store.close()


def test_a_query_reads_only_the_best_few_segments_and_scans_a_bounded_window(tmp_path: Path) -> None:
    store = MemorySegmentStore(tmp_path / "run.sqlite", "sim")
    mem = _memory(store, batch=1, cold_scan_segments=50, cold_load_segments=3)
    old_fact = "The lighthouse keeper hides a spare key under a blue stone"
    mem.episodic.add(kind="stimulus", type="CONVERSATION", content=old_fact, source="Ben")
    _fill(mem, 140)
    mem.episodic.add(kind="stimulus", type="CONVERSATION", content=FACT, source="Ben")
    _fill(mem, 30, start=140)  # 171 items; all but the last five evicted, one per segment
    segments = mem.cold_segments()
    assert len(segments) == 166 and segments[141].first_id == 142  # the fact: 25 segments from the newest
    loaded_before = store.loaded
    hits = mem.retrieve(QUESTION, top_k=3, include_cold=True)
    assert _found(hits) == [True]
    stats = mem.last_cold_recall
    assert stats is not None and (stats.scanned, stats.shortlisted, stats.ranked, stats.backfilled) == (50, 12, 3, 0)
    assert stats.candidates == 3  # one item a segment
    # only the segments holding a cold hit were read (the fact's, and at most two more)
    assert 1 <= stats.loaded <= 3 and store.loaded - loaded_before == stats.loaded
    # the bound is a bound: a fact older than the scanned window is not reached ...
    key_question = "where does the lighthouse keeper hide the spare key?"
    assert not [h for h in mem.retrieve(key_question, top_k=3, include_cold=True) if h.content == old_fact]
    # ... and is with a wider one (0: every segment), still reading three segments only
    wide = _memory(store, batch=1, cold_scan_segments=0, cold_load_segments=3)
    wide.episodic = mem.episodic
    hits = wide.retrieve(key_question, top_k=3, include_cold=True)
    assert hits[0].content == old_fact and hits[0].cold
    assert wide.last_cold_recall is not None and wide.last_cold_recall.scanned == 166
    assert wide.last_cold_recall.ranked == 3 and wide.last_cold_recall.loaded <= 3
    store.close()


def test_sketches_estimate_the_cosine() -> None:
    rng = np.random.default_rng(5)
    vecs = rng.standard_normal((400, 96)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    query = vecs[0] * 0.8 + vecs[1] * 0.6
    query /= np.linalg.norm(query)
    estimated = sketch_similarity(sketch(query)[0], sketch(vecs))
    exact = vecs @ query
    assert np.abs(estimated - exact).mean() < 0.1
    assert set(np.argsort(-estimated)[:2]) == {0, 1}


def _old_format_file(path: Path, items: list[MemoryItem], per_segment: int) -> None:
    """A run file as the version before cold relevance wrote it: the segments table alone, version 1."""
    conn = sqlite3.connect(path)
    conn.executescript("""
        CREATE TABLE schema_versions (component TEXT PRIMARY KEY, version INTEGER);
        INSERT INTO schema_versions VALUES ('memory_segments', 1);
        CREATE TABLE memory_segments (simulation_id TEXT NOT NULL, agent TEXT NOT NULL, segment INTEGER NOT NULL,
            first_id INTEGER NOT NULL, last_id INTEGER NOT NULL, first_time TEXT, last_time TEXT,
            items INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (simulation_id, agent, segment));
    """)
    for n in range(0, len(items), per_segment):
        batch = items[n: n + per_segment]
        conn.execute("INSERT INTO memory_segments VALUES (?,?,?,?,?,?,?,?,?)",
                     ("sim", "Ana", n // per_segment + 1, batch[0].id, batch[-1].id, None, None, len(batch),
                      zlib.compress(encode_items(batch))))
    conn.commit()
    conn.close()


def test_segments_of_an_older_version_are_read_and_get_vectors_when_queried(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    items = [MemoryItem(id=k, kind="stimulus", type="VISUAL", content=f"pigeon {k} lands on bench {k}")
             for k in range(1, 13)]
    items[2] = MemoryItem(id=3, kind="stimulus", type="CONVERSATION", content=FACT, source="Ben")
    _old_format_file(path, items, per_segment=2)  # six segments; the fact in segment 2
    store = MemorySegmentStore(path, "sim")
    assert [s.segment for s in store.segments("Ana")] == [1, 2, 3, 4, 5, 6]
    mem = _memory(store, cold_backfill_segments=2)
    mem.episodic.cleanups, mem.episodic.cold_keys = 6, [(1, "")]  # as restoring the (older) state that wrote them would
    assert mem.load_cold_segment(2)[0].content == FACT and mem.search("garden safe")[0].id == 3
    # a query embeds the newest segments lacking vectors, two at a time, and stores them
    for backfilled in ([6, 5], [4, 3], [2, 1]):
        hits = mem.retrieve(QUESTION, top_k=2, include_cold=True)
        assert mem.last_cold_recall is not None and mem.last_cold_recall.backfilled == 2
        with_vectors = {s.segment for s in store.scan("Ana", "hashing/128", upto=6) if s.items is not None}
        assert set(backfilled) <= with_vectors
    assert _found(hits) == [True]
    hits = mem.retrieve(QUESTION, top_k=2, include_cold=True)
    assert _found(hits) == [True] and mem.last_cold_recall is not None
    assert mem.last_cold_recall.backfilled == 0 and mem.last_cold_recall.ranked == 4
    assert mem.last_cold_recall.loaded <= 2  # the segments of the two hits
    store.close()
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT COUNT(*) FROM memory_segment_vectors").fetchone() == (6,)
    assert conn.execute("SELECT version FROM schema_versions WHERE component = 'memory_segments'").fetchone() == (1,)
    conn.close()


def test_backfill_cold_vectors_does_every_old_segment_at_once(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    items = [MemoryItem(id=k, kind="stimulus", type="VISUAL", content=f"pigeon {k}") for k in range(1, 10)]
    items.append(MemoryItem(id=10, kind="action", type="DONE", content=""))  # nothing to embed in its segment
    _old_format_file(path, items, per_segment=1)
    store = MemorySegmentStore(path, "sim")
    mem = _memory(store)
    mem.episodic.cleanups, mem.episodic.cold_keys = 10, [(1, "")]  # a restored state of the version that wrote them
    assert mem.backfill_cold_vectors(limit=3) == 3
    assert mem.backfill_cold_vectors() == 7 and mem.backfill_cold_vectors() == 0
    rows = [s for s in store.scan("Ana", "hashing/128", upto=10)]
    assert [s.items for s in rows] == [0, *[1] * 9]
    store.close()


def test_vectors_of_another_batch_or_embedder_are_not_used(tmp_path: Path) -> None:
    store = MemorySegmentStore(tmp_path / "run.sqlite", "sim")
    mem = _memory(store)
    mem.episodic.add(kind="stimulus", type="CONVERSATION", content=FACT, source="Ben")
    _fill(mem, 9)
    tag = "hashing/128"
    assert all(s.items is not None for s in store.scan("Ana", tag, upto=10))
    # segment 1 rewritten for another batch (as an older version replaying a changed script would): its
    # vectors row no longer matches the segment's id range, so it counts as having none
    store.write("Ana", 1, first_id=1, last_id=1, first_time=None, last_time=None, count=1,
                payload=encode_items([MemoryItem(id=1, kind="stimulus", type="VISUAL", content="a cat")]))
    assert store.scan("Ana", tag, upto=10)[-1].items is None
    assert all(s.items is None for s in store.scan("Ana", "use-multilingual-v3/512", upto=10))
    other = _memory(store, embedder=HashingEmbedder(64))  # another embedder: every segment lacks vectors
    other.episodic = mem.episodic
    other.retrieve(QUESTION, include_cold=True)
    assert other.last_cold_recall is not None and other.last_cold_recall.backfilled == 2
    store.close()


class _Failing(HashingEmbedder):
    def embed(self, texts: Sequence[str]) -> Any:
        if any("pigeon" in t for t in texts):
            raise RuntimeError("the embedding service is down")
        return super().embed(texts)


def test_a_failed_embedding_on_the_writer_thread_costs_only_that_segments_vectors(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "run.sqlite"
    writer = BatchWriter(path)
    store = MemorySegmentStore(path, "sim", writer=writer)
    mem = _memory(store, embedder=_Failing(128))
    with caplog.at_level(logging.WARNING, logger="tinytroupe.agent.memory.cold"):
        _fill(mem, 10)
        assert len(store.segments("Ana")) == 2  # (reading flushes the writer: no error raised there)
    assert "could not be made" in caplog.text and writer.error is None
    assert all(s.items is None for s in store.scan("Ana", "hashing/128", upto=10))
    writer.close()
    store.close()


def test_extra_rows_are_scored_with_the_index_rows() -> None:
    idx = VectorIndex(dim=2)
    idx.add("E5", np.array([1.0, 0.0], dtype=np.float32), importance=5.0)
    idx.add("E6", np.array([0.6, 0.8], dtype=np.float32), importance=5.0)
    query = np.array([0.0, 1.0], dtype=np.float32)
    extra = ExtraRows(keys=["E1", "E2"], sims=np.array([1.0, -1.0], dtype=np.float32), importance=np.array([5.0, 5.0]),
                      access_h=np.full(2, np.nan), access_count=np.zeros(2), seq=np.array([-2, -1]))
    params = RetrievalParams(top_k=4, recency_weight=0.0, importance_weight=0.0, relevance_weight=1.0)
    assert [h.key for h in score_index(idx, query, params, extra=extra)] == ["E1", "E6", "E5", "E2"]
    assert [h.key for h in score_index(None, query, params, extra=extra)] == ["E1", "E2"]
    # rank recency: extras are older than every index row
    recency = RetrievalParams(top_k=4, recency_weight=1.0, importance_weight=0.0, relevance_weight=0.0,
                              recency_mode="rank")
    assert [h.key for h in score_index(idx, query, recency, extra=extra)] == ["E6", "E5", "E2", "E1"]
    assert [h.key for h in score_index(idx, query, params, exclude={"E6"})] == ["E5"]


def _reply(request: LLMRequest) -> Any:
    if request.schema_name == "ConsolidatedFacts":
        return {"facts": [{"content": "people in the room greet each other", "importance": 4}]}
    if request.schema_name == "ReconcileDecisions":
        return {"decisions": [{"operation": "NOOP"}] * request.messages[0].content.count("New fact:")}
    name = agent_of(request)
    return turn(("TALK", f"{name} asks about the garden safe code", ""))


def _world() -> TinyWorld:
    world = TinyWorld("Room", [TinyPerson(n) for n in NAMES], initial_datetime=START, seed=3, parallelize=False)
    world.make_everyone_accessible()
    world.broadcast(FACT, source="Host")
    return world


def _agent(world: TinyWorld, name: str = "Ana") -> TinyPerson:
    agent = world.get_agent_by_name(name)
    assert isinstance(agent, TinyPerson)
    return agent


def test_an_agent_in_a_run_recalls_what_left_ram(tmp_path: Path) -> None:
    with using_settings(SETTINGS):
        control.begin(tmp_path / "run.sqlite", backend=ScriptedBackend(_reply), quiet=True)
        world = _world()
        world.run(6)
        ana = _agent(world)
        assert ana.memory.get(1) is None  # the fact left RAM
        assert _found(ana.retrieve_relevant_memories(QUESTION, top_k=5)) == []
        assert _found(ana.retrieve_relevant_memories(QUESTION, top_k=5, include_cold=True)) == [True]
        control.end()


def _prompts_with_the_fact(tmp_path: Path, in_prompt: bool) -> list[int]:
    seen: list[int] = []

    def reply(request: LLMRequest) -> Any:
        if is_action_request(request) and agent_of(request) == "Ana":
            user = action_prompt(request)
            _, heading, rest = user.partition("# What you remember")
            memory = rest.split("\n# ", 1)[0] if heading else ""
            seen.append(int(FACT in memory))
        return _reply(request)

    settings = SETTINGS.model_copy(update={"memory": SETTINGS.memory.model_copy(
        update={"cold_recall_in_prompt": in_prompt})})
    with using_settings(settings):
        control.begin(tmp_path / f"run-{in_prompt}.sqlite", backend=ScriptedBackend(reply), quiet=True)
        _world().run(8)
        control.end()
    return seen


def test_the_prompt_draws_on_cold_items_only_when_the_setting_says_so(tmp_path: Path) -> None:
    # (identical prompts are answered from the run's cache: fewer requests than turns reach the backend)
    off, on = _prompts_with_the_fact(tmp_path, False), _prompts_with_the_fact(tmp_path, True)
    assert len(off) >= 5 and sum(off) == 0
    assert sum(on) >= 3 and on[0] == 0  # at first the fact is a recent event, shown as such
