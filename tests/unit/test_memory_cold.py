"""The cold tier of agent memory: evicted batches kept as segments of the run file and loaded on demand.

Real run files in ``tmp_path``, real agents in a world on the scripted backend, as a user's run.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from helpers import START, agent_of, turn

from tinytroupe import control
from tinytroupe.agent import TinyPerson
from tinytroupe.agent.memory import AgentMemory, EpisodicMemory, MemoryItem
from tinytroupe.agent.memory.cold import decode_items, encode_items
from tinytroupe.config import Settings, using_settings
from tinytroupe.environment import TinyWorld
from tinytroupe.errors import NotFound, StorageError
from tinytroupe.events import Event, MemoryEvent
from tinytroupe.llm import LLMClient, LLMRequest, ScriptedBackend
from tinytroupe.storage.memory_segments import MemorySegmentStore

ROOT = Path(__file__).resolve().parents[2]
NAMES = ("Ana", "Ben")
#: a bound of 8 with batches of 2: a two-agent room evicts from its third step on
SETTINGS = Settings(memory={"max_episodic_memory_size": 8, "eviction_batch_fraction": 0.25, "embedder": "hash",
                              "cold_vectors": True})


def _reply(request: LLMRequest) -> Any:
    if request.schema_name == "ConsolidatedFacts":
        return {"facts": [{"content": "people in the room greet each other", "importance": 4}]}
    if request.schema_name == "ReconcileDecisions":
        return {"decisions": [{"operation": "NOOP"}] * request.messages[0].content.count("New fact:")}
    name = agent_of(request)
    heard = request.messages[-1].content.count("said")
    return turn(("TALK", f"{name} says hello ({heard})", ""))


@pytest.fixture(autouse=True)
def _no_leftover_simulation() -> Iterator[None]:
    yield
    control.reset()


def _world() -> TinyWorld:
    world = TinyWorld("Room", [TinyPerson(n) for n in NAMES], initial_datetime=START, seed=3, parallelize=False)
    world.make_everyone_accessible()
    world.broadcast("Welcome to the room", source="Host")
    return world


def _begin(path: Path, **options: Any) -> control.Simulation:
    return control.begin(path, backend=ScriptedBackend(_reply), quiet=True, **options)


def _rows(path: Path) -> list[tuple[Any, ...]]:
    """Every segment row of the file, as stored (the items decompressed)."""
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT simulation_id, agent, segment, first_id, last_id, first_time, last_time, items, "
                            "data FROM memory_segments ORDER BY agent, segment").fetchall()
    finally:
        conn.close()
    return [(*r[:-1], zlib.decompress(r[-1])) for r in rows]


def _vector_rows(path: Path) -> list[tuple[Any, ...]]:
    """Every row of the segments' vectors (what relevance retrieval over cold items reads)."""
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT * FROM memory_segment_vectors ORDER BY agent, segment").fetchall()
    finally:
        conn.close()


def _agent(world: TinyWorld, name: str = "Ana") -> TinyPerson:
    agent = world.get_agent_by_name(name)
    assert isinstance(agent, TinyPerson)
    return agent


def test_evicted_batches_are_spilled_as_cold_segments_of_the_run_file(tmp_path: Path) -> None:
    path = tmp_path / "run.sqlite"
    evicted: dict[str, list[list[dict[str, Any]]]] = {n: [] for n in NAMES}

    def on_evict(event: Event) -> None:
        if isinstance(event, MemoryEvent) and event.operation == "evict" and event.agent:
            evicted[event.agent].append(event.items)

    with using_settings(SETTINGS):
        sim = _begin(path)
        sim.bus.subscribe(on_evict)
        world = _world()
        world.run(6)
        ana = _agent(world)
        segments = ana.memories.cold_segments()
        control.end()
    assert ana.memory.evictions > 0 and len(ana.memory) <= 8
    assert [s.segment for s in segments] == list(range(1, ana.memory.cleanups + 1))
    assert sum(s.count for s in segments) == ana.memory.evictions
    assert [s.count for s in segments] == [len(batch) for batch in evicted["Ana"]]
    for seg, batch in zip(segments, evicted["Ana"], strict=True):
        ids = [item["id"] for item in batch]
        assert (seg.first_id, seg.last_id) == (min(ids), max(ids))
        times = [datetime.fromisoformat(item["sim_time"]) for item in batch]
        assert (seg.first_time, seg.last_time) == (min(times), max(times)) and seg.stored_bytes > 0
    rows = _rows(path)
    assert {(r[0], r[1]) for r in rows} == {("default", "Ana"), ("default", "Ben")}
    assert len(rows) == ana.memory.cleanups + _agent(world, "Ben").memory.cleanups
    # consolidation still ran on what left (the cold tier is in addition to it)
    assert ana.memories.metrics.count >= 1


