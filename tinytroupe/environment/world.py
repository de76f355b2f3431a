"""``TinyWorld``: where agents live, with a clock, routing of actions, and stepping.

Parallel steps (the default) let every agent act on the same snapshot; their messages are delivered
after the step in the agents' list order, so the outcome does not depend on which LLM call returned
first. Sequential steps shuffle the agents with the world's seeded random generator and deliver each
message at once, so later agents in the step see earlier ones.

Example:
    >>> from datetime import datetime
    >>> from tinytroupe.agent import TinyPerson
    >>> from tinytroupe.environment import TinyWorld
    >>> from tinytroupe.llm import LLMClient, ScriptedBackend
    >>> done = {"actions": [{"type": "DONE"}], "cognitive_state": {}}
    >>> client = LLMClient(ScriptedBackend([done], cycle=True))
    >>> world = TinyWorld("Room", [TinyPerson("Ana"), TinyPerson("Ben")],
    ...                   initial_datetime=datetime(2025, 1, 6, 9), client=client)
    >>> world.broadcast("Welcome!")  # the conversation is shown live (communication_display)
    Someone (to everyone): Welcome!
    >>> _ = world.run(1)
    ─...─ Room · step 1 · 2025-01-06T09:00:00 ─...─
    >>> world.current_step
    1
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncIterator, Iterable
from datetime import datetime, timedelta

from tinytroupe import scope
from tinytroupe.agent.actions import Action
from tinytroupe.agent.person import TinyPerson
from tinytroupe.aio import run_sync
from tinytroupe.context import RunContext, current_context
from tinytroupe.environment.calendar import WorldCalendar
from tinytroupe.environment.communications import WorldCommunications
from tinytroupe.environment.engine import AgentTurnError, StepMetrics, TurnOutcome
from tinytroupe.environment.executors import Executor, LocalExecutor
from tinytroupe.environment.interventions import (
    ArgumentlessIntervention,
    Intervention,
    InterventionLike,
    apply_interventions,
)
from tinytroupe.environment.membership import WorldMembership
from tinytroupe.environment.routing import ActionRouting
from tinytroupe.environment.world_state import WorldStateMethods
from tinytroupe.environment.world_stats import WorldStats
from tinytroupe.errors import BudgetExceeded, InvalidArgument, InvalidArgumentType, SimulationError
from tinytroupe.events import EventBus, StepEvent
from tinytroupe.gc_freeze import frozen_gc
from tinytroupe.lazy import PerLoop
from tinytroupe.llm.batch import batch_mode
from tinytroupe.llm.client import LLMClient, aprepare_clients
from tinytroupe.llm.limits import ConcurrencyLimit


class TinyWorld(WorldMembership, ActionRouting, WorldCommunications, WorldCalendar, WorldStateMethods,
                WorldStats):
    """A place where agents interact.

    Beside the core here (construction, broadcasts, stepping), its parts live in mixins: its agents
    (:mod:`.membership`), action routing (:mod:`.routing`), the live display and TinyTroupe's
    communications buffer (:mod:`.communications`, with the class attribute ``MAX_COMMUNICATIONS``),
    the calendar helpers ``run_*``/``skip_*`` (:mod:`.calendar`), ``to_state``/``load_state``
    (:mod:`.world_state`), and metrics, usage and TinyTroupe's statics such as
    ``get_environment_by_name`` (:mod:`.world_stats`).

    Args:
        name: the world's name (shown in events and usage statistics).
        agents: the initial agents (names must be unique in the world).
        initial_datetime: the simulated clock's start (default: under an active simulation, the start
            its run file recorded at the first run, so re-runs replay; otherwise now, to the minute).
        interventions: callables ``f(world)`` or objects with ``check_precondition``/``apply_effect``,
            evaluated at the start of every step.
        broadcast_if_no_target: a TALK whose target is empty or unknown is heard by everyone (when
            False it reaches nobody, and the speaker is told so: see ``_talk_not_delivered``).
        max_additional_targets_to_display: in :meth:`pop_and_display_latest_communications`, how many
            further listeners of a repeated message get a ``+ --> name`` line before the rest are
            summed up in one line (None: all of them).
        client: the LLM client for agents that have none (default: the run context's).
        seed: seeds the world's random generator (agent order in sequential steps).
        max_workers: agent turns in flight at once (default ``[Simulation] MAX_WORKERS``, else the
            client's concurrency limit).
        agent_timeout: seconds one agent turn may take (default ``[Simulation] PARALLEL_EXECUTION_TIMEOUT``).
        parallelize: parallel steps by default (default ``[Simulation] PARALLEL_AGENT_ACTIONS``).
        executor: where agent turns run (default: :class:`LocalExecutor`, asyncio in this process).
        communication_display: show the conversation live while this world runs or broadcasts
            (default: the class attribute :attr:`communication_display` when set, else
            ``[Simulation] COMMUNICATION_DISPLAY``, on by default). See :meth:`displays_communications`.
        context: the :class:`~tinytroupe.context.RunContext` of this world and its agents (default:
            the current one, followed as it changes: a running simulation's, else the default).

    Arguments left as None take their value from the run context's settings.
        on_agent_error: ``"continue"`` records failed turns and goes on; ``"stop"`` raises
            :class:`~tinytroupe.errors.SimulationError` at the end of the step.

    Raises:
        InvalidArgumentType: ``broadcast_if_no_target`` is not a bool (agents passed positionally),
            or an agent is not a :class:`TinyPerson`.
        InvalidArgument: ``on_agent_error`` or ``max_additional_targets_to_display`` is not allowed,
            or an agent cannot join (see :meth:`add_agent`).
    """

    def __init__(self, name: str = "A TinyWorld", agents: Iterable[TinyPerson] = (),
                 initial_datetime: datetime | None = None, interventions: Iterable[InterventionLike] = (),
                 broadcast_if_no_target: bool = True, max_additional_targets_to_display: int | None = 3, *,
                 client: LLMClient | None = None,
                 seed: int | None = None, max_workers: int | None = None, agent_timeout: float | None = None,
                 on_agent_error: str | None = None, collect_parallel_metrics: bool | None = None,
                 parallelize: bool | None = None, executor: Executor | None = None,
                 communication_display: bool | None = None, context: RunContext | None = None) -> None:
        if not isinstance(broadcast_if_no_target, bool):
            # e.g. TinySocialNetwork("Club", [ana]): its second positional parameter is this flag
            raise InvalidArgumentType(f"broadcast_if_no_target must be True or False, got {broadcast_if_no_target!r}; "
                                      "pass agents by keyword (agents=[...]) or add them with add_agent")
        if context is not None and not isinstance(context, RunContext):
            raise InvalidArgumentType(f"context must be a tinytroupe.context.RunContext, got {type(context).__name__}")
        run = context if context is not None else current_context()
        sim = run.settings.simulation
        on_agent_error = on_agent_error if on_agent_error is not None else sim.on_agent_error
        if on_agent_error not in ("continue", "stop"):
            raise InvalidArgument(f"on_agent_error must be 'continue' or 'stop', got {on_agent_error!r}")
        self.name = name
        self.agents: list[TinyPerson] = []
        self.name_to_agent: dict[str, TinyPerson] = {}
        # Prompts carry the simulated time, so under a simulation (control.begin) the default start is
        # the one its run file recorded at the first run: a re-run builds the same prompts and replays
        # from the cache. Outside a simulation it is now, to the minute.
        self._datetime = initial_datetime or run.clock_start or datetime.now().replace(second=0, microsecond=0)
        self._step = 0
        self._interventions: list[InterventionLike] = list(interventions)
        self.broadcast_if_no_target = broadcast_if_no_target
        if max_additional_targets_to_display is not None and (
                not isinstance(max_additional_targets_to_display, int) or max_additional_targets_to_display < 0):
            raise InvalidArgument("max_additional_targets_to_display must be a non-negative integer or None, "
                                  f"got {max_additional_targets_to_display!r}")
        self.max_additional_targets_to_display = max_additional_targets_to_display
        self._init_communications()
        self._client = client
        self._context = context
        self.seed = seed if seed is not None else run.seed
        self.random = random.Random(self.seed)
        self.max_workers = max_workers if max_workers is not None else sim.max_workers
        self.agent_timeout = agent_timeout if agent_timeout is not None else sim.parallel_execution_timeout
        self.on_agent_error = on_agent_error
        self.collect_parallel_metrics = (collect_parallel_metrics if collect_parallel_metrics is not None
                                         else sim.collect_parallel_metrics)
        self.parallelize = parallelize if parallelize is not None else sim.parallel_agent_actions
        self.executor: Executor = executor if executor is not None else LocalExecutor()
        if communication_display is not None:
            self.communication_display = communication_display  # this world only; shadows the class switch
        self._display_setting = sim.communication_display
        self.errors: list[AgentTurnError] = []
        self.step_metrics: list[StepMetrics] = []
        self._run_locks: PerLoop[asyncio.Lock] = PerLoop(asyncio.Lock)
        self.add_agents(agents)
        # An active simulation (tinytroupe.control) learns about the world here, to checkpoint it.
        scope.register(self)

    #: TinyTroupe's class-wide switch: ``TinyWorld.communication_display = False`` silences every world
    #: of a TinyTroupe script that has no ``communication_display=`` of its own. None (the default)
    #: defers to ``[Simulation] COMMUNICATION_DISPLAY``.
    communication_display: bool | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, agents={len(self.agents)}, step={self._step})"

    # ------------------------------------------------------------------ wiring

    @property
    def context(self) -> RunContext:
        """The run context of this world and its agents: the one it was given, else the current one
        (a running simulation's, else the default), with this world's own client if it has one."""
        base = self._context if self._context is not None else current_context()
        return base.with_client(self._client)

    @property
    def client(self) -> LLMClient:
        if self._client is not None:
            return self._client
        return (self._context if self._context is not None else current_context()).client

    @client.setter
    def client(self, value: LLMClient | None) -> None:
        self._client = value

    @property
    def bus(self) -> EventBus:
        """Where this world's events go: its run context's bus."""
        return self.context.bus

    @property
    def current_datetime(self) -> datetime:
        return self._datetime

    @property
    def current_step(self) -> int:
        return self._step

    # ------------------------------------------------------------------ interventions

    def add_intervention(self, intervention: InterventionLike) -> TinyWorld:
        self._interventions.append(intervention)
        return self

    # ------------------------------------------------------------------ communication

    def broadcast(self, speech: str, source: TinyPerson | str | None = None) -> None:
        """Everyone but ``source`` hears ``speech``."""
        src = source.name if isinstance(source, TinyPerson) else source
        with self._recording_communications(), self._showing_communications():
            for agent in self.agents:
                if agent.name != src:
                    agent.listen(speech, source)

    def broadcast_thought(self, thought: str) -> None:
        with self._recording_communications(), self._showing_communications():
            for agent in self.agents:
                agent.think(thought)

    def broadcast_internal_goal(self, goal: str) -> None:
        with self._recording_communications():
            for agent in self.agents:
                agent.internalize_goal(goal)

    def broadcast_context_change(self, context: Iterable[str]) -> None:
        ctx = list(context)
        for agent in self.agents:
            agent.change_context(ctx)

    # ------------------------------------------------------------------ stepping

    def _before_step(self) -> None:
        """Hook for subclasses: runs after interventions, before agents act."""

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
        await apply_interventions(self, self._interventions, self._record_intervention)
        self._before_step()
        step_actions: dict[str, list[Action]] = {}
        outcomes: list[TurnOutcome] = []
        if parallelize:
            outcomes = await self._run_batch(list(self.agents), step, self._workers(), step_actions)
        else:
            order = list(self.agents)
            if randomize_agents_order:
                self.random.shuffle(order)
            for agent in order:
                # One agent at a time: each hears what the previous ones said in this step.
                outcomes += await self._run_batch([agent], step, 1, step_actions)
        self._end_step(step, parallelize, outcomes, time.perf_counter() - started, calls_before)
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

    async def arun(self, steps: int, timedelta_per_step: timedelta | None = None, return_actions: bool = False,
                   randomize_agents_order: bool = True,
                   parallelize: bool | None = None, *, batch: bool = False) -> list[dict[str, list[Action]]] | None:
        """Async twin of :meth:`run`.

        Raises:
            ConfigError: ``batch`` with a client whose backend has no supported batch API.
            InvalidArgument: ``steps`` is not a non-negative integer, or ``batch`` with an executor
                other than the local one.
            SimulationError: with ``on_agent_error="stop"``, an agent's turn failed (the step's other
                turns are done; ``world.errors`` lists them all).
            BudgetExceeded: the client's budget refused a call; the run stops after that step.
        """
        if not isinstance(steps, int) or steps < 0:
            raise InvalidArgument(f"steps must be a non-negative integer, got {steps!r}")
        par = self.parallelize if parallelize is None else parallelize
        history: list[dict[str, list[Action]]] = []
        async with self._run_lock(), _running(self, batch):
            for _ in range(steps):
                    history.append(await self._astep(timedelta_per_step, randomize_agents_order, par))
        return history if return_actions else None

    def run(self, steps: int, timedelta_per_step: timedelta | None = None, return_actions: bool = False,
            randomize_agents_order: bool = True,
            parallelize: bool | None = None, *, batch: bool = False) -> list[dict[str, list[Action]]] | None:
        """Run ``steps`` steps; with ``return_actions`` get ``[{agent_name: [actions]}, ...]`` per step.

        A failed agent turn is recorded in :attr:`errors` and the run goes on, unless ``on_agent_error``
        is ``"stop"``.

        ``batch=True`` sends each step's LLM calls as one provider batch (half price, slower; resumed
        from the run file after a crash): see :mod:`tinytroupe.llm.batch`.

        Raises:
            InvalidState: called from a coroutine on tinytroupe's event loop (await :meth:`arun`);
                otherwise as :meth:`arun`.
        """
        return run_sync(self.arun(steps, timedelta_per_step, return_actions, randomize_agents_order, parallelize,
                                  batch=batch))


def _batching(world: TinyWorld, batch: bool) -> contextlib.AbstractContextManager[object]:
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
async def _running(world: TinyWorld, batch: bool) -> AsyncIterator[None]:
    """What is in force while a world runs: batch mode, the conversation's record and display, and the
    garbage collector kept off the objects made before the run (see :mod:`tinytroupe.gc_freeze`)."""
    # Warm start: every client the turns use is ready on this loop before the first step.
    await aprepare_clients([world.client, *(agent.client for agent in world.agents)])
    with _batching(world, batch), world._recording_communications(), world._showing_communications(), \
            frozen_gc(world.context.settings.simulation.freeze_gc):
        yield


__all__ = ["ArgumentlessIntervention", "Intervention", "InterventionLike", "TinyWorld"]
