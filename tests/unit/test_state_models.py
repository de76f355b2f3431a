"""State models: states written before them still load, JSON round trips are exact, bad input is a
typed error naming the field, and a delta applied to the old state gives the new one exactly."""

from __future__ import annotations

import base64
import copy
import json
import pickle
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from helpers import turn
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tinytroupe import control
from tinytroupe.agent import TinyPerson
from tinytroupe.agent.memory.index import VectorIndex
from tinytroupe.agent.state_delta import apply_delta, apply_dict, apply_keyed, diff, diff_dict, diff_keyed
from tinytroupe.agent.state_models import AgentState
from tinytroupe.config import Settings, using_settings
from tinytroupe.control.state_models import SimulationState
from tinytroupe.embeddings import HashingEmbedder
from tinytroupe.environment import TinySocialNetwork, TinyWorld
from tinytroupe.environment.state_models import SocialNetworkState, WorldState
from tinytroupe.errors import InvalidArgument
from tinytroupe.llm import LLMClient, LLMRequest, ScriptedBackend

LEGACY = json.loads((Path(__file__).parent / "fixtures" / "legacy_states.json").read_text(encoding="utf-8"))


def legacy() -> dict[str, Any]:
    return copy.deepcopy(LEGACY)


# ------------------------------------------------------------------------------------------ old states load


def test_a_legacy_world_state_loads_into_models_and_back_to_the_same_dict() -> None:
    data = legacy()["world"]
    state = SocialNetworkState.parse(data)
    assert state.version == 1 and "version" not in data  # written before versions: read as version 1
    assert state.relations == [("Ana", "Ben", "friends"), ("Ben", "Cai", "neighbours")]
    again = state.to_dict()
    again.pop("version")
    for agent in again["agents"]:
        for part in (agent, agent["memory"], agent["long_term_memory"], agent["long_term_memory"]["semantic"]):
            part.pop("version")
        if agent["long_term_memory"]["index"] is not None:
            agent["long_term_memory"]["index"].pop("version")
    assert again == data  # the same shape, key for key: only the versions are new


def test_a_legacy_world_restores_memories_index_faculties_and_relations() -> None:
    net = TinySocialNetwork("Garden", client=LLMClient(ScriptedBackend([])))
    net.load_state(legacy()["world"])
    ana, ben, cai = (net.get_agent_by_name(n) for n in ("Ana", "Ben", "Cai"))
    assert ana is not None and ben is not None and cai is not None
    assert net.is_in_relation_with(ana, ben, "friends") and not net.is_in_relation_with(ana, cai)
    saved = legacy()["world"]["agents"][0]
    assert [i.content for i in ana.memory.items()] == [i["content"] for i in saved["memory"]["items"]]
    assert ana.memory.evictions == saved["memory"]["evictions"] > 0
    assert [f.content for f in ana.memories.semantic.all()] == [
        "Ben likes the garden", "Ana waters on Mondays", "Ana waters on Tuesdays"]
    assert ana.memories.index is not None
    assert ana.memories.index.keys_live() == saved["long_term_memory"]["index"]["keys"]
    assert [f.name for f in cai._mental_faculties] == ["gardening"]
    assert net.current_step == 5


def test_a_legacy_agent_state_and_its_old_single_string_vectors_load() -> None:
    data = legacy()["agent"]
    index = data["long_term_memory"]["index"]
    rows = [base64.b64decode(v) for v in index["vectors"]]
    ana = TinyPerson.from_state(data)
    ana.memories._embedder = HashingEmbedder(8)  # the fixture's vectors have 8 dimensions
    assert [f.status for f in ana.memories.semantic.all()] == ["active", "superseded", "active"]
    assert ana.memories.retrieve("Ana waters on Tuesdays", top_k=1)[0].content == "Ana waters on Tuesdays"
    index["vectors"] = base64.b64encode(b"".join(rows)).decode("ascii")  # the format before one string per vector
    older = TinyPerson.from_state(data)
    assert older.memories.index is not None
    assert older.memories.index.vectors[: len(rows)].tobytes() == b"".join(rows)


def test_a_legacy_encoded_agent_decodes() -> None:
    cai = TinyPerson("Cai").decode_complete_state(legacy()["encoded_agent"])
    assert [f.name for f in cai._mental_faculties] == ["gardening"]
    assert "PRUNE" in cai.actions_registry.types


def test_a_legacy_checkpoint_restores(tmp_path: Path) -> None:
    sim = control.begin(str(tmp_path / "run.sqlite"), id="old", seed=3, quiet=True)
    try:
        world = TinySocialNetwork("Plaza", initial_datetime=datetime(2000, 1, 1))
        sim.checkpoints.save(sim.id, legacy()["checkpoint"], step=2)
        sim.restore(world)
        assert world.current_step == 2 and [a.name for a in world.agents] == ["Ana", "Ben"]
        assert world.is_in_relation_with(world.agents[0], world.agents[1], "friends")
        assert SimulationState.parse(legacy()["checkpoint"]).simulation.seed == 3
        saved = json.loads(json.dumps(sim.to_state()))  # and as the next checkpoint writes it
        assert saved["worlds"][0]["relations"] == [["Ana", "Ben", "friends"]]
        assert type(SimulationState.parse(saved).worlds[0]) is SocialNetworkState
    finally:
        control.end()


