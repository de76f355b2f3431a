"""Damaged run files: find out whether a SQLite file is intact, and copy what is readable into a fresh one.

A run file can be damaged by a disk that filled up under another program, a copy cut short, a
sync tool, or a stray write. SQLite's ``.recover`` lives in its command-line shell, not in Python's
``sqlite3``, so this module does the same job with plain queries: :func:`inspect` says whether a
file is intact (``PRAGMA quick_check``); :func:`salvage` moves a damaged file aside as
``<name>.damaged-<time>`` (with its ``-wal`` and ``-shm``), lets the caller create a fresh file with
its schemas, and copies each table's readable rows into it, walking the table by rowid in chunks
and stepping over the ranges that cannot be read. Each row's text must be valid UTF-8 and may be
checked by a caller-given validator; nothing is guessed or repaired. The report says, per table,
how many rows were copied, rejected or unreadable.

Example:
    >>> import tempfile, os, sqlite3
    >>> path = os.path.join(tempfile.mkdtemp(), "run.sqlite")
    >>> conn = sqlite3.connect(path); _ = conn.execute("CREATE TABLE t (x TEXT)"); conn.close()
    >>> inspect(path) is None
    True
    >>> with open(path, "r+b") as fh:
    ...     _ = fh.write(b"garbage" * 20)
    >>> inspect(path)
    'file is not a database'
"""

from __future__ import annotations

import logging
import os
import sqlite3
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from tinytroupe.storage.sqlite import cause_kind, connect, connect_readonly, storage_error, transaction

logger = logging.getLogger(__name__)

#: rows read per query while copying a table
CHUNK = 500
#: largest rowid step tried when looking for readable rows past a damaged range
_MAX_GAP = 1 << 62
_ROWID_FLOOR = -(1 << 63)

Validator = Callable[[dict[str, Any]], bool]


class TableSalvage(BaseModel):
    """What was recovered from one table."""

    table: str
    copied: int = 0
    rejected: int = Field(default=0, description="rows read whole but refused (text not UTF-8, or the "
                                                 "caller's validator said no)")
    unreadable_ranges: list[tuple[int, int]] = Field(default_factory=list, description="rowid ranges "
                                                     "(first, last) that could not be read")
    error: str | None = Field(default=None, description="why nothing of the table could be read")

    @property
    def intact(self) -> bool:
        return not self.rejected and not self.unreadable_ranges and self.error is None

    def describe(self) -> str:
        if self.error is not None:
            return f"{self.table}: unreadable ({self.error})"
        lost = []
        if self.unreadable_ranges:
            lost.append(f"{len(self.unreadable_ranges)} damaged range(s)")
        if self.rejected:
            lost.append(f"{self.rejected} damaged row(s) left out")
        return f"{self.table}: {self.copied} row(s) copied" + (f", {', '.join(lost)}" if lost else "")


class SalvageReport(BaseModel):
    """What :func:`salvage` found and did."""

    path: str
    problem: str
    moved_to: str
    tables: dict[str, TableSalvage] = Field(default_factory=dict)

    def copied(self, table: str) -> int:
        found = self.tables.get(table)
        return found.copied if found is not None else 0

    def summary(self) -> str:
        """One line per table: copied, rejected, unreadable."""
        return "; ".join(t.describe() for t in self.tables.values()) or "nothing could be read"


def inspect(path: str | Path) -> str | None:
    """None when ``path`` is missing, empty or an intact SQLite file; else what is wrong with it.

    Raises:
        StorageError: the file could not be checked for another reason than damage (locked,
            unreadable permissions): moving it aside would be wrong then.
    """
    where = Path(path)
    if not where.exists() or where.stat().st_size == 0:
        return None
    conn: sqlite3.Connection | None = None
    try:
        conn = _open_for_reading(where)
        rows = conn.execute("PRAGMA quick_check(5)").fetchall()
    except sqlite3.Error as exc:
        if cause_kind(exc) == "corrupt":
            return str(exc)
        raise storage_error(exc, where, "checking the run file") from exc
    finally:
        if conn is not None:
            conn.close()
    problems = [str(r[0]) for r in rows]
    return None if problems == ["ok"] else "; ".join(problems)


