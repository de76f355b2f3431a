"""Who talks to whom: a directed, weighted networkx graph of a run's speech and each agent's centralities.

An edge ``speaker -> listener`` counts what the listener heard from the speaker: the ``CONVERSATION``
stimuli with a source (what the world delivered, so speech to everyone counts once per listener). A run
without them (a trace of actions only) falls back to ``TALK`` actions with a target. Each edge keeps the
ids of the events it rests on.

Centralities (networkx): ``degree`` (in plus out, normalised by ``n - 1``), ``in_degree`` and
``out_degree`` (weighted: how much heard and said), ``betweenness`` (on the directed graph, unweighted:
how often an agent lies on shortest paths between two others), ``eigenvector`` (on the undirected graph,
weights summed both ways: being connected to the connected).

Example:
    >>> from tinytroupe.analysis.run_events import RunEvents
    >>> run = RunEvents.load([
    ...     {"kind": "stimulus", "stimulus_type": "CONVERSATION", "agent": "Ben", "source": "Ana", "content": "hi"},
    ...     {"kind": "stimulus", "stimulus_type": "CONVERSATION", "agent": "Ana", "source": "Ben", "content": "yo"},
    ...     {"kind": "stimulus", "stimulus_type": "CONVERSATION", "agent": "Cy", "source": "Ana", "content": "hi"}])
    >>> graph = interaction_graph(run)
    >>> sorted(graph.edges(data="weight"))
    [('Ana', 'Ben', 1), ('Ana', 'Cy', 1), ('Ben', 'Ana', 1)]
    >>> float(centralities(graph).loc["Ana", "betweenness"])
    0.5
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tinytroupe.analysis.run_events import RunEvents

if TYPE_CHECKING:
    import networkx as nx
    import pandas as pd


def interaction_graph(run: RunEvents) -> nx.DiGraph:
    """The run's speech as a directed graph: nodes are agents (``said``, ``heard``), edges
    ``speaker -> listener`` with ``weight`` (how many times) and ``ids`` (the events)."""
    import networkx as nx

    graph = nx.DiGraph()
    graph.add_nodes_from(run.agents(), said=0, heard=0)
    heard = [e for e in run.of_kind("stimulus") if e.get("stimulus_type") == "CONVERSATION"
             and e.get("source") and e.get("agent") and e["source"] != e["agent"]]
    pairs = [(str(e["source"]), str(e["agent"]), e["id"]) for e in heard]
    if not pairs:
        pairs = [(str(e["agent"]), str(e["target"]), e["id"]) for e in run.utterances()
                 if e.get("target") and e["target"] != e["agent"]]
    for speaker, listener, event_id in pairs:
        for node in (speaker, listener):
            if node not in graph:
                graph.add_node(node, said=0, heard=0)
        if graph.has_edge(speaker, listener):
            graph[speaker][listener]["weight"] += 1
            graph[speaker][listener]["ids"].append(event_id)
        else:
            graph.add_edge(speaker, listener, weight=1, ids=[event_id])
    for u in run.utterances():
        graph.nodes[u["agent"]]["said"] = graph.nodes[u["agent"]].get("said", 0) + 1
    for _, listener, weight in graph.edges(data="weight"):
        graph.nodes[listener]["heard"] += weight
    return graph


def centralities(graph: nx.DiGraph) -> pd.DataFrame:
    """One row per agent (the index): ``said``, ``heard``, ``partners``, ``degree``, ``in_degree``,
    ``out_degree``, ``betweenness``, ``eigenvector``; sorted by eigenvector, then degree centrality."""
    import networkx as nx
    import pandas as pd

    columns = ["said", "heard", "partners", "degree", "in_degree", "out_degree", "betweenness", "eigenvector"]
    if graph.number_of_nodes() == 0:
        return pd.DataFrame(columns=columns)
    degree = nx.degree_centrality(graph)
    betweenness = nx.betweenness_centrality(graph)
    eigenvector = _eigenvector(graph)
    rows = {}
    for node, data in graph.nodes(data=True):
        partners = set(graph.successors(node)) | set(graph.predecessors(node))
        rows[node] = {"said": data.get("said", 0), "heard": data.get("heard", 0), "partners": len(partners),
                      "degree": round(degree[node], 4),
                      "in_degree": graph.in_degree(node, weight="weight"),
                      "out_degree": graph.out_degree(node, weight="weight"),
                      "betweenness": round(betweenness[node], 4), "eigenvector": round(eigenvector[node], 4)}
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=columns)
    frame.index.name = "agent"
    return frame.sort_values(["eigenvector", "degree"], ascending=False, kind="stable")


def undirected_weighted(graph: nx.DiGraph) -> nx.Graph:
    """``graph`` without direction, each pair's weight the sum of both directions."""
    import networkx as nx

    out = nx.Graph()
    out.add_nodes_from(graph.nodes)
    for a, b, weight in graph.edges(data="weight"):
        previous = out[a][b]["weight"] if out.has_edge(a, b) else 0
        out.add_edge(a, b, weight=previous + weight)
    return out


def _eigenvector(graph: nx.DiGraph) -> dict[str, float]:
    """Eigenvector centrality of the undirected weighted graph (a directed one often has none: a speaker
    nobody answers has an in-degree of 0): the leading eigenvector of the weighted adjacency matrix, unit
    length, from numpy's dense symmetric solver (what ``nx.eigenvector_centrality_numpy`` gives, which
    refuses graphs of two nodes), so it always converges.

    A graph in several pieces has no single answer (networkx refuses it): each connected piece is solved
    on its own (unit length within it) and scaled by ``sqrt(piece size / agents in pieces)``, so the whole vector has
    unit length and a piece weighs by its size; an agent alone scores 0.
    """
    import networkx as nx

    undirected = undirected_weighted(graph)
    scores = dict.fromkeys(graph.nodes, 0.0)
    pieces = [piece for piece in nx.connected_components(undirected) if len(piece) > 1]
    total = sum(len(piece) for piece in pieces)
    for piece in pieces:
        members = sorted(piece, key=str)
        matrix = nx.to_numpy_array(undirected, nodelist=members, weight="weight")
        _, vectors = np.linalg.eigh(matrix)
        leading = np.abs(vectors[:, -1])
        leading = leading / (np.linalg.norm(leading) or 1.0)
        scale = (len(piece) / total) ** 0.5
        for node, value in zip(members, leading, strict=True):
            scores[node] = float(value) * scale
    return scores


__all__ = ["centralities", "interaction_graph", "undirected_weighted"]
