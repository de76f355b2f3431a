"""Worlds: where agents live, with a clock, action routing and the stepping engine.

Public names: TinyWorld, TinySocialNetwork, Intervention, AgentTurnError, StepMetrics, TurnOutcome,
Executor, LocalExecutor, ShardedExecutor, RayExecutor (Ray itself is imported only when one starts),
TinyWorkplace (org chart, meetings, tasks: with ReachPolicy, OrgChart, WorkplaceTool), TinyClassroom
(teacher, students, lessons, questions, quizzes: with Lesson, Quiz, QuizQuestion, Grade).
"""

from tinytroupe.environment.classroom import TinyClassroom
from tinytroupe.environment.classroom_models import Grade, Lesson, Quiz, QuizQuestion
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
    "Grade",
    "Intervention",
    "Lesson",
    "LocalExecutor",
    "OrgChart",
    "Quiz",
    "QuizQuestion",
    "RayExecutor",
    "ReachPolicy",
    "ShardedExecutor",
    "StepMetrics",
    "TinyClassroom",
    "TinySocialNetwork",
    "TinyWorkplace",
    "TinyWorld",
    "TurnOutcome",
    "WorkplaceTool",
]
