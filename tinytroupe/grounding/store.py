"""``DocumentStore``: documents cut into cited chunks, kept in SQLite, found by words and meaning.

A store is one *collection* (``agent:Lisa`` for an agent's own documents, ``world:Office`` for a
world's shared ones) in a :class:`~tinytroupe.storage.document_chunks.DocumentTables`: the run
file's while a simulation runs (``RunContext.document_tables``, see :meth:`DocumentStore.for_context`),
else a private in-memory database. Files are read by :mod:`~tinytroupe.grounding.readers`, cut by
:mod:`~tinytroupe.grounding.chunking` (tokens, with overlap, page and span kept), embedded through
the embeddings port (stored as float32 blobs), and ranked by
:class:`~tinytroupe.grounding.ranking.HybridRanker` (BM25 and vectors, reciprocal rank fusion).
Ingesting a file again replaces it if it changed and leaves it alone if not. Folders are read by
:mod:`~tinytroupe.grounding.folders`.

Example:
    >>> from tinytroupe.embeddings import HashingEmbedder
    >>> store = DocumentStore("agent:Lisa", embedder=HashingEmbedder(dim=64))
    >>> store.ingest_text("shop.md", "The shop closes at six on Sundays. Returns need a receipt.").added
    ['shop.md']
    >>> hit = store.retrieve("when does the shop close on Sunday?", top_k=1)[0]
    >>> hit.chunk.label(), hit.chunk.text[:34]
    ('[shop.md#1] (shop.md)', 'The shop closes at six on Sundays.')
"""

from __future__ import annotations

import hashlib
import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from tinytroupe.embeddings.port import Embedder
from tinytroupe.errors import InvalidArgument, NotFound
from tinytroupe.grounding.chunking import CHUNK_TOKENS, OVERLAP_TOKENS, chunk_pages
from tinytroupe.grounding.folders import ingest_folder
from tinytroupe.grounding.models import Chunk, ChunkHit, IngestReport
from tinytroupe.grounding.ranking import HybridRanker
from tinytroupe.grounding.readers import MAX_TEXT_CHARS, Kind, Page, SourceFile, read_file
from tinytroupe.grounding.text import tokenize
from tinytroupe.storage.document_chunks import ChunkRow, DocumentTables, StoredDocument

if TYPE_CHECKING:  # annotation only: a store without a context never needs it
    from tinytroupe.context import RunContext

logger = logging.getLogger(__name__)

#: most results one retrieval returns
MAX_TOP_K = 50
_EMBED_BATCH = 256


