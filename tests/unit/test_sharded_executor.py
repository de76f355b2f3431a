"""Sharded execution without Ray: the shard map, the client spec, and a world whose turns run in
:class:`ShardWorker` s behind a pickle round trip (what Ray's transport does) giving the same events,
states, errors and usage as the local executor."""

from __future__ import annotations

import pickle
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers import START
from sharding_support import NAMES, NameScript, ScriptFactory, run_world, signature, usage

from tinytroupe.agent import TinyPerson
from tinytroupe.config import Settings
from tinytroupe.environment import LocalExecutor, TinyWorld
from tinytroupe.environment.ray_executor import RayExecutor, import_ray
from tinytroupe.environment.shard import ShardedExecutor, ShardMap, ShardRequest, ShardResult, ShardWorker
from tinytroupe.errors import ConfigError, LLMTransportError, SimulationError
from tinytroupe.llm.client_spec import ClientSpec
from tinytroupe.llm.factory import build_client


def roundtrip(value: Any) -> Any:
    return pickle.loads(pickle.dumps(value))


class InProcessShards(ShardedExecutor):
    """ShardWorkers in this process, every message pickled both ways; ``lose`` names workers whose next call
    is lost in transit, ``crash`` workers whose next call fails otherwise."""

    name = "in-process"

    def __init__(self, num_workers: int, spec: ClientSpec) -> None:
        super().__init__(num_workers)
        self.spec = spec
        self.workers: dict[int, ShardWorker] = {}
        self.created = 0
        self.lose: set[int] = set()
        self.crash: set[int] = set()

    async def _prepare(self) -> None:
        for w in range(self.num_workers):
            if w not in self.workers:
                self.workers[w] = ShardWorker(roundtrip(self.spec))
                self.created += 1

    async def _call(self, worker: int, request: ShardRequest) -> ShardResult:
        if worker in self.lose:
            self.lose.discard(worker)
            raise ConnectionError(f"worker {worker} vanished")
        if worker in self.crash:
            raise RuntimeError("bug in the worker")
        result: ShardResult = roundtrip(await self.workers[worker].run_turns(roundtrip(request)))
        return result

    def _is_lost(self, exc: BaseException) -> bool:
        return isinstance(exc, ConnectionError)

    def _forget(self, worker: int) -> None:
        del self.workers[worker]


def sharded(script: NameScript, workers: int = 2) -> InProcessShards:
    return InProcessShards(workers, ClientSpec.from_settings(Settings(), backend_factory=ScriptFactory(script)))


# ------------------------------------------------------------------------------------------ shard map


def test_shard_map_is_round_robin_and_sticky() -> None:
    shards = ShardMap(3)
    keys = [("W", n) for n in "abcde"]
    assert shards.split(keys) == {0: [0, 3], 1: [1, 4], 2: [2]}
    # a later step with the agents in another order (and a newcomer) keeps every old assignment
    assert shards.split([("W", "e"), ("W", "f"), ("W", "a")]) == {0: [2], 1: [0], 2: [1]}
    assert shards.worker_for(("Other world", "a")) == 0  # same name elsewhere: a different agent
    with pytest.raises(ValueError, match="at least 1"):
        ShardMap(0)


# ------------------------------------------------------------------------------------------ client spec


def test_client_spec_carries_secrets_as_masked_values() -> None:
    spec = ClientSpec.from_settings(Settings(openai={"api_key": "sk-very-secret", "model": "m1"}))
    assert "sk-very-secret" not in repr(spec) and "sk-very-secret" not in str(spec.settings)
    again = roundtrip(spec).to_settings()
    assert again.openai.api_key is not None and again.openai.api_key.get_secret_value() == "sk-very-secret"
    assert again.openai.model == "m1"


def test_client_spec_builds_its_backend_in_every_process() -> None:
    spec = roundtrip(ClientSpec.from_settings(Settings(), backend_factory=ScriptFactory(NameScript(NAMES))))
    one, two = spec.build(), spec.build()
    assert one.describe()["backend"] == "scripted"
    assert one.backend is not two.backend and one.ledger is not two.ledger  # each worker its own


def test_client_spec_for_scripted_settings_rebuilds_the_demo_model() -> None:
    spec = roundtrip(ClientSpec.from_settings(Settings(openai={"api_type": "scripted"})))
    one, two = spec.build(), spec.build()
    assert one.describe()["backend"] == "scripted" and one.backend is not two.backend


# ------------------------------------------------------------------------------------------ same as local


