"""Worlds: where agents live, with a clock, action routing and the stepping engine.

Public names: TinyWorld, TinySocialNetwork, Intervention, AgentTurnError, StepMetrics.
"""

from tinytroupe.environment.engine import AgentTurnError, StepMetrics
from tinytroupe.environment.social_network import TinySocialNetwork
from tinytroupe.environment.world import Intervention, TinyWorld

__all__ = ["AgentTurnError", "Intervention", "StepMetrics", "TinySocialNetwork", "TinyWorld"]
