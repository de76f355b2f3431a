"""BatchWriter: every queued statement is committed, in order, from any thread; a full queue makes
producers wait; an idle writer wakes for new work."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from tinytroupe.storage.writer import BatchWriter


def rows(path: Path) -> list[tuple[int, int]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT t, i FROM r ORDER BY rowid").fetchall()
    finally:
        conn.close()


def _put_from_threads(writer: BatchWriter, *, threads: int, rows_each: int) -> None:
    """Each of ``threads`` threads puts rows (its number, 0 .. rows_each - 1) into table r at once."""
    started = [threading.Thread(target=lambda t=t: [writer.put("INSERT INTO r VALUES (?, ?)", (t, i))
                                                   for i in range(rows_each)]) for t in range(threads)]
    for thread in started:
        thread.start()
    for thread in started:
        thread.join()


def test_many_producer_threads_lose_nothing_and_keep_each_threads_order(tmp_path: Path) -> None:
    path = tmp_path / "w.sqlite"
    writer = BatchWriter(path, setup="CREATE TABLE r (t INTEGER, i INTEGER)")
    _put_from_threads(writer, threads=8, rows_each=2000)
    writer.flush()
    writer.close()
    got = rows(path)
    assert len(got) == 16_000
    for t in range(8):
        assert [i for tt, i in got if tt == t] == list(range(2000))


def test_a_full_queue_makes_producers_wait_and_nothing_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "w.sqlite"
    writer = BatchWriter(path, setup="CREATE TABLE r (t INTEGER, i INTEGER)", max_queue=5)
    writer.call(lambda conn: time.sleep(0.2))  # a slow disk: the queue fills while this runs
    start = time.perf_counter()
    for i in range(50):
        writer.put("INSERT INTO r VALUES (?, ?)", (0, i))
        assert len(writer._items) <= 5
    assert time.perf_counter() - start >= 0.1  # the producer waited for room
    writer.close()
    assert [i for _, i in rows(path)] == list(range(50))


def test_an_idle_writer_wakes_for_new_work(tmp_path: Path) -> None:
    path = tmp_path / "w.sqlite"
    writer = BatchWriter(path, setup="CREATE TABLE r (t INTEGER, i INTEGER)")
    writer.put("INSERT INTO r VALUES (?, ?)", (0, 0))
    writer.flush()
    time.sleep(0.2)  # the writer is asleep now
    writer.put("INSERT INTO r VALUES (?, ?)", (0, 1))
    deadline = time.monotonic() + 5
    while len(rows(path)) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(rows(path)) == 2  # committed without a flush: the put woke it
    writer.close()


def test_bursts_from_several_threads_each_wake_the_idle_writer(tmp_path: Path) -> None:
    # A put skips setting a wake that is already set: every burst must still be committed without a
    # flush, however the producers' puts and the writer's clearing of the wake interleave.
    path = tmp_path / "w.sqlite"
    writer = BatchWriter(path, setup="CREATE TABLE r (t INTEGER, i INTEGER)")
    for burst in range(15):
        _put_from_threads(writer, threads=4, rows_each=25)
        deadline = time.monotonic() + 5
        while writer.written < 100 * (burst + 1) and time.monotonic() < deadline:
            time.sleep(0.005)
        assert writer.written == 100 * (burst + 1)
    writer.close()
    assert len(rows(path)) == 1500
