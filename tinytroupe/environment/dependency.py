"""Dependency-aware stepping: an agent whom nobody still acting can reach takes its next turn without
waiting at the step barrier, within a window, and the trace stays that of the synchronous run.

Whose actions can change agent A's state when a step's actions are routed is decided by the world's
routing rules before any turn runs (:meth:`~tinytroupe.environment.routing.ActionRouting.routing_reach`):
A's *sources* are A itself and every agent whose TALK or REACH_OUT can reach A. A takes its turn of
step s+1 once the actions of its sources in step s have been routed, which needs only their turns and
those of the agents they reach; the agents of step s+1 that cannot be affected by a straggler of step s
do not wait for it. Nobody runs more than ``window`` steps ahead of the oldest step not yet complete.

The same trace as a synchronous parallel run:

* a turn sees what it would have seen: the stimuli of its step (its sources' actions are routed in the
  agents' order, before it starts, and nobody else's can reach it), the clock and step number of its
  own step (a task-local view of the world's clock, :func:`step_view`), and the per-agent preparation
  of that step (``_before_agent_step``: a social network's accessibility);
* events are collected per step (each turn's in its agent's list, each routing's in its actor's) and
  published when the step is complete, in the synchronous order: the step's start, its agents'
  failed-turn events and turn events in agent order, its routing events in agent order, its end. LLM
  call events are published as calls end, as in any parallel run (their order was never fixed);
* the actions returned (``return_actions``), ``world.errors`` and the clock after the run are the same.

A run stays synchronous (:func:`dependency_plan` says why, in the log) when this cannot be proven
before the turns run, or would change what a synchronous run does:

* routing may reach anyone (a plain :class:`~tinytroupe.environment.TinyWorld`: a named TALK reaches
  any agent of the world), or a subclass changes routing without declaring ``routing_reach``;
* an agent has a turn component that is not declared portable (``portable = True``, which says its
  calls reach no other agent): it may reach other agents or read the world during the turn, outside
  routing (``TinyEmail`` delivers mail, a knowledge graph is shared);
* the world has interventions, an event scheduler or an activity schedule: they act at the start of
  every step on the whole world, so every step is a barrier (a world-level broadcast between runs is a
  barrier too: each run starts from one);
* ``on_agent_error="stop"`` or a budget on the client: the run must end at the failing step, before
  any turn of the next one has run;
* something must see the whole world at each step's end: the world's ``step_end_hooks`` (a debugger),
  or an active scope whose ``step_barrier(world)`` gives a reason (a simulation that checkpoints every
  N steps: its checkpoint must not hold agents that already took later turns);
* sequential steps, batch mode, or an executor other than the local one.

Example:
    >>> from tinytroupe.agent import TinyPerson
    >>> from tinytroupe.environment import TinySocialNetwork, TinyWorld
    >>> room = TinyWorld("Room", [TinyPerson("Cy"), TinyPerson("Dee")], communication_display=False)
    >>> dependency_plan(room, parallel=True, batch=False) is None  # a TALK here may name anyone
    True
    >>> net = TinySocialNetwork("Pairs", communication_display=False)
    >>> _ = net.add_relation(TinyPerson("Ana"), TinyPerson("Ben"))
    >>> dependency_plan(net, parallel=True, batch=False)
    [[0, 1], [0, 1]]
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from tinytroupe import scope
from tinytroupe.agent.actions import Action
from tinytroupe.agent.portable import portability_problems
from tinytroupe.environment.engine import TurnOutcome, run_turn
from tinytroupe.environment.executors import LocalExecutor
from tinytroupe.errors import InvalidState
from tinytroupe.events import Event, EventBus, StepEvent
from tinytroupe.llm.budget import BudgetWrapper

if TYPE_CHECKING:
    from tinytroupe.environment.world import TinyWorld

logger = logging.getLogger(__name__)

# The step a running-ahead turn or routing belongs to: (world, step, clock). Task-local (each turn is
# its own asyncio task), so the world's own clock stays that of the last complete step. TinyWorld's
# clock properties read it themselves (as step_view does), without a call per read.
STEP_VIEW: ContextVar[tuple[object, int, datetime] | None] = ContextVar("tinytroupe_step_view", default=None)

# What routing may call on a world: a class that overrides any of these below the one that declared
# routing_reach has routes the declaration does not cover.
_ROUTING = ("_handle_actions", "_handle_talk", "_handle_reach_out", "_can_reach", "_talk_not_delivered",
            "broadcast", "reachable_names", "_before_step", "_before_agent_step")


def step_view(world: object) -> tuple[int, datetime] | None:
    """The (step, clock) this task sees of ``world`` while it runs ahead; None: the world's own."""
    view = STEP_VIEW.get()
    return (view[1], view[2]) if view is not None and view[0] is world else None


