"""Sharded steps ship deltas: full states the first time a worker sees an agent (and after it was lost,
or when a delta would carry most of the state), deltas after that, with the same results as the local
executor. Workers run in-process behind a pickle round trip (see ``test_sharded_executor``)."""

from __future__ import annotations

import pickle
from datetime import timedelta

from helpers import START
from sharding_support import NAMES, NameScript, ScriptFactory, signature, usage
from test_sharded_executor import InProcessShards

from tinytroupe.agent import TinyPerson
from tinytroupe.config import Settings
from tinytroupe.environment import LocalExecutor, TinyWorld
from tinytroupe.environment.distributed.messages import ShardRequest, ShardResult
from tinytroupe.environment.executors import Executor
from tinytroupe.events import Event
from tinytroupe.llm.client_spec import ClientSpec
from tinytroupe.llm.factory import build_client


class Recording(InProcessShards):
    """In-process shards that keep every request and result (as the workers received and sent them)."""

    def __init__(self, script: NameScript) -> None:
        super().__init__(2, ClientSpec.from_settings(Settings(), backend_factory=ScriptFactory(script)))
        self.requests: list[ShardRequest] = []
        self.results: list[ShardResult] = []

    async def _call(self, worker: int, request: ShardRequest) -> ShardResult:
        result = await super()._call(worker, request)
        self.requests.append(pickle.loads(pickle.dumps(request)))
        self.results.append(result)
        return result

    def step_items(self, step: int) -> dict[str, str]:
        """Agent name → ``state`` or ``delta``: how each agent's turn went to its worker in ``step``."""
        return {item.name: "state" if item.state is not None else "delta"
                for request in self.requests if request.step == step for item in request.agents}


def run(executor: Executor, script: NameScript, steps: int, *, rewrite: str | None = None
        ) -> tuple[TinyWorld, list[Event]]:
    """Run ``steps`` steps; with ``rewrite``, that agent's memory is replaced by 30 new items after step 1."""
    client = build_client(Settings(), backend=ScriptFactory(script)())
    events: list[Event] = []
    client.bus.subscribe(events.append)
    world = TinyWorld("Room", [TinyPerson(n) for n in NAMES], initial_datetime=START, client=client, seed=7,
                      executor=executor, parallelize=True)
    world.broadcast("Good morning! Tell your neighbour your plans.", "Host")
    world.run(1, timedelta_per_step=timedelta(minutes=5))
    if rewrite is not None:
        agent = world.get_agent_by_name(rewrite)
        assert agent is not None
        agent.memory.clear()
        for n in range(30):
            agent.listen(f"a whole new memory, number {n}", source="Host")
    world.run(steps - 1, timedelta_per_step=timedelta(minutes=5))
    return world, events


def test_steps_after_the_first_ship_deltas_with_the_local_executor_s_results() -> None:
    script = NameScript(NAMES)
    local, local_events = run(LocalExecutor(), script, 3)
    executor = Recording(script)
    world, events = run(executor, script, 3)
    assert set(executor.step_items(1).values()) == {"state"}
    assert set(executor.step_items(2).values()) == set(executor.step_items(3).values()) == {"delta"}
    assert all(r.state is None and r.delta is not None for res in executor.results for r in res.results)
    assert [a.to_state() for a in world.agents] == [a.to_state() for a in local.agents]
    assert signature(events) == signature(local_events)
    # the world's list of agents went once per worker; the options too
    assert [r.present for r in executor.requests if r.step == 3] == [None, None]
    assert all(item.options is None for r in executor.requests if r.step > 1 for item in r.agents)


def test_a_memory_rewritten_on_the_driver_goes_whole_and_results_still_match() -> None:
    script = NameScript(NAMES)
    local, local_events = run(LocalExecutor(), script, 3, rewrite="Agent3")
    executor = Recording(script)
    world, events = run(executor, script, 3, rewrite="Agent3")
    sent = executor.step_items(2)
    assert sent.pop("Agent3") == "state" and set(sent.values()) == {"delta"}  # the fallback, for that agent only
    assert executor.step_items(3)["Agent3"] == "delta"  # and deltas again once both sides agree
    assert [a.to_state() for a in world.agents] == [a.to_state() for a in local.agents]
    assert signature(events) == signature(local_events)


def test_a_lost_worker_s_agents_go_whole_to_its_replacement() -> None:
    script = NameScript(NAMES)
    executor = Recording(script)
    executor.lose.add(1)
    client = build_client(Settings(), backend=ScriptFactory(script)())
    world = TinyWorld("Room", [TinyPerson(n) for n in NAMES], initial_datetime=START, client=client,
                      executor=executor, parallelize=True)
    world.run(1)  # worker 0 gets its agents; worker 1 is lost before its turns end
    executor.requests.clear()
    world.run(2)
    first = executor.step_items(2)
    assert {first[n] for n in NAMES[1::2]} == {"state"} and {first[n] for n in NAMES[0::2]} == {"delta"}
    assert set(executor.step_items(3).values()) == {"delta"}
    assert usage(client)["total"]["calls"] == 6 + 6 + 3
