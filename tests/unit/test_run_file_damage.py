"""Damaged run files, bad checkpoints and full disks: begin() says what is damaged and what can still be
used, salvages what is intact, and every failed write keeps SQLite's own cause.

The damage is real: files are truncated and overwritten with garbage on disk, rows are corrupted with
SQL, and a full disk is SQLite's own ``SQLITE_FULL`` (``PRAGMA max_page_count`` caps the file).
"""

from __future__ import annotations

import os
import random
import sqlite3
import zlib
from pathlib import Path
from typing import Any

import pytest

from tinytroupe import control
from tinytroupe.errors import CheckpointError, StorageError
from tinytroupe.llm import LLMRequest, ScriptedBackend
from tinytroupe.llm.cache import ResponseCache
from tinytroupe.llm.types import Completion
from tinytroupe.storage.checkpoints import CheckpointStore
from tinytroupe.storage.salvage import inspect
from tinytroupe.storage.trace_store import Trace
from tinytroupe.storage.writer import BatchWriter

QUESTIONS = 300
PAD = "z" * 300  # answers a few hundred bytes long: the run file spans many pages


def _answer(request: LLMRequest) -> str:
    return f"answer to {request.messages[-1].content} {PAD}"


def _ask(sim: control.Simulation, n: int = QUESTIONS, *, changed: int | None = None) -> None:
    for i in range(n):
        text = f"question {i}" + (" (changed)" if i == changed else "")
        reply = sim.client.complete([{"role": "user", "content": text}])
        assert reply.value == f"answer to {text} {PAD}"  # salvage never invents an answer


def _populate(path: Path, checkpoints: int = 3) -> None:
    with control.Simulation(path, backend=ScriptedBackend(_answer), quiet=True) as sim:
        _ask(sim)
        for i in range(checkpoints - 1):  # end() writes the last one
            sim.checkpoint(f"manual {i}")


def _rerun(path: Path, **kwargs: Any) -> tuple[control.Simulation, ScriptedBackend]:
    backend = ScriptedBackend(_answer)
    sim = control.begin(path, backend=backend, **kwargs)
    try:
        _ask(sim)
    except BaseException:
        control.reset()
        raise
    return sim, backend


