"""The response store: a persistent, bounded cache of completions in SQLite.

:class:`ResponseCache` stores one :class:`~tinytroupe.llm.types.Completion` (as JSON, never pickle)
per request key, evicts the least recently used entries when it holds too many entries or too many
bytes, and survives restarts. :class:`~tinytroupe.llm.cache.wrapper.CacheWrapper` puts it in front of
a backend.

Example:
    >>> cache = ResponseCache(":memory:")
    >>> len(cache), cache.get("no such key") is None
    (0, True)
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from tinytroupe.errors import ConfigError, InvalidArgument, StorageError
from tinytroupe.llm.types import Completion
from tinytroupe.storage.sqlite import connect, split_statements, storage_error, transaction

logger = logging.getLogger(__name__)

#: bump when the table layout changes, and add a step to ``_MIGRATIONS``
SCHEMA_VERSION = 1
DEFAULT_MAX_ENTRIES = 100_000
DEFAULT_MAX_BYTES = 512 * 1024 * 1024
#: LRU touches are kept in memory and written with the next put, after this many hits, or on
#: close, so a cache hit almost never pays for a write transaction
TOUCH_FLUSH_EVERY = 256
#: keys per query of get_many (SQLite's limit on parameters is far higher; this keeps statements short)
_MANY_CHUNK = 500

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS responses (
    key        TEXT PRIMARY KEY,
    completion TEXT NOT NULL,
    size       INTEGER NOT NULL,
    created    REAL NOT NULL,
    last_used  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS responses_last_used ON responses(last_used);
CREATE TABLE IF NOT EXISTS totals (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    entries INTEGER NOT NULL,
    bytes   INTEGER NOT NULL
);
INSERT OR IGNORE INTO totals (id, entries, bytes) VALUES (1, 0, 0);
-- Triggers keep the totals exact even when several processes share one file.
CREATE TRIGGER IF NOT EXISTS responses_ins AFTER INSERT ON responses BEGIN
    UPDATE totals SET entries = entries + 1, bytes = bytes + NEW.size WHERE id = 1;
END;
CREATE TRIGGER IF NOT EXISTS responses_del AFTER DELETE ON responses BEGIN
    UPDATE totals SET entries = entries - 1, bytes = bytes - OLD.size WHERE id = 1;
END;
CREATE TRIGGER IF NOT EXISTS responses_upd AFTER UPDATE OF size ON responses BEGIN
    UPDATE totals SET bytes = bytes - OLD.size + NEW.size WHERE id = 1;
END;
"""

# version -> SQL that upgrades a file of that version to the next one (none yet).
_MIGRATIONS: dict[int, str] = {}


def _text_or_bytes(value: bytes) -> str | bytes:
    """SQLite text as ``str``, or its raw bytes when they are not UTF-8 (a damaged row)."""
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value


