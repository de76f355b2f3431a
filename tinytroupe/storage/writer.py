"""A background writer: SQL statements queued by any thread, committed in batches by one thread.

Publishing an event must never wait for the disk, so subscribers only put work on a bounded queue;
one daemon thread takes everything queued, runs it in one transaction, and goes back to waiting.
The queue is a plain deque and the thread is woken only when it sleeps: waking it for every item
(as ``queue.Queue`` does) cost a lock and a notify per event and handed it the GIL mid-turn.
:meth:`BatchWriter.flush` waits until everything queued before it is committed. The queue is
bounded (:data:`DEFAULT_MAX_QUEUE`): if the disk cannot keep up, producers wait rather than memory
growing without limit.

Example:
    >>> import sqlite3
    >>> from tinytroupe.storage.sqlite import connect
    >>> w = BatchWriter(":memory:", setup="CREATE TABLE t (x INTEGER)")
    >>> w.put("INSERT INTO t (x) VALUES (?)", (1,))
    >>> w.flush()
    >>> w.query("SELECT COUNT(*) FROM t")[0][0]
    1
    >>> w.close()
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from tinytroupe.errors import SimulationError, StorageError
from tinytroupe.storage.sqlite import connect, transaction

DEFAULT_MAX_QUEUE = 200_000
#: statements committed in one transaction at most (a long transaction delays readers' view)
MAX_BATCH = 5_000
#: how long the writer waits for more work after the first item of a batch
LINGER_S = 0.05

Item = tuple[str, Any] | threading.Event | None


class BatchWriter:
    """Commits queued ``(sql, params)`` items from a daemon thread, in order, batched.

    Args:
        path: the SQLite file (``":memory:"`` works for tests: the writer's own connection is used
            for :meth:`query`).
        setup: SQL run once on the writer's connection before anything else (optional).
        max_queue: items waiting at most before :meth:`put` blocks.

    Raises:
        StorageError: from :meth:`put`, :meth:`call`, :meth:`flush` and :meth:`close` once a batch could
            not be committed (``cause_kind`` says why: ``"disk_full"``, ``"read_only"``, ``"locked"``,
            ``"corrupt"``); later batches are not written.
    """

    def __init__(self, path: str | Path, *, setup: str | None = None, max_queue: int = DEFAULT_MAX_QUEUE,
                 name: str = "tinytroupe-writer") -> None:
        self.path = path
        self._conn = connect(path)
        if setup:
            self._conn.execute(setup)
        self._items: deque[Item] = deque()
        self._max_queue = max_queue
        self._sleeping = False  # the writer waits on _wake for the queue to fill
        self._wake = threading.Event()
        self._conn_lock = threading.Lock()
        self._urgent = threading.Event()  # set by flush()/close(): stop lingering, commit now
        self.error: BaseException | None = None
        self.batches = 0
        self.written = 0
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def put(self, sql: str, params: Sequence[Any] | Callable[[], Sequence[Any]]) -> None:
        """Queue one statement (returns at once unless the queue is full).

        ``params`` may be a function returning them, called on the writer thread."""
        # _check and _enqueue inlined: every traced event comes through here, several per agent turn
        if self.error is not None:
            self._check()
        items = self._items
        if len(items) >= self._max_queue:
            self._wait_for_room()
        items.append((sql, params))
        # _sleeping is read after the append: a writer about to sleep looks at the queue again. A wake
        # already set is not set again (the puts made before the writer thread gets the GIL each did):
        # the writer clears it before it looks at the queue, so the item appended above is seen.
        if self._sleeping and not self._wake.is_set():
            self._wake.set()

    def call(self, fn: Callable[[sqlite3.Connection], Any]) -> None:
        """Queue ``fn(conn)``, run on the writer thread inside the batch's transaction."""
        self._check()
        self._enqueue(("", fn))

    def flush(self, timeout: float | None = 60.0) -> None:
        """Wait until everything queued so far is committed."""
        self._check()
        done = threading.Event()
        self._urgent.set()
        self._enqueue(done)
        if not done.wait(timeout):
            raise SimulationError(f"the trace writer for {str(self.path)!r} did not commit within {timeout} s; "
                                  "the disk may be full or very slow")
        self._check()

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a read on the writer's connection (after what is committed; call :meth:`flush` first)."""
        with self._conn_lock:
            return self._conn.execute(sql, params).fetchall()

    def close(self) -> None:
        """Commit what is queued, stop the thread and close the connection."""
        if self._thread.is_alive():
            self._urgent.set()
            self._enqueue(None)
            self._thread.join()
        with self._conn_lock:
            self._conn.close()
        self._check()

    def _check(self) -> None:
        error = self.error
        if error is None:
            return
        if isinstance(error, StorageError):
            # Same cause and advice, plus what the failure means for the trace.
            raise StorageError(f"{error}. The trace after this point is incomplete", path=error.path,
                               cause_kind=error.cause_kind) from error
        raise StorageError(f"writing the run file {str(self.path)!r} failed: {error!r}; the trace after this "
                           "point is incomplete", path=str(self.path), cause_kind="other") from error

    def _enqueue(self, item: Item) -> None:
        if len(self._items) >= self._max_queue:
            self._wait_for_room()
        self._items.append(item)
        if self._sleeping:  # read after the append: a writer about to sleep looks at the queue again
            self._wake.set()

    def _wait_for_room(self) -> None:
        # The disk is not keeping up: the producer waits rather than memory growing without limit.
        self._urgent.set()
        self._wake.set()
        while len(self._items) >= self._max_queue and self._thread.is_alive():
            time.sleep(0.001)
        self._check()

    def _take(self) -> list[Item]:
        """Wait for at least one item, then take what is queued (up to MAX_BATCH)."""
        while not self._items:
            self._sleeping = True
            if not self._items:  # looked at again after saying so: no put can be missed
                self._wake.wait()
            self._wake.clear()
            self._sleeping = False
        batch: list[Item] = []
        self._drain(batch)
        return batch

    def _loop(self) -> None:
        while True:
            batch = self._take()
            self._urgent.clear()
            if len(batch) < MAX_BATCH and not any(i is None or isinstance(i, threading.Event) for i in batch):
                # Linger a moment so a stream of events becomes a few large transactions instead of
                # many tiny ones (each commit costs far more than a row); flush() and close() cut it short.
                self._urgent.wait(LINGER_S)
                self._drain(batch)
            stop = self._commit(batch)
            if stop:
                return

    def _drain(self, batch: list[Item]) -> None:
        items = self._items
        while len(batch) < MAX_BATCH and items:
            batch.append(items.popleft())

    def _commit(self, batch: list[Item]) -> bool:
        stop = False
        waiters: list[threading.Event] = []
        statements: list[tuple[str, Any]] = []
        for item in batch:
            if item is None:
                stop = True
            elif isinstance(item, threading.Event):
                waiters.append(item)
            else:
                statements.append(item)
        if statements and self.error is None:
            try:
                with self._conn_lock, transaction(self._conn, self.path, "writing the trace to"):
                    self._run(statements)
                self.batches += 1
                self.written += len(statements)
            except Exception as exc:  # kept (with SQLite's own cause) and raised to the next put/flush/close
                self.error = exc
        for waiter in waiters:
            waiter.set()
        return stop

    def _run(self, statements: list[tuple[str, Any]]) -> None:
        # Group runs of the same statement into one executemany: far fewer round trips.
        i = 0
        while i < len(statements):
            sql, params = statements[i]
            if not sql:
                params(self._conn)
                i += 1
                continue
            j = i + 1
            while j < len(statements) and statements[j][0] == sql:
                j += 1
            # params may be a zero-argument function: serialising (e.g. an event to JSON) then
            # happens here, on the writer thread, not on the publisher's.
            self._conn.executemany(sql, [p() if callable(p) else p for _, p in statements[i:j]])
            i = j


__all__ = ["DEFAULT_MAX_QUEUE", "BatchWriter"]
