"""What ``TinyDatabase`` lets a statement do: the SQLite authorizer of each mode, and the one-statement check.

SQLite asks the authorizer about every action of a statement while *preparing* it, so a statement
outside the mode is refused before any of it runs. The authorizer remembers why it refused, so the
agent is told "INSERT into table 'people' is not allowed in read_only mode" rather than SQLite's
bare "not authorized".

Example:
    >>> guard = Guard("read_only")
    >>> conn = sqlite3.connect(":memory:")
    >>> conn.set_authorizer(guard.authorize)
    >>> guard.reset("CREATE TABLE t (x)")
    >>> try:
    ...     conn.execute("CREATE TABLE t (x)")
    ... except sqlite3.DatabaseError:
    ...     print(guard.message())
    CREATE TABLE would change the schema, which is not allowed in read_only mode
    >>> split_first("SELECT 1; -- done")
    ('SELECT 1;', ' -- done')
"""

from __future__ import annotations

import sqlite3
from typing import Literal

Mode = Literal["read_only", "read_write"]

_NAMES = {getattr(sqlite3, n): n.removeprefix("SQLITE_").replace("_", " ")
          for n in ("SQLITE_CREATE_INDEX", "SQLITE_CREATE_TABLE", "SQLITE_CREATE_TEMP_INDEX",
                    "SQLITE_CREATE_TEMP_TABLE", "SQLITE_CREATE_TEMP_TRIGGER", "SQLITE_CREATE_TEMP_VIEW",
                    "SQLITE_CREATE_TRIGGER", "SQLITE_CREATE_VIEW", "SQLITE_DELETE", "SQLITE_DROP_INDEX",
                    "SQLITE_DROP_TABLE", "SQLITE_DROP_TEMP_INDEX", "SQLITE_DROP_TEMP_TABLE",
                    "SQLITE_DROP_TEMP_TRIGGER", "SQLITE_DROP_TEMP_VIEW", "SQLITE_DROP_TRIGGER", "SQLITE_DROP_VIEW",
                    "SQLITE_INSERT", "SQLITE_PRAGMA", "SQLITE_READ", "SQLITE_SELECT", "SQLITE_TRANSACTION",
                    "SQLITE_UPDATE", "SQLITE_ATTACH", "SQLITE_DETACH", "SQLITE_ALTER_TABLE", "SQLITE_REINDEX",
                    "SQLITE_ANALYZE", "SQLITE_CREATE_VTABLE", "SQLITE_DROP_VTABLE", "SQLITE_FUNCTION",
                    "SQLITE_SAVEPOINT") if hasattr(sqlite3, n)}
_RECURSIVE = getattr(sqlite3, "SQLITE_RECURSIVE", 33)
_NAMES[_RECURSIVE] = "RECURSIVE"
#: what a read-only statement may do: read, select, call functions, recurse
_READS = {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION, _RECURSIVE}
#: never allowed: other files (ATTACH also underlies VACUUM INTO), transaction control (each call
#: is one transaction of its own, committed or rolled back by the tool)
_NEVER = {sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH, sqlite3.SQLITE_TRANSACTION, sqlite3.SQLITE_SAVEPOINT}
#: pragmas that describe the schema (their argument is a table or index name)
_SCHEMA_PRAGMAS = {"table_info", "table_xinfo", "table_list", "index_list", "index_info", "index_xinfo",
                   "foreign_key_list", "collation_list", "function_list"}
#: pragmas read without an argument (with one, they would change a setting)
_VALUE_PRAGMAS = {"user_version", "schema_version", "application_id", "encoding", "page_size", "page_count",
                  "freelist_count", "foreign_keys", "journal_mode", "database_list"}
#: functions that reach outside the database
_FUNCTIONS = {"load_extension", "readfile", "writefile", "edit", "fts3_tokenizer"}
_WRITES_NOTHING = _READS | {sqlite3.SQLITE_PRAGMA}


class Guard:
    """An authorizer for one mode; :attr:`refusals` says what it refused, :attr:`writes` whether the
    statement it allowed changes anything (so the tool runs it to the end).

    Call :meth:`reset` before preparing each statement.
    """

    def __init__(self, mode: Mode) -> None:
        self.mode = mode
        self.refusals: list[str] = []
        self.writes = False
        self._verb = "the statement"

    def reset(self, sql: str = "") -> None:
        """Forget the last statement; ``sql`` is the next one (its first words name it in messages)."""
        self.refusals = []
        self.writes = False
        self._verb = " ".join(sql.split()[:2]).upper() or "the statement"

    def message(self) -> str:
        """Why the statement was refused."""
        return "; ".join(dict.fromkeys(self.refusals))

    def authorize(self, action: int, arg1: str | None, arg2: str | None, db: str | None,
                  trigger: str | None) -> int:
        reason = self._reason(action, arg1, arg2)
        if reason is not None:
            self.refusals.append(reason)
            return sqlite3.SQLITE_DENY
        if action not in _WRITES_NOTHING:
            self.writes = True
        return sqlite3.SQLITE_OK

    def _reason(self, action: int, arg1: str | None, arg2: str | None) -> str | None:
        what = _NAMES.get(action, f"action {action}")
        if action == sqlite3.SQLITE_FUNCTION:
            return f"the function {arg2}() is not allowed" if (arg2 or "").lower() in _FUNCTIONS else None
        if action == sqlite3.SQLITE_PRAGMA:
            name = (arg1 or "").lower()
            if name in _SCHEMA_PRAGMAS or (name in _VALUE_PRAGMAS and arg2 is None):
                return None
            return (f"PRAGMA {name}{' = ' + arg2 if arg2 is not None else ''} is not allowed (only pragmas that "
                    "describe the schema or read a setting are)")
        if action in _NEVER:
            return f"{what} is not allowed (this tool reads one database, one statement per call)"
        if self.mode == "read_only" and action not in _READS:
            if (arg1 or "").lower() in ("sqlite_master", "sqlite_temp_master", "sqlite_schema"):
                # SQLite asks about its schema table first and stops at the first refusal: name the statement
                return f"{self._verb} would change the schema, which is not allowed in read_only mode"
            target = f" {arg1!r}" if arg1 else ""
            if action in (sqlite3.SQLITE_INSERT, sqlite3.SQLITE_UPDATE, sqlite3.SQLITE_DELETE):
                target = f" into table {arg1!r}" if action == sqlite3.SQLITE_INSERT else f" on table {arg1!r}"
            return f"{what}{target} is not allowed in read_only mode"
        return None


def split_first(sql: str) -> tuple[str, str]:
    """The first complete statement of ``sql`` (with its ``;``) and the rest.

    ``sqlite3.complete_statement`` knows quotes, comments and trigger bodies, so a ``;`` inside them
    does not end the statement.
    """
    for i, char in enumerate(sql):
        if char == ";" and sqlite3.complete_statement(sql[:i + 1]):
            return sql[:i + 1], sql[i + 1:]
    return sql, ""


def only_comments(text: str) -> bool:
    """Whether ``text`` holds nothing but whitespace, comments and stray ``;``."""
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace() or text[i] == ";":
            i += 1
        elif text.startswith("--", i):
            end = text.find("\n", i)
            i = n if end < 0 else end + 1
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
        else:
            return False
    return True


__all__ = ["Guard", "Mode", "only_comments", "split_first"]
