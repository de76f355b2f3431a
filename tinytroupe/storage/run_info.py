"""Facts about a simulation that every run of it must share, kept in its run file.

Some values are chosen at a simulation's first run and must be the same on every re-run, or the
prompts change and the replay pays for every call: the default start of the worlds' clocks is the
one today (``clock_start``). :meth:`RunInfo.remember` stores a value the first time and returns the
stored one ever after. Unlike the trace, these rows survive re-runs of the simulation id.

Example:
    >>> import tempfile, os
    >>> info = RunInfo(os.path.join(tempfile.mkdtemp(), "run.sqlite"))
    >>> info.remember("demo", "clock_start", "2025-01-06T09:00:00")
    ('2025-01-06T09:00:00', False)
    >>> info.remember("demo", "clock_start", "2031-12-31T23:59:00")
    ('2025-01-06T09:00:00', True)
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tinytroupe.storage.sqlite import connect, ensure_schema, storage_error, transaction

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS simulation_info (
    simulation_id TEXT NOT NULL,
    name          TEXT NOT NULL,
    value         TEXT NOT NULL,
    PRIMARY KEY (simulation_id, name)
);
"""


def create_tables(conn: sqlite3.Connection) -> None:
    """Create (or check) this component's table on ``conn``."""
    ensure_schema(conn, "simulation_info", SCHEMA_VERSION, _SCHEMA)


class RunInfo:
    """Reads and writes ``simulation_info`` in a run file (each call opens and closes a connection:
    these are rare, small operations)."""

    def __init__(self, path: str | Path) -> None:
        self.path = path
        conn = connect(path)
        try:
            create_tables(conn)
        finally:
            conn.close()

    def get(self, simulation_id: str, name: str) -> str | None:
        """The stored value, or None."""
        conn = connect(self.path)
        try:
            row = conn.execute("SELECT value FROM simulation_info WHERE simulation_id = ? AND name = ?",
                               (simulation_id, name)).fetchone()
        except sqlite3.Error as exc:
            raise storage_error(exc, self.path, "reading the simulation's settings in") from exc
        finally:
            conn.close()
        return str(row[0]) if row else None

    def remember(self, simulation_id: str, name: str, value: str) -> tuple[str, bool]:
        """Store ``value`` unless a value is stored already; returns ``(stored value, whether it was there)``.

        Committed before returning: a run killed right after still finds it on its re-run.
        """
        conn = connect(self.path)
        try:
            with transaction(conn, self.path, "recording the simulation's settings in"):
                row = conn.execute("SELECT value FROM simulation_info WHERE simulation_id = ? AND name = ?",
                                   (simulation_id, name)).fetchone()
                if row is None:
                    conn.execute("INSERT INTO simulation_info (simulation_id, name, value) VALUES (?, ?, ?)",
                                 (simulation_id, name, value))
        finally:
            conn.close()
        return (str(row[0]), True) if row is not None else (value, False)


__all__ = ["RunInfo", "create_tables"]
