"""``TinyWorld``: where agents live, with a clock, routing of actions, and stepping.

How it steps (parallel, sequential, dependency-aware) is in :mod:`.stepping` and :mod:`.dependency`.

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
import random
from collections.abc import Iterable
from datetime import datetime, timedelta

from tinytroupe import html_views, scope
from tinytroupe.agent.actions import Action
from tinytroupe.agent.person import TinyPerson
from tinytroupe.aio import run_sync
from tinytroupe.context import RunContext, current_context, scoped_context
from tinytroupe.environment.calendar import WorldCalendar
from tinytroupe.environment.communications import WorldCommunications
from tinytroupe.environment.dependency import STEP_VIEW, AheadScheduler, dependency_plan
from tinytroupe.environment.engine import AgentTurnError, StepMetrics
from tinytroupe.environment.executors import Executor, LocalExecutor
from tinytroupe.environment.interventions import ArgumentlessIntervention, Intervention, InterventionLike
from tinytroupe.environment.membership import WorldMembership
from tinytroupe.environment.routing import ActionRouting
from tinytroupe.environment.stepping import WorldStepping, default_workers, running
from tinytroupe.environment.world_state import WorldStateMethods
from tinytroupe.environment.world_stats import WorldStats
from tinytroupe.errors import InvalidArgument, InvalidArgumentType
from tinytroupe.events import EventBus
from tinytroupe.lazy import PerLoop
from tinytroupe.llm.client import LLMClient


class TinyWorld(WorldMembership, ActionRouting, WorldStepping, WorldCommunications, WorldCalendar,
                WorldStateMethods, WorldStats):
    """A place where agents interact.

    Beside the core here (construction, broadcasts, runs), its parts live in mixins: its agents
    (:mod:`.membership`), action routing (:mod:`.routing`), its steps (:mod:`.stepping`), the live
    display and TinyTroupe's communications buffer (:mod:`.communications`, with the class attribute
    ``MAX_COMMUNICATIONS``),
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

    def _repr_html_(self) -> str:
        """The notebook view: the clock, the step and each agent with what they did last.

        Example:
            >>> from tinytroupe.agent import TinyPerson
            >>> world = TinyWorld("Focus room", [TinyPerson("Ana")], initial_datetime=datetime(2025, 1, 6, 9))
            >>> view = world._repr_html_()
            >>> "Focus room" in view, "2025-01-06 09:00" in view, "Ana" in view
            (True, True, True)
        """
        rows = []
        for agent in self.agents:
            last = next((item for item in reversed(agent.memory.recent(20))
                         if item.kind == "action" and item.type != "DONE"), None)
            rows.append([agent.name, agent.minibio(extended=False),
                         f"{last.type}: {last.content}" if last is not None else None])
        clock = f"{self._datetime:%Y-%m-%d %H:%M}, step {self._step}"
        return html_views.card(self.name, clock, ("Agents", html_views.table(["agent", "who", "last action"], rows)))

    # ------------------------------------------------------------------ wiring

    #: the scoped context last found: (the active scopes then, this world's client then, the context)
    _scoped_seen: tuple[tuple[object, ...], LLMClient | None, RunContext] | None = None

    @property
    def context(self) -> RunContext:
        """The run context of this world and its agents: the one it was given, else the current one
        (a running simulation's, else the default), with this world's own client if it has one."""
        if self._context is not None:
            return self._context.with_client(self._client)
        # Asked several times per agent turn: a simulation's context is kept while the same scopes are
        # active (entering or leaving one makes a new tuple; never the empty one, which is shared) and
        # the client is the same.
        scopes, client, seen = scope.active_scopes(), self._client, self._scoped_seen
        if seen is not None and seen[0] is scopes and seen[1] is client:
            return seen[2]
        found = scoped_context() if scopes else None
        if found is None:  # the default context: built on each call, so it follows set_default_client
            return current_context().with_client(client)
        context = found.with_client(client)
        self._scoped_seen = (scopes, client, context)
        return context

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

    # An agent running ahead (dependency-aware stepping) sees the clock of its own step: step_view's
    # lookup, inlined here (a turn reads the clock about seven times).

    @property
    def current_datetime(self) -> datetime:
        view = STEP_VIEW.get()
        return self._datetime if view is None or view[0] is not self else view[2]

    @property
    def current_step(self) -> int:
        view = STEP_VIEW.get()
        return self._step if view is None or view[0] is not self else view[1]

    # ------------------------------------------------------------------ routing

    def routing_reach(self, agent: TinyPerson) -> list[str] | None:
        """The names of the agents whose state routing ``agent``'s actions may change (beside its own),
        known before its turn: None when that may be anyone.

        Here it may be anyone: a TALK or REACH_OUT naming any agent of the world reaches it. A world
        whose routing keeps to narrower paths says which (a social network: the agent's relations), and
        dependency-aware stepping (:mod:`.dependency`) lets an agent run ahead
        of agents that cannot reach it. A subclass that changes routing must override this too, or its
        runs stay synchronous.
        """
        return None

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

    # ------------------------------------------------------------------ running

    async def arun(self, steps: int, timedelta_per_step: timedelta | None = None, return_actions: bool = False,
                   randomize_agents_order: bool = True, parallelize: bool | None = None, *, batch: bool = False,
                   dependency_aware: bool | None = None) -> list[dict[str, list[Action]]] | None:
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
        sim = self.context.settings.simulation
        ahead = sim.dependency_aware if dependency_aware is None else dependency_aware
        history: list[dict[str, list[Action]]] = []
        async with self._run_lock(), running(self, batch):
            plan = dependency_plan(self, parallel=par, batch=batch) if ahead and steps > 0 else None
            if plan is not None:
                history = await AheadScheduler(self, plan, steps, timedelta_per_step, sim.dependency_window).run()
            else:
                for _ in range(steps):
                    history.append(await self._astep(timedelta_per_step, randomize_agents_order, par))
        return history if return_actions else None

    def run(self, steps: int, timedelta_per_step: timedelta | None = None, return_actions: bool = False,
            randomize_agents_order: bool = True, parallelize: bool | None = None, *, batch: bool = False,
            dependency_aware: bool | None = None) -> list[dict[str, list[Action]]] | None:
        """Run ``steps`` steps; with ``return_actions`` get ``[{agent_name: [actions]}, ...]`` per step.

        A failed agent turn is recorded in :attr:`errors` and the run goes on, unless ``on_agent_error``
        is ``"stop"``.

        ``batch=True`` sends each step's LLM calls as one provider batch (half price, slower; resumed
        from the run file after a crash): see :mod:`tinytroupe.llm.batch`.

        ``dependency_aware=True`` (default ``[Simulation] DEPENDENCY_AWARE``) lets an agent take its
        next turn as soon as the agents who can reach it have finished this step, up to
        ``[Simulation] DEPENDENCY_WINDOW`` steps ahead, with the same trace as the synchronous run;
        runs it cannot help stay synchronous (see :mod:`tinytroupe.environment.dependency`).

        Raises:
            InvalidState: called from a coroutine on tinytroupe's event loop (await :meth:`arun`);
                otherwise as :meth:`arun`.
        """
        return run_sync(self.arun(steps, timedelta_per_step, return_actions, randomize_agents_order, parallelize,
                                  batch=batch, dependency_aware=dependency_aware))


__all__ = ["ArgumentlessIntervention", "Intervention", "InterventionLike", "TinyWorld", "default_workers"]
