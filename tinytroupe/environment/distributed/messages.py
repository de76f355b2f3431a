"""What crosses the process boundary in a distributed step: one request per worker (per agent its
state whole or as a delta from the copy the worker holds, and the world's name, step and clock) and one
result (per agent the delta to its new state, its events, its client's events and a failure record).
Plain pydantic models, so any transport can carry them.

A request or result pickles as one zlib-compressed blob of its fields (:func:`pack_fields`): what
it carries (memory items, events) repeats field names, class paths and agent names across a shard,
and compressing the shard's message as a whole ships a fraction of the bytes for a few milliseconds.

Example:
    >>> import pickle
    >>> request = ShardRequest(world="Cafe", step=1, agents=[])
    >>> pickle.loads(pickle.dumps(request)) == request
    True
"""

from __future__ import annotations

import pickle
import zlib
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tinytroupe.agent.state_delta import AgentDelta
from tinytroupe.agent.state_models import AgentState
from tinytroupe.events import Event
from tinytroupe.llm.budget import BudgetShare, ShareUse

AgentKey = tuple[str, str]  # (world name, agent name): one executor may serve several worlds


_M = TypeVar("_M", bound=BaseModel)
#: zlib's fastest level: most of the gain at a tenth of the cost of the default one
_LEVEL = 1


def pack_fields(model: BaseModel) -> bytes:
    """``model``'s fields, pickled and compressed (what :func:`unpack_fields` reads)."""
    return zlib.compress(pickle.dumps(dict(model), protocol=pickle.HIGHEST_PROTOCOL), _LEVEL)


def unpack_fields(cls: type[_M], blob: bytes) -> _M:
    """The ``cls`` message :func:`pack_fields` packed."""
    return cls.model_construct(**pickle.loads(zlib.decompress(blob)))


class _Packed(BaseModel):
    def __reduce__(self) -> tuple[Any, ...]:
        return unpack_fields, (type(self), pack_fields(self))


class AgentTurnRequest(BaseModel):
    """One agent's turn as sent to a worker: its ``state`` whole, or the ``delta`` from the copy the worker
    holds (numbered ``base_sync``); ``sync`` numbers the worker's copy once updated. ``options``
    (attributes the state leaves out) come when they changed since the worker's last request, else None."""

    name: str
    sync: int = 0
    state: AgentState | None = None
    delta: AgentDelta | None = None
    base_sync: int | None = None
    options: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _state_or_delta(self) -> AgentTurnRequest:
        if (self.state is None) == (self.delta is None) or (self.delta is not None and self.base_sync is None):
            raise ValueError("a turn request carries either a state or a delta with its base_sync")
        return self


class ShardRequest(_Packed):
    """A shard of one step: where and when it happens, and the agents that act."""

    world: str
    step: int
    sim_time: datetime | None = None
    timeout: float | None = None
    max_workers: int | None = None
    agents: list[AgentTurnRequest]
    #: every agent in the world, not only this shard's: an agent's turn schema lists whom it can address
    #: (None: the same as in this worker's last request for this world)
    present: list[str] | None = Field(default_factory=list)
    #: agent name → whom its TALK reaches, for the agents whose world restricts it (a social network);
    #: None: the same as in this worker's last request for this world
    reachable: dict[str, list[str]] | None = Field(default_factory=dict)
    #: the part of the driver's budget this shard's calls may spend (None: the driver's client has none)
    budget: BudgetShare | None = None


class TurnErrorRecord(BaseModel):
    """A failed turn, as data. ``exception`` is the original when it survives pickling, else None."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    error_type: str
    message: str
    timed_out: bool = False
    exception: BaseException | None = None


class AgentTurnResult(BaseModel):
    """What one agent's turn in a worker produced: the agent's new ``state`` whole, or the ``delta`` to it
    from the state the request gave (None, None: the turn changed nothing)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    name: str
    state: AgentState | None = None
    delta: AgentDelta | None = None
    events: list[Event] = Field(default_factory=list, description="published by the agent, in order")
    bus_events: list[Event] = Field(default_factory=list,
                                    description="published on the client's bus for this agent (LLM calls, errors)")
    wall_s: float = 0.0
    error: TurnErrorRecord | None = None


class ShardResult(_Packed):
    """The results of a shard, in request order, plus bus events that name no agent of the shard."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    results: list[AgentTurnResult]
    unowned_events: list[Event] = Field(default_factory=list)
    #: what the shard's calls used of the request's budget share (None: the request lent none)
    budget: ShareUse | None = None
