"""Knowledge graphs: entities and relations a model extracts from what agents perceive and say, merged,
persisted in the run file, and retrieved into prompts (``docs/grounding.md``, "Knowledge graphs").

Public names: :class:`GraphStore` (the interface), :class:`InMemoryGraphStore`, :class:`SQLiteGraphStore`,
:func:`graph_store_for`; :class:`Entity`, :class:`Relation`, :class:`GraphView`, :class:`GraphPath`,
:class:`GraphExtraction`, :class:`MergeReport`; :func:`extract`/:func:`aextract` (the extraction call),
:class:`SourceText`; :func:`knowledge_section` (the "What you know" prompt section); :func:`graph_json`.
"""
