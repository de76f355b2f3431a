"""The run context: one object carries client, bus, settings, seed and clock to a run's worlds and agents;
a simulation lends its own through the scope and changes no process-wide setting."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from helpers import DONE_TURN, START, policy_client, turn

from tinytroupe import TinyPerson, TinyWorld, control
from tinytroupe.config import Settings, current_settings
from tinytroupe.config import current as current_config
from tinytroupe.context import RunContext, current_context, using_context
from tinytroupe.errors import InvalidArgumentType, SimulationError
from tinytroupe.events import Event, EventBus
from tinytroupe.llm import LLMClient, ScriptedBackend, UsageLedger
from tinytroupe.llm.default import get_default_client, process_default_client, set_default_client


def talk_to_the_other(name: str, _request: object) -> object:
    return turn(("TALK", f"hello from {name}", "Ben" if name == "Ana" else "Ana"))


def test_a_simulation_lends_its_context_without_touching_process_defaults(tmp_path: Path) -> None:
    process_client, _ = policy_client(lambda n, r: DONE_TURN)
    previous = set_default_client(process_client)
    settings_before = current_settings()
    try:
        sim = control.begin(tmp_path / "run.sqlite", seed=99, backend=policy_client(talk_to_the_other)[1],
                            quiet=True)
        try:
            world = TinyWorld("Room", [TinyPerson("Ana"), TinyPerson("Ben")])
            assert current_context() is sim.context and world.context.simulation_id == sim.id
            assert world.client is sim.client and world.bus is sim.bus and world.seed == 99
            assert get_default_client() is sim.client  # the compatibility path sees the simulation's
            assert process_default_client() is process_client  # the process default was never replaced
            # the run's settings (with its seed) are the ones in force, the process's are untouched
            assert current_settings() is sim.context.settings and current_settings().simulation.seed == 99
            assert current_config._process_settings.peek() in (None, settings_before)
            assert world.current_datetime == sim.clock_start
        finally:
            control.end()
        assert current_context().client is process_client and get_default_client() is process_client
    finally:
        set_default_client(previous)


def test_a_world_follows_the_current_context_as_scopes_and_its_client_change() -> None:
    # world.context is kept between lookups while nothing it depends on changed: each change must show
    world = TinyWorld("Room", [TinyPerson("Ana")])
    outer = RunContext.for_client(LLMClient(ScriptedBackend([])))
    inner = RunContext(client=LLMClient(ScriptedBackend([])), bus=EventBus(), settings=Settings())
    with using_context(outer):
        assert world.context is outer and world.context is outer
        with using_context(inner):
            assert world.context is inner and world.bus is inner.bus
        assert world.context is outer
        own = LLMClient(ScriptedBackend([]))
        world.client = own
        assert world.context.client is own and world.bus is own.bus  # the default-style context follows it
        world.client = None
        assert world.context is outer
    first, _ = policy_client(lambda n, r: DONE_TURN)
    previous = set_default_client(first)
    try:
        assert world.context.client is first  # no scope: the process default, whichever it is now
        second, _ = policy_client(lambda n, r: DONE_TURN)
        set_default_client(second)
        assert world.context.client is second
    finally:
        set_default_client(previous)


def test_an_agent_with_its_own_client_publishes_where_its_world_does_under_a_simulation(tmp_path: Path) -> None:
    own, _ = policy_client(talk_to_the_other)
    sim = control.begin(tmp_path / "run.sqlite", backend=policy_client(talk_to_the_other)[1], quiet=True)
    try:
        seen: list[Event] = []
        sim.bus.subscribe(seen.append)
        world = TinyWorld("Room", [TinyPerson("Ana"), TinyPerson("Ben", client=own)], initial_datetime=START)
        world.run(1)
        ben = world.get_agent_by_name("Ben")
        assert ben is not None and ben.client is own and ben.bus is sim.bus
        kinds = {(e.kind, e.agent) for e in seen}
        assert ("action", "Ben") in kinds and ("llm_call", "Ben") in kinds  # in the run's trace
        # usage: each client counts the calls it made, wherever their events went
        assert own.get_cost_stats()["by_agent"]["Ben"]["calls"] == 1
        assert "Ben" not in sim.client.get_cost_stats()["by_agent"]
        assert sim.client.get_cost_stats()["by_agent"]["Ana"]["calls"] == 1
    finally:
        control.end()
    assert "Ben" in {e["agent"] for e in sim.trace().events(kinds=["llm_call"])}


def test_a_world_given_a_context_hands_it_to_its_agents() -> None:
    client, _ = policy_client(talk_to_the_other)
    bus = EventBus()
    ctx = RunContext(client=client, bus=bus, settings=Settings(simulation={"max_actions_per_turn": 2}), seed=5,
                     clock_start=datetime(2030, 5, 1, 8, 0))
    seen: list[Event] = []
    bus.subscribe(seen.append, kinds=["action"])
    run_usage = UsageLedger()
    run_usage.attach(bus)
    world = TinyWorld("Room", [TinyPerson("Ana"), TinyPerson("Ben")], context=ctx)
    assert world.seed == 5 and world.current_datetime == datetime(2030, 5, 1, 8, 0)
    world.run(1)
    assert {e.agent for e in seen} == {"Ana", "Ben"}
    assert all(a.context.bus is bus and a.client is client for a in world.agents)
    # the calls' events went to the client's bus and to the run's: each bus's ledger counts them once
    assert client.bus is not bus and client.get_cost_stats()["total"]["calls"] == 2
    assert run_usage.stats()["total"]["calls"] == 2
    agent = TinyPerson("Cy", context=ctx)
    assert agent.max_actions_per_turn == 2  # defaults come from the context's settings


def test_using_context_makes_it_current_and_registers_what_is_made_inside() -> None:
    client, _ = policy_client(lambda n, r: DONE_TURN)
    ctx = RunContext.for_client(client, seed=3)
    with using_context(ctx):
        ana = TinyPerson("Ana")
        assert ana.client is client and ana.bus is client.bus
        assert TinyPerson.get_agent_by_name("Ana") is ana
        assert TinyWorld("Room").seed == 3
    assert current_context() is not ctx
    with pytest.raises(InvalidArgumentType, match="RunContext"), using_context("not a context"):  # type: ignore[arg-type]
        pass
    with pytest.raises(InvalidArgumentType, match="RunContext"):
        TinyWorld("Room", context=client)  # type: ignore[arg-type]


def test_a_lone_agent_with_its_own_client_publishes_on_that_client_s_bus() -> None:
    own = LLMClient(policy_client(lambda n, r: DONE_TURN)[1])
    ana = TinyPerson("Ana", client=own)
    assert ana.bus is own.bus and ana.context.client is own
    ana.listen_and_act("hi")
    assert own.get_cost_stats()["total"]["calls"] == 1


def test_only_one_simulation_runs_and_it_is_found_on_the_scope(tmp_path: Path) -> None:
    sim = control.begin(tmp_path / "a.sqlite", backend=policy_client(lambda n, r: DONE_TURN)[1], quiet=True)
    try:
        assert control.current_simulation() is sim
        with pytest.raises(SimulationError, match="still running"):
            control.begin(tmp_path / "b.sqlite", quiet=True)
    finally:
        control.end()
    assert control.current_simulation() is None


def test_a_simulation_s_settings_reach_what_reads_the_settings_in_force(tmp_path: Path) -> None:
    """Memory sizes, the Ray workers' client spec and anything else reading current_settings() see the
    settings given to begin(), as before the run context (review finding)."""
    settings = Settings(memory={"max_episodic_memory_size": 7}, cognition={"recent_window": 3})
    control.begin(tmp_path / "run.sqlite", settings=settings, backend=policy_client(lambda n, r: DONE_TURN)[1],
                  quiet=True)
    try:
        ana = TinyPerson("Ana")
        assert ana.recent_window == 3 and ana.memory.max_size == 7
    finally:
        control.end()


def test_each_client_counts_only_its_own_calls_on_a_shared_bus() -> None:
    """An agent with its own model publishes on its world's bus, which is the default client's: the
    default client's figures must not include that agent's calls (review finding)."""
    default, _ = policy_client(lambda n, r: DONE_TURN)
    own, _ = policy_client(lambda n, r: DONE_TURN)
    previous = set_default_client(default)
    try:
        world = TinyWorld("Room", [TinyPerson("Ana", client=own), TinyPerson("Ben")], initial_datetime=START)
        world.run(1)
        assert own.get_cost_stats()["total"]["calls"] == 1
        assert default.get_cost_stats()["total"]["calls"] == 1  # Ben's only
        assert TinyPerson.get_global_cost_stats()["base_stats"]["model_calls"] == 1
        shared = UsageLedger()
        a = LLMClient(ScriptedBackend(["ok"]), bus=world.bus, ledger=shared)
        b = LLMClient(ScriptedBackend(["ok"]), bus=world.bus, ledger=shared)
        a.complete([{"role": "user", "content": "x"}])
        b.complete([{"role": "user", "content": "y"}])
        assert shared.stats()["total"]["calls"] == 2  # once each, though attached twice to one bus
    finally:
        set_default_client(previous)
