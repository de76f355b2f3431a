"""The recorded sequence of LLM requests of a simulation, per stream, for replay and divergence checks.

A *stream* is one caller's sequence of calls (world, agent and purpose); its calls happen one after
another even when agents act in parallel, so the n-th call of a stream is comparable between two
runs while the global order is not. Each row holds the request's cache key and, compressed, its
canonical JSON (to say what differed when a later run diverges).

Example:
    >>> import tempfile, os
    >>> from tinytroupe.storage.writer import BatchWriter
    >>> path = os.path.join(tempfile.mkdtemp(), "run.sqlite")
    >>> log = CallLog(path, BatchWriter(path))
    >>> log.record("demo", "w/ana/action", 0, "k1", 1, '{"request": 1}')
    >>> log.writer.flush()
    >>> log.load("demo")
    {'w/ana/action': [('k1', 1)]}
"""

from __future__ import annotations

import logging
import sqlite3
import zlib
from collections.abc import Callable
from pathlib import Path

from tinytroupe.storage.sqlite import connect, ensure_schema, storage_error
from tinytroupe.storage.writer import BatchWriter

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    simulation_id TEXT NOT NULL,
    stream        TEXT NOT NULL,
    pos           INTEGER NOT NULL,
    key           TEXT NOT NULL,
    step          INTEGER,
    request       BLOB,
    PRIMARY KEY (simulation_id, stream, pos)
);
"""


def create_tables(conn: sqlite3.Connection) -> None:
    """Create (or check) this component's table on ``conn``."""
    ensure_schema(conn, "calls", SCHEMA_VERSION, _SCHEMA)


_UPSERT = "INSERT OR REPLACE INTO calls (simulation_id, stream, pos, key, step, request) VALUES (?,?,?,?,?,?)"


class CallLog:
    """Reads the recorded streams of a run file; writes go through the run's :class:`BatchWriter`."""

    def __init__(self, path: str | Path, writer: BatchWriter) -> None:
        self.path = path
        self.writer = writer
        conn = connect(path)
        try:
            create_tables(conn)
        finally:
            conn.close()

    def load(self, simulation_id: str) -> dict[str, list[tuple[str, int | None]]]:
        """``{stream: [(key, step), ...]}`` in position order (positions are dense from 0).

        A damaged row (text that is not UTF-8, a position or step that is not a number) ends what is
        comparable in its stream: the calls from there on are treated as new, never matched against
        a guess.
        """
        conn = connect(self.path)
        conn.text_factory = bytes  # decode per value below: one bad row must not fail the whole query
        try:
            rows = conn.execute("SELECT stream, pos, key, step FROM calls WHERE simulation_id = ? "
                                "ORDER BY stream, pos", (simulation_id,)).fetchall()
        except sqlite3.Error as exc:
            raise storage_error(exc, self.path, "reading the recorded calls of") from exc
        finally:
            conn.close()
        streams: dict[str, list[tuple[str, int | None]]] = {}
        broken: set[str] = set()
        damaged = 0
        for raw_stream, pos, raw_key, step in rows:
            try:
                stream = raw_stream.decode("utf-8")
            except (AttributeError, UnicodeDecodeError):
                damaged += 1  # a stream whose name is unreadable cannot be matched at all
                continue
            key = _text(raw_key)
            if key is None or not isinstance(pos, int) or not (step is None or isinstance(step, int)):
                damaged += 1
                broken.add(stream)
            if stream in broken:
                continue
            entries = streams.setdefault(stream, [])
            if pos == len(entries) and key is not None:  # a gap (should not happen) ends what is comparable
                entries.append((key, step if isinstance(step, int) else None))
        if damaged:
            logger.warning("%d damaged recorded call(s) in %s: the calls of their streams from there on are "
                           "treated as new (they may be paid for again)", damaged, self.path)
        return streams

    def request(self, simulation_id: str, stream: str, pos: int) -> str | None:
        """The recorded canonical JSON of a call, or None (also when its stored bytes are damaged)."""
        conn = connect(self.path)
        try:
            row = conn.execute("SELECT request FROM calls WHERE simulation_id = ? AND stream = ? AND pos = ?",
                               (simulation_id, stream, pos)).fetchone()
        except sqlite3.Error as exc:
            logger.warning("the recorded request %s #%d in %s could not be read: %s", stream, pos, self.path, exc)
            return None
        finally:
            conn.close()
        if not row or not isinstance(row[0], bytes):
            return None
        try:
            return zlib.decompress(row[0]).decode("utf-8")
        except (zlib.error, UnicodeDecodeError):
            return None  # only used to describe a divergence; "not available" says so

    def record(self, simulation_id: str, stream: str, pos: int, key: str, step: int | None,
               canonical_json: str | Callable[[], str]) -> None:
        """Queue one call's record; the JSON (or the function making it) is compressed on the writer thread."""

        def row() -> tuple[object, ...]:
            text = canonical_json() if callable(canonical_json) else canonical_json
            return (simulation_id, stream, pos, key, step, zlib.compress(text.encode("utf-8"), 1))

        self.writer.put(_UPSERT, row)

    def truncate(self, simulation_id: str, stream: str, from_pos: int) -> None:
        """Queue dropping a stream's records from ``from_pos`` on (after a divergence they no longer apply)."""
        self.writer.put("DELETE FROM calls WHERE simulation_id = ? AND stream = ? AND pos >= ?",
                        (simulation_id, stream, from_pos))

    def clear(self, simulation_id: str) -> None:
        self.writer.put("DELETE FROM calls WHERE simulation_id = ?", (simulation_id,))


def _text(value: object) -> str | None:
    """A TEXT value read as bytes, decoded; None when it is not valid UTF-8 text."""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return None
    return None


__all__ = ["CallLog", "create_tables"]
