"""Showing simulations: the live console display and memory charts.

Public names: ConsoleDisplay, MemoryVisualizer.
"""

from tinytroupe.visualization.console import ConsoleDisplay
from tinytroupe.visualization.memory_visualizer import MemoryVisualizer

__all__ = ["ConsoleDisplay", "MemoryVisualizer"]
