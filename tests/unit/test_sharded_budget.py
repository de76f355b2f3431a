"""A run's budget holds when its turns run in workers: the driver lends each shard a share of what is left,
the worker's client refuses a call that could pass it, and the driver charges what the worker used. The
calls really made never pass the limit, and the run stops at the same step, with the same turns kept and
failed, as with the local executor; in this process (pickled messages) and in worker processes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from helpers import START
from test_sharded_components import ProcessShards
from test_sharded_executor import NAMES, InProcessShards, NameScript, ScriptFactory

from tinytroupe.agent import TinyPerson
from tinytroupe.config import Settings
from tinytroupe.control import Simulation
from tinytroupe.environment import LocalExecutor, TinyWorld
from tinytroupe.environment.executors import Executor
from tinytroupe.errors import BudgetExceeded, InvalidState
from tinytroupe.events import Event
from tinytroupe.llm import Budget, BudgetWrapper, LLMClient, ModelPrice, PriceTable, ScriptedBackend
from tinytroupe.llm.client_spec import ClientSpec
from tinytroupe.llm.factory import build_client
from tinytroupe.storage.trace_store import Trace

#: $1 per 1,000 tokens, prompt or answer: a scripted call's worst case is about a dollar
PRICES = PriceTable(as_of="test", models={"scripted": ModelPrice(input=1_000.0, output=1_000.0)})


class Run:
    """One 3-step run of six agents under ``budget``: the world, its events, its client, how it stopped."""

    def __init__(self, executor: Executor, budget: Budget, *, prices: PriceTable | None = None) -> None:
        self.backend = ScriptFactory(NameScript(NAMES))()
        self.client = build_client(Settings(), backend=self.backend, budget=budget, prices=prices)
        self.events: list[Event] = []
        self.client.bus.subscribe(self.events.append)
        agents = [TinyPerson(n) for n in NAMES]
        self.world = TinyWorld("Room", agents, initial_datetime=START, client=self.client, seed=7,
                               executor=executor, parallelize=True, communication_display=False)
        self.world.broadcast("Good morning! Tell your neighbour your plans.", "Host")
        self.stopped: BudgetExceeded | None = None
        try:
            self.world.run(3, timedelta_per_step=timedelta(minutes=5))
        except BudgetExceeded as exc:
            self.stopped = exc

    @property
    def wrapper(self) -> BudgetWrapper:
        found = self.client.backend.find(BudgetWrapper)  # type: ignore[attr-defined]
        assert isinstance(found, BudgetWrapper)
        return found

    def outcome(self) -> dict[str, Any]:
        """What must match between executors: where the run stopped, which turns failed and how, every
        agent's state, the calls and tokens counted, and the budget's own account."""
        spent = self.wrapper.spent()
        return {"step": self.world.current_step, "stopped": self.stopped is not None,
                "limit": None if self.stopped is None else self.stopped.limit,
                "errors": [(e.agent, e.step, e.error_type) for e in self.world.errors],
                "states": [a.to_state() for a in self.world.agents],
                "ledger": {k: v for k, v in self.client.get_cost_stats()["total"].items() if k != "latency_s"},
                "spent": {k: spent[k] for k in ("calls", "prompt_tokens", "completion_tokens")},
                "warnings": sorted(e.agent or "" for e in self.events if e.kind == "warning"
                                   and getattr(e, "code", "") == "budget_exceeded")}


def worker_requests(executor: InProcessShards) -> int:
    """The calls the workers' backends really received."""
    total = 0
    for worker in executor.workers.values():
        scripted = worker.client.backend.find(ScriptedBackend)  # type: ignore[attr-defined]
        assert isinstance(scripted, ScriptedBackend)
        total += len(scripted.requests)
    return total


def in_process(workers: int = 2) -> InProcessShards:
    return InProcessShards(workers, ClientSpec.from_settings(Settings(), backend_factory=ScriptFactory(
        NameScript(NAMES))))


@pytest.mark.parametrize(("limit", "workers"), [(16, 2), (13, 2), (17, 4), (2, 3)])
def test_a_call_budget_holds_across_workers_as_it_does_locally(limit: int, workers: int) -> None:
    local = Run(LocalExecutor(), Budget(max_calls=limit))
    executor = in_process(workers)
    run = Run(executor, Budget(max_calls=limit))
    assert worker_requests(executor) == run.client.get_cost_stats()["total"]["calls"] <= limit
    assert len(run.backend.requests) == 0  # every call was a worker's
    assert run.stopped is not None and run.stopped.limit == "calls"
    assert run.outcome() == local.outcome()
    # the turns that ran before the refusal stand, and the refused ones invented nothing
    failed = {e.agent for e in run.world.errors}
    assert failed and all(e.error_type == "BudgetExceeded" for e in run.world.errors)
    last = run.world.current_step
    assert [a.turns for a in run.world.agents] == [last - (a.name in failed) for a in run.world.agents]


