"""Knowledge graphs in the run file: the entities and relations of each agent's and world's graph.

Two tables, ``kg_entities`` and ``kg_relations``, one row per element of a named graph, keyed by
``(simulation_id, graph, id)``. Ids derive from content (:mod:`tinytroupe.grounding.graph.merge`), and
a row is written as an upsert, so a replayed or resumed run that extracts the same facts
rewrites the same rows and the file never holds an element twice. A row keeps the element as JSON
(``data``, the store above decides its shape) with a few plain columns for SQL readers (name and type;
subject, predicate and object) and ``step``: the world step it was first seen at, so a graph can be
read back as it was at a checkpoint (its elements first seen by then, as last written).

Writes go through the run's :class:`~tinytroupe.storage.writer.BatchWriter` when one is given (one
merge's rows commit together); reads flush what was queued, then read.

Example:
    >>> rows = KnowledgeGraphRows(":memory:", "demo")
    >>> node = NodeRow(id="e-ana", label="Ana", kind="person", data={"name": "Ana"}, step=1)
    >>> rows.write("agent:Ben", [node], [])
    >>> rows.write("agent:Ben", [node], [])  # a replay writes the same row again
    >>> rows.counts("agent:Ben"), rows.graphs()
    ((1, 0), ['agent:Ben'])
    >>> rows.close()
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tinytroupe.storage.run_tables import RunFileTables
from tinytroupe.storage.sqlite import ensure_schema
from tinytroupe.storage.writer import BatchWriter

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS kg_entities (
    simulation_id TEXT NOT NULL,
    graph         TEXT NOT NULL,
    id            TEXT NOT NULL,
    name          TEXT NOT NULL,
    type          TEXT NOT NULL,
    step          INTEGER,
    data          TEXT NOT NULL,
    PRIMARY KEY (simulation_id, graph, id)
);
CREATE TABLE IF NOT EXISTS kg_relations (
    simulation_id TEXT NOT NULL,
    graph         TEXT NOT NULL,
    id            TEXT NOT NULL,
    subject       TEXT NOT NULL,
    predicate     TEXT NOT NULL,
    object        TEXT NOT NULL,
    step          INTEGER,
    data          TEXT NOT NULL,
    PRIMARY KEY (simulation_id, graph, id)
);
"""
# an upsert, not INSERT OR REPLACE: the row keeps its rowid, so reading back keeps the order first written
_PUT_NODE = ("INSERT INTO kg_entities (simulation_id, graph, id, name, type, step, data) VALUES (?,?,?,?,?,?,?) "
             "ON CONFLICT (simulation_id, graph, id) DO UPDATE SET name = excluded.name, type = excluded.type, "
             "step = excluded.step, data = excluded.data")
_PUT_EDGE = ("INSERT INTO kg_relations (simulation_id, graph, id, subject, predicate, object, step, data) "
             "VALUES (?,?,?,?,?,?,?,?) ON CONFLICT (simulation_id, graph, id) DO UPDATE SET "
             "subject = excluded.subject, predicate = excluded.predicate, object = excluded.object, "
             "step = excluded.step, data = excluded.data")


def create_tables(conn: sqlite3.Connection) -> None:
    """Create (or check) the knowledge graph tables on ``conn``."""
    ensure_schema(conn, "knowledge_graphs", SCHEMA_VERSION, _SCHEMA)


class NodeRow(BaseModel):
    """An entity row: its id, name (``label``), type (``kind``), first step and the element as JSON."""

    model_config = ConfigDict(frozen=True)

    id: str
    label: str
    kind: str
    step: int | None = None
    data: dict[str, Any] = Field(default_factory=dict)


class EdgeRow(BaseModel):
    """A relation row: its id, ``subject -predicate-> object`` (entity ids), first step and the element as JSON."""

    model_config = ConfigDict(frozen=True)

    id: str
    subject: str
    predicate: str
    object: str
    step: int | None = None
    data: dict[str, Any] = Field(default_factory=dict)


