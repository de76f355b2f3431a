"""The SQLite trace: every event of a run, in order, and a query API over it.

:class:`TraceStore` is an event-bus subscriber: it numbers each event as it arrives (its ``pos``,
the run's publication order) and hands it to a :class:`~tinytroupe.storage.writer.BatchWriter`, so
publishing never waits for the disk. :class:`Trace` reads a run file: events as dicts or a pandas
DataFrame, JSONL and Parquet export, and a summary (what ``tinytroupe trace PATH`` prints).

A run file holds several runs (each ``control.begin`` on it is one); by default the query API reads
the latest run. Re-running a simulation id replaces that id's older runs' events (the newest run is
the trace of record; see ``docs/control.md``).

Example:
    >>> from tinytroupe.events import EventBus, WarningEvent
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "run.sqlite")
    >>> store = TraceStore(path)
    >>> run = store.start_run("demo")
    >>> bus = EventBus(); _ = bus.subscribe(store)
    >>> bus.publish(WarningEvent(code="x", message="y"))
    >>> store.end_run(); store.close()
    >>> Trace(path).events()[0]["code"]
    'x'
"""

from __future__ import annotations

import itertools
import json
import logging
import sqlite3
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tinytroupe.errors import ConfigError, InvalidState
from tinytroupe.events import Event
from tinytroupe.storage.sqlite import connect, ensure_schema, storage_error, transaction
from tinytroupe.storage.writer import BatchWriter

logger = logging.getLogger(__name__)

if TYPE_CHECKING:  # pandas is imported only when a DataFrame is asked for
    import pandas as pd

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id        INTEGER PRIMARY KEY AUTOINCREMENT,
    simulation_id TEXT NOT NULL,
    started       REAL NOT NULL,
    ended         REAL,
    status        TEXT NOT NULL,
    note          TEXT
);
CREATE TABLE IF NOT EXISTS trace (
    run_id    INTEGER NOT NULL,
    pos       INTEGER NOT NULL,
    kind      TEXT NOT NULL,
    agent     TEXT,
    world     TEXT,
    step      INTEGER,
    wall_time REAL,
    data      TEXT NOT NULL,
    PRIMARY KEY (run_id, pos)
);
"""

#: fields that differ between two runs of the same script even when nothing else does (timings,
#: cache flags, process-wide counters): left out when traces are compared
VOLATILE_FIELDS = frozenset({"seq", "wall_time", "latency_s", "cache_hit", "attempts", "wall_s", "duration_s",
                             "size_bytes"})


def create_tables(conn: sqlite3.Connection) -> None:
    """Create (or check) this component's tables (``runs``, ``trace``) on ``conn``."""
    ensure_schema(conn, "trace", SCHEMA_VERSION, _SCHEMA)


_INSERT = "INSERT INTO trace (run_id, pos, kind, agent, world, step, wall_time, data) VALUES (?,?,?,?,?,?,?,?)"


class TraceStore:
    """Writes events to the ``trace`` table of a run file (a path, not ``:memory:``), batched on a
    background thread.

    Call it (it is a bus subscriber), then :meth:`flush` to make everything so far durable.
    """

    def __init__(self, path: str | Path, *, writer: BatchWriter | None = None) -> None:
        self.path = path
        self._owns_writer = writer is None
        self.writer = writer if writer is not None else BatchWriter(path)
        conn = connect(path)
        try:
            create_tables(conn)
        finally:
            conn.close()
        self.run_id: int | None = None
        self._pos = itertools.count()
        self.count = 0

    def start_run(self, simulation_id: str, *, note: str | None = None, replace: bool = True) -> int:
        """Open a new run (``replace``: delete older runs of ``simulation_id`` and their events)."""
        self.writer.flush()
        conn = connect(self.path)
        try:
            with transaction(conn, self.path, "starting a run in"):
                if replace:
                    conn.execute("DELETE FROM trace WHERE run_id IN "
                                 "(SELECT run_id FROM runs WHERE simulation_id = ?)", (simulation_id,))
                    conn.execute("DELETE FROM runs WHERE simulation_id = ?", (simulation_id,))
                cur = conn.execute("INSERT INTO runs (simulation_id, started, status, note) VALUES (?,?,?,?)",
                                   (simulation_id, time.time(), "running", note))
        finally:
            conn.close()
        self.run_id = int(cur.lastrowid or 0)
        self._pos = itertools.count()
        self.count = 0
        return self.run_id

    def __call__(self, event: Event) -> None:
        run_id = self.run_id
        if run_id is None:
            raise InvalidState("TraceStore.start_run() must be called before events are recorded")
        pos = next(self._pos)
        self.count += 1

        def row() -> tuple[Any, ...]:
            # The serializer itself, as model_dump_json calls it with its defaults (the same JSON): that
            # wrapper's keyword arguments cost a third of the serializing, done on the writer thread
            # but holding the GIL the turns need.
            return (run_id, pos, event.kind, event.agent, event.world, event.step, event.wall_time,
                    event.__pydantic_serializer__.to_json(event).decode())

        self.writer.put(_INSERT, row)

    def flush(self) -> None:
        """Wait until every event received so far is committed."""
        self.writer.flush()

    def end_run(self, status: str = "ended") -> None:
        """Mark the run finished (after committing its events)."""
        if self.run_id is None:
            return
        run_id = self.run_id
        self.writer.put("UPDATE runs SET ended = ?, status = ? WHERE run_id = ?", (time.time(), status, run_id))
        self.writer.flush()

    def close(self) -> None:
        if self._owns_writer:
            self.writer.close()
        else:
            self.writer.flush()