# ------------------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize(("change", "field"), [
    ({"turns": "many"}, "turns"),
    ({"memory": {"items": [{"id": 1, "kind": "smell", "type": "X", "content": "x"}]}}, "memory.items.0.kind"),
    ({"version": 99}, "version"),
])
def test_a_malformed_agent_state_is_an_invalid_argument_naming_the_field(change: dict[str, Any], field: str) -> None:
    data = {**legacy()["agent"], **change}
    with pytest.raises(InvalidArgument, match=rf"bad AgentState: field '{field}'"):
        TinyPerson("Ana").load_state(data)


def test_a_damaged_index_is_named_too() -> None:
    data = legacy()["agent"]
    data["long_term_memory"]["index"]["importance"] = "AAAA"  # 3 bytes for 9 keys
    with pytest.raises(InvalidArgument, match=r"long_term_memory\.index"):
        AgentState.parse(data)
    with pytest.raises(InvalidArgument, match="field 'name'"):
        WorldState.parse({"datetime": "2025-01-01T00:00:00", "step": 0, "broadcast_if_no_target": True,
                          "random_state": [3, [], None]})


# ------------------------------------------------------------------------------------------ round trips


def _reply(request: LLMRequest) -> Any:
    if request.schema_name == "ConsolidatedFacts":
        return {"facts": [{"operation": "ADD", "content": "flowers matter", "importance": 6, "evidence": []}]}
    name = request.messages[-1].content.rsplit("Now act as ", 1)[-1].split(":", 1)[0]
    return turn(("TALK", f"{name} likes flowers"), ("THINK", "gardens"))


def _consolidating_agent() -> TinyPerson:
    settings = Settings(memory={"max_episodic_memory_size": 12, "auto_consolidation_threshold": 8,
                                "embedder": "hash", "eviction_batch_fraction": 0.25})
    with using_settings(settings):
        ana = TinyPerson("Ana", client=LLMClient(ScriptedBackend(_reply)))
    ana.memories._embedder = HashingEmbedder(16)
    return ana


def test_states_round_trip_through_json_exactly_across_consolidation() -> None:
    ana = _consolidating_agent()
    for n in range(5):
        ana.listen(f"look at flower {n}", source="Ben")
        ana.act()
        state = ana.state_model()
        assert AgentState.parse(json.loads(json.dumps(state.to_dict()))) == state
    assert ana.get_memory_stats()["consolidations"] >= 1 and ana.memory.evictions > 0


_op = st.one_of(
    st.tuples(st.just("listen"), st.text(min_size=1, max_size=12)),
    st.tuples(st.just("fact"), st.text(min_size=1, max_size=12)),
    st.tuples(st.just("retrieve"), st.text(min_size=1, max_size=12)),
    st.tuples(st.just("supersede"), st.integers(0, 5)),
    st.tuples(st.just("clear"), st.integers(0, 6)),
    st.tuples(st.just("forget"), st.integers(0, 5)),
)


def _run(agent: TinyPerson, ops: list[tuple[str, Any]]) -> None:
    mem = agent.memories
    for kind, arg in ops:
        if kind == "listen":
            agent.listen(arg, source="Ben")
        elif kind == "fact":
            mem._embed_into_index([], [mem.semantic.add(arg)])
        elif kind == "retrieve":
            mem.retrieve(arg, top_k=2)
        elif kind == "clear":
            agent.memory.clear(max_prefix_to_clear=arg)
        elif mem.semantic.active():
            fact = mem.semantic.active()[arg % len(mem.semantic.active())]
            if kind == "forget":
                mem.semantic.forget(fact.id)
                if mem.index is not None:
                    mem.index.remove(fact.ref)
            else:
                newer = mem.semantic.add(fact.content + " (revised)")
                mem.semantic.supersede(fact.id, newer.id)


@given(before=st.lists(_op, max_size=8), after=st.lists(_op, max_size=8))
@settings(max_examples=60, deadline=None)
def test_a_delta_applied_to_the_old_state_gives_the_new_state(before: list[Any], after: list[Any]) -> None:
    with using_settings(Settings(memory={"embedder": "hash"})):
        agent = TinyPerson("Ana")
    agent.memories._embedder = HashingEmbedder(8)
    _run(agent, before)
    old = agent.state_model()
    _run(agent, after)
    new = agent.state_model()
    delta = diff(old, new)
    if delta is not None:  # None: shipping the full state is as cheap
        restored = apply_delta(old, delta)
        assert restored == new and restored.to_dict() == new.to_dict()
        assert apply_delta(old, pickle.loads(pickle.dumps(delta))) == new  # as it travels
    assert AgentState.parse(json.loads(json.dumps(new.to_dict()))) == new


