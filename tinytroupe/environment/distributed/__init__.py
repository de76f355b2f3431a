"""Agent turns in other processes or machines: a world's step split into shards, one per worker.

* :mod:`~tinytroupe.environment.distributed.messages`: what crosses the process boundary
  (``ShardRequest``, ``ShardResult`` and their per-agent parts).
* :mod:`~tinytroupe.environment.distributed.worker`: ``ShardWorker``, which lives in each worker process
  and runs its agents' turns with its own LLM client.
* :mod:`~tinytroupe.environment.distributed.driver`: ``ShardMap`` (sticky agent-to-worker assignment),
  building requests and applying results, and ``ShardedExecutor``, the executor base a transport completes.
* :mod:`~tinytroupe.environment.distributed.ray_actors`: ``RayExecutor``, the transport on Ray actors
  (Ray is imported only when one starts).

The earlier paths ``tinytroupe.environment.shard`` and ``tinytroupe.environment.ray_executor`` still
import the same names. See ``docs/distributed.md``.
"""

from tinytroupe.environment.distributed.driver import ShardedExecutor, ShardMap
from tinytroupe.environment.distributed.messages import AgentTurnRequest, AgentTurnResult, ShardRequest, ShardResult
from tinytroupe.environment.distributed.ray_actors import RayExecutor
from tinytroupe.environment.distributed.worker import ShardWorker

__all__ = [
    "AgentTurnRequest",
    "AgentTurnResult",
    "RayExecutor",
    "ShardMap",
    "ShardRequest",
    "ShardResult",
    "ShardWorker",
    "ShardedExecutor",
]
