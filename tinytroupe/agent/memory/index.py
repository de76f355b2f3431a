"""A per-agent vector index in numpy: append in amortised O(1), search with one matrix product.

Rows live in preallocated arrays whose capacity doubles when full, so an insert copies nothing most
of the time and the index is never rebuilt per add. Removal marks a row dead; the arrays are
compacted when more than half the rows are dead (amortised O(1) too). Besides the vector, each
row keeps what retrieval scores with: importance, creation and last-access time (simulated hours),
retrieval count and a touch sequence number (for rank-based recency).

Given a :class:`~tinytroupe.agent.memory.vector_pool.VectorPool`, the index keeps its vectors there
(each distinct vector once for all the indexes that hold it) and only their row numbers here;
without one it keeps its own matrix. Scores are the same either way.

Example:
    >>> import numpy as np
    >>> idx = VectorIndex(dim=2)
    >>> idx.add("E1", np.array([1.0, 0.0], dtype=np.float32), importance=3.0)
    >>> idx.add("E2", np.array([0.0, 1.0], dtype=np.float32), importance=7.0)
    >>> idx.remove("E1")
    True
    >>> idx.keys_live()
    ['E2']
"""

from __future__ import annotations

import base64
import math
from collections.abc import Iterable
from datetime import datetime
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
from pydantic import field_serializer, field_validator, model_validator

from tinytroupe.agent.memory.vector_pool import VectorPool, shared_pool
from tinytroupe.errors import InvalidArgument
from tinytroupe.state import StateModel

FloatArray = npt.NDArray[np.float32]


#: characters of a memory (or query) that are embedded: a sentence encoder gains little past a few
#: sentences, and cost grows with length
EMBED_CHARS = 300


def hours(t: datetime | None) -> float:
    """Simulated time as the index keeps it: hours since the epoch (NaN when unknown)."""
    return t.timestamp() / 3600.0 if t is not None else math.nan


