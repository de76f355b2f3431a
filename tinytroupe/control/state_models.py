"""What a checkpoint holds, as a model: :class:`SimulationState` (the simulation's id, seed and random
generator, every world with its agents, and the tracked agents outside worlds).

``Simulation.state_model()`` produces it; ``Simulation.restore()`` reads a checkpoint into it and hands
each world and agent its part. Checkpoints written before the model existed read as version 1.

Example:
    >>> state = SimulationState.parse({"format": 1, "simulation": {"id": "s", "seed": 7,
    ...                                "random_state": [3, [1, 2], None]}, "worlds": [], "agents": []})
    >>> state.simulation.seed, state.trace_events
    (7, 0)
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from tinytroupe.agent.state_models import AgentState
from tinytroupe.control.run_file import STATE_FORMAT
from tinytroupe.environment.state_models import AnyWorldState
from tinytroupe.state import StateModel


class SimulationInfo(BaseModel):
    """The simulation's identity and random generator (``random.getstate()`` as JSON)."""

    id: str
    seed: int | None = None
    random_state: tuple[int, list[int], float | None]


class SimulationState(StateModel):
    """A simulation's whole state, as a checkpoint stores it.

    ``format`` is the run file's state format (:data:`~tinytroupe.control.run_file.STATE_FORMAT`);
    ``trace_events`` is how many trace events were written when the state was taken.
    """

    format: int = STATE_FORMAT
    simulation: SimulationInfo
    worlds: list[AnyWorldState] = Field(default_factory=list)
    agents: list[AgentState] = Field(default_factory=list)
    trace_events: int = 0


__all__ = ["SimulationInfo", "SimulationState"]
