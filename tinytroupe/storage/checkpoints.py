"""Checkpoints: whole simulation states stored atomically in the run file.

A checkpoint is one row written in one SQLite transaction: a crash at any point of
:meth:`CheckpointStore.save` (even ``kill -9``) leaves either the new checkpoint complete or no
trace of it, and the previous one usable. The state is JSON, compressed with zlib; only the last
``keep`` checkpoints of a simulation are kept (bounded).

Strings that occur more than once in a state (the same utterance in the memory of every agent who
heard it, and its embedding vector in each of their indexes) are stored once: the JSON written is
``{"tinytroupe_checkpoint": 2, "strings": [...], "state": ...}`` where a shared string is replaced
by ``"\\u0000<n>"`` (its index in ``strings``; a string of the state that itself starts with
``\\u0000`` gets a second one). Decoding gives back exactly the state that was saved.

A checkpoint's state is decoded only when it is read (:attr:`Checkpoint.state`): listing
checkpoints, or starting a run that never restores one, never touches the stored bytes, so a
damaged checkpoint blocks only its own restore, and that restore names an intact earlier one
(:class:`~tinytroupe.errors.CheckpointError`).

Example:
    >>> import tempfile, os
    >>> store = CheckpointStore(os.path.join(tempfile.mkdtemp(), "run.sqlite"))
    >>> _ = store.save("demo", {"worlds": []}, step=0)
    >>> store.latest("demo").state
    {'worlds': []}
    >>> store.close()
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import zlib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, PrivateAttr

from tinytroupe.errors import CheckpointError, InvalidArgument
from tinytroupe.storage.sqlite import connect, ensure_schema, storage_error, transaction

SCHEMA_VERSION = 1
DEFAULT_KEEP = 3
_SCHEMA = """
CREATE TABLE IF NOT EXISTS checkpoints (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    simulation_id TEXT NOT NULL,
    created       REAL NOT NULL,
    label         TEXT,
    step          INTEGER,
    json_bytes    INTEGER NOT NULL,
    state         BLOB NOT NULL
);
"""


def create_tables(conn: sqlite3.Connection) -> None:
    """Create (or check) this component's table on ``conn``."""
    ensure_schema(conn, "checkpoints", SCHEMA_VERSION, _SCHEMA)


#: the envelope key of states stored with shared strings (absent: a state stored as it is)
ENVELOPE = "tinytroupe_checkpoint"
_ENVELOPE_VERSION = 2
#: shorter strings cost less written out than as a reference
MIN_SHARED_CHARS = 24
_REF = "\x00"


def pack(state: dict[str, Any]) -> dict[str, Any]:
    r"""``state`` with every string of at least :data:`MIN_SHARED_CHARS` that occurs more than once
    stored once (see the module docstring); :func:`unpack` reverses it exactly.

    Example:
        >>> long = "x" * 30
        >>> packed = pack({"a": [long, long], "b": "\x00odd"})
        >>> packed["strings"], packed["state"]
        (['xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'], {'a': ['\x000', '\x000'], 'b': '\x00\x00odd'})
        >>> unpack(packed) == {"a": [long, long], "b": "\x00odd"}
        True
    """
    # One walk (a checkpoint must stay cheap): a long string is written out where it first occurs;
    # when it occurs again it moves to ``strings`` and that first place is patched to a reference.
    strings: list[str] = []
    index: dict[str, int] = {}
    first: dict[str, tuple[Any, Any]] = {}

    def text(value: str, container: Any, key: Any) -> str:
        if len(value) < MIN_SHARED_CHARS:
            return _REF + value if value[:1] == _REF else value
        ref = index.get(value)
        if ref is None:
            where = first.get(value)
            if where is None:
                first[value] = (container, key)
                return _REF + value if value[:1] == _REF else value
            ref = index[value] = len(strings)
            strings.append(value)
            where[0][where[1]] = f"{_REF}{ref}"
        return f"{_REF}{ref}"

    def rewrite(value: Any, container: Any, key: Any) -> Any:
        kind = type(value)
        if kind is str or isinstance(value, str):
            return text(value, container, key)
        if kind is dict or isinstance(value, dict):
            out: dict[str, Any] = {}
            for k, v in value.items():
                kv = type(v)
                if (kv is int or kv is float or kv is bool or v is None
                        or (kv is str and len(v) < MIN_SHARED_CHARS and v[:1] != _REF)):
                    out[k] = v  # the common leaves, without a call
                else:
                    out[k] = rewrite(v, out, k)
            return out
        if kind is list or isinstance(value, list | tuple):
            items: list[Any] = list(value)
            for n, v in enumerate(items):
                kv = type(v)
                if not (kv is int or kv is float or kv is bool or v is None
                        or (kv is str and len(v) < MIN_SHARED_CHARS and v[:1] != _REF)):
                    items[n] = rewrite(v, items, n)
            return items
        return value

    packed_state = rewrite(state, None, None)
    return {ENVELOPE: _ENVELOPE_VERSION, "strings": strings, "state": packed_state}


