"""The common part of the run file's stores (mailboxes, the market ledger, knowledge graphs, document
chunks): a connection opened with the store's tables, reads and writes under one lock, and, with the
run's :class:`~tinytroupe.storage.writer.BatchWriter`, writes queued on its thread while reads flush
it first. Each store adds its own tables and queries. ``readonly=True`` opens the file read-only and
creates nothing (a viewer such as the dashboard reading another process's run file must never write it).

Example:
    >>> class Notes(RunFileTables):
    ...     what = "the notes"
    ...     def __init__(self, path: str) -> None:
    ...         super().__init__(path, "demo", setup=lambda c: c.execute("CREATE TABLE IF NOT EXISTS n (t TEXT)"))
    >>> notes = Notes(":memory:")
    >>> notes._write(lambda c: c.execute("INSERT INTO n VALUES ('hi')"), "writing the notes of")
    >>> notes._read("SELECT t FROM n", ())
    [('hi',)]
    >>> notes.close()
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar

from tinytroupe.errors import InvalidState
from tinytroupe.storage.sqlite import connect, connect_readonly, storage_error, transaction
from tinytroupe.storage.writer import BatchWriter

Setup = Callable[[sqlite3.Connection], None]


class RunFileTables:
    """Some tables of the run file at ``path`` (``":memory:"``: a database of this object's own).

    Args:
        path: the run file.
        simulation_id: the simulation whose rows this store reads and writes.
        setup: creates the store's tables (run on every connection it opens, and on the writer's).
        writer: the run's background writer; None: each write is committed before it returns.
        readonly: open the file read-only, create no table, refuse writes (a file's, not ``":memory:"``).
    """

    #: what the tables hold, as messages say it ("the market ledger")
    what: ClassVar[str] = "the tables"

    def __init__(self, path: str | Path, simulation_id: str, *, setup: Setup,
                 writer: BatchWriter | None = None, readonly: bool = False) -> None:
        self.path = str(path)
        self.simulation_id = simulation_id
        self._writer = None if readonly else writer
        self._setup = setup
        self.readonly = readonly
        self._lock = threading.RLock()
        self._closed = False
        self._conn: sqlite3.Connection | None = self._open(f"opening {self.what} of")
        if writer is not None and not readonly and self.path == ":memory:":
            writer.call(setup)  # an in-memory writer has a database of its own

    def close(self) -> None:
        """Close this store's connection (reads after it reopen a file; an in-memory store is gone; the
        writer, when there is one, is its owner's to close)."""
        with self._lock:
            self._closed = True
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            if self.path == ":memory:" and self._closed:
                raise storage_error(sqlite3.ProgrammingError(f"{self.what} (in memory) were closed"), self.path,
                                    f"reading {self.what} of")
            self._conn = self._open(f"reading {self.what} of")
        return self._conn

    def _open(self, doing: str) -> sqlite3.Connection:
        if not self.readonly:
            return connect(self.path, doing=doing, setup=self._setup)
        try:
            return connect_readonly(self.path)
        except sqlite3.Error as exc:
            raise storage_error(exc, self.path, doing) from exc

    def _write(self, write: Callable[[sqlite3.Connection], object], doing: str) -> None:
        if self.readonly:
            raise InvalidState(f"{self.what} of {self.path!r} were opened read-only")
        if self._writer is not None:
            self._writer.call(write)  # one call: its statements commit in one batch
            return
        with self._lock:
            conn = self._connection()
            with transaction(conn, self.path, doing):
                write(conn)

    def _read(self, sql: str, args: Sequence[object]) -> list[tuple[Any, ...]]:
        if self._writer is not None and not self._closed:  # a closed store's writer committed all at its close
            self._writer.flush()
            if self.path == ":memory:":
                return self._writer.query(sql, args)
        with self._lock:
            try:
                return self._connection().execute(sql, tuple(args)).fetchall()
            except sqlite3.Error as exc:
                raise storage_error(exc, self.path, f"reading {self.what} of") from exc


__all__ = ["RunFileTables", "Setup"]
