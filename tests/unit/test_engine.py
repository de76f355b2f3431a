"""Stepping: parallel vs sequential visibility, determinism, timeouts, failures, and metrics."""

from __future__ import annotations

import asyncio
import copy
import hashlib
import pickle
from collections import defaultdict
from typing import Any, cast

import pytest
from helpers import DONE_TURN, START, Lockstep, VirtualClock, agent_of, heard, make_world, new_section, turn

from tinytroupe.agent import TinyPerson
from tinytroupe.environment import AgentTurnError, TinyWorld
from tinytroupe.environment.engine import TurnDeadlines
from tinytroupe.environment.executors import LocalExecutor
from tinytroupe.errors import LLMOutputError, LLMTransportError, SimulationError, StorageError
from tinytroupe.events import ActionEvent, AgentErrorEvent, Event, EventBus, StepEvent, StimulusEvent
from tinytroupe.llm import LLMClient, LLMRequest, ScriptedBackend

NAMES = ["Ana", "Ben", "Cid", "Dee"]


def chatty(name: str, request: LLMRequest) -> dict[str, Any]:
    """Everyone says to everyone who they are and which step it is."""
    step = request.messages[-1].content.split("Date and time: ", 1)[1][:16]
    return turn(("TALK", f"{name} speaking at {step}"))


# ------------------------------------------------------------------------------------ visibility

def test_parallel_step_acts_on_one_snapshot_and_delivers_after_the_step() -> None:
    world, backend = make_world(NAMES, chatty)
    events: list[Event] = []
    world.bus.subscribe(events.append, kinds=["action", "stimulus"])
    world.run(2, parallelize=True)

    step1 = [(str(c.agent), r) for r, c in zip(backend.requests, backend.contexts, strict=True) if c.step == 1]
    assert sorted(a for a, _ in step1) == sorted(NAMES)
    for _, request in step1:
        assert "speaking" not in request.messages[-1].content  # nobody saw a step-1 message in step 1
    step2 = [(str(c.agent), r) for r, c in zip(backend.requests, backend.contexts, strict=True) if c.step == 2]
    for name, request in step2:
        others = [n for n in NAMES if n != name]
        assert all(f'{o} said: "{o} speaking' in new_section(request) for o in others)
        assert f'{name} said:' not in new_section(request)

    # delivery happens after every action of the step has been published
    step1_events = [e for e in events if e.step == 1]
    kinds = [e.kind for e in step1_events]
    assert kinds == sorted(kinds)  # all "action" events, then all "stimulus" events
    # and the actions are published in the agents' list order, whatever finished first
    assert [e.agent for e in step1_events if isinstance(e, ActionEvent) and e.action_type == "TALK"] == NAMES
    for agent in world.agents:
        assert len(heard(agent)) == 2 * 3


def test_sequential_step_lets_later_agents_see_earlier_messages() -> None:
    world, backend = make_world(NAMES, chatty, seed=11)
    world.run(1, parallelize=False)
    order = [str(c.agent) for c in backend.contexts]
    assert sorted(order) == sorted(NAMES)
    for i, request in enumerate(backend.requests):
        new = new_section(request)
        for j, other in enumerate(order):
            if j < i:
                assert f'{other} said: "{other} speaking' in new
            else:
                assert f"{other} said:" not in new


def test_sequential_without_randomized_order_uses_list_order() -> None:
    world, backend = make_world(NAMES, chatty, seed=5)
    world.run(2, parallelize=False, randomize_agents_order=False)
    assert [c.agent for c in backend.contexts] == NAMES * 2


# ------------------------------------------------------------------------------------ determinism

