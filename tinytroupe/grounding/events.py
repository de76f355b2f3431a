"""The grounding layer's event: what an agent ingested, consulted and cited, for the trace.

One :class:`DocumentEvent` per operation, published on the run's bus by whoever did it (the
grounding faculty, ``TinyPerson.read_documents_from_folder``): ``ingest`` (documents added, files
skipped), ``list`` (``LIST_DOCUMENTS``), ``consult`` (``CONSULT``: the query and the chunk ids the
agent was shown) and ``cite`` (an action of the agent that cited chunk ids: which, and in which
action). So every answer that used a document can be traced back to its chunks.

A ``cite`` says ``by`` whom: ``model`` (the model wrote the ids, in square brackets or in the
action's ``cites`` field) or ``overlap`` (it wrote none, and the answer shares enough content words
with the chunks to be attributed to them: ``scores``, one per id; see
:mod:`tinytroupe.grounding.attribution`). An attribution is the trace's, never the agent's words.

Example:
    >>> event = DocumentEvent(operation="consult", agent="Lisa", collection="agent:Lisa", query="soup?",
    ...                       chunk_ids=["menu.pdf#3"])
    >>> event.kind, event.chunk_ids
    ('document', ['menu.pdf#3'])
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from tinytroupe.events import Event


class DocumentEvent(Event):
    """Documents were ingested, listed, consulted or cited (see the module docstring)."""

    kind: Literal["document"] = "document"
    operation: Literal["ingest", "list", "consult", "cite"]
    collection: str = ""
    query: str = ""
    documents: list[str] = Field(default_factory=list)
    chunk_ids: list[str] = Field(default_factory=list)
    skipped: list[tuple[str, str]] = Field(default_factory=list)
    action: str | None = None  # the cited-in action's type (TALK, THINK ...), for ``cite``
    by: Literal["model", "overlap"] | None = None  # who cited, for ``cite`` (see the module docstring)
    scores: list[float] = Field(default_factory=list)  # each attributed id's overlap score, for ``by="overlap"``


__all__ = ["DocumentEvent"]