def test_a_delta_through_consolidation_and_eviction_gives_the_new_state() -> None:
    ana = _consolidating_agent()
    kinds: set[str] = set()
    deltas = 0
    for n in range(8):
        old = ana.state_model()
        ana.listen(f"look at flower {n}", source="Ben")
        ana.act()
        new = ana.state_model()
        delta = diff(old, new)
        if delta is None:  # the index filling up at once (a turn here): the full state is as cheap
            continue
        deltas += 1
        assert apply_delta(old, delta) == new
        items = delta.lists.get("memory.items")
        if items is not None and items.removed:
            kinds.add("evicted")
        if "long_term_memory.semantic.facts" in delta.lists:
            kinds.add("facts")
        if "long_term_memory.index.rows" in delta.lists:
            kinds.add("index")
    assert deltas >= 6 and kinds == {"evicted", "facts", "index"}  # deltas carried removals, facts and rows


def test_a_rewritten_memory_falls_back_to_the_full_state() -> None:
    ana = TinyPerson("Ana")
    for n in range(20):
        ana.listen(f"message {n}")
    old = ana.state_model()
    ana.memory.clear()
    for n in range(20):
        ana.listen(f"another message {n}")
    assert diff(old, ana.state_model()) is None
    _ = ana.listen("one more")
    small = diff(ana.state_model(), ana.listen("and another").state_model())
    assert small is not None and len(small.lists["memory.items"].appended) == 1


@given(old=st.dictionaries(st.integers(0, 20), st.integers(0, 3), max_size=12),
       new=st.dictionaries(st.integers(0, 20), st.integers(0, 3), max_size=12))
@settings(max_examples=200, deadline=None)
def test_keyed_list_deltas_turn_any_list_into_any_other(old: dict[int, int], new: dict[int, int]) -> None:
    a, b = list(old.items()), list(new.items())
    changes = diff_keyed(a, b, lambda entry: entry[0])
    assert (apply_keyed(a, changes, lambda entry: entry[0]) if changes is not None else a) == b


@given(old=st.dictionaries(st.integers(0, 20), st.integers(0, 3), max_size=12),
       new=st.dictionaries(st.integers(0, 20), st.integers(0, 3), max_size=12))
@example(old={0: 0, 1: 0, 2: 0}, new={0: 0, 2: 0, 1: 0})  # equal as dicts, in another order
@settings(max_examples=200, deadline=None)
def test_dict_deltas_keep_values_and_order(old: dict[int, int], new: dict[int, int]) -> None:
    changes = diff_dict(old, new)
    again = apply_dict(old, changes) if changes is not None else old
    assert list(again.items()) == list(new.items())


@given(old=st.lists(st.integers(0, 9), max_size=10), cut=st.integers(0, 10), tail=st.lists(st.integers(10, 20)))
@settings(max_examples=100, deadline=None)
def test_the_shifted_list_fast_path_matches_the_general_delta(old: list[int], cut: int, tail: list[int]) -> None:
    items = [{"id": n} for n in dict.fromkeys(old)]  # distinct objects, unique keys
    new = items[cut:] + [{"id": n} for n in dict.fromkeys(tail)]
    changes = diff_keyed(items, new, lambda entry: entry["id"])
    assert (apply_keyed(items, changes, lambda entry: entry["id"]) if changes is not None else items) == new
    assert changes is None or changes.changed == []


def test_index_state_json_round_trip_is_exact_and_compact_in_memory() -> None:
    import numpy as np

    idx = VectorIndex(dim=4)
    idx.add("E1", np.array([0.1, 0.2, 0.3, 0.4], dtype=np.float32), importance=7.0, created_h=12.5)
    idx.add("E2", np.array([1.0, 0.0, 0.0, 0.0], dtype=np.float32))
    idx.remove("E1")
    model = idx.state_model()
    assert model.vectors == np.array([1.0, 0.0, 0.0, 0.0], dtype="<f4").tobytes()  # raw bytes in memory
    data = json.loads(json.dumps(idx.to_state()))
    assert isinstance(data["vectors"], list) and len(data["vectors"]) == 1  # one base64 string per vector
    again = VectorIndex.from_state(data)
    assert again.state_model() == model and again.keys_live() == ["E2"]


def test_world_states_round_trip_for_both_world_kinds() -> None:
    for kind in (TinyWorld, TinySocialNetwork):
        world = kind("Room", client=LLMClient(ScriptedBackend([])), initial_datetime=datetime(2025, 1, 6, 9))
        world.add_agents([TinyPerson("Ana"), TinyPerson("Ben")])
        world.broadcast("hello", source="Host")
        model = world.state_model()
        assert type(model) is (SocialNetworkState if kind is TinySocialNetwork else WorldState)
        assert world.state_class.parse(json.loads(json.dumps(model.to_dict()))) == model
