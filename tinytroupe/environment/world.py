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
    >>> world.broadcast("Welcome!")
    >>> _ = world.run(1)
    >>> world.current_step
    1
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol

from rich.console import Console

from tinytroupe import scope
from tinytroupe.agent.actions import Action
from tinytroupe.agent.person import TinyPerson
from tinytroupe.agent.persona import Persona
from tinytroupe.aio import run_sync
from tinytroupe.config import current_settings
from tinytroupe.environment.engine import AgentTurnError, StepMetrics, TurnOutcome
from tinytroupe.environment.executors import Executor, LocalExecutor
from tinytroupe.errors import SimulationError
from tinytroupe.events import EventBus, StepEvent
from tinytroupe.llm.client import LLMClient
from tinytroupe.llm.default import get_default_client
from tinytroupe.llm.limits import ConcurrencyLimit

logger = logging.getLogger(__name__)


class Intervention(Protocol):
    """Something that may change the world at the start of a step (TinyTroupe's shape)."""

    def check_precondition(self, world: TinyWorld) -> bool: ...

    def apply_effect(self, world: TinyWorld) -> None: ...


InterventionLike = Intervention | Callable[["TinyWorld"], Any]


class TinyWorld:
    """A place where agents interact.

    Args:
        name: the world's name (shown in events and usage statistics).
        agents: the initial agents (names must be unique in the world).
        initial_datetime: the simulated clock's start (default: now, to the minute).
        interventions: callables ``f(world)`` or objects with ``check_precondition``/``apply_effect``,
            evaluated at the start of every step.
        broadcast_if_no_target: a TALK whose target is empty or unknown is heard by everyone.
        client: the LLM client for agents that have none (default: the process default client).
        seed: seeds the world's random generator (agent order in sequential steps).
        max_workers: agent turns in flight at once (default ``[Simulation] MAX_WORKERS``, else the
            client's concurrency limit).
        agent_timeout: seconds one agent turn may take (default ``[Simulation] PARALLEL_EXECUTION_TIMEOUT``).
        parallelize: parallel steps by default (default ``[Simulation] PARALLEL_AGENT_ACTIONS``).
        executor: where agent turns run (default: :class:`LocalExecutor`, asyncio in this process).

    Arguments left as None take their value from :func:`tinytroupe.config.current_settings`.
        on_agent_error: ``"continue"`` records failed turns and goes on; ``"stop"`` raises
            :class:`~tinytroupe.errors.SimulationError` at the end of the step.
    """

    def __init__(self, name: str = "A TinyWorld", agents: Iterable[TinyPerson] = (),
                 initial_datetime: datetime | None = None, interventions: Iterable[InterventionLike] = (),
                 broadcast_if_no_target: bool = True, *, client: LLMClient | None = None,
                 seed: int | None = None, max_workers: int | None = None, agent_timeout: float | None = None,
                 on_agent_error: str | None = None, collect_parallel_metrics: bool | None = None,
                 parallelize: bool | None = None, executor: Executor | None = None) -> None:
        if not isinstance(broadcast_if_no_target, bool):
            # e.g. TinySocialNetwork("Club", [ana]): its second positional parameter is this flag
            raise TypeError(f"broadcast_if_no_target must be True or False, got {broadcast_if_no_target!r}; "
                            "pass agents by keyword (agents=[...]) or add them with add_agent")
        sim = current_settings().simulation
        on_agent_error = on_agent_error if on_agent_error is not None else sim.on_agent_error
        if on_agent_error not in ("continue", "stop"):
            raise ValueError(f"on_agent_error must be 'continue' or 'stop', got {on_agent_error!r}")
        self.name = name
        self.agents: list[TinyPerson] = []
        self.name_to_agent: dict[str, TinyPerson] = {}
        self._datetime = initial_datetime or datetime.now().replace(second=0, microsecond=0)
        self._step = 0
        self._interventions: list[InterventionLike] = list(interventions)
        self.broadcast_if_no_target = broadcast_if_no_target
        self._client = client
        self.seed = seed if seed is not None else sim.seed
        self.random = random.Random(self.seed)
        self.max_workers = max_workers if max_workers is not None else sim.max_workers
        self.agent_timeout = agent_timeout if agent_timeout is not None else sim.parallel_execution_timeout
        self.on_agent_error = on_agent_error
        self.collect_parallel_metrics = (collect_parallel_metrics if collect_parallel_metrics is not None
                                         else sim.collect_parallel_metrics)
        self.parallelize = parallelize if parallelize is not None else sim.parallel_agent_actions
        self.executor: Executor = executor if executor is not None else LocalExecutor()
        self.errors: list[AgentTurnError] = []
        self.step_metrics: list[StepMetrics] = []
        self._run_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )
        self.add_agents(agents)
        # An active simulation (tinytroupe.control) learns about the world here, to checkpoint it.
        scope.register(self)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, agents={len(self.agents)}, step={self._step})"

    # ------------------------------------------------------------------ wiring

    @property
    def client(self) -> LLMClient:
        return self._client if self._client is not None else get_default_client()

    @client.setter
    def client(self, value: LLMClient | None) -> None:
        self._client = value

    @property
    def bus(self) -> EventBus:
        return self.client.bus

    @property
    def current_datetime(self) -> datetime:
        return self._datetime

    @property
    def current_step(self) -> int:
        return self._step

    # ------------------------------------------------------------------ agents

    def add_agent(self, agent: TinyPerson) -> TinyWorld:
        """Add ``agent``; its name must be new in this world."""
        if not isinstance(agent, TinyPerson):
            raise TypeError(f"only TinyPerson agents can join a world, got {type(agent).__name__}")
        existing = self.name_to_agent.get(agent.name)
        if existing is agent:
            return self
        if existing is not None:
            raise ValueError(f"world {self.name!r} already has an agent named {agent.name!r}; "
                             "agent names must be unique in a world")
        if agent.environment is not None and agent.environment is not self:
            raise ValueError(f"agent {agent.name!r} already lives in world {agent.environment.name!r}; "
                             "remove it there first")
        agent.environment = self
        self.agents.append(agent)
        self.name_to_agent[agent.name] = agent
        return self

    def add_agents(self, agents: Iterable[TinyPerson]) -> TinyWorld:
        for agent in agents:
            self.add_agent(agent)
        return self

    def remove_agent(self, agent: TinyPerson) -> TinyWorld:
        if self.name_to_agent.get(agent.name) is not agent:
            raise ValueError(f"agent {agent.name!r} is not in world {self.name!r}")
        self.agents.remove(agent)
        del self.name_to_agent[agent.name]
        agent.environment = None
        # Accessibility is a relation within one world: it ends on both sides when the agent leaves.
        agent.make_all_agents_inaccessible()
        for other in self.agents:
            other.make_agent_inaccessible(agent)
        return self

    def remove_all_agents(self) -> TinyWorld:
        for agent in list(self.agents):
            self.remove_agent(agent)
        return self

    def get_agent_by_name(self, name: str) -> TinyPerson | None:
        return self.name_to_agent.get(name)

    def add_intervention(self, intervention: InterventionLike) -> TinyWorld:
        self._interventions.append(intervention)
        return self

    def make_everyone_accessible(self) -> None:
        """Every agent can interact with every other (quadratic in the number of agents)."""
        for a in self.agents:
            for b in self.agents:
                if a is not b:
                    a.make_agent_accessible(b)

    # ------------------------------------------------------------------ communication

    def broadcast(self, speech: str, source: TinyPerson | str | None = None) -> None:
        """Everyone but ``source`` hears ``speech``."""
        src = source.name if isinstance(source, TinyPerson) else source
        for agent in self.agents:
            if agent.name != src:
                agent.listen(speech, source)

    def broadcast_thought(self, thought: str) -> None:
        for agent in self.agents:
            agent.think(thought)

    def broadcast_internal_goal(self, goal: str) -> None:
        for agent in self.agents:
            agent.internalize_goal(goal)

    def broadcast_context_change(self, context: Iterable[str]) -> None:
        ctx = list(context)
        for agent in self.agents:
            agent.change_context(ctx)

    def _handle_actions(self, agent: TinyPerson, actions: list[Action]) -> None:
        for action in actions:
            if action.type == "TALK":
                self._handle_talk(agent, action)
            elif action.type == "REACH_OUT":
                self._handle_reach_out(agent, action)

    def _handle_talk(self, source: TinyPerson, action: Action) -> None:
        target = self.name_to_agent.get(action.target.strip()) if action.target else None
        if target is not None and target is not source:
            target.listen(action.content, source)
        elif self.broadcast_if_no_target:
            self.broadcast(action.content, source)

    def _handle_reach_out(self, source: TinyPerson, action: Action) -> None:
        target = self.name_to_agent.get(action.target.strip())
        if target is None or target is source:
            source.socialize(f"You tried to reach out to {action.target!r}, but nobody by that name is here.")
            return
        if not self._can_reach(source, target):
            source.socialize(f"You tried to reach out to {target.name}, but you have no relation that allows it.")
            return
        source.make_agent_accessible(target)
        target.make_agent_accessible(source)
        source.socialize(f"{target.name} was successfully reached out, and is now available for interaction.",
                         target)
        target.socialize(f"{source.name} reached out to you, and is now available for interaction.", source)

    def _can_reach(self, source: TinyPerson, target: TinyPerson) -> bool:
        return True

    # ------------------------------------------------------------------ stepping

    def _apply_interventions(self) -> None:
        for intervention in self._interventions:
            check = getattr(intervention, "check_precondition", None)
            apply = getattr(intervention, "apply_effect", None)
            if check is not None and apply is not None:
                if check(self):
                    apply(self)
            elif callable(intervention):
                intervention(self)
            else:
                raise TypeError(f"intervention {intervention!r} is neither callable nor has "
                                "check_precondition/apply_effect")

    def _before_step(self) -> None:
        """Hook for subclasses: runs after interventions, before agents act."""

    def _workers(self) -> int | None:
        if self.max_workers is not None:
            return self.max_workers
        limit = self.client.backend.find(ConcurrencyLimit) if hasattr(self.client.backend, "find") else None
        if isinstance(limit, ConcurrencyLimit) and limit.max_concurrent > 0:
            return limit.max_concurrent
        return 32

    def _world_calls(self) -> int:
        return int(self.client.ledger.counts("world", self.name).get("calls", 0))

    def _run_lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        lock = self._run_locks.get(loop)
        if lock is None:
            lock = self._run_locks[loop] = asyncio.Lock()
        return lock

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
        self._apply_interventions()
        self._before_step()
        workers = self._workers()
        step_actions: dict[str, list[Action]] = {}
        outcomes: list[TurnOutcome] = []
        if parallelize:
            agents = list(self.agents)
            for agent in agents:
                agent.defer_events()
            try:
                outcomes = await self.executor.run_turns(agents, step=step, world=self.name,
                                                         timeout=self.agent_timeout, max_workers=workers)
            finally:
                for agent in agents:
                    agent.flush_events()
            for agent in agents:
                actions = agent.pop_latest_actions()
                step_actions[agent.name] = actions
                self._handle_actions(agent, actions)
        else:
            order = list(self.agents)
            if randomize_agents_order:
                self.random.shuffle(order)
            for agent in order:
                # One agent at a time: each hears what the previous ones said in this step.
                agent.defer_events()
                try:
                    outcomes += await self.executor.run_turns([agent], step=step, world=self.name,
                                                              timeout=self.agent_timeout, max_workers=1)
                finally:
                    agent.flush_events()
                actions = agent.pop_latest_actions()
                step_actions[agent.name] = actions
                self._handle_actions(agent, actions)
        wall = time.perf_counter() - started
        errors = [o.error for o in outcomes if o.error is not None]
        self.errors.extend(errors)
        if self.collect_parallel_metrics:
            self.step_metrics.append(StepMetrics(
                step=step, parallel=parallelize, agents=len(outcomes), wall_s=wall,
                turn_time_sum_s=sum(o.wall_s for o in outcomes), llm_calls=self._world_calls() - calls_before,
                errors=len(errors), timeouts=sum(1 for e in errors if e.timed_out)))
        self.bus.publish(StepEvent(phase="end", world=self.name, step=step, agents=len(outcomes), wall_s=wall,
                                   sim_time=self._datetime.isoformat()))
        if errors and self.on_agent_error == "stop":
            first = errors[0]
            raise SimulationError(
                f"world {self.name!r} stopped at step {step}: {first.describe()}"
                + (f" (and {len(errors) - 1} more failed turns)" if len(errors) > 1 else "")
                + "; see world.errors, or pass on_agent_error='continue' to keep going",
                agent=first.agent, step=step,
            ) from first.exception
        return step_actions

    async def arun(self, steps: int, timedelta_per_step: timedelta | None = None, return_actions: bool = False,
                   randomize_agents_order: bool = True,
                   parallelize: bool | None = None) -> list[dict[str, list[Action]]] | None:
        """Async twin of :meth:`run`."""
        if not isinstance(steps, int) or steps < 0:
            raise ValueError(f"steps must be a non-negative integer, got {steps!r}")
        par = self.parallelize if parallelize is None else parallelize
        history: list[dict[str, list[Action]]] = []
        async with self._run_lock():
            for _ in range(steps):
                history.append(await self._astep(timedelta_per_step, randomize_agents_order, par))
        return history if return_actions else None

    def run(self, steps: int, timedelta_per_step: timedelta | None = None, return_actions: bool = False,
            randomize_agents_order: bool = True,
            parallelize: bool | None = None) -> list[dict[str, list[Action]]] | None:
        """Run ``steps`` steps; with ``return_actions`` get ``[{agent_name: [actions]}, ...]`` per step."""
        return run_sync(self.arun(steps, timedelta_per_step, return_actions, randomize_agents_order, parallelize))

    def run_minutes(self, minutes: int, **kwargs: Any) -> list[dict[str, list[Action]]] | None:
        return self.run(minutes, timedelta_per_step=timedelta(minutes=1), **kwargs)

    def run_hours(self, hours: int, **kwargs: Any) -> list[dict[str, list[Action]]] | None:
        return self.run(hours, timedelta_per_step=timedelta(hours=1), **kwargs)

    def run_days(self, days: int, **kwargs: Any) -> list[dict[str, list[Action]]] | None:
        return self.run(days, timedelta_per_step=timedelta(days=1), **kwargs)

    def run_weeks(self, weeks: int, **kwargs: Any) -> list[dict[str, list[Action]]] | None:
        return self.run(weeks, timedelta_per_step=timedelta(weeks=1), **kwargs)

    def skip(self, steps: int, timedelta_per_step: timedelta | None = None) -> None:
        """Advance the clock (and step counter) without anyone acting."""
        for _ in range(steps):
            self._step += 1
            if timedelta_per_step is not None:
                self._datetime += timedelta_per_step

    def skip_minutes(self, minutes: int) -> None:
        self.skip(minutes, timedelta(minutes=1))

    def skip_hours(self, hours: int) -> None:
        self.skip(hours, timedelta(hours=1))

    def skip_days(self, days: int) -> None:
        self.skip(days, timedelta(days=1))

    # ------------------------------------------------------------------ metrics and display

    def get_parallel_metrics(self) -> dict[str, Any]:
        """Per-step wall time, LLM calls, errors, timeouts and speed-up, with totals."""
        steps = [m.as_dict() for m in self.step_metrics]
        wall = sum(m.wall_s for m in self.step_metrics)
        turns = sum(m.turn_time_sum_s for m in self.step_metrics)
        return {
            "steps": steps,
            "total_wall_s": wall,
            "total_turn_time_s": turns,
            "speedup": turns / wall if wall > 0 else 1.0,
            "llm_calls": sum(m.llm_calls for m in self.step_metrics),
            "errors": sum(m.errors for m in self.step_metrics),
            "timeouts": sum(m.timeouts for m in self.step_metrics),
        }

    def get_cost_stats(self) -> dict[str, Any]:
        """LLM usage of this world's agents (calls and tokens)."""
        stats = self.client.get_cost_stats()
        return {"world": stats["by_world"].get(self.name, {}),
                "agents": {a.name: stats["by_agent"].get(a.name, {}) for a in self.agents}}

    def pretty_print_cost_stats(self, console: Console | None = None) -> None:
        self.client.pretty_print_cost_stats(console)

    def pretty_current_interactions(self, max_content_length: int | None = None) -> str:
        return "\n\n".join(a.pretty_current_interactions(max_content_length) for a in self.agents)

    def pp_current_interactions(self, max_content_length: int | None = None, console: Console | None = None) -> None:
        (console or Console()).print(self.pretty_current_interactions(max_content_length), markup=False,
                                     highlight=False)

    def to_state(self, include_agents: bool = True) -> dict[str, Any]:
        """The world's state as JSON-ready data: clock, step, random generator, errors, metrics and
        (by default) every agent's state; :meth:`load_state` restores it exactly."""
        version, internal, gauss = self.random.getstate()
        state: dict[str, Any] = {
            "kind": type(self).__name__,
            "name": self.name,
            "datetime": self._datetime.isoformat(),
            "step": self._step,
            "agent_names": [a.name for a in self.agents],
            "broadcast_if_no_target": self.broadcast_if_no_target,
            "seed": self.seed,
            "parallelize": self.parallelize,
            "max_workers": self.max_workers,
            "agent_timeout": self.agent_timeout,
            "on_agent_error": self.on_agent_error,
            "random_state": [version, list(internal), gauss],
            "errors": [e.as_dict() for e in self.errors],
            "step_metrics": [m.as_dict() for m in self.step_metrics],
        }
        if include_agents:
            state["agents"] = [a.to_state() for a in self.agents]
        return state

    def load_state(self, state: Mapping[str, Any]) -> TinyWorld:
        """Restore :meth:`to_state` output in place. Agents in the state that the world lacks are created
        (with the world's client); agents the world has but the state lacks are an error."""
        if state.get("name") != self.name:
            raise ValueError(f"state of world {state.get('name')!r} cannot be loaded into world {self.name!r}")
        self._datetime = datetime.fromisoformat(state["datetime"])
        self._step = int(state["step"])
        self.broadcast_if_no_target = bool(state["broadcast_if_no_target"])
        self.seed = state.get("seed")
        self.parallelize = bool(state.get("parallelize", self.parallelize))
        self.max_workers = state.get("max_workers", self.max_workers)
        self.agent_timeout = state.get("agent_timeout", self.agent_timeout)
        self.on_agent_error = state.get("on_agent_error", self.on_agent_error)
        version, internal, gauss = state["random_state"]
        self.random.setstate((version, tuple(internal), gauss))
        self.errors = [AgentTurnError(**e) for e in state.get("errors", [])]
        self.step_metrics = [StepMetrics(**{k: v for k, v in m.items() if k != "speedup"})
                             for m in state.get("step_metrics", [])]
        agent_states = state.get("agents")
        if agent_states is not None:
            names = [s["name"] for s in agent_states]
            extra = [a.name for a in self.agents if a.name not in names]
            if extra:
                raise ValueError(f"world {self.name!r} has agents the state does not know: {', '.join(extra)}")
            for agent_state in agent_states:
                if self.get_agent_by_name(agent_state["name"]) is None:
                    self.add_agent(TinyPerson(agent_state["name"], persona=Persona.from_spec(agent_state["persona"])))
            for agent_state in agent_states:
                agent = self.name_to_agent[agent_state["name"]]
                agent.load_state(agent_state, self.get_agent_by_name)
            self.agents.sort(key=lambda a: names.index(a.name))
        return self


__all__ = ["Intervention", "TinyWorld"]
