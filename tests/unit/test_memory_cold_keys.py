"""Same-named agents of one run keep their cold memory segments apart (each memory claims a key)."""

from __future__ import annotations

import gc
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from tinytroupe import control
from tinytroupe.agent import TinyPerson
from tinytroupe.agent.memory import AgentMemory, EpisodicMemory
from tinytroupe.environment import TinyWorld
from tinytroupe.llm import ScriptedBackend
from tinytroupe.storage.memory_segments import MemorySegmentStore


@pytest.fixture(autouse=True)
def _no_leftover_simulation() -> Iterator[None]:
    yield
    control.reset()


def _arms() -> tuple[TinyPerson, TinyPerson]:
    """Two worlds (two arms of a study) with the same persona, Ana, each hearing its own words."""
    worlds = [TinyWorld(name, [TinyPerson("Ana")]) for name in ("ArmA", "ArmB")]
    anas = [w.agents[0] for w in worlds]
    for ana in anas:
        ana.memory = EpisodicMemory(max_size=3, eviction_batch=2)
    for i in range(7):  # a bound of 3, batches of 2: two segments each
        for ana, tag in zip(anas, ("a", "b"), strict=True):
            ana.listen(f"{tag}-{i}", "Ben")
    return anas[0], anas[1]


def _begin(path: Path) -> control.Simulation:
    return control.begin(path, backend=ScriptedBackend(["unused"], cycle=True), quiet=True)


