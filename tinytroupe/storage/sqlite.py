"""Opening a run file: one SQLite connection in WAL mode, with versioned schemas per component.

Several components (trace, checkpoints, recorded calls, the LLM response cache) share one run file;
each keeps its own schema version in the ``schema_versions`` table, so they evolve independently.

Example:
    >>> conn = connect(":memory:")
    >>> ensure_schema(conn, "demo", 1, "CREATE TABLE IF NOT EXISTS t (x INTEGER);")
    >>> conn.execute("SELECT version FROM schema_versions WHERE component = 'demo'").fetchone()[0]
    1
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tinytroupe.errors import ConfigError


def connect(path: str | Path) -> sqlite3.Connection:
    """A connection to ``path`` (parents created) in WAL mode, autocommit (we write ``BEGIN`` ourselves).

    WAL: readers never block the writer thread, and a transaction committed before a crash (even
    ``kill -9``) is in the file when it is opened again.
    """
    where = str(path)
    try:
        if where != ":memory:":
            Path(where).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(where, check_same_thread=False, isolation_level=None, timeout=30.0)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
    except sqlite3.DatabaseError as exc:
        raise ConfigError(f"the run file {where!r} could not be opened as a SQLite database ({exc}); "
                          "delete it or choose another path in control.begin(path=...)", source=where) from exc
    except OSError as exc:
        raise ConfigError(f"the run file {where!r} could not be created ({exc}); check that its folder is "
                          "writable or choose another path in control.begin(path=...)", source=where) from exc
    return conn


def ensure_schema(conn: sqlite3.Connection, component: str, version: int, schema: str) -> None:
    """Create ``component``'s tables (idempotent ``schema`` script) and check its stored version.

    A file written by a newer version is refused with a message saying what to do.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("CREATE TABLE IF NOT EXISTS schema_versions (component TEXT PRIMARY KEY, version INTEGER)")
        row = conn.execute("SELECT version FROM schema_versions WHERE component = ?", (component,)).fetchone()
        if row is not None and int(row[0]) > version:
            raise ConfigError(
                f"the {component} tables of this run file were written by a newer tinytroupe (schema "
                f"version {row[0]}, this one knows up to {version}); upgrade tinytroupe or use another file")
        for statement in split_statements(schema):
            conn.execute(statement)
        conn.execute("INSERT OR REPLACE INTO schema_versions (component, version) VALUES (?, ?)",
                     (component, version))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def split_statements(script: str) -> list[str]:
    """The statements of an SQL script, so they can run inside one transaction.

    ``executescript`` would commit the caller's transaction first. Comment lines are dropped.
    """
    out, buffer = [], ""
    for line in script.splitlines():
        if line.strip().startswith("--"):
            continue
        buffer += line + "\n"
        if sqlite3.complete_statement(buffer):
            out.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        out.append(buffer.strip())
    return out


__all__ = ["connect", "ensure_schema", "split_statements"]
