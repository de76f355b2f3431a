"""Watching simulations from the event bus: memory monitoring, alerts and profiling.

Public names: MemoryMonitor, MemoryAlert, MemorySnapshot, MemoryProfiler.
"""

from tinytroupe.monitoring.memory_monitor import MemoryAlert, MemoryMonitor, MemorySnapshot
from tinytroupe.monitoring.profiler import MemoryProfiler

__all__ = ["MemoryAlert", "MemoryMonitor", "MemoryProfiler", "MemorySnapshot"]
