"""A run's budget holds when its turns run in workers: the driver lends each shard a share of what is left,
the worker's client refuses a call that could pass it, and the driver charges what the worker used. The
calls really made never pass the limit, and the run stops at the same step, with the same turns kept and
failed, as with the local executor; in this process (pickled messages) and in worker processes."""

from __future__ import annotations

import math
import pickle
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from helpers import START
from sharding_support import NAMES, NameScript, ScriptFactory
from test_sharded_components import ProcessShards
from test_sharded_executor import InProcessShards

from tinytroupe.agent import TinyPerson
from tinytroupe.config import Settings
from tinytroupe.control import Simulation
from tinytroupe.environment import LocalExecutor, TinyWorld
from tinytroupe.environment.executors import Executor
from tinytroupe.errors import BudgetExceeded, InvalidState
from tinytroupe.events import Event
from tinytroupe.llm import Budget, BudgetWrapper, LLMClient, ModelPrice, PriceTable, ScriptedBackend
from tinytroupe.llm.budget import BudgetFigures, ShareUse
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


@pytest.mark.parametrize("budget", [Budget(max_tokens=7_500), Budget(max_cost_usd=7.5)], ids=["tokens", "cost"])
def test_a_token_and_a_cost_budget_are_never_passed(budget: Budget) -> None:
    """Unbudgeted, the run uses 7,848 tokens ($7.85). Where a run under 7,500 stops depends, locally too, on how
    many calls are in flight at once (each holds its worst case, ~1,400 tokens, until it returns), so the
    outcome is not compared; but the limit is never passed, and the budget's account is the real one."""
    executor = in_process(2)
    run = Run(executor, budget, prices=PRICES)
    total = run.client.get_cost_stats()["total"]
    assert worker_requests(executor) == total["calls"] > 0
    assert run.stopped is not None and run.stopped.limit == ("tokens" if budget.max_tokens else "cost")
    real_cost = PRICES.cost("scripted", total["prompt_tokens"], total["completion_tokens"])
    assert real_cost is not None and real_cost <= (budget.max_cost_usd or math.inf)
    assert total["total_tokens"] <= (budget.max_tokens or math.inf)
    spent = run.wrapper.spent()
    assert (spent["calls"], spent["total_tokens"]) == (total["calls"], total["total_tokens"])
    assert spent["cost_usd"] == pytest.approx(real_cost)
    assert {e.error_type for e in run.world.errors} == {"BudgetExceeded"}


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


def test_a_lost_worker_s_share_counts_as_spent() -> None:
    """What a lost worker used is not known: its whole share is charged, so the calls the budget counts are
    at least those made, and the run still never passes it."""
    executor = in_process(2)
    executor.lose.add(1)
    run = Run(executor, Budget(max_calls=30))
    assert [(e.agent, e.error_type) for e in run.world.errors] == [(n, "ConnectionError") for n in NAMES[1::2]]
    made = run.client.get_cost_stats()["total"]["calls"]
    # step 1: worker 0 made 3 calls, worker 1 was lent 15 (5 per agent) and lost; steps 2 and 3 share the rest
    assert made == worker_requests(executor) == 3 + 6 + 6 and run.wrapper.spent()["calls"] == 30
    assert run.stopped is None and run.world.current_step == 3


# ------------------------------------------------------------------------------------------ the shares


HI = [{"role": "user", "content": "hi"}]


def test_shares_lend_what_is_left_and_a_worker_refuses_as_the_driver_would() -> None:
    driver = BudgetWrapper(ScriptedBackend(["ok"], cycle=True), Budget(max_calls=10))
    local = LLMClient(driver)
    for _ in range(3):
        local.complete(HI)
    shares = driver.lend([[0, 2], [1]])  # 7 calls left, dealt to three agents in order: 3, 2, 2
    assert [share.lent.calls for share in shares] == [5, 2]
    worker = BudgetWrapper(ScriptedBackend(["ok"], cycle=True), Budget())
    worker.arm(pickle.loads(pickle.dumps(shares[1])))  # as it travels
    remote = LLMClient(worker)
    remote.complete(HI)
    remote.complete(HI)
    refusal = r"the budget of 10 calls is used up \(5 made, 5 in flight or lent to other workers\)"
    with pytest.raises(BudgetExceeded, match=refusal) as err:
        remote.complete(HI, agent="Agent1")
    assert err.value.spent["calls"] == 5 and err.value.agent == "Agent1"
    use = pickle.loads(pickle.dumps(worker.used()))
    assert use.used.calls == 2 and isinstance(use.exceeded, BudgetExceeded)
    driver.settle(shares[1], use)
    driver.settle(shares[0], None)  # lost: all 5 count
    assert driver.spent()["calls"] == 10 and driver.exceeded is not None  # the worker's refusal stops it here too
    with pytest.raises(BudgetExceeded):
        local.complete(HI)
    late = driver.lend([[0]])[0]
    assert late.lent.calls == 0 and late.exceeded is not None
    worker.arm(late)
    with pytest.raises(BudgetExceeded, match="10 calls is used up"):
        remote.complete(HI)
    worker.arm(None)  # no share: no limit, nothing estimated, only counted
    assert remote.complete(HI).value == "ok" and worker.used().used.calls == 1


def test_shares_of_tokens_and_dollars_hold_calls_in_flight_and_each_other() -> None:
    prices = PriceTable(as_of="test", models={"scripted": ModelPrice(input=1_000_000.0, output=1_000_000.0)})
    driver = BudgetWrapper(ScriptedBackend(["ok"], cycle=True), Budget(max_cost_usd=30, max_tokens=31),
                           prices=prices)
    LLMClient(driver).complete(HI, max_tokens=5)  # "hi" + "ok": $2, 2 tokens
    first, second = driver.lend([[0, 1], [2]])
    assert (first.lent.cost_usd, second.lent.cost_usd) == (pytest.approx(56 / 3), pytest.approx(28 / 3))
    assert (first.lent.tokens, second.lent.tokens) == (20, 9)  # 29 left, dealt 10, 10, 9
    worker = BudgetWrapper(ScriptedBackend(["ok"], cycle=True), Budget())
    worker.arm(second)
    remote = LLMClient(worker)
    remote.complete(HI, max_tokens=5)  # worst case 6 tokens, $6: within 9 tokens and $9.33
    driver.settle(second, worker.used())
    driver.settle(first, ShareUse(used=BudgetFigures(calls=1, prompt_tokens=4, completion_tokens=2, cost_usd=6.0)))
    spent = driver.spent()
    assert (spent["calls"], spent["total_tokens"], spent["cost_usd"]) == (3, 10, pytest.approx(10.0))
    (rest,) = driver.lend([[0]])
    assert (rest.lent.tokens, rest.lent.cost_usd) == (21, pytest.approx(20.0))  # nothing is still held
    worker.arm(rest)
    remote.complete(HI, max_tokens=9)  # 10 tokens at worst: 2 used
    with pytest.raises(BudgetExceeded) as err:
        remote.complete(HI, max_tokens=19)  # 2 used + 20 > 21 left
    assert err.value.limit == "tokens" and "(12 used or reserved, this call up to 20)" in str(err.value)
    driver.settle(rest, worker.used())
    assert driver.spent()["total_tokens"] == 12 and driver.exceeded is not None


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