def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def _run_trace(*, parallel: bool, seed: int) -> tuple[list[tuple[Any, ...]], list[str]]:
    """Events of a 3-step run whose replies depend on what each agent has seen, with random latency."""
    finished: list[str] = []

    def policy(name: str, request: LLMRequest) -> dict[str, Any]:
        seen = new_section(request)
        key = _digest(seen)
        target = NAMES[int(key, 16) % len(NAMES)]
        finished.append(name)
        return turn(("TALK", f"{name} saw {key}", target if target != name else ""), ("THINK", f"{name} {key}"))

    world, _ = make_world(NAMES, policy, seed=seed, random_latency=(0.0, 0.01))
    trace: list[tuple[Any, ...]] = []

    def record(event: Event) -> None:
        if isinstance(event, StimulusEvent):
            trace.append((event.kind, event.agent, event.stimulus_type, event.content, event.source, event.step))
        elif isinstance(event, ActionEvent):
            trace.append((event.kind, event.agent, event.action_type, event.content, event.target, event.step))

    world.bus.subscribe(record, kinds=["stimulus", "action"])
    world.broadcast("Welcome, what do you think?", source="Host")
    world.run(3, parallelize=parallel)
    return trace, finished


@pytest.mark.parametrize("parallel", [True, False], ids=["parallel", "sequential"])
def test_same_seed_gives_identical_traces_despite_random_latency(parallel: bool) -> None:
    first, finished_1 = _run_trace(parallel=parallel, seed=123)
    second, finished_2 = _run_trace(parallel=parallel, seed=123)
    assert len(first) > 40
    assert first == second
    if parallel:
        # the random latency really did change which call finished first
        assert finished_1 != finished_2 or finished_1 != NAMES * 3


def test_different_seeds_change_the_sequential_order() -> None:
    orders = {}
    for seed in (1, 2):
        world, backend = make_world(NAMES, lambda n, r: DONE_TURN, seed=seed)
        world.run(3, parallelize=False)
        orders[seed] = [c.agent for c in backend.contexts]
    assert orders[1] != orders[2]
    trace_1, _ = _run_trace(parallel=False, seed=1)
    trace_2, _ = _run_trace(parallel=False, seed=2)
    assert trace_1 != trace_2


# ------------------------------------------------------------------------------------ failures

def _hang_for(slow: str, hangs: dict[str, int]) -> ScriptedBackend:
    """``slow``'s calls hang for 30 s; ``hangs`` counts how many were cancelled and how many finished."""

    async def respond(request: LLMRequest) -> Any:
        name = agent_of(request)
        if name == slow:
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                hangs["cancelled"] += 1
                raise
            hangs["finished"] += 1
        return turn(("TALK", f"{name} here"))

    return ScriptedBackend(respond)


@pytest.mark.parametrize("parallel", [True, False], ids=["parallel", "sequential"])
def test_a_hanging_agent_times_out_and_the_others_carry_on(parallel: bool) -> None:
    hangs = {"cancelled": 0, "finished": 0}
    client = LLMClient(_hang_for("Ben", hangs))
    world = TinyWorld("Room", [TinyPerson(n) for n in ("Ana", "Ben", "Cid")], initial_datetime=START,
                      client=client, agent_timeout=0.2, seed=1)
    error_events: list[Event] = []
    world.bus.subscribe(error_events.append, kinds=["agent_error"])
    world.run(2, parallelize=parallel)
    assert hangs == {"cancelled": 2, "finished": 0}  # cut off at the timeout, never waited out
    assert world.current_step == 2
    assert [(e.agent, e.step, e.timed_out, e.error_type) for e in world.errors] == [
        ("Ben", 1, True, "TimeoutError"), ("Ben", 2, True, "TimeoutError")]
    assert isinstance(world.errors[0], AgentTurnError)
    assert "timed out" in world.errors[0].describe()
    assert [(e.agent, e.step) for e in error_events] == [("Ben", 1), ("Ben", 2)]
    assert all(isinstance(e, AgentErrorEvent) and e.timed_out for e in error_events)
    ana, ben, cid = world.agents
    assert sorted(heard(ben)) == [("Ana", "Ana here")] * 2 + [("Cid", "Cid here")] * 2  # Ben hears the others
    assert ("Cid", "Cid here") in heard(ana) and ("Ana", "Ana here") in heard(cid)
    metrics = world.get_parallel_metrics()
    assert metrics["timeouts"] == 2 and metrics["errors"] == 2


