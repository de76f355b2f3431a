"""Worlds: where agents live, with a clock, action routing and the stepping engine.

Public names: TinyWorld, TinySocialNetwork, Intervention, AgentTurnError, StepMetrics, TurnOutcome,
Executor, LocalExecutor, ShardedExecutor, RayExecutor (Ray itself is imported only when one starts),
TinyWorkplace (org chart, meetings, tasks: with ReachPolicy, OrgChart, WorkplaceTool).
"""

from tinytroupe.environment.distributed import RayExecutor, ShardedExecutor
from tinytroupe.environment.engine import AgentTurnError, StepMetrics, TurnOutcome
from tinytroupe.environment.executors import Executor, LocalExecutor
from tinytroupe.environment.org_chart import OrgChart, ReachPolicy
from tinytroupe.environment.social_network import TinySocialNetwork
from tinytroupe.environment.workplace import TinyWorkplace
from tinytroupe.environment.workplace_tool import WorkplaceTool
from tinytroupe.environment.world import Intervention, TinyWorld

__all__ = [
    "AgentTurnError",
    "Executor",
    "Intervention",
    "LocalExecutor",
    "OrgChart",
    "RayExecutor",
    "ReachPolicy",
    "ShardedExecutor",
    "StepMetrics",
    "TinySocialNetwork",
    "TinyWorkplace",
    "TinyWorld",
    "TurnOutcome",
    "WorkplaceTool",
]