def test_a_loaded_segment_is_exactly_what_left_ram(tmp_path: Path) -> None:
    store = MemorySegmentStore(tmp_path / "run.sqlite", "sim")
    left: list[MemoryItem] = []
    mem = AgentMemory("Ana", episodic=EpisodicMemory(max_size=4, eviction_batch=2), cold_store=lambda: store)
    # the hook the memory installed still runs: record what it was handed, then let it spill
    spill = mem.episodic.on_evict
    assert spill is not None

    def record_then_spill(items: list[MemoryItem]) -> None:
        left.extend(items)
        spill(items)

    mem.episodic.on_evict = record_then_spill
    aware = datetime(2025, 1, 6, 9, 30, 15, 123456, tzinfo=UTC)
    mem.episodic.add(kind="stimulus", type="CONVERSATION", content="Ça va? 👋 \"quoted\"\nnew line", source="Zoë",
                     sim_time=aware, step=3)
    mem.episodic.add(kind="action", type="TALK", content="fine", target="Zoë", sim_time=aware + timedelta(hours=1))
    mem.episodic.add(kind="stimulus", type="VISUAL", content="x" * 5000)  # no time, no step
    for n in range(5):
        mem.episodic.add(kind="stimulus", type="CONVERSATION", content=f"filler {n}", source=None,
                         sim_time=datetime(2025, 1, 7, 8, n))
    assert len(left) == 4 and len(mem.episodic) == 4
    loaded = [item for seg in mem.cold_segments() for item in mem.load_cold_segment(seg.segment)]
    assert loaded == left
    assert [i.__pydantic_fields_set__ for i in loaded] == [i.__pydantic_fields_set__ for i in left]
    assert [i.model_dump_json() for i in loaded] == [i.model_dump_json() for i in left]
    assert loaded[0].sim_time is not None and loaded[0].sim_time.utcoffset() == timedelta(0)
    assert decode_items(encode_items(left)) == left
    # an item made by hand, with fields left unset, comes back with the same fields set (not all of them)
    bare = MemoryItem(id=7, kind="action", type="THINK", content="hm")
    [back] = decode_items(encode_items([bare]))
    assert back == bare and back.__pydantic_fields_set__ == bare.__pydantic_fields_set__ == {"id", "kind", "type",
                                                                                              "content"}
    with pytest.raises(NotFound, match="no cold segment 9"):
        mem.load_cold_segment(9)
    store.close()


def test_retrieval_over_cold_items_sees_the_whole_history_without_growing_ram(tmp_path: Path) -> None:
    with using_settings(SETTINGS):
        _begin(tmp_path / "run.sqlite")
        world = _world()
        world.run(6)
        ana = _agent(world)
        ram_before, evictions, index_rows = ana.memory.items(), ana.memory.evictions, len(ana.memories.index or ())
        everything = ana.memories.retrieve_all(include_cold=True)
        assert [i.id for i in everything] == list(range(1, ana.memory.last_id + 1))  # fifo: nothing lost
        assert ana.memories.retrieve_all() == ram_before
        assert everything[0].content == "Welcome to the room"
        found = ana.memories.search("WELCOME TO")
        assert [i.id for i in found] == [1] and ana.memories.search("welcome", include_cold=False) == []
        assert len(ana.memories.search("says hello")) > len(ana.memories.search("says hello", include_cold=False))
        first = ana.retrieve_memories(first_n=1, last_n=None, include_cold=True)[0]
        assert first["content"]["stimuli"][0]["content"] == "Welcome to the room"
        assert ana.retrieve_memories(first_n=1, last_n=None)[0] != first
        # loading is a read: RAM, the bound, the counters and the index are as they were
        assert ana.memory.items() == ram_before and ana.memory.evictions == evictions
        assert len(ana.memories.index or ()) == index_rows
        control.end()


def test_without_a_run_file_nothing_is_spilled(tmp_path: Path) -> None:
    with using_settings(SETTINGS):
        world = TinyWorld("Room", [TinyPerson(n) for n in NAMES], initial_datetime=START, seed=3, parallelize=False,
                          client=LLMClient(ScriptedBackend(_reply)))
        world.make_everyone_accessible()
        world.broadcast("Welcome to the room", source="Host")
        world.run(6)
    ana = _agent(world)
    assert ana.memory.evictions > 0
    assert ana.context.memory_store is None and ana.memories.cold_store() is None
    assert ana.memories.cold_segments() == []
    assert ana.memories.retrieve_all(include_cold=True) == ana.memory.items()
    with pytest.raises(NotFound, match="no run file"):
        ana.memories.load_cold_segment(1)


def test_the_setting_turns_the_spill_off(tmp_path: Path) -> None:
    path = tmp_path / "run.sqlite"
    off = SETTINGS.model_copy(update={"memory": SETTINGS.memory.model_copy(update={"cold_segments": False})})
    with using_settings(off):
        _begin(path)
        world = _world()
        world.run(6)
        assert _agent(world).memory.evictions > 0
        control.end()
    assert _rows(path) == []


def test_a_replay_on_the_same_run_file_writes_no_duplicate_segments(tmp_path: Path) -> None:
    path = tmp_path / "run.sqlite"
    with using_settings(SETTINGS):
        _begin(path)
        _world().run(6)
        control.end()
        first, first_vectors = _rows(path), _vector_rows(path)
        sim = _begin(path)
        world = _world()
        world.run(6)
        assert sim.cache_misses() == 0, "the second run is a replay"
        assert [s.segment for s in _agent(world).memories.cold_segments()] == \
            [r[2] for r in first if r[1] == "Ana"]
        control.end()
    assert first and _rows(path) == first
    assert first_vectors and _vector_rows(path) == first_vectors


