"""Following a run on disk: the events of a run file's trace (``control.begin()``, ``tinytroupe debug
--run-file``) or of an event log (``trace.jsonl``, what ``tinytroupe run`` writes), fed into an
:class:`~tinytroupe.dashboard.hub.EventHub` as they are written, for a finished run or one still going.

A :class:`RunFollower` reads what is there, then polls for more on a background thread until closed.
Rows are read in trace order from a read-only connection of its own (the writer commits in batches, so a
running run shows up a batch at a time); a damaged row or line is skipped and counted, never guessed at.

Example:
    >>> import os, tempfile
    >>> from tinytroupe.events import EventBus, WarningEvent
    >>> from tinytroupe.storage.trace_store import TraceStore
    >>> path = os.path.join(tempfile.mkdtemp(), "run.sqlite")
    >>> store = TraceStore(path); _ = store.start_run("demo")
    >>> bus = EventBus(); _ = bus.subscribe(store)
    >>> bus.publish(WarningEvent(code="x", message="y")); store.end_run(); store.close()
    >>> from tinytroupe.dashboard.hub import EventHub
    >>> hub = EventHub()
    >>> follower = RunFollower(path, hub)
    >>> follower.poll(), [e["code"] for e in hub.events()], follower.status
    (1, ['x'], 'ended')
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from pathlib import Path
from typing import Any

from tinytroupe.dashboard.hub import EventHub
from tinytroupe.errors import ConfigError
from tinytroupe.storage.sqlite import connect_readonly, storage_error

logger = logging.getLogger(__name__)

#: rows read at a time
BATCH = 2000
#: seconds between polls for new events
POLL_S = 0.25


class RunFollower:
    """Feeds ``hub`` the events of the run file (or ``.jsonl`` event log) at ``path``, then follows it.

    Args:
        path: a run file or an event log.
        hub: where the events go.
        run_id: which run of a run file (default: the latest when it is opened).

    Raises:
        ConfigError: there is no file at ``path``, or it is neither a run file with a trace nor a
            ``.jsonl`` event log.
    """

    def __init__(self, path: str | Path, hub: EventHub, *, run_id: int | None = None) -> None:
        self.path = Path(path)
        self.hub = hub
        if not self.path.is_file():
            raise ConfigError(f"no run file at {str(self.path)!r}: give a run file (control.begin(), tinytroupe "
                              "debug --run-file) or the trace.jsonl that tinytroupe run writes")
        self.jsonl = self.path.suffix == ".jsonl"
        self.damaged = 0
        self.status = "following" if self.jsonl else "running"
        self._offset = 0
        self._next_pos = 0
        self._conn: sqlite3.Connection | None = None
        self.run_id = run_id
        if not self.jsonl:
            self._open(run_id)
        hub.set_status(**self.describe(), state=self.status, controls=False)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _open(self, run_id: int | None) -> None:
        try:
            conn = connect_readonly(self.path)
        except sqlite3.Error as exc:
            raise storage_error(exc, self.path, "reading the trace of") from exc
        try:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if "trace" not in tables or "runs" not in tables:
                raise ConfigError(f"{str(self.path)!r} holds no trace; is it a tinytroupe run file?")
            if run_id is None:
                row = conn.execute("SELECT MAX(run_id) FROM runs").fetchone()
                run_id = int(row[0]) if row and row[0] is not None else None
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise storage_error(exc, self.path, "reading the trace of") from exc
        except ConfigError:
            conn.close()
            raise
        self._conn, self.run_id = conn, run_id

    def poll(self) -> int:
        """Read what was written since the last poll into the hub; how many events."""
        return self._poll_jsonl() if self.jsonl else self._poll_trace()

    def _poll_trace(self) -> int:
        conn = self._conn
        if conn is None or self.run_id is None:
            return 0
        count = 0
        while True:
            rows = conn.execute("SELECT pos, data FROM trace WHERE run_id = ? AND pos >= ? ORDER BY pos LIMIT ?",
                                (self.run_id, self._next_pos, BATCH)).fetchall()
            for pos, data in rows:
                self._next_pos = pos + 1
                count += self._feed(data)
            if len(rows) < BATCH:
                break
        row = conn.execute("SELECT status FROM runs WHERE run_id = ?", (self.run_id,)).fetchone()
        status = str(row[0]) if row else "gone"
        if status != self.status:
            self.status = status
            self.hub.set_status(**self.describe(), state=status, controls=False)
        return count

    def _poll_jsonl(self) -> int:
        count = 0
        with self.path.open("rb") as fh:
            fh.seek(self._offset)
            for line in fh:
                if not line.endswith(b"\n"):
                    break  # a line still being written: read it whole next time
                self._offset += len(line)
                if line.strip():
                    count += self._feed(line)
        return count

    def _feed(self, data: str | bytes) -> int:
        try:
            event = json.loads(data)
        except (TypeError, ValueError):
            event = None
        if not isinstance(event, dict) or "kind" not in event:
            self.damaged += 1
            logger.warning("a damaged event in %s was skipped (%d so far)", self.path, self.damaged)
            return 0
        self.hub.publish(event)
        return 1

    def start(self) -> RunFollower:
        """Read what is there, then follow the file on a background thread."""
        self.poll()
        self._thread = threading.Thread(target=self._loop, name="tinytroupe-dashboard-follow", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(POLL_S):
            try:
                self.poll()
            except sqlite3.Error as exc:  # the file went away or is locked for long: say so, keep trying
                logger.warning("following %s: %s", self.path, exc)

    def describe(self) -> dict[str, Any]:
        """What the page shows about the followed run."""
        return {"path": str(self.path), "run_id": self.run_id, "damaged": self.damaged,
                "kind": "event log" if self.jsonl else "run file"}

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._conn is not None:
            self._conn.close()
            self._conn = None


__all__ = ["RunFollower"]