@pytest.mark.parametrize("workers", [1, 2, 4])
def test_sharded_world_matches_the_local_executor(workers: int) -> None:
    script = NameScript(NAMES)
    local_world, local_events, local_client = run_world(LocalExecutor(), script)
    world, events, client = run_world(sharded(script, workers), script)
    assert [e.kind for e in events].count("action") == 6 * 3 * 2  # TALK + DONE per agent and step
    assert signature(events) == signature(local_events)
    assert [a.to_state() for a in world.agents] == [a.to_state() for a in local_world.agents]
    assert usage(client) == usage(local_client)
    assert usage(client)["total"]["calls"] == 18
    assert [m.llm_calls for m in world.step_metrics] == [6, 6, 6]  # the world's metrics see worker calls
    seqs = [e.seq for e in events]
    assert len(set(seqs)) == len(seqs)  # worker events got driver numbers: no clashes


def test_sequential_steps_match_the_local_executor() -> None:
    script = NameScript(NAMES)
    local_world, local_events, _ = run_world(LocalExecutor(), script, steps=2, parallelize=False)
    world, events, _ = run_world(sharded(script), script, steps=2, parallelize=False)
    assert signature(events) == signature(local_events)
    assert [a.to_state() for a in world.agents] == [a.to_state() for a in local_world.agents]


def test_a_recent_window_sliding_in_steps_gives_the_local_executor_s_prompts() -> None:
    # Where each agent's recent window starts travels in its state: the replies hash the prompts, so
    # any difference in a worker's window would show in the events.
    script = NameScript(NAMES)
    options = {"recent_window": 3, "recent_window_step": 4}
    local_world, local_events, _ = run_world(LocalExecutor(), script, steps=5, **options)
    world, events, _ = run_world(sharded(script), script, steps=5, **options)
    assert signature(events) == signature(local_events)
    assert [a.to_state() for a in world.agents] == [a.to_state() for a in local_world.agents]
    assert all(a.to_state()["recent_from"] > 1 for a in world.agents)  # the windows moved on


def test_agent_options_outside_the_state_reach_the_worker() -> None:
    executor = sharded(NameScript(NAMES))
    run_world(executor, NameScript(NAMES), steps=1, max_actions=3)
    worker_agents = [a for w in executor.workers.values() for a in w._agents.values()]
    assert len(worker_agents) == 6 and {a.max_actions_per_turn for a in worker_agents} == {3}


# ------------------------------------------------------------------------------------------ failures


def test_a_failed_turn_in_a_worker_comes_back_as_a_record() -> None:
    script = NameScript(NAMES, fail=["Agent2"])
    local_world, local_events, local_client = run_world(LocalExecutor(), script, steps=1)
    world, events, client = run_world(sharded(script), script, steps=1)
    assert [(e.agent, e.error_type, e.message) for e in world.errors] == [
        (e.agent, e.error_type, e.message) for e in local_world.errors] == [
        ("Agent2", "LLMTransportError", "scripted failure for Agent2")]
    assert isinstance(world.errors[0].exception, LLMTransportError)  # picklable: the original comes back
    assert signature(events) == signature(local_events)  # the AgentErrorEvent included
    assert usage(client)["total"]["errors"] == usage(local_client)["total"]["errors"] == 1


def test_an_unpicklable_exception_becomes_a_simulation_error_naming_it() -> None:
    script = NameScript(NAMES, odd=["Agent1"])
    world, _, _ = run_world(sharded(script), script, steps=1)
    (error,) = world.errors
    assert (error.agent, error.error_type, error.message) == ("Agent1", "OddError", "odd failure for Agent1")
    assert isinstance(error.exception, SimulationError)
    assert "OddError: odd failure" in str(error.exception) and "could not be pickled" in str(error.exception)


def test_stop_policy_raises_with_the_worker_failure_chained() -> None:
    script = NameScript(NAMES, fail=["Agent0"])
    client = build_client(Settings(), backend=ScriptFactory(script)())
    world = TinyWorld("Room", [TinyPerson(n) for n in NAMES], initial_datetime=START, client=client,
                      executor=sharded(script), on_agent_error="stop")
    with pytest.raises(SimulationError, match="Agent0") as info:
        world.run(1)
    assert isinstance(info.value.__cause__, LLMTransportError)


def test_a_lost_worker_fails_its_agents_turns_and_is_replaced() -> None:
    script = NameScript(NAMES)
    executor = sharded(script)
    executor.lose.add(1)
    world, events, _ = run_world(executor, script, steps=2)
    lost = [e for e in world.errors if e.step == 1]
    assert [e.agent for e in lost] == ["Agent1", "Agent3", "Agent5"]  # worker 1's shard
    assert all(e.error_type == "ConnectionError" and "worker was lost" in e.message for e in lost)
    assert [e for e in world.errors if e.step == 2] == []  # a new worker took over
    assert executor.created == 3
    assert sum(1 for e in events if e.kind == "agent_error") == 3
    assert all(a.turns == (1 if a.name in ("Agent1", "Agent3", "Agent5") else 2) for a in world.agents)


