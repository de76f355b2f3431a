"""Document stores' rows in the run file: documents, their chunks and the chunks' vectors.

Two tables: ``grounding_documents`` holds one row per document of a *collection* (``agent:<name>``
for an agent's own documents, ``world:<name>`` for a world's shared ones; any name a user picks)
and ``grounding_chunks`` its chunks in order, each with its page, character span, text and
embedding (float32 bytes, with the embedder's name and dimension, so a store opened with another
embedder knows to embed again). Rows are keyed by simulation id, collection and id; adding a
document with an id already there replaces it and its chunks in one transaction. The index built
from the rows (:mod:`tinytroupe.grounding.store`) lives in memory; :meth:`DocumentTables.revision`
tells stores in the same process that share these tables when to rebuild it.

Example:
    >>> import numpy as np
    >>> tables = DocumentTables(":memory:", "demo")
    >>> doc = StoredDocument(doc_id="menu.md", name="menu.md", source="/tmp/menu.md", kind="markdown",
    ...                      title="Menu", chars=22)
    >>> chunk = ChunkRow("menu.md#1", "menu.md", 1, None, 0, 22, "Soup of the day: leek.")
    >>> tables.add("agent:Lisa", doc, [chunk], np.ones((1, 4), dtype=np.float32) / 2, "hashing")
    >>> [d.doc_id for d in tables.documents("agent:Lisa")], tables.chunks("agent:Lisa").rows[0].text
    (['menu.md'], 'Soup of the day: leek.')
    >>> tables.close()
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict

from tinytroupe.errors import InvalidArgument
from tinytroupe.storage.run_tables import RunFileTables
from tinytroupe.storage.sqlite import ensure_schema, transaction

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS grounding_documents (
    simulation_id   TEXT NOT NULL,
    collection      TEXT NOT NULL,
    doc_id          TEXT NOT NULL,
    name            TEXT NOT NULL,
    source          TEXT NOT NULL,
    kind            TEXT NOT NULL,
    title           TEXT NOT NULL,
    page_count      INTEGER,
    chars           INTEGER NOT NULL,
    truncated_chars INTEGER NOT NULL,
    digest          TEXT NOT NULL,
    chunks          INTEGER NOT NULL,
    PRIMARY KEY (simulation_id, collection, doc_id)
);
CREATE TABLE IF NOT EXISTS grounding_chunks (
    simulation_id TEXT NOT NULL,
    collection    TEXT NOT NULL,
    chunk_id      TEXT NOT NULL,
    doc_id        TEXT NOT NULL,
    seq           INTEGER NOT NULL,
    page          INTEGER,
    start_char    INTEGER NOT NULL,
    end_char      INTEGER NOT NULL,
    text          TEXT NOT NULL,
    embedder      TEXT,
    dim           INTEGER,
    vector        BLOB,
    PRIMARY KEY (simulation_id, collection, chunk_id)
);
CREATE INDEX IF NOT EXISTS grounding_chunks_by_doc ON grounding_chunks (simulation_id, collection, doc_id);
"""
_DOC_COLUMNS = "doc_id, name, source, kind, title, page_count, chars, truncated_chars, digest, chunks"


def create_tables(conn: sqlite3.Connection) -> None:
    """Create (or check) the document tables on ``conn``."""
    ensure_schema(conn, "grounding_documents", SCHEMA_VERSION, _SCHEMA)


class StoredDocument(BaseModel):
    """One document of a collection, as listed (``LIST_DOCUMENTS``)."""

    model_config = ConfigDict(frozen=True)

    doc_id: str
    name: str
    source: str
    kind: str
    title: str
    page_count: int | None = None
    chars: int
    truncated_chars: int = 0
    digest: str = ""
    chunks: int = 0


@dataclass(frozen=True, slots=True)
class ChunkRow:
    """One chunk as stored: ``start``/``end`` are character offsets in its page's text."""

    chunk_id: str
    doc_id: str
    seq: int
    page: int | None
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class ChunkSet:
    """A collection's chunks in order, with their vectors (None when stored without, or with mixed
    embedders) and the embedder that made them."""

    rows: list[ChunkRow]
    vectors: npt.NDArray[np.float32] | None
    embedder: str | None


