"""TinyDatabase: read-only refusals before running, parameters, row and time limits, read-write transactions."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest

from tinytroupe.errors import InvalidArgument, ToolArgumentError, ToolExecutionError, ToolPermissionError
from tinytroupe.tools import TinyDatabase
from tinytroupe.tools.database import QueryResult


@pytest.fixture()
def db_file(tmp_path: Path) -> Path:
    path = tmp_path / "shop.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT NOT NULL, age INTEGER, photo BLOB)")
    conn.executemany("INSERT INTO people (name, age, photo) VALUES (?, ?, ?)",
                     [(f"p{i}", 20 + i, b"\x00\xff" if i == 0 else None) for i in range(30)])
    conn.execute("CREATE VIEW adults AS SELECT name FROM people WHERE age >= 40")
    conn.commit()
    conn.close()
    return path


def _count(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM people").fetchone()[0])


def _query(db: TinyDatabase, sql: str, parameters: object = None) -> QueryResult:
    args = {"sql": sql} if parameters is None else {"sql": sql, "parameters": parameters}
    result = db.call("QUERY", args)
    assert isinstance(result, QueryResult)
    return result


@pytest.mark.parametrize(("sql", "says"), [
    ("INSERT INTO people (name) VALUES ('x')", "INSERT into table 'people' is not allowed in read_only mode"),
    ("UPDATE people SET age = 1", "UPDATE on table 'people' is not allowed in read_only mode"),
    ("DELETE FROM people", "DELETE on table 'people' is not allowed in read_only mode"),
    ("CREATE TABLE t (x)", "CREATE TABLE would change the schema, which is not allowed in read_only mode"),
    ("DROP TABLE people", "not allowed in read_only mode"),
    ("ATTACH DATABASE ':memory:' AS other", "ATTACH is not allowed"),
    ("PRAGMA user_version = 7", "PRAGMA user_version = 7 is not allowed"),
    ("BEGIN", "TRANSACTION is not allowed"),
    ("SELECT load_extension('x')", "the function load_extension() is not allowed"),
])
def test_read_only_refuses_writes_before_running(db_file: Path, sql: str, says: str) -> None:
    db = TinyDatabase(db_file)
    with pytest.raises(ToolPermissionError, match="refused before running") as info:
        _query(db, sql)
    assert says in str(info.value)
    assert _count(db_file) == 30
    with sqlite3.connect(db_file) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 0
        assert [r[0] for r in conn.execute("SELECT name FROM sqlite_schema ORDER BY name")] == ["adults", "people"]


def test_multiple_statements_are_refused_with_none_run(db_file: Path) -> None:
    db = TinyDatabase(db_file, mode="read_write")
    with pytest.raises(ToolArgumentError, match="one SQL statement per call"):
        _query(db, "SELECT 1; DELETE FROM people")
    assert _count(db_file) == 30
    # a ';' inside a string or a comment, and a trailing ';' with a comment, are one statement
    assert _query(db, "SELECT 'a;b' -- c;d\n;  /* done */").rows == [["a;b"]]


def test_parameters_are_bound_never_formatted(db_file: Path) -> None:
    db = TinyDatabase(db_file)
    hostile = "p1' OR '1'='1"
    assert _query(db, "SELECT name FROM people WHERE name = ?", [hostile]).rows == []
    assert _query(db, "SELECT name, age FROM people WHERE name = ?", ["p1"]).rows == [["p1", 21]]
    named = _query(db, "SELECT name FROM people WHERE age BETWEEN :lo AND :hi ORDER BY age", {"lo": 22, "hi": 23})
    assert named.rows == [["p2"], ["p3"]] and named.columns == ["name"]
    with pytest.raises(ToolArgumentError, match="do not fit"):
        _query(db, "SELECT ?", [])


def test_row_limit_truncates_and_says_so(db_file: Path) -> None:
    db = TinyDatabase(db_file, max_rows=5)
    result = _query(db, "SELECT id FROM people ORDER BY id")
    assert result.rows == [[i] for i in range(1, 6)] and result.truncated and result.row_count == 5
    assert any("first 5 rows" in note for note in result.notes)
    full = _query(db, "SELECT id FROM people WHERE id <= 5")
    assert not full.truncated and full.notes == []


def test_time_limit_stops_a_runaway_recursive_query(db_file: Path) -> None:
    db = TinyDatabase(db_file, time_limit_s=0.3)
    slow = ("WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) "
            "SELECT COUNT(*) FROM n WHERE x < 0")
    started = time.monotonic()
    with pytest.raises(ToolExecutionError, match=r"time limit of 0\.3 s"):
        _query(db, slow)
    assert time.monotonic() - started < 5
    assert _query(db, "SELECT COUNT(*) FROM people").rows == [[30]]  # the connection still works


def test_results_are_json_safe(db_file: Path) -> None:
    db = TinyDatabase(db_file)
    result = _query(db, "SELECT photo, 9e999 AS big FROM people WHERE id = 1")
    assert result.rows == [["AP8=", "inf"]]
    assert any("base64" in n for n in result.notes) and any("non-finite" in n for n in result.notes)
    result.model_dump_json()


def test_list_and_describe_tables(db_file: Path) -> None:
    db = TinyDatabase(db_file)
    tables = db.call("LIST_TABLES", {})
    assert [(t.name, t.type) for t in tables.tables] == [("adults", "view"), ("people", "table")]  # type: ignore[attr-defined]
    described = db.call("DESCRIBE_TABLE", {"table": "people"})
    cols = described.columns  # type: ignore[attr-defined]
    assert [(c.name, c.type, c.not_null, c.primary_key) for c in cols] == [
        ("id", "INTEGER", False, True), ("name", "TEXT", True, False), ("age", "INTEGER", False, False),
        ("photo", "BLOB", False, False)]
    with pytest.raises(ToolArgumentError, match="no table or view 'nope'"):
        db.call("DESCRIBE_TABLE", {"table": "nope"})


def test_read_write_commits_and_rolls_back_but_never_attaches(db_file: Path) -> None:
    db = TinyDatabase(db_file, mode="read_write", max_rows=2)
    changed = _query(db, "UPDATE people SET age = age + 1 WHERE age < ?", [25])
    assert changed.rows_changed == 5 and _count(db_file) == 30
    returning = _query(db, "INSERT INTO people (name) VALUES ('a'), ('b'), ('c') RETURNING id")
    assert returning.truncated and len(returning.rows) == 2
    assert _count(db_file) == 33, "a RETURNING cut by the row limit still runs to the end"
    with pytest.raises(ToolExecutionError, match="NOT NULL"):
        _query(db, "INSERT INTO people (name) VALUES (NULL)")
    assert _count(db_file) == 33
    for sql, says in [("ATTACH DATABASE ':memory:' AS x", "ATTACH"), ("PRAGMA journal_mode = DELETE", "PRAGMA"),
                      ("COMMIT", "TRANSACTION")]:
        with pytest.raises(ToolPermissionError, match=says):
            _query(db, sql)
    _query(db, "CREATE TABLE notes (t TEXT)")
    assert [t.name for t in db.call("LIST_TABLES", {}).tables] == ["adults", "notes", "people"]  # type: ignore[attr-defined]
    db.close()


def test_a_given_connection_is_guarded_and_restored(db_file: Path) -> None:
    conn = sqlite3.connect(db_file, check_same_thread=False)
    conn.execute("DELETE FROM people WHERE id = 30")  # the same text, prepared and cached before the guard
    conn.commit()
    db = TinyDatabase(conn)
    with pytest.raises(ToolPermissionError, match="DELETE on table 'people'"):
        _query(db, "DELETE FROM people WHERE id = 30")
    with pytest.raises(ToolPermissionError):
        _query(db, "DELETE FROM people WHERE id = 29")
    assert _count(db_file) == 29
    conn.execute("INSERT INTO people (name) VALUES ('after')")  # the user's own connection is writable again
    conn.commit()
    db.close()
    assert conn.execute("SELECT COUNT(*) FROM people").fetchone()[0] == 30


def test_independent_queries_run_concurrently_and_serialise_safely(db_file: Path) -> None:
    db = TinyDatabase(db_file)

    async def many() -> list[object]:
        return list(await asyncio.gather(*(db.acall("QUERY", {"sql": "SELECT COUNT(*) FROM people WHERE age > ?",
                                                                "parameters": [i]}) for i in range(8))))

    results = asyncio.run(many())
    assert [r.rows[0][0] for r in results] == [30 - max(0, i - 19) for i in range(8)]  # type: ignore[attr-defined]


def test_bad_configuration_is_named() -> None:
    with pytest.raises(InvalidArgument, match="database: no SQLite file"):
        TinyDatabase("/nonexistent/x.sqlite")
    with pytest.raises(InvalidArgument, match="mode"):
        TinyDatabase(sqlite3.connect(":memory:"), mode="write")  # type: ignore[arg-type]
