"""The run file of a simulation: where it is, what its last run left (a status, a recorded clock start,
damage to salvage), and the one-line notice a simulation gives when it starts on it.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import zlib
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from tinytroupe.llm.cache import ResponseCache
from tinytroupe.llm.types import Completion
from tinytroupe.storage import batches, call_log, checkpoints, memory_segments, run_info, trace_store
from tinytroupe.storage.checkpoints import Checkpoint
from tinytroupe.storage.run_info import RunInfo
from tinytroupe.storage.salvage import SalvageReport, inspect, salvage
from tinytroupe.storage.sqlite import connect, storage_error

if TYPE_CHECKING:
    from tinytroupe.control.simulation import Simulation

# The simulation's logger: these messages are about the simulation's run.
logger = logging.getLogger("tinytroupe.control")

STATE_FORMAT = 1
CLOCK_START = "clock_start"

# What each table of a run file holds, in the words of the notice a salvaged file gets.
_SALVAGED_NAMES = {"responses": "cached LLM answers", "calls": "recorded calls", "checkpoints": "checkpoints",
                   "trace": "trace events", "runs": "runs", "simulation_info": "simulation settings",
                   "memory_segments": "cold memory segments", "memory_segment_vectors": "cold memory vectors"}
_REPORTED_TABLES = ("responses", "calls", "checkpoints", "trace")


def default_path(simulation_id: str) -> Path:
    """``./tinytroupe-<id>.sqlite``: the run file used when :func:`begin` is given no path."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in simulation_id)
    return Path(f"tinytroupe-{safe}.sqlite")


def previous_run_status(path: Path, simulation_id: str) -> str | None:
    """The status of the last run of ``simulation_id`` in the run file (None: no file, or no run yet)."""
    if not path.exists():
        return None
    conn = connect(path, doing="reading the runs of")
    try:
        row = conn.execute("SELECT status FROM runs WHERE simulation_id = ? ORDER BY run_id DESC LIMIT 1",
                           (simulation_id,)).fetchone()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):  # a cache-only or new file
            return None
        raise storage_error(exc, path, "reading the runs of") from exc
    except sqlite3.Error as exc:
        raise storage_error(exc, path, "reading the runs of") from exc
    finally:
        conn.close()
    return str(row[0]) if row else None


def salvage_if_damaged(path: Path) -> SalvageReport | None:
    """Check the run file; when it is damaged, move it aside and copy what is intact into a fresh one.

    Copied rows are checked first: a cached answer must parse as a completion, a trace event as a
    JSON object, a checkpoint must decode; anything else is left behind in the damaged copy.
    """
    problem = inspect(path)
    if problem is None:
        return None
    return salvage(path, create_run_file, problem=problem, validators={
        "responses": lambda row: isinstance(row["size"], int)
        and Completion.model_validate_json(row["completion"]) is not None,
        "trace": lambda row: isinstance(json.loads(row["data"]), dict),
        "checkpoints": lambda row: Checkpoint.from_row(tuple(row.values())).readable(),
        "memory_segments": lambda row: isinstance(json.loads(zlib.decompress(row["data"])), list),
    })


def clock_start(path: Path, simulation_id: str) -> tuple[datetime, bool]:
    """The default clock start of this simulation's worlds: the recorded one, else now (to the
    minute), recorded. Prompts carry the simulated time, so a re-run must start where the first did."""
    info = RunInfo(path)
    now = datetime.now().replace(second=0, microsecond=0)
    value, recorded = info.remember(simulation_id, CLOCK_START, now.isoformat())
    try:
        return datetime.fromisoformat(value), recorded
    except ValueError:
        logger.warning("the recorded clock start %r of simulation %r in %s is unreadable; worlds without "
                       "initial_datetime start at %s instead, so their prompts differ from the recorded run",
                       value, simulation_id, path, now.isoformat())
        return now, False


def start_notice(sim: Simulation, cached: int, recorded: int) -> str:
    """What starting ``sim`` means, in one line: new run, re-run or resuming, the clock start, a salvage."""
        # Only what will happen: identical requests are answered from the cache; any request that
    # differs (changed script, data or clock) goes to the model and is reported as a divergence.
    replays = ("requests identical to the recorded ones are answered from the cache, changed ones go "
               "to the model and are listed in sim.divergences")
    clock = (f"worlds without initial_datetime start at {sim.clock_start:%Y-%m-%d %H:%M}"
             if sim.clock_start else "")
    if sim.resumed:
        cp = sim.resumed_from
        what = (f"resuming after an interrupted run: {cached} LLM answers cached; last checkpoint "
                + (f"#{cp.id} at step {cp.step}" if cp else "none")
                + (" (sim.restore(world) loads it)" if cp else "") + f"; {replays}")
    elif recorded:
        what = f"re-run: {recorded} recorded calls, {cached} LLM answers cached; {replays}"
    else:
        what = "new run"
    if clock:
        if sim.clock_start_recorded:
            clock += ", as recorded at the first run"
        elif recorded or sim.resumed:
            # A file from before clock starts were recorded: the old prompts had another time in them.
            clock += (" (no start was recorded by the earlier run, so calls of such worlds will not match "
                      "the recording)")
        else:
            clock += " (recorded: re-runs start there too)"
        what += f"; {clock}"
    if sim.salvaged is not None:
        what = f"{describe_salvage(sim.salvaged)}; {what}"
    return what


def create_run_file(path: Path) -> None:
    """Create every table of a run file (the fresh file a salvage copies into)."""
    conn = connect(path)
    try:
        for create in (trace_store.create_tables, call_log.create_tables, checkpoints.create_tables,
                       run_info.create_tables, batches.create_tables, memory_segments.create_tables):
            create(conn)
    finally:
        conn.close()
    cache = ResponseCache(path)
    try:
        len(cache)  # opening creates its tables
    finally:
        cache.close()


def describe_salvage(report: SalvageReport) -> str:
    kept = [f"{report.copied(t)} {name}" for t, name in _SALVAGED_NAMES.items()
            if t in report.tables and t in _REPORTED_TABLES]
    lost = [_SALVAGED_NAMES[t.table] for t in report.tables.values()
            if t.table in _SALVAGED_NAMES and not t.intact]
    return (f"the run file was damaged ({report.problem}) and was moved to {report.moved_to}; copied from it "
            f"into a fresh file: {', '.join(kept) or 'nothing'}; "
            + (f"left behind as unreadable: some or all {', '.join(lost)} (calls whose answers were lost are "
               "paid for again)" if lost else "nothing readable was lost"))


__all__ = ["CLOCK_START", "STATE_FORMAT", "clock_start", "create_run_file", "default_path", "describe_salvage",
           "previous_run_status", "salvage_if_damaged", "start_notice"]