@pytest.mark.parametrize("bad_reply", ["this is not JSON", LLMTransportError("server down")],
                         ids=["invalid-json", "backend-raises"])
def test_a_failing_turn_is_recorded_and_the_run_continues(bad_reply: Any) -> None:
    def policy(name: str, request: LLMRequest) -> Any:
        return bad_reply if name == "Ben" else turn(("TALK", f"{name} fine"))

    world, _ = make_world(["Ana", "Ben", "Cid"], policy)
    error_events: list[Event] = []
    world.bus.subscribe(error_events.append, kinds=["agent_error"])
    world.run(2)
    assert world.current_step == 2
    assert [(e.agent, e.step, e.timed_out) for e in world.errors] == [("Ben", 1, False), ("Ben", 2, False)]
    error = world.errors[0]
    if isinstance(bad_reply, str):
        assert error.error_type == "LLMOutputError"
        assert isinstance(error.exception, LLMOutputError)
        assert error.exception.raw_text == "this is not JSON"
    else:
        assert error.error_type == "LLMTransportError" and error.exception is bad_reply
        assert "server down" in error.message
    assert [(e.agent, e.step, e.error_type) for e in error_events if isinstance(e, AgentErrorEvent)] == [
        ("Ben", s, error.error_type) for s in (1, 2)]
    assert heard(world.agents[1]).count(("Ana", "Ana fine")) == 2  # the others' actions are delivered
    assert world.agents[1].turns == 0
    assert world.to_state()["errors"][0] == {"agent": "Ben", "step": 1, "error_type": error.error_type,
                                             "message": error.message, "timed_out": False}


def test_failed_turn_records_survive_copy_and_pickle() -> None:
    # records travel to checkpoints and, with process executors, across process boundaries
    cause = LLMOutputError("no valid answer", raw_text="{oops", errors=["bad"], attempts=3)
    record = AgentTurnError("Ben", 2, "LLMOutputError", "no valid answer", False, cause)
    for clone in (copy.deepcopy(record), pickle.loads(pickle.dumps(record))):
        assert clone == record
        assert isinstance(clone.exception, LLMOutputError)
        assert (clone.exception.raw_text, clone.exception.errors, clone.exception.attempts) == ("{oops", ["bad"], 3)
        assert str(clone.exception) == str(cause)


@pytest.mark.parametrize("parallel", [True, False], ids=["parallel", "sequential"])
def test_on_agent_error_stop_raises_simulation_error_with_the_cause(parallel: bool) -> None:
    def policy(name: str, request: LLMRequest) -> Any:
        return "nonsense" if name == "Ben" else turn(("TALK", "ok"))

    world, _ = make_world(["Ana", "Ben"], policy, on_agent_error="stop", seed=2)
    with pytest.raises(SimulationError) as info:
        world.run(3, parallelize=parallel)
    err = info.value
    assert err.agent == "Ben" and err.step == 1
    assert "'Ben'" in str(err) and "step 1" in str(err) and "LLMOutputError" in str(err)
    assert isinstance(err.__cause__, LLMOutputError) and err.__cause__.raw_text == "nonsense"
    assert world.current_step == 1  # the run stopped after the failing step


def test_stop_policy_counts_further_failures_in_the_message() -> None:
    world, _ = make_world(["Ana", "Ben", "Cid"], lambda n, r: "garbage", on_agent_error="stop")
    with pytest.raises(SimulationError, match="and 2 more failed turns"):
        world.run(1)


# ------------------------------------------------------------------------------------ metrics

