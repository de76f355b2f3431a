"""Agent and world state round-trips through JSON exactly, and a restored world runs on identically."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from tinytroupe.agent import TinyPerson
from tinytroupe.environment import TinySocialNetwork, TinyWorld
from tinytroupe.llm import LLMClient, LLMRequest, ScriptedBackend


def _reply(request: LLMRequest) -> dict[str, Any]:
    user = request.messages[-1].content
    name = user.rsplit("Now act as ", 1)[-1].split(":", 1)[0]
    heard = user.count("said")
    return {"actions": [{"type": "THINK", "content": f"{name} counts {heard}"},
                        {"type": "TALK", "content": f"{name} says hi ({heard})", "target": ""},
                        {"type": "DONE"}],
            "cognitive_state": {"goals": f"goal of {name}", "context": ["room"], "attention": "others",
                                "emotions": "curious"}}


def _client() -> LLMClient:
    return LLMClient(ScriptedBackend(_reply))


def _world(kind: type[TinyWorld] = TinyWorld) -> TinyWorld:
    client = _client()
    world = kind("Room", client=client, initial_datetime=datetime(2025, 1, 6, 9), seed=3, parallelize=False)
    world.add_agents([TinyPerson(n) for n in ("Ana", "Ben", "Cai")])
    if isinstance(world, TinySocialNetwork):
        world.add_relation(world.agents[0], world.agents[1], "friends")
    else:
        world.make_everyone_accessible()
    world.broadcast("Welcome", source="Host")
    return world


def _history(world: TinyWorld) -> list[tuple[str, ...]]:
    return [(a.name, i.kind, i.type, i.content, str(i.sim_time)) for a in world.agents for i in a.memory.items()]


def test_agent_state_round_trips_through_json() -> None:
    world = _world()
    world.run(2)
    ana = world.agents[0]
    state = json.loads(json.dumps(ana.to_state()))
    copy = TinyPerson.from_state(state, client=_client())
    assert copy.to_state() == ana.to_state()
    TinyWorld("Copy", [copy], client=copy.client, initial_datetime=world.current_datetime)
    assert copy.build_prompt() == ana.build_prompt()


def test_world_state_round_trips_and_the_restored_world_continues_identically() -> None:
    for kind in (TinyWorld, TinySocialNetwork):
        original = _world(kind)
        original.run(2, timedelta_per_step=None)
        state = json.loads(json.dumps(original.to_state()))

        restored = kind("Room", client=_client(), initial_datetime=datetime(2000, 1, 1))
        restored.load_state(state)
        assert restored.to_state() == original.to_state()
        assert [a.name for a in restored.agents] == [a.name for a in original.agents]
        assert {a.name for a in restored.agents[0].accessible_agents} == {
            a.name for a in original.agents[0].accessible_agents}

        original.run(2)
        restored.run(2)  # the seeded shuffle continues from the restored generator state
        assert _history(restored) == _history(original)
        assert restored.current_step == original.current_step == 4


def test_loading_a_state_into_the_wrong_world_or_agent_is_an_error() -> None:
    world = _world()
    state = world.to_state()
    other = TinyWorld("Elsewhere", client=_client())
    try:
        other.load_state(state)
    except ValueError as exc:
        assert "Room" in str(exc) and "Elsewhere" in str(exc)
    else:
        raise AssertionError("loading another world's state must fail")
    try:
        world.agents[0].load_state(world.agents[1].to_state())
    except ValueError as exc:
        assert "Ben" in str(exc) and "Ana" in str(exc)
    else:
        raise AssertionError("loading another agent's state must fail")
