"""``TinyDatabase``: agents query a SQLite database, read-only unless the user says otherwise.

The user gives a file path or an open ``sqlite3.Connection``. Each QUERY is one statement with its
parameters bound by SQLite (never formatted into the text), run under a row limit and a time limit.
Statements outside the mode are refused before they run, by an authorizer SQLite consults while
preparing each statement (:mod:`tinytroupe.tools.db_guard`). Read-only has two more guards: a file
is opened with ``mode=ro``, and a given connection runs with ``PRAGMA query_only`` on. Read-write
never allows ATTACH, DETACH, transaction control or pragmas that change settings; each call is one
transaction, committed when the statement succeeds and rolled back when it fails.

Example:
    >>> import sqlite3
    >>> conn = sqlite3.connect(":memory:", check_same_thread=False)
    >>> _ = conn.execute("CREATE TABLE people (name TEXT, age INTEGER)")
    >>> _ = conn.executemany("INSERT INTO people VALUES (?, ?)", [("Ana", 31), ("Ben", 45)])
    >>> db = TinyDatabase(conn)
    >>> db.call("QUERY", {"sql": "SELECT name FROM people WHERE age > ?", "parameters": [40]}).rows
    [['Ben']]
    >>> try:
    ...     db.call("QUERY", {"sql": "DELETE FROM people"})
    ... except ToolPermissionError as err:
    ...     print(err.detail)
    refused before running: DELETE on table 'people' is not allowed in read_only mode
"""

from __future__ import annotations

import base64
import math
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from tinytroupe.errors import InvalidArgument, ToolArgumentError, ToolExecutionError, ToolPermissionError
from tinytroupe.tools.base import TinyTool, ToolCall, tool_action
from tinytroupe.tools.db_guard import Guard, Mode, only_comments, split_first

#: longest SQL text accepted
MAX_SQL_CHARS = 10_000
#: characters of a text cell returned (longer ones are cut, and the result says so)
MAX_CELL_CHARS = 2_000
#: SQLite virtual-machine steps between two looks at the clock
_PROGRESS_STEPS = 1_000

Cell = int | float | str | None


class QueryArgs(BaseModel):
    """Arguments of QUERY: one SQL statement and its parameters (``?`` with a list, ``:name`` with an object)."""

    sql: str = Field(min_length=1, max_length=MAX_SQL_CHARS)
    parameters: list[Cell] | dict[str, Cell] = Field(default_factory=list)


class QueryResult(BaseModel):
    """Rows (at most the tool's row limit; ``truncated`` when there were more) and what changed."""

    columns: list[str]
    rows: list[list[Cell]]
    row_count: int
    truncated: bool
    rows_changed: int | None = None
    notes: list[str] = Field(default_factory=list)


class NoArgs(BaseModel):
    """No arguments."""


class TableInfo(BaseModel):
    """A table or view."""

    name: str
    type: str


class Tables(BaseModel):
    """What LIST_TABLES returns."""

    tables: list[TableInfo]


class DescribeArgs(BaseModel):
    """Arguments of DESCRIBE_TABLE."""

    table: str = Field(min_length=1, max_length=200)


class ColumnInfo(BaseModel):
    """One column of a table."""

    name: str
    type: str
    not_null: bool
    default: str | None
    primary_key: bool


class TableDescription(BaseModel):
    """What DESCRIBE_TABLE returns: the columns and the statement that created the table."""

    table: str
    columns: list[ColumnInfo]
    sql: str | None


