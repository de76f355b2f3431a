"""Hybrid ranking: BM25 and embeddings over the same texts, fused by reciprocal rank.

One ranker serves every collection that is searched by words and meaning: the web-search tool's
passages (:mod:`tinytroupe.tools.search_index`) and the document stores' chunks
(:mod:`tinytroupe.grounding.store`). A query is ranked twice: by BM25 (the ``bm25s`` package, from
the ``tools`` extra) over :func:`~tinytroupe.grounding.text.tokenize`'s words, and by the dot
product of unit embeddings (cosine). A text scores ``1/(RRF_K + rank)`` in each ranking it
appears in (a text without any query word is not in the BM25 ranking; one with a non-positive
cosine not in the vector one). ``depth`` fuses only each ranking's best ``depth`` texts, which
keeps a query over 100,000 chunks in milliseconds (``argpartition``, not a full sort); None fuses
them all. Ties go to the earlier text, so results are deterministic.

Texts are added in batches; the BM25 index is rebuilt on the first query after an addition.

Example:
    >>> from tinytroupe.embeddings import HashingEmbedder
    >>> from tinytroupe.grounding.text import tokenize
    >>> texts = ["Green tea grows in Kenya.", "Bicycle lanes in Lisbon.", "Kenya runs marathons."]
    >>> emb = HashingEmbedder(dim=64)
    >>> ranker = HybridRanker()
    >>> ranker.add([tokenize(t) for t in texts], emb.embed(texts))
    >>> [i for i, _ in ranker.top(tokenize("tea from Kenya"), emb.embed(["tea from Kenya"])[0], 2)]
    [0, 2]
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from tinytroupe.errors import ConfigError, InvalidArgument

#: the constant of reciprocal rank fusion (the usual choice; larger flattens the ranks' weights)
RRF_K = 60


def bm25_module() -> Any:
    """The ``bm25s`` module.

    Raises:
        ConfigError: it is not installed (it comes with the ``tools`` extra).
    """
    try:
        import bm25s
    except ImportError as exc:
        raise ConfigError("ranking by words uses the package 'bm25s'; install it with "
                          "pip install 'tinytroupe[tools]' (or pip install bm25s)") from exc
    return bm25s


def add_ranks(fused: npt.NDArray[np.float64], scores: npt.NDArray[Any], depth: int | None = None) -> None:
    """Add ``1/(RRF_K + rank)`` to ``fused`` for each text with a positive score (rank 1 is the best),
    for the best ``depth`` texts only (None: all)."""
    if depth is not None and depth < len(scores):
        candidates = np.argpartition(-scores, depth - 1)[:depth]
        order = candidates[np.lexsort((candidates, -scores[candidates]))]  # by score, then position
    else:
        order = np.argsort(-scores, kind="stable")
    ranked = order[scores[order] > 0]
    fused[ranked] += 1.0 / (RRF_K + np.arange(1, len(ranked) + 1))


class HybridRanker:
    """BM25 and vector rankings over a growing list of texts (thread-safe)."""

    def __init__(self) -> None:
        self._tokens: list[list[str]] = []
        self._blocks: list[npt.NDArray[np.float32]] = []
        self._vectors: npt.NDArray[np.float32] | None = None
        self._retriever: Any = None
        self._bm25_stale = False
        self._has_vectors: bool | None = None
        self._lock = threading.RLock()

    def __len__(self) -> int:
        return len(self._tokens)

    def add(self, tokens: Sequence[list[str]], vectors: npt.NDArray[np.float32] | None = None) -> None:
        """Add texts by their ranking words, with their unit embeddings (one row each) or None.

        Raises:
            InvalidArgument: ``vectors`` has the wrong number of rows or dimension, or some batches
                have vectors and others not.
        """
        if not tokens:
            return
        with self._lock:
            has = vectors is not None
            if self._has_vectors is not None and has != self._has_vectors:
                raise InvalidArgument("every batch added to a ranker must have vectors, or none may")
            if vectors is not None:
                if vectors.ndim != 2 or len(vectors) != len(tokens):
                    raise InvalidArgument(f"{len(tokens)} texts need {len(tokens)} vectors, got shape {vectors.shape}")
                if self._blocks and vectors.shape[1] != self._blocks[0].shape[1]:
                    raise InvalidArgument(f"vectors of dimension {vectors.shape[1]} added to a ranker of "
                                          f"dimension {self._blocks[0].shape[1]}")
                self._blocks.append(np.asarray(vectors, dtype=np.float32))
                self._vectors = None
            self._has_vectors = has
            self._tokens.extend(tokens)
            self._bm25_stale = True

    def vectors(self) -> npt.NDArray[np.float32] | None:
        """All texts' vectors as one matrix (None when texts came without vectors)."""
        with self._lock:
            if self._vectors is None and self._blocks:
                self._vectors = np.concatenate(self._blocks) if len(self._blocks) > 1 else self._blocks[0]
                self._blocks = [self._vectors]
            return self._vectors

    def tokens(self, index: int) -> list[str]:
        """The ranking words of text ``index``."""
        return self._tokens[index]

    def bm25_scores(self, terms: list[str]) -> npt.NDArray[np.float64]:
        """BM25 score of every text for ``terms`` (zeros when no term is in any text)."""
        with self._lock:
            if self._bm25_stale:
                self._retriever = None
                if any(self._tokens):
                    # A text with no words gets an empty token list; bm25s indexes it with an empty token.
                    self._retriever = bm25_module().BM25()
                    self._retriever.index(self._tokens, show_progress=False)
                self._bm25_stale = False
            retriever = self._retriever
        if retriever is None or not terms or not retriever.get_tokens_ids(terms):
            return np.zeros(len(self._tokens), dtype=np.float64)
        return np.asarray(retriever.get_scores(terms), dtype=np.float64)

    def fused(self, terms: list[str], query_vector: npt.NDArray[np.float32] | None,
              depth: int | None = None) -> npt.NDArray[np.float64]:
        """The fused score of every text (0: in neither ranking's best ``depth``)."""
        fused = np.zeros(len(self._tokens), dtype=np.float64)
        if not len(fused):
            return fused
        add_ranks(fused, self.bm25_scores(terms), depth)
        vectors = self.vectors()
        if vectors is not None and query_vector is not None and np.any(query_vector):
            # einsum, not BLAS: one memory-bound pass, without waking BLAS threads that only spin on a
            # busy machine (their wake-up dominated the tail latency over 100,000 chunks)
            add_ranks(fused, np.einsum("ij,j->i", vectors, np.asarray(query_vector, dtype=np.float32)), depth)
        return fused

    def top(self, terms: list[str], query_vector: npt.NDArray[np.float32] | None, k: int,
            depth: int | None = None) -> list[tuple[int, float]]:
        """The best ``k`` texts as ``(index, fused score)``, best first (only texts with a score).

        ``depth`` defaults to ``max(100, 4 * k)``.
        """
        fused = self.fused(terms, query_vector, depth if depth is not None else max(100, 4 * k))
        found = np.flatnonzero(fused > 0)
        order = found[np.lexsort((found, -fused[found]))][:k]
        return [(int(i), round(float(fused[i]), 6)) for i in order]


__all__ = ["RRF_K", "HybridRanker", "add_ranks", "bm25_module"]