def test_parallel_metrics_report_the_overlap_as_a_speedup(monkeypatch: pytest.MonkeyPatch) -> None:
    # On a virtual clock, the four calls of a step take one second together: each turn lasts 1 s,
    # the step lasts 1 s, so the honest speed-up is exactly 4.
    clock = VirtualClock().install(monkeypatch)
    lockstep = Lockstep(lambda r: DONE_TURN, group=len(NAMES), clock=clock)
    world = TinyWorld("Room", [TinyPerson(n) for n in NAMES], initial_datetime=START,
                      client=LLMClient(ScriptedBackend(lockstep)))
    world.run(2)
    metrics = world.get_parallel_metrics()
    assert lockstep.peak == len(NAMES)
    assert len(metrics["steps"]) == 2
    assert metrics["llm_calls"] == 8 and metrics["errors"] == 0 and metrics["timeouts"] == 0
    assert metrics["total_wall_s"] == 2.0 and metrics["total_turn_time_s"] == 8.0 and metrics["speedup"] == 4.0
    first = metrics["steps"][0]
    assert first["step"] == 1 and first["parallel"] is True and first["agents"] == 4
    assert first["llm_calls"] == 4 and first["wall_s"] == 1.0 and first["speedup"] == 4.0


def test_sequential_metrics_show_no_speedup(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = VirtualClock().install(monkeypatch)
    lockstep = Lockstep(lambda r: DONE_TURN, group=1, clock=clock)  # each call alone takes 1 s
    world = TinyWorld("Room", [TinyPerson(n) for n in ("Ana", "Ben", "Cid")], initial_datetime=START,
                      client=LLMClient(ScriptedBackend(lockstep)))
    world.run(1, parallelize=False)
    metrics = world.get_parallel_metrics()
    assert metrics["steps"][0]["parallel"] is False and lockstep.peak == 1
    assert metrics["llm_calls"] == 3 and metrics["total_wall_s"] == 3.0 and metrics["speedup"] == 1.0


def test_max_workers_bounds_turns_in_flight() -> None:
    in_flight = 0
    peak = 0

    async def respond(request: LLMRequest) -> Any:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.02)
        in_flight -= 1
        return DONE_TURN

    world = TinyWorld("Room", [TinyPerson(n) for n in "ABCDEF"], client=LLMClient(ScriptedBackend(respond)),
                      max_workers=2)
    world.run(1)
    assert peak == 2


def test_metrics_can_be_turned_off_and_step_events_are_published() -> None:
    world, _ = make_world(["Ana", "Ben"], lambda n, r: DONE_TURN, collect_parallel_metrics=False)
    steps: list[Event] = []
    world.bus.subscribe(steps.append, kinds=["step"])
    world.run(2)
    assert world.get_parallel_metrics()["steps"] == [] and world.get_parallel_metrics()["speedup"] == 1.0
    assert [(e.phase, e.step) for e in steps if isinstance(e, StepEvent)] == [
        ("start", 1), ("end", 1), ("start", 2), ("end", 2)]
    end = steps[1]
    assert isinstance(end, StepEvent) and end.agents == 2 and end.wall_s is not None


def test_cost_stats_are_per_world_and_agent() -> None:
    world, _ = make_world(["Ana", "Ben"], lambda n, r: DONE_TURN)
    world.run(3)
    stats = world.get_cost_stats()
    assert stats["world"]["calls"] == 6
    assert {name: s["calls"] for name, s in stats["agents"].items()} == {"Ana": 3, "Ben": 3}


def test_turn_counts_per_agent_match_steps() -> None:
    counts: dict[str, int] = defaultdict(int)

    def policy(name: str, request: LLMRequest) -> dict[str, Any]:
        counts[name] += 1
        return DONE_TURN

    world, _ = make_world(NAMES, policy, random_latency=(0.0, 0.005))
    world.run(4)
    assert dict(counts) == {n: 4 for n in NAMES}
    assert all(a.turns == 4 for a in world.agents)


# ------------------------------------------------------------------------------------ shared deadlines


class _TimedAgent:
    """Stands in for an agent: its turn sleeps ``seconds``; ``swallow``: it catches a cancellation and ends."""

    def __init__(self, name: str, seconds: float, *, swallow: bool = False) -> None:
        self.name = name
        self.seconds = seconds
        self.swallow = swallow
        self.bus = EventBus()
        self.cancelled = False

    async def aact(self) -> None:
        try:
            await asyncio.sleep(self.seconds)
        except asyncio.CancelledError:
            self.cancelled = True
            if not self.swallow:
                raise


