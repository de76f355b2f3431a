"""Watching simulations from the event bus: memory monitoring, alerts and profiling.

Public names: MemoryMonitor, MemoryAlert, MemorySnapshot, AgentMemoryStats, MemoryProfiler, trend_of.
"""

from tinytroupe.monitoring.memory_monitor import (
    AgentMemoryStats,
    MemoryAlert,
    MemoryMonitor,
    MemorySnapshot,
    trend_of,
)
from tinytroupe.monitoring.profiler import MemoryProfiler

__all__ = ["AgentMemoryStats", "MemoryAlert", "MemoryMonitor", "MemoryProfiler", "MemorySnapshot", "trend_of"]