def salvage(path: str | Path, prepare: Callable[[Path], None], *, problem: str = "damaged",
            validators: Mapping[str, Validator] | None = None) -> SalvageReport:
    """Move the damaged ``path`` aside, let ``prepare(path)`` create a fresh file, copy readable rows into it.

    Every table that ``prepare`` created is filled from the damaged file's table of the same name
    (``INSERT OR IGNORE``, so rows ``prepare`` wrote, and totals kept by triggers, stay right).
    Rowids are kept, so ``AUTOINCREMENT`` ids and insertion order survive.

    Raises:
        StorageError: the damaged file could not be moved aside, or the fresh one not written.
    """
    where = Path(path)
    aside = _aside_name(where)
    try:
        for suffix in ("", "-wal", "-shm"):
            part = Path(str(where) + suffix)
            if part.exists():
                os.replace(part, Path(str(aside) + suffix))
    except OSError as exc:
        raise storage_error(exc, where, "moving the damaged run file aside from") from exc
    report = SalvageReport(path=str(where), problem=problem, moved_to=str(aside))
    prepare(where)
    dest = connect(where)
    try:
        tables = [str(r[0]) for r in dest.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        with tempfile.TemporaryDirectory(prefix="tinytroupe-salvage-") as scratch:
            try:
                source = _open_damaged(aside, Path(scratch))
                source.text_factory = bytes  # decoded per value: a damaged row must not fail its whole chunk
            except sqlite3.Error as exc:
                for table in tables:
                    report.tables[table] = TableSalvage(table=table, error=str(exc))
                return report
            try:
                for table in tables:
                    check = (validators or {}).get(table)
                    report.tables[table] = _copy_table(source, dest, where, table, check)
            finally:
                source.close()
    finally:
        dest.close()
    logger.warning("run file %s was damaged (%s); moved to %s; salvaged: %s", where, problem, aside,
                   report.summary())
    return report


def _open_for_reading(path: Path) -> sqlite3.Connection:
    try:
        conn = connect_readonly(path)
        conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
        return conn
    except sqlite3.Error as exc:
        if cause_kind(exc) != "read_only":
            raise
    # A WAL file left by a crash may need its index rebuilt, which a read-only connection cannot do.
    return sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=30.0)


_MAGIC = b"SQLite format 3\x00"
_PAGE_SIZES = (4096, 1024, 2048, 8192, 16384, 32768, 65536, 512)


def _readable(conn: sqlite3.Connection) -> bool:
    try:
        conn.execute("SELECT name FROM sqlite_master").fetchall()
    except sqlite3.DatabaseError:
        return False
    return True


def _open_damaged(path: Path, scratch: Path) -> sqlite3.Connection:
    """A read connection to ``path`` whose schema can be read, trying harder each time.

    1. The file as it is.
    2. A copy padded to the size its header states: a truncated file is refused whole because pages
       it claims are missing (even when the schema and most rows are intact); the missing pages then
       read as empty ones, so only the rows that were on them are lost.
    3. A copy with a rebuilt header (for each usual page size): the first 100 bytes overwritten make
       SQLite say "file is not a database" although every page after them may be fine.

    Raises:
        sqlite3.DatabaseError: nothing worked (the first attempt's error).
    """
    try:
        conn = _open_for_reading(path)
        if _readable(conn):
            return conn
        conn.close()
        first: sqlite3.DatabaseError = sqlite3.DatabaseError("the schema cannot be read")
    except sqlite3.DatabaseError as exc:
        first = exc
    data = path.read_bytes()
    wal = Path(str(path) + "-wal")
    attempts: list[bytes] = []
    if data[:16] == _MAGIC and len(data) >= 100:
        page_size = int.from_bytes(data[16:18], "big")
        page_size = 65536 if page_size == 1 else page_size
        stated = int.from_bytes(data[28:32], "big") * page_size
        if stated > len(data):
            attempts.append(data + bytes(stated - len(data)))
        whole = len(data) - len(data) % page_size if page_size else len(data)
        attempts.append(data[:whole])
    if len(data) >= 512:
        attempts += [_with_header(data, size) for size in _PAGE_SIZES if len(data) >= size]
    for number, attempt in enumerate(attempts):
        work = scratch / f"attempt-{number}.sqlite"
        work.write_bytes(attempt)
        if wal.exists() and attempt[18:20] == b"\x02\x02":  # the log holds committed pages too
            Path(str(work) + "-wal").write_bytes(wal.read_bytes())
        try:
            conn = _open_for_reading(work)
        except sqlite3.DatabaseError:
            continue
        if _readable(conn):
            logger.info("reading the damaged %s through a repaired copy (attempt %d)", path, number + 1)
            return conn
        conn.close()
    raise first


def _with_header(data: bytes, page_size: int) -> bytes:
    """``data`` with a plausible 100-byte SQLite header (what a fresh file has) in front of its page 1."""
    header = bytearray(100)
    header[:16] = _MAGIC
    header[16:18] = (1 if page_size == 65536 else page_size).to_bytes(2, "big")
    header[18], header[19] = 1, 1  # rollback journal: a log written under the lost header cannot be trusted
    header[21], header[22], header[23] = 64, 32, 32  # payload fractions, fixed by the file format
    header[24:28] = (1).to_bytes(4, "big")  # change counter
    # bytes 28-31 (page count) stay 0: SQLite then takes the size from the file
    header[40:44] = (1).to_bytes(4, "big")  # schema cookie
    header[44:48] = (4).to_bytes(4, "big")  # schema format 4
    header[56:60] = (1).to_bytes(4, "big")  # UTF-8
    header[92:96] = (1).to_bytes(4, "big")  # version-valid-for
    header[96:100] = (3_040_000).to_bytes(4, "big")  # the writer's SQLite version: informational only
    whole = len(data) - len(data) % page_size
    return bytes(header) + data[100:whole]


