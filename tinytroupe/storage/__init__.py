"""Persistence of what happened: traces (and, later, checkpoints).

Public names: JsonlTraceWriter.
"""

from tinytroupe.storage.jsonl_trace import JsonlTraceWriter

__all__ = ["JsonlTraceWriter"]
