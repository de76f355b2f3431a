"""Checkpoints: whole simulation states stored atomically in the run file.

A checkpoint is one row written in one SQLite transaction: a crash at any point of
:meth:`CheckpointStore.save` (even ``kill -9``) leaves either the new checkpoint complete or no
trace of it, and the previous one usable. The state is JSON, compressed with zlib; only the last
``keep`` checkpoints of a simulation are kept (bounded).

Example:
    >>> import tempfile, os
    >>> store = CheckpointStore(os.path.join(tempfile.mkdtemp(), "run.sqlite"))
    >>> _ = store.save("demo", {"worlds": []}, step=0)
    >>> store.latest("demo").state
    {'worlds': []}
    >>> store.close()
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import zlib
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from tinytroupe.storage.sqlite import connect, ensure_schema

SCHEMA_VERSION = 1
DEFAULT_KEEP = 3
_SCHEMA = """
CREATE TABLE IF NOT EXISTS checkpoints (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    simulation_id TEXT NOT NULL,
    created       REAL NOT NULL,
    label         TEXT,
    step          INTEGER,
    json_bytes    INTEGER NOT NULL,
    state         BLOB NOT NULL
);
"""


class Checkpoint(BaseModel):
    """One stored checkpoint."""

    id: int
    simulation_id: str
    created: float
    label: str | None = None
    step: int | None = None
    json_bytes: int
    stored_bytes: int
    state: dict[str, Any]


class CheckpointStore:
    """Saves and loads checkpoints in a run file (thread-safe; its own connection)."""

    def __init__(self, path: str | Path, *, keep: int = DEFAULT_KEEP) -> None:
        if keep < 1:
            raise ValueError(f"keep must be at least 1 (the checkpoint just written), got {keep}")
        self.path = path
        self.keep = keep
        self._lock = threading.Lock()
        self._conn = connect(path)
        ensure_schema(self._conn, "checkpoints", SCHEMA_VERSION, _SCHEMA)

    def save(self, simulation_id: str, state: dict[str, Any], *, step: int | None = None,
             label: str | None = None) -> Checkpoint:
        """Store ``state`` (JSON-ready) as the newest checkpoint; older ones beyond ``keep`` are dropped."""
        text = json.dumps(state, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        raw = text.encode("utf-8")
        blob = zlib.compress(raw, 6)
        created = time.time()
        with self._lock:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                cur = conn.execute(
                    "INSERT INTO checkpoints (simulation_id, created, label, step, json_bytes, state) "
                    "VALUES (?,?,?,?,?,?)", (simulation_id, created, label, step, len(raw), blob))
                self._prune(conn, simulation_id)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return Checkpoint(id=int(cur.lastrowid or 0), simulation_id=simulation_id, created=created, label=label,
                          step=step, json_bytes=len(raw), stored_bytes=len(blob), state=state)

    def _prune(self, conn: sqlite3.Connection, simulation_id: str) -> None:
        conn.execute("DELETE FROM checkpoints WHERE simulation_id = ? AND id NOT IN "
                     "(SELECT id FROM checkpoints WHERE simulation_id = ? ORDER BY id DESC LIMIT ?)",
                     (simulation_id, simulation_id, self.keep))

    def latest(self, simulation_id: str) -> Checkpoint | None:
        """The newest complete checkpoint of ``simulation_id``, or None."""
        with self._lock:
            row = self._conn.execute(
                "SELECT id, simulation_id, created, label, step, json_bytes, state FROM checkpoints "
                "WHERE simulation_id = ? ORDER BY id DESC LIMIT 1", (simulation_id,)).fetchone()
        return _decode(row) if row else None

    def list(self, simulation_id: str) -> list[dict[str, Any]]:
        """The stored checkpoints of ``simulation_id`` (without their states), oldest first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT id, created, label, step, json_bytes, LENGTH(state) FROM checkpoints "
                "WHERE simulation_id = ? ORDER BY id", (simulation_id,)).fetchall()
        keys = ("id", "created", "label", "step", "json_bytes", "stored_bytes")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _decode(row: tuple[Any, ...]) -> Checkpoint:
    cid, sim, created, label, step, json_bytes, blob = row
    state = json.loads(zlib.decompress(blob).decode("utf-8"))
    return Checkpoint(id=cid, simulation_id=sim, created=created, label=label, step=step,
                      json_bytes=json_bytes, stored_bytes=len(blob), state=state)


__all__ = ["DEFAULT_KEEP", "Checkpoint", "CheckpointStore"]
