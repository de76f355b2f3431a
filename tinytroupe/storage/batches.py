"""Provider batches in the run file: which batch each request went into, and what came back.

A request sent through a provider's Batch API (see :mod:`tinytroupe.llm.batch`) is known by its
``custom_id`` (the request's cache key). Before anything waits on a batch, its id, input file and
requests are committed here, so a run killed while the batch waits finds them on its re-run and
polls the same batch instead of paying again. Each answered request's body is kept too: the lines an
expired batch did complete are never sent again.

The file also keeps what each server was found to refuse (``llm_server_facts``: a structured-output
form, the logprobs fields), so that a re-run asks the way that works from its first batch
(:mod:`tinytroupe.llm.server_facts`).

Request states: ``submitted`` (in a batch, no answer yet), ``completed`` (``result`` holds the
chat-completion body), ``failed`` (the provider's error line is in ``result``), ``unanswered`` (the
batch ended without it: expired or cancelled; it may be sent again).

Example:
    >>> store = BatchStore(":memory:")
    >>> store.record_batch("batch_1", "file_1", {"k1": "json_schema", "k2": None}, simulation_id="demo")
    >>> store.pending("k1")
    ('batch_1', 'json_schema')
    >>> store.finish("batch_1", "completed", {"k1": ("completed", {"choices": []})}, unanswered=["k2"])
    >>> store.pending("k1"), store.result("k1"), store.pending("k2")
    (None, ('completed', {'choices': []}, 'json_schema'), None)
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from tinytroupe.storage.sqlite import connect, ensure_schema, storage_error, transaction

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS llm_batches (
    batch_id       TEXT PRIMARY KEY,
    simulation_id  TEXT,
    input_file_id  TEXT NOT NULL,
    status         TEXT NOT NULL,
    requests       INTEGER NOT NULL,
    created_at     REAL NOT NULL,
    updated_at     REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS llm_batch_requests (
    custom_id  TEXT NOT NULL,
    batch_id   TEXT NOT NULL,
    mode       TEXT,
    state      TEXT NOT NULL,
    result     TEXT,
    PRIMARY KEY (custom_id, batch_id)
);
CREATE INDEX IF NOT EXISTS llm_batch_requests_state ON llm_batch_requests (custom_id, state);
-- added without a version bump: a new table that older readers never look at
CREATE TABLE IF NOT EXISTS llm_server_facts (
    server      TEXT PRIMARY KEY,
    facts       TEXT NOT NULL,
    updated_at  REAL NOT NULL
);
"""


def create_tables(conn: sqlite3.Connection) -> None:
    """Create (or check) this component's tables on ``conn``."""
    ensure_schema(conn, "llm_batches", SCHEMA_VERSION, _SCHEMA)


