"""Simulated mailboxes in the run file: the messages agents send each other with ``TinyEmail``.

Two tables: ``mail_messages`` holds each message once (sender, recipients, subject, body, thread)
and ``mail_deliveries`` one row per recipient with its read mark. Nothing here ever leaves the
machine: a "mailbox" is rows in this file, nothing else.

Replays and resumed runs must not duplicate mail, and must see the mailboxes as they were at each
point of the original run. So every mail operation is placed at a *position* ``(step, seq)``: the
world step of the call and the order of the operation among this store's mail operations in that
world and step (counted per store, i.e. per run, from zero). A message's id is derived from where it
was sent and what it says (simulation, world, sender, step, a digest of the content and which copy
of identical content it is), so a replayed send writes the same id and replaces the row instead of
adding one. Queries at a position only see messages sent before it and count as read only the read
marks set before it: a re-run reading mail at step 3 does not see what the first run sent at step 5.

Example:
    >>> store = MailStore(":memory:", "demo")
    >>> pos = store.next_position("Office", 1)
    >>> msg = store.send(MailDraft(sender="Ana", to=["Ben"], subject="Lunch?", body="At noon?"),
    ...                  world="Office", position=pos)
    >>> [m.subject for m in store.inbox("Ben", world="Office", position=store.next_position("Office", 1))]
    ['Lunch?']
    >>> store.close()
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from tinytroupe.storage.run_tables import RunFileTables
from tinytroupe.storage.sqlite import ensure_schema, transaction

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS mail_messages (
    simulation_id TEXT NOT NULL,
    message_id    TEXT NOT NULL,
    world         TEXT NOT NULL,
    step          INTEGER NOT NULL,
    seq           INTEGER NOT NULL,
    sender        TEXT NOT NULL,
    recipients    TEXT NOT NULL,
    cc            TEXT NOT NULL,
    subject       TEXT NOT NULL,
    body          TEXT NOT NULL,
    in_reply_to   TEXT,
    thread_id     TEXT NOT NULL,
    sent_at       TEXT,
    PRIMARY KEY (simulation_id, message_id)
);
CREATE TABLE IF NOT EXISTS mail_deliveries (
    simulation_id TEXT NOT NULL,
    recipient     TEXT NOT NULL,
    message_id    TEXT NOT NULL,
    read_step     INTEGER,
    read_seq      INTEGER,
    PRIMARY KEY (simulation_id, recipient, message_id)
);
CREATE INDEX IF NOT EXISTS mail_threads ON mail_messages (simulation_id, thread_id);
"""
_UPSERT_MESSAGE = (
    "INSERT OR REPLACE INTO mail_messages (simulation_id, message_id, world, step, seq, sender, recipients, cc, "
    "subject, body, in_reply_to, thread_id, sent_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)")
# a replayed send keeps the read marks the delivery already has (they are placed in time, see above)
_ADD_DELIVERY = "INSERT OR IGNORE INTO mail_deliveries (simulation_id, recipient, message_id) VALUES (?,?,?)"
_MESSAGE_COLUMNS = ("m.message_id, m.world, m.step, m.seq, m.sender, m.recipients, m.cc, m.subject, m.body, "
                    "m.in_reply_to, m.thread_id, m.sent_at")
# "before the position": (step, seq) compared lexicographically
_SENT_BEFORE = "(m.step < ? OR (m.step = ? AND m.seq < ?))"
_READ_BEFORE = "(d.read_step IS NOT NULL AND (d.read_step < ? OR (d.read_step = ? AND d.read_seq < ?)))"


def create_tables(conn: sqlite3.Connection) -> None:
    """Create (or check) the mailbox tables on ``conn``."""
    ensure_schema(conn, "mailboxes", SCHEMA_VERSION, _SCHEMA)


class MailDraft(BaseModel):
    """A message about to be sent: who to, what, and which message it answers (if any)."""

    model_config = ConfigDict(frozen=True)

    sender: str
    to: list[str]
    cc: list[str] = Field(default_factory=list)
    subject: str
    body: str
    in_reply_to: str | None = None
    thread_id: str | None = None
    sent_at: datetime | None = None