async def _run_turns(agents: list[_TimedAgent], timeout: float, max_workers: int | None) -> list[Any]:
    outcomes = await LocalExecutor().run_turns(cast(Any, agents), step=1, world="Room", timeout=timeout,
                                               max_workers=max_workers)
    return [(o.agent.name, o.error.error_type if o.error else None) for o in outcomes]


async def test_turns_sharing_one_timer_each_get_their_whole_timeout() -> None:
    # One at a time, each taking 3/4 of the timeout: a deadline counted from the first turn's start
    # would cut the later ones; each has its own, from when it got its worker.
    agents = [_TimedAgent(n, 0.15) for n in ("Ana", "Ben", "Cid")]
    assert await _run_turns(agents, 0.2, 1) == [("Ana", None), ("Ben", None), ("Cid", None)]
    assert not any(a.cancelled for a in agents)
    assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]


async def test_only_the_turn_whose_time_is_up_times_out_and_at_its_own_deadline() -> None:
    loop = asyncio.get_running_loop()
    agents = [_TimedAgent("Ana", 0.1), _TimedAgent("Ben", 30), _TimedAgent("Cid", 0.1)]
    started = loop.time()
    result = await _run_turns(agents, 0.25, 1)
    took = loop.time() - started
    assert result == [("Ana", None), ("Ben", "TimeoutError"), ("Cid", None)]
    assert [a.cancelled for a in agents] == [False, True, False]
    assert 0.1 + 0.25 <= took < 0.1 + 0.25 + 0.1 + 1.0  # Ben's deadline counts from his start, not Ana's


async def test_a_turn_that_swallows_its_timeout_ends_normally_and_leaves_no_cancellation_behind() -> None:
    agents = [_TimedAgent("Ana", 30, swallow=True), _TimedAgent("Ben", 0)]
    assert await _run_turns(agents, 0.05, None) == [("Ana", None), ("Ben", None)]  # as asyncio.timeout does
    assert agents[0].cancelled
    deadlines = TurnDeadlines(0.05)
    lone = _TimedAgent("Dee", 30, swallow=True)
    await deadlines.run(lone.aact)
    deadlines.close()
    # the task's cancellation was taken back: it goes on (and a later timeout in it works) as after asyncio.timeout
    assert lone.cancelled and asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]
    await asyncio.sleep(0)


async def test_cancelling_the_step_is_a_cancellation_not_a_timeout() -> None:
    agents = [_TimedAgent("Ana", 30), _TimedAgent("Ben", 30)]
    step = asyncio.ensure_future(_run_turns(agents, 10, None))
    await asyncio.sleep(0.05)
    step.cancel()
    with pytest.raises(asyncio.CancelledError):
        await step
    assert all(a.cancelled for a in agents)


async def test_a_turn_left_running_when_the_step_fails_still_times_out() -> None:
    # A failure the step cannot record (here the bus refuses the error event, as a trace store whose
    # run file broke does) ends run_turns at once, while the other turns go on in their tasks; each
    # must still end at its own deadline, as it did with a timer of its own.
    failing, hanging = _TimedAgent("Ana", 0), _TimedAgent("Ben", 30)

    def refuse(event: Event) -> None:
        raise StorageError("the run file is full", cause_kind="disk_full")

    failing.bus.subscribe(refuse, kinds=["agent_error"])

    async def fail() -> None:
        raise LLMTransportError("boom")

    failing.aact = fail  # type: ignore[method-assign]
    with pytest.raises(StorageError):
        await _run_turns([failing, hanging], 0.1, None)
    for _ in range(100):  # Ben's turn is still running: its deadline passes within 0.1 s
        if hanging.cancelled:
            break
        await asyncio.sleep(0.02)
    assert hanging.cancelled
