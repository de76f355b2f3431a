"""TinyWorld: routing of actions, the clock, interventions, names, and calling run from anywhere."""

from __future__ import annotations

import asyncio
import io
import threading
from datetime import timedelta
from typing import Any

import pytest
from helpers import DONE_TURN, START, done_client, heard, make_world, new_section, turn
from rich.console import Console

from tinytroupe.agent import TinyPerson
from tinytroupe.environment import TinyWorld
from tinytroupe.llm import LLMRequest


def scripted(per_agent: dict[str, list[dict[str, Any]]]) -> Any:
    """A policy giving each agent its scripted turns in order, then DONE."""
    queues = {name: list(turns) for name, turns in per_agent.items()}

    def policy(name: str, request: LLMRequest) -> dict[str, Any]:
        queue = queues.get(name)
        return queue.pop(0) if queue else DONE_TURN

    return policy


# ------------------------------------------------------------------------------------ routing

def test_talk_with_a_target_reaches_only_the_target() -> None:
    world, _ = make_world(["Ana", "Ben", "Cid"], scripted({"Ana": [turn(("TALK", "Hi Ben", "Ben"))]}))
    world.run(1)
    ana, ben, cid = world.agents
    assert heard(ben) == [("Ana", "Hi Ben")]
    assert heard(cid) == [] and heard(ana) == []


@pytest.mark.parametrize("target", ["", "Nobody"])
@pytest.mark.parametrize("broadcast", [True, False])
def test_talk_without_a_known_target_is_broadcast_only_when_configured(target: str, broadcast: bool) -> None:
    world, _ = make_world(["Ana", "Ben", "Cid"], scripted({"Ana": [turn(("TALK", "Hello all", target))]}),
                          broadcast_if_no_target=broadcast)
    ana, ben, cid = world.agents
    if target:
        # Someone who is not an agent here spoke to Ana, so she may answer them (a turn's target is
        # one of the people she knows of); the world has nobody by that name to deliver it to.
        ana.listen("psst", source=target)
    world.run(1)
    expected = [("Ana", "Hello all")] if broadcast else []
    assert heard(ben) == expected and heard(cid) == expected
    assert heard(ana) == ([(target, "psst")] if target else [])  # nobody hears their own broadcast


def test_talk_to_oneself_is_not_delivered_to_oneself() -> None:
    world, _ = make_world(["Ana", "Ben"], scripted({"Ana": [turn(("TALK", "note to self", "Ana"))]}),
                          broadcast_if_no_target=False)
    world.run(1)
    assert heard(world.agents[0]) == [] and heard(world.agents[1]) == []


def test_reach_out_makes_both_accessible_and_tells_both() -> None:
    world, _ = make_world(["Ana", "Ben"], scripted({"Ana": [turn(("REACH_OUT", "", "Ben"))]}))
    ana, ben = world.agents
    assert ana.accessible_agents == [] and ben.accessible_agents == []
    world.run(1)
    assert ana.accessible_agents == [ben] and ben.accessible_agents == [ana]
    ana_social = [i for i in ana.memory.items() if i.type == "SOCIAL"]
    ben_social = [i for i in ben.memory.items() if i.type == "SOCIAL"]
    assert len(ana_social) == 1 and "Ben was successfully reached out" in ana_social[0].content
    assert len(ben_social) == 1 and "Ana reached out to you" in ben_social[0].content
    assert ben_social[0].source == "Ana"


def test_reach_out_to_an_unknown_name_tells_the_agent() -> None:
    world, backend = make_world(["Ana", "Ben"], scripted({"Ana": [turn(("REACH_OUT", "", "Zed"))]}))
    ana, ben = world.agents
    ana.listen("I am Zed, call me some time", source="Zed")  # she knows the name; Zed is not in this world
    world.run(2)
    assert ana.accessible_agents == [] and ben.accessible_agents == []
    social = [i.content for i in ana.memory.items() if i.type == "SOCIAL"]
    assert social == ["You tried to reach out to 'Zed', but nobody by that name is here."]
    ana_step2 = next(r for r, c in zip(backend.requests, backend.contexts, strict=True)
                     if c.agent == "Ana" and c.step == 2)
    assert "nobody by that name" in new_section(ana_step2)


def test_think_actions_are_not_routed() -> None:
    world, _ = make_world(["Ana", "Ben"], scripted({"Ana": [turn(("THINK", "secret"))]}))
    world.run(1)
    assert all("secret" not in i.content for i in world.agents[1].memory.items())


def test_broadcast_helpers() -> None:
    client, _ = done_client()
    ana, ben = TinyPerson("Ana"), TinyPerson("Ben")
    world = TinyWorld("Room", [ana, ben], initial_datetime=START, client=client)
    world.broadcast("from Ana", source=ana)
    world.broadcast("from the host", source="Host")
    world.broadcast_thought("it is cold")
    world.broadcast_internal_goal("stay warm")
    world.broadcast_context_change(["winter"])
    assert heard(ana) == [("Host", "from the host")]
    assert heard(ben) == [("Ana", "from Ana"), ("Host", "from the host")]
    for agent in (ana, ben):
        types = [i.type for i in agent.memory.items()]
        assert types[-2:] == ["THOUGHT", "INTERNAL_GOAL_FORMULATION"]
        assert agent.cognitive_state.context == ["winter"]


