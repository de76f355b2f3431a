"""Worlds: where agents live, with a clock, action routing and the stepping engine.

Public names: TinyWorld, TinySocialNetwork, Intervention, AgentTurnError, StepMetrics, TurnOutcome,
Executor, LocalExecutor, ShardedExecutor, RayExecutor (Ray itself is imported only when one starts);
SpatialWorld, GridMap, PlaceGraph (:mod:`.spatial`); TinyRetailStore, StoreLayout (:mod:`.retail`).
"""

from tinytroupe.environment.distributed import RayExecutor, ShardedExecutor
from tinytroupe.environment.engine import AgentTurnError, StepMetrics, TurnOutcome
from tinytroupe.environment.executors import Executor, LocalExecutor
from tinytroupe.environment.retail import StoreLayout, TinyRetailStore
from tinytroupe.environment.social_network import TinySocialNetwork
from tinytroupe.environment.spatial import GridMap, PlaceGraph, SpatialWorld
from tinytroupe.environment.world import Intervention, TinyWorld

__all__ = [
    "AgentTurnError",
    "Executor",
    "GridMap",
    "Intervention",
    "LocalExecutor",
    "PlaceGraph",
    "RayExecutor",
    "ShardedExecutor",
    "SpatialWorld",
    "StepMetrics",
    "StoreLayout",
    "TinyRetailStore",
    "TinySocialNetwork",
    "TinyWorld",
    "TurnOutcome",
]
