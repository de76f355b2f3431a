"""The marketplace's transaction ledger in the run file: every trade of a ``TinyMarketplace``.

One table, ``market_ledger``, one row per fill (who bought how many units of what from whom, at
what price in integer cents, filling which standing order, by which action). A row's key is where
the trade happened: ``(simulation_id, world, step, seq, leg)``, with ``seq`` the market transaction's
number in its step (counted by the market from zero each step) and ``leg`` the fill's number in its
transaction. A replayed or resumed run carries out the same transactions at the same places, so
it writes the same keys (``INSERT OR REPLACE``) and the ledger never holds a trade twice. And as a
marketplace clears a step's rows when the step begins (:meth:`MarketLedger.clear_step`), a replay
that traded differently from some step on (a changed script, a model answering otherwise) leaves no
stale row of the first run behind either.

Writes go through the run's :class:`~tinytroupe.storage.writer.BatchWriter` when one is given (a
transaction of several fills is one queued call, so its rows commit together); reads flush what this store queued,
then read. Without a writer each transaction is committed before :meth:`MarketLedger.record` returns.

Example:
    >>> ledger = MarketLedger(":memory:", "demo")
    >>> row = LedgerRow(step=1, seq=0, leg=0, action="BUY", product="apple", buyer="Ana", seller="Ben",
    ...                 quantity=3, price_cents=120, order_id="o1")
    >>> ledger.record("Market", 1, 0, [row])
    >>> ledger.record("Market", 1, 0, [row])  # a replay of the same transaction
    >>> ledger.count(), ledger.rows()[0].amount_cents
    (1, 360)
    >>> ledger.close()
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from tinytroupe.storage.run_tables import RunFileTables
from tinytroupe.storage.sqlite import ensure_schema
from tinytroupe.storage.writer import BatchWriter

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS market_ledger (
    simulation_id TEXT NOT NULL,
    world         TEXT NOT NULL,
    step          INTEGER NOT NULL,
    seq           INTEGER NOT NULL,
    leg           INTEGER NOT NULL,
    action        TEXT NOT NULL,
    product       TEXT NOT NULL,
    buyer         TEXT NOT NULL,
    seller        TEXT NOT NULL,
    quantity      INTEGER NOT NULL,
    price_cents   INTEGER NOT NULL,
    amount_cents  INTEGER NOT NULL,
    order_id      TEXT NOT NULL,
    sim_time      TEXT,
    PRIMARY KEY (simulation_id, world, step, seq, leg)
);
"""
_DELETE_STEP = "DELETE FROM market_ledger WHERE simulation_id = ? AND world = ? AND step = ?"
_INSERT = ("INSERT OR REPLACE INTO market_ledger (simulation_id, world, step, seq, leg, action, product, buyer, "
           "seller, quantity, price_cents, amount_cents, order_id, sim_time) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)")
_COLUMNS = ("world, step, seq, leg, action, product, buyer, seller, quantity, price_cents, order_id, sim_time")


def create_tables(conn: sqlite3.Connection) -> None:
    """Create (or check) the ledger table on ``conn``."""
    ensure_schema(conn, "market_ledger", SCHEMA_VERSION, _SCHEMA)


class TradeFields(BaseModel):
    """One fill of a market transaction: where it happened in its step (``seq``, ``leg``), what changed
    hands and at what price in integer cents. The market's own ``Trade`` is made of these fields, and a
    :class:`LedgerRow` adds where and when the ledger saw it."""

    model_config = ConfigDict(frozen=True)

    step: int
    seq: int
    leg: int
    action: str
    product: str
    buyer: str
    seller: str
    quantity: int
    price_cents: int
    order_id: str

    @property
    def amount_cents(self) -> int:
        return self.quantity * self.price_cents


class LedgerRow(TradeFields):
    """One fill of a market transaction, as the ledger keeps it (money in integer cents)."""

    world: str = ""
    sim_time: datetime | None = None


class MarketLedger(RunFileTables):
    """The trades of one simulation's marketplaces in a run file (``":memory:"``: a private database).

    Args:
        path: the run file.
        simulation_id: whose trades this ledger writes and reads (a run file may hold several).
        writer: the run's background writer (optional; see the module docstring).
    """

    what = "the market ledger"

    def __init__(self, path: str | Path, simulation_id: str, *, writer: BatchWriter | None = None) -> None:
        super().__init__(path, simulation_id, setup=create_tables, writer=writer)

    def record(self, world: str, step: int, seq: int, rows: Sequence[LedgerRow]) -> None:
        """Write the fills of the transaction at ``(world, step, seq)`` (all or none of them), replacing
        rows with the same keys.

        Raises:
            StorageError: the run file cannot be written (without a writer: nothing was written; with
                one: raised by this or a later write, once the writer failed).
        """
        if not rows:
            return
        params = [(self.simulation_id, world, step, seq, r.leg, r.action, r.product, r.buyer, r.seller, r.quantity,
                   r.price_cents, r.amount_cents, r.order_id, r.sim_time.isoformat() if r.sim_time else None)
                  for r in rows]
        if self._writer is not None and len(params) == 1:
            self._writer.put(_INSERT, params[0])  # one statement is atomic, and the writer groups them
            return
        self._write(lambda conn: conn.executemany(_INSERT, params), "writing a market trade to")

    def clear_step(self, world: str, step: int) -> None:
        """Remove ``world``'s rows of ``step`` (a step about to be carried out again).

        Raises:
            StorageError: the run file cannot be written.
        """
        key = (self.simulation_id, world, step)
        self._write(lambda conn: conn.execute(_DELETE_STEP, key), "clearing a step of the market ledger in")

    def rows(self, world: str | None = None) -> list[LedgerRow]:
        """The trades recorded, in order (step, transaction, fill); of one ``world`` if given.

        Raises:
            StorageError: the run file cannot be read.
        """
        where, args = "simulation_id = ?", [self.simulation_id]
        if world is not None:
            where, args = where + " AND world = ?", [*args, world]
        found = self._read(f"SELECT {_COLUMNS} FROM market_ledger WHERE {where} ORDER BY world, step, seq, leg", args)
        return [LedgerRow(world=r[0], step=r[1], seq=r[2], leg=r[3], action=r[4], product=r[5], buyer=r[6],
                          seller=r[7], quantity=r[8], price_cents=r[9], order_id=r[10],
                          sim_time=datetime.fromisoformat(r[11]) if isinstance(r[11], str) else None)
                for r in found]

    def count(self, world: str | None = None) -> int:
        """How many trades are recorded (of one ``world`` if given)."""
        where, args = "simulation_id = ?", [self.simulation_id]
        if world is not None:
            where, args = where + " AND world = ?", [*args, world]
        found = self._read(f"SELECT COUNT(*) FROM market_ledger WHERE {where}", args)[0][0]
        return int(found) if isinstance(found, int) else 0

    # ------------------------------------------------------------------ internals

__all__ = ["LedgerRow", "MarketLedger", "TradeFields", "create_tables"]
