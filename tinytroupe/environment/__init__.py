"""Worlds: where agents live, with a clock, action routing and the stepping engine.

Public names: TinyWorld, TinySocialNetwork, Intervention, AgentTurnError, StepMetrics, TurnOutcome,
Executor, LocalExecutor, ShardedExecutor, RayExecutor (Ray itself is imported only when one starts).
"""

from tinytroupe.environment.distributed import RayExecutor, ShardedExecutor
from tinytroupe.environment.engine import AgentTurnError, StepMetrics, TurnOutcome
from tinytroupe.environment.executors import Executor, LocalExecutor
from tinytroupe.environment.social_network import TinySocialNetwork
from tinytroupe.environment.world import Intervention, TinyWorld

__all__ = [
    "AgentTurnError",
    "Executor",
    "Intervention",
    "LocalExecutor",
    "RayExecutor",
    "ShardedExecutor",
    "StepMetrics",
    "TinySocialNetwork",
    "TinyWorld",
    "TurnOutcome",
]
