"""What crosses the process boundary in a distributed step: one request per worker (the agents' whole
states, the world's name, step and clock) and one result (per agent the new state, its events, its
client's events and a failure record). Plain pydantic models, so any transport can carry them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tinytroupe.events import Event

AgentKey = tuple[str, str]  # (world name, agent name): one executor may serve several worlds


class AgentTurnRequest(BaseModel):
    """One agent's turn as sent to a worker: its whole state plus the options the state leaves out."""

    name: str
    state: dict[str, Any]
    options: dict[str, Any] = Field(default_factory=dict)


class ShardRequest(BaseModel):
    """A shard of one step: where and when it happens, and the agents that act."""

    world: str
    step: int
    sim_time: datetime | None = None
    timeout: float | None = None
    max_workers: int | None = None
    agents: list[AgentTurnRequest]
    #: every agent in the world, not only this shard's: an agent's turn schema lists whom it can address
    present: list[str] = Field(default_factory=list)
    #: agent name → whom its TALK reaches, for the agents whose world restricts it (a social network)
    reachable: dict[str, list[str]] = Field(default_factory=dict)


class TurnErrorRecord(BaseModel):
    """A failed turn, as data. ``exception`` is the original when it survives pickling, else None."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    error_type: str
    message: str
    timed_out: bool = False
    exception: BaseException | None = None


class AgentTurnResult(BaseModel):
    """What one agent's turn in a worker produced."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    name: str
    state: dict[str, Any]
    events: list[Event] = Field(default_factory=list, description="published by the agent, in order")
    bus_events: list[Event] = Field(default_factory=list,
                                    description="published on the client's bus for this agent (LLM calls, errors)")
    wall_s: float = 0.0
    error: TurnErrorRecord | None = None


class ShardResult(BaseModel):
    """The results of a shard, in request order, plus bus events that name no agent of the shard."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    results: list[AgentTurnResult]
    unowned_events: list[Event] = Field(default_factory=list)
