"""Walking a knowledge graph held in networkx: neighbourhoods, paths, and queries by type and predicate.

The graph is a ``MultiDiGraph`` whose nodes are entity ids (attribute ``entity``) and whose edges are
keyed by relation id (attribute ``relation``). Walks ignore direction (a neighbour is anyone related
either way) but the relations returned keep theirs. Every function is bounded: depth, path length and
the number of relations returned.

Example:
    >>> import networkx as nx
    >>> from tinytroupe.grounding.graph.models import Entity, Relation
    >>> g = nx.MultiDiGraph()
    >>> for eid in "abc":
    ...     g.add_node(eid, entity=Entity(id=eid, name=eid.upper()))
    >>> for s, o in ("ab", "bc"):
    ...     _ = g.add_edge(s, o, key=s + o, relation=Relation(id=s + o, subject=s, predicate="knows", object=o))
    >>> [e.id for e in neighbourhood(g, "a", depth=1).entities]
    ['a', 'b']
    >>> [p.text() for p in paths(g, "a", "c")]
    ['A -knows-> B -knows-> C']
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import networkx as nx

from tinytroupe.errors import InvalidArgument
from tinytroupe.grounding.graph.models import Entity, GraphPath, GraphView, Relation

#: the most relations a neighbourhood or query returns unless told otherwise (prompts and views stay small)
DEFAULT_LIMIT = 200


def _relations_between(g: nx.MultiDiGraph, a: str, b: str) -> Iterator[Relation]:
    if g.has_edge(a, b):
        for data in g[a][b].values():
            yield data["relation"]
    if a != b and g.has_edge(b, a):
        for data in g[b][a].values():
            yield data["relation"]


def neighbourhood(g: nx.MultiDiGraph, start: str, depth: int = 1, limit: int = DEFAULT_LIMIT) -> GraphView:
    """The entities within ``depth`` hops of ``start`` (either direction) and the relations the walk followed.

    Entities come nearest first (then along outgoing relations before incoming ones, each in the order
    added); relations in the order the breadth-first walk met them, at most ``limit`` (entities only a
    dropped relation reached are left out).

    Raises:
        InvalidArgument: ``depth`` or ``limit`` is negative.
    """
    if depth < 0 or limit < 0:
        raise InvalidArgument(f"depth and limit must be >= 0, got depth={depth}, limit={limit}")
    seen = {start: 0}
    order = [start]
    relations: dict[str, Relation] = {}
    frontier = [start]
    for hop in range(1, depth + 1):
        nxt: list[str] = []
        for node in frontier:
            for edges in (g.out_edges(node, data=True), g.in_edges(node, data=True)):
                for s, o, data in edges:
                    other = o if s == node else s
                    if len(relations) < limit:
                        relations.setdefault(data["relation"].id, data["relation"])
                    elif data["relation"].id not in relations:
                        continue
                    if other not in seen:
                        seen[other] = hop
                        order.append(other)
                        nxt.append(other)
        frontier = nxt
    entities = [g.nodes[n]["entity"] for n in order]
    return GraphView(entities=entities, relations=list(relations.values()))


def paths(g: nx.MultiDiGraph, a: str, b: str, max_length: int = 4, limit: int = 5,
          undirected: nx.Graph | None = None) -> list[GraphPath]:
    """The shortest paths from ``a`` to ``b`` (either direction), up to ``max_length`` hops, at most ``limit``.

    ``undirected``: ``g`` without directions or parallel edges, when the caller keeps one up to date
    (otherwise it is built here, which costs a pass over the graph).

    Raises:
        InvalidArgument: ``max_length`` or ``limit`` is below 1.
    """
    if max_length < 1 or limit < 1:
        raise InvalidArgument(f"max_length and limit must be >= 1, got max_length={max_length}, limit={limit}")
    if a == b:
        return []
    if undirected is None:
        undirected = nx.Graph(g.to_undirected(as_view=True))
    found: list[GraphPath] = []
    try:
        for nodes in nx.shortest_simple_paths(undirected, a, b):
            if len(nodes) - 1 > max_length or len(found) >= limit:
                break
            rels = [min(_relations_between(g, x, y), key=lambda r: r.id) for x, y in itertools.pairwise(nodes)]
            found.append(GraphPath(entities=[g.nodes[n]["entity"] for n in nodes], relations=rels))
    except nx.NetworkXNoPath:
        return []
    return found


def query(g: nx.MultiDiGraph, *, type: str | None = None, predicate: str | None = None,
          subject: str | None = None, object: str | None = None, limit: int = DEFAULT_LIMIT) -> GraphView:
    """Entities of ``type`` and relations matching ``predicate``/``subject``/``object`` (each optional).

    With only ``type``: those entities and no relations. With a relation filter: the matching relations
    (at most ``limit``) and their endpoints (of ``type``, when given, on either end).
    """
    if predicate is None and subject is None and object is None:
        ents = [d["entity"] for _, d in g.nodes(data=True) if type is None or d["entity"].type == type]
        return GraphView(entities=ents[:limit] if type is None else ents)
    rels: list[Relation] = []
    edges = g.out_edges(subject, data=True) if subject is not None else (
        g.in_edges(object, data=True) if object is not None else g.edges(data=True))
    for s, o, data in edges:
        rel: Relation = data["relation"]
        if (predicate is not None and rel.predicate != predicate) or (object is not None and o != object):
            continue
        if type is not None and type not in (g.nodes[s]["entity"].type, g.nodes[o]["entity"].type):
            continue
        rels.append(rel)
        if len(rels) >= limit:
            break
    ids = dict.fromkeys(n for r in rels for n in (r.subject, r.object))
    return GraphView(entities=[g.nodes[n]["entity"] for n in ids], relations=rels)


def entity_of(g: nx.MultiDiGraph, eid: str) -> Entity:
    """The entity stored at node ``eid``."""
    entity: Entity = g.nodes[eid]["entity"]
    return entity


__all__ = ["DEFAULT_LIMIT", "entity_of", "neighbourhood", "paths", "query"]
