"""Cold memory segments in the run file: episodic items that left an agent's RAM, kept to be read on demand.

When an agent's bounded episodic memory evicts a batch of items, the batch becomes one *segment*
of the ``memory_segments`` table, keyed by ``(simulation_id, agent, segment)`` (``agent``: the key the
memory claimed, its owner's name, or ``name#2``... for a later same-named one): the segment number
is the memory's eviction-batch count, which checkpoints hold, so a replay or a resumed run writes
the same number for the same batch and replaces the row instead of adding a second one. Each row
keeps the id range, the simulated-time range and the item count beside the items themselves, as
zlib-compressed JSON (what the memory layer encodes; this module never looks inside).

Beside a segment, the ``memory_segment_vectors`` table may hold what relevance retrieval needs to
rank its items without reading them all: a compact sketch per item (scanned first), and the items'
vectors and scores (read only for the few segments a query picks). Both are the memory layer's
bytes too, tagged with the embedder that made them and the segment's id range: a row whose range
differs from its segment's (a segment rewritten without vectors, by an older version) is not used.
A run file written before this table existed gets it (empty) when opened: its segments read as
before, and have no vectors until the memory layer writes them.

Writes go through the run's :class:`~tinytroupe.storage.writer.BatchWriter` (compression happens on
its thread, so an eviction only queues a row); reads flush what this store queued, then read on a
connection of their own (WAL: readers never wait for the writer). Without a writer each write is
committed before it returns.

Example:
    >>> store = MemorySegmentStore(":memory:", "demo")
    >>> store.write("Ana", 1, first_id=1, last_id=2, first_time=None, last_time=None, count=2, payload=b"[1, 2]")
    >>> [(s.segment, s.first_id, s.last_id, s.count) for s in store.segments("Ana")]
    [(1, 1, 2, 2)]
    >>> store.load("Ana", 1)
    b'[1, 2]'
    >>> store.close()
"""

from __future__ import annotations

import sqlite3
import threading
import weakref
import zlib
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

from pydantic import BaseModel, ConfigDict

from tinytroupe.errors import StorageError
from tinytroupe.storage.sqlite import ADVICE, connect, ensure_schema, storage_error, transaction
from tinytroupe.storage.writer import BatchWriter

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS memory_segments (
    simulation_id TEXT NOT NULL,
    agent         TEXT NOT NULL,
    segment       INTEGER NOT NULL,
    first_id      INTEGER NOT NULL,
    last_id       INTEGER NOT NULL,
    first_time    TEXT,
    last_time     TEXT,
    items         INTEGER NOT NULL,
    data          BLOB NOT NULL,
    PRIMARY KEY (simulation_id, agent, segment)
);
CREATE TABLE IF NOT EXISTS memory_segment_vectors (
    simulation_id TEXT NOT NULL,
    agent         TEXT NOT NULL,
    segment       INTEGER NOT NULL,
    first_id      INTEGER NOT NULL,
    last_id       INTEGER NOT NULL,
    embedder      TEXT NOT NULL,
    items         INTEGER NOT NULL,
    sketch        BLOB NOT NULL,
    meta          BLOB NOT NULL,
    vectors       BLOB NOT NULL,
    PRIMARY KEY (simulation_id, agent, segment)
);
"""
# The vectors table came after version 1 without a version change: it is only added (an older version
# opening the file ignores it), and rows it cannot vouch for are left out by the id-range check.
_UPSERT = ("INSERT OR REPLACE INTO memory_segments (simulation_id, agent, segment, first_id, last_id, first_time, "
           "last_time, items, data) VALUES (?,?,?,?,?,?,?,?,?)")
_COLUMNS = "agent, segment, first_id, last_id, first_time, last_time, items, length(data)"
_UPSERT_VECTORS = ("INSERT OR REPLACE INTO memory_segment_vectors (simulation_id, agent, segment, first_id, last_id, "
                   "embedder, items, sketch, meta, vectors) VALUES (?,?,?,?,?,?,?,?,?,?)")
# A segment's vectors row counts only when it was made for that very batch (same id range) by the same
# embedder. The small columns come first in both tables, so a scan never reads a payload or the vectors.
_VALID = ("v.simulation_id = s.simulation_id AND v.agent = s.agent AND v.segment = s.segment "
          "AND v.first_id = s.first_id AND v.last_id = s.last_id AND v.embedder = ?")
_SCAN = (f"SELECT s.segment, v.items, v.sketch FROM memory_segments s LEFT JOIN memory_segment_vectors v ON {_VALID} "
         "WHERE s.simulation_id = ? AND s.agent = ? AND s.segment > ? AND s.segment <= ? "
         "ORDER BY s.segment DESC LIMIT ?")
#: zlib level: 6 (the default) halves what level 1 leaves of these JSON lists, and runs on the writer thread
COMPRESSION = 6


def create_tables(conn: sqlite3.Connection) -> None:
    """Create (or check) this component's table on ``conn``."""
    ensure_schema(conn, "memory_segments", SCHEMA_VERSION, _SCHEMA)


