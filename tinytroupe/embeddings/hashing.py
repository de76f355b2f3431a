"""A fast, deterministic embedder from hashed words (no model): for scale runs and tests.

Each lower-cased word (and each pair of adjacent words) is hashed with BLAKE2 into one of ``dim``
buckets with a sign; the counts form the vector. Texts that share words are similar; synonyms are
not. It costs microseconds per text, so it suits benchmarks with hundreds of agents, where the
bundled model (about 2.5 ms per sentence) would dominate.

Example:
    >>> emb = HashingEmbedder(dim=64)
    >>> v = emb.embed(["red bottle", "a red bottle", "blue sky"])
    >>> bool(v[0] @ v[1] > v[0] @ v[2])
    True
"""

from __future__ import annotations

import hashlib
import itertools
import re

import numpy as np
import numpy.typing as npt

from tinytroupe.embeddings.port import BaseEmbedder
from tinytroupe.errors import InvalidArgument

_WORD = re.compile(r"[\w']+")


class HashingEmbedder(BaseEmbedder):
    """Signed feature hashing of words and word pairs into ``dim`` dimensions (deterministic across runs)."""

    name = "hashing"

    def __init__(self, dim: int = 256, *, pairs: bool = True) -> None:
        if dim < 8:
            raise InvalidArgument(f"HashingEmbedder dim must be at least 8, got {dim}")
        self._dim = dim
        self.pairs = pairs
        self._bucket_cache: dict[str, tuple[int, float]] = {}

    @property
    def dim(self) -> int:
        return self._dim

    def _bucket(self, token: str) -> tuple[int, float]:
        hit = self._bucket_cache.get(token)
        if hit is None:
            digest = int.from_bytes(hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest(), "little")
            hit = (digest % self._dim, 1.0 if (digest >> 63) & 1 else -1.0)
            if len(self._bucket_cache) < 200_000:  # bounded: a long run meets new words forever
                self._bucket_cache[token] = hit
        return hit

    def _embed(self, texts: list[str]) -> npt.ArrayLike:
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for row, text in enumerate(texts):
            words = _WORD.findall(text.lower())
            tokens = words + ([f"{a} {b}" for a, b in itertools.pairwise(words)] if self.pairs else [])
            for token in tokens:
                col, sign = self._bucket(token)
                out[row, col] += sign
        return out


__all__ = ["HashingEmbedder"]
