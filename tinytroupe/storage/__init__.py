"""Persistence of what happened: run files (SQLite, WAL) with traces and checkpoints, and JSONL traces.

Public names: JsonlTraceWriter, Trace, TraceStore, CheckpointStore, Checkpoint, CallLog, BatchWriter.
"""

from tinytroupe.storage.call_log import CallLog
from tinytroupe.storage.checkpoints import Checkpoint, CheckpointStore
from tinytroupe.storage.jsonl_trace import JsonlTraceWriter
from tinytroupe.storage.trace_store import Trace, TraceStore
from tinytroupe.storage.writer import BatchWriter

__all__ = ["BatchWriter", "CallLog", "Checkpoint", "CheckpointStore", "JsonlTraceWriter", "Trace", "TraceStore"]