def test_make_everyone_accessible() -> None:
    client, _ = done_client()
    agents = [TinyPerson(n) for n in ("Ana", "Ben", "Cid")]
    TinyWorld("Room", agents, client=client).make_everyone_accessible()
    assert [sorted(a.name for a in x.accessible_agents) for x in agents] == [
        ["Ben", "Cid"], ["Ana", "Cid"], ["Ana", "Ben"]]


# ------------------------------------------------------------------------------------ clock and stepping

def test_clock_advances_with_timedelta_per_step() -> None:
    world, backend = make_world(["Ana"], scripted({}))
    world.run(2, timedelta_per_step=timedelta(minutes=10))
    assert world.current_step == 2 and world.current_datetime == START + timedelta(minutes=20)
    assert "Date and time: 2025-01-06 09:20" in backend.requests[-1].messages[-1].content
    world.run(1)  # no timedelta: the clock stands still
    assert world.current_step == 3 and world.current_datetime == START + timedelta(minutes=20)
    world.run_minutes(3)
    assert world.current_datetime == START + timedelta(minutes=23) and world.current_step == 6
    world.run_hours(2)
    assert world.current_datetime == START + timedelta(hours=2, minutes=23) and world.current_step == 8
    assert [c.step for c in backend.contexts] == list(range(1, 9))


def test_skip_advances_clock_without_anyone_acting() -> None:
    world, backend = make_world(["Ana"], scripted({}))
    world.skip(3)
    assert world.current_step == 3 and world.current_datetime == START
    world.skip(2, timedelta(minutes=30))
    world.skip_minutes(5)
    world.skip_hours(1)
    world.skip_days(1)
    assert world.current_step == 3 + 2 + 5 + 1 + 1
    assert world.current_datetime == START + timedelta(days=1, hours=2, minutes=5)
    assert backend.calls == 0


def test_run_returns_actions_per_step_and_validates_steps() -> None:
    world, _ = make_world(["Ana", "Ben"], scripted({"Ana": [turn(("THINK", "a"))]}))
    history = world.run(2, return_actions=True)
    assert history is not None and len(history) == 2
    assert [a.type for a in history[0]["Ana"]] == ["THINK", "DONE"]
    assert [a.type for a in history[1]["Ana"]] == ["DONE"]
    assert world.run(1) is None
    with pytest.raises(ValueError, match="non-negative integer"):
        world.run(-1)
    assert world.run(0, return_actions=True) == []


def test_interventions_run_at_the_start_of_each_step_before_agents_act() -> None:
    world, backend = make_world(["Ana"], scripted({}))
    calls: list[int] = []

    def announce(w: TinyWorld) -> None:
        calls.append(w.current_step)
        w.broadcast(f"announcement {w.current_step}", source="Host")

    class OnlyOnEvenSteps:
        def __init__(self) -> None:
            self.applied: list[int] = []

        def check_precondition(self, w: TinyWorld) -> bool:
            return w.current_step % 2 == 0

        def apply_effect(self, w: TinyWorld) -> None:
            self.applied.append(w.current_step)
            w.broadcast_thought(f"even step {w.current_step}")

    even = OnlyOnEvenSteps()
    world.add_intervention(announce).add_intervention(even)
    world.run(3)
    assert calls == [1, 2, 3] and even.applied == [2]
    news = [new_section(r) for r in backend.requests]
    assert "announcement 1" in news[0] and "announcement 2" in news[1] and "announcement 3" in news[2]
    assert "even step 2" in news[1] and "even step" not in news[0] + news[2]


def test_a_full_communications_buffer_keeps_the_renderings_its_messages_had(caplog: pytest.LogCaptureFixture) -> None:
    # The buffer drops its oldest communications; a repeat whose first line was dropped still reads as
    # a repeat ("+ --> name"), as it did when it arrived.
    class SmallBuffer(TinyWorld):
        MAX_COMMUNICATIONS = 5

    world, _ = make_world(["Ana", "Ben", "Cai", "Dan"], scripted({"Ana": [turn(("TALK", "All of you", ""))]}),
                          world_cls=SmallBuffer, max_additional_targets_to_display=2, communication_display=False)
    world.run(1)  # the step, Ana's TALK, and Ben, Cai and Dan hearing it
    world.broadcast("Bye")
    kept = world.pop_and_display_latest_communications(Console(file=io.StringIO()))
    assert [(c["target"], c["rendering"]) for c in kept] == [
        ("Dan", "    + --> Dan"), ("Ana", "someone --> Ana: [CONVERSATION] Bye"), ("Ben", "        + --> Ben"),
        ("Cai", "        + --> Cai"), ("Dan", "        + --> (and more)")]
    assert kept[0] == {"kind": "stimuli", "rendering": "    + --> Dan", "source": "Ana", "target": "Dan", "step": 1,
                       "content": {"stimuli": [{"type": "CONVERSATION", "content": "All of you", "source": "Ana"}]}}
    assert sum("keeps the last 5 communications" in r.getMessage() for r in caplog.records) == 1
    world.clear_communications_buffer()
    assert world.pop_and_display_latest_communications(Console(file=io.StringIO())) == []


