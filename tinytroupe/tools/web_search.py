"""``TinyWebSearch``: a search engine over a local document collection (nothing leaves the machine).

Agents search as they would the web: ``WEB_SEARCH`` returns ranked results (title, score, a snippet
around the query's words, a source id) and ``OPEN_PAGE`` reads a result's text, a bounded page at a
time. Ranking fuses BM25 and embeddings (:mod:`tinytroupe.tools.search_index`); the collection is a
folder of text, Markdown, HTML and PDF files or ``(title, text)`` pairs
(:mod:`tinytroupe.tools.search_corpus`). The index is built once, on the first search.

Example:
    >>> from tinytroupe.embeddings import HashingEmbedder
    >>> search = TinyWebSearch(documents=[("Coffee", "Arabica coffee grows in the highlands of Ethiopia."),
    ...                                   ("Cycling", "Lisbon opened new bicycle lanes along the river.")],
    ...                        embedder=HashingEmbedder(dim=64))
    >>> found = search.call("WEB_SEARCH", "bicycle lanes")
    >>> [(r.id, r.title) for r in found.results]
    [('doc-2', 'Cycling'), ('doc-1', 'Coffee')]
    >>> search.call("OPEN_PAGE", {"id": "doc-1", "max_chars": 200}).text
    'Arabica coffee grows in the highlands of Ethiopia.'
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from tinytroupe.embeddings.port import Embedder
from tinytroupe.errors import InvalidArgument, ToolArgumentError
from tinytroupe.tools.base import TinyTool, ToolCall, tool_action
from tinytroupe.tools.search_corpus import SearchDocument, check_folder, from_pairs, load_folder, snippet
from tinytroupe.tools.search_index import SEARCH_PASSAGE_CHARS, HybridIndex

if TYPE_CHECKING:
    from tinytroupe.agent.person import TinyPerson

#: most results one search returns
MAX_TOP_K = 20
#: most characters one ``OPEN_PAGE`` returns
MAX_PAGE_CHARS = 8_000
#: characters of a result's snippet
SNIPPET_CHARS = 240


class WebSearchArgs(BaseModel):
    """What to search for."""

    query: str = Field(min_length=1, max_length=500, description="the words to search for")
    top_k: int = Field(5, ge=1, le=MAX_TOP_K, description=f"how many results (1 to {MAX_TOP_K})")


class SearchResult(BaseModel):
    """One result: ``id`` is what ``OPEN_PAGE`` takes."""

    rank: int
    id: str
    title: str
    score: float
    snippet: str


class WebSearchResults(BaseModel):
    """The ranked results of one search (empty when nothing matches)."""

    query: str
    results: list[SearchResult]


class OpenPageArgs(BaseModel):
    """Which page to read, from where, and how much."""

    id: str = Field(min_length=1, description="a result's id")
    offset: int = Field(0, ge=0, description="the character to start from (a previous page's next_offset)")
    max_chars: int = Field(2_000, ge=1, le=MAX_PAGE_CHARS, description=f"characters to read (at most {MAX_PAGE_CHARS})")


class PageText(BaseModel):
    """Part of a document: ``next_offset`` is where the next part starts (None at the end)."""

    id: str
    title: str
    text: str
    offset: int
    next_offset: int | None
    total_chars: int


class IndexReport(BaseModel):
    """What the index holds, and the files left out of it with the reason."""

    documents: int
    passages: int
    skipped: list[tuple[str, str]]


class TinyWebSearch(TinyTool):
    """Search over a local collection: ``folder`` (files) or ``documents`` (``(title, text)`` pairs).

    Args:
        folder: a folder of ``.txt``/``.md``/``.rst``/``.html``/``.pdf`` files (read recursively).
        documents: ``(title, text)`` pairs (ids ``doc-1``, ``doc-2`` ...). Give one of the two.
        embedder: the embedder for the semantic ranking: an :class:`~tinytroupe.embeddings.Embedder`,
            a kind (``use``, ``hash``, ``openai``: the process-wide one memory uses), None for the kind
            named by ``[Memory] EMBEDDER``, or False for BM25 alone.
        passage_chars: length of the passages documents are cut into.

    Raises:
        InvalidArgument: neither or both sources, or a folder that does not exist (naming it).
    """

    capabilities = ("search", "web_search")

    def __init__(self, folder: str | Path | None = None, documents: Iterable[tuple[str, str]] | None = None, *,
                 embedder: Embedder | str | bool | None = None, passage_chars: int = SEARCH_PASSAGE_CHARS,
                 name: str = "web_search", owner: TinyPerson | str | None = None) -> None:
        super().__init__(name, "search engine over a document collection: find pages, then read them", owner=owner)
        if (folder is None) == (documents is None):
            raise InvalidArgument("TinyWebSearch needs either folder= (a folder of documents) or documents= "
                                  "((title, text) pairs), not both or neither")
        if passage_chars < 50:
            raise InvalidArgument(f"passage_chars must be at least 50, got {passage_chars}")
        # Checked now (cheap), read on the first search: a typo shows at once, not in an agent's turn.
        self.folder = check_folder(folder) if folder is not None else None
        self._pairs = from_pairs(documents) if documents is not None else None
        self._embedder_choice = embedder
        self.passage_chars = passage_chars
        self._index: HybridIndex | None = None
        self._skipped: list[tuple[str, str]] = []
        self._lock = threading.Lock()  # sync operations run in worker threads: one build only

    # ------------------------------------------------------------------ index
    def _resolve_embedder(self) -> Embedder | None:
        choice = self._embedder_choice
        if choice is False:
            return None
        if choice is None or choice is True or isinstance(choice, str):
            from tinytroupe.agent.memory.indexing import shared_embedder
            from tinytroupe.config import current_settings

            return shared_embedder(choice if isinstance(choice, str) else current_settings().memory.embedder)
        return choice

    def index(self) -> HybridIndex:
        """The index, built on first use (reading the folder and embedding every passage)."""
        with self._lock:
            if self._index is None:
                if self._pairs is not None:
                    docs: list[SearchDocument] = self._pairs
                else:
                    assert self.folder is not None
                    docs, self._skipped = load_folder(self.folder)
                self._index = HybridIndex(docs, self._resolve_embedder(), self.passage_chars)
            return self._index

    def index_report(self) -> IndexReport:
        """How many documents and passages the index holds, and which files were left out (builds it)."""
        index = self.index()
        return IndexReport(documents=len(index.documents), passages=len(index.passages), skipped=list(self._skipped))

    def _document(self, doc_id: str) -> SearchDocument:
        for doc in self.index().documents:
            if doc.id == doc_id:
                return doc
        known = [d.id for d in self.index().documents[:5]]
        raise ToolArgumentError(f"no page with id {doc_id!r}; use an id from WEB_SEARCH's results "
                                f"(e.g. {', '.join(known) or 'none: the collection is empty'})",
                                tool=self.name, action="OPEN_PAGE")

    # ------------------------------------------------------------------ operations
    @tool_action("WEB_SEARCH", "search the documents; content: the query (or JSON {query, top_k})")
    def web_search(self, call: ToolCall, args: WebSearchArgs) -> WebSearchResults:
        hits = self.index().search(args.query, args.top_k)
        return WebSearchResults(query=args.query, results=[
            SearchResult(rank=i, id=hit.document.id, title=hit.document.title, score=hit.score,
                         snippet=snippet(hit.passage, hit.terms, SNIPPET_CHARS))
            for i, hit in enumerate(hits, start=1)])

    @tool_action("OPEN_PAGE", "read a search result's text: JSON {id, offset, max_chars}")
    def open_page(self, call: ToolCall, args: OpenPageArgs) -> PageText:
        doc = self._document(args.id)
        total = len(doc.text)
        if args.offset >= total and total > 0:
            raise ToolArgumentError(f"offset {args.offset} is past the end of {args.id!r} ({total} characters)",
                                    tool=self.name, action="OPEN_PAGE")
        end = min(total, args.offset + args.max_chars)
        if end < total:  # end the page between words when a space is near the end
            space = doc.text.rfind(" ", args.offset + args.max_chars // 2, end)
            end = space + 1 if space > 0 else end
        return PageText(id=doc.id, title=doc.title, text=doc.text[args.offset:end], offset=args.offset,
                        next_offset=end if end < total else None, total_chars=total)


__all__ = ["MAX_PAGE_CHARS", "MAX_TOP_K", "IndexReport", "OpenPageArgs", "PageText", "SearchResult", "TinyWebSearch",
           "WebSearchArgs", "WebSearchResults"]
