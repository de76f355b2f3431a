"""A world's state as JSON-ready data (clock, step, random generator, errors, metrics and its agents'
states) and its exact restoration: what checkpoints and ``save``/``load`` use.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Self

from tinytroupe.agent.person import TinyPerson
from tinytroupe.agent.persona import Persona
from tinytroupe.environment.engine import AgentTurnError, StepMetrics
from tinytroupe.errors import InvalidArgument


class WorldState:
    """Mixin of :class:`~tinytroupe.environment.TinyWorld`: :meth:`to_state` and :meth:`load_state`."""

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

        def get_agent_by_name(self, name: str) -> TinyPerson | None: ...

        def add_agent(self, agent: TinyPerson) -> object: ...

    def encode_complete_state(self) -> dict[str, Any]:
        """TinyTroupe's name for :meth:`to_state`."""
        return self.to_state()

    def decode_complete_state(self, state: Mapping[str, Any]) -> Self:
        """TinyTroupe's name for :meth:`load_state`."""
        return self.load_state(state)

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

    def load_state(self, state: Mapping[str, Any]) -> Self:
        """Restore :meth:`to_state` output in place. Agents in the state that the world lacks are created
        (with the world's client); agents the world has but the state lacks are an error.

        Raises:
            InvalidArgument: the state is another world's, or lacks agents this world has.
        """
        if state.get("name") != self.name:
            raise InvalidArgument(f"state of world {state.get('name')!r} cannot be loaded into world {self.name!r}")
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
                raise InvalidArgument(f"world {self.name!r} has agents the state does not know: {', '.join(extra)}")
            for agent_state in agent_states:
                if self.get_agent_by_name(agent_state["name"]) is None:
                    self.add_agent(TinyPerson(agent_state["name"], persona=Persona.from_spec(agent_state["persona"])))
            for agent_state in agent_states:
                agent = self.name_to_agent[agent_state["name"]]
                agent.load_state(agent_state, self.get_agent_by_name)
            self.agents.sort(key=lambda a: names.index(a.name))
        return self


__all__ = ["WorldState"]