class TinyDatabase(TinyTool):
    """A SQLite database agents can query (read-only unless ``mode="read_write"``).

    Args:
        database: a file path, or an open connection (made with ``check_same_thread=False``: calls
            run in worker threads). A given connection is left open by :meth:`close`.
        mode: ``"read_only"`` (default) or ``"read_write"``.
        max_rows: most rows one QUERY returns (the result says ``truncated`` when there were more).
        time_limit_s: a statement still running after this long is stopped (ToolExecutionError).
        name, description, owner: as for every :class:`~tinytroupe.tools.TinyTool`.

    Raises:
        InvalidArgument: an unknown mode, a limit that is not positive, a read-only file that does not exist.
    """

    capabilities = ("database", "sql")

    def __init__(self, database: str | Path | sqlite3.Connection, mode: Mode = "read_only", *,
                 max_rows: int = 200, time_limit_s: float = 5.0, name: str = "database",
                 description: str | None = None, owner: Any = None) -> None:
        if mode not in ("read_only", "read_write"):
            raise InvalidArgument(f"mode must be 'read_only' or 'read_write', got {mode!r}")
        if max_rows < 1 or time_limit_s <= 0:
            raise InvalidArgument(f"max_rows and time_limit_s must be positive, got {max_rows} and {time_limit_s}")
        if not isinstance(database, sqlite3.Connection) and mode == "read_only" and not Path(database).is_file():
            raise InvalidArgument(f"database: no SQLite file at {str(database)!r} to read")
        super().__init__(name, description or f"query a SQLite database with SQL ({mode.replace('_', '-')})",
                         owner=owner)
        self.mode: Mode = mode
        self.max_rows = max_rows
        self.time_limit_s = time_limit_s
        self._given = database if isinstance(database, sqlite3.Connection) else None
        self._path = None if isinstance(database, sqlite3.Connection) else Path(database)
        self._conn: sqlite3.Connection | None = self._given
        self._guard = Guard(mode)
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ operations

    @tool_action("QUERY", "run one SQL statement: sql, and parameters (a list for ?, an object for :name)")
    def query(self, call: ToolCall, args: QueryArgs) -> QueryResult:
        statement, rest = split_first(args.sql)
        if not only_comments(rest):
            raise ToolArgumentError("refused: one SQL statement per call (found more after the first ';')",
                                    tool=self.name, action=call.action, agent=call.agent_name)
        with self._lock, self._session(call) as conn:
            cursor = self._execute(call, conn, statement, args.parameters)
            try:
                fetched = cursor.fetchmany(self.max_rows + 1)
                extra = sum(1 for _ in cursor) if self._guard.writes else 0  # a write's RETURNING runs to the end
            except sqlite3.Error as exc:
                raise self._failure(call, exc) from exc
            changed = cursor.rowcount if self._guard.writes and cursor.rowcount >= 0 else None
            columns = [d[0] for d in cursor.description or []]
            cursor.close()
        notes: list[str] = []
        rows = [[_cell(v, columns[i], notes) for i, v in enumerate(row)] for row in fetched[:self.max_rows]]
        truncated = len(fetched) > self.max_rows or extra > 0
        if truncated:
            notes.append(f"only the first {self.max_rows} rows are shown; narrow the query (WHERE, LIMIT) for others")
        return QueryResult(columns=columns, rows=rows, row_count=len(rows), truncated=truncated,
                           rows_changed=changed, notes=list(dict.fromkeys(notes)))

    @tool_action("LIST_TABLES", "list the database's tables and views")
    def list_tables(self, call: ToolCall, args: NoArgs) -> Tables:
        sql = ("SELECT name, type FROM sqlite_schema WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%' "
               "ORDER BY name")
        with self._lock, self._session(call) as conn:
            rows = self._execute(call, conn, sql, []).fetchall()
        return Tables(tables=[TableInfo(name=r[0], type=r[1]) for r in rows])

    @tool_action("DESCRIBE_TABLE", "describe a table's columns (table: its name)")
    def describe_table(self, call: ToolCall, args: DescribeArgs) -> TableDescription:
        with self._lock, self._session(call) as conn:
            found = self._execute(call, conn, "SELECT sql FROM sqlite_schema WHERE name = ? AND type IN "
                                  "('table', 'view')", [args.table]).fetchone()
            if found is None:
                raise ToolArgumentError(f"no table or view {args.table!r}; LIST_TABLES shows which there are",
                                        tool=self.name, action=call.action, agent=call.agent_name)
            # the name was found by a bound parameter above; quoted as an identifier here (a PRAGMA
            # takes no parameters, and the pragma_table_info() function reads the schema in ways the
            # read-only guard refuses)
            quoted = '"' + args.table.replace('"', '""') + '"'
            cols = self._execute(call, conn, f"PRAGMA table_info({quoted})", []).fetchall()
        return TableDescription(table=args.table, sql=found[0], columns=[
            ColumnInfo(name=c[1], type=c[2] or "", not_null=bool(c[3]), default=c[4], primary_key=bool(c[5]))
            for c in cols])

    def close(self) -> None:
        """Close the connection this tool opened (a given connection stays open)."""
        with self._lock:
            if self._conn is not None and self._given is None:
                self._conn.close()
            self._conn = self._given

    # ------------------------------------------------------------------ internals

    def _connection_or_fail(self, call: ToolCall) -> sqlite3.Connection:
        if self._conn is None:
            assert self._path is not None
            flag = "ro" if self.mode == "read_only" else "rwc"
            uri = self._path.resolve().as_uri() + f"?mode={flag}"
            try:
                self._conn = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None,
                                             timeout=5.0)
            except sqlite3.Error as exc:
                raise self._failure(call, exc) from exc
        return self._conn

    @contextmanager
    def _session(self, call: ToolCall) -> Iterator[sqlite3.Connection]:
        """The connection with the guard and the clock installed; one transaction in read_write mode."""
        conn = self._connection_or_fail(call)
        # the tool writes BEGIN and COMMIT itself: Python's implicit BEGIN would meet the guard
        isolation, conn.isolation_level = conn.isolation_level, None
        was_query_only, ok = False, False
        try:
            try:
                if self.mode == "read_only":
                    was_query_only = bool(conn.execute("PRAGMA query_only").fetchone()[0])
                    conn.execute("PRAGMA query_only = 1")
                elif not conn.in_transaction:
                    conn.execute("BEGIN")
            except sqlite3.Error as exc:
                raise self._failure(call, exc) from exc
            deadline = time.monotonic() + self.time_limit_s
            conn.set_progress_handler(lambda: 1 if time.monotonic() > deadline else 0, _PROGRESS_STEPS)
            yield conn
            ok = True
        finally:
            conn.set_progress_handler(None, 0)
            conn.set_authorizer(None)
            try:
                self._finish(call, conn, ok, keep_query_only=was_query_only)
            finally:
                conn.isolation_level = isolation

    def _finish(self, call: ToolCall, conn: sqlite3.Connection, ok: bool, *, keep_query_only: bool) -> None:
        try:
            if self.mode == "read_only":
                if not keep_query_only:  # a given connection goes back to how it was
                    conn.execute("PRAGMA query_only = 0")
            elif conn.in_transaction:
                conn.execute("COMMIT" if ok else "ROLLBACK")
        except sqlite3.Error as exc:
            if ok:
                raise self._failure(call, exc) from exc

    def _execute(self, call: ToolCall, conn: sqlite3.Connection, sql: str,
                 parameters: list[Cell] | dict[str, Cell]) -> sqlite3.Cursor:
        self._guard.reset(sql)
        conn.set_authorizer(self._guard.authorize)
        try:
            return conn.execute(sql, parameters)
        except (sqlite3.Error, ValueError) as exc:
            raise self._failure(call, exc) from exc

    def _failure(self, call: ToolCall, exc: BaseException) -> Exception:
        where = {"tool": self.name, "action": call.action, "agent": call.agent_name}
        if self._guard.refusals:
            return ToolPermissionError("refused before running: " + self._guard.message(), **where)
        text = str(exc)
        if isinstance(exc, sqlite3.OperationalError) and "interrupted" in text:
            return ToolExecutionError(f"the statement ran past the time limit of {self.time_limit_s:g} s and was "
                                      "stopped; make it cheaper (WHERE, LIMIT, an index)", **where)
        if isinstance(exc, sqlite3.ProgrammingError) and "thread" in text:
            return ToolExecutionError(f"{text}: give TinyDatabase a connection made with check_same_thread=False",
                                      **where)
        if isinstance(exc, sqlite3.ProgrammingError | ValueError):
            return ToolArgumentError(f"the statement or its parameters do not fit: {text}", **where)
        return ToolExecutionError(f"SQLite said: {text}", **where)


def _cell(value: object, column: str, notes: list[str]) -> Cell:
    """A JSON-safe cell: bytes as base64, infinities as text, long text cut (each said in ``notes``)."""
    if isinstance(value, bytes):
        notes.append(f"column {column!r} holds bytes, shown as base64")
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, float) and not math.isfinite(value):
        notes.append(f"column {column!r} holds a non-finite number, shown as text")
        return str(value)
    if isinstance(value, str) and len(value) > MAX_CELL_CHARS:
        notes.append(f"column {column!r} has text longer than {MAX_CELL_CHARS} characters, cut")
        return value[:MAX_CELL_CHARS]
    return value if value is None or isinstance(value, int | float | str) else str(value)


__all__ = ["ColumnInfo", "DescribeArgs", "NoArgs", "QueryArgs", "QueryResult", "TableDescription", "TableInfo",
           "Tables", "TinyDatabase"]