class VectorIndex:
    """Vectors plus retrieval metadata, keyed by a short string (``E12`` episodic, ``S3`` semantic).

    With a ``pool`` the vectors live there (see the module's docstring); ``vec_rows`` are their rows.
    """

    own_vectors: np.ndarray  # (capacity, dim) without a pool, (0, dim) with one
    vec_rows: np.ndarray  # pool rows (with a pool)
    importance: np.ndarray
    created_h: np.ndarray
    access_h: np.ndarray
    access_count: np.ndarray
    seq: np.ndarray
    alive: np.ndarray

    def __init__(self, dim: int, capacity: int = 64, *, pool: VectorPool | None = None) -> None:
        if dim < 1:
            raise InvalidArgument(f"VectorIndex dim must be positive, got {dim}")
        if pool is not None and pool.dim != dim:
            raise InvalidArgument(f"VectorIndex dim {dim} does not match its pool's dim {pool.dim}")
        self.dim = dim
        self.pool = pool
        self._n = 0  # rows used (live or dead)
        self._keys: list[str | None] = []
        self._rows: dict[str, int] = {}
        self._seq = 0
        self._alloc(max(8, capacity))

    def _alloc(self, capacity: int) -> None:
        def grow(old: np.ndarray | None, dtype: Any, shape: tuple[int, ...], fill: float = 0.0) -> np.ndarray:
            new = np.full(shape, fill, dtype=dtype)
            if old is not None:
                new[: self._n] = old[: self._n]
            return new

        had = hasattr(self, "importance")
        own = 0 if self.pool is not None else capacity
        self.own_vectors = grow(self.own_vectors if had else None, np.float32, (own, self.dim))
        self.vec_rows = grow(self.vec_rows if had else None, np.int32, (capacity if own == 0 else 0,))
        self.importance = grow(self.importance if had else None, np.float32, (capacity,), 5.0)
        self.created_h = grow(self.created_h if had else None, np.float64, (capacity,), math.nan)
        self.access_h = grow(self.access_h if had else None, np.float64, (capacity,), math.nan)
        self.access_count = grow(self.access_count if had else None, np.int32, (capacity,))
        self.seq = grow(self.seq if had else None, np.int64, (capacity,))
        self.alive = grow(self.alive if had else None, np.bool_, (capacity,), False)
        self.capacity = capacity

    # ---------------------------------------------------------------- writing

    def add(self, key: str, vector: npt.ArrayLike, *, importance: float = 5.0, created_h: float = math.nan) -> None:
        """Append one row (a key already present is replaced)."""
        if key in self._rows:
            self.remove(key)
        if self._n == self.capacity:
            if len(self._rows) <= self._n // 2:
                self.compact()
            if self._n == self.capacity:
                self._alloc(self.capacity * 2)  # doubling: amortised O(1) per add
        row = self._n
        if self.pool is not None:
            self.vec_rows[row] = self.pool.acquire(vector)
        else:
            self.own_vectors[row] = np.asarray(vector, dtype=np.float32)
        self.importance[row] = importance
        self.created_h[row] = created_h
        self.access_h[row] = created_h
        self.access_count[row] = 0
        self._seq += 1
        self.seq[row] = self._seq
        self.alive[row] = True
        self._keys.append(key)
        self._rows[key] = row
        self._n += 1

    def remove(self, key: str) -> bool:
        """Mark ``key``'s row dead; True when it was present."""
        row = self._rows.pop(key, None)
        if row is None:
            return False
        self.alive[row] = False
        self._keys[row] = None
        if self.pool is not None:
            self.pool.release(int(self.vec_rows[row]))
        if self._n > 64 and len(self._rows) < self._n // 2:
            self.compact()
        return True

    def compact(self) -> None:
        """Drop dead rows (keeps order)."""
        live = np.flatnonzero(self.alive[: self._n])
        for name in ("own_vectors" if self.pool is None else "vec_rows", *INDEX_ARRAYS, "alive"):
            arr = getattr(self, name)
            arr[: len(live)] = arr[live]
        self.alive[len(live): self._n] = False
        self._keys = [self._keys[i] for i in live]
        self._n = len(live)
        self._rows = {k: i for i, k in enumerate(self._keys) if k is not None}

    def set_importance(self, key: str, value: float) -> None:
        row = self._rows.get(key)
        if row is not None:
            self.importance[row] = value

    def touch(self, keys: Iterable[str], now_h: float) -> None:
        """Record a retrieval of ``keys`` at ``now_h`` (rehearsal and recency of access)."""
        for key in keys:
            row = self._rows.get(key)
            if row is None:
                continue
            self.access_count[row] += 1
            if not math.isnan(now_h):
                self.access_h[row] = now_h
            self._seq += 1
            self.seq[row] = self._seq

    # ---------------------------------------------------------------- reading

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, key: object) -> bool:
        return key in self._rows

    @property
    def used(self) -> int:
        """Rows in use, dead ones included (searches scan these)."""
        return self._n

    def key_at(self, row: int) -> str | None:
        return self._keys[row]

    def row_of(self, key: str) -> int | None:
        return self._rows.get(key)

    def keys_live(self) -> list[str]:
        return [k for k in self._keys if k is not None]

    @property
    def vectors(self) -> FloatArray:
        """The used rows' vectors (dead rows included), one row each: a view, or a copy from the pool."""
        if self.pool is None:
            return self.own_vectors[: self._n]
        return self.pool.take(self.vec_rows[: self._n])

    def vectors_at(self, rows: Iterable[int]) -> FloatArray:
        """The vectors of some rows (a copy; cheaper than :attr:`vectors` for a few rows of a pooled index)."""
        picked = np.fromiter(rows, dtype=np.intp)
        return self.own_vectors[picked] if self.pool is None else self.pool.take(self.vec_rows[picked])

    def similarities(self, query: FloatArray) -> FloatArray:
        """Cosine similarity of the (unit) query with every used row (dead rows included)."""
        return self.vectors @ np.asarray(query, dtype=np.float32)

    def __del__(self) -> None:
        # Pooled vectors are counted: an index that goes away gives its live rows back.
        pool = getattr(self, "pool", None)
        if pool is not None:
            pool.release_many(self.vec_rows[: self._n][self.alive[: self._n]])

    def __reduce__(self) -> tuple[Any, ...]:
        # A pickle goes through the state (not the pool): in another process it joins that one's pool.
        return (_rebuild, (self.state_model(), self.pool is not None))

    def __deepcopy__(self, memo: dict[int, Any]) -> VectorIndex:
        # Through the state, so a pooled copy counts its own rows (in the same pool).
        return VectorIndex.from_model(self.state_model(), pool=self.pool)

    def __copy__(self) -> VectorIndex:
        return self.__deepcopy__({})  # a shallow copy would share counted rows

    # ---------------------------------------------------------------- state

    def state_model(self, include_vectors: bool = True) -> IndexState:
        """The index (compacted first) as an :class:`IndexState`; without vectors when asked."""
        self.compact()
        n = self._n

        def raw(arr: np.ndarray, dtype: str) -> bytes:
            return np.ascontiguousarray(arr[:n], dtype=dtype).tobytes()

        fields: dict[str, Any] = {name: raw(getattr(self, name), dtype) for name, dtype in INDEX_ARRAYS.items()}
        fields.update(dim=self.dim, keys=[k for k in self._keys if k is not None], seq_counter=self._seq,
                      vectors=raw(self.vectors, VECTOR_DTYPE) if include_vectors else None)
        return IndexState.model_construct(**fields)

    @classmethod
    def from_model(cls, state: IndexState, vectors: FloatArray | None = None, *,
                   pool: VectorPool | None = None) -> VectorIndex:
        """Rebuild from :meth:`state_model` (its vectors in ``pool`` when given); ``vectors`` must be
        given when the state has none.

        Raises:
            InvalidArgument: the state has no vectors and none were given.
        """
        n = len(state.keys)
        idx = cls(state.dim, capacity=max(8, n), pool=pool if pool is not None and pool.dim == state.dim else None)
        if state.vectors is not None:
            vecs = np.frombuffer(state.vectors, dtype=VECTOR_DTYPE).reshape(n, idx.dim)
        elif vectors is not None:
            vecs = np.asarray(vectors, dtype=np.float32).reshape(n, idx.dim)
        else:
            raise InvalidArgument("this index state has no vectors; pass vectors= (re-embedded texts) to rebuild it")
        if idx.pool is not None:
            idx.vec_rows[:n] = [idx.pool.acquire(v) for v in vecs]
        else:
            idx.own_vectors[:n] = vecs
        for name, dtype in INDEX_ARRAYS.items():
            getattr(idx, name)[:n] = np.frombuffer(getattr(state, name), dtype=dtype)
        idx.alive[:n] = True
        idx._keys = list(state.keys)
        idx._rows = {k: i for i, k in enumerate(state.keys)}
        idx._n = n
        idx._seq = state.seq_counter
        return idx

    def to_state(self, include_vectors: bool = True) -> dict[str, Any]:
        """JSON-ready state (:meth:`state_model` as a dict): arrays as base64 of their little-endian
        bytes (exact), each vector its own string (see :class:`IndexState`), or vectors left out."""
        return self.state_model(include_vectors).to_dict()

    @classmethod
    def from_state(cls, state: dict[str, Any], vectors: FloatArray | None = None) -> VectorIndex:
        """Rebuild from :meth:`to_state`; ``vectors`` must be given when the state has none.

        Raises:
            InvalidArgument: the state is not an index's (the message names the field), or has no vectors
                and none were given.
        """
        return cls.from_model(IndexState.parse(state), vectors)