def _aside_name(path: Path) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    candidate = path.with_name(f"{path.name}.damaged-{stamp}")
    n = 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.name}.damaged-{stamp}-{n}")
    return candidate


def _copy_table(source: sqlite3.Connection, dest: sqlite3.Connection, dest_path: Path, table: str,
                check: Validator | None) -> TableSalvage:
    info = dest.execute(f'PRAGMA table_info("{table}")').fetchall()
    columns = [str(r[1]) for r in info]
    text_columns = {str(r[1]) for r in info if "TEXT" in str(r[2]).upper()}
    quoted = ", ".join(f'"{c}"' for c in columns)
    select = f'SELECT rowid, {quoted} FROM "{table}" WHERE rowid > ? ORDER BY rowid LIMIT ?'
    insert = f'INSERT OR IGNORE INTO "{table}" (rowid, {quoted}) VALUES ({", ".join("?" * (len(columns) + 1))})'
    result = TableSalvage(table=table)

    def read(after: int, limit: int) -> list[tuple[Any, ...]] | None:
        try:
            return source.execute(select, (after, limit)).fetchall()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc) or "no such column" in str(exc):
                raise _Absent(str(exc)) from exc
            if cause_kind(exc) == "corrupt":
                return None
            raise
        except sqlite3.DatabaseError:
            return None

    last = _ROWID_FLOOR
    seen: set[int] = set()
    try:
        while True:
            rows = read(last, CHUNK)
            if rows is None:  # something in this chunk is damaged: go row by row until the bad one
                rows = read(last, 1)
            if rows is None:
                skipped_to = _skip_damage(read, last)
                if skipped_to is None:
                    result.unreadable_ranges.append((last + 1 if last > _ROWID_FLOOR else 0, -1))
                    break
                result.unreadable_ranges.append((last + 1 if last > _ROWID_FLOOR else 0, skipped_to))
                last = skipped_to
                continue
            if not rows:
                break
            fresh = _fresh_rows(rows, last, seen)
            if not fresh:
                result.unreadable_ranges.append((last + 1, -1))
                break
            good = []
            for row in fresh.values():
                values = _decode_row(columns, text_columns, row[1:])
                if values is None or (check is not None and not _accepts(check, values)):
                    result.rejected += 1
                else:
                    good.append((row[0], *(values[c] for c in columns)))
            if good:
                with transaction(dest, dest_path, f"copying the intact rows of {table} into"):
                    dest.executemany(insert, good)
                result.copied += len(good)
            last = max(fresh)
    except _Absent:
        return result  # an older file without this table: nothing to copy, nothing lost
    except sqlite3.DatabaseError as exc:
        result.error = str(exc)
    return result


class _Absent(Exception):
    pass


def _fresh_rows(rows: list[tuple[Any, ...]], last: int, seen: set[int]) -> dict[int, tuple[Any, ...]]:
    """The rows of a chunk to take, by rowid (added to ``seen``): each rowid once, only past ``last``
    and not taken before.

    A damaged page can send the scan backwards anywhere in a chunk (seen: rowids 1..299 then 0) or
    repeat rows; the scan goes on from the highest rowid taken, so every pass moves forward and it ends.
    """
    fresh: dict[int, tuple[Any, ...]] = {}
    for row in rows:
        rowid = int(row[0])
        if rowid > last and rowid not in seen:
            fresh.setdefault(rowid, row)
    seen.update(fresh)
    return fresh


def _skip_damage(read: Callable[[int, int], list[tuple[Any, ...]] | None], last: int) -> int | None:
    """The rowid after which rows are readable again past ``last`` (doubling steps, then bisecting the
    boundary so as few readable rows as possible are given up), or None when nothing further is readable."""
    base = max(last, 0) if last == _ROWID_FLOOR else last
    gap = 1
    while gap <= _MAX_GAP:
        if read(base + gap, 1) is not None:
            break
        gap *= 2
    else:
        return None
    low, high = gap // 2, gap  # reading after base+low failed (or low == 0), after base+high works
    while high - low > 1:
        mid = (low + high) // 2
        if read(base + mid, 1) is not None:
            high = mid
        else:
            low = mid
    return base + high


def _decode_row(columns: list[str], text_columns: set[str], values: tuple[Any, ...]) -> dict[str, Any] | None:
    out: dict[str, Any] = {}
    for name, value in zip(columns, values, strict=True):
        if isinstance(value, bytes) and name in text_columns:
            try:
                value = value.decode("utf-8")
            except UnicodeDecodeError:
                return None
        out[name] = value
    return out


def _accepts(check: Validator, values: dict[str, Any]) -> bool:
    try:
        return bool(check(values))
    except Exception:  # a validator that cannot read the row has said no
        return False


__all__ = ["CHUNK", "SalvageReport", "TableSalvage", "inspect", "salvage"]
