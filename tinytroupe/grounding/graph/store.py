"""The graph store interface (:class:`GraphStore`) and its in-memory implementation over networkx.

A store holds one graph (an agent's beliefs, or a world's shared graph): entities merged by the rule
of :mod:`.merge`, relations between them, and the queries retrieval needs. The interface is small on
purpose, so a graph database can implement it later; :class:`InMemoryGraphStore` keeps a networkx
``MultiDiGraph`` and :class:`~tinytroupe.grounding.graph.sqlite_store.SQLiteGraphStore` adds writing
every change to the run file.

Example:
    >>> g = InMemoryGraphStore("demo")
    >>> g.add_relation("Ana", "works at", "Acme", source="t1").predicate
    'works_at'
    >>> g.add_entity("ANA", type="person", aliases=["Ana Lima"]).name  # merged into the first "Ana"
    'Ana'
    >>> g.neighbourhood("Ana Lima").lines()
    ['Ana (person) works at Acme.']
    >>> [p.text() for p in g.paths("Ana", "Acme")]
    ['Ana -works_at-> Acme']
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Protocol, runtime_checkable

import networkx as nx

from tinytroupe.embeddings.port import Embedder
from tinytroupe.errors import InvalidArgument, NotFound
from tinytroupe.grounding.graph import traversal
from tinytroupe.grounding.graph.merge import (
    NameIndex,
    entity_id,
    normalize_name,
    normalize_predicate,
    normalize_type,
    relation_id,
)
from tinytroupe.grounding.graph.models import (
    GENERIC_TYPE,
    Entity,
    GraphExtraction,
    GraphPath,
    GraphView,
    MergeReport,
    Relation,
)

_WORDS = re.compile(r"[\w'’]+")
#: the longest name, in words, that mention finding looks for
MAX_NAME_WORDS = 6


@runtime_checkable
class GraphStore(Protocol):
    """What retrieval, extraction and the views need of a knowledge graph."""

    name: str

    def add_entity(self, name: str, type: str = GENERIC_TYPE, aliases: Sequence[str] = (),
                   source: str | None = None, step: int | None = None) -> Entity: ...

    def add_relation(self, subject: str, predicate: str, object: str, source: str | None = None,
                     step: int | None = None) -> Relation: ...

    def merge(self, extraction: GraphExtraction, step: int | None = None) -> MergeReport: ...

    def find(self, ref: str) -> Entity | None: ...

    def neighbourhood(self, ref: str, depth: int = 1, limit: int = traversal.DEFAULT_LIMIT) -> GraphView: ...

    def paths(self, a: str, b: str, max_length: int = 4, limit: int = 5) -> list[GraphPath]: ...

    def query(self, *, type: str | None = None, predicate: str | None = None, subject: str | None = None,
              object: str | None = None, limit: int = traversal.DEFAULT_LIMIT) -> GraphView: ...

    def mentioned(self, text: str) -> list[Entity]: ...

    def counts(self) -> tuple[int, int]: ...

    def view(self) -> GraphView: ...


class InMemoryGraphStore:
    """A knowledge graph in memory (networkx), merging duplicates as it grows.

    Args:
        name: the graph's name (``agent:Ana``, ``world:Office``...).
        embedder: embeds entity names for the similarity rule of :mod:`.merge` (None: names and aliases only).
        similarity_threshold: the least cosine similarity that merges two names (with an embedder).
        max_sources: source ids kept per entity or relation (the newest; older ones are dropped).
    """

    def __init__(self, name: str = "graph", *, embedder: Embedder | None = None, similarity_threshold: float = 0.92,
                 max_sources: int = 20) -> None:
        self.name = name
        self.max_sources = max_sources
        self.graph = nx.MultiDiGraph()
        self._undirected = nx.Graph()
        self._index = NameIndex(embedder, similarity_threshold)
        self._changed_entities: dict[str, Entity] = {}
        self._changed_relations: dict[str, Relation] = {}

    def __repr__(self) -> str:
        n, m = self.counts()
        return f"{type(self).__name__}(name={self.name!r}, entities={n}, relations={m})"

    # ------------------------------------------------------------------ building

    def add_entity(self, name: str, type: str = GENERIC_TYPE, aliases: Sequence[str] = (),
                   source: str | None = None, step: int | None = None) -> Entity:
        """Add an entity, or merge it into the one it names (see :mod:`.merge`); the entity as stored.

        Raises:
            InvalidArgument: ``name`` has no letters or digits.
        """
        entity = self._add_entity(name, type, aliases, source, step)
        self._flush()
        return entity

    def add_relation(self, subject: str, predicate: str, object: str, source: str | None = None,
                     step: int | None = None) -> Relation:
        """Add ``subject -predicate-> object`` (entities by id, name or alias; unknown names become generic
        entities); the same fact added again only gains the source.

        Raises:
            InvalidArgument: a name or the predicate is empty once normalised.
        """
        relation = self._add_relation(self._ensure(subject, source, step), predicate,
                                      self._ensure(object, source, step), source, step)
        self._flush()
        return relation

    def merge(self, extraction: GraphExtraction, step: int | None = None) -> MergeReport:
        """Merge what a model extracted: entities by the rule of :mod:`.merge`, then the relations.

        An entity takes as source the texts its relations were read from (the extraction does not say
        where a lone entity was read, so it has none).
        """
        report = MergeReport()
        sources: dict[str, list[str]] = {}
        for rel in extraction.relations:
            for who in (rel.subject, rel.object):
                sources.setdefault(normalize_name(who), []).append(rel.source)
        ids: dict[str, str] = {}
        for ext in extraction.entities:
            names = [ext.name, *ext.aliases]
            known = self._match(names, normalize_type(ext.type))
            srcs = dict.fromkeys(s for n in names for s in sources.get(normalize_name(n), []))
            entity = self._add_entity(ext.name, ext.type, ext.aliases, None, step, extra_sources=list(srcs))
            report.entities_merged += known is not None
            report.entities_added += known is None
            for n in names:
                ids[normalize_name(n)] = entity.id
        for rel in extraction.relations:
            s, o = ids[normalize_name(rel.subject)], ids[normalize_name(rel.object)]
            rid = relation_id(s, rel.predicate, o)
            report.relations_merged += self.graph.has_edge(s, o, key=rid)
            report.relations_added += not self.graph.has_edge(s, o, key=rid)
            self._add_relation(s, rel.predicate, o, rel.source, step)
        self._flush()
        return report

    def load(self, entities: Iterable[Entity], relations: Iterable[Relation]) -> None:
        """Put stored entities and relations back as they are (no merging, nothing written)."""
        for e in entities:
            self._put_entity(e)
        for r in relations:
            if r.subject in self.graph and r.object in self.graph:
                self._put_relation(r)
        self._changed_entities.clear()
        self._changed_relations.clear()

    # ------------------------------------------------------------------ reading

    def find(self, ref: str) -> Entity | None:
        """The entity with id ``ref``, or named (or aliased) ``ref`` by the merge rule, or None."""
        if ref in self.graph:
            return traversal.entity_of(self.graph, ref)
        eid = self._index.keys().get(normalize_name(ref))
        return traversal.entity_of(self.graph, eid) if eid is not None else None

    def entity(self, ref: str) -> Entity:
        """Like :meth:`find`, but an unknown entity is an error.

        Raises:
            NotFound: no entity has that id, name or alias.
        """
        found = self.find(ref)
        if found is None:
            raise NotFound(f"graph {self.name!r} has no entity {ref!r} (by id, name or alias)")
        return found

    def entities(self) -> list[Entity]:
        """Every entity, in the order they were added."""
        return [d["entity"] for _, d in self.graph.nodes(data=True)]

    def relations(self) -> list[Relation]:
        """Every relation."""
        return [d["relation"] for _, _, d in self.graph.edges(data=True)]

    def counts(self) -> tuple[int, int]:
        """How many entities and relations the graph holds."""
        return self.graph.number_of_nodes(), self.graph.number_of_edges()

    def neighbourhood(self, ref: str, depth: int = 1, limit: int = traversal.DEFAULT_LIMIT) -> GraphView:
        """The entities within ``depth`` hops of ``ref`` and the relations between (see :mod:`.traversal`).

        Raises:
            NotFound: ``ref`` names no entity.
            InvalidArgument: ``depth`` or ``limit`` is negative.
        """
        return traversal.neighbourhood(self.graph, self.entity(ref).id, depth, limit)

    def paths(self, a: str, b: str, max_length: int = 4, limit: int = 5) -> list[GraphPath]:
        """The shortest paths between two entities (either direction), up to ``max_length`` hops.

        Raises:
            NotFound: ``a`` or ``b`` names no entity.
            InvalidArgument: ``max_length`` or ``limit`` is below 1.
        """
        return traversal.paths(self.graph, self.entity(a).id, self.entity(b).id, max_length, limit,
                               undirected=self._undirected)

    def query(self, *, type: str | None = None, predicate: str | None = None, subject: str | None = None,
              object: str | None = None, limit: int = traversal.DEFAULT_LIMIT) -> GraphView:
        """Entities by type and relations by predicate, subject or object (names or ids; see :mod:`.traversal`).

        Raises:
            NotFound: ``subject`` or ``object`` names no entity.
        """
        return traversal.query(
            self.graph, type=normalize_type(type) if type is not None else None,
            predicate=normalize_predicate(predicate) if predicate is not None else None,
            subject=self.entity(subject).id if subject is not None else None,
            object=self.entity(object).id if object is not None else None, limit=limit)

    def mentioned(self, text: str) -> list[Entity]:
        """The entities ``text`` names (by name or alias, whole words), in the order first named."""
        words = [normalize_name(w) for w in _WORDS.findall(text)]
        words = [w for w in words if w]
        keys = self._index.keys()
        found: dict[str, None] = {}
        i = 0
        while i < len(words):
            for size in range(min(MAX_NAME_WORDS, len(words) - i), 0, -1):  # the longest name wins
                eid = keys.get(" ".join(words[i:i + size]))
                if eid is not None:
                    found.setdefault(eid)
                    i += size
                    break
            else:
                i += 1
        return [traversal.entity_of(self.graph, eid) for eid in found]

    def view(self) -> GraphView:
        """The whole graph as a :class:`GraphView` (for drawing and export)."""
        return GraphView(entities=self.entities(), relations=self.relations())

    # ------------------------------------------------------------------ internals

    def _match(self, names: Sequence[str], type: str) -> str | None:
        return self._index.match(names, type)

    def _ensure(self, ref: str, source: str | None, step: int | None) -> str:
        return ref if ref in self.graph else self._add_entity(ref, GENERIC_TYPE, (), source, step).id

    def _sources(self, old: Sequence[str], new: Iterable[str]) -> list[str]:
        merged = list(dict.fromkeys([*old, *new]))
        return merged[-self.max_sources:]

    def _add_entity(self, name: str, type: str, aliases: Sequence[str], source: str | None, step: int | None,
                    extra_sources: Sequence[str] = ()) -> Entity:
        kind = normalize_type(type)
        names = [name, *aliases]
        srcs = [*([source] if source else []), *extra_sources]
        eid = self._match(names, kind)
        if eid is None:
            entity = Entity(id=entity_id(name), name=name.strip(), type=kind,
                            aliases=list(dict.fromkeys(a.strip() for a in aliases if normalize_name(a) and
                                                       normalize_name(a) != normalize_name(name))),
                            sources=self._sources([], srcs), step=step)
        else:
            old = traversal.entity_of(self.graph, eid)
            known = {normalize_name(n) for n in (old.name, *old.aliases)}
            fresh = [n.strip() for n in names if normalize_name(n) and normalize_name(n) not in known]
            entity = old.model_copy(update={
                "type": kind if old.type == GENERIC_TYPE else old.type,
                "aliases": list(dict.fromkeys([*old.aliases, *fresh])),
                "sources": self._sources(old.sources, srcs)})
            if entity == old:
                return old
        self._put_entity(entity)
        self._changed_entities[entity.id] = entity
        return entity

    def _put_entity(self, entity: Entity) -> None:
        is_new = entity.id not in self.graph
        self.graph.add_node(entity.id, entity=entity)
        if is_new:
            self._undirected.add_node(entity.id)
        self._index.add(entity.id, [entity.name, *entity.aliases], entity.type)
        if not is_new:
            self._index.retype(entity.id, entity.type)

    def _add_relation(self, s: str, predicate: str, o: str, source: str | None, step: int | None) -> Relation:
        pred = normalize_predicate(predicate)
        if not pred:
            raise InvalidArgument(f"predicate {predicate!r} is empty once normalised; give a verb phrase")
        rid = relation_id(s, pred, o)
        if self.graph.has_edge(s, o, key=rid):
            old: Relation = self.graph[s][o][rid]["relation"]
            relation = old.model_copy(update={"sources": self._sources(old.sources, [source] if source else [])})
            if relation == old:
                return old
        else:
            relation = Relation(id=rid, subject=s, predicate=pred, object=o, sources=[source] if source else [],
                                step=step)
        self._put_relation(relation)
        self._changed_relations[rid] = relation
        return relation

    def _put_relation(self, relation: Relation) -> None:
        self.graph.add_edge(relation.subject, relation.object, key=relation.id, relation=relation)
        if relation.subject != relation.object:
            self._undirected.add_edge(relation.subject, relation.object)

    def _flush(self) -> None:
        """Hand what changed since the last flush to :meth:`_persist`, then forget it."""
        if self._changed_entities or self._changed_relations:
            entities, relations = list(self._changed_entities.values()), list(self._changed_relations.values())
            self._changed_entities.clear()
            self._changed_relations.clear()
            self._persist(entities, relations)

    def _persist(self, entities: list[Entity], relations: list[Relation]) -> None:
        """Where a persistent store writes the changes of one operation (nothing, in memory)."""


__all__ = ["MAX_NAME_WORDS", "GraphStore", "InMemoryGraphStore"]