@contextlib.contextmanager
def at_step(world: object, step: int, clock: datetime) -> Iterator[None]:
    """Show ``world``'s clock at ``step`` to the code run in this task meanwhile."""
    token = STEP_VIEW.set((world, step, clock))
    try:
        yield
    finally:
        STEP_VIEW.reset(token)


def _routing_declared(cls: type) -> bool:
    owner = next((c for c in cls.__mro__ if "routing_reach" in c.__dict__), object)
    for name in _ROUTING:
        defined = next((c for c in cls.__mro__ if name in c.__dict__), object)
        if not issubclass(owner, defined):
            return False
    return True


def _fallback(world: TinyWorld, parallel: bool, batch: bool) -> str | None:
    clients = [world.client, *(a.client for a in world.agents)]
    budgets = [c.backend.find(BudgetWrapper) for c in clients if hasattr(c.backend, "find")]
    if not parallel:
        return "sequential steps: each turn already waits for the one before"
    if batch:
        return "batch mode: a step's calls go out as one provider batch"
    if not isinstance(world.executor, LocalExecutor):
        return f"turns run on {type(world.executor).__name__}: only the local executor runs agents ahead"
    if world._interventions:
        return "interventions are checked against the whole world at every step, so every step is a barrier"
    if world.scheduler is not None or world.activity is not None:
        return "an event or activity schedule decides each step for the whole world, so every step is a barrier"
    if world.on_agent_error == "stop":
        return "on_agent_error='stop' ends the run at the failing step, before any later turn"
    if any(isinstance(b, BudgetWrapper) and b.budget.limited for b in budgets):
        return "a budget ends the run at the step where it is spent, before any later turn"
    if not _routing_declared(type(world)):
        return f"{type(world).__name__} changes routing without declaring routing_reach"
    for agent in world.agents:
        for component, problem in portability_problems(agent).items():
            return (f"a turn of {agent.name!r} may reach other agents or read the world outside routing: "
                    f"{component!r} is not declared portable ({problem})")
    if world.step_end_hooks:
        return "step_end_hooks are awaited at the end of every step, with every agent at that step"
    return _scope_barrier(world)


def _scope_barrier(world: TinyWorld) -> str | None:
    """Why an active scope needs every step of ``world`` to be a barrier (its ``step_barrier``), or None."""
    for active in scope.active_scopes():
        barrier = getattr(active, "step_barrier", None)
        why = barrier(world) if barrier is not None else None
        if why:
            return str(why)
    return None


def dependency_plan(world: TinyWorld, *, parallel: bool, batch: bool) -> list[list[int]] | None:
    """For each agent (by index), the agents whose state routing its actions may change, itself
    included; None when the run must stay synchronous (the reason is logged at INFO)."""
    why = _fallback(world, parallel, batch)
    touch: list[list[int]] = []
    if why is None:
        index = {a.name: i for i, a in enumerate(world.agents)}
        for i, agent in enumerate(world.agents):
            reach = world.routing_reach(agent)
            if reach is None:
                why = f"in {type(world).__name__} an agent's actions may reach anyone (a named TALK reaches any agent)"
                break
            touch.append(sorted({i, *(index[n] for n in reach if n in index)}))
    if why is not None:
        logger.info("world %r steps synchronously: %s", world.name, why)
        return None
    return touch


def _collector(into: list[tuple[EventBus, Event]], bus: EventBus) -> Callable[[Event], None]:
    """A sink that keeps each event with the bus it is for, in one list shared by several publishers."""
    return lambda event: into.append((bus, event))


