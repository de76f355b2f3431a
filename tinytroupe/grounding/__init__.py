"""Grounding: knowledge stores and retrieval that agents draw on (documents, knowledge graphs).

Public names live in the subpackages; :mod:`tinytroupe.grounding.graph` holds the knowledge graphs
(entities and relations extracted by a model, merged, persisted in the run file, retrieved into prompts).
"""
