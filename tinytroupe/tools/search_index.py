"""Hybrid ranking for :class:`~tinytroupe.tools.web_search.TinyWebSearch`: BM25 and embeddings, fused.

Documents are cut into passages (:func:`~tinytroupe.agent.memory.documents.passages`). The ranking
is the grounding layer's :class:`~tinytroupe.grounding.ranking.HybridRanker` (the one document stores
use): BM25 (the ``bm25s`` package, from the ``tools`` extra) and the cosine similarity of embeddings
(any :class:`~tinytroupe.embeddings.Embedder`), fused by reciprocal rank over every passage. A
document scores as its best passage. Ties go to the earlier passage, so results are deterministic.

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

import numpy as np

from tinytroupe.agent.memory.documents import passages
from tinytroupe.embeddings.port import Embedder
from tinytroupe.grounding.ranking import RRF_K, HybridRanker
from tinytroupe.tools.search_corpus import SearchDocument, tokenize

logger = logging.getLogger(__name__)

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
        self.embedder = embedder
        self._ranker = HybridRanker()
        self._ranker.add([tokenize(p) for p in self.passages],
                         self._embed_passages() if embedder is not None and self.passages else None)

    def _embed_passages(self) -> np.ndarray:
        assert self.embedder is not None
        rows = [self.embedder.embed(self.passages[i:i + _EMBED_BATCH])
                for i in range(0, len(self.passages), _EMBED_BATCH)]
        return np.concatenate(rows)

    def search(self, query: str, top_k: int) -> list[PassageHit]:
        """The ``top_k`` best documents for ``query``, best first (fewer if fewer documents match)."""
        terms = tokenize(query)
        qvec = self.embedder.embed([query])[0] if self.embedder is not None and query.strip() else None
        fused = self._ranker.fused(terms, qvec)  # every passage: a document scores as its best one
        best: dict[int, int] = {}  # document -> its best passage
        for p in np.argsort(-fused, kind="stable"):
            if fused[p] <= 0:
                break
            best.setdefault(self.owner[p], int(p))
            if len(best) == top_k:
                break
        wanted = set(terms)
        return [PassageHit(self.documents[d], self.passages[p], round(float(fused[p]), 6),
                           tuple(t for t in dict.fromkeys(self._ranker.tokens(p)) if t in wanted))
                for d, p in best.items()]


__all__ = ["RRF_K", "SEARCH_PASSAGE_CHARS", "HybridIndex", "PassageHit"]