class StoredMail(BaseModel):
    """A message as stored, with where it was sent and (for one reader) whether it was read."""

    model_config = ConfigDict(frozen=True)

    message_id: str
    thread_id: str
    world: str
    step: int
    seq: int = 0
    sender: str
    to: list[str]
    cc: list[str]
    subject: str
    body: str
    in_reply_to: str | None = None
    sent_at: datetime | None = None
    read: bool = False


class MailStore(RunFileTables):
    """The mailboxes of one simulation in a run file (``":memory:"``: a private in-memory database).

    Args:
        path: the run file.
        simulation_id: whose mail this store writes and reads (the run file may hold several).

    Writes are committed before they return (mail is rare next to trace events, and an agent may
    read its inbox right after). The store keeps the per-step operation counters of this run, so a
    fresh store (a new run) counts from zero again, as a replay must.
    """

    what = "the mailboxes"

    def __init__(self, path: str | Path, simulation_id: str) -> None:
        super().__init__(path, simulation_id, setup=create_tables)
        self._positions: Counter[tuple[str, int]] = Counter()

    def next_position(self, world: str, step: int) -> tuple[int, int]:
        """The position ``(step, seq)`` of the next mail operation in ``world`` at ``step``."""
        with self._lock:
            seq = self._positions[(world, step)]
            self._positions[(world, step)] = seq + 1
        return step, seq

    def message_id(self, draft: MailDraft, world: str, step: int) -> str:
        """The deterministic id ``draft`` gets when sent in ``world`` at ``step``: the same in every replay."""
        content = json.dumps([draft.sender, draft.to, draft.cc, draft.subject, draft.body, draft.in_reply_to])
        digest = hashlib.sha256(content.encode()).hexdigest()
        key = f"{self.simulation_id}\x00{world}\x00{step}\x00{digest}"
        with self._lock:
            copy = self._positions[(f"\x00copies:{key}", step)]
            self._positions[(f"\x00copies:{key}", step)] = copy + 1
        return "m-" + hashlib.sha256(f"{key}\x00{copy}".encode()).hexdigest()[:12]

    def send(self, draft: MailDraft, *, world: str, position: tuple[int, int]) -> StoredMail:
        """Store ``draft`` (replacing a replayed copy of it) and deliver it to its ``to`` and ``cc``.

        Raises:
            StorageError: the run file cannot be written.
        """
        step, seq = position
        mid = self.message_id(draft, world, step)
        thread = draft.thread_id or mid
        row = (self.simulation_id, mid, world, step, seq, draft.sender, json.dumps(draft.to), json.dumps(draft.cc),
               draft.subject, draft.body, draft.in_reply_to, thread,
               draft.sent_at.isoformat() if draft.sent_at else None)
        with self._lock:
            conn = self._connection()
            with transaction(conn, self.path, "writing a mail message to"):
                conn.execute(_UPSERT_MESSAGE, row)
                for name in dict.fromkeys([*draft.to, *draft.cc]):
                    conn.execute(_ADD_DELIVERY, (self.simulation_id, name, mid))
        return StoredMail(message_id=mid, thread_id=thread, world=world, step=step, seq=seq, sender=draft.sender,
                          to=draft.to, cc=draft.cc, subject=draft.subject, body=draft.body,
                          in_reply_to=draft.in_reply_to, sent_at=draft.sent_at)

    def inbox(self, owner: str, *, world: str, position: tuple[int, int],
              folder: Literal["inbox", "sent"] = "inbox") -> list[StoredMail]:
        """``owner``'s messages as of ``position``: unread first, then newest first.

        ``folder="sent"``: the messages ``owner`` sent (all count as read).

        Raises:
            StorageError: the run file cannot be read.
        """
        step, seq = position
        if folder == "sent":
            sql = (f"SELECT {_MESSAGE_COLUMNS}, 1 FROM mail_messages m WHERE m.simulation_id = ? AND m.world = ? "
                   f"AND m.sender = ? AND {_SENT_BEFORE} ORDER BY m.step DESC, m.seq DESC")
            return self._mails(sql, (self.simulation_id, world, owner, step, step, seq))
        sql = (f"SELECT {_MESSAGE_COLUMNS}, {_READ_BEFORE} FROM mail_deliveries d JOIN mail_messages m "
               "ON m.simulation_id = d.simulation_id AND m.message_id = d.message_id "
               f"WHERE d.simulation_id = ? AND d.recipient = ? AND m.world = ? AND {_SENT_BEFORE}")
        mails = self._mails(sql, (step, step, seq, self.simulation_id, owner, world, step, step, seq))
        return sorted(mails, key=lambda m: (m.read, -m.step, -m.seq))

    def get(self, owner: str, message_id: str, *, world: str, position: tuple[int, int]) -> StoredMail | None:
        """The message ``message_id`` if ``owner`` sent or received it before ``position``, else None."""
        step, seq = position
        sql = (f"SELECT {_MESSAGE_COLUMNS}, COALESCE((SELECT {_READ_BEFORE} FROM mail_deliveries d WHERE "
               "d.simulation_id = m.simulation_id AND d.message_id = m.message_id AND d.recipient = ?), 1) "
               "FROM mail_messages m WHERE m.simulation_id = ? AND m.message_id = ? AND m.world = ? "
               f"AND {_SENT_BEFORE} "
               "AND (m.sender = ? OR EXISTS (SELECT 1 FROM mail_deliveries e WHERE e.simulation_id = m.simulation_id "
               "AND e.message_id = m.message_id AND e.recipient = ?))")
        found = self._mails(sql, (step, step, seq, owner, self.simulation_id, message_id, world, step, step, seq,
                                  owner, owner))
        return found[0] if found else None

    def thread(self, thread_id: str, *, world: str, position: tuple[int, int]) -> list[StoredMail]:
        """The messages of a thread sent before ``position``, oldest first."""
        step, seq = position
        sql = (f"SELECT {_MESSAGE_COLUMNS}, 1 FROM mail_messages m WHERE m.simulation_id = ? AND m.thread_id = ? "
               f"AND m.world = ? AND {_SENT_BEFORE} ORDER BY m.step, m.seq")
        return self._mails(sql, (self.simulation_id, thread_id, world, step, step, seq))

    def mark_read(self, owner: str, message_ids: list[str], *, read: bool, position: tuple[int, int]) -> int:
        """Set (or clear) ``owner``'s read mark on ``message_ids`` at ``position``; how many deliveries changed.

        Raises:
            StorageError: the run file cannot be written.
        """
        step, seq = position
        marks = (step, seq) if read else (None, None)
        with self._lock:
            conn = self._connection()
            with transaction(conn, self.path, "writing a mail read mark to"):
                changed = 0
                for mid in message_ids:
                    cur = conn.execute("UPDATE mail_deliveries SET read_step = ?, read_seq = ? WHERE "
                                       "simulation_id = ? AND recipient = ? AND message_id = ?",
                                       (*marks, self.simulation_id, owner, mid))
                    changed += cur.rowcount
        return changed

    def count(self) -> int:
        """How many messages this simulation has stored (all worlds, all steps)."""
        rows = self._read("SELECT COUNT(*) FROM mail_messages WHERE simulation_id = ?", (self.simulation_id,))
        return int(rows[0][0])

    # ------------------------------------------------------------------ internals

    def _mails(self, sql: str, args: tuple[object, ...]) -> list[StoredMail]:
        return [StoredMail(message_id=r[0], world=r[1], step=r[2], seq=r[3], sender=r[4], to=json.loads(str(r[5])),
                           cc=json.loads(str(r[6])), subject=r[7], body=r[8], in_reply_to=r[9], thread_id=r[10],
                           sent_at=datetime.fromisoformat(r[11]) if isinstance(r[11], str) else None,
                           read=bool(r[12])) for r in self._read(sql, args)]


__all__ = ["MailDraft", "MailStore", "StoredMail", "create_tables"]
