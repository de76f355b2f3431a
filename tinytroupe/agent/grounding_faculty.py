"""``FilesAndWebGroundingFaculty``: an agent consults documents with ``LIST_DOCUMENTS`` and ``CONSULT``.

TinyTroupe's faculty of that name, on a :class:`~tinytroupe.grounding.store.DocumentStore`: the
agent's own collection (``agent:<name>``; in the run file while a simulation runs), filled from
``folders_paths``, ``files_paths``, ``web_urls`` and :meth:`TinyPerson.read_document_from_file
<tinytroupe.agent.person_perception.PerceptionMethods.read_document_from_file>`, plus any shared
``retrievers`` (a world's store, a :class:`~tinytroupe.grounding.llama_index.LlamaIndexRetriever`).

- ``LIST_DOCUMENTS`` shows the names, kinds and sizes of the agent's documents;
- ``CONSULT <question>`` shows the best chunks, each labelled with its id (``[menu.pdf#3]``);
  ``CONSULT <document name>`` shows the document's beginning, as TinyTroupe's does.

What the agent reads arrives as a ``DOCUMENT`` stimulus it perceives at its next turn. The prompt
asks it to cite the ids it uses; from then on its turn schema also offers TALK and THINK a ``cites``
list constrained to the ids of its latest passages (:meth:`citable_ids`, at most
:data:`MAX_CITABLE`), so a model that decodes under the schema can only cite ids it was shown.
Every action that cites ids (in square brackets, or in ``cites``) is a ``cite``
:class:`~tinytroupe.grounding.events.DocumentEvent` in the trace (``by="model"``), as is every
consultation (``consult``, with the chunk ids shown). A TALK or THINK that cites nothing but shares
enough content words with a passage shown (:mod:`tinytroupe.grounding.attribution`) is a ``cite``
with ``by="overlap"`` and its scores (``attribution=False`` turns that off); the agent's words are
left as they were. It is a faculty, not a tool: its actions take plain text, and it must see every
action of the turn to find citations.

Example:
    >>> from tinytroupe.agent import TinyPerson
    >>> from tinytroupe.llm import LLMClient, ScriptedBackend
    >>> turn = {"actions": [{"type": "CONSULT", "content": "when does the shop close?"}, {"type": "DONE"}]}
    >>> lisa = TinyPerson("Lisa", client=LLMClient(ScriptedBackend([turn])))
    >>> faculty = FilesAndWebGroundingFaculty(embedder=False)
    >>> lisa = lisa.add_mental_faculty(faculty)
    >>> _ = faculty.store_for(lisa).ingest_text("shop.md", "The shop closes at six on Sundays.")
    >>> lisa.listen_and_act("Hello")
    >>> lisa.memory.items()[-1].content.splitlines()[1]
    '[shop.md#1] (shop.md) The shop closes at six on Sundays.'
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from tinytroupe.agent.action_schema import CITING_TYPES
from tinytroupe.agent.actions import StimulusType
from tinytroupe.agent.faculties import MentalFaculty
from tinytroupe.agent.prompts import template
from tinytroupe.embeddings.port import Embedder
from tinytroupe.errors import InvalidArgument, InvalidArgumentType, NotFound
from tinytroupe.events import WarningEvent
from tinytroupe.grounding.attribution import content_words, overlap
from tinytroupe.grounding.events import DocumentEvent
from tinytroupe.grounding.models import ChunkHit, IngestReport, Retriever, cited_ids
from tinytroupe.grounding.store import DocumentStore
from tinytroupe.grounding.web import fetch_page

if TYPE_CHECKING:  # annotations only: person.py imports the faculties
    from tinytroupe.agent.actions import Action
    from tinytroupe.agent.person import TinyPerson

logger = logging.getLogger(__name__)

#: most characters of chunk text one CONSULT shows
MAX_CONSULT_CHARS = 4_000
#: passages an agent may cite in its turn's ``cites`` field (and that answers are attributed to): the
#: latest shown; each set of ids is a turn schema of its own, so the set stays small
MAX_CITABLE = 8


class _Shown(NamedTuple):
    """A passage shown to an agent, as attribution needs it: its content words and its question's."""

    words: frozenset[str]
    asked: frozenset[str]