class KnowledgeGraphRows(RunFileTables):
    """The knowledge graph rows of one simulation in a run file (``":memory:"``: a private database).

    Args:
        path: the run file.
        simulation_id: whose graphs these are (a run file may hold several simulations).
        writer: the run's background writer (optional; see the module docstring).
        readonly: read an existing file's tables without writing anything (a viewer's access).
    """

    what = "the knowledge graphs"

    def __init__(self, path: str | Path, simulation_id: str, *, writer: BatchWriter | None = None,
                 readonly: bool = False) -> None:
        super().__init__(path, simulation_id, setup=create_tables, writer=writer, readonly=readonly)

    def write(self, graph: str, nodes: Sequence[NodeRow], edges: Sequence[EdgeRow]) -> None:
        """Write (or replace) the rows of ``graph``, all in one transaction.

        Raises:
            StorageError: the run file cannot be written (with a writer: by this or a later write).
        """
        sim = self.simulation_id
        node_params = [(sim, graph, n.id, n.label, n.kind, n.step, json.dumps(n.data)) for n in nodes]
        edge_params = [(sim, graph, e.id, e.subject, e.predicate, e.object, e.step, json.dumps(e.data))
                       for e in edges]
        if not node_params and not edge_params:
            return

        def put(conn: sqlite3.Connection) -> None:
            conn.executemany(_PUT_NODE, node_params)
            conn.executemany(_PUT_EDGE, edge_params)

        self._write(put, "writing a knowledge graph to")

    def nodes(self, graph: str, upto_step: int | None = None) -> list[NodeRow]:
        """The entity rows of ``graph`` in the order first written (those first seen by ``upto_step``, if given).

        Raises:
            StorageError: the run file cannot be read.
        """
        where, args = self._where(graph, upto_step)
        found = self._read(f"SELECT id, name, type, step, data FROM kg_entities WHERE {where} ORDER BY rowid", args)
        return [NodeRow(id=str(r[0]), label=str(r[1]), kind=str(r[2]), step=_int(r[3]), data=json.loads(str(r[4])))
                for r in found]

    def edges(self, graph: str, upto_step: int | None = None) -> list[EdgeRow]:
        """The relation rows of ``graph`` in the order first written (those first seen by ``upto_step``).

        Raises:
            StorageError: the run file cannot be read.
        """
        where, args = self._where(graph, upto_step)
        found = self._read(f"SELECT id, subject, predicate, object, step, data FROM kg_relations WHERE {where} "
                           "ORDER BY rowid", args)
        return [EdgeRow(id=str(r[0]), subject=str(r[1]), predicate=str(r[2]), object=str(r[3]), step=_int(r[4]),
                        data=json.loads(str(r[5]))) for r in found]

    def graphs(self) -> list[str]:
        """The names of this simulation's graphs, sorted."""
        found = self._read("SELECT DISTINCT graph FROM kg_entities WHERE simulation_id = ? ORDER BY graph",
                           (self.simulation_id,))
        return [str(r[0]) for r in found]

    def counts(self, graph: str) -> tuple[int, int]:
        """How many entity and relation rows ``graph`` has."""
        args = (self.simulation_id, graph)
        n = self._read("SELECT COUNT(*) FROM kg_entities WHERE simulation_id = ? AND graph = ?", args)[0][0]
        m = self._read("SELECT COUNT(*) FROM kg_relations WHERE simulation_id = ? AND graph = ?", args)[0][0]
        return _int(n) or 0, _int(m) or 0

    # ------------------------------------------------------------------ internals

    def _where(self, graph: str, upto_step: int | None) -> tuple[str, tuple[object, ...]]:
        if upto_step is None:
            return "simulation_id = ? AND graph = ?", (self.simulation_id, graph)
        return ("simulation_id = ? AND graph = ? AND (step IS NULL OR step <= ?)",
                (self.simulation_id, graph, upto_step))

def _int(value: object) -> int | None:
    return int(value) if isinstance(value, int) else None


__all__ = ["EdgeRow", "KnowledgeGraphRows", "NodeRow", "create_tables"]