@dataclass
class _Step:
    """What one step has produced so far, kept until it is complete and published."""

    routes_left: int
    outcomes: dict[int, TurnOutcome] = field(default_factory=dict)
    actions: dict[int, list[Action]] = field(default_factory=dict)
    failures: dict[int, list[tuple[EventBus, Event]]] = field(default_factory=dict)
    turn_events: dict[int, list[tuple[EventBus, Event]]] = field(default_factory=dict)
    route_events: dict[int, list[tuple[EventBus, Event]]] = field(default_factory=dict)


class AheadScheduler:
    """Runs ``steps`` steps of ``world`` dependency-aware (see the module docstring), given ``touch``
    from :func:`dependency_plan`.

    Counters, not scans, decide what is ready: for each agent, the routings its next turn waits for,
    and for its next routing, the turns and earlier routings it waits for. Routings that share a
    recipient go in agent order, so each agent hears its step's messages in the synchronous order.
    """

    def __init__(self, world: TinyWorld, touch: list[list[int]], steps: int, timedelta_per_step: timedelta | None,
                 window: int) -> None:
        self.world, self.steps, self.window = world, steps, window
        self.agents = list(world.agents)
        self.buses = [a.bus for a in self.agents]
        self.touch = touch
        n = len(self.agents)
        self.sources: list[list[int]] = [[] for _ in range(n)]
        for x, reached in enumerate(touch):
            for r in reached:
                self.sources[r].append(x)  # ascending x: the agents' order
        # Per recipient, a routing waits for the one just before it (transitively, all before it).
        prior: list[set[int]] = [set() for _ in range(n)]
        for srcs in self.sources:
            for before, after in itertools.pairwise(srcs):
                prior[after].add(before)
        self.prior_count = [len(p) for p in prior]
        self.later: list[list[int]] = [[] for _ in range(n)]
        for after, befores in enumerate(prior):
            for before in befores:
                self.later[before].append(after)
        self.base_step, self.base_clock, self.delta = world._step, world._datetime, timedelta_per_step
        self.wait_turns = [len(t) for t in touch]  # for each agent's next routing
        self.wait_prior = list(self.prior_count)
        self.wait_routes = [0] * n  # for each agent's next turn
        self.routed = [0] * n
        self.ready: list[tuple[int, int]] = [(1, i) for i in range(n)]
        self.records: dict[int, _Step] = {}
        self.committed = 0
        self.workers = world._workers() or n
        self.last_commit = time.perf_counter()
        self.calls_at_commit = world._world_calls() if world.collect_parallel_metrics else 0
        self.history: list[dict[str, list[Action]]] = []

    def clock(self, step: int) -> datetime:
        return self.base_clock + self.delta * step if self.delta is not None else self.base_clock

    def record(self, step: int) -> _Step:
        if step not in self.records:
            self.records[step] = _Step(routes_left=len(self.agents))
        return self.records[step]

    async def run(self) -> list[dict[str, list[Action]]]:
        """Run every step; the actions of each, as :meth:`TinyWorld.arun` returns them."""
        inflight: dict[asyncio.Task[None], tuple[int, int]] = {}
        try:
            while self.committed < self.steps:
                self._launch(inflight)
                if not inflight:
                    raise InvalidState("dependency-aware stepping stalled with no turn in flight")  # a bug, never data
                done, _ = await asyncio.wait(inflight, return_when=asyncio.FIRST_COMPLETED)
                for task in sorted(done, key=lambda t: inflight[t]):
                    step, i = inflight.pop(task)
                    task.result()  # run_turn records failures; anything else is a bug to raise
                    self._turn_ended(i, step)
        finally:
            for task in inflight:
                task.cancel()
            if inflight:
                await asyncio.gather(*inflight, return_exceptions=True)
            for agent in self.agents:
                agent.flush_events()  # nothing is held back after the run, however it ended
        return self.history

    def _launch(self, inflight: dict[asyncio.Task[None], tuple[int, int]]) -> None:
        # Oldest step first: the turns others wait for get the free slots.
        while self.ready and len(inflight) < self.workers and self.ready[0][0] <= self.committed + 1 + self.window:
            step, i = heapq.heappop(self.ready)
            agent, absolute = self.agents[i], self.base_step + step
            with at_step(self.world, absolute, self.clock(step)):
                self.world._before_agent_step(agent)
            inflight[asyncio.create_task(self._turn(i, step))] = (step, i)

    async def _turn(self, i: int, step: int) -> None:
        agent, bus, rec = self.agents[i], self.buses[i], self.record(step)
        events: list[tuple[EventBus, Event]] = []
        failures: list[tuple[EventBus, Event]] = []
        with at_step(self.world, self.base_step + step, self.clock(step)):
            agent.defer_events(lambda e: events.append((bus, e)))
            try:
                outcome = await run_turn(agent, step=self.base_step + step, world=self.world.name,
                                         timeout=self.world.agent_timeout, semaphore=None,
                                         publish=lambda e: failures.append((bus, e)))
            finally:
                agent.flush_events()
        rec.outcomes[i], rec.turn_events[i], rec.failures[i] = outcome, events, failures
        rec.actions[i] = agent.pop_latest_actions()

    def _turn_ended(self, y: int, step: int) -> None:
        # Its sources' routings of this step may now start counting towards its next turn.
        self.wait_routes[y] = len(self.sources[y])
        candidates = []
        for x in self.sources[y]:
            self.wait_turns[x] -= 1
            if self.wait_turns[x] == 0:
                candidates.append(x)
        # A worklist, not recursion: in a dense network one routing unblocks the next, agent by agent.
        while candidates:
            x = candidates.pop()
            if self.wait_turns[x] == 0 and self.wait_prior[x] == 0:
                candidates += self._route(x)
        while self.committed < self.steps and self.record(self.committed + 1).routes_left == 0:
            self._commit(self.committed + 1)

    def _route(self, x: int) -> list[int]:
        """Route ``x``'s actions of its next step, collecting the events; the routings it unblocks."""
        step = self.routed[x] + 1
        rec, world = self.record(step), self.world
        collected: list[tuple[EventBus, Event]] = []
        touched = [self.agents[r] for r in self.touch[x]]
        for r, agent in zip(self.touch[x], touched, strict=True):
            agent.defer_events(_collector(collected, self.buses[r]))
        world._event_sink = _collector(collected, world.bus)
        try:
            with at_step(world, self.base_step + step, self.clock(step)):
                world._handle_actions(self.agents[x], rec.actions[x])
        finally:
            world._event_sink = None
            for agent in touched:
                agent.flush_events()
        rec.route_events[x] = collected
        self.routed[x] = step
        self.wait_turns[x], self.wait_prior[x] = len(self.touch[x]), self.prior_count[x]
        rec.routes_left -= 1
        for r in self.touch[x]:
            self.wait_routes[r] -= 1
            if self.wait_routes[r] == 0 and step < self.steps:
                heapq.heappush(self.ready, (step + 1, r))
        unblocked = []
        for after in self.later[x]:
            self.wait_prior[after] -= 1
            if self.wait_prior[after] == 0 and self.wait_turns[after] == 0:
                unblocked.append(after)
        return unblocked

    def _commit(self, step: int) -> None:
        """Publish a complete step as the synchronous run does, and record it."""
        world, rec, n = self.world, self.records.pop(step), len(self.agents)
        world._step, world._datetime = self.base_step + step, self.clock(step)
        world.bus.publish(StepEvent(phase="start", world=world.name, step=world._step, agents=n,
                                    sim_time=world._datetime.isoformat()))
        for part in (rec.failures, rec.turn_events, rec.route_events):
            for i in range(n):
                for bus, event in part[i]:
                    bus.publish(event)
        self.history.append({self.agents[i].name: rec.actions[i] for i in range(n)})
        self.committed = step
        now = time.perf_counter()
        world._end_step(world._step, True, [rec.outcomes[i] for i in range(n)], now - self.last_commit,
                        self.calls_at_commit)
        self.last_commit = now
        self.calls_at_commit = world._world_calls() if world.collect_parallel_metrics else 0


__all__ = ["STEP_VIEW", "AheadScheduler", "at_step", "dependency_plan", "step_view"]
