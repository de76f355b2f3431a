"""The Ray executor on a local Ray instance started here: same results as the local executor."""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

# Ray reads this when imported: "0" keeps the test's instance on 127.0.0.1.
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
ray = pytest.importorskip("ray")

from helpers import START  # noqa: E402
from sharding_support import (  # noqa: E402
    NAMES,
    ComponentScript,
    NameScript,
    ScriptFactory,
    comparable,
    run_world,
    signature,
    usage,
)
from typer.testing import CliRunner  # noqa: E402

from tinytroupe.agent import TinyPerson  # noqa: E402
from tinytroupe.cli import app  # noqa: E402
from tinytroupe.config import Settings  # noqa: E402
from tinytroupe.environment import LocalExecutor, TinyWorld  # noqa: E402
from tinytroupe.environment.executors import Executor  # noqa: E402
from tinytroupe.environment.ray_executor import RayExecutor  # noqa: E402
from tinytroupe.errors import LLMTransportError  # noqa: E402
from tinytroupe.events import Event  # noqa: E402
from tinytroupe.llm import ScriptedBackend  # noqa: E402
from tinytroupe.llm.client_spec import ClientSpec  # noqa: E402
from tinytroupe.llm.factory import build_client  # noqa: E402

pytestmark = pytest.mark.integration

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "focus_group.yaml"


@pytest.fixture(scope="module", autouse=True)
def ray_instance() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
    # The actors cannot import the tests' modules: ship their classes and functions (the scripts) by value.
    modules = [sys.modules[name] for name in (__name__, "sharding_support", "helpers")]
    for module in modules:
        ray.cloudpickle.register_pickle_by_value(module)
    try:
        yield
    finally:
        for module in modules:
            ray.cloudpickle.unregister_pickle_by_value(module)
        ray.shutdown()


def ray_executor(script: NameScript) -> RayExecutor:
    return RayExecutor(2, client_spec=ClientSpec.from_settings(Settings(), backend_factory=ScriptFactory(script)))


def test_ray_executor_gives_the_same_results_as_the_local_executor() -> None:
    script = NameScript(NAMES)
    local_world, local_events, local_client = run_world(LocalExecutor(), script, steps=3)
    executor = ray_executor(script)
    try:
        world, events, client = run_world(executor, script, steps=3)
        shards = ray.get([actor.agent_names.remote() for actor in executor._actors if actor is not None])
    finally:
        executor.close()
    assert shards == [NAMES[0::2], NAMES[1::2]]  # two actors, three agents each, round-robin
    assert client.backend.find(ScriptedBackend).calls == 0  # type: ignore[attr-defined]  # all in the actors
    assert [e.kind for e in events].count("action") == 6 * 3 * 2
    assert signature(events) == signature(local_events)
    assert [a.to_state() for a in world.agents] == [a.to_state() for a in local_world.agents]
    # the actors' calls are in the driver's ledger and in the world's metrics
    assert usage(client) == usage(local_client) and usage(client)["total"]["calls"] == 18
    assert world.get_parallel_metrics()["llm_calls"] == 18
    assert world.errors == []


def run_component_world(executor: Executor) -> tuple[TinyWorld, list[Event]]:
    from tinytroupe.agent.emotions import EmotionComponent
    from tinytroupe.tools import TinyToolUse, TinyWordProcessor

    names = ["Feeler", "Writer", "Plain"]
    client = build_client(Settings(), backend=ScriptFactory(ComponentScript(names))())
    events: list[Event] = []
    client.bus.subscribe(events.append)
    agents = [TinyPerson("Feeler").add_component(EmotionComponent(baseline={"pleasure": 0.1})),
              TinyPerson("Writer").add_mental_faculty(TinyToolUse([TinyWordProcessor()])), TinyPerson("Plain")]
    world = TinyWorld("Room", agents, initial_datetime=START, client=client, seed=7, executor=executor,
                      parallelize=True)
    world.broadcast("Good morning! Tell your neighbour your plans.", "Host")
    world.run(2, timedelta_per_step=timedelta(minutes=5))
    return world, events


def test_agents_with_emotions_and_tools_give_the_same_results_as_the_local_executor() -> None:
    """The actors rebuild the agents' emotions and tool use from their specs (importing only tinytroupe's
    modules), and the components' states come back with the agents'."""
    local_world, local_events = run_component_world(LocalExecutor())
    executor = RayExecutor(2, client_spec=ClientSpec.from_settings(Settings(), backend_factory=ScriptFactory(
        ComponentScript(["Feeler", "Writer", "Plain"]))))
    try:
        world, events = run_component_world(executor)
    finally:
        executor.close()
    kinds = [e.kind for e in events]
    assert kinds.count("emotion") == 2 and kinds.count("tool_call") == 2 and world.errors == []
    assert comparable(events) == comparable(local_events)
    assert [a.to_state() for a in world.agents] == [a.to_state() for a in local_world.agents]
    assert world.agents[0].get_component("emotions").get_state()["turns"] == 2  # type: ignore[union-attr]


