"""Grounding: knowledge stores and retrieval that agents draw on: documents an agent (or a whole world)
can consult, chunked, stored and retrieved with citations, and knowledge graphs
(:mod:`tinytroupe.grounding.graph`: entities and relations extracted by a model, merged, persisted in
the run file, retrieved into prompts).

Files (text, Markdown, HTML, PDF, DOCX) and folders are read into pages (:mod:`.readers`), cut into
chunks by tokens with overlap (:mod:`.chunking`), kept with their vectors in SQLite (the run file's
during a simulation: :mod:`tinytroupe.storage.document_chunks`) and found by BM25 and embeddings
fused by reciprocal rank (:mod:`.ranking`, shared with the web-search tool). A llama-index index
or retriever can serve as a retriever too (:mod:`.llama_index`). See ``docs/grounding.md``.

Public names: DocumentStore, Chunk, ChunkHit, IngestReport, Retriever, cited_ids, DocumentEvent,
LlamaIndexRetriever, HybridRanker, SourceFile, Page, read_file, chunk_pages, ingest_folder.
"""

from tinytroupe.grounding.chunking import chunk_pages
from tinytroupe.grounding.events import DocumentEvent
from tinytroupe.grounding.folders import ingest_folder
from tinytroupe.grounding.llama_index import LlamaIndexRetriever
from tinytroupe.grounding.models import Chunk, ChunkHit, IngestReport, Retriever, cited_ids
from tinytroupe.grounding.ranking import HybridRanker
from tinytroupe.grounding.readers import Page, SourceFile, read_file
from tinytroupe.grounding.store import DocumentStore

__all__ = ["Chunk", "ChunkHit", "DocumentEvent", "DocumentStore", "HybridRanker", "IngestReport",
           "LlamaIndexRetriever", "Page", "Retriever", "SourceFile", "chunk_pages", "cited_ids", "ingest_folder",
           "read_file"]
