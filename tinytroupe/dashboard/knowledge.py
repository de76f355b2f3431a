"""The dashboard's Knowledge page: each world's shared knowledge graph and each agent's beliefs, as JSON
(:func:`~tinytroupe.grounding.graph.graph_json`) and as an SVG picture
(:func:`~tinytroupe.visualization.knowledge_graph.graph_svg`), from a live run or from a run file.

A live run's graphs are those of the agents' :class:`~tinytroupe.agent.knowledge.BeliefExtraction`
(``agent:NAME``) and the :class:`~tinytroupe.grounding.graph.SharedGraph` they submit to (a world's
graph: the first one its agents share). They are read on tinytroupe's event loop, between two turns,
as merged so far: the dashboard never settles a shared graph's pending extractions (that would change
the order a run merges them in); ``pending`` says how many wait. A run file's graphs are read anew for
each request from its ``kg_*`` tables, through a read-only connection (the run may still be writing).
A view is cut to its ``max_nodes`` best-connected entities (:data:`DEFAULT_NODES`, at most
:data:`MAX_NODES`).

Example:
    >>> from tinytroupe.agent import TinyPerson
    >>> from tinytroupe.agent.knowledge import BeliefExtraction
    >>> from tinytroupe.devtools.debugger import Debugger
    >>> from tinytroupe.environment import TinyWorld
    >>> from tinytroupe.grounding.graph import InMemoryGraphStore
    >>> beliefs = InMemoryGraphStore("agent:Ana")
    >>> _ = beliefs.add_relation("Ben", "works at", "Acme")
    >>> ana = TinyPerson("Ana").add_component(BeliefExtraction(beliefs))
    >>> graphs = LiveGraphs(Debugger(TinyWorld("Office", [ana], communication_display=False)))
    >>> [(g.name, g.entities, g.relations) for g in graphs.graphs()]
    [('agent:Ana', 2, 1)]
    >>> snapshot = graphs.snapshot("agent", "Ana", max_nodes=1)
    >>> [e.name for e in snapshot.view.entities], graph_payload(snapshot)["shown"]
    (['Ben'], {'entities': 1, 'relations': 0})
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pydantic import BaseModel

from tinytroupe.agent.knowledge import BeliefExtraction, KnowledgeRecall
from tinytroupe.aio import run_sync
from tinytroupe.errors import InvalidArgument, InvalidState, NotFound
from tinytroupe.grounding.graph import GraphStore, GraphView, SharedGraph, SQLiteGraphStore, graph_json
from tinytroupe.storage.knowledge_graphs import KnowledgeGraphRows
from tinytroupe.storage.sqlite import connect_readonly, storage_error

if TYPE_CHECKING:
    from tinytroupe.devtools.debugger import Debugger
    from tinytroupe.environment.world import TinyWorld

#: entities a view shows when the request does not say
DEFAULT_NODES = 150
#: the most a request may ask for: networkx lays out fewer than 500 nodes densely (about 0.5 s for 400 here), more
#: sparsely (seconds), and a picture of hundreds of nodes shows little anyway
MAX_NODES = 400

Kind = Literal["agent", "world"]
HOW = ("add_knowledge_graph(agent, world_graph=SharedGraph(...)) gives agents beliefs and a world its shared graph "
       "(docs/grounding.md, 'Knowledge graphs')")


class GraphSummary(BaseModel):
    """One graph the page can show: whose it is and how big."""

    name: str
    kind: Kind
    owner: str
    entities: int
    relations: int
    #: a shared graph's extractions not merged yet (they are at the next step)
    pending: int = 0


@dataclass
class GraphSnapshot:
    """A graph as read for one request: its summary and its view, cut to the request's ``max_nodes``."""

    summary: GraphSummary
    view: GraphView


class GraphSource(Protocol):
    """Where the Knowledge page reads graphs from."""

    def graphs(self) -> list[GraphSummary]: ...

    def snapshot(self, kind: Kind, owner: str | None, max_nodes: int) -> GraphSnapshot: ...