def test_a_resumed_run_neither_duplicates_nor_shows_segments_of_the_crashed_one(tmp_path: Path) -> None:
    path = tmp_path / "run.sqlite"
    with using_settings(SETTINGS):
        _begin(path)
        world = _world()
        world.run(3)
        control.checkpoint("mid")
        at_checkpoint = _agent(world).memory.cleanups
        world.run(5)
        whole = _agent(world).memories.retrieve_all(include_cold=True)  # (reading commits what is queued)
        crashed, crashed_vectors = _rows(path), _vector_rows(path)
        control.reset()  # the run stops here without an end: what it wrote stays in the file

        sim = _begin(path)
        world = _world()
        sim.restore(world)
        ana = _agent(world)
        assert ana.memory.cleanups == at_checkpoint < max(r[2] for r in crashed if r[1] == "Ana")
        # the crashed run's later segments are in the file, but not this memory's
        assert [s.segment for s in ana.memories.cold_segments()] == list(range(1, at_checkpoint + 1))
        ids = [i.id for i in ana.memories.retrieve_all(include_cold=True)]
        assert ids == sorted(set(ids))
        # relevance over cold items sees only this memory's segments too
        ana.memories.retrieve("hello", top_k=50, include_cold=True, rehearse=False)
        stats = ana.memories.last_cold_recall
        assert stats is not None and stats.scanned == at_checkpoint
        world.run(5)  # the same steps again, answered from the cache
        assert [i.id for i in ana.memories.retrieve_all(include_cold=True)] == [i.id for i in whole]
        control.end()
    assert _rows(path) == crashed, "the resumed run wrote the same segments over the crashed run's"
    # the same vectors over the crashed run's, and those the query above made for segments that had none
    after = _vector_rows(path)
    added = [r[:3] for r in after if r not in crashed_vectors]
    assert crashed_vectors and set(crashed_vectors) <= set(after) and len(added) <= 2
    assert all(r[1] == "Ana" and r[2] <= at_checkpoint for r in added)


_FIRST_PROCESS = """
import sys
from pathlib import Path
sys.path[:0] = [{tests!r}, {support!r}]  # the test module, and the shared helpers one folder up
import test_memory_cold as t
from tinytroupe import control
from tinytroupe.config import using_settings
with using_settings(t.SETTINGS):
    t._begin(Path({path!r}))
    world = t._world()
    world.run(6)
    print(len(world.get_agent_by_name("Ana").memories.cold_segments()))
    control.end()
"""


def test_a_reopened_run_file_lists_the_segments_an_earlier_process_wrote(tmp_path: Path) -> None:
    path = tmp_path / "run.sqlite"
    here = Path(__file__)
    code = textwrap.dedent(_FIRST_PROCESS).format(tests=str(here.parent), support=str(here.parents[1]), path=str(path))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, timeout=120)
    assert done.returncode == 0, done.stderr
    written = int(done.stdout.strip().splitlines()[-1])
    assert written > 0
    with using_settings(SETTINGS):
        sim = _begin(path)
        world = _world()
        ana = _agent(world)
        assert ana.memories.cold_segments() == []  # a new agent has evicted nothing yet
        assert len(sim.memory_store.segments("Ana")) == written  # the file has them
        sim.restore(world)  # the state the earlier process ended with
        segments = ana.memories.cold_segments()
        assert len(segments) == written
        items = ana.memories.load_cold_segment(segments[0].segment)
        assert items[0].content == "Welcome to the room" and len(items) == segments[0].count
        control.end()


def test_the_store_replaces_a_segment_by_number_and_reports_damage(tmp_path: Path) -> None:
    path = tmp_path / "run.sqlite"
    store = MemorySegmentStore(path, "sim")
    for payload in (b"[1]", b"[2]"):
        store.write("Ana", 1, first_id=1, last_id=1, first_time=START, last_time=START, count=1, payload=payload)
    store.write("Ana", 2, first_id=2, last_id=3, first_time=None, last_time=None, count=2, payload=lambda: b"[]")
    assert [s.segment for s in store.segments("Ana")] == [1, 2] and store.load("Ana", 1) == b"[2]"
    assert [s.segment for s in store.segments("Ana", upto=1)] == [1]
    assert store.segments("Ben") == [] and store.load("Ana", 3) is None
    assert MemorySegmentStore(path, "other").segments("Ana") == []  # keyed by simulation too
    conn = sqlite3.connect(path)
    conn.execute("UPDATE memory_segments SET data = x'00ff' WHERE segment = 2")
    conn.commit()
    conn.close()
    with pytest.raises(StorageError, match="damaged") as err:
        store.load("Ana", 2)
    assert err.value.cause_kind == "corrupt"
    store.close()
    assert not store.accepting and store.load("Ana", 1) == b"[2]"  # reads outlive the run
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT version FROM schema_versions WHERE component = 'memory_segments'").fetchone() == (1,)
    conn.close()
