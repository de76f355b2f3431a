"""Knowledge graphs: entities and relations a model extracts from what agents perceive and say, merged,
persisted in the run file, and retrieved into prompts (``docs/grounding.md``, "Knowledge graphs").

Public names: :class:`GraphStore` (the interface), :class:`InMemoryGraphStore`, :class:`SQLiteGraphStore`,
:func:`graph_store_for`; :class:`Entity`, :class:`Relation`, :class:`GraphView`, :class:`GraphPath`,
:class:`GraphExtraction`, :class:`MergeReport`; :func:`extract`/:func:`aextract` (the extraction call),
:class:`SourceText`; :func:`knowledge_section` (the "What you know" prompt section); :class:`SharedGraph` (a graph
several agents add to, merged in a fixed order); :func:`graph_json`.
"""

from tinytroupe.grounding.graph.export import graph_json
from tinytroupe.grounding.graph.extraction import SourceText, aextract, extract
from tinytroupe.grounding.graph.models import (
    Entity,
    ExtractedEntity,
    ExtractedRelation,
    GraphExtraction,
    GraphPath,
    GraphView,
    MergeReport,
    Relation,
)
from tinytroupe.grounding.graph.retrieval import knowledge_section
from tinytroupe.grounding.graph.shared import SharedGraph
from tinytroupe.grounding.graph.sqlite_store import SQLiteGraphStore, graph_store_for
from tinytroupe.grounding.graph.store import GraphStore, InMemoryGraphStore

__all__ = ["Entity", "ExtractedEntity", "ExtractedRelation", "GraphExtraction", "GraphPath", "GraphStore", "GraphView",
           "InMemoryGraphStore", "MergeReport", "Relation", "SQLiteGraphStore", "SharedGraph", "SourceText",
           "aextract", "extract", "graph_json", "graph_store_for", "knowledge_section"]