def check_max_nodes(max_nodes: int | None) -> int:
    """The ``max_nodes`` of a request (None: :data:`DEFAULT_NODES`).

    Raises:
        InvalidArgument: it is below 1 or above :data:`MAX_NODES`.
    """
    if max_nodes is None:
        return DEFAULT_NODES
    if not 1 <= max_nodes <= MAX_NODES:
        raise InvalidArgument(f"max_nodes must be between 1 and {MAX_NODES}, got {max_nodes}")
    return max_nodes


def graph_payload(snapshot: GraphSnapshot) -> dict[str, Any]:
    """What the JSON endpoints answer: the summary, the view as ``graph_json`` gives it, and what it shows."""
    view = snapshot.view
    return {**snapshot.summary.model_dump(), **graph_json(view), "name": snapshot.summary.name,
            "shown": {"entities": len(view.entities), "relations": len(view.relations)}}


def graph_title(summary: GraphSummary) -> str:
    """The picture's title."""
    return f"{summary.owner}'s beliefs" if summary.kind == "agent" else f"World graph of {summary.owner}"


def _pick(found: dict[str, Any], kind: Kind, owner: str | None, where: str) -> str:
    """The owner asked for (None: the only one there is), or NotFound/InvalidArgument saying who there is."""
    if owner is None and len(found) == 1:
        return next(iter(found))
    if owner is None and found:
        raise InvalidArgument(f"several worlds have a graph ({', '.join(sorted(found))}); say which with ?world=")
    if owner not in found:
        there = ", ".join(sorted(found)) or "none"
        who = f"{kind} {owner!r}" if owner is not None else "any world"
        raise NotFound(f"no knowledge graph of {who} in {where}; {kind} graphs there: {there}. {HOW}")
    return owner


class LiveGraphs:
    """The graphs of the agents of the worlds a debugger is attached to, as they are now."""

    def __init__(self, debugger: Debugger) -> None:
        self.debugger = debugger

    def graphs(self) -> list[GraphSummary]:
        return run_sync(self._graphs())

    def snapshot(self, kind: Kind, owner: str | None, max_nodes: int) -> GraphSnapshot:
        """Raises NotFound: no such agent or world, or it has no graph."""
        return run_sync(self._snapshot(kind, owner, max_nodes))

    def _agent_graph(self, name: str) -> GraphStore | None:
        beliefs = self.debugger.agent(name).get_component("beliefs")
        if not isinstance(beliefs, BeliefExtraction):
            return None
        try:
            return beliefs.graph
        except InvalidState:  # made at the agent's first turn
            return None

    def _world_graphs(self) -> dict[str, SharedGraph]:
        found: dict[str, SharedGraph] = {}
        for world in self.debugger.worlds:
            shared = _shared_graph_of(world)
            if shared is not None:
                found.setdefault(world.name, shared)
        return found

    async def _graphs(self) -> list[GraphSummary]:
        out = [_summary(shared.store, "world", world, shared.pending())
               for world, shared in self._world_graphs().items()]
        for name in self.debugger.agents():
            graph = self._agent_graph(name)
            if graph is not None:
                out.append(_summary(graph, "agent", name))
        return out

    async def _snapshot(self, kind: Kind, owner: str | None, max_nodes: int) -> GraphSnapshot:
        if kind == "world":
            worlds = self._world_graphs()
            chosen = _pick(worlds, kind, owner, "the watched worlds")
            shared = worlds[chosen]
            summary, graph = _summary(shared.store, kind, chosen, shared.pending()), shared.store
        else:
            if owner is None:
                raise InvalidArgument("say whose beliefs to show")
            found = self._agent_graph(owner)
            if found is None:
                raise NotFound(f"agent {owner!r} has no knowledge graph yet: it has no beliefs component, or has "
                               f"not had a turn since it got one. {HOW}")
            summary, graph = _summary(found, kind, owner), found
        # a copy: the run goes on merging into the live entities while the page's picture is drawn
        return GraphSnapshot(summary, graph.view().trimmed(max_nodes).model_copy(deep=True))


