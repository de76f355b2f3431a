"""How a world steps: one step of every agent (parallel, or sequential in seeded order), the record
of its failed turns and metrics, and what is in force while a world runs.

Parallel steps let every agent act on the same snapshot; their events are held back and their
messages delivered after the step in the agents' list order, so the outcome does not depend on which
LLM call returned first. Sequential steps shuffle the agents with the world's seeded random generator
and deliver each message at once, so later agents in the step see earlier ones. Dependency-aware runs
(:mod:`.dependency`) keep the parallel step's trace while letting agents run ahead of its barrier.

A step advances the clock, applies the interventions, hands out the scheduled events due by the new
clock (:attr:`WorldStepping.scheduler`), then runs the turns of the agents who act: all of them, or
those an activity schedule picks (:attr:`WorldStepping.activity`; idle agents make no call).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from tinytroupe.agent.actions import Action
from tinytroupe.agent.person import TinyPerson
from tinytroupe.environment.engine import AgentTurnError, StepMetrics, TurnOutcome
from tinytroupe.environment.executors import Executor, LocalExecutor
from tinytroupe.environment.interventions import InterventionLike, apply_interventions
from tinytroupe.errors import BudgetExceeded, InvalidArgument, SimulationError
from tinytroupe.events import EventBus, StepEvent
from tinytroupe.gc_freeze import frozen_gc
from tinytroupe.lazy import PerLoop
from tinytroupe.llm.batch import batch_mode
from tinytroupe.llm.client import LLMClient, aprepare_clients
from tinytroupe.llm.limits import ConcurrencyLimit

if TYPE_CHECKING:
    from tinytroupe.environment.scheduler import ActivitySchedule, EventScheduler
    from tinytroupe.environment.world import TinyWorld


class WorldStepping:
    """Mixin of :class:`~tinytroupe.environment.TinyWorld`: its steps."""

    #: coroutine functions ``hook(world, step)`` awaited after each synchronous step has ended and been
    #: published (a debugger pauses there). A world sets its own tuple, so no two worlds share hooks;
    #: empty, a step awaits nothing more.
    step_end_hooks: tuple[Callable[[WorldStepping, int], Awaitable[None]], ...] = ()
    #: the events on this world's clock, delivered at the start of each step (see
    #: :class:`~tinytroupe.environment.scheduler.EventScheduler`; set by its ``attach``)
    scheduler: EventScheduler | None = None
    #: who takes a turn in each step (see :class:`~tinytroupe.environment.scheduler.ActivitySchedule`);
    #: None: every agent
    activity: ActivitySchedule | None = None

    if TYPE_CHECKING:
        name: str
        agents: list[TinyPerson]
        random: random.Random
        max_workers: int | None
        agent_timeout: float
        on_agent_error: str
        collect_parallel_metrics: bool
        executor: Executor
        errors: list[AgentTurnError]
        step_metrics: list[StepMetrics]
        _step: int
        _datetime: datetime
        _interventions: list[InterventionLike]
        _run_locks: PerLoop[asyncio.Lock]

        @property
        def bus(self) -> EventBus: ...

        @property
        def client(self) -> LLMClient: ...

        def _record_intervention(self, intervention: object) -> None: ...

        def _handle_actions(self, agent: TinyPerson, actions: list[Action]) -> None: ...

    def _before_step(self) -> None:
        """Hook for subclasses: runs after interventions, before agents act (by default
        :meth:`_before_agent_step` for each agent)."""
        for agent in self.agents:
            self._before_agent_step(agent)

    def _before_agent_step(self, agent: TinyPerson) -> None:
        """Hook for subclasses: prepares one agent for its turn of the step (it may change that agent
        only, so that a dependency-aware run can call it when that agent reaches the step)."""

    def _deliver_scheduled(self) -> set[str]:
        """Hook: hand out the scheduled events due by the step's clock; the names of those whose event
        started (an activity schedule may wake them)."""
        return self.scheduler.deliver(self) if self.scheduler is not None else set()  # type: ignore[arg-type]

    def _acting_agents(self, woken: set[str]) -> list[TinyPerson]:
        """Hook: the agents taking a turn in this step (by default all; see :attr:`activity`)."""
        if self.activity is None:
            return list(self.agents)
        return self.activity.select(self, woken)  # type: ignore[arg-type]

    def step_without_turns(self, timedelta_per_step: timedelta | None = None) -> list[TinyPerson]:
        """Go to the next step as :meth:`run` would (the clock, then the scheduled events handed out) but
        let nobody act: the agents who would have taken a turn. An estimate's dry run of the schedule;
        interventions are not applied and no model is called, so the world is not the one a run leaves.

        Example:
            >>> from datetime import datetime
            >>> from tinytroupe.environment import ActivitySchedule, Routine, TinyWorld
            >>> world = TinyWorld("Office", [TinyPerson("Ana"), TinyPerson("Ben")],
            ...                   initial_datetime=datetime(2025, 1, 6, 8))
            >>> _ = ActivitySchedule({"Ben": Routine(hours=["10:00-12:00"])}, seed=1).attach(world)
            >>> [[a.name for a in world.step_without_turns(timedelta(hours=1))] for _ in range(3)]
            [['Ana'], ['Ana', 'Ben'], ['Ana', 'Ben']]
        """
        self._step += 1
        if timedelta_per_step is not None:
            self._datetime += timedelta_per_step
        return self._acting_agents(self._deliver_scheduled())

    def _workers(self) -> int | None:
        return self.max_workers if self.max_workers is not None else default_workers(self.client)

    def _world_calls(self) -> int:
        return int(self.client.ledger.counts("world", self.name).get("calls", 0))

    def _run_lock(self) -> asyncio.Lock:
        return self._run_locks.get()

    async def _astep(self, timedelta_per_step: timedelta | None, randomize_agents_order: bool,
                     parallelize: bool) -> dict[str, list[Action]]:
        self._step += 1
        if timedelta_per_step is not None:
            self._datetime += timedelta_per_step
        step = self._step
        self.bus.publish(StepEvent(phase="start", world=self.name, step=step, agents=len(self.agents),
                                   sim_time=self._datetime.isoformat()))
        started = time.perf_counter()
        calls_before = self._world_calls() if self.collect_parallel_metrics else 0
        await apply_interventions(self, self._interventions, self._record_intervention)  # type: ignore[arg-type]
        woken = self._deliver_scheduled()
        self._before_step()
        # Idle agents (an activity schedule) take no turn this step: no call, no actions.
        acting = self._acting_agents(woken)
        step_actions: dict[str, list[Action]] = {}
        outcomes: list[TurnOutcome] = []
        if parallelize:
            outcomes = await self._run_batch(acting, step, self._workers(), step_actions)
        else:
            order = acting
            if randomize_agents_order:
                self.random.shuffle(order)
            for agent in order:
                # One agent at a time: each hears what the previous ones said in this step.
                outcomes += await self._run_batch([agent], step, 1, step_actions)
        self._end_step(step, parallelize, outcomes, time.perf_counter() - started, calls_before)
        for hook in self.step_end_hooks:
            await hook(self, step)
        return step_actions

    async def _run_batch(self, agents: list[TinyPerson], step: int, max_workers: int | None,
                         step_actions: dict[str, list[Action]]) -> list[TurnOutcome]:
        """Run ``agents``' turns together, then route their actions in the agents' order.

        Their events are held back until every turn of the batch has ended and then published in the
        agents' order, so the trace does not depend on which LLM call returned first. A parallel step
        is one batch of every agent; a sequential step is one batch per agent.
        """
        for agent in agents:
            agent.defer_events()
        try:
            outcomes = await self.executor.run_turns(agents, step=step, world=self.name, timeout=self.agent_timeout,
                                                     max_workers=max_workers)
        finally:
            for agent in agents:
                agent.flush_events()
        for agent in agents:
            actions = agent.pop_latest_actions()
            step_actions[agent.name] = actions
            self._handle_actions(agent, actions)
        return outcomes

    def _end_step(self, step: int, parallel: bool, outcomes: list[TurnOutcome], wall: float, calls_before: int) -> None:
        """Record the step's failed turns and metrics, publish its end, and stop if the policy says so."""
        errors = [o.error for o in outcomes if o.error is not None]
        self.errors.extend(errors)
        if self.collect_parallel_metrics:
            self.step_metrics.append(StepMetrics(
                step=step, parallel=parallel, agents=len(outcomes), wall_s=wall,
                turn_time_sum_s=sum(o.wall_s for o in outcomes), llm_calls=self._world_calls() - calls_before,
                errors=len(errors), timeouts=sum(1 for e in errors if e.timed_out)))
        self.bus.publish(StepEvent(phase="end", world=self.name, step=step, agents=len(outcomes), wall_s=wall,
                                   sim_time=self._datetime.isoformat()))
        # A refused call means the run's budget is spent: stop here, whatever the error policy (the step
        # itself ended normally: its other turns finished and their actions were routed).
        budget = next((e.exception for e in errors if isinstance(e.exception, BudgetExceeded)), None)
        if budget is not None:
            raise budget
        if errors and self.on_agent_error == "stop":
            first = errors[0]
            raise SimulationError(
                f"world {self.name!r} stopped at step {step}: {first.describe()}"
                + (f" (and {len(errors) - 1} more failed turns)" if len(errors) > 1 else "")
                + "; see world.errors, or pass on_agent_error='continue' to keep going",
                agent=first.agent, step=step,
            ) from first.exception


