"""What document stores and retrievers return: chunks, ranked hits, ingestion reports, and the
:class:`Retriever` protocol every source of chunks follows (stores, the llama-index adapter).

A chunk's id is ``<document id>#<n>`` (n from 1, in reading order); an answer cites it in square
brackets, ``[menu.pdf#3]``, which :func:`cited_ids` finds again.

Example:
    >>> chunk = Chunk(chunk_id="menu.pdf#3", doc_id="menu.pdf", document="menu.pdf", page=2, text="Leek soup.")
    >>> chunk.label()
    '[menu.pdf#3] (menu.pdf, page 2)'
    >>> cited_ids("Leek soup today [menu.pdf#3], and pie [notes/a b.md#12].")
    ['menu.pdf#3', 'notes/a b.md#12']
    >>> cited_ids("As the wiki says [n-7f2] and [n-1].", known=["n-1", "n-7f2", "n-9"])
    ['n-7f2', 'n-1']
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

_CITATION = re.compile(r"\[([^\[\]\n]{1,200}#\d{1,7})\]")


class Chunk(BaseModel):
    """One chunk of a document: where it is (page, character span) and its text."""

    model_config = ConfigDict(frozen=True)

    chunk_id: str
    doc_id: str
    document: str  # the document's name (its file name)
    page: int | None = None
    start: int = 0
    end: int = 0
    text: str

    def label(self) -> str:
        """``[id] (document, page n)``: how a chunk is shown to an agent, ready to cite."""
        where = f"{self.document}, page {self.page}" if self.page is not None else self.document
        return f"[{self.chunk_id}] ({where})"


class ChunkHit(BaseModel):
    """A chunk found for a query: its place in the results (1 first) and fused score."""

    model_config = ConfigDict(frozen=True)

    rank: int
    score: float
    chunk: Chunk
    source: str = Field(description="the collection (or retriever) it came from")


class IngestReport(BaseModel):
    """What one ingestion did: documents added (or replaced), left unchanged, and files skipped with why."""

    collection: str
    added: list[str] = Field(default_factory=list)
    unchanged: list[str] = Field(default_factory=list)
    chunks: int = 0
    pages: int = 0
    skipped: list[tuple[str, str]] = Field(default_factory=list)


@runtime_checkable
class Retriever(Protocol):
    """Anything that finds chunks for a query (a :class:`~tinytroupe.grounding.store.DocumentStore`,
    a :class:`~tinytroupe.grounding.llama_index.LlamaIndexRetriever`)."""

    name: str

    def retrieve(self, query: str, top_k: int = 5) -> list[ChunkHit]: ...


def cited_ids(text: str, known: Iterable[str] | None = None) -> list[str]:
    """The chunk ids cited in ``text`` in square brackets, in order of first citation, without repeats.

    Without ``known``, ids of the stores' form ``[doc#n]``; with it, those of ``known`` (any form,
    e.g. a llama-index node id) cited as ``[id]``.
    """
    if known is None:
        return list(dict.fromkeys(m.group(1).strip() for m in _CITATION.finditer(text)))
    found = [(text.find(f"[{cid}]"), cid) for cid in dict.fromkeys(known)]
    return [cid for at, cid in sorted(found) if at >= 0]


__all__ = ["Chunk", "ChunkHit", "IngestReport", "Retriever", "cited_ids"]