class ResponseCache:
    """A thread-safe SQLite store of completions keyed by request hash, with LRU eviction.

    Args:
        path: the SQLite file (created with its parent folders on first use), or ``":memory:"``.
        max_entries: evict least recently used entries beyond this many.
        max_bytes: evict least recently used entries while the stored JSON exceeds this size.
            A single completion bigger than this is not stored at all.

    The file is opened on first use, not at construction. Recency is a use counter (exact LRU
    order, unlike timestamps); hits update it in memory and it is written in batches.

    Example:
        >>> from tinytroupe.llm.types import Completion
        >>> cache = ResponseCache(":memory:", max_entries=10)
        >>> cache.put("k", Completion(text="hi", model="m"))
        >>> cache.get("k").text
        'hi'
        >>> cache.stats()["entries"]
        1
    """

    def __init__(self, path: str | Path, *, max_entries: int = DEFAULT_MAX_ENTRIES,
                 max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        if max_entries < 1:
            raise InvalidArgument(f"max_entries must be at least 1, got {max_entries}")
        if max_bytes < 1:
            raise InvalidArgument(f"max_bytes must be at least 1, got {max_bytes}")
        self.path = path if str(path) == ":memory:" else Path(path)
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._clock = 0
        self._touches: dict[str, int] = {}
        self._unflushed_hits = 0
        self._hits = 0
        self._misses = 0
        self._evictions = 0
        self._oversized = 0

    # -- connection -------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        """The open connection (opening and migrating the file on first use). Call under the lock."""
        if self._conn is not None:
            return self._conn
        row: tuple[int] = (0,)

        def setup(conn: sqlite3.Connection) -> None:
            nonlocal row
            self._migrate(conn)
            row = conn.execute("SELECT COALESCE(MAX(last_used), 0) FROM responses").fetchone()

        # The run file's connection rules (WAL, autocommit, StorageError with SQLite's own cause
        # and advice), shared with the trace and checkpoints.
        conn = connect(self.path, doing="opening the LLM response cache", setup=setup)
        # A damaged row's text may not be UTF-8: read it as bytes (validation then rejects the row)
        # instead of failing every lookup that meets it.
        conn.text_factory = _text_or_bytes
        self._clock = int(row[0])
        self._conn = conn
        return conn

    def _migrate(self, conn: sqlite3.Connection) -> None:
        with transaction(conn, self.path, "creating the tables of the LLM response cache"):
            for statement in split_statements(_SCHEMA):
                conn.execute(statement)
            row = conn.execute("SELECT value FROM meta WHERE name = 'schema_version'").fetchone()
            version = int(row[0]) if row else None
            if version is None:
                conn.execute("INSERT INTO meta (name, value) VALUES ('schema_version', ?)",
                             (str(SCHEMA_VERSION),))
            elif version > SCHEMA_VERSION:
                raise ConfigError(
                    f"the LLM response cache {str(self.path)!r} was written by a newer tinytroupe "
                    f"(schema version {version}, this one knows up to {SCHEMA_VERSION}); upgrade "
                    "tinytroupe or use another cache file",
                    source=str(self.path),
                )
            else:
                while version < SCHEMA_VERSION:
                    for statement in split_statements(_MIGRATIONS[version]):
                        conn.execute(statement)
                    version += 1
                conn.execute("UPDATE meta SET value = ? WHERE name = 'schema_version'", (str(version),))

    # -- reads and writes ---------------------------------------------------------------------

    def get(self, key: str) -> Completion | None:
        """The stored completion for ``key`` (marking it as just used), or None."""
        with self._lock:
            conn = self._connect()
            try:
                row = conn.execute("SELECT completion FROM responses WHERE key = ?", (key,)).fetchone()
            except sqlite3.Error as exc:
                raise storage_error(exc, self.path, "reading the LLM response cache") from exc
            if row is None:
                self._misses += 1
                return None
            try:
                completion = Completion.model_validate_json(row[0])
            except ValidationError as exc:
                # A row from an older Completion layout, or damaged bytes: useless, so drop it and answer afresh.
                logger.warning("dropping unreadable LLM cache entry %s from %s: %s", key[:12], self.path, exc)
                self._housekeep(lambda c: c.execute("DELETE FROM responses WHERE key = ?", (key,)))
                self._misses += 1
                return None
            self._hit_locked(key)
            return completion

    def get_many(self, keys: Iterable[str]) -> dict[str, str]:
        """The stored completions' JSON for those of ``keys`` that are stored (one query per 500 keys).

        Nothing is counted or marked as used: :meth:`hit` does that when an answer is served.
        """
        found: dict[str, str] = {}
        wanted = list(dict.fromkeys(keys))
        with self._lock:
            conn = self._connect()
            try:
                for i in range(0, len(wanted), _MANY_CHUNK):
                    chunk = wanted[i:i + _MANY_CHUNK]
                    marks = ",".join("?" * len(chunk))
                    for key, text in conn.execute(
                            f"SELECT key, completion FROM responses WHERE key IN ({marks})", chunk):
                        if isinstance(text, str):  # bytes: a damaged row, left to get() to drop
                            found[key] = text
            except sqlite3.Error as exc:
                raise storage_error(exc, self.path, "reading the LLM response cache") from exc
        return found

    def hit(self, key: str) -> None:
        """Count an answer served for ``key`` from what :meth:`get_many` read, as :meth:`get` would."""
        with self._lock:
            self._hit_locked(key)

    def _hit_locked(self, key: str) -> None:
        self._hits += 1
        self._clock += 1
        self._touches[key] = self._clock  # the LRU order, written with the next batch of touches
        self._unflushed_hits += 1
        if self._unflushed_hits >= TOUCH_FLUSH_EVERY:
            self._housekeep(lambda c: None)

    def put(self, key: str, completion: Completion) -> None:
        """Store ``completion`` under ``key`` (replacing an older one), then evict what is over the limits.

        Raises:
            StorageError: the file would not take it; ``cause_kind`` is ``"disk_full"``, ``"read_only"``,
                ``"locked"``, ``"corrupt"`` or ``"other"``, the message keeps SQLite's own words. The
                completion is not stored (the caller still holds it).
        """
        text = completion.model_dump_json()
        size = len(text.encode("utf-8")) + len(key)
        with self._lock:
            if size > self.max_bytes:
                self._oversized += 1
                logger.warning("not caching a %d-byte completion: the cache's max_bytes is %d",
                               size, self.max_bytes)
                return
            self._clock += 1
            used = self._clock
            self._touches.pop(key, None)

            def write(conn: sqlite3.Connection) -> None:
                conn.execute(
                    "INSERT INTO responses (key, completion, size, created, last_used) "
                    "VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT(key) DO UPDATE SET completion = excluded.completion, size = excluded.size, "
                    "created = excluded.created, last_used = excluded.last_used",
                    (key, text, size, time.time(), used),
                )
                self._evict(conn)

            self._write(write)

    def _write(self, body: Any) -> None:
        """Run ``body(conn)`` in one write transaction, after flushing pending LRU touches. Under the lock.

        A failure raises :class:`StorageError` with SQLite's own cause (never the "cannot rollback"
        that a ``ROLLBACK`` after it may add) and keeps the pending touches for the next write.
        """
        conn = self._connect()
        with transaction(conn, self.path, "writing to the LLM response cache"):
            if self._touches:
                conn.executemany("UPDATE responses SET last_used = ? WHERE key = ?",
                                 [(used, key) for key, used in self._touches.items()])
            body(conn)
        self._touches.clear()
        self._unflushed_hits = 0

    def _housekeep(self, body: Any) -> None:
        """:meth:`_write` for work a lookup does on the side (recency, dropping a bad row): a lookup must
        still answer when the file takes no writes, so a failure is logged and the touches dropped
        (they only order eviction). Under the lock."""
        try:
            self._write(body)
        except StorageError as exc:
            logger.warning("the LLM response cache could not record which entries were used (%s); "
                           "lookups go on", exc)
            self._touches.clear()
            self._unflushed_hits = 0

    def _evict(self, conn: sqlite3.Connection) -> None:
        entries, size = conn.execute("SELECT entries, bytes FROM totals WHERE id = 1").fetchone()
        while entries > self.max_entries or size > self.max_bytes:
            # Take a batch of the least recently used rows; stop as soon as both limits hold.
            batch = conn.execute("SELECT key, size FROM responses ORDER BY last_used LIMIT 256").fetchall()
            if not batch:
                break
            doomed = []
            for key, row_size in batch:
                if entries <= self.max_entries and size <= self.max_bytes:
                    break
                doomed.append((key,))
                entries -= 1
                size -= row_size
            conn.executemany("DELETE FROM responses WHERE key = ?", doomed)
            self._evictions += len(doomed)

    # -- housekeeping -------------------------------------------------------------------------

    def stats(self) -> dict[str, int]:
        """``{hits, misses, entries, bytes, evictions}``: lookups and evictions since this object was
        made, entries and bytes as stored now."""
        with self._lock:
            conn = self._connect()
            entries, size = conn.execute("SELECT entries, bytes FROM totals WHERE id = 1").fetchone()
            return {"hits": self._hits, "misses": self._misses, "entries": int(entries),
                    "bytes": int(size), "evictions": self._evictions}

    def __len__(self) -> int:
        return self.stats()["entries"]

    def __contains__(self, key: object) -> bool:
        """Whether ``key`` is stored (without counting a hit or touching its recency)."""
        with self._lock:
            conn = self._connect()
            return conn.execute("SELECT 1 FROM responses WHERE key = ?", (key,)).fetchone() is not None

    def flush(self) -> None:
        """Write the pending LRU touches now (they are also written by puts and on close)."""
        with self._lock:
            if self._touches and self._conn is not None:
                self._write(lambda c: None)

    def clear(self) -> None:
        """Delete every entry (the counters of hits, misses and evictions are kept)."""
        with self._lock:
            self._touches.clear()
            self._write(lambda c: c.execute("DELETE FROM responses"))

    def close(self) -> None:
        """Flush pending touches and close the file; a later call opens it again."""
        with self._lock:
            if self._conn is None:
                return
            try:
                if self._touches:
                    self._write(lambda c: None)
            finally:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> ResponseCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"ResponseCache({str(self.path)!r}, max_entries={self.max_entries}, "
                f"max_bytes={self.max_bytes})")



__all__ = ["DEFAULT_MAX_BYTES", "DEFAULT_MAX_ENTRIES", "SCHEMA_VERSION", "TOUCH_FLUSH_EVERY",
           "ResponseCache"]
