"""Extracting entities and relations from texts with one structured model call.

:func:`aextract` sends a batch of :class:`SourceText` s (each with an id: a memory's, a document
chunk's) and gets back a :class:`~tinytroupe.grounding.graph.models.GraphExtraction` validated
strictly: every relation names listed entities and one of the given text ids, or the model is asked
again (``LLMClient``'s re-asks), and finally an ``LLMOutputError``; nothing is invented to fill a gap.
The prompt is ``prompts/graph_extraction.j2``; names already in the graph can be listed so the model
reuses them (the merge rule of :mod:`.merge` catches the rest).

Example:
    >>> from tinytroupe.llm import LLMClient, ScriptedBackend
    >>> answer = {"entities": [{"name": "Ana", "type": "person"}, {"name": "Acme", "type": "organisation"}],
    ...           "relations": [{"subject": "Ana", "predicate": "works_at", "object": "Acme", "source": "m1"}]}
    >>> found = extract(LLMClient(ScriptedBackend([answer])), [SourceText(id="m1", text="Ana works at Acme.")])
    >>> [(r.subject, r.predicate, r.object) for r in found.relations]
    [('Ana', 'works_at', 'Acme')]
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field

from tinytroupe.aio import run_sync
from tinytroupe.errors import InvalidArgument
from tinytroupe.grounding.graph.models import GraphExtraction
from tinytroupe.llm.client import LLMClient
from tinytroupe.prompt_folder import PromptFolder

#: the ``purpose`` extraction calls carry (usage accounting, traces, the mock LLM's rules)
PURPOSE = "graph_extraction"


class SourceText(BaseModel):
    """A text to extract from, with the id relations will cite as their source."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(min_length=1)
    text: str


_FOLDER = PromptFolder("tinytroupe.grounding.graph")


def extraction_prompt(texts: Sequence[SourceText], *, perspective: str | None = None, known: Sequence[str] = (),
                      max_entities: int = 20, max_relations: int = 30) -> str:
    """The extraction prompt for ``texts`` (``known``: names already in the graph, to be reused)."""
    return _FOLDER.render("graph_extraction.j2", texts=list(texts), perspective=perspective, known=list(known),
                          max_entities=max_entities, max_relations=max_relations)


async def aextract(client: LLMClient, texts: Sequence[SourceText], *, perspective: str | None = None,
                   known: Sequence[str] = (), max_entities: int = 20, max_relations: int = 30,
                   agent: str | None = None, world: str | None = None, step: int | None = None) -> GraphExtraction:
    """Ask the model for the entities and relations of ``texts`` (one call; see the module docstring).

    ``perspective``: whose experience the texts are (an agent's name), for its beliefs. The answer is
    cut to ``max_entities`` and ``max_relations`` (relations to dropped entities go too).

    Raises:
        InvalidArgument: no texts, or two texts with the same id.
        LLMError: the call failed; ``LLMOutputError`` when the answer stayed invalid after the re-asks.
    """
    ids = [t.id for t in texts]
    if not ids:
        raise InvalidArgument("extract needs at least one text")
    if len(set(ids)) != len(ids):
        raise InvalidArgument(f"text ids must be unique, got {ids}")
    prompt = extraction_prompt(texts, perspective=perspective, known=known, max_entities=max_entities,
                               max_relations=max_relations)
    result = await client.acomplete([{"role": "user", "content": prompt}], response_model=GraphExtraction,
                                    validation_context={"sources": set(ids)}, purpose=PURPOSE, agent=agent,
                                    world=world, step=step)
    return _bounded(result.value, max_entities, max_relations)


def extract(client: LLMClient, texts: Sequence[SourceText], *, perspective: str | None = None,
            known: Sequence[str] = (), max_entities: int = 20, max_relations: int = 30,
            agent: str | None = None, world: str | None = None, step: int | None = None) -> GraphExtraction:
    """Sync twin of :func:`aextract`.

    Raises:
        InvalidArgument: no texts, or two texts with the same id.
        LLMError: the call failed.
    """
    return run_sync(aextract(client, texts, perspective=perspective, known=known, max_entities=max_entities,
                             max_relations=max_relations, agent=agent, world=world, step=step))


def _bounded(found: GraphExtraction, max_entities: int, max_relations: int) -> GraphExtraction:
    if len(found.entities) <= max_entities and len(found.relations) <= max_relations:
        return found
    kept = found.entities[:max_entities]
    names = {n.casefold().strip() for e in kept for n in (e.name, *e.aliases)}
    rels = [r for r in found.relations if r.subject.casefold().strip() in names
            and r.object.casefold().strip() in names][:max_relations]
    return GraphExtraction(entities=kept, relations=rels)


__all__ = ["PURPOSE", "SourceText", "aextract", "extract", "extraction_prompt"]