def _keys(path: Path) -> list[tuple[str, int]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT agent, segment FROM memory_segments ORDER BY agent, segment").fetchall()
    finally:
        conn.close()


def _contents(ana: TinyPerson, segment: int) -> list[str]:
    return [i.content for i in ana.memories.load_cold_segment(segment)]


def test_same_named_agents_of_two_worlds_read_only_their_own_cold_segments(tmp_path: Path) -> None:
    path = tmp_path / "run.sqlite"
    _begin(path)
    a, b = _arms()
    # before keys, both wrote under "Ana" and the second overwrote the first's rows
    assert _contents(a, 1) == ["a-0", "a-1"] and _contents(b, 1) == ["b-0", "b-1"]
    assert [i.content for i in a.memories.retrieve_all(include_cold=True)] == [f"a-{i}" for i in range(7)]
    assert [s.agent for s in b.memories.cold_segments()] == ["Ana#2", "Ana#2"]
    assert [i.content for i in b.memories.search("a-")] == []
    control.end()
    assert _keys(path) == [("Ana", 1), ("Ana", 2), ("Ana#2", 1), ("Ana#2", 2)]


def test_a_rerun_claims_the_same_keys_and_a_restore_reads_its_own(tmp_path: Path) -> None:
    path = tmp_path / "run.sqlite"
    _begin(path)
    _arms()
    control.checkpoint("arms")
    control.end()
    first = _keys(path)

    sim = _begin(path)  # the script again: the same keys, the same rows replaced
    _arms()
    control.end()
    assert _keys(path) == first

    sim = _begin(path)  # a resume: fresh agents, then their checkpointed states
    worlds = [TinyWorld(name, [TinyPerson("Ana")]) for name in ("ArmA", "ArmB")]
    sim.restore(*worlds)
    restored = [w.agents[0] for w in worlds]
    assert [r.memory.cold_keys for r in restored] == [[(1, "Ana")], [(1, "Ana#2")]]
    assert _contents(restored[0], 2) == ["a-2", "a-3"] and _contents(restored[1], 2) == ["b-2", "b-3"]
    # a third Ana of the resumed run gets a key of its own, not one a restored memory holds
    third = TinyWorld("ArmC", [TinyPerson("Ana")]).agents[0]
    third.memory = EpisodicMemory(max_size=3, eviction_batch=2)
    for i in range(4):
        third.listen(f"c-{i}", "Ben")
    assert third.memory.cold_keys == [(1, "Ana#3")] and _contents(third, 1) == ["c-0", "c-1"]
    assert _contents(restored[0], 1) == ["a-0", "a-1"]
    control.end()


def test_a_state_saved_before_keys_reads_its_segments_under_the_owners_name() -> None:
    store = MemorySegmentStore(":memory:", "sim")
    old = AgentMemory("Ana", episodic=EpisodicMemory(max_size=3, eviction_batch=2), cold_store=lambda: store)
    for word in "abcde":
        old.episodic.add(kind="stimulus", type="CONVERSATION", content=word, source="Ben")
    assert old.episodic.cold_keys == [(1, "Ana")]
    saved = old.episodic.to_state()
    assert saved["cold_keys"] == [[1, "Ana"]]
    del saved["cold_keys"]  # what an older tinytroupe wrote
    del old  # the process that wrote it is gone (alive, it still writes there: the next one would be a fork)
    gc.collect()
    legacy = AgentMemory("Ana", episodic=EpisodicMemory.from_state(saved), cold_store=lambda: store)
    assert legacy.episodic.cold_keys == [(1, "")]  # its owner's name
    assert [i.content for i in legacy.load_cold_segment(1)] == ["a", "b"]
    legacy.episodic.add(kind="stimulus", type="CONVERSATION", content="f", source="Ben")
    legacy.episodic.add(kind="stimulus", type="CONVERSATION", content="g", source="Ben")
    assert [s.agent for s in legacy.cold_segments()] == ["Ana"] * 2  # it goes on under the same name
    assert [i.content for i in legacy.load_cold_segment(2)] == ["c", "d"]
    assert EpisodicMemory.from_state(legacy.episodic.to_state()).cold_keys == [(1, "")]
    # a memory that never evicted has no key, and its state keeps its old shape
    assert "cold_keys" not in EpisodicMemory(max_size=3).to_state()
    assert EpisodicMemory.from_state(EpisodicMemory(max_size=3).to_state()).cold_keys is None


def test_a_memory_that_evicted_without_a_run_file_claims_a_key_at_its_first_spill() -> None:
    store = MemorySegmentStore(":memory:", "sim")
    spill = {"on": False}
    first = AgentMemory("Ana", episodic=EpisodicMemory(max_size=3, eviction_batch=2), cold_store=lambda: store)
    late = AgentMemory("Ana", episodic=EpisodicMemory(max_size=3, eviction_batch=2),
                       cold_store=lambda: store if spill["on"] else None)
    for word in "abcd":
        first.episodic.add(kind="stimulus", type="CONVERSATION", content=word, source="Ben")
        late.episodic.add(kind="stimulus", type="CONVERSATION", content=word.upper(), source="Ben")
    assert (first.episodic.cold_keys, late.episodic.cold_keys) == ([(1, "Ana")], [])
    assert late.cold_segments() == []  # the first Ana's segment is not its own
    restored = EpisodicMemory.from_state(late.episodic.to_state())
    assert restored.cold_keys == []  # not taken for a state saved before keys
    spill["on"] = True
    for word in "EF":
        late.episodic.add(kind="stimulus", type="CONVERSATION", content=word, source="Ben")
    assert late.episodic.cold_keys == [(2, "Ana#2")] and [s.segment for s in late.cold_segments()] == [2]
    assert [i.content for i in late.load_cold_segment(2)] == ["C", "D"]


def test_two_agents_restored_from_one_saved_state_share_its_segments_and_write_their_own() -> None:
    store = MemorySegmentStore(":memory:", "sim")
    source = AgentMemory("Ana", episodic=EpisodicMemory(max_size=3, eviction_batch=2), cold_store=lambda: store)
    for word in "abcd":
        source.episodic.add(kind="stimulus", type="CONVERSATION", content=word, source="Ben")
    saved = source.episodic.to_state()  # one segment (a, b) under "Ana"
    forks = [AgentMemory("Ana", episodic=EpisodicMemory.from_state(saved), cold_store=lambda: store) for _ in "12"]
    for fork, tag in zip(forks, "PQ", strict=True):
        for n in range(4):
            fork.episodic.add(kind="stimulus", type="CONVERSATION", content=f"{tag}{n}", source="Ben")
    # the source still writes under "Ana"; each fork adds under a key of its own, and they share segment 1
    source.episodic.add(kind="stimulus", type="CONVERSATION", content="e", source="Ben")
    source.episodic.add(kind="stimulus", type="CONVERSATION", content="f", source="Ben")
    assert source.episodic.cold_keys == [(1, "Ana")]
    assert [f.episodic.cold_keys for f in forks] == [[(1, "Ana"), (2, "Ana#2")], [(1, "Ana"), (2, "Ana#3")]]
    assert [i.content for i in source.retrieve_all(include_cold=True)] == list("abcdef")
    for fork, tag in zip(forks, "PQ", strict=True):
        own = fork.episodic.cold_keys[-1][1]
        assert [i.content for i in fork.retrieve_all(include_cold=True)] == [*"abcd", *(f"{tag}{n}" for n in range(4))]
        assert [s.agent for s in fork.cold_segments()] == ["Ana", own, own]


def test_an_agent_built_with_a_restored_memory_holds_its_keys(tmp_path: Path) -> None:
    path = tmp_path / "run.sqlite"
    _begin(path)
    ana, _ = _arms()
    saved = ana.memory.to_state()
    control.end()
    _begin(path)
    restored = TinyPerson("Ana", episodic_memory=EpisodicMemory.from_state(saved))  # no error while it is made
    newcomer = TinyWorld("ArmC", [TinyPerson("Ana")]).agents[0]
    newcomer.memory = EpisodicMemory(max_size=3, eviction_batch=2)
    for i in range(4):
        newcomer.listen(f"c-{i}", "Ben")
    assert newcomer.memory.cold_keys == [(1, "Ana#2")]  # "Ana" is the restored memory's
    assert _contents(restored, 1) == ["a-0", "a-1"]
    control.end()
