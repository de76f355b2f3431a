"""Opening a run file: one SQLite connection in WAL mode, with versioned schemas per component.

Several components (trace, checkpoints, recorded calls, the LLM response cache) share one run file;
each keeps its own schema version in the ``schema_versions`` table, so they evolve independently.

Every write goes through :func:`transaction`, which turns a failed write into a
:class:`~tinytroupe.errors.StorageError` that keeps SQLite's own cause (``database or disk is
full``, ``attempt to write a readonly database``, ...) and advice matching it: the ``ROLLBACK``
after a failed ``COMMIT`` can itself fail ("cannot rollback - no transaction is active") and must
never hide the reason the write failed.

Example:
    >>> conn = connect(":memory:")
    >>> ensure_schema(conn, "demo", 1, "CREATE TABLE IF NOT EXISTS t (x INTEGER);")
    >>> conn.execute("SELECT version FROM schema_versions WHERE component = 'demo'").fetchone()[0]
    1
    >>> with transaction(conn, ":memory:", "writing a demo row to"):
    ...     _ = conn.execute("INSERT INTO t (x) VALUES (1)")
    >>> cause_kind(sqlite3.OperationalError("database or disk is full"))
    'disk_full'
"""

from __future__ import annotations

import errno
import logging
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from tinytroupe.errors import ConfigError, StorageError

logger = logging.getLogger(__name__)

# SQLite's primary result codes (the low byte of an extended code) that name a cause we can advise on.
_CODE_KINDS = {
    13: "disk_full",   # SQLITE_FULL
    8: "read_only",    # SQLITE_READONLY
    3: "read_only",    # SQLITE_PERM
    5: "locked",       # SQLITE_BUSY
    6: "locked",       # SQLITE_LOCKED
    11: "corrupt",     # SQLITE_CORRUPT
    26: "corrupt",     # SQLITE_NOTADB
}
# Older SQLite builds and OS errors give only a message: matched in this order.
_MESSAGE_KINDS = (
    ("disk is full", "disk_full"), ("no space left", "disk_full"),
    ("readonly", "read_only"), ("read-only", "read_only"), ("permission denied", "read_only"),
    ("locked", "locked"), ("busy", "locked"),
    ("malformed", "corrupt"), ("not a database", "corrupt"), ("corrupt", "corrupt"),
)
_ERRNO_KINDS = {errno.ENOSPC: "disk_full", errno.EDQUOT: "disk_full", errno.EROFS: "read_only",
                errno.EACCES: "read_only", errno.EPERM: "read_only"}

#: what to do about each cause (StorageError.cause_kind)
ADVICE = {
    "disk_full": "the disk holding it is full: free some space, or move the file to a disk with room, and run "
                 "again",
    "read_only": "the file or its folder is read-only: make it writable, or choose another path",
    "locked": "another process holds it (is another run using the same file?): let that run finish, or use "
              "another path",
    "corrupt": "the file is damaged: control.begin() moves a damaged run file aside as "
               "'<name>.damaged-<time>' and copies what is intact into a fresh one; a damaged cache file "
               "can be deleted (its answers are paid for again)",
    "other": "check the disk and the file's permissions, then run again",
}


def cause_kind(exc: BaseException) -> str:
    """``"disk_full"``, ``"read_only"``, ``"locked"``, ``"corrupt"`` or ``"other"``: why a file operation failed."""
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int) and (code & 0xFF) in _CODE_KINDS:
        return _CODE_KINDS[code & 0xFF]
    if isinstance(exc, OSError) and exc.errno in _ERRNO_KINDS:
        return _ERRNO_KINDS[exc.errno]
    text = str(exc).lower()
    for fragment, kind in _MESSAGE_KINDS:
        if fragment in text:
            return kind
    return "other"


def storage_error(exc: BaseException, path: str | Path, doing: str) -> StorageError:
    """A :class:`StorageError` for ``exc`` met while ``doing`` (e.g. ``"writing the trace to"``) ``path``,
    with the original cause in the message and advice matching it."""
    kind = cause_kind(exc)
    where = str(path)
    return StorageError(f"{doing} {where!r} failed: {exc}; {ADVICE[kind]}", path=where, cause_kind=kind)


def rollback(conn: sqlite3.Connection) -> None:
    """Roll back the open transaction, if SQLite has not already done so.

    After ``SQLITE_FULL``, ``SQLITE_IOERR`` and some others SQLite rolls the transaction back by
    itself, and a ``ROLLBACK`` then fails with "cannot rollback - no transaction is active"; that
    error says nothing useful, so it is logged and dropped: the caller re-raises the real cause.
    """
    if not conn.in_transaction:
        return
    try:
        conn.execute("ROLLBACK")
    except sqlite3.Error as exc:
        logger.debug("ROLLBACK failed after an earlier error (%s); the earlier error is the one reported", exc)


@contextmanager
def transaction(conn: sqlite3.Connection, path: str | Path, doing: str) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` on an autocommit connection; a failure rolls back and raises.

    SQLite errors (from the body or the commit) become a :class:`StorageError` naming ``path``, what
    was being done, SQLite's own message and advice for its cause; other exceptions pass unchanged.
    """
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            rollback(conn)
            raise
    except sqlite3.Error as exc:
        raise storage_error(exc, path, doing) from exc


def connect(path: str | Path, *, doing: str = "opening the run file",
            setup: Callable[[sqlite3.Connection], None] | None = None) -> sqlite3.Connection:
    """A connection to ``path`` (parents created) in WAL mode, autocommit (we write ``BEGIN`` ourselves).

    WAL: readers never block the writer thread, and a transaction committed before a crash (even
    ``kill -9``) is in the file when it is opened again. ``setup(conn)`` (creating tables, reading
    a first value) runs before the connection is returned; if it fails, the connection is closed and
    its SQLite error reported like the opening's. ``doing`` says what for, in messages.

    Raises:
        StorageError: the file cannot be created or opened (``cause_kind`` says why: e.g.
            ``"corrupt"`` for a file that is not a SQLite database, ``"read_only"``).
    """
    where = str(path)
    try:
        if where != ":memory:":
            Path(where).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(where, check_same_thread=False, isolation_level=None, timeout=30.0)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            if setup is not None:
                setup(conn)
        except BaseException:
            conn.close()
            raise
    except (sqlite3.Error, OSError) as exc:
        raise storage_error(exc, where, doing) from exc
    return conn


def connect_readonly(path: str | Path) -> sqlite3.Connection:
    """A read-only connection (``mode=ro``): inspecting or salvaging a file must never write to it."""
    uri = Path(path).resolve().as_uri() + "?mode=ro"
    return sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None, timeout=30.0)


def ensure_schema(conn: sqlite3.Connection, component: str, version: int, schema: str) -> None:
    """Create ``component``'s tables (idempotent ``schema`` script) and check its stored version.

    A file written by a newer version is refused with a message saying what to do.

    Raises:
        ConfigError: the file was written by a newer tinytroupe.
        StorageError: the file cannot be written (full disk, read-only, locked, damaged).
    """
    with transaction(conn, _name_of(conn), f"creating the {component} tables in"):
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


def _name_of(conn: sqlite3.Connection) -> str:
    """The file behind ``conn`` (for messages), or ``":memory:"``."""
    try:
        row = conn.execute("PRAGMA database_list").fetchone()
    except sqlite3.Error:
        return "the run file"
    return str(row[2]) if row and row[2] else ":memory:"


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


__all__ = ["ADVICE", "cause_kind", "connect", "connect_readonly", "ensure_schema", "rollback", "split_statements",
           "storage_error", "transaction"]