class DocumentTables(RunFileTables):
    """The document tables of one simulation in a run file (``":memory:"``: a private in-memory database).

    Writes commit before they return. Thread-safe (one connection under a lock).
    """

    what = "the document store"

    def __init__(self, path: str | Path, simulation_id: str) -> None:
        super().__init__(path, simulation_id, setup=create_tables)
        self._revisions: Counter[str] = Counter()

    def revision(self, collection: str) -> int:
        """How many writes this process made to ``collection`` (a store rebuilds its index when it moved)."""
        return self._revisions[collection]

    def add(self, collection: str, document: StoredDocument, chunks: list[ChunkRow],
            vectors: npt.NDArray[np.float32] | None, embedder: str | None) -> None:
        """Store ``document`` and its ``chunks`` (replacing a document of the same id and its chunks).

        Raises:
            InvalidArgument: ``vectors`` has another number of rows than ``chunks``.
            StorageError: the run file cannot be written.
        """
        if vectors is not None and len(vectors) != len(chunks):
            raise InvalidArgument(f"{len(chunks)} chunks need {len(chunks)} vectors, got {len(vectors)}")
        dim = int(vectors.shape[1]) if vectors is not None else None
        blobs = [np.asarray(v, dtype=np.float32).tobytes() for v in vectors] if vectors is not None else None
        sim = self.simulation_id
        rows = [(sim, collection, c.chunk_id, c.doc_id, c.seq, c.page, c.start, c.end, c.text,
                 embedder if blobs else None, dim, blobs[i] if blobs else None) for i, c in enumerate(chunks)]
        with self._lock:
            conn = self._connection()
            with transaction(conn, self.path, "writing a document to"):
                self._delete(conn, collection, document.doc_id)
                conn.execute(f"INSERT INTO grounding_documents (simulation_id, collection, {_DOC_COLUMNS}) "
                             "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                             (sim, collection, document.doc_id, document.name, document.source, document.kind,
                              document.title, document.page_count, document.chars, document.truncated_chars,
                              document.digest, len(chunks)))
                conn.executemany("INSERT INTO grounding_chunks VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", rows)
            self._revisions[collection] += 1

    def remove(self, collection: str, doc_id: str) -> bool:
        """Remove a document and its chunks; False when there was none of that id."""
        with self._lock:
            conn = self._connection()
            with transaction(conn, self.path, "removing a document from"):
                found = self._delete(conn, collection, doc_id)
            self._revisions[collection] += 1
        return found

    def _delete(self, conn: sqlite3.Connection, collection: str, doc_id: str) -> bool:
        key = (self.simulation_id, collection, doc_id)
        conn.execute("DELETE FROM grounding_chunks WHERE simulation_id = ? AND collection = ? AND doc_id = ?", key)
        cur = conn.execute("DELETE FROM grounding_documents WHERE simulation_id = ? AND collection = ? "
                           "AND doc_id = ?", key)
        return cur.rowcount > 0

    def set_vectors(self, collection: str, chunk_ids: list[str], vectors: npt.NDArray[np.float32],
                    embedder: str) -> None:
        """Replace the vectors of ``chunk_ids`` (embedded again with ``embedder``)."""
        dim = int(vectors.shape[1])
        rows = [(embedder, dim, np.asarray(v, dtype=np.float32).tobytes(), self.simulation_id, collection, cid)
                for cid, v in zip(chunk_ids, vectors, strict=True)]
        with self._lock:
            conn = self._connection()
            with transaction(conn, self.path, "writing chunk vectors to"):
                conn.executemany("UPDATE grounding_chunks SET embedder = ?, dim = ?, vector = ? WHERE "
                                 "simulation_id = ? AND collection = ? AND chunk_id = ?", rows)

    def documents(self, collection: str) -> list[StoredDocument]:
        """The documents of ``collection``, in the order they were added."""
        found = self._read(f"SELECT {_DOC_COLUMNS} FROM grounding_documents WHERE simulation_id = ? AND "
                           "collection = ? ORDER BY rowid", (self.simulation_id, collection))
        names = _DOC_COLUMNS.split(", ")
        return [StoredDocument(**dict(zip(names, row, strict=True))) for row in found]

    def chunks(self, collection: str, doc_id: str | None = None) -> ChunkSet:
        """The chunks of ``collection`` (of one document if ``doc_id``), in order, with their vectors."""
        sql = ("SELECT chunk_id, doc_id, seq, page, start_char, end_char, text, embedder, dim, vector FROM "
               "grounding_chunks WHERE simulation_id = ? AND collection = ?")
        args: tuple[object, ...] = (self.simulation_id, collection)
        if doc_id is not None:
            sql, args = sql + " AND doc_id = ?", (*args, doc_id)
        found = self._read(sql + " ORDER BY rowid", args)
        rows = [ChunkRow(*r[:7]) for r in found]
        kinds = {(r[7], r[8]) for r in found}
        if not found or len(kinds) != 1 or None in next(iter(kinds)):
            return ChunkSet(rows, None, None)
        blob = b"".join(r[9] for r in found)
        dim = int(next(iter(kinds))[1])
        vectors = np.frombuffer(blob, dtype=np.float32).reshape(len(found), dim)
        return ChunkSet(rows, vectors, str(next(iter(kinds))[0]))

    def collections(self) -> list[str]:
        """The collections this simulation has documents in."""
        found = self._read("SELECT DISTINCT collection FROM grounding_documents WHERE simulation_id = ? "
                           "ORDER BY collection", (self.simulation_id,))
        return [str(r[0]) for r in found]

__all__ = ["ChunkRow", "ChunkSet", "DocumentTables", "StoredDocument", "create_tables"]
