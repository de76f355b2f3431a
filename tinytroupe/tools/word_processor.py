"""``TinyWordProcessor``: agents write, revise and export documents (Markdown, text, JSON, Word).

TinyTroupe's ``TinyWordProcessor(owner=None, exporter=None, enricher=None)`` handles one action,
``WRITE_DOCUMENT``, and always exports. Ours keeps the documents in the tool's state (saved with the
agent), adds ``REVISE_DOCUMENT`` and ``EXPORT_DOCUMENT``, validates every argument against a bounded
pydantic model, and names files safely. An enricher (:class:`~tinytroupe.enrichment.TinyEnricher`),
when given, expands what ``WRITE_DOCUMENT`` receives, as TinyTroupe does.

Example:
    >>> wp = TinyWordProcessor()
    >>> result = wp.call("WRITE_DOCUMENT", {"title": "Menu", "content": "# Menu\\n\\n- Leek soup"})
    >>> result.document.title, result.document.revision
    ('Menu', 1)
    >>> wp.call("REVISE_DOCUMENT", {"title": "menu", "content": "- Apple pie"}).document.revision
    2
    >>> print(wp.document("Menu").content)
    # Menu
    <BLANKLINE>
    - Leek soup
    <BLANKLINE>
    - Apple pie
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from tinytroupe.errors import InvalidArgument, ToolArgumentError, ToolExecutionError
from tinytroupe.state import StateModel
from tinytroupe.tools.base import TinyTool, ToolCall, tool_action
from tinytroupe.tools.documents import EXPORT_FORMATS, ExportFormat, export_folder, safe_file_name, write_document

if TYPE_CHECKING:
    from tinytroupe.agent.person import TinyPerson

#: the longest document (characters) an argument or an enrichment may carry
MAX_CONTENT_CHARS = 100_000
MAX_TITLE_CHARS = 200
#: documents one word processor keeps
DEFAULT_MAX_DOCUMENTS = 200
#: what the enricher is asked for (our wording; TinyTroupe asks for a document several times larger)
DEFAULT_ENRICHMENT_REQUIREMENTS = (
    "Develop this document into a complete, substantially longer one (about five times its length): add "
    "detail, examples and structure, keep its title, its facts, its author's voice and its Markdown format.")


class Document(BaseModel):
    """A document the word processor keeps."""

    title: str
    content: str
    author: str | None = None
    revision: int = 1
    created_at: datetime | None = None  # simulated time
    updated_at: datetime | None = None
    enriched: bool = False


class DocumentSummary(BaseModel):
    """What a call tells the agent about a document (not its whole text)."""

    title: str
    author: str | None
    revision: int
    characters: int
    enriched: bool


class WriteDocumentArgs(BaseModel):
    title: str = Field(min_length=1, max_length=MAX_TITLE_CHARS, description="the document's title")
    content: str = Field(min_length=1, max_length=MAX_CONTENT_CHARS, description="the text, in Markdown")
    author: str | None = Field(None, max_length=MAX_TITLE_CHARS, description="who wrote it (default: you)")


class ReviseDocumentArgs(BaseModel):
    title: str = Field(min_length=1, max_length=MAX_TITLE_CHARS, description="the title of a document you wrote")
    content: str = Field(min_length=1, max_length=MAX_CONTENT_CHARS, description="the new text, in Markdown")
    mode: Literal["replace", "append"] = Field("append", description="replace the text, or add to its end")


class ExportDocumentArgs(BaseModel):
    title: str = Field(min_length=1, max_length=MAX_TITLE_CHARS, description="the title of a document you wrote")
    format: ExportFormat = Field("md", description="md, txt, json or docx (Word)")


class DocumentResult(BaseModel):
    document: DocumentSummary
    exported: list[str] = Field(default_factory=list, description="files written")


class ExportResult(BaseModel):
    title: str
    format: str
    path: str
    bytes: int


class WordProcessorState(StateModel):
    documents: list[Document] = Field(default_factory=list)


def _key(title: str) -> str:
    return " ".join(title.split()).casefold()


def _sim_now(agent: TinyPerson | None) -> datetime | None:
    env = agent.environment if agent is not None else None
    return env.current_datetime if env is not None else None


class TinyWordProcessor(TinyTool):
    """A word processor: ``WRITE_DOCUMENT``, ``REVISE_DOCUMENT`` and ``EXPORT_DOCUMENT``.

    Args:
        owner: the only agent allowed to use it (None: anyone it is given to).
        exporter: where exports go: a folder path, or an object with ``base_output_folder`` (TinyTroupe's
            ``ArtifactExporter``). Given an exporter, every written or revised document is exported
            in ``auto_export`` formats too, as TinyTroupe does.
        enricher: a :class:`~tinytroupe.enrichment.TinyEnricher` (or anything with ``aenrich_content``
            or ``enrich_content``); when given, ``WRITE_DOCUMENT`` expands the content with it.
        output_folder: where exports go when there is no exporter.
        auto_export: formats written after each write or revision (default: ``("md", "json")`` with an
            exporter, none without; add ``"docx"`` for Word files, which need python-docx).
        max_documents: how many documents it keeps; writing one more is refused.
        enrichment_requirements: what the enricher is asked to do.

    Built without arguments (or with an owner only) it runs in worker processes too: its documents
    are its state.
    """

    capabilities = ("documents", "word_processing")
    portable = True

    def __init__(self, owner: TinyPerson | str | None = None, exporter: Any = None, enricher: Any = None, *,
                 output_folder: str | os.PathLike[str] | None = None,
                 auto_export: Sequence[ExportFormat] | None = None, max_documents: int = DEFAULT_MAX_DOCUMENTS,
                 enrichment_requirements: str = DEFAULT_ENRICHMENT_REQUIREMENTS) -> None:
        super().__init__("wordprocessor", "A word processor to write, revise and export documents (Markdown, Word).",
                         owner=owner, exporter=exporter, enricher=enricher)
        self.folder: Path | None = export_folder(exporter, output_folder)
        formats = tuple(auto_export) if auto_export is not None else (("md", "json") if exporter is not None else ())
        unknown = [f for f in formats if f not in EXPORT_FORMATS]
        if unknown:
            raise InvalidArgument(f"auto_export: unknown formats {unknown}; use {', '.join(EXPORT_FORMATS)}")
        if formats and self.folder is None:
            raise InvalidArgument("auto_export needs an exporter or an output_folder to write to")
        if max_documents < 1:
            raise InvalidArgument(f"max_documents must be at least 1, got {max_documents}")
        if enricher is not None and not (hasattr(enricher, "aenrich_content") or hasattr(enricher, "enrich_content")):
            raise InvalidArgument(f"enricher must have enrich_content (a TinyEnricher), got {type(enricher).__name__}")
        self.auto_export: tuple[str, ...] = formats
        self.max_documents = max_documents
        self.enrichment_requirements = enrichment_requirements
        self._documents: dict[str, Document] = {}
        self._lock = threading.Lock()  # calls of one turn run in worker threads at once

    # ------------------------------------------------------------------ reading
    @property
    def documents(self) -> list[Document]:
        """The documents, oldest first."""
        with self._lock:
            return list(self._documents.values())

    def document(self, title: str) -> Document:
        """The document called ``title`` (case and spacing ignored).

        Raises:
            ToolArgumentError: there is none; the message lists the titles there are.
        """
        with self._lock:
            found = self._documents.get(_key(title))
            if found is None:
                titles = ", ".join(repr(d.title) for d in self._documents.values()) or "none yet"
                raise ToolArgumentError(f"no document titled {title!r}; the documents are: {titles}",
                                        tool=self.name)
            return found

    # ------------------------------------------------------------------ operations
    @tool_action("WRITE_DOCUMENT", "write a new document: JSON {\"title\", \"content\" (Markdown), \"author\"?}")
    async def write_document(self, call: ToolCall, args: WriteDocumentArgs) -> DocumentResult:
        key = _key(args.title)
        with self._lock:
            if key in self._documents:
                raise ToolArgumentError(f"a document titled {args.title!r} already exists; use REVISE_DOCUMENT "
                                        "to change it", tool=self.name, action=call.action)
            if len(self._documents) >= self.max_documents:
                raise ToolExecutionError(f"this word processor holds its maximum of {self.max_documents} "
                                         "documents", tool=self.name, action=call.action)
        content, enriched = args.content, False
        if self.enricher is not None:
            content, enriched = await self._enrich(args, call), True
        now = _sim_now(call.agent)
        doc = Document(title=" ".join(args.title.split()), content=content, author=args.author or call.agent_name,
                       created_at=now, updated_at=now, enriched=enriched)
        with self._lock:
            if key in self._documents:  # another call of the same turn wrote it while this one enriched
                raise ToolArgumentError(f"a document titled {args.title!r} already exists; use REVISE_DOCUMENT",
                                        tool=self.name, action=call.action)
            self._documents[key] = doc
        return DocumentResult(document=_summary(doc), exported=await self._auto_export(doc, call.action))

    @tool_action("REVISE_DOCUMENT", "change a document you wrote: JSON {\"title\", \"content\", "
                 "\"mode\": \"append\" (default) or \"replace\"}")
    async def revise_document(self, call: ToolCall, args: ReviseDocumentArgs) -> DocumentResult:
        old = self.document(args.title)
        content = args.content if args.mode == "replace" else f"{old.content.rstrip()}\n\n{args.content}"
        if len(content) > MAX_CONTENT_CHARS:
            raise ToolArgumentError(f"content: the revised document would have {len(content):,} characters, more "
                                    f"than the {MAX_CONTENT_CHARS:,} allowed; replace instead of appending, or "
                                    "shorten it", tool=self.name, action=call.action)
        doc = old.model_copy(update={"content": content, "revision": old.revision + 1,
                                     "updated_at": _sim_now(call.agent) or old.updated_at})
        with self._lock:
            self._documents[_key(args.title)] = doc
        return DocumentResult(document=_summary(doc), exported=await self._auto_export(doc, call.action))

    @tool_action("EXPORT_DOCUMENT", "save a document you wrote to a file: JSON {\"title\", \"format\": "
                 "\"md\", \"txt\", \"json\" or \"docx\"}")
    async def export_document(self, call: ToolCall, args: ExportDocumentArgs) -> ExportResult:
        doc = self.document(args.title)
        path = await self._export(doc, args.format, call.action)
        return ExportResult(title=doc.title, format=args.format, path=str(path), bytes=path.stat().st_size)

    # ------------------------------------------------------------------ helpers
    async def _enrich(self, args: WriteDocumentArgs, call: ToolCall) -> str:
        enricher = self.enricher
        context = f"Written by {args.author or call.agent_name or 'someone'}, titled {args.title!r}."
        if hasattr(enricher, "aenrich_content"):
            enriched = await enricher.aenrich_content(self.enrichment_requirements, args.content,
                                                      content_type="Markdown document", context_info=context)
        else:
            enriched = await asyncio.to_thread(enricher.enrich_content, self.enrichment_requirements, args.content,
                                               content_type="Markdown document", context_info=context)
        if not isinstance(enriched, str) or not enriched.strip():
            raise ToolExecutionError("the enricher returned no text", tool=self.name, action=call.action)
        if len(enriched) > MAX_CONTENT_CHARS:
            raise ToolExecutionError(f"the enriched document has {len(enriched):,} characters, more than the "
                                     f"{MAX_CONTENT_CHARS:,} allowed", tool=self.name, action=call.action)
        return str(enriched)

    async def _export(self, doc: Document, fmt: str, action: str) -> Path:
        if self.folder is None:
            raise ToolExecutionError("this word processor has nowhere to export to; give it "
                                     "TinyWordProcessor(exporter=<folder>) or output_folder=<folder>",
                                     tool=self.name, action=action)
        try:
            stem = safe_file_name(doc.title, doc.author)
        except InvalidArgument as exc:
            raise ToolArgumentError(f"title: {exc}", tool=self.name, action=action) from None
        meta = {"author": doc.author, "revision": doc.revision,
                "created_at": doc.created_at.isoformat() if doc.created_at else None,
                "updated_at": doc.updated_at.isoformat() if doc.updated_at else None}
        return await asyncio.to_thread(write_document, self.folder, stem, fmt, doc.title, doc.content, meta)

    async def _auto_export(self, doc: Document, action: str) -> list[str]:
        return [str(await self._export(doc, fmt, action)) for fmt in self.auto_export]

    # ------------------------------------------------------------------ state
    def portability_problem(self) -> str | None:
        problem = super().portability_problem()
        defaults = (self.max_documents, self.enrichment_requirements) == (DEFAULT_MAX_DOCUMENTS,
                                                                          DEFAULT_ENRICHMENT_REQUIREMENTS)
        if problem is None and (self.folder is not None or self.auto_export or not defaults):
            # a worker rebuilds it without arguments: these would be lost there (and exports go to its disk)
            problem = (f"tool {self.name!r} has an export folder or settings other than the defaults, which its "
                       "rebuild in a worker process would lose")
        return problem

    def get_state(self) -> dict[str, Any]:
        """The documents, JSON-ready (saved with the agent)."""
        return WordProcessorState(documents=self.documents).to_dict()

    def set_state(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`get_state` output.

        Raises:
            InvalidArgument: ``state`` does not fit (the message names the field).
        """
        parsed = WordProcessorState.parse(state)
        with self._lock:
            self._documents = {_key(d.title): d for d in parsed.documents}


def _summary(doc: Document) -> DocumentSummary:
    return DocumentSummary(title=doc.title, author=doc.author, revision=doc.revision, characters=len(doc.content),
                           enriched=doc.enriched)


__all__ = ["DEFAULT_ENRICHMENT_REQUIREMENTS", "MAX_CONTENT_CHARS", "Document", "DocumentResult", "DocumentSummary",
           "ExportDocumentArgs", "ExportResult", "ReviseDocumentArgs", "TinyWordProcessor", "WriteDocumentArgs"]
