"""Worlds: where agents live, with a clock, action routing and the stepping engine.

Public names: TinyWorld, TinySocialNetwork, TinyMarketplace (with Market, MarketTool, MarketAccess,
PriceRule, Product), TinyWorkplace (org chart, meetings, tasks: with ReachPolicy, OrgChart,
WorkplaceTool), TinyClassroom (teacher, students, lessons, questions, quizzes: with Lesson, Quiz,
QuizQuestion, Grade), Intervention, AgentTurnError, StepMetrics, TurnOutcome, Executor, LocalExecutor,
ShardedExecutor, RayExecutor (Ray itself is imported only when one starts); EventScheduler,
ScheduledEvent, ActivitySchedule, Routine (events and activity on the world clock); SpatialWorld, GridMap,
PlaceGraph (:mod:`.spatial`); TinyRetailStore, StoreLayout (:mod:`.retail`).
"""

from tinytroupe.environment.classroom import TinyClassroom
from tinytroupe.environment.classroom_models import Grade, Lesson, Quiz, QuizQuestion
from tinytroupe.environment.distributed import RayExecutor, ShardedExecutor
from tinytroupe.environment.engine import AgentTurnError, StepMetrics, TurnOutcome
from tinytroupe.environment.executors import Executor, LocalExecutor
from tinytroupe.environment.market import Market
from tinytroupe.environment.market_models import PriceRule, Product
from tinytroupe.environment.market_tool import MarketAccess, MarketTool
from tinytroupe.environment.marketplace import TinyMarketplace
from tinytroupe.environment.org_chart import OrgChart, ReachPolicy
from tinytroupe.environment.retail import StoreLayout, TinyRetailStore
from tinytroupe.environment.scheduler import ActivitySchedule, EventScheduler, Routine, ScheduledEvent
from tinytroupe.environment.social_network import TinySocialNetwork
from tinytroupe.environment.spatial import GridMap, PlaceGraph, SpatialWorld
from tinytroupe.environment.workplace import TinyWorkplace
from tinytroupe.environment.workplace_tool import WorkplaceTool
from tinytroupe.environment.world import Intervention, TinyWorld

__all__ = [
    "ActivitySchedule",
    "AgentTurnError",
    "EventScheduler",
    "Executor",
    "Grade",
    "GridMap",
    "Intervention",
    "Lesson",
    "LocalExecutor",
    "Market",
    "MarketAccess",
    "MarketTool",
    "OrgChart",
    "PlaceGraph",
    "PriceRule",
    "Product",
    "Quiz",
    "QuizQuestion",
    "RayExecutor",
    "ReachPolicy",
    "Routine",
    "ScheduledEvent",
    "ShardedExecutor",
    "SpatialWorld",
    "StepMetrics",
    "StoreLayout",
    "TinyClassroom",
    "TinyMarketplace",
    "TinyRetailStore",
    "TinySocialNetwork",
    "TinyWorkplace",
    "TinyWorld",
    "TurnOutcome",
    "WorkplaceTool",
]
