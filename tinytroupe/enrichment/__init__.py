"""Enrichment: LLM transformations of text, as TinyTroupe's ``tinytroupe.enrichment``.

:class:`TinyEnricher` makes a text richer as requirements say; :class:`TinyStyler` says the same
thing in another style. Each is one validated LLM call with its prompt templates in ``prompts/``.

Public names: TinyEnricher, TinyStyler, TransformedContent.
"""

from tinytroupe.enrichment.tiny_enricher import TinyEnricher
from tinytroupe.enrichment.tiny_styler import TinyStyler
from tinytroupe.enrichment.transform import TransformedContent

__all__ = ["TinyEnricher", "TinyStyler", "TransformedContent"]