def test_a_failed_turn_in_an_actor_comes_back_as_a_record() -> None:
    script = NameScript(NAMES, fail=["Agent2"])
    executor = ray_executor(script)
    try:
        world, events, client = run_world(executor, script, steps=1)
    finally:
        executor.close()
    (error,) = world.errors
    assert (error.agent, error.step, error.error_type, error.message) == (
        "Agent2", 1, "LLMTransportError", "scripted failure for Agent2")
    assert isinstance(error.exception, LLMTransportError)
    (event,) = [e for e in events if e.kind == "agent_error"]
    assert (event.agent, event.world, event.step) == ("Agent2", "Room", 1)
    assert client.get_cost_stats()["by_agent"]["Agent2"]["errors"] == 1
    assert [a.turns for a in world.agents] == [1, 1, 0, 1, 1, 1]


def test_cli_run_with_the_ray_executor_matches_a_local_run(tmp_path: Path) -> None:
    outputs = {}
    for executor in ("local", "ray"):
        out = tmp_path / executor
        args = ["run", str(EXAMPLE), "--backend", "scripted", "--quiet", "--out", str(out), "--executor", executor]
        result = CliRunner().invoke(app, args + (["--workers", "2"] if executor == "ray" else []))
        assert result.exit_code == 0, result.output
        data = json.loads((out / "results.json").read_text())
        data.pop("wall_s")
        data["cost"].pop("latency_s")
        # the prompt-prefix meter sees the requests made in this process: Ray's are made in its workers
        assert (data.pop("prefix") is None) == (executor == "ray")
        outputs[executor] = data
    assert outputs["ray"] == outputs["local"]
    assert outputs["ray"]["cost"]["calls"] >= 9 and outputs["ray"]["results"]


def test_actors_reach_the_configured_endpoint_with_its_key() -> None:
    from tinytroupe.devtools.mock_openai_server import MockOpenAIServer

    with MockOpenAIServer(api_key="sk-ray-test") as server:
        settings = Settings.model_validate({"openai": {"api_type": "openai", "model": "mock-model",
                                                       "base_url": server.base_url, "api_key": "sk-ray-test"}})
        # The driver's own client points nowhere: every call that succeeds was made by an actor.
        client = build_client(settings.model_copy(update={"openai": settings.openai.model_copy(
            update={"base_url": "http://127.0.0.1:9/v1", "max_attempts": 1})}))
        executor = RayExecutor(2, client_spec=ClientSpec.from_settings(settings))
        # The mock's schema example TALKs to a target nobody has: keep those TALKs from going everywhere.
        world = TinyWorld("Room", [TinyPerson(n) for n in NAMES[:4]], initial_datetime=START, client=client,
                          executor=executor, broadcast_if_no_target=False)
        world.broadcast("Good morning!", "Host")
        try:
            world.run(1)
        finally:
            executor.close()
        chats = server.chat_requests()
    assert world.errors == []  # a wrong or missing key would be a 401, i.e. four failed turns
    assert len(chats) == 4 and client.get_cost_stats()["total"]["calls"] == 4
    assert sorted(a.turns for a in world.agents) == [1, 1, 1, 1]


def test_a_budget_holds_across_actors_as_it_does_locally() -> None:
    """The actors' calls spend the driver's budget: never more calls than it allows, and the same stop (step,
    refused turns, states) as the local executor."""
    from tinytroupe.errors import BudgetExceeded
    from tinytroupe.llm import Budget

    outcomes = {}
    for name in ("local", "ray"):
        script = NameScript(NAMES)
        client = build_client(Settings(), backend=ScriptFactory(script)(), budget=Budget(max_calls=16))
        executor = LocalExecutor() if name == "local" else ray_executor(script)
        world = TinyWorld("Room", [TinyPerson(n) for n in NAMES], initial_datetime=START, client=client, seed=7,
                          executor=executor, parallelize=True, communication_display=False)
        world.broadcast("Good morning! Tell your neighbour your plans.", "Host")
        try:
            with pytest.raises(BudgetExceeded):
                world.run(3, timedelta_per_step=timedelta(minutes=5))
        finally:
            if isinstance(executor, RayExecutor):
                executor.close()
        outcomes[name] = {"step": world.current_step, "calls": client.get_cost_stats()["total"]["calls"],
                          "errors": [(e.agent, e.step, e.error_type) for e in world.errors],
                          "states": [a.to_state() for a in world.agents]}
    assert outcomes["ray"] == outcomes["local"]
    assert outcomes["ray"]["calls"] == 16 and outcomes["ray"]["errors"] == [("Agent4", 3, "BudgetExceeded"),
                                                                           ("Agent5", 3, "BudgetExceeded")]


def test_cli_run_with_the_ray_executor_stops_at_the_budget_as_a_local_run(tmp_path: Path) -> None:
    from tinytroupe.cli import EXIT_BUDGET

    outputs = {}
    for executor in ("local", "ray"):
        out = tmp_path / executor
        args = ["run", str(EXAMPLE), "--backend", "scripted", "--quiet", "--out", str(out), "--executor", executor,
                "--max-calls", "4"]
        result = CliRunner().invoke(app, args + (["--workers", "2"] if executor == "ray" else []))
        assert result.exit_code == EXIT_BUDGET, result.output
        text = (out / "results.json").read_text()
        # an actor cannot know what the other actor made of its share: it says so where the driver says "made"
        data = json.loads(re.sub(r"\(\d+ made, \d+ in flight( or lent to other workers)?\)", "(...)", text))
        for key in ("wall_s", "prefix"):
            data.pop(key)
        data["cost"].pop("latency_s")
        outputs[executor] = data
    assert outputs["ray"] == outputs["local"]
    assert outputs["ray"]["cost"]["calls"] == 4 and "budget of 4 calls" in outputs["ray"]["stopped"]
