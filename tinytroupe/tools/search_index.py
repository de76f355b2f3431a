"""Hybrid ranking for :class:`~tinytroupe.tools.web_search.TinyWebSearch`: BM25 and embeddings, fused.

Documents are cut into passages (:func:`~tinytroupe.agent.memory.documents.passages`). A query is
ranked twice over the passages: by BM25 (the ``bm25s`` package, from the ``tools`` extra) and by the
cosine similarity of embeddings (any :class:`~tinytroupe.embeddings.Embedder`). The two rankings are
fused by reciprocal rank: a passage scores ``1/(k + rank)`` in each ranking it appears in (a
passage without any query word is not in the BM25 ranking). A document scores as its best passage.
Ties go to the earlier passage, so results are deterministic.

Example:
    >>> from tinytroupe.embeddings import HashingEmbedder
    >>> from tinytroupe.tools.search_corpus import from_pairs
    >>> docs = from_pairs([("Tea", "Green tea grows in Kenya."), ("Bikes", "Bicycle lanes in Lisbon.")])
    >>> index = HybridIndex(docs, HashingEmbedder(dim=64))
    >>> [hit.document.title for hit in index.search("bicycle lanes", 2)]
    ['Bikes', 'Tea']
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tinytroupe.agent.memory.documents import passages
from tinytroupe.embeddings.port import Embedder
from tinytroupe.errors import ConfigError
from tinytroupe.tools.search_corpus import SearchDocument, tokenize

logger = logging.getLogger(__name__)

#: the constant of reciprocal rank fusion (the usual choice; larger flattens the ranks' weights)
RRF_K = 60
#: passage length for search (longer than memory's: a result's snippet is cut from one passage)
SEARCH_PASSAGE_CHARS = 600
_EMBED_BATCH = 64


@dataclass(frozen=True)
class PassageHit:
    """One document found: its best passage and the fused score."""

    document: SearchDocument
    passage: str
    score: float
    terms: tuple[str, ...]  # the query's words found in the passage


def _bm25() -> Any:
    try:
        import bm25s
    except ImportError as exc:
        raise ConfigError("web search ranks with the package 'bm25s'; install it with "
                          "pip install 'tinytroupe[tools]' (or pip install bm25s)") from exc
    return bm25s


class HybridIndex:
    """BM25 and embedding indexes over the passages of ``documents`` (built in the constructor)."""

    def __init__(self, documents: Sequence[SearchDocument], embedder: Embedder | None,
                 passage_chars: int = SEARCH_PASSAGE_CHARS) -> None:
        self.documents = list(documents)
        self.passages: list[str] = []
        self.owner: list[int] = []  # passage -> document index
        for d, doc in enumerate(self.documents):
            for text in passages(doc.text, passage_chars):
                self.passages.append(text)
                self.owner.append(d)
        self._tokens = [tokenize(p) for p in self.passages]
        self._retriever: Any = None
        if any(self._tokens):
            # A passage with no words gets an empty token list; bm25s indexes it with an empty token.
            self._retriever = _bm25().BM25()
            self._retriever.index(self._tokens, show_progress=False)
        self.embedder = embedder
        self._vectors = self._embed_passages() if embedder is not None else None

    def _embed_passages(self) -> np.ndarray:
        assert self.embedder is not None
        rows = [self.embedder.embed(self.passages[i:i + _EMBED_BATCH])
                for i in range(0, len(self.passages), _EMBED_BATCH)]
        return np.concatenate(rows) if rows else np.zeros((0, self.embedder.dim), dtype=np.float32)

    def search(self, query: str, top_k: int) -> list[PassageHit]:
        """The ``top_k`` best documents for ``query``, best first (fewer if fewer documents match)."""
        terms = tokenize(query)
        fused = np.zeros(len(self.passages), dtype=np.float64)
        lexical = self._bm25_scores(terms)
        self._add_ranks(fused, lexical)
        if self._vectors is not None and self.embedder is not None and query.strip() and len(self.passages):
            semantic = self._vectors @ self.embedder.embed([query])[0]
            self._add_ranks(fused, semantic)
        best: dict[int, int] = {}  # document -> its best passage
        for p in np.argsort(-fused, kind="stable"):
            if fused[p] <= 0:
                break
            best.setdefault(self.owner[p], int(p))
            if len(best) == top_k:
                break
        wanted = set(terms)
        return [PassageHit(self.documents[d], self.passages[p], round(float(fused[p]), 6),
                           tuple(t for t in dict.fromkeys(self._tokens[p]) if t in wanted))
                for d, p in best.items()]

    def _bm25_scores(self, terms: list[str]) -> np.ndarray:
        if self._retriever is None or not terms:
            return np.zeros(len(self.passages), dtype=np.float64)
        if not self._retriever.get_tokens_ids(terms):  # no query word in the collection
            return np.zeros(len(self.passages), dtype=np.float64)
        return np.asarray(self._retriever.get_scores(terms), dtype=np.float64)

    @staticmethod
    def _add_ranks(fused: np.ndarray, scores: np.ndarray) -> None:
        """Add ``1/(RRF_K + rank)`` for each passage with a positive score (rank 1 is the best)."""
        order = np.argsort(-scores, kind="stable")
        ranked = order[scores[order] > 0]
        fused[ranked] += 1.0 / (RRF_K + np.arange(1, len(ranked) + 1))


__all__ = ["RRF_K", "SEARCH_PASSAGE_CHARS", "HybridIndex", "PassageHit"]
