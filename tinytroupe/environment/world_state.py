"""A world's state (clock, step, random generator, errors, metrics, its agents' states, and its event
and activity schedules) as a
:class:`~tinytroupe.environment.state_models.WorldState` or JSON-ready dict, and its exact
restoration: what checkpoints and ``save``/``load`` use.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Self

from tinytroupe.agent.person import TinyPerson
from tinytroupe.agent.persona import Persona
from tinytroupe.agent.state_models import AgentState
from tinytroupe.environment.engine import AgentTurnError, StepMetrics
from tinytroupe.environment.scheduler import ActivitySchedule, EventScheduler
from tinytroupe.environment.state_models import WorldState
from tinytroupe.errors import InvalidArgument


class WorldStateMethods:
    """Mixin of :class:`~tinytroupe.environment.TinyWorld`: :meth:`state_model` / :meth:`apply_state`
    and their dict twins :meth:`to_state` / :meth:`load_state`."""

    #: the model this kind of world's state is read into (a social network's adds relations)
    state_class: ClassVar[type[WorldState]] = WorldState

    if TYPE_CHECKING:
        name: str
        agents: list[TinyPerson]
        name_to_agent: dict[str, TinyPerson]
        broadcast_if_no_target: bool
        seed: int | None
        parallelize: bool
        max_workers: int | None
        agent_timeout: float
        on_agent_error: str
        random: random.Random
        errors: list[AgentTurnError]
        step_metrics: list[StepMetrics]
        _datetime: datetime
        _step: int
        scheduler: EventScheduler | None
        activity: ActivitySchedule | None

        def get_agent_by_name(self, name: str) -> TinyPerson | None: ...

        def add_agent(self, agent: TinyPerson) -> object: ...

    def encode_complete_state(self) -> dict[str, Any]:
        """TinyTroupe's name for :meth:`to_state`."""
        return self.to_state()

    def decode_complete_state(self, state: Mapping[str, Any]) -> Self:
        """TinyTroupe's name for :meth:`load_state`."""
        return self.load_state(state)

    def state_model(self, include_agents: bool = True) -> WorldState:
        """The world's state: clock, step, random generator, errors, metrics and (by default) every
        agent's state; :meth:`apply_state` restores it exactly."""
        return WorldState.model_construct(**self._state_fields(include_agents))

    def _state_fields(self, include_agents: bool) -> dict[str, Any]:
        version, internal, gauss = self.random.getstate()
        return {
            "kind": type(self).__name__, "name": self.name, "datetime": self._datetime, "step": self._step,
            "agent_names": [a.name for a in self.agents], "broadcast_if_no_target": self.broadcast_if_no_target,
            "seed": self.seed, "parallelize": self.parallelize, "max_workers": self.max_workers,
            "agent_timeout": self.agent_timeout, "on_agent_error": self.on_agent_error,
            "random_state": (version, list(internal), gauss), "errors": [e.as_dict() for e in self.errors],
            "step_metrics": [m.as_dict() for m in self.step_metrics],
            "agents": [a.state_model() for a in self.agents] if include_agents else None,
            "schedule": self.scheduler.get_state() if self.scheduler is not None else None,
            "activity": self.activity.get_state() if self.activity is not None else None,
        }

    def apply_state(self, state: WorldState) -> Self:
        """Put the world in ``state`` (in place). Agents in the state that the world lacks are created
        (with the world's client); agents the world has but the state lacks are an error.

        Raises:
            InvalidArgument: the state is another world's, or lacks agents this world has.
        """
        if state.name != self.name:
            raise InvalidArgument(f"state of world {state.name!r} cannot be loaded into world {self.name!r}")
        self._datetime = state.datetime
        self._step = state.step
        self.broadcast_if_no_target = state.broadcast_if_no_target
        self.seed = state.seed
        self.parallelize = self.parallelize if state.parallelize is None else state.parallelize
        self.max_workers = state.max_workers if "max_workers" in state.model_fields_set else self.max_workers
        self.agent_timeout = self.agent_timeout if state.agent_timeout is None else state.agent_timeout
        self.on_agent_error = self.on_agent_error if state.on_agent_error is None else state.on_agent_error
        version, internal, gauss = state.random_state
        self.random.setstate((version, tuple(internal), gauss))
        self.errors = [AgentTurnError(**e) for e in state.errors]
        self.step_metrics = [StepMetrics(**{k: v for k, v in m.items() if k != "speedup"})
                             for m in state.step_metrics]
        if state.agents is not None:
            self._apply_agent_states(state.agents)
        self._apply_schedule_states(state)
        return self

    def _apply_schedule_states(self, state: WorldState) -> None:
        # A state without them (an older one, or a world without them) keeps the world's own.
        if state.schedule is not None:
            if self.scheduler is None:
                EventScheduler().attach(self)  # type: ignore[arg-type]
            assert self.scheduler is not None
            self.scheduler.set_state(state.schedule)
        if state.activity is not None:
            if self.activity is None:
                self.activity = ActivitySchedule()
            self.activity.set_state(state.activity)

    def _apply_agent_states(self, agent_states: list[AgentState]) -> None:
        names = [s.name for s in agent_states]
        extra = [a.name for a in self.agents if a.name not in names]
        if extra:
            raise InvalidArgument(f"world {self.name!r} has agents the state does not know: {', '.join(extra)}")
        for agent_state in agent_states:
            if self.get_agent_by_name(agent_state.name) is None:
                self.add_agent(TinyPerson(agent_state.name, persona=Persona.from_spec(agent_state.persona)))
        for agent_state in agent_states:
            self.name_to_agent[agent_state.name].apply_state(agent_state, self.get_agent_by_name)
        order = {name: i for i, name in enumerate(names)}
        self.agents.sort(key=lambda a: order[a.name])

    def to_state(self, include_agents: bool = True) -> dict[str, Any]:
        """The world's state as JSON-ready data (:meth:`state_model` as a dict)."""
        return self.state_model(include_agents).to_dict()

    def load_state(self, state: Mapping[str, Any]) -> Self:
        """Restore :meth:`to_state` output (or an older tinytroupe's) in place; see :meth:`apply_state`.

        Raises:
            InvalidArgument: the state is another world's, lacks agents this world has, or is malformed
                (the message names the field).
        """
        return self.apply_state(self.state_class.parse(state))


__all__ = ["WorldStateMethods"]
