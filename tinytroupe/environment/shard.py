"""Kept at this import path for scripts that use it: the shard messages, worker and driver now live in
:mod:`tinytroupe.environment.distributed` (``messages``, ``worker``, ``driver``); replace or patch
names there."""

from tinytroupe.environment.distributed.driver import (
    AGENT_OPTIONS,
    ShardedExecutor,
    ShardMap,
    apply_result,
    failed_outcomes,
    publish_bus_events,
    shard_request,
    turn_request,
)
from tinytroupe.environment.distributed.messages import (
    AgentKey,
    AgentTurnRequest,
    AgentTurnResult,
    ShardRequest,
    ShardResult,
    TurnErrorRecord,
)
from tinytroupe.environment.distributed.worker import ShardWorker

__all__ = [
    "AGENT_OPTIONS",
    "AgentKey",
    "AgentTurnRequest",
    "AgentTurnResult",
    "ShardMap",
    "ShardRequest",
    "ShardResult",
    "ShardWorker",
    "ShardedExecutor",
    "TurnErrorRecord",
    "apply_result",
    "failed_outcomes",
    "publish_bus_events",
    "shard_request",
    "turn_request",
]