def unpack(stored: Any) -> Any:
    """The state :func:`pack` packed (a state stored without an envelope is returned as it is)."""
    if not (isinstance(stored, dict) and ENVELOPE in stored):
        return stored
    if stored[ENVELOPE] != _ENVELOPE_VERSION:
        raise InvalidArgument(f"checkpoint envelope version {stored[ENVELOPE]!r} is not known to this tinytroupe "
                              f"(it knows {_ENVELOPE_VERSION}); upgrade tinytroupe")
    strings: list[str] = stored["strings"]

    def expand(value: Any) -> Any:
        if isinstance(value, str):
            if not value.startswith(_REF):
                return value
            rest = value[1:]
            return rest if rest.startswith(_REF) else strings[int(rest)]
        if isinstance(value, dict):
            return {k: expand(v) for k, v in value.items()}
        if isinstance(value, list):
            return [expand(v) for v in value]
        return value

    return expand(stored["state"])


_COLUMNS = "id, simulation_id, created, label, step, json_bytes, state"


class Checkpoint(BaseModel):
    """One stored checkpoint; :attr:`state` is decoded on first access.

    Example:
        >>> cp = Checkpoint.from_row((1, "s", 0.0, None, 2, 2, zlib.compress(b"{}")))
        >>> cp.step, cp.state
        (2, {})
        >>> Checkpoint.from_row((2, "s", 0.0, None, 3, 2, b"garbage")).state
        Traceback (most recent call last):
        ...
        tinytroupe.errors.CheckpointError: checkpoint #2 of simulation 's' (step 3) is damaged: ...
    """

    id: int
    simulation_id: str
    created: float
    label: str | None = None
    step: int | None = None
    json_bytes: int
    stored_bytes: int
    path: str | None = None
    _blob: bytes | None = PrivateAttr(default=None)
    _state: dict[str, Any] | None = PrivateAttr(default=None)

    @classmethod
    def from_row(cls, row: tuple[Any, ...], path: str | None = None) -> Checkpoint:
        """A checkpoint from a ``checkpoints`` row (``id, simulation_id, created, label, step, json_bytes,
        state``), its state left encoded."""
        cid, sim, created, label, step, json_bytes, blob = row
        cp = cls(id=cid, simulation_id=sim, created=created, label=label, step=step, json_bytes=json_bytes,
                 stored_bytes=len(blob) if isinstance(blob, bytes | str) else 0, path=path)
        cp._blob = blob if isinstance(blob, bytes) else None  # a non-BLOB value can only be damage
        return cp

    def describe(self) -> str:
        """``checkpoint #7 of simulation 'x' (step 4, 'auto: W step 4')``: for messages."""
        extra = [f"step {self.step}"] if self.step is not None else []
        extra += [repr(self.label)] if self.label else []
        return f"checkpoint #{self.id} of simulation {self.simulation_id!r}" + (f" ({', '.join(extra)})"
                                                                                  if extra else "")

    @property
    def state(self) -> dict[str, Any]:
        """The stored simulation state (decoded and parsed on first access).

        Raises:
            CheckpointError: the stored bytes are damaged (not zlib, not UTF-8 or not a JSON object).
        """
        if self._state is None:
            self._state = self._decode()
        return self._state

    def readable(self) -> bool:
        """Whether :attr:`state` can be decoded (decoding it, once)."""
        try:
            _ = self.state
        except CheckpointError:
            return False
        return True

    def _decode(self) -> dict[str, Any]:
        if self._blob is None:
            raise CheckpointError(f"{self.describe()} is damaged: its stored state is not binary data",
                                  path=self.path, checkpoint_id=self.id)
        try:
            state = unpack(json.loads(zlib.decompress(self._blob).decode("utf-8")))
        except (zlib.error, UnicodeDecodeError, ValueError, LookupError, TypeError) as exc:
            # JSONDecodeError is a ValueError; a damaged reference to a shared string a LookupError
            raise CheckpointError(f"{self.describe()} is damaged: {type(exc).__name__}: {exc}", path=self.path,
                                  checkpoint_id=self.id) from exc
        if not isinstance(state, dict):
            raise CheckpointError(f"{self.describe()} is damaged: its state is a JSON {type(state).__name__}, "
                                  "not an object", path=self.path, checkpoint_id=self.id)
        return state


