"""Showing simulations: the live console display and memory charts.

Public names: ConsoleDisplay, MemoryVisualizer, MemoryTimelineData, ConsolidationData.
"""

from tinytroupe.visualization.console import ConsoleDisplay
from tinytroupe.visualization.memory_visualizer import ConsolidationData, MemoryTimelineData, MemoryVisualizer

__all__ = ["ConsoleDisplay", "ConsolidationData", "MemoryTimelineData", "MemoryVisualizer"]