def test_a_bad_intervention_is_a_type_error() -> None:
    world, _ = make_world(["Ana"], scripted({}), interventions=[42])
    with pytest.raises(TypeError, match="neither callable"):
        world.run(1)


# ------------------------------------------------------------------------------------ names

def test_agent_names_are_unique_per_world() -> None:
    client, _ = done_client()
    world = TinyWorld("Room", [TinyPerson("Ana")], client=client)
    with pytest.raises(ValueError, match="already has an agent named 'Ana'"):
        world.add_agent(TinyPerson("Ana"))
    same = world.agents[0]
    world.add_agent(same)  # adding the same agent again is harmless
    assert len(world.agents) == 1
    with pytest.raises(TypeError, match="only TinyPerson"):
        world.add_agent("Ana")  # type: ignore[arg-type]


def test_two_worlds_can_each_have_an_ana_and_an_agent_lives_in_one_world() -> None:
    client, _ = done_client()
    first = TinyWorld("First", [TinyPerson("Ana")], client=client)
    second = TinyWorld("Second", [TinyPerson("Ana")], client=client)
    assert first.get_agent_by_name("Ana") is not second.get_agent_by_name("Ana")
    with pytest.raises(ValueError, match="already lives in world 'First'"):
        TinyWorld("Third", [first.agents[0]], client=client)
    ana = first.agents[0]
    first.remove_agent(ana)
    assert ana.environment is None and first.get_agent_by_name("Ana") is None
    TinyWorld("Third", [ana], client=client)  # free to join another world now
    with pytest.raises(ValueError, match="is not in world"):
        first.remove_agent(ana)


def test_no_leakage_between_worlds_with_the_same_names() -> None:
    w1, _ = make_world(["Ana", "Ben"], scripted({"Ana": [turn(("TALK", "only in world 1", "Ben"))]}))
    w2, _ = make_world(["Ana", "Ben"], scripted({}))
    w1.run(1)
    w2.run(1)
    assert heard(w1.agents[1]) == [("Ana", "only in world 1")]
    assert heard(w2.agents[1]) == []


def test_removing_an_agent_makes_it_inaccessible_to_others() -> None:
    client, _ = done_client()
    ana, ben = TinyPerson("Ana"), TinyPerson("Ben")
    world = TinyWorld("Room", [ana, ben], client=client)
    world.make_everyone_accessible()
    world.remove_all_agents()
    assert ana.accessible_agents == [] and ben.accessible_agents == [] and world.agents == []


# ------------------------------------------------------------------------------------ calling run

def test_run_works_inside_a_running_event_loop() -> None:
    # Jupyter runs cells inside an event loop; the sync API must still work there.
    world, _ = make_world(["Ana", "Ben"], scripted({"Ana": [turn(("TALK", "from a notebook", "Ben"))]}))

    async def cell() -> int:
        world.run(2)
        return world.current_step

    assert asyncio.run(cell()) == 2
    assert heard(world.agents[1]) == [("Ana", "from a notebook")]


async def test_arun_is_awaitable_from_async_code() -> None:
    world, _ = make_world(["Ana"], scripted({}))
    await world.arun(2)
    assert world.current_step == 2


def test_run_from_two_threads_on_two_worlds_at_once() -> None:
    worlds = [make_world(["Ana", "Ben"], scripted({"Ana": [turn(("TALK", f"hello {i}", "Ben"))] * 3}),
                         latency_s=0.02)[0] for i in range(2)]
    failures: list[BaseException] = []

    def work(world: TinyWorld) -> None:
        try:
            world.run(3)
        except BaseException as exc:  # re-raised below in the main thread
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in worlds]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    assert not failures, failures
    for i, world in enumerate(worlds):
        assert world.current_step == 3
        assert heard(world.agents[1]) == [("Ana", f"hello {i}")] * 3


def test_to_state_and_repr() -> None:
    world, _ = make_world(["Ana"], scripted({}), seed=3)
    world.run(1)
    data = world.to_state()
    assert data["step"] == 1 and data["agent_names"] == ["Ana"] and data["datetime"] == START.isoformat()
    assert [a["name"] for a in data["agents"]] == ["Ana"]
    assert repr(world) == "TinyWorld(name='Room', agents=1, step=1)"


def test_invalid_on_agent_error_policy() -> None:
    with pytest.raises(ValueError, match="on_agent_error"):
        TinyWorld("Room", on_agent_error="ignore")