class BatchStore:
    """The ``llm_batches`` tables of a run file (one connection; every write committed before it returns).

    Args:
        path: the run file (``":memory:"`` for a store that lives as long as the object).
        simulation_id: recorded with each batch (for people reading the file; lookups go by ``custom_id``).
    """

    def __init__(self, path: str | Path, simulation_id: str | None = None) -> None:
        self.path = str(path)
        self.simulation_id = simulation_id
        self._lock = threading.Lock()
        self._conn = connect(path, doing="opening the batch records of", setup=create_tables)

    def record_batch(self, batch_id: str, input_file_id: str, requests: Mapping[str, str | None], *,
                     simulation_id: str | None = None, status: str = "validating") -> None:
        """Record a new batch and its requests (``custom_id -> structured-output mode``).

        Raises:
            StorageError: the run file cannot be written.
        """
        now = time.time()
        with self._lock, transaction(self._conn, self.path, "recording a provider batch in"):
            self._conn.execute(
                "INSERT OR REPLACE INTO llm_batches (batch_id, simulation_id, input_file_id, status, requests, "
                "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (batch_id, simulation_id or self.simulation_id, input_file_id, status, len(requests), now, now))
            self._conn.executemany(
                "INSERT OR REPLACE INTO llm_batch_requests (custom_id, batch_id, mode, state, result) "
                "VALUES (?, ?, ?, 'submitted', NULL)", [(k, batch_id, m) for k, m in requests.items()])

    def pending(self, custom_id: str) -> tuple[str, str | None] | None:
        """``(batch_id, mode)`` of the batch ``custom_id`` waits in, or None."""
        row = self._read("SELECT batch_id, mode FROM llm_batch_requests WHERE custom_id = ? AND state = 'submitted' "
                         "ORDER BY rowid DESC LIMIT 1", (custom_id,))
        return (str(row[0]), row[1]) if row is not None else None

    def result(self, custom_id: str) -> tuple[str, dict[str, Any], str | None] | None:
        """``(state, body, mode)`` of ``custom_id``'s last answer (``completed`` or ``failed``), or None."""
        row = self._read("SELECT state, result, mode FROM llm_batch_requests WHERE custom_id = ? "
                         "AND state IN ('completed', 'failed') ORDER BY rowid DESC LIMIT 1", (custom_id,))
        if row is None:
            return None
        try:
            body = json.loads(row[1]) if row[1] else {}
        except ValueError:
            return None  # a damaged row: the request is sent again
        return str(row[0]), body if isinstance(body, dict) else {}, row[2]

    def set_status(self, batch_id: str, status: str) -> None:
        """Note the batch's latest status (for people reading the file)."""
        with self._lock, transaction(self._conn, self.path, "updating a provider batch in"):
            self._conn.execute("UPDATE llm_batches SET status = ?, updated_at = ? WHERE batch_id = ?",
                               (status, time.time(), batch_id))

    def finish(self, batch_id: str, status: str, answers: Mapping[str, tuple[str, dict[str, Any]]],
               unanswered: Iterable[str] = ()) -> None:
        """Store a finished batch's answers (``custom_id -> (completed|failed, body)``) and mark the rest
        ``unanswered`` (they may be sent again), in one transaction.

        Raises:
            StorageError: the run file cannot be written.
        """
        with self._lock, transaction(self._conn, self.path, "storing a provider batch's answers in"):
            self._conn.execute("UPDATE llm_batches SET status = ?, updated_at = ? WHERE batch_id = ?",
                               (status, time.time(), batch_id))
            self._conn.executemany(
                "UPDATE llm_batch_requests SET state = ?, result = ? WHERE custom_id = ? AND batch_id = ?",
                [(state, json.dumps(body, ensure_ascii=False), key, batch_id)
                 for key, (state, body) in answers.items()])
            self._conn.executemany(
                "UPDATE llm_batch_requests SET state = 'unanswered' WHERE custom_id = ? AND batch_id = ? "
                "AND state = 'submitted'", [(key, batch_id) for key in unanswered])

    def server_facts(self, server: str) -> str | None:
        """The facts (JSON text) last kept for ``server`` (a backend's identity as JSON), or None."""
        row = self._read("SELECT facts FROM llm_server_facts WHERE server = ?", (server,))
        return str(row[0]) if row is not None else None

    def keep_server_facts(self, server: str, facts: str) -> None:
        """Keep ``facts`` (JSON text) for ``server``, replacing what was kept before.

        Raises:
            StorageError: the run file cannot be written.
        """
        with self._lock, transaction(self._conn, self.path, "keeping what a server refuses in"):
            self._conn.execute("INSERT OR REPLACE INTO llm_server_facts (server, facts, updated_at) VALUES (?, ?, ?)",
                               (server, facts, time.time()))

    def batches(self) -> list[dict[str, Any]]:
        """Every recorded batch, oldest first: id, simulation, input file, status, request count."""
        with self._lock:
            try:
                rows = self._conn.execute("SELECT batch_id, simulation_id, input_file_id, status, requests "
                                          "FROM llm_batches ORDER BY created_at, rowid").fetchall()
            except sqlite3.Error as exc:
                raise storage_error(exc, self.path, "reading the provider batches in") from exc
        return [{"batch_id": r[0], "simulation_id": r[1], "input_file_id": r[2], "status": r[3], "requests": r[4]}
                for r in rows]

    def _read(self, sql: str, args: tuple[Any, ...]) -> Any:
        with self._lock:
            try:
                return self._conn.execute(sql, args).fetchone()
            except sqlite3.Error as exc:
                raise storage_error(exc, self.path, "reading the provider batches in") from exc

    def close(self) -> None:
        with self._lock:
            self._conn.close()


__all__ = ["BatchStore", "create_tables"]
