"""The embeddings port: what memory retrieval and grounding call to turn text into vectors.

Every embedder returns float32 rows of unit length, so a dot product is the cosine similarity.

Example:
    >>> import numpy as np
    >>> a = normalize_rows(np.array([[3.0, 4.0]]))
    >>> a.tolist()
    [[0.6000000238418579, 0.800000011920929]]
    >>> float(cosine_similarity([1.0, 0.0], [0.0, 2.0]))
    0.0
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from tinytroupe.errors import InvalidArgument, InvalidArgumentType

FloatArray = npt.NDArray[np.float32]


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors of a fixed dimension.

    ``embed`` returns shape ``(len(texts), dim)``; ``aembed`` does the same without blocking the
    event loop.
    """

    name: str

    @property
    def dim(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> FloatArray: ...

    async def aembed(self, texts: Sequence[str]) -> FloatArray: ...


class BaseEmbedder:
    """Shared behaviour: input checks, normalisation and the threaded async twin.

    Subclasses implement :meth:`_embed` (raw vectors for a non-empty list of strings).
    """

    name: str = "embedder"

    @property
    def dim(self) -> int:
        raise NotImplementedError

    def _embed(self, texts: list[str]) -> npt.ArrayLike:
        raise NotImplementedError

    def embed(self, texts: Sequence[str]) -> FloatArray:
        """Embed ``texts``: shape ``(n, dim)``, float32, each row of unit length (zero rows stay zero)."""
        if isinstance(texts, str):
            raise InvalidArgumentType("embed() takes a sequence of strings; wrap a single text in a list: [text]")
        batch = list(texts)
        for i, t in enumerate(batch):
            if not isinstance(t, str):
                raise InvalidArgumentType(f"text {i} to embed must be a str, got {type(t).__name__}")
        if not batch:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = np.asarray(self._embed(batch), dtype=np.float32)
        if vectors.shape != (len(batch), self.dim):
            raise InvalidArgument(f"{self.name} returned vectors of shape {vectors.shape}, expected "
                                  f"({len(batch)}, {self.dim})")
        return normalize_rows(vectors)

    async def aembed(self, texts: Sequence[str]) -> FloatArray:
        """Async twin of :meth:`embed` (runs it in a worker thread)."""
        return await asyncio.to_thread(self.embed, texts)


def normalize_rows(vectors: npt.ArrayLike) -> FloatArray:
    """Scale each row to unit L2 norm (float32); all-zero rows stay zero instead of becoming NaN."""
    arr = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
    norms = np.linalg.norm(arr, axis=1, keepdims=True)
    return np.divide(arr, norms, out=np.zeros_like(arr), where=norms > 0)


def cosine_similarity(a: npt.ArrayLike, b: npt.ArrayLike) -> npt.NDArray[np.float32] | np.float32:
    """Cosine similarity of two vectors (a scalar), or of two sets of rows (an ``(n, m)`` matrix).

    A 1-D argument against a 2-D one gives one similarity per row.
    """
    va, vb = np.asarray(a, dtype=np.float32), np.asarray(b, dtype=np.float32)
    sims = normalize_rows(va) @ normalize_rows(vb).T
    if va.ndim == 1 and vb.ndim == 1:
        return np.float32(sims[0, 0])
    if va.ndim == 1:
        return sims[0]
    if vb.ndim == 1:
        return sims[:, 0]
    return sims


__all__ = ["BaseEmbedder", "Embedder", "FloatArray", "cosine_similarity", "normalize_rows"]
