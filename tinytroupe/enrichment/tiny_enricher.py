"""``TinyEnricher``: make a text richer (longer, more detailed) as the requirements say, with one LLM call.

TinyTroupe's tools use it to expand documents agents write; it works on any text.

Example (a scripted model stands in for a real one):
    >>> from tinytroupe.llm import LLMClient, ScriptedBackend
    >>> client = LLMClient(ScriptedBackend([{"content": "# Plan\\n\\n1. Buy flour, 2 kg.\\n2. Bake at 220 °C."}]))
    >>> enricher = TinyEnricher(client=client)
    >>> print(enricher.enrich_content("Add quantities and temperatures.", "# Plan\\n\\n1. Buy flour.\\n2. Bake.",
    ...                               content_type="Markdown"))
    # Plan
    <BLANKLINE>
    1. Buy flour, 2 kg.
    2. Bake at 220 °C.
"""

from __future__ import annotations

from typing import Any

from tinytroupe.aio import run_sync
from tinytroupe.enrichment.transform import ContentTransformer, check_text

#: TinyTroupe samples enrichments at this temperature: variety is the point
ENRICHMENT_TEMPERATURE = 1.0


class TinyEnricher(ContentTransformer):
    """Enriches content following requirements (TinyTroupe's ``TinyEnricher``).

    Args:
        use_past_results_in_context: show the model the newest earlier enrichments (for a consistent
            series) and keep each new one in :attr:`context_cache`.
        client: the LLM client (default: the current run context's).
    """

    async def aenrich_content(self, requirements: str, content: str, content_type: str | None = None,
                              context_info: str = "", context_cache: list[Any] | None = None,
                              verbose: bool = False) -> str:
        """Async twin of :meth:`enrich_content`."""
        check_text(requirements, "requirements")
        check_text(content, "content")
        values = {"requirements": requirements, "content": content, "content_type": content_type,
                  "context_info": context_info or ""}
        enriched = await self._atransform("enricher", values, context_cache, purpose="enrichment",
                                          temperature=ENRICHMENT_TEMPERATURE, verbose=verbose)
        self._remember(enriched)
        return enriched

    def enrich_content(self, requirements: str, content: str, content_type: str | None = None,
                       context_info: str = "", context_cache: list[Any] | None = None,
                       verbose: bool = False) -> str:
        """``content`` enriched as ``requirements`` say (TinyTroupe's signature).

        ``content_type`` names the kind of text (``"Markdown"``, ``"email"``); ``context_info`` is
        background the model may use; ``context_cache`` lists earlier results to stay consistent with
        (default: this enricher's own, when ``use_past_results_in_context``).

        Raises:
            InvalidArgument: ``requirements`` or ``content`` is empty (before any call).
            LLMOutputError: the answer stayed empty or cut off after the re-asks (TinyTroupe returned None).
            LLMTransportError: the model server could not be reached.
        """
        return run_sync(self.aenrich_content(requirements, content, content_type, context_info, context_cache,
                                             verbose))


__all__ = ["ENRICHMENT_TEMPERATURE", "TinyEnricher"]
