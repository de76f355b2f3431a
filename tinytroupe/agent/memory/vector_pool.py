"""Embedding vectors stored once for every agent that holds them: a content-addressed, counted pool.

A broadcast heard by 10,000 agents is one text, and so one vector, in 10,000 retrieval indexes; a
remark is the same vector in the speaker's index and the listener's. A :class:`VectorPool` keeps
each distinct vector (by value, bit for bit) in one row of a block of float32 rows, with a count
of the index rows that use it; an index keeps only row numbers (4 bytes instead of ``4 x dim``).
A row whose count falls to zero is reused for the next new vector, so the pool holds only vectors
some index uses (its block never shrinks: it stays as large as the most distinct vectors held at
once). Rows are never written while counted, so no agent's memory can change another's.

Sharing is by value, not by text: a vector is shared only with bit-identical ones, so retrieval
scores are exactly what they were with a private copy per index.

Agents' memories use one pool per dimension for the process (:func:`shared_pool`): like an intern
table of immutable values, it passes nothing between layers, and it is weak in effect (a vector
lives only while an index holds it). A :class:`~tinytroupe.agent.memory.index.VectorIndex` made
without a pool keeps its own matrix, as before.

Example:
    >>> import numpy as np
    >>> pool = VectorPool(dim=2)
    >>> a = pool.acquire(np.array([1.0, 0.0], dtype=np.float32))
    >>> b = pool.acquire(np.array([1.0, 0.0], dtype=np.float32))
    >>> a == b, pool.live
    (True, 1)
    >>> pool.release(a); pool.release(b); pool.live
    0
"""

from __future__ import annotations

import threading

import numpy as np
import numpy.typing as npt

from tinytroupe.errors import InvalidArgument


class VectorPool:
    """Distinct vectors of one dimension, each in one counted row (thread-safe)."""

    def __init__(self, dim: int, capacity: int = 1024) -> None:
        if dim < 1:
            raise InvalidArgument(f"VectorPool dim must be positive, got {dim}")
        self.dim = dim
        self.rows: npt.NDArray[np.float32] = np.zeros((max(8, capacity), dim), dtype=np.float32)
        self.refs = np.zeros(len(self.rows), dtype=np.int64)
        self._by_value: dict[bytes, int] = {}  # a short digest of the bytes -> row (checked on a hit)
        self._digest: list[bytes | None] = [None] * len(self.rows)
        self._free: list[int] = []
        self._n = 0  # rows ever used
        self._lock = threading.Lock()

    @staticmethod
    def _key(data: bytes) -> bytes:
        # 16 bytes stand for the vector in the table (the vector itself would double the memory).
        return data[:8] + hash(data).to_bytes(8, "little", signed=True)

    def acquire(self, vector: npt.ArrayLike) -> int:
        """The row holding ``vector`` (stored now if new); counts one more user of it."""
        vec = np.ascontiguousarray(vector, dtype=np.float32).reshape(self.dim)
        key = self._key(vec.tobytes())
        with self._lock:
            row = self._by_value.get(key)
            if row is not None and np.array_equal(self.rows[row], vec):
                self.refs[row] += 1
                return row
            row = self._new_row_locked()
            self.rows[row] = vec
            self.refs[row] = 1
            if key not in self._by_value:  # on a digest collision the row stays private (still correct)
                self._by_value[key] = row
                self._digest[row] = key
            return row

    def _new_row_locked(self) -> int:
        if self._free:
            return self._free.pop()
        if self._n == len(self.rows):
            grown = np.zeros((len(self.rows) * 2, self.dim), dtype=np.float32)
            grown[: self._n] = self.rows[: self._n]
            self.rows = grown  # readers holding the old block still see every row they use
            self.refs = np.concatenate([self.refs, np.zeros(len(self.refs), dtype=np.int64)])
            self._digest.extend([None] * (len(grown) - len(self._digest)))
        self._n += 1
        return self._n - 1

    def release(self, row: int) -> None:
        """One user fewer of ``row``; at none the row is free for another vector."""
        with self._lock:
            self.refs[row] -= 1
            if self.refs[row] > 0:
                return
            key = self._digest[row]
            if key is not None:
                del self._by_value[key]
                self._digest[row] = None
            self._free.append(row)

    def release_many(self, rows: npt.NDArray[np.int32]) -> None:
        """:meth:`release` each of ``rows`` (an index that goes away gives its rows back)."""
        for row in rows.tolist():
            self.release(row)

    def take(self, rows: npt.NDArray[np.int32]) -> npt.NDArray[np.float32]:
        """The vectors in ``rows``, as one (len(rows), dim) array (a copy)."""
        return self.rows[rows]

    @property
    def live(self) -> int:
        """Distinct vectors held."""
        return len(self._by_value) + sum(1 for r in range(self._n) if self._digest[r] is None
                                         and self.refs[r] > 0)

    @property
    def nbytes(self) -> int:
        """Bytes of the block of rows."""
        return int(self.rows.nbytes)


_pools: dict[int, VectorPool] = {}
_pools_lock = threading.Lock()


def shared_pool(dim: int) -> VectorPool:
    """The process's pool of ``dim``-dimensional vectors (made on first use), used by agents' memories."""
    with _pools_lock:
        pool = _pools.get(dim)
        if pool is None:
            pool = _pools[dim] = VectorPool(dim)
        return pool


__all__ = ["VectorPool", "shared_pool"]