class FilesAndWebGroundingFaculty(MentalFaculty):
    """``LIST_DOCUMENTS`` and ``CONSULT`` over the agent's documents (see the module docstring).

    Args:
        folders_paths: folders whose files the agent can consult (read on first use).
        files_paths: single files the agent can consult (read on first use, after the folders).
        web_urls: pages fetched on first use (``http``/``https``; see :func:`~tinytroupe.grounding.web.fetch_page`).
        retrievers: shared sources consulted too (a world's :class:`DocumentStore`, a llama-index adapter).
        top_k: chunks one ``CONSULT`` question shows.
        embedder: an :class:`~tinytroupe.embeddings.Embedder`, a kind (``use``, ``hash``, ``openai``),
            None for ``[Memory] EMBEDDER``, or False for BM25 alone.
        max_consult_chars: most characters of chunk text one ``CONSULT`` shows.
        attribution: record a TALK or THINK that cites nothing but clearly uses a passage shown as a
            ``cite`` with ``by="overlap"`` (see :mod:`tinytroupe.grounding.attribution`).

    Raises:
        InvalidArgument: ``top_k`` below 1.
        InvalidArgumentType: a retriever without ``retrieve(query, top_k)``.
    """

    def __init__(self, folders_paths: Iterable[str | Path] | None = None, web_urls: Iterable[str] | None = None, *,
                 files_paths: Iterable[str | Path] = (), retrievers: Iterable[Retriever] = (), top_k: int = 5,
                 embedder: Embedder | str | bool | None = None, max_consult_chars: int = MAX_CONSULT_CHARS,
                 attribution: bool = True) -> None:
        super().__init__("Local Files and Web Grounding", actions={
            "LIST_DOCUMENTS": template("grounding_list_documents.j2").render().strip(),
            "CONSULT": template("grounding_consult.j2").render().strip()})
        if top_k < 1:
            raise InvalidArgument(f"top_k must be at least 1, got {top_k}")
        self.folders_paths = [str(p) for p in folders_paths or []]
        self.files_paths = [str(p) for p in files_paths]
        self.web_urls = list(web_urls or [])
        self.retrievers = list(retrievers)
        for r in self.retrievers:
            if not callable(getattr(r, "retrieve", None)):
                raise InvalidArgumentType(f"a retriever needs retrieve(query, top_k), got {type(r).__name__}")
        self.top_k = top_k
        self.embedder = embedder
        self.max_consult_chars = max_consult_chars
        self.attribution = attribution
        self._stores: dict[str, DocumentStore] = {}
        self._shown: dict[str, set[str]] = {}  # agent -> chunk ids it was shown (citable)
        self._recent: dict[str, dict[str, _Shown]] = {}  # agent -> its latest passages, oldest first
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ the agent's store
    def _resolve_embedder(self, agent: TinyPerson) -> Embedder | None:
        choice = self.embedder
        if choice is False:
            return None
        if choice is None or choice is True or isinstance(choice, str):
            from tinytroupe.agent.memory.indexing import shared_embedder

            return shared_embedder(choice if isinstance(choice, str) else agent.context.settings.memory.embedder)
        return choice

    def store_for(self, agent: TinyPerson) -> DocumentStore:
        """``agent``'s own store (``agent:<name>``), created on first use with its sources ingested.

        Raises:
            DocumentError: a folder in ``folders_paths`` is missing or has nothing readable, or a file
                in ``files_paths`` cannot be read.
        """
        with self._lock:
            store = self._stores.get(agent.name)
            if store is None:
                store = DocumentStore.for_context(f"agent:{agent.name}", agent.context,
                                                  embedder=self._resolve_embedder(agent))
                self._stores[agent.name] = store
                for folder in self.folders_paths:
                    self._announce(agent, store.ingest_folder(folder))
                for file in self.files_paths:
                    self._announce(agent, store.ingest_file(file))
                for url in self.web_urls:
                    page = fetch_page(url)
                    self._announce(agent, store.ingest_text(url, page.text, source=url, kind="html"))
        return store

    def ingest(self, agent: TinyPerson, file_path: str | Path) -> IngestReport:
        """Add one file to ``agent``'s store (``read_document_from_file`` calls this) and trace it."""
        report = self.store_for(agent).ingest_file(file_path)
        self._announce(agent, report)
        return report

    def _announce(self, agent: TinyPerson, report: IngestReport) -> None:
        agent._publish(DocumentEvent(operation="ingest", collection=report.collection, documents=report.added,
                                     skipped=report.skipped, agent=agent.name, world=agent._world_name(),
                                     step=agent._step()))

    # ------------------------------------------------------------------ actions
    def citable_ids(self, agent: TinyPerson) -> tuple[str, ...]:
        """The ids of the passages ``agent`` was shown last (at most :data:`MAX_CITABLE`), oldest first."""
        with self._lock:
            return tuple(self._recent.get(agent.name, ()))

    def process_action(self, agent: TinyPerson, action: Action) -> bool:
        """Carry out ``LIST_DOCUMENTS`` and ``CONSULT``; note the chunk ids any other action cites."""
        if action.type == "LIST_DOCUMENTS":
            self._list(agent)
            return True
        if action.type == "CONSULT":
            self._consult(agent, action.content.strip())
            return True
        self._note_citations(agent, action)
        return False

    def _list(self, agent: TinyPerson) -> None:
        store = self.store_for(agent)
        docs = store.documents()
        lines = [f"- {d.doc_id} ({d.kind}, " + (f"{d.page_count} pages, " if d.page_count else "") +
                 f"{d.chars:,} characters)" for d in docs]
        shared = [r.name for r in self.retrievers]
        text = ("your documents:\n" + "\n".join(lines) if lines else "you have no documents of your own") + (
            f"\nshared sources you can CONSULT: {', '.join(shared)}" if shared else "")
        agent._perceive(StimulusType.DOCUMENT, text, "documents")
        self._trace(agent, "list", store.collection, documents=[d.doc_id for d in docs])

    def hits_for(self, agent: TinyPerson, query: str) -> tuple[list[ChunkHit], str | None]:
        """What ``CONSULT query`` shows ``agent``: the chunks, and the document's name when ``query`` names one."""
        store = self.store_for(agent)
        try:
            doc = store.document(query)
        except NotFound:
            doc = None
        if doc is not None:
            chunks = store.chunks(doc.doc_id)
            return [ChunkHit(rank=i, score=1.0, chunk=c, source=store.collection)
                    for i, c in enumerate(chunks, start=1)], doc.doc_id
        found = [store.retrieve(query, self.top_k), *(r.retrieve(query, self.top_k) for r in self.retrievers)]
        merged = sorted((h for hits in found for h in hits), key=lambda h: (h.rank, -h.score))
        return merged[:self.top_k], None

    def _consult(self, agent: TinyPerson, query: str) -> None:
        if not query:
            agent._perceive(StimulusType.DOCUMENT, "CONSULT needs a question or a document's name", "documents")
            return
        hits, document = self.hits_for(agent, query)
        shown: list[ChunkHit] = []
        used = 0
        for hit in hits:
            if shown and used + len(hit.chunk.text) > self.max_consult_chars:
                break
            shown.append(hit)
            used += len(hit.chunk.text)
        text = template("grounding_consult_result.j2").render(hits=shown, query=query, document=document)
        agent._perceive(StimulusType.DOCUMENT, text.strip(), "documents")
        ids = [h.chunk.chunk_id for h in shown]
        asked = content_words(query)
        with self._lock:
            self._shown.setdefault(agent.name, set()).update(ids)
            recent = self._recent.setdefault(agent.name, {})
            for hit in shown:
                recent.pop(hit.chunk.chunk_id, None)  # shown again: newest now
                recent[hit.chunk.chunk_id] = _Shown(content_words(hit.chunk.text), asked)
            for old in list(recent)[:-MAX_CITABLE]:
                del recent[old]
        self._trace(agent, "consult", self.store_for(agent).collection, query=query, chunk_ids=ids,
                    documents=list(dict.fromkeys(h.chunk.doc_id for h in shown)))

    def _note_citations(self, agent: TinyPerson, action: Action) -> None:
        with self._lock:
            shown = set(self._shown.get(agent.name, ()))
        text = action.content if "[" in action.content else ""
        written = cited_ids(text, shown) + [c for c in cited_ids(text) if c not in shown]
        cited = list(dict.fromkeys([*written, *action.cites]))
        if not cited and not (self.attribution and shown and action.type in CITING_TYPES):
            return  # nothing to note: the store is not even opened (it ingests its folders on first use)
        store = self.store_for(agent)
        known = [c for c in cited if c in shown or store.has_chunk(c)]
        if known:
            self._trace(agent, "cite", store.collection, chunk_ids=known, action=action.type, by="model")
        unknown = [c for c in cited if c not in known]
        if unknown:
            agent._publish(WarningEvent(code="unknown_citation", agent=agent.name, world=agent._world_name(),
                                        step=agent._step(), message=f"{agent.name} cited chunk ids it was never "
                                        f"shown and that are not among its documents: {', '.join(unknown)}"))
        if not known and self.attribution and action.type in CITING_TYPES:
            self._attribute(agent, action, store.collection)

    def _attribute(self, agent: TinyPerson, action: Action, collection: str) -> None:
        # The passages the answer draws on, best first; recorded as the trace's attribution, not as the agent's.
        with self._lock:
            recent = dict(self._recent.get(agent.name, {}))
        found = [(overlap(action.content, s.words, s.asked), cid) for cid, s in reversed(recent.items())]
        used = sorted(((o.score, cid) for o, cid in found if o.attributed), key=lambda x: -x[0])
        if used:
            self._trace(agent, "cite", collection, chunk_ids=[cid for _, cid in used], action=action.type,
                        by="overlap", scores=[score for score, _ in used])

    def _trace(self, agent: TinyPerson, operation: str, collection: str, **fields: Any) -> None:
        agent._publish(DocumentEvent(operation=operation, collection=collection, agent=agent.name,
                                     world=agent._world_name(), step=agent._step(), **fields))

    # ------------------------------------------------------------------ state
    def faculty_portability_problem(self) -> str | None:
        """Shared sources (``retrievers``: a world's store, a llama-index adapter) and an embedder
        object are not in the saved state: a worker's copy would consult less, or rank differently."""
        if self.retrievers:
            return (f"it consults shared sources ({', '.join(r.name for r in self.retrievers)}) that its saved "
                    "state does not carry")
        if self.embedder not in (None, False, True) and not isinstance(self.embedder, str):
            return "its embedder is an object its saved state does not carry (give a kind: 'use', 'hash', 'openai')"
        return None

    def get_state(self) -> dict[str, Any]:
        # The latest passages travel with the state: a resumed agent's turn schema offers the same ids.
        with self._lock:
            recent = {agent: [[cid, sorted(s.words), sorted(s.asked)] for cid, s in shown.items()]
                      for agent, shown in self._recent.items()}
        state = {"folders_paths": list(self.folders_paths), "files_paths": list(self.files_paths),
                 "web_urls": list(self.web_urls), "top_k": self.top_k,
                 "attribution": self.attribution, "recent_passages": recent}
        if self.embedder is None or isinstance(self.embedder, str | bool):
            # a kind or a switch travels; an embedder object cannot (faculty_portability_problem says so)
            state["embedder"] = self.embedder
        return state

    def set_state(self, state: Mapping[str, Any]) -> None:
        self.folders_paths = [str(p) for p in state.get("folders_paths", [])]
        self.files_paths = [str(p) for p in state.get("files_paths", [])]
        self.web_urls = [str(u) for u in state.get("web_urls", [])]
        self.top_k = int(state.get("top_k", self.top_k))
        self.attribution = bool(state.get("attribution", self.attribution))
        if "embedder" in state and (state["embedder"] is None or isinstance(state["embedder"], str | bool)):
            self.embedder = state["embedder"]
        recent = state.get("recent_passages") or {}
        with self._lock:
            self._recent = {str(agent): {str(cid): _Shown(frozenset(words), frozenset(asked))
                                         for cid, words, asked in shown} for agent, shown in recent.items()}
            for agent, shown in self._recent.items():
                self._shown.setdefault(agent, set()).update(shown)


__all__ = ["MAX_CITABLE", "MAX_CONSULT_CHARS", "FilesAndWebGroundingFaculty"]
