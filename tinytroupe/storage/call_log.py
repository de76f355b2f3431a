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

import zlib
from collections.abc import Callable
from pathlib import Path

from tinytroupe.storage.sqlite import connect, ensure_schema
from tinytroupe.storage.writer import BatchWriter

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
_UPSERT = "INSERT OR REPLACE INTO calls (simulation_id, stream, pos, key, step, request) VALUES (?,?,?,?,?,?)"


class CallLog:
    """Reads the recorded streams of a run file; writes go through the run's :class:`BatchWriter`."""

    def __init__(self, path: str | Path, writer: BatchWriter) -> None:
        self.path = path
        self.writer = writer
        conn = connect(path)
        try:
            ensure_schema(conn, "calls", SCHEMA_VERSION, _SCHEMA)
        finally:
            conn.close()

    def load(self, simulation_id: str) -> dict[str, list[tuple[str, int | None]]]:
        """``{stream: [(key, step), ...]}`` in position order (positions are dense from 0)."""
        conn = connect(self.path)
        try:
            rows = conn.execute("SELECT stream, pos, key, step FROM calls WHERE simulation_id = ? "
                                "ORDER BY stream, pos", (simulation_id,)).fetchall()
        finally:
            conn.close()
        streams: dict[str, list[tuple[str, int | None]]] = {}
        for stream, pos, key, step in rows:
            entries = streams.setdefault(stream, [])
            if pos == len(entries):  # a gap (should not happen) ends what is comparable
                entries.append((key, step))
        return streams

    def request(self, simulation_id: str, stream: str, pos: int) -> str | None:
        """The recorded canonical JSON of a call, or None."""
        conn = connect(self.path)
        try:
            row = conn.execute("SELECT request FROM calls WHERE simulation_id = ? AND stream = ? AND pos = ?",
                               (simulation_id, stream, pos)).fetchone()
        finally:
            conn.close()
        return zlib.decompress(row[0]).decode("utf-8") if row and row[0] is not None else None

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


__all__ = ["CallLog"]