def _rebuild(state: IndexState, pooled: bool) -> VectorIndex:
    return VectorIndex.from_model(state, pool=shared_pool(state.dim) if pooled else None)


#: numpy dtypes of the index's per-row arrays, as stored (little-endian)
INDEX_ARRAYS: dict[str, str] = {"importance": "<f4", "created_h": "<f8", "access_h": "<f8",
                                "access_count": "<i4", "seq": "<i8"}
VECTOR_DTYPE = "<f4"


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


class IndexState(StateModel):
    """A :class:`VectorIndex` as data, compacted: one row per key, in key order.

    In memory the arrays are raw little-endian bytes: cheap to build and to pickle (the Ray executor
    ships them). In JSON each array is base64 and each vector its own base64 string, in key order: a
    memory heard by many agents has the same vector in each of them, and a checkpoint stores each
    distinct string once (:mod:`tinytroupe.storage.checkpoints`). States written before vectors were
    stored one by one (one base64 string for all) still load. ``vectors`` is None for an index saved
    without them (re-embedded from the texts on load).

    Example:
        >>> idx = VectorIndex(dim=2)
        >>> idx.add("E1", np.array([1.0, 0.0], dtype=np.float32), importance=3.0)
        >>> data = idx.to_state()
        >>> data["vectors"], data["importance"]
        (['AACAPwAAAAA='], 'AABAQA==')
        >>> IndexState.parse(data) == idx.state_model()
        True
    """

    omit_when: ClassVar[dict[str, Any]] = {"vectors": None}

    dim: int
    keys: list[str]
    seq_counter: int
    importance: bytes
    created_h: bytes
    access_h: bytes
    access_count: bytes
    seq: bytes
    vectors: bytes | None = None

    @field_validator("importance", "created_h", "access_h", "access_count", "seq", mode="before")
    @classmethod
    def _decode_array(cls, value: Any) -> Any:
        return base64.b64decode(value, validate=True) if isinstance(value, str) else value

    @field_validator("vectors", mode="before")
    @classmethod
    def _decode_vectors(cls, value: Any) -> Any:
        if isinstance(value, list):  # one base64 string per vector
            return b"".join(base64.b64decode(v, validate=True) for v in value)
        if isinstance(value, str):  # states written before vectors were stored one by one
            return base64.b64decode(value, validate=True)
        return value

    @model_validator(mode="after")
    def _sizes_fit(self) -> IndexState:
        n = len(self.keys)
        if self.dim < 1:
            raise ValueError(f"dim must be positive, got {self.dim}")
        for name, dtype in INDEX_ARRAYS.items():
            size = int(dtype[2:])
            if len(getattr(self, name)) != n * size:
                raise ValueError(f"{name} holds {len(getattr(self, name)) / size:g} values for {n} keys")
        if self.vectors is not None and len(self.vectors) != n * self.dim * 4:
            raise ValueError(f"vectors hold {len(self.vectors) / 4:g} numbers, not {n} keys x dim {self.dim}")
        return self

    @field_serializer("importance", "created_h", "access_h", "access_count", "seq", when_used="json")
    def _encode_array(self, value: bytes) -> str:
        return _b64(value)

    @field_serializer("vectors", when_used="json")
    def _encode_vectors(self, value: bytes | None) -> list[str] | None:
        if value is None:
            return None
        width = self.dim * 4
        return [_b64(value[i:i + width]) for i in range(0, len(value), width)]


__all__ = ["EMBED_CHARS", "INDEX_ARRAYS", "VECTOR_DTYPE", "FloatArray", "IndexState", "VectorIndex", "hours"]