@pytest.fixture(autouse=True)
def _no_leftover_simulation() -> Any:
    yield
    control.reset()


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The bytes of a complete run file (300 cached answers, recorded calls, trace, 3 checkpoints)."""
    path = tmp_path_factory.mktemp("recorded") / "run.sqlite"
    _populate(path)
    assert not Path(str(path) + "-wal").exists()  # everything is in the main file
    return path.read_bytes()


def _table_pages(tmp_path: Path, data: bytes, table: str) -> list[int]:
    """The leaf pages of ``table`` in the run file ``data`` (SQLite's ``dbstat``), in file order."""
    copy = tmp_path / "layout.sqlite"
    copy.write_bytes(data)
    with sqlite3.connect(copy) as conn:
        rows = conn.execute("SELECT pageno FROM dbstat WHERE name = ? AND pagetype = 'leaf' ORDER BY pageno",
                            (table,)).fetchall()
    copy.unlink()
    assert len(rows) >= 8, f"the {table} table spans {len(rows)} pages: too few to damage some of them"
    return [r[0] for r in rows]


def _damaged(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "run.sqlite"
    path.write_bytes(data)
    return path


# ------------------------------------------------------------------ damaged files: salvage


@pytest.mark.parametrize("fraction", [0.0, 0.3, 0.6, 0.9, 0.99])
def test_a_truncated_run_file_is_salvaged_and_the_rerun_pays_only_for_what_was_lost(
        tmp_path: Path, recorded: bytes, fraction: float, capsys: pytest.CaptureFixture[str]) -> None:
    cut = max(50, int(len(recorded) * fraction))  # 50 bytes: not even a whole header
    path = _damaged(tmp_path, recorded[:cut])
    assert inspect(path) is not None

    sim, backend = _rerun(path)
    err = capsys.readouterr().err
    report = sim.salvaged
    assert report is not None and "the run file was damaged" in err and report.moved_to in err
    moved = Path(report.moved_to)
    assert moved.exists() and moved.read_bytes() == recorded[:cut]  # the damaged file is kept, untouched
    assert moved.name.startswith("run.sqlite.damaged-")
    saved = report.copied("responses")
    assert sim.cache_hits() == saved and backend.calls == QUESTIONS - saved
    if fraction >= 0.9:
        assert saved > QUESTIONS // 2, report.summary()
    control.end()
    assert inspect(path) is None  # the fresh file is intact
    with Trace(path) as trace:
        assert trace.summary()["llm_calls"] == QUESTIONS


def test_pages_overwritten_with_garbage_are_salvaged_around(tmp_path: Path, recorded: bytes,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    data = bytearray(recorded)
    page = 4096
    rng = random.Random(7)
    # garbage over three of the cached answers' pages (wherever the other tables put them in the file)
    leaves = _table_pages(tmp_path, recorded, "responses")
    for number in (leaves[len(leaves) // 4], leaves[len(leaves) // 2], leaves[len(leaves) // 2 + 1]):
        data[(number - 1) * page:number * page] = rng.randbytes(page)  # dbstat numbers pages from 1
    path = _damaged(tmp_path, bytes(data))
    sim, backend = _rerun(path)
    report = sim.salvaged
    assert report is not None, "garbage pages must be noticed"
    saved = report.copied("responses")
    assert 0 < saved < QUESTIONS or not report.tables["responses"].intact, report.summary()
    assert backend.calls == QUESTIONS - saved
    err = capsys.readouterr().err
    assert "cached LLM answers" in err and "recorded calls" in err
    control.end()


def test_an_overwritten_header_is_rebuilt_and_every_row_behind_it_salvaged(
        tmp_path: Path, recorded: bytes, capsys: pytest.CaptureFixture[str]) -> None:
    path = _damaged(tmp_path, os.urandom(100) + recorded[100:])
    sim, backend = _rerun(path)
    err = capsys.readouterr().err
    assert sim.salvaged is not None and "file is not a database" in err
    assert f"{QUESTIONS} cached LLM answers" in err and "nothing readable was lost" in err
    assert backend.calls == 0 and sim.salvaged.copied("checkpoints") == 3
    control.end()


def test_a_destroyed_first_page_starts_afresh_and_says_nothing_could_be_copied(
        tmp_path: Path, recorded: bytes, capsys: pytest.CaptureFixture[str]) -> None:
    path = _damaged(tmp_path, random.Random(3).randbytes(4096) + recorded[4096:])  # the schema is on page 1
    sim, backend = _rerun(path)
    err = capsys.readouterr().err
    assert sim.salvaged is not None and "0 cached LLM answers" in err and "unreadable" in err
    assert backend.calls == QUESTIONS
    control.end()


def test_a_healthy_file_is_left_alone(tmp_path: Path, recorded: bytes) -> None:
    path = _damaged(tmp_path, recorded)
    sim, backend = _rerun(path, quiet=True)
    assert sim.salvaged is None and backend.calls == 0
    assert not list(tmp_path.glob("*.damaged-*"))
    control.end()


# ------------------------------------------------------------------ damaged rows


def _corrupt(path: Path, sql: str) -> None:
    conn = sqlite3.connect(path)
    try:
        conn.execute(sql)
        conn.commit()
    finally:
        conn.close()


def test_a_bad_checkpoint_never_blocks_a_rerun_and_its_restore_names_the_previous_one(
        tmp_path: Path, recorded: bytes) -> None:
    path = _damaged(tmp_path, recorded)
    _corrupt(path, "UPDATE checkpoints SET state = X'DEADBEEF' WHERE id = (SELECT MAX(id) FROM checkpoints)")
    sim, backend = _rerun(path, quiet=True)  # nobody restores: nothing decodes it
    assert backend.calls == 0 and sim.salvaged is None
    ids = [c["id"] for c in sim.checkpoints.list("default")]
    with pytest.raises(CheckpointError) as caught:
        sim.restore()
    err = caught.value
    assert err.checkpoint_id == ids[-1] and err.previous_id == ids[-2] and err.cause_kind == "corrupt"
    assert f"checkpoint #{ids[-1]}" in str(err) and f"previous checkpoint #{ids[-2]}" in str(err)
    assert f"sim.checkpoints.get({ids[-2]})" in str(err)
    previous = sim.checkpoints.get(ids[-2])
    assert previous is not None and sim.restore(checkpoint=previous).id == ids[-2]
    control.reset()


def test_a_checkpoint_that_is_valid_zlib_but_not_json_is_skipped_when_offering_the_previous_one(
        tmp_path: Path, recorded: bytes) -> None:
    path = _damaged(tmp_path, recorded)
    store = CheckpointStore(path)
    ids = [c["id"] for c in store.list("default")]
    store.close()
    _corrupt(path, f"UPDATE checkpoints SET state = X'{zlib.compress(b'{not json').hex()}' WHERE id = {ids[-1]}")
    _corrupt(path, f"UPDATE checkpoints SET state = X'{zlib.compress(b'[1, 2]').hex()}' WHERE id = {ids[-2]}")
    with control.Simulation(path, backend=ScriptedBackend(_answer), quiet=True) as sim:
        with pytest.raises(CheckpointError, match=f"previous checkpoint #{ids[-3]}") as caught:
            sim.restore()
        assert caught.value.previous_id == ids[-3]
        only_bad = sim.checkpoints.get(ids[-2])
        assert only_bad is not None and not only_bad.readable()


def test_corrupt_recorded_calls_are_treated_as_new_and_never_crash(tmp_path: Path, recorded: bytes,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    path = _damaged(tmp_path, recorded)
    _corrupt(path, "UPDATE calls SET key = CAST(X'FFFE00' AS TEXT) WHERE pos = 5")
    _corrupt(path, "UPDATE calls SET request = X'0102' WHERE pos = 3")
    backend = ScriptedBackend(_answer)
    with control.Simulation(path, backend=backend, quiet=True) as sim:
        _ask(sim, changed=3)
        assert backend.calls == 1  # only the changed question; the cache answers the rest
        assert len(sim.divergences) == 1
        assert sim.divergences[0].description == "the recorded request is not available; its key differs"
    assert "damaged recorded call" in caplog.text


def test_an_unreadable_cached_answer_is_a_miss_not_a_crash(tmp_path: Path, recorded: bytes) -> None:
    path = _damaged(tmp_path, recorded)
    _corrupt(path, "UPDATE responses SET completion = CAST(X'FF00FF' AS TEXT) "
                   "WHERE rowid = (SELECT MIN(rowid) FROM responses)")
    _corrupt(path, "UPDATE responses SET completion = '{\"text\": ' WHERE rowid = (SELECT MAX(rowid) FROM responses)")
    sim, backend = _rerun(path, quiet=True)
    assert backend.calls == 2 and sim.cache_hits() == QUESTIONS - 2
    control.end()


def test_a_damaged_trace_row_is_skipped_and_reported(tmp_path: Path, recorded: bytes,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    path = _damaged(tmp_path, recorded)
    with Trace(path) as trace:
        total = len(trace.events())
    _corrupt(path, "UPDATE trace SET data = CAST(X'FF7B' AS TEXT) WHERE pos = 0")
    _corrupt(path, "UPDATE trace SET data = '{\"kind\": ' WHERE pos = 1")
    with Trace(path) as trace:
        assert len(trace.events()) == total - 2
    assert "2 damaged trace row(s)" in caplog.text


# ------------------------------------------------------------------ full disk, read-only, locked


def _cap(conn: sqlite3.Connection) -> None:
    """Make the file full: SQLite refuses to grow it past its current pages (SQLITE_FULL)."""
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages}")


def test_a_full_disk_on_a_cache_write_keeps_the_real_cause_and_advice(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "c.sqlite")
    cache.put("a", Completion(text="kept", model="m"))
    assert cache._conn is not None
    _cap(cache._conn)
    with pytest.raises(StorageError) as caught:
        cache.put("b", Completion(text="y" * 50_000, model="m"))
    err = caught.value
    assert err.cause_kind == "disk_full" and err.path == str(tmp_path / "c.sqlite")
    assert "database or disk is full" in str(err) and "free some space" in str(err)
    assert "cannot rollback" not in str(err)
    assert isinstance(err.__cause__, sqlite3.OperationalError)
    got = cache.get("a")
    assert got is not None and got.text == "kept" and "b" not in cache  # nothing half-written
    cache._conn.execute("PRAGMA max_page_count = 1000000")
    cache.put("b", Completion(text="y" * 50_000, model="m"))  # space again: it works again
    assert len(cache) == 2
    cache.close()


def test_a_read_only_or_locked_cache_gets_advice_for_that_cause(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    cache = ResponseCache(path)
    cache.put("a", Completion(text="x", model="m"))
    assert cache._conn is not None
    cache._conn.execute("PRAGMA query_only = 1")
    with pytest.raises(StorageError, match="read-only") as caught:
        cache.put("b", Completion(text="x", model="m"))
    assert caught.value.cause_kind == "read_only"
    cache._conn.execute("PRAGMA query_only = 0")
    cache._conn.execute("PRAGMA busy_timeout = 20")
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StorageError, match="another process holds it") as caught:
            cache.put("b", Completion(text="x", model="m"))
        assert caught.value.cause_kind == "locked"
    finally:
        other.execute("ROLLBACK")
        other.close()
    got = cache.get("a")  # reads still work, and the LRU touches cannot break them
    assert got is not None
    cache.close()


def test_a_full_disk_under_the_trace_writer_is_reported_with_its_cause(tmp_path: Path) -> None:
    writer = BatchWriter(tmp_path / "t.sqlite", setup="CREATE TABLE t (x TEXT)")
    writer.put("INSERT INTO t (x) VALUES (?)", ("small",))
    writer.flush()
    writer.query("PRAGMA max_page_count = " + str(writer.query("PRAGMA page_count")[0][0]))
    writer.put("INSERT INTO t (x) VALUES (?)", ("y" * 100_000,))
    with pytest.raises(StorageError) as caught:
        writer.flush()
    err = caught.value
    assert err.cause_kind == "disk_full" and "database or disk is full" in str(err)
    assert "cannot rollback" not in str(err) and "trace after this point is incomplete" in str(err)
    with pytest.raises(StorageError):
        writer.close()
    conn = sqlite3.connect(tmp_path / "t.sqlite")
    assert conn.execute("SELECT x FROM t").fetchall() == [("small",)]
    conn.close()


def test_a_full_disk_during_a_checkpoint_keeps_the_previous_checkpoint(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path / "run.sqlite")
    store.save("s", {"n": 1}, step=1)
    _cap(store._conn)
    with pytest.raises(StorageError) as caught:
        store.save("s", {"n": 2, "big": [os.urandom(64).hex() for _ in range(2000)]}, step=2)
    assert caught.value.cause_kind == "disk_full" and "cannot rollback" not in str(caught.value)
    latest = store.latest("s")
    assert latest is not None and latest.state == {"n": 1}
    store.close()


def test_a_scan_sent_backwards_by_a_damaged_page_ends_and_takes_each_row_once(tmp_path: Path) -> None:
    """Seen on a truncated run file: every chunk read past rowid 0 ended with a row of rowid 0 (and the
    salvage looped for ever, copying the same rows). Here each read walks the rows past ``after`` and
    then sends the scan backwards, and repeats a row already taken."""
    from tinytroupe.storage.salvage import _copy_table
    from tinytroupe.storage.sqlite import connect

    intact = [(i, f"answer {i}") for i in range(1, 300)]

    class DamagedWalk:
        def execute(self, sql: str, params: tuple[int, int]) -> Any:
            after, limit = params
            walk = [*[r for r in intact if r[0] > after][: limit - 2], (0, "garbage"), (5, "answer 5")]
            return type("Cursor", (), {"fetchall": lambda _self: walk})()

    dest_path = tmp_path / "fresh.sqlite"
    dest = connect(dest_path)
    dest.execute("CREATE TABLE responses (value TEXT)")
    result = _copy_table(DamagedWalk(), dest, dest_path, "responses", None)  # type: ignore[arg-type]
    # each rowid once: the intact rows, and the stray row 0 (it decodes, and no check rejects it here)
    assert result.copied == len(intact) + 1
    assert dest.execute("SELECT rowid, value FROM responses ORDER BY rowid").fetchall() == [(0, "garbage"), *intact]