def _shared_graph_of(world: TinyWorld) -> SharedGraph | None:
    """The first shared graph the world's agents submit to or read (their beliefs' and recall's)."""
    for agent in world.agents:
        beliefs, recall = agent.get_component("beliefs"), agent.get_component("knowledge")
        if isinstance(beliefs, BeliefExtraction) and beliefs.world_graph is not None:
            return beliefs.world_graph
        if isinstance(recall, KnowledgeRecall):
            shared = next((g for g in recall.graphs if isinstance(g, SharedGraph)), None)
            if shared is not None:
                return shared
    return None


def _summary(graph: GraphStore, kind: Kind, owner: str, pending: int = 0) -> GraphSummary:
    entities, relations = graph.counts()
    return GraphSummary(name=graph.name, kind=kind, owner=owner, entities=entities, relations=relations,
                        pending=pending)


class RunFileGraphs:
    """The graphs a run file's ``kg_*`` tables hold for one of its runs (read anew for each request, read-only).

    Args:
        path: the run file.
        run_id: which run (its simulation's graphs; default: the latest run).
    """

    def __init__(self, path: str | Path, run_id: int | None = None) -> None:
        self.path, self.run_id = Path(path), run_id

    def _rows(self) -> KnowledgeGraphRows | None:
        """The run's graph tables, or None when the file has none (nothing ever wrote a graph to it)."""
        try:
            conn = connect_readonly(self.path)
            try:
                tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
                if "kg_entities" not in tables or "runs" not in tables:
                    return None
                row = conn.execute("SELECT simulation_id FROM runs WHERE run_id = COALESCE(?, (SELECT MAX(run_id) "
                                   "FROM runs))", (self.run_id,)).fetchone()
            finally:
                conn.close()
        except sqlite3.Error as exc:
            raise storage_error(exc, self.path, "reading the knowledge graphs of") from exc
        return None if row is None else KnowledgeGraphRows(self.path, str(row[0]), readonly=True)

    def graphs(self) -> list[GraphSummary]:
        rows = self._rows()
        if rows is None:
            return []
        try:
            found = []
            for name in rows.graphs():
                kind, _, owner = name.partition(":")
                if kind in ("agent", "world") and owner:
                    entities, relations = rows.counts(name)
                    found.append(GraphSummary(name=name, kind=kind, owner=owner, entities=entities,
                                              relations=relations))
            return found
        finally:
            rows.close()

    def snapshot(self, kind: Kind, owner: str | None, max_nodes: int) -> GraphSnapshot:
        """Raises NotFound: the file holds no such graph. StorageError: the file cannot be read."""
        summaries = {g.owner: g for g in self.graphs() if g.kind == kind}
        if kind == "agent" and owner is None:
            raise InvalidArgument("say whose beliefs to show")
        chosen = summaries[_pick(summaries, kind, owner, repr(str(self.path)))]
        rows = self._rows()
        assert rows is not None  # it had the graph a moment ago; tables are never dropped
        try:
            store = SQLiteGraphStore.open(chosen.name, rows)
        finally:
            rows.close()
        return GraphSnapshot(_summary(store, kind, chosen.owner), store.view().trimmed(max_nodes))


class NoGraphs:
    """An event log holds no graph: the page says so."""

    def graphs(self) -> list[GraphSummary]:
        return []

    def snapshot(self, kind: Kind, owner: str | None, max_nodes: int) -> GraphSnapshot:
        raise NotFound("an event log (trace.jsonl) records events only, no knowledge graph; open the run file "
                       "(control.begin()) to see the graphs kept in it")


__all__ = ["DEFAULT_NODES", "MAX_NODES", "GraphSnapshot", "GraphSource", "GraphSummary", "LiveGraphs", "NoGraphs",
           "RunFileGraphs", "check_max_nodes", "graph_payload", "graph_title"]