def test_a_token_and_a_cost_budget_are_never_passed() -> None:
    for budget in (Budget(max_tokens=9_000), Budget(max_cost_usd=9.0)):
        local = Run(LocalExecutor(), budget, prices=PRICES)
        executor = in_process(2)
        run = Run(executor, budget, prices=PRICES)
        total = run.client.get_cost_stats()["total"]
        assert worker_requests(executor) == total["calls"]
        assert run.stopped is not None and run.stopped.limit == local.stopped.limit  # type: ignore[union-attr]
        real_cost = PRICES.cost("scripted", total["prompt_tokens"], total["completion_tokens"])
        assert total["total_tokens"] <= (budget.max_tokens or 10**9)
        assert real_cost is not None and real_cost <= (budget.max_cost_usd or 10**9)
        assert run.wrapper.spent()["cost_usd"] == pytest.approx(real_cost)
        # the worst cases are split between the workers, so it stops no later than locally
        assert run.world.current_step <= local.world.current_step and total["calls"] <= local.outcome()["ledger"][
            "calls"]


def test_without_a_budget_nothing_is_lent_and_nothing_changes() -> None:
    client = build_client(Settings(), backend=ScriptFactory(NameScript(NAMES))())
    executor = in_process(2)
    world = TinyWorld("Room", [TinyPerson(n) for n in NAMES], initial_datetime=START, client=client,
                      executor=executor, communication_display=False)
    world.run(2)
    assert world.errors == [] and worker_requests(executor) == 12
    for worker in executor.workers.values():
        slot = worker.client.backend.find(BudgetWrapper)  # type: ignore[attr-defined]
        assert isinstance(slot, BudgetWrapper) and not slot.budget.limited and slot.exceeded is None


def test_a_spent_budget_refuses_every_turn_of_the_next_step_in_the_workers() -> None:
    executor = in_process(2)
    run = Run(executor, Budget(max_calls=6))  # step 1 spends it exactly
    assert run.world.current_step == 2 and worker_requests(executor) == 6
    assert sorted(e.agent for e in run.world.errors) == sorted(NAMES)
    assert run.outcome() == Run(LocalExecutor(), Budget(max_calls=6)).outcome()
    with pytest.raises(BudgetExceeded):
        run.world.run(1)  # the driver's budget stays stopped, as locally
    assert worker_requests(executor) == 6


def test_agents_drawing_on_different_budgets_are_refused_by_sharded_execution() -> None:
    client = build_client(Settings(), backend=ScriptFactory(NameScript(NAMES))(), budget=Budget(max_calls=9))
    agents = [TinyPerson(n) for n in NAMES[:2]]
    agents[1].client = LLMClient(ScriptFactory(NameScript(NAMES))())
    world = TinyWorld("Room", agents, initial_datetime=START, client=client, executor=in_process(2))
    with pytest.raises(InvalidState, match=r"Agent1.*budget.*local executor"):
        world.run(1)


# ------------------------------------------------------------------------------------------ worker processes


@pytest.fixture
def processes() -> Iterator[ProcessShards]:
    executor = ProcessShards(2, ClientSpec.from_settings(Settings(), backend_factory=ScriptFactory(NameScript(NAMES))))
    try:
        yield executor
    finally:
        executor.close()


def test_a_budget_holds_in_worker_processes_and_the_stop_is_saved(processes: ProcessShards, tmp_path: Path) -> None:
    """A Simulation whose world's turns run in worker processes stops at the budget, having made no more
    calls than it allows, and keeps everything so far (a checkpoint labelled ``budget``, its trace)."""
    outcomes: dict[str, dict[str, Any]] = {}
    for name, executor in (("local", LocalExecutor()), ("processes", processes)):
        path = tmp_path / f"{name}.sqlite"
        sim = Simulation(path, seed=1, backend=ScriptFactory(NameScript(NAMES))(), quiet=True,
                         budget=Budget(max_calls=15), settings=Settings())
        with pytest.raises(BudgetExceeded), sim:
            world = TinyWorld("Room", [TinyPerson(n) for n in NAMES], initial_datetime=START, seed=7,
                              executor=executor, communication_display=False)
            world.broadcast("Good morning! Tell your neighbour your plans.", "Host")
            world.run(5, timedelta_per_step=timedelta(minutes=5))
        assert sim.last_checkpoint is not None and sim.last_checkpoint.label == "budget"
        with Trace(path) as trace:
            summary = trace.summary()
        assert summary["status"] == "budget_exceeded"
        outcomes[name] = {"step": world.current_step, "calls": summary["llm_calls"],
                          "errors": [(e.agent, e.step, e.error_type) for e in world.errors],
                          "states": [a.to_state() for a in world.agents]}
    assert outcomes["processes"] == outcomes["local"]
    assert outcomes["processes"]["calls"] == 15 and outcomes["processes"]["step"] == 3