def test_any_other_worker_failure_is_a_simulation_error() -> None:
    script = NameScript(NAMES)
    executor = sharded(script)
    executor.crash.add(0)
    client = build_client(Settings(), backend=ScriptFactory(script)())
    world = TinyWorld("Room", [TinyPerson(n) for n in NAMES], initial_datetime=START, client=client,
                      executor=executor)
    with pytest.raises(SimulationError, match="worker 0 of the in-process executor failed") as info:
        world.run(1)
    assert isinstance(info.value.__cause__, RuntimeError)


# ------------------------------------------------------------------------------------------ Ray wiring


def test_ray_missing_is_a_config_error_naming_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now raises ImportError
    with pytest.raises(ConfigError, match=r'pip install -e "\.\[distributed\]"'):
        import_ray()
    with pytest.raises(ConfigError, match="distributed"):
        RayExecutor(2).start()


def test_ray_init_arguments_are_quiet_and_local_unless_an_address_is_given() -> None:
    local = RayExecutor(3, worker_cpus=0.5).init_args()
    assert local["num_cpus"] == 2 and local["include_dashboard"] is False and local["log_to_driver"] is False
    assert "address" not in local
    joined = RayExecutor(2, address="ray://head:10001", init_kwargs={"namespace": "sims"}).init_args()
    assert joined["address"] == "ray://head:10001" and "num_cpus" not in joined and joined["namespace"] == "sims"
    with pytest.raises(ValueError, match="num_workers"):
        RayExecutor(0)


def test_study_executor_builds_the_run_s_executor() -> None:
    from tinytroupe.llm.demo import demo_backend
    from tinytroupe.scenario.study import study_executor

    scripted = Settings(openai={"api_type": "scripted"})
    assert isinstance(study_executor("local", scripted), LocalExecutor)
    ray_executor = study_executor("ray", scripted, address="auto", workers=3)
    assert isinstance(ray_executor, RayExecutor) and ray_executor.num_workers == 3 and ray_executor.address == "auto"
    assert ray_executor.client_spec is not None and ray_executor.client_spec.backend_factory is demo_backend
    assert not ray_executor.started  # nothing starts until the run
    with pytest.raises(ConfigError, match="only apply to --executor ray"):
        study_executor("local", scripted, workers=2)
    with pytest.raises(ConfigError, match="unknown executor 'dask'"):
        study_executor("dask", scripted)


def test_cli_rejects_unknown_executors_and_ray_options_without_ray(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from tinytroupe.cli import app

    scenario = tmp_path / "s.yaml"
    scenario.write_text("name: x\n")
    bad = CliRunner().invoke(app, ["run", str(scenario), "--executor", "dask"])
    assert bad.exit_code == 2 and "--executor 'dask' is not one of: local, ray" in bad.output
    stray = CliRunner().invoke(app, ["run", str(scenario), "--workers", "2"])
    assert stray.exit_code == 2 and "only apply to --executor ray" in stray.output


def test_cli_with_ray_missing_says_how_to_install_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from tinytroupe.cli import app

    monkeypatch.setitem(sys.modules, "ray", None)
    example = Path(__file__).resolve().parents[2] / "examples" / "focus_group.yaml"
    result = CliRunner().invoke(app, ["run", str(example), "--backend", "scripted", "--quiet", "--executor", "ray",
                                      "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert "distributed" in result.output and "pip install" in result.output


def test_agents_with_components_a_worker_cannot_rebuild_are_refused_by_sharded_execution() -> None:
    """Workers rebuild agents from state, which carries specs, not code: an agent with a component that
    does not declare itself portable would act without it there, so the step refuses and says what to do.
    A changed set of built-in components travels with the state (see ``test_sharded_components``)."""
    from tinytroupe.agent.turn import TurnComponent
    from tinytroupe.errors import InvalidState

    client = build_client(Settings(), backend=ScriptFactory(NameScript(NAMES[:2]))())
    agents = [TinyPerson(n) for n in NAMES[:2]]
    agents[1].add_component(type("Mood", (TurnComponent,), {"name": "mood"})())
    world = TinyWorld("Room", agents, initial_datetime=START, client=client, executor=sharded(NameScript(NAMES[:2])))
    with pytest.raises(InvalidState, match=r"'Agent1' has turn components .*'mood'.*local executor"):
        world.run(1)
    agents[1].remove_component("mood")
    agents[0].remove_component("repetition_filter")
    world.run(1)
    assert world.errors == [] and [a.turns for a in agents] == [1, 1]