def batching(world: WorldStepping, batch: bool) -> contextlib.AbstractContextManager[object]:
    """The batch mode of ``world.arun(batch=...)`` (checked before any call), or nothing."""
    if not batch:
        return contextlib.nullcontext()
    if not isinstance(world.executor, LocalExecutor):
        raise InvalidArgument(f"batch=True needs the local executor; world {world.name!r} runs its turns on "
                              f"{type(world.executor).__name__}")
    return batch_mode(world.client, bus=world.bus, world=world.name)


def default_workers(client: LLMClient) -> int:
    """Turns in flight when a world sets none: the client's limit on calls in flight, else 32."""
    limit = client.backend.find(ConcurrencyLimit) if hasattr(client.backend, "find") else None
    if isinstance(limit, ConcurrencyLimit) and limit.max_concurrent > 0:
        return limit.max_concurrent
    return 32


@contextlib.asynccontextmanager
async def running(world: TinyWorld, batch: bool) -> AsyncIterator[None]:
    """What is in force while a world runs: batch mode, the conversation's record and display, and the
    garbage collector kept off the objects made before the run (see :mod:`tinytroupe.gc_freeze`)."""
    # Warm start: every client the turns use is ready on this loop before the first step.
    await aprepare_clients([world.client, *(agent.client for agent in world.agents)])
    with batching(world, batch), world._recording_communications(), world._showing_communications(), \
            frozen_gc(world.context.settings.simulation.freeze_gc):
        yield


__all__ = ["WorldStepping", "batching", "default_workers", "running"]
