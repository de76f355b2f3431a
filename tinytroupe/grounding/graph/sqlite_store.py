"""A knowledge graph kept in the run file: the in-memory graph, with every change written through.

:class:`SQLiteGraphStore` answers queries from its networkx graph and writes each operation's new or
changed entities and relations to the run file's ``kg_*`` tables
(:class:`~tinytroupe.storage.knowledge_graphs.KnowledgeGraphRows`, a simulation's
``RunContext.knowledge_graphs``). A new store starts empty, as a run does: a re-run of a script on the
same file builds the same graph again and rewrites the same rows (ids derive from content), so the
file never holds an element twice. :meth:`SQLiteGraphStore.open` reads a graph back (all of it, or as
it was at a step, for a resumed run or a later look at a finished one).

:func:`graph_store_for` is how agents and worlds get a graph: persisted when the run context has a run
file, in memory otherwise.

Example:
    >>> from tinytroupe.storage.knowledge_graphs import KnowledgeGraphRows
    >>> rows = KnowledgeGraphRows(":memory:", "demo")
    >>> g = SQLiteGraphStore("world:Office", rows)
    >>> _ = g.add_relation("Ana", "manages", "Ben", source="m1", step=1)
    >>> SQLiteGraphStore.open("world:Office", rows).neighbourhood("Ben").lines()
    ['Ana manages Ben.']
    >>> rows.counts("world:Office")
    (2, 1)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tinytroupe.embeddings.port import Embedder
from tinytroupe.grounding.graph.models import Entity, Relation
from tinytroupe.grounding.graph.store import GraphStore, InMemoryGraphStore
from tinytroupe.storage.knowledge_graphs import EdgeRow, KnowledgeGraphRows, NodeRow

if TYPE_CHECKING:
    from tinytroupe.context import RunContext


class SQLiteGraphStore(InMemoryGraphStore):
    """A graph whose changes are written to a run file (see the module docstring).

    Args:
        name: the graph's name in the file (``agent:Ana``, ``world:Office``).
        rows: the run file's knowledge graph tables.
        embedder, similarity_threshold, max_sources: as :class:`InMemoryGraphStore`.
    """

    def __init__(self, name: str, rows: KnowledgeGraphRows, *, embedder: Embedder | None = None,
                 similarity_threshold: float = 0.92, max_sources: int = 20) -> None:
        super().__init__(name, embedder=embedder, similarity_threshold=similarity_threshold, max_sources=max_sources)
        self.rows = rows

    @classmethod
    def open(cls, name: str, rows: KnowledgeGraphRows, *, upto_step: int | None = None,
             embedder: Embedder | None = None, similarity_threshold: float = 0.92) -> SQLiteGraphStore:
        """The graph ``name`` as the file holds it: every element, or those first seen by ``upto_step``.

        Raises:
            StorageError: the run file cannot be read.
        """
        store = cls(name, rows, embedder=embedder, similarity_threshold=similarity_threshold)
        store.load([Entity.model_validate(n.data) for n in rows.nodes(name, upto_step)],
                   [Relation.model_validate(e.data) for e in rows.edges(name, upto_step)])
        return store

    def _persist(self, entities: list[Entity], relations: list[Relation]) -> None:
        self.rows.write(self.name,
                        [NodeRow(id=e.id, label=e.name, kind=e.type, step=e.step, data=e.model_dump(mode="json"))
                         for e in entities],
                        [EdgeRow(id=r.id, subject=r.subject, predicate=r.predicate, object=r.object, step=r.step,
                                 data=r.model_dump(mode="json")) for r in relations])


def graph_store_for(context: RunContext, name: str, *, embedder: Embedder | None = None,
                    similarity_threshold: float = 0.92, upto_step: int | None = None,
                    resume: bool = False) -> GraphStore:
    """A graph named ``name`` for a run: in the run file when ``context`` has one, else in memory.

    ``resume``: read back what the file holds (up to ``upto_step``) instead of starting empty.

    Example:
        >>> from tinytroupe.context import RunContext
        >>> from tinytroupe.llm import LLMClient, ScriptedBackend
        >>> graph_store_for(RunContext.for_client(LLMClient(ScriptedBackend(["x"]))), "agent:Ana")
        InMemoryGraphStore(name='agent:Ana', entities=0, relations=0)
    """
    rows = context.knowledge_graphs
    if rows is None:
        return InMemoryGraphStore(name, embedder=embedder, similarity_threshold=similarity_threshold)
    if resume:
        return SQLiteGraphStore.open(name, rows, upto_step=upto_step, embedder=embedder,
                                     similarity_threshold=similarity_threshold)
    return SQLiteGraphStore(name, rows, embedder=embedder, similarity_threshold=similarity_threshold)


__all__ = ["SQLiteGraphStore", "graph_store_for"]