class DocumentStore:
    """One collection of documents, chunked, embedded and indexed (see the module docstring).

    Args:
        collection: the collection's name (``agent:<name>``, ``world:<name>`` or any other).
        embedder: embeds chunks and queries; None ranks by BM25 alone.
        tables: where rows are kept (None: a private in-memory database).
        chunk_tokens, overlap_tokens: chunk size and overlap (:func:`~tinytroupe.grounding.chunking.chunk_pages`).
        max_chars: most characters read from one file (the rest is left out and reported).
        max_file_bytes: largest file read (None: :data:`~tinytroupe.grounding.readers.MAX_FILE_BYTES`).

    Raises:
        InvalidArgument: an empty collection name or bad chunk sizes.
    """

    def __init__(self, collection: str = "documents", *, embedder: Embedder | None = None,
                 tables: DocumentTables | None = None, chunk_tokens: int = CHUNK_TOKENS,
                 overlap_tokens: int = OVERLAP_TOKENS, max_chars: int = MAX_TEXT_CHARS,
                 max_file_bytes: int | None = None) -> None:
        if not isinstance(collection, str) or not collection.strip():
            raise InvalidArgument("a document store needs a non-empty collection name")
        chunk_pages([], chunk_tokens, overlap_tokens)  # checks the sizes now, not at the first file
        self.collection = collection.strip()
        self.name = self.collection
        self.embedder = embedder
        self.tables = tables if tables is not None else DocumentTables(":memory:", "local")
        self.chunk_tokens, self.overlap_tokens = chunk_tokens, overlap_tokens
        self.max_chars, self.max_file_bytes = max_chars, max_file_bytes
        self._lock = threading.RLock()
        self._rows: list[ChunkRow] = []
        self._by_id: dict[str, int] = {}
        self._names: dict[str, str] = {}  # doc id -> document name
        self._ranker = HybridRanker()
        self._revision = -1  # the tables' revision the index was built at (-1: never)

    @classmethod
    def for_context(cls, collection: str, context: RunContext | None, *, embedder: Embedder | None = None,
                    **options: int) -> DocumentStore:
        """A store kept in ``context``'s run file (its ``document_tables``), or in memory without one."""
        tables = context.document_tables if context is not None else None
        return cls(collection, embedder=embedder, tables=tables, **options)

    # ------------------------------------------------------------------ ingesting
    def ingest_file(self, file_path: str | Path, *, doc_id: str | None = None) -> IngestReport:
        """Read, chunk, embed and store one file (id: ``doc_id``, else its file name).

        Raises:
            DocumentError: the file cannot be read (missing, too large, unsupported, damaged; naming it).
            ConfigError: a ``.docx`` without ``python-docx``, or the embedder's model or key missing.
        """
        source = read_file(file_path, max_chars=self.max_chars, max_bytes=self.max_file_bytes)
        if source.truncated_chars:
            logger.warning("%s: %s is long; the last %s characters were not read", self.collection, source.path,
                           f"{source.truncated_chars:,}")
        return self.add_source(source, doc_id=doc_id or source.name)

    def ingest_folder(self, folder: str | Path) -> IngestReport:
        """Ingest every readable file of ``folder`` (subfolders too); the rest is skipped and reported.

        Raises:
            DocumentError: a missing folder, or nothing readable in it (see :mod:`~tinytroupe.grounding.folders`).
        """
        return ingest_folder(self, folder)

    def ingest_text(self, name: str, text: str, *, source: str | None = None, kind: Kind = "text") -> IngestReport:
        """Store ``text`` as a document called ``name`` (its id), e.g. a web page already fetched."""
        if not isinstance(text, str):
            raise InvalidArgument(f"the text of document {name!r} must be a str, got {type(text).__name__}")
        cut = text[:self.max_chars]
        src = SourceFile(name=name, path=source or name, kind=kind,
                         title=name, pages=(Page(None, cut),), page_count=None, truncated_chars=len(text) - len(cut))
        return self.add_source(src, doc_id=name)

    def add_source(self, source: SourceFile, *, doc_id: str) -> IngestReport:
        """Chunk, embed and store an already read file under ``doc_id`` (replacing a changed one)."""
        report = IngestReport(collection=self.collection)
        digest = hashlib.sha256("\x00".join(f"{p.number}:{p.text}" for p in source.pages).encode()).hexdigest()
        spans = chunk_pages(source.pages, self.chunk_tokens, self.overlap_tokens)
        rows = [ChunkRow(f"{doc_id}#{i}", doc_id, i, s.page, s.start, s.end, s.text)
                for i, s in enumerate(spans, start=1)]
        document = StoredDocument(doc_id=doc_id, name=source.name, source=source.path, kind=source.kind,
                                  title=source.title, page_count=source.page_count, chars=len(source.text),
                                  truncated_chars=source.truncated_chars, digest=digest, chunks=len(rows))
        with self._lock:
            self._sync()
            known = {d.doc_id: d for d in self.tables.documents(self.collection)}
            if doc_id in known and known[doc_id].digest == digest:
                report.unchanged.append(doc_id)
                return report
            vectors = self._embed([r.text for r in rows]) if self.embedder is not None and rows else None
            before = self.tables.revision(self.collection)
            self.tables.add(self.collection, document, rows, vectors,
                            self.embedder.name if self.embedder is not None else None)
            if doc_id not in known and before == self._revision:  # nothing else changed: extend the index
                self._append(rows, vectors)
                self._names[doc_id] = source.name
                self._revision = self.tables.revision(self.collection)
        report.added.append(doc_id)
        report.chunks, report.pages = len(rows), len(source.pages)
        return report

    def remove(self, doc_id: str) -> bool:
        """Remove a document and its chunks; False when there is none of that id."""
        with self._lock:
            return self.tables.remove(self.collection, doc_id)

    # ------------------------------------------------------------------ reading
    def documents(self) -> list[StoredDocument]:
        """The collection's documents, in the order they were added."""
        return self.tables.documents(self.collection)

    def document(self, name: str) -> StoredDocument:
        """The document whose id or file name is ``name``.

        Raises:
            NotFound: no such document (the message lists some that exist).
        """
        docs = self.documents()
        for doc in docs:
            if name in (doc.doc_id, doc.name):
                return doc
        known = ", ".join(d.doc_id for d in docs[:8]) or "none yet"
        raise NotFound(f"no document {name!r} in {self.collection} (documents: {known})")

    def chunks(self, doc_id: str | None = None) -> list[Chunk]:
        """The chunks of one document (or of all), in reading order."""
        with self._lock:
            self._sync()
            return [self._chunk(i) for i, r in enumerate(self._rows) if doc_id is None or r.doc_id == doc_id]

    def chunk(self, chunk_id: str) -> Chunk:
        """The chunk ``chunk_id``.

        Raises:
            NotFound: no such chunk.
        """
        with self._lock:
            self._sync()
            if chunk_id not in self._by_id:
                raise NotFound(f"no chunk {chunk_id!r} in {self.collection}")
            return self._chunk(self._by_id[chunk_id])

    def has_chunk(self, chunk_id: str) -> bool:
        """Whether ``chunk_id`` is one of this collection's chunks."""
        with self._lock:
            self._sync()
            return chunk_id in self._by_id

    def __len__(self) -> int:
        with self._lock:
            self._sync()
            return len(self._rows)

    def retrieve(self, query: str, top_k: int = 5) -> list[ChunkHit]:
        """The ``top_k`` chunks best matching ``query`` by words and meaning, best first.

        Raises:
            InvalidArgument: ``top_k`` outside 1 to :data:`MAX_TOP_K`.
            ConfigError: ``bm25s`` (the ``tools`` extra) is not installed.
        """
        if not 1 <= top_k <= MAX_TOP_K:
            raise InvalidArgument(f"top_k must be between 1 and {MAX_TOP_K}, got {top_k}")
        with self._lock:
            self._sync()
            if not self._rows or not query.strip():
                return []
            qvec = self.embedder.embed([query])[0] if self.embedder is not None else None
            found = self._ranker.top(tokenize(query), qvec, top_k)
            return [ChunkHit(rank=n, score=score, chunk=self._chunk(i), source=self.collection)
                    for n, (i, score) in enumerate(found, start=1)]

    # ------------------------------------------------------------------ index
    def _chunk(self, index: int) -> Chunk:
        r = self._rows[index]
        return Chunk(chunk_id=r.chunk_id, doc_id=r.doc_id, document=self._names.get(r.doc_id, r.doc_id), page=r.page,
                     start=r.start, end=r.end, text=r.text)

    def _embed(self, texts: list[str]) -> npt.NDArray[np.float32]:
        assert self.embedder is not None
        return np.concatenate([self.embedder.embed(texts[i:i + _EMBED_BATCH])
                               for i in range(0, len(texts), _EMBED_BATCH)])

    def _append(self, rows: list[ChunkRow], vectors: npt.NDArray[np.float32] | None) -> None:
        start = len(self._rows)
        self._rows.extend(rows)
        self._by_id.update({r.chunk_id: start + i for i, r in enumerate(rows)})
        self._ranker.add([tokenize(r.text) for r in rows], vectors)

    def _sync(self) -> None:
        """Rebuild the index from the tables if they changed since it was built (another store, a removal)."""
        revision = self.tables.revision(self.collection)
        if revision == self._revision:
            return
        found = self.tables.chunks(self.collection)
        vectors = found.vectors if self.embedder is not None else None
        if self.embedder is not None and found.rows and (
                found.embedder != self.embedder.name or vectors is None or vectors.shape[1] != self.embedder.dim):
            # stored with another embedder (or none): embed again, and keep the new vectors
            logger.info("%s: embedding %d chunks again with %s", self.collection, len(found.rows), self.embedder.name)
            vectors = self._embed([r.text for r in found.rows])
            self.tables.set_vectors(self.collection, [r.chunk_id for r in found.rows], vectors, self.embedder.name)
        self._rows, self._by_id, self._ranker = [], {}, HybridRanker()
        self._names = {d.doc_id: d.name for d in self.tables.documents(self.collection)}
        self._append(found.rows, vectors if found.rows else None)
        self._revision = self.tables.revision(self.collection)


__all__ = ["MAX_TOP_K", "DocumentStore"]
