"""A knowledge graph as JSON for network views: the dashboard, notebooks, other tools.

Example:
    >>> from tinytroupe.grounding.graph.store import InMemoryGraphStore
    >>> g = InMemoryGraphStore("demo")
    >>> _ = g.add_relation("Ana", "works at", "Acme")
    >>> data = graph_json(g)
    >>> data["name"], [n["label"] for n in data["nodes"]], [e["label"] for e in data["edges"]]
    ('demo', ['Ana', 'Acme'], ['works_at'])
"""

from __future__ import annotations

from typing import Any

from tinytroupe.grounding.graph.models import GraphView
from tinytroupe.grounding.graph.store import GraphStore


def graph_json(graph: GraphStore | GraphView, *, max_nodes: int | None = None) -> dict[str, Any]:
    """``{"name", "nodes": [{id, label, group, aliases}], "edges": [{id, from, to, label, sources}]}``.

    The shape of the dashboard's network view (``group`` is the entity type). ``max_nodes`` keeps the
    best-connected entities and the relations among them (None: all).
    """
    view = graph if isinstance(graph, GraphView) else graph.view()
    if max_nodes is not None:
        view = view.trimmed(max_nodes)
    return {"name": graph.name if not isinstance(graph, GraphView) else None, **view.to_json()}


__all__ = ["graph_json"]
