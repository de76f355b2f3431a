"""Showing simulations: the live console display, memory charts and emotion charts.

Public names: ConsoleDisplay, MemoryVisualizer, MemoryTimelineData, ConsolidationData, EmotionTimeline.
"""

from tinytroupe.visualization.console import ConsoleDisplay
from tinytroupe.visualization.emotion_chart import EmotionTimeline
from tinytroupe.visualization.memory_visualizer import ConsolidationData, MemoryTimelineData, MemoryVisualizer

__all__ = ["ConsoleDisplay", "ConsolidationData", "EmotionTimeline", "MemoryTimelineData", "MemoryVisualizer"]
