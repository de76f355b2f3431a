"""Dependency-aware stepping: the same trace as synchronous steps, the window, run-ahead, fallbacks."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

import pytest
from helpers import START, action_prompt, agent_of, is_action_request, turn

from tinytroupe.agent import TinyPerson
from tinytroupe.config import Settings
from tinytroupe.context import RunContext
from tinytroupe.environment import TinySocialNetwork, TinyWorld
from tinytroupe.environment.dependency import dependency_plan
from tinytroupe.environment.engine import TurnOutcome
from tinytroupe.environment.executors import Executor
from tinytroupe.errors import LLMTransportError, SimulationError
from tinytroupe.events import Event, EventBus
from tinytroupe.llm import LLMClient, LLMRequest, ScriptedBackend
from tinytroupe.llm.budget import Budget, BudgetWrapper

Delay = Callable[[str, int], float]
VOLATILE = {"seq", "wall_time", "wall_s", "latency_s", "duration_s"}


class Script:
    """Replies as a function of the prompt (any difference in what an agent saw changes its words),
    recording the order of calls as (name, its turn number) at call and at answer."""

    def __init__(self, partners: dict[str, list[str]], delay: Delay = lambda name, k: 0.0,
                 fail: tuple[str, int] | None = None) -> None:
        self.partners, self.delay, self.fail = partners, delay, fail
        self.turns: Counter[str] = Counter()
        self.log: list[tuple[str, str, int]] = []

    async def __call__(self, request: LLMRequest) -> Any:
        assert is_action_request(request)
        name = agent_of(request)
        self.turns[name] += 1
        k = self.turns[name]
        self.log.append(("call", name, k))
        await asyncio.sleep(self.delay(name, k))
        self.log.append(("answer", name, k))
        if self.fail == (name, k):
            return LLMTransportError("the model server went away")
        h = int(hashlib.sha256(action_prompt(request).encode()).hexdigest(), 16)
        partner = (self.partners.get(name) or [""])[h % max(1, len(self.partners.get(name) or [""]))]
        said = f"{name} #{h % 100_003}"
        return [turn(("TALK", said, partner)), turn(("TALK", said, "")),  # "" : to nobody or to relations
                turn(("REACH_OUT", "", partner), ("THINK", said)), turn(("THINK", said))][h % 4]


def network(names: Sequence[str], groups: Sequence[Sequence[str]], script: Script, *,
            bus: EventBus | None = None, world_cls: type[TinyWorld] = TinySocialNetwork,
            settings: Settings | None = None, context_client: Callable[[LLMRequest], Any] | None = None,
            **kwargs: Any) -> TinyWorld:
    """A network (each group fully related inside), its agents' partners told to ``script`` (which
    ``context_client``, when given, replaces as the model)."""
    client = LLMClient(ScriptedBackend(context_client or script))
    context = RunContext(client=client, bus=bus or EventBus(), settings=settings or Settings(), seed=7)
    world = world_cls("Net", initial_datetime=START, client=client, seed=7, communication_display=False,
                      context=context, **kwargs)
    people = {n: TinyPerson(n) for n in names}
    world.add_agents(people.values())
    for group in groups:
        for i, a in enumerate(group):
            for b in group[i + 1:]:
                if isinstance(world, TinySocialNetwork):
                    world.add_relation(people[a], people[b])
                script.partners.setdefault(a, []).append(b)
                script.partners.setdefault(b, []).append(a)
    return world


def trace_of(bus: EventBus) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []

    def keep(event: Event) -> None:
        if event.kind != "llm_call":  # published as calls end, in any parallel run: never ordered
            seen.append(event.model_dump(exclude=VOLATILE))

    bus.subscribe(keep)
    return seen


def memories(world: TinyWorld) -> dict[str, list[tuple[Any, ...]]]:
    return {a.name: [(i.id, i.kind, i.type, i.content, i.source, i.step, i.sim_time) for i in a.memory.items()]
            for a in world.agents}


NAMES = [f"P{i}" for i in range(9)]
SPARSE = [("P0", "P1"), ("P2", "P3"), ("P4", "P5", "P6"), ("P7", "P8")]


def scenario(aware: bool, groups: Sequence[Sequence[str]], *, broadcast: bool, delay: Delay,
             fail: tuple[str, int] | None = None) -> tuple[Any, ...]:
    """Two runs with a broadcast, an agent joining and one leaving between them."""
    bus = EventBus()
    trace = trace_of(bus)
    script = Script({}, delay, fail)
    world = network(NAMES, groups, script, bus=bus, broadcast_if_no_target=broadcast)
    assert isinstance(world, TinySocialNetwork)
    world.broadcast("Welcome, all.", "Host")
    first = world.run(4, timedelta(minutes=5), return_actions=True, dependency_aware=aware)
    world.broadcast("Lunch is served.", "Host")  # a world-level broadcast between runs: a barrier
    late = TinyPerson("Q9")
    world.add_relation(late, world.agents[0])
    script.partners.setdefault("Q9", []).append("P0")
    script.partners["P0"].append("Q9")
    gone = world.agents[3]
    world.remove_agent(gone)
    for partners in script.partners.values():
        if gone.name in partners:
            partners.remove(gone.name)
    second = world.run(3, timedelta(minutes=5), return_actions=True, dependency_aware=aware)
    actions = [[{n: [a.model_dump() for a in acts] for n, acts in step.items()} for step in run]
               for run in (first, second) if run is not None]
    return (trace, memories(world), actions, world.current_step, world.current_datetime,
            [e.as_dict() for e in world.errors], world.random.getstate(), dict(script.turns))


def ran_ahead(log: list[tuple[str, str, int]]) -> bool:
    """Whether some turn of step k+1 was asked before every turn of step k was answered."""
    answered: Counter[int] = Counter()
    agents = {name for _, name, _ in log}
    for what, _, k in log:
        if what == "answer":
            answered[k] += 1
        elif k > 1 and answered[k - 1] < len(agents):
            return True
    return False


@pytest.mark.parametrize("broadcast", [False, True])
def test_a_sparse_network_gives_the_synchronous_trace(broadcast: bool) -> None:
    # P0/P1 answer slowly at first, P2 fails its second turn: the others run ahead of them.
    def delay(name: str, k: int) -> float:
        return 0.05 if name in ("P0", "P1") and k <= 2 else 0.0

    sync = scenario(False, SPARSE, broadcast=broadcast, delay=delay, fail=("P2", 2))
    aware = scenario(True, SPARSE, broadcast=broadcast, delay=delay, fail=("P2", 2))
    assert aware[0] == sync[0]  # events: kinds, agents, steps, contents, in order
    assert aware[1:] == sync[1:]
    assert len(sync[0]) > 150 and any(e["kind"] == "agent_error" for e in sync[0])
    assert any(e["kind"] == "warning" for e in sync[0]) != broadcast  # undelivered TALKs are world events


def test_the_sparse_run_really_runs_ahead() -> None:
    script = Script({}, lambda name, k: 0.05 if name == "P0" and k == 1 else 0.0)
    world = network(NAMES, SPARSE, script)
    world.run(3, dependency_aware=True)
    assert ran_ahead(script.log)
    script = Script({}, lambda name, k: 0.05 if name == "P0" and k == 1 else 0.0)
    network(NAMES, SPARSE, script).run(3)
    assert not ran_ahead(script.log)


def test_a_dense_network_gives_the_synchronous_trace_and_nobody_runs_ahead() -> None:
    everyone = [NAMES]

    def delay(name: str, k: int) -> float:
        return 0.02 if name == "P8" else 0.0

    sync = scenario(False, everyone, broadcast=True, delay=delay)
    aware = scenario(True, everyone, broadcast=True, delay=delay)
    assert aware == sync
    script = Script({}, delay)
    network(NAMES, everyone, script).run(3, dependency_aware=True)
    assert not ran_ahead(script.log)


@pytest.mark.parametrize("window", [1, 2, 3])
def test_nobody_gets_more_than_the_window_ahead(window: int) -> None:
    """A slow pair holds step 1 open until the fast pairs stop advancing: they stop exactly
    ``window`` steps ahead of it (StepEvents end only when a step is complete)."""
    fast_turns = Counter[str]()
    script = Script({})
    steps_done: list[int] = []
    violations: list[tuple[str, int, list[int]]] = []

    async def respond(request: LLMRequest) -> Any:
        name = agent_of(request)
        if name in ("P0", "P1") and script.turns[name] == 0:
            # Hold step 1 open until every fast agent is `window` steps past it (or 3 s), then 50 ms
            # more: a fast agent the window did not stop would take further turns meanwhile.
            for _ in range(300):
                if len(fast_turns) == 4 and min(fast_turns.values()) >= window + 1:
                    break
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.05)
            script.log.append(("ahead", name, max(fast_turns.values())))
        else:
            fast_turns[name] += 1
            reached = fast_turns[name]
            # a turn of step k starts only once step k - window - 1 is complete
            if reached - window - 1 > (steps_done[-1] if steps_done else 0):
                violations.append((name, reached, list(steps_done)))
        return await script(request)

    bus = EventBus()
    bus.subscribe(lambda e: steps_done.append(e.step) if getattr(e, "phase", None) == "end" else None,
                  kinds=["step"])
    client = LLMClient(ScriptedBackend(respond))
    settings = Settings(simulation={"dependency_window": window})
    world = TinySocialNetwork("Net", initial_datetime=START, client=client, seed=7, communication_display=False,
                              context=RunContext(client=client, bus=bus, settings=settings, seed=7))
    people = [TinyPerson(n) for n in NAMES[:6]]
    for a, b in zip(people[::2], people[1::2], strict=True):
        world.add_relation(a, b)
    world.run(window + 4, dependency_aware=True)
    assert violations == []
    ahead = [k for what, _, k in script.log if what == "ahead"]
    # while the slow pair's first turn was out, the fast pairs went exactly `window` steps past it
    assert ahead and max(ahead) == window + 1
    assert steps_done == list(range(1, window + 5))


def test_the_setting_turns_it_on_and_the_argument_overrides_it() -> None:
    def count_ahead(setting: bool, argument: bool | None) -> bool:
        script = Script({}, lambda name, k: 0.05 if name == "P0" and k == 1 else 0.0)
        world = network(NAMES, SPARSE, script, settings=Settings(simulation={"dependency_aware": setting}))
        world.run(3, dependency_aware=argument)
        return ran_ahead(script.log)

    assert count_ahead(True, None) and not count_ahead(False, None)
    assert not count_ahead(True, False) and count_ahead(False, True)


# ------------------------------------------------------------------------------------ fallbacks

class _Elsewhere(Executor):
    name = "elsewhere"

    async def run_turns(self, agents: Sequence[TinyPerson], *, step: int, world: str, timeout: float | None,
                        max_workers: int | None) -> list[TurnOutcome]:
        raise AssertionError("not called")


class _Rerouting(TinySocialNetwork):
    def _handle_talk(self, source: TinyPerson, action: Any) -> None:
        self.broadcast(action.content, source)  # everyone hears: what routing_reach says no longer holds


class _Declared(_Rerouting):
    def routing_reach(self, agent: TinyPerson) -> list[str] | None:
        return None if self.broadcast_if_no_target else self.reachable_names(agent.name)


def _plan(world: TinyWorld, caplog: pytest.LogCaptureFixture, **kwargs: Any) -> Any:
    options = {"parallel": True, "batch": False, **kwargs}
    with caplog.at_level(logging.INFO, logger="tinytroupe.environment.dependency"):
        caplog.clear()
        return dependency_plan(world, **options)


def test_what_falls_back_to_synchronous_steps(caplog: pytest.LogCaptureFixture) -> None:
    def net(**kwargs: Any) -> TinyWorld:
        return network(NAMES[:4], [("P0", "P1"), ("P2", "P3")], Script({}), **kwargs)

    assert _plan(net(), caplog) == [[0, 1], [0, 1], [2, 3], [2, 3]]
    cases: list[tuple[TinyWorld, dict[str, Any], str]] = [
        (net(world_cls=TinyWorld), {}, "may reach anyone"),
        (net(), {"parallel": False}, "sequential"),
        (net(), {"batch": True}, "batch"),
        (net(executor=_Elsewhere()), {}, "_Elsewhere"),
        (net(interventions=[lambda w: None]), {}, "every step is a barrier"),
        (net(on_agent_error="stop"), {}, "on_agent_error='stop'"),
        (net(world_cls=_Rerouting), {}, "without declaring routing_reach"),
        (net(world_cls=_Declared, broadcast_if_no_target=True), {}, "may reach anyone"),
    ]
    for world, options, why in cases:
        assert _plan(world, caplog, **options) is None, why
        assert why in caplog.text
    assert _plan(net(world_cls=_Declared, broadcast_if_no_target=False), caplog) is not None
    budgeted = net()
    budgeted.client = LLMClient(BudgetWrapper(ScriptedBackend(Script({})), Budget(max_calls=100)))
    assert _plan(budgeted, caplog) is None and "budget" in caplog.text


def test_a_plain_world_and_stop_on_error_stay_synchronous_with_the_same_outcome() -> None:
    def outcome(aware: bool, **kwargs: Any) -> tuple[Any, ...]:
        bus = EventBus()
        trace = trace_of(bus)
        script = Script({}, fail=("P2", 2))
        world = network(NAMES[:4], [("P0", "P1"), ("P2", "P3")], script, bus=bus, **kwargs)
        stopped = None
        try:
            world.run(4, dependency_aware=aware)
        except SimulationError as exc:
            stopped = exc.step
        return trace, memories(world), world.current_step, stopped, dict(script.turns)

    for kwargs in ({"world_cls": TinyWorld}, {"on_agent_error": "stop"}, {"interventions": [lambda w: None]}):
        assert outcome(True, **kwargs) == outcome(False, **kwargs)
    assert outcome(True, on_agent_error="stop")[3] == 2


def test_a_step_view_shows_its_own_world_the_step_and_clock_and_no_other_world() -> None:
    # TinyWorld's clock properties read the view themselves (not through step_view): the same answers.
    from tinytroupe.environment.dependency import at_step, step_view

    room = TinyWorld("Room", [TinyPerson("Ana")], initial_datetime=START, communication_display=False)
    other = TinyWorld("Other", [TinyPerson("Ben")], initial_datetime=START, communication_display=False)
    ahead = START + timedelta(minutes=5)
    with at_step(room, 5, ahead):
        assert (room.current_step, room.current_datetime) == step_view(room) == (5, ahead)
        assert (other.current_step, other.current_datetime) == (0, START) and step_view(other) is None
        ana = room.agents[0].listen("hi", "Ben").memory.items()[-1]
        assert (ana.step, ana.sim_time) == (5, ahead)
    assert (room.current_step, room.current_datetime) == (0, START)


# ------------------------------------------------------------------------------------ step barriers

def test_auto_checkpoints_hold_every_agent_at_the_checkpoint_step(tmp_path: Any) -> None:
    """A checkpoint taken at a step's end must not hold agents that already ran ahead to later steps:
    restored, they would take those steps again with memories of them."""
    from tinytroupe import control

    def turns_per_checkpoint(aware: bool) -> list[tuple[int | None, list[int]]]:
        script = Script({}, lambda name, k: 0.05 if name == "P0" and k <= 2 else 0.0)
        sim = control.begin(tmp_path / f"run-{aware}.sqlite", seed=7, backend=ScriptedBackend(script), quiet=True,
                            auto_checkpoint=True)
        seen: list[tuple[int | None, list[int]]] = []
        sim.bus.subscribe(lambda e: seen.append((
            e.step, [a["turns"] for a in sim.last_checkpoint.state["worlds"][0]["agents"]]
        )) if sim.last_checkpoint is not None else None, kinds=["checkpoint"])
        try:
            world = TinySocialNetwork("Net", initial_datetime=START, seed=7, communication_display=False)
            people = [TinyPerson(n) for n in NAMES[:6]]
            for a, b in zip(people[::2], people[1::2], strict=True):
                world.add_relation(a, b)
            world.run(3, dependency_aware=aware)
        finally:
            control.end()
        return seen

    aware = turns_per_checkpoint(True)
    assert aware == turns_per_checkpoint(False)
    assert [step for step, _ in aware[:3]] == [1, 2, 3]
    assert all(turns == [step] * 6 for step, turns in aware)


def test_step_end_hooks_are_awaited_after_every_step() -> None:
    ended: list[int] = []

    async def hook(world: Any, step: int) -> None:
        ended.append(step)

    script = Script({}, lambda name, k: 0.05 if name == "P0" and k == 1 else 0.0)
    world = network(NAMES, SPARSE, script)
    world.step_end_hooks = (hook,)
    world.run(3, dependency_aware=True)
    assert ended == [1, 2, 3]


def test_a_tool_that_reaches_other_agents_keeps_the_run_synchronous(caplog: pytest.LogCaptureFixture) -> None:
    """A's email reaches C during A's turn, outside routing (A and C are not related): C must not have
    run ahead of A's slow first turn, or it hears the mail two steps late."""
    from tinytroupe.tools import TinyEmail, TinyToolUse

    def outcome(aware: bool) -> dict[str, list[tuple[Any, ...]]]:
        turns = Counter[str]()

        async def respond(request: LLMRequest) -> Any:
            name = agent_of(request)
            turns[name] += 1
            if (name, turns[name]) == ("A", 1):
                await asyncio.sleep(0.1)
                mail = {"to": ["C"], "subject": "Lunch?", "body": "Noon?"}
                return {**turn(), "actions": [{"type": "SEND_EMAIL", "content": mail}, {"type": "DONE"}]}
            return turn(("THINK", f"{name} #{hashlib.sha256(action_prompt(request).encode()).hexdigest()[:8]}"))

        world = network("ABCD", [("A", "B"), ("C", "D")], Script({}), context_client=respond)
        world.agents[0].add_mental_faculty(TinyToolUse([TinyEmail()]))
        if aware:
            assert _plan(world, caplog) is None and "'A' may reach other agents" in caplog.text
        world.run(3, dependency_aware=aware)
        return memories(world)

    assert outcome(True) == outcome(False)
