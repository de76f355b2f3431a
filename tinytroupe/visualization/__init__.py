"""Showing simulations: the live console display.

Public names: ConsoleDisplay.
"""

from tinytroupe.visualization.console import ConsoleDisplay

__all__ = ["ConsoleDisplay"]