class MemorySegment(BaseModel):
    """What a cold segment holds, without its items: whose, which number, id and time ranges, size.

    ``first_time`` and ``last_time`` are the earliest and latest simulated times of its items (None
    when none has one); ``stored_bytes`` is the compressed size in the run file.
    """

    model_config = ConfigDict(frozen=True)

    #: the key the memory writes under: its agent's name (``name#2``... for later same-named agents of a run)
    agent: str
    segment: int
    first_id: int
    last_id: int
    first_time: datetime | None = None
    last_time: datetime | None = None
    count: int
    stored_bytes: int = 0


class SegmentVectors(NamedTuple):
    """What relevance retrieval keeps beside a segment (the memory layer's bytes): the embedder that
    made the vectors, how many items have one, a sketch per item, the items' ids and scores, their vectors."""

    embedder: str
    items: int
    sketch: bytes
    meta: bytes
    vectors: bytes


class ScannedSegment(NamedTuple):
    """One segment as a relevance scan sees it: its number and, when it has usable vectors, their
    count and sketches (None: no vectors row for it, or one made for another batch or embedder)."""

    segment: int
    items: int | None
    sketch: bytes | None


def _time(value: object) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


class MemorySegmentStore:
    """The ``memory_segments`` table of one simulation in a run file.

    Args:
        path: the run file (``":memory:"``: a table that lives as long as the store, for tests).
        simulation_id: the simulation whose segments this store writes and reads.
        writer: the run's background writer (None: every write is committed before it returns).

    A closed store (the simulation ended) accepts no more writes (:attr:`accepting` is False) but
    still reads: the file outlives the run.
    """

    def __init__(self, path: str | Path, simulation_id: str, writer: BatchWriter | None = None) -> None:
        self.path = str(path)
        self.simulation_id = simulation_id
        self.writer = writer
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = connect(path, doing="opening the memory segments of",
                                                        setup=create_tables)
        self._queued = False  # rows queued on the writer since the last flush
        self._closed = False
        #: segments written (queued) through this store
        self.written = 0
        #: segment payloads read (load, load_many, iter_payloads), and segment descriptors scanned for relevance
        self.loaded = 0
        self.scanned = 0
        self._keys: set[str] = set()  # the keys memories write under in this run (claim, hold)
        self._writers: dict[str, weakref.ref[object]] = {}  # who writes under a key in this run

    def claim(self, name: str, writer: object) -> str:  # writer: any object a weak reference can point to
        """A key no other memory of this run uses, for ``writer`` to write under: ``name`` for the first
        memory to ask, then ``name#2``, ``name#3``... (same-named agents, in two worlds or two
        replications, keep their segments apart). The order of asking decides; a memory keeps its keys
        in its checkpointed state.

        Example:
            >>> class Writer: ...
            >>> store, ana, ben = MemorySegmentStore(":memory:", "demo"), Writer(), Writer()
            >>> store.claim("Ana", ana), store.claim("Ana", ben), store.claim("Ben", ben)
            ('Ana', 'Ana#2', 'Ben')
        """
        with self._lock:
            key, n = name, 1
            while key in self._keys:
                n += 1
                key = f"{name}#{n}"
            self._keys.add(key)
            self._writers[key] = weakref.ref(writer)
            return key

    def take(self, key: str, writer: object) -> bool:
        """Let ``writer`` go on writing under ``key``, a key it has (restored from its state); False when
        another live memory of this run writes under it (two memories restored from one saved state:
        the later one then claims a key of its own for what it adds)."""
        with self._lock:
            ref = self._writers.get(key)
            current = ref() if ref is not None else None
            if current is not None and current is not writer:
                return False
            self._keys.add(key)
            self._writers[key] = weakref.ref(writer)
            return True

    def hold(self, key: str) -> None:
        """Keep :meth:`claim` from handing out ``key`` (a restored memory's, before it writes again)."""
        with self._lock:
            self._keys.add(key)

    @property
    def accepting(self) -> bool:
        """Whether :meth:`write` may be called (False once the store is closed)."""
        return not self._closed

    def write(self, agent: str, segment: int, *, first_id: int, last_id: int, first_time: datetime | None,
              last_time: datetime | None, count: int, payload: bytes | Callable[[], bytes]) -> None:
        """Store one segment (replacing one with the same number): ``payload`` is its items' JSON, or a
        function making it (called on the writer thread, so encoding never holds up a turn).

        Raises:
            StorageError: the run file cannot be written (with a writer: raised at a later write or flush).
        """

        def row() -> tuple[object, ...]:
            data = payload() if callable(payload) else payload
            return (self.simulation_id, agent, segment, first_id, last_id,
                    first_time.isoformat() if first_time else None, last_time.isoformat() if last_time else None,
                    count, zlib.compress(data, COMPRESSION))

        if self.writer is not None:
            with self._lock:  # agents evict on several threads
                self.written += 1
                self._queued = True
            self.writer.put(_UPSERT, row)
            return
        with self._lock:
            self.written += 1
            conn = self._connection()
            with transaction(conn, self.path, "writing a memory segment to"):
                conn.execute(_UPSERT, row())

    def segments(self, agent: str, *, upto: int | None = None, after: int = 0) -> list[MemorySegment]:
        """``agent``'s segments in number order (only those numbered ``upto`` or less, when given, and
        above ``after``).

        Raises:
            StorageError: the run file cannot be read.
        """
        sql = f"SELECT {_COLUMNS} FROM memory_segments WHERE simulation_id = ? AND agent = ? AND segment > ?"
        args: tuple[object, ...] = (self.simulation_id, agent, after)
        if upto is not None:
            sql, args = sql + " AND segment <= ?", (*args, upto)
        rows = self._read(sql + " ORDER BY segment", args)
        return [MemorySegment(agent=r[0], segment=r[1], first_id=r[2], last_id=r[3], first_time=_time(r[4]),
                              last_time=_time(r[5]), count=r[6], stored_bytes=r[7]) for r in rows]

    def load(self, agent: str, segment: int) -> bytes | None:
        """The JSON payload of one segment (decompressed), or None when there is no such segment.

        Raises:
            StorageError: the run file cannot be read, or the stored bytes are damaged.
        """
        rows = self._read("SELECT data FROM memory_segments WHERE simulation_id = ? AND agent = ? AND segment = ?",
                          (self.simulation_id, agent, segment))
        self.loaded += len(rows)
        return self._decompress(rows[0][0]) if rows else None

    def iter_payloads(self, agent: str, *, upto: int | None = None, after: int = 0) -> Iterator[tuple[int, bytes]]:
        """``(segment, payload)`` of each of ``agent``'s segments in number order, one read at a time
        (a search over every cold item never holds more than one segment).

        Raises:
            StorageError: the run file cannot be read, or the stored bytes are damaged.
        """
        for info in self.segments(agent, upto=upto, after=after):
            data = self.load(agent, info.segment)
            if data is not None:
                yield info.segment, data

    def write_vectors(self, agent: str, segment: int, *, first_id: int, last_id: int,
                      make: SegmentVectors | Callable[[], SegmentVectors | None]) -> None:
        """Store the vectors of segment ``segment`` (replacing earlier ones): ``make`` gives them, or is a
        function giving them or None (nothing written), called on the writer thread.

        Raises:
            StorageError: the run file cannot be written (with a writer: raised at a later write or flush).
        """

        def put(conn: sqlite3.Connection) -> None:
            row = make() if callable(make) else make
            if row is not None:
                conn.execute(_UPSERT_VECTORS, (self.simulation_id, agent, segment, first_id, last_id, *row))

        if self.writer is not None:
            with self._lock:
                self._queued = True
            self.writer.call(put)
            return
        with self._lock:
            conn = self._connection()
            with transaction(conn, self.path, "writing memory segment vectors to"):
                put(conn)

    def scan(self, agent: str, embedder: str, *, upto: int, limit: int = 0, after: int = 0) -> list[ScannedSegment]:
        """``agent``'s segments numbered ``upto`` or less (and above ``after``), newest first (the ``limit``
        newest; 0: all),
        each with the sketches of its vectors made by ``embedder`` when it has them.

        Raises:
            StorageError: the run file cannot be read.
        """
        rows = self._read(_SCAN, (embedder, self.simulation_id, agent, after, upto, limit or -1))
        self.scanned += len(rows)
        return [ScannedSegment(int(r[0]), None if r[1] is None else int(r[1]),  # type: ignore[call-overload]
                               r[2] if isinstance(r[2], bytes) else None) for r in rows]

    def load_vectors(self, agent: str, segments: Sequence[int], embedder: str) -> dict[int, SegmentVectors]:
        """The vectors made by ``embedder`` of some of ``agent``'s segments, by number (those without: left out).

        Raises:
            StorageError: the run file cannot be read.
        """
        if not segments:
            return {}
        marks = ",".join("?" * len(segments))
        rows = self._read(f"SELECT s.segment, v.embedder, v.items, v.sketch, v.meta, v.vectors FROM memory_segments s "
                          f"JOIN memory_segment_vectors v ON {_VALID} "
                          f"WHERE s.simulation_id = ? AND s.agent = ? AND s.segment IN ({marks})",
                          (embedder, self.simulation_id, agent, *segments))
        return {int(r[0]): SegmentVectors(*r[1:]) for r in rows}  # type: ignore[call-overload, arg-type]

    def load_many(self, agent: str, segments: Sequence[int]) -> dict[int, bytes]:
        """The payloads of some of ``agent``'s segments (decompressed), by number; numbers it does not
        have are left out.

        Raises:
            StorageError: the run file cannot be read, or a payload's bytes are damaged.
        """
        if not segments:
            return {}
        marks = ",".join("?" * len(segments))
        rows = self._read(f"SELECT segment, data FROM memory_segments WHERE simulation_id = ? AND agent = ? "
                          f"AND segment IN ({marks})", (self.simulation_id, agent, *segments))
        self.loaded += len(rows)
        return {int(segment): self._decompress(data) for segment, data in rows}  # type: ignore[call-overload]

    def flush(self) -> None:
        """Commit what this store queued on the writer (reads do it first)."""
        if self._queued and self.writer is not None and not self._closed:
            self._queued = False  # cleared first: a row queued while the flush runs sets it again
            self.writer.flush()

    def close(self) -> None:
        """Stop accepting writes (what was queued is committed with the writer) and close the read connection."""
        self._closed = True
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # ------------------------------------------------------------------ internals

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:  # reopened for reads after close: the file outlives the run
            self._conn = connect(self.path, doing="reading the memory segments of", setup=create_tables)
        return self._conn

    def _read(self, sql: str, args: tuple[object, ...]) -> list[tuple[object, ...]]:
        self.flush()
        with self._lock:
            try:
                return self._connection().execute(sql, args).fetchall()
            except sqlite3.Error as exc:
                raise storage_error(exc, self.path, "reading the memory segments of") from exc

    def _decompress(self, data: object) -> bytes:
        try:
            if not isinstance(data, bytes):
                raise zlib.error(f"a {type(data).__name__}, not bytes")
            return zlib.decompress(data)
        except zlib.error as exc:
            raise StorageError(f"reading a memory segment of {self.path!r} failed: its stored bytes are damaged "
                               f"({exc}); {ADVICE['corrupt']}", path=self.path, cause_kind="corrupt") from exc


__all__ = ["MemorySegment", "MemorySegmentStore", "ScannedSegment", "SegmentVectors", "create_tables"]
