"""What relevance retrieval keeps beside a cold segment: each item's vector, scores and a sketch.

A query over the cold tier must not read every segment's items. So when a segment is written, its
items' vectors go beside it (:class:`ColdVectors`, stored as
:class:`~tinytroupe.storage.memory_segments.SegmentVectors`): float16 vectors, the scores the index
held (importance, last access, retrievals) and, per item, a **sketch** of :data:`SKETCH_BITS` bits:
the signs of the vector's projections on fixed random directions. The share of differing bits
between two sketches estimates the angle between the vectors (:func:`sketch_similarity`), so a
query reads the sketches of many segments (64 bytes an item), picks the segments likely to hold
the best matches, and only reads those segments' exact vectors, then the items of the best few.

Example:
    >>> import numpy as np
    >>> from tinytroupe.embeddings import HashingEmbedder
    >>> emb = HashingEmbedder(64)
    >>> vecs = emb.embed(["the bakery opens at seven", "a red bicycle"])
    >>> cold = ColdVectors.of(np.array([1, 2]), vecs, importance=np.array([5.0, 3.0]))
    >>> back = ColdVectors.decode(cold.encode(embedder_tag(emb)), emb.dim)
    >>> back.ids.tolist(), bool(np.allclose(back.vectors, vecs, atol=1e-3))
    ([1, 2], True)
    >>> est = sketch_similarity(sketch(emb.embed(["when does the bakery open?"]))[0], back.sketches)
    >>> int(est.argmax())
    0
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt

from tinytroupe.embeddings.port import Embedder
from tinytroupe.storage.memory_segments import SegmentVectors

#: bits of an item's sketch: the estimate's error falls with their root (512: a cosine within ~0.07)
SKETCH_BITS = 512
_SKETCH_BYTES = SKETCH_BITS // 8
#: sketches compared at once (a block's temporaries stay in a core's cache)
_BLOCK = 4096
#: the random directions' seed: fixed, so sketches made by any process compare
_SEED = 0x5EED_C01D
#: one item's ids and scores, as stored (little-endian, packed)
META = np.dtype([("id", "<i8"), ("importance", "<f4"), ("access_h", "<f8"), ("access_count", "<i4")])


def embedder_tag(embedder: Embedder) -> str:
    """What stored vectors are tagged with: vectors of another embedder (or model, or size) never mix."""
    model = getattr(embedder, "model", None)
    return f"{embedder.name}{'/' + str(model) if model else ''}/{embedder.dim}"


@lru_cache(maxsize=8)
def _directions(dim: int) -> npt.NDArray[np.float32]:
    # A constant of the format (same seed, same directions): cached, never passed between layers.
    return np.random.default_rng(_SEED).standard_normal((dim, SKETCH_BITS)).astype(np.float32)


def sketch(vectors: npt.NDArray[np.float32]) -> npt.NDArray[np.uint8]:
    """One sketch per row: the signs of its projections, packed (``(n, SKETCH_BITS // 8)`` bytes)."""
    rows = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
    return np.packbits(rows @ _directions(rows.shape[1]) > 0, axis=1)


def sketch_similarity(query: npt.NDArray[np.unsignedinteger[Any]],
                      sketches: npt.NDArray[np.unsignedinteger[Any]]) -> npt.NDArray[np.float64]:
    """The cosine each sketch's vector is estimated to have with ``query``'s (one sketch, viewed as the
    sketches are: bytes, or :func:`sketch_words`): ``cos(π·d/bits)`` for ``d`` differing bits."""
    return np.asarray(np.cos(math.pi * sketch_distance(query, sketches) / SKETCH_BITS), dtype=np.float64)


def sketch_distance(query: npt.NDArray[np.unsignedinteger[Any]],
                    sketches: npt.NDArray[np.unsignedinteger[Any]]) -> npt.NDArray[np.float32]:
    """Differing bits between ``query`` and each sketch (fewer: more similar; what ranking needs)."""
    out = np.zeros(len(sketches), dtype=np.float32)
    if sketches.size == 0:
        return out
    ones = np.ones(sketches.shape[1], dtype=np.float32)
    # In blocks that stay in cache (a scan's sketches are megabytes); a product with ones sums each
    # row: a strided sum over a few columns costs five times more.
    for start in range(0, len(sketches), _BLOCK):
        block = np.bitwise_count(np.bitwise_xor(sketches[start: start + _BLOCK], query))
        out[start: start + _BLOCK] = block.astype(np.float32) @ ones
    return out


def sketches_of(raw: bytes) -> npt.NDArray[np.uint8]:
    """Stored sketch bytes as ``(items, SKETCH_BITS // 8)`` rows (a length that does not fit: no rows)."""
    if len(raw) % _SKETCH_BYTES:
        return np.zeros((0, _SKETCH_BYTES), dtype=np.uint8)
    return np.frombuffer(raw, dtype=np.uint8).reshape(-1, _SKETCH_BYTES)


def sketch_words(raw: bytes) -> npt.NDArray[np.uint64]:
    """Sketch bytes (whole sketches, as :func:`sketches_of` takes them) as 64-bit words, a row per sketch:
    comparing words is eight times fewer operations than comparing bytes, for the same count."""
    return np.frombuffer(raw, dtype=np.uint64).reshape(-1, SKETCH_BITS // 64)


@dataclass(frozen=True)
class ColdVectors:
    """The relevance data of one segment's items (those retrieval indexes: not trivial, not empty)."""

    ids: npt.NDArray[np.int64]
    vectors: npt.NDArray[np.float32]  # (n, dim), unit rows
    importance: npt.NDArray[np.float64]
    access_h: npt.NDArray[np.float64]  # simulated hour of the last retrieval, or of forming (NaN: unknown)
    access_count: npt.NDArray[np.float64]
    sketches: npt.NDArray[np.uint8]

    @classmethod
    def of(cls, ids: npt.ArrayLike, vectors: npt.NDArray[np.float32], *, importance: npt.ArrayLike,
           access_h: npt.ArrayLike | None = None, access_count: npt.ArrayLike | None = None) -> ColdVectors:
        """Vectors and scores of some items (``access_h`` unknown and ``access_count`` 0 when not given)."""
        n = len(vectors)
        return cls(ids=np.asarray(ids, dtype=np.int64), vectors=np.asarray(vectors, dtype=np.float32),
                   importance=np.asarray(importance, dtype=np.float64),
                   access_h=np.full(n, math.nan) if access_h is None else np.asarray(access_h, dtype=np.float64),
                   access_count=np.zeros(n) if access_count is None else np.asarray(access_count, dtype=np.float64),
                   sketches=sketch(vectors) if n else np.zeros((0, _SKETCH_BYTES), dtype=np.uint8))

    def encode(self, tag: str) -> SegmentVectors:
        """The row the store keeps (vectors as float16: half the bytes, cosines within ~1e-3)."""
        meta = np.zeros(len(self.ids), dtype=META)
        meta["id"], meta["importance"], meta["access_h"] = self.ids, self.importance, self.access_h
        meta["access_count"] = self.access_count
        return SegmentVectors(embedder=tag, items=len(self.ids), sketch=self.sketches.tobytes(),
                              meta=meta.tobytes(), vectors=self.vectors.astype("<f2").tobytes())

    @classmethod
    def decode(cls, row: SegmentVectors, dim: int) -> ColdVectors | None:
        """A stored row back (None when its sizes do not fit ``dim``: made by something else)."""
        meta = np.frombuffer(row.meta, dtype=META) if len(row.meta) % META.itemsize == 0 else None
        n = row.items
        if meta is None or len(meta) != n or len(row.vectors) != n * dim * 2 or len(row.sketch) != n * _SKETCH_BYTES:
            return None
        vectors = np.frombuffer(row.vectors, dtype="<f2").reshape(n, dim).astype(np.float32)
        return cls(ids=meta["id"].astype(np.int64), vectors=vectors, importance=meta["importance"].astype(np.float64),
                   access_h=meta["access_h"].astype(np.float64), access_count=meta["access_count"].astype(np.float64),
                   sketches=sketches_of(row.sketch))


__all__ = ["META", "SKETCH_BITS", "ColdVectors", "embedder_tag", "sketch", "sketch_distance", "sketch_similarity",
           "sketch_words", "sketches_of"]
