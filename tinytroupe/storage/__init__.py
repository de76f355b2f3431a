"""Persistence of what happened: run files (SQLite, WAL) with traces and checkpoints, and JSONL traces.

Every write keeps SQLite's own cause on failure (:class:`~tinytroupe.errors.StorageError` with
``cause_kind``), and a damaged run file can be checked and salvaged table by table (``salvage``).

Public names: JsonlTraceWriter, Trace, TraceStore, CheckpointStore, Checkpoint, CallLog, BatchWriter,
RunInfo, SalvageReport.
"""

from tinytroupe.storage.call_log import CallLog
from tinytroupe.storage.checkpoints import Checkpoint, CheckpointStore
from tinytroupe.storage.jsonl_trace import JsonlTraceWriter
from tinytroupe.storage.run_info import RunInfo
from tinytroupe.storage.salvage import SalvageReport
from tinytroupe.storage.trace_store import Trace, TraceStore
from tinytroupe.storage.writer import BatchWriter

__all__ = ["BatchWriter", "CallLog", "Checkpoint", "CheckpointStore", "JsonlTraceWriter", "RunInfo", "SalvageReport",
           "Trace", "TraceStore"]