class CheckpointStore:
    """Saves and loads checkpoints in a run file (thread-safe; its own connection).

    Raises:
        StorageError: the file cannot be opened or written (``cause_kind``: ``"disk_full"``,
            ``"read_only"``, ``"locked"``, ``"corrupt"``); the previous checkpoint stays usable.
    """

    def __init__(self, path: str | Path, *, keep: int = DEFAULT_KEEP) -> None:
        if keep < 1:
            raise InvalidArgument(f"keep must be at least 1 (the checkpoint just written), got {keep}")
        self.path = path
        self.keep = keep
        self._lock = threading.Lock()
        self._conn = connect(path)
        try:
            create_tables(self._conn)
        except BaseException:
            self._conn.close()
            raise

    def save(self, simulation_id: str, state: dict[str, Any], *, step: int | None = None,
             label: str | None = None) -> Checkpoint:
        """Store ``state`` (JSON-ready) as the newest checkpoint; older ones beyond ``keep`` are dropped."""
        text = json.dumps(pack(state), ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        raw = text.encode("utf-8")
        blob = zlib.compress(raw, 6)
        created = time.time()
        with self._lock, transaction(self._conn, self.path, "writing a checkpoint to") as conn:
            cur = conn.execute(
                "INSERT INTO checkpoints (simulation_id, created, label, step, json_bytes, state) "
                "VALUES (?,?,?,?,?,?)", (simulation_id, created, label, step, len(raw), blob))
            self._prune(conn, simulation_id)
        cp = Checkpoint(id=int(cur.lastrowid or 0), simulation_id=simulation_id, created=created, label=label,
                        step=step, json_bytes=len(raw), stored_bytes=len(blob), path=str(self.path))
        cp._blob, cp._state = blob, state
        return cp

    def _prune(self, conn: sqlite3.Connection, simulation_id: str) -> None:
        conn.execute("DELETE FROM checkpoints WHERE simulation_id = ? AND id NOT IN "
                     "(SELECT id FROM checkpoints WHERE simulation_id = ? ORDER BY id DESC LIMIT ?)",
                     (simulation_id, simulation_id, self.keep))

    def _query(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return self._conn.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise storage_error(exc, self.path, "reading the checkpoints of") from exc

    def latest(self, simulation_id: str) -> Checkpoint | None:
        """The newest stored checkpoint of ``simulation_id``, or None (its state is decoded on access)."""
        rows = self._query(f"SELECT {_COLUMNS} FROM checkpoints WHERE simulation_id = ? ORDER BY id DESC LIMIT 1",
                           (simulation_id,))
        return Checkpoint.from_row(rows[0], str(self.path)) if rows else None

    def get(self, checkpoint_id: int) -> Checkpoint | None:
        """The checkpoint with this id, or None."""
        rows = self._query(f"SELECT {_COLUMNS} FROM checkpoints WHERE id = ?", (checkpoint_id,))
        return Checkpoint.from_row(rows[0], str(self.path)) if rows else None

    def checkpoints(self, simulation_id: str) -> list[Checkpoint]:
        """Every stored checkpoint of ``simulation_id``, newest first (states decoded on access)."""
        rows = self._query(f"SELECT {_COLUMNS} FROM checkpoints WHERE simulation_id = ? ORDER BY id DESC",
                           (simulation_id,))
        return [Checkpoint.from_row(r, str(self.path)) for r in rows]

    def load(self, checkpoint: Checkpoint) -> dict[str, Any]:
        """``checkpoint.state``; when it is damaged, the error names the newest intact earlier one.

        Raises:
            CheckpointError: the checkpoint is damaged (``previous_id``: an intact older one, or None).
        """
        try:
            return checkpoint.state
        except CheckpointError as exc:
            previous = next((cp for cp in self.checkpoints(checkpoint.simulation_id)
                             if cp.id < checkpoint.id and cp.readable()), None)
            if previous is not None:
                advice = (f"the previous {previous.describe()} is intact: restore it with "
                          f"sim.restore(checkpoint=sim.checkpoints.get({previous.id}))")
            else:
                advice = ("no intact earlier checkpoint is kept; re-run the script from the start instead "
                          "(its LLM calls are answered from the run file's cache)")
            raise CheckpointError(f"{exc} in {str(self.path)!r}; it cannot be restored; {advice}",
                                  path=str(self.path), checkpoint_id=checkpoint.id,
                                  previous_id=previous.id if previous else None) from exc

    def list(self, simulation_id: str) -> list[dict[str, Any]]:
        """The stored checkpoints of ``simulation_id`` (without their states), oldest first."""
        rows = self._query("SELECT id, created, label, step, json_bytes, LENGTH(state) FROM checkpoints "
                           "WHERE simulation_id = ? ORDER BY id", (simulation_id,))
        keys = ("id", "created", "label", "step", "json_bytes", "stored_bytes")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def close(self) -> None:
        with self._lock:
            self._conn.close()


__all__ = ["DEFAULT_KEEP", "ENVELOPE", "Checkpoint", "CheckpointStore", "create_tables", "pack", "unpack"]