class Trace:
    """Read access to the trace of a run file.

    Example (a one-step run on the scripted demo model, then one row per action):
        >>> import os, tempfile
        >>> from tinytroupe import TinyPerson, TinyWorld, control
        >>> from tinytroupe.llm.demo import demo_backend
        >>> path = os.path.join(tempfile.mkdtemp(), "study.sqlite")
        >>> _ = control.begin(path, seed=1, backend=demo_backend(seed=1), quiet=True)
        >>> world = TinyWorld("Room", [TinyPerson("Ana"), TinyPerson("Ben")], communication_display=False)
        >>> world.make_everyone_accessible()
        >>> world.broadcast("Tea or coffee?")
        >>> world.run(1)
        >>> control.end()
        >>> with Trace(path) as trace:
        ...     actions = trace.to_pandas(kinds=["action"])
        >>> sorted(set(actions["agent"])), int((actions["action_type"] == "DONE").sum())
        (['Ana', 'Ben'], 2)
    """

    def __init__(self, path: str | Path, run_id: int | None = None) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise ConfigError(f"no run file at {str(self.path)!r}; pass the path printed by control.begin()")
        self._conn = connect(self.path)
        # A damaged row's text may not be UTF-8: keep its bytes (the JSON parse then rejects the row)
        # instead of failing the whole query.
        self._conn.text_factory = _text_or_bytes
        try:
            tables = {r[0] for r in self._conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        except sqlite3.Error as exc:
            self._conn.close()
            raise storage_error(exc, self.path, "reading the trace of") from exc
        if "trace" not in tables:
            self._conn.close()
            raise ConfigError(f"{str(self.path)!r} is a SQLite file but holds no trace; is it a tinytroupe run file?")
        self.run_id = run_id if run_id is not None else self.latest_run()

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Trace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def runs(self) -> list[dict[str, Any]]:
        """Every run in the file: id, simulation id, start and end time, status, events."""
        rows = self._conn.execute(
            "SELECT r.run_id, r.simulation_id, r.started, r.ended, r.status, r.note, "
            "(SELECT COUNT(*) FROM trace t WHERE t.run_id = r.run_id) FROM runs r ORDER BY r.run_id").fetchall()
        keys = ("run_id", "simulation_id", "started", "ended", "status", "note", "events")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def latest_run(self, simulation_id: str | None = None) -> int | None:
        if simulation_id is None:
            row = self._conn.execute("SELECT MAX(run_id) FROM runs").fetchone()
        else:
            row = self._conn.execute("SELECT MAX(run_id) FROM runs WHERE simulation_id = ?",
                                     (simulation_id,)).fetchone()
        return int(row[0]) if row and row[0] is not None else None

    def events(self, *, kinds: Iterable[str] | None = None, agent: str | None = None,
               world: str | None = None) -> list[dict[str, Any]]:
        """The run's events in order, as dicts (each with its ``pos``), optionally filtered."""
        sql = "SELECT pos, data FROM trace WHERE run_id = ?"
        params: list[Any] = [self.run_id]
        if kinds is not None:
            kinds = list(kinds)
            sql += f" AND kind IN ({','.join('?' * len(kinds))})"
            params += kinds
        if agent is not None:
            sql += " AND agent = ?"
            params.append(agent)
        if world is not None:
            sql += " AND world = ?"
            params.append(world)
        sql += " ORDER BY pos"
        events: list[dict[str, Any]] = []
        damaged = 0
        for pos, data in self._conn.execute(sql, params):
            try:
                event = json.loads(data)
            except (TypeError, ValueError):  # a damaged row: reported, never guessed at
                damaged += 1
                continue
            if isinstance(event, dict):
                events.append({"pos": pos, **event})
            else:
                damaged += 1
        if damaged:
            logger.warning("%d damaged trace row(s) in %s (run %s) were skipped", damaged, self.path, self.run_id)
        return events

    def to_pandas(self, **filters: Any) -> pd.DataFrame:
        """:meth:`events` as a DataFrame (one column per field; nested values stay Python objects)."""
        import pandas as pd

        return pd.DataFrame.from_records(self.events(**filters))

    def to_jsonl(self, path: str | Path, **filters: Any) -> int:
        """Write the events, one JSON object a line; returns how many."""
        events = self.events(**filters)
        with open(path, "w", encoding="utf-8") as fh:
            for e in events:
                fh.write(json.dumps(e, ensure_ascii=False) + "\n")
        return len(events)

    def to_parquet(self, path: str | Path, **filters: Any) -> int:
        """Write the events as Parquet (needs ``pyarrow``: ``pip install 'tinytroupe[parquet]'``)."""
        try:
            import pyarrow  # noqa: F401
        except ImportError as exc:
            raise ConfigError("Parquet export needs pyarrow: pip install pyarrow (the 'parquet' extra), "
                              "or use Trace.to_jsonl()") from exc
        frame = self.to_pandas(**filters)
        # Nested fields (lists, dicts) go as JSON text: Parquet columns need one type.
        for column in frame.columns:
            if frame[column].map(lambda v: isinstance(v, list | dict)).any():
                frame[column] = frame[column].map(lambda v: json.dumps(v) if isinstance(v, list | dict) else v)
        frame.to_parquet(path, index=False)
        return len(frame)

    def canonical(self) -> list[dict[str, Any]]:
        """The events without :data:`VOLATILE_FIELDS`, in an order that does not depend on timing.

        LLM-call events of a parallel step are published as calls return (completion order); the
        other events of a step already come in agent order. So within each world step, events are
        stably sorted by agent: two runs of the same script give equal lists.
        """
        return canonical_events(self.events())

    def summary(self) -> dict[str, Any]:
        """Agents, worlds, steps, LLM calls (and cached), tokens, errors and events by kind."""
        conn = self._conn
        rid = self.run_id
        by_kind = dict(conn.execute("SELECT kind, COUNT(*) FROM trace WHERE run_id = ? GROUP BY kind",
                                    (rid,)).fetchall())
        agents = [r[0] for r in conn.execute(
            "SELECT DISTINCT agent FROM trace WHERE run_id = ? AND agent IS NOT NULL ORDER BY agent", (rid,))]
        worlds = [r[0] for r in conn.execute(
            "SELECT DISTINCT world FROM trace WHERE run_id = ? AND world IS NOT NULL ORDER BY world", (rid,))]
        steps = conn.execute("SELECT COUNT(*) FROM trace WHERE run_id = ? AND kind = 'step' "
                             "AND json_extract(data, '$.phase') = 'end'", (rid,)).fetchone()[0]
        calls = conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(json_extract(data, '$.cache_hit')), 0), "
            "COALESCE(SUM(json_extract(data, '$.prompt_tokens')), 0), "
            "COALESCE(SUM(json_extract(data, '$.completion_tokens')), 0), "
            "COALESCE(SUM(json_extract(data, '$.error') IS NOT NULL), 0), "
            # Tokens of answers that came from the backend, not the cache: what the run paid for.
            "COALESCE(SUM(CASE WHEN json_extract(data, '$.cache_hit') THEN 0 "
            "ELSE json_extract(data, '$.prompt_tokens') END), 0), "
            "COALESCE(SUM(CASE WHEN json_extract(data, '$.cache_hit') THEN 0 "
            "ELSE json_extract(data, '$.completion_tokens') END), 0) "
            "FROM trace WHERE run_id = ? AND kind = 'llm_call'", (rid,)).fetchone()
        run = next((r for r in self.runs() if r["run_id"] == rid), None)
        return {
            "path": str(self.path), "run_id": rid,
            "simulation_id": run["simulation_id"] if run else None,
            "status": run["status"] if run else None,
            "events": sum(by_kind.values()), "events_by_kind": by_kind,
            "agents": len(agents), "worlds": worlds, "steps": int(steps),
            "llm_calls": int(calls[0]), "cached_calls": int(calls[1]),
            "prompt_tokens": int(calls[2]), "completion_tokens": int(calls[3]),
            "paid_prompt_tokens": int(calls[5]), "paid_completion_tokens": int(calls[6]),
            "errors": int(calls[4]) + int(by_kind.get("agent_error", 0)),
        }


def _text_or_bytes(value: bytes) -> str | bytes:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value


def canonical_events(events: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """``events`` (dicts) without volatile fields and ``pos``, stably sorted by agent within each world step."""
    out: list[dict[str, Any]] = []
    block: list[dict[str, Any]] = []

    def close_block() -> None:
        block.sort(key=lambda e: e.get("agent") or "")
        out.extend(block)
        block.clear()

    for event in events:
        clean = {k: v for k, v in event.items() if k not in VOLATILE_FIELDS and k != "pos"}
        if clean.get("kind") == "step":
            close_block()
            out.append(clean)
        else:
            block.append(clean)
    close_block()
    return out


__all__ = ["SCHEMA_VERSION", "VOLATILE_FIELDS", "Trace", "TraceStore", "canonical_events", "create_tables"]
