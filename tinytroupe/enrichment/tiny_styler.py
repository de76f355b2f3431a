"""``TinyStyler``: say the same thing in another style (formal, casual, a teenager's, a lawyer's), with one LLM call.

Example (a scripted model stands in for a real one):
    >>> from tinytroupe.llm import LLMClient, ScriptedBackend
    >>> client = LLMClient(ScriptedBackend([{"content": "Hey! The meeting moved to 3pm, see you there."}]))
    >>> styler = TinyStyler(use_past_results_in_context=True, client=client)
    >>> styler.apply_style("The meeting has been rescheduled to 15:00.", "casual", content_type="chat message")
    'Hey! The meeting moved to 3pm, see you there.'
    >>> styler.context_cache[0]["style"]
    'casual'
"""

from __future__ import annotations

from typing import Any

from tinytroupe.aio import run_sync
from tinytroupe.enrichment.transform import ContentTransformer, check_text

DEFAULT_STYLE_TEMPERATURE = 0.7


class TinyStyler(ContentTransformer):
    """Applies a writing or speaking style to content, keeping all its information (TinyTroupe's ``TinyStyler``).

    Args:
        use_past_results_in_context: show the model the newest earlier results (for a consistent
            voice) and keep each new one in :attr:`context_cache` as ``{"original", "style", "styled"}``.
        client: the LLM client (default: the current run context's).
    """

    async def aapply_style(self, content: str, style: str, content_type: str | None = None,
                           context_info: str = "", context_cache: list[Any] | None = None,
                           verbose: bool = False, temperature: float = DEFAULT_STYLE_TEMPERATURE) -> str:
        """Async twin of :meth:`apply_style`."""
        check_text(content, "content")
        check_text(style, "style")
        values = {"content": content, "style": style, "content_type": content_type,
                  "context_info": context_info or ""}
        styled = await self._atransform("styler", values, context_cache, purpose="styling",
                                        temperature=temperature, verbose=verbose)
        self._remember({"original": content, "style": style, "styled": styled})
        return styled

    def apply_style(self, content: str, style: str, content_type: str | None = None, context_info: str = "",
                    context_cache: list[Any] | None = None, verbose: bool = False,
                    temperature: float = DEFAULT_STYLE_TEMPERATURE) -> str:
        """``content`` rewritten in ``style``, with the same information (TinyTroupe's signature).

        Raises:
            InvalidArgument: ``content`` or ``style`` is empty (before any call).
            LLMOutputError: the answer stayed empty or cut off after the re-asks (TinyTroupe returned the
                original content instead, which hid the failure).
            LLMTransportError: the model server could not be reached.
        """
        return run_sync(self.aapply_style(content, style, content_type, context_info, context_cache, verbose,
                                          temperature))


__all__ = ["DEFAULT_STYLE_TEMPERATURE", "TinyStyler"]
