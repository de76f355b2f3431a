"""What :class:`~tinytroupe.enrichment.TinyEnricher` and :class:`~tinytroupe.enrichment.TinyStyler`
share: one LLM call that turns a text into another, a validated answer, and a bounded memory of past
results that can be shown to the model for consistency.

The answer is structured (``{"content": ...}``), as in TinyTroupe's enricher; an empty or cut-off one
is re-asked and then raised as :class:`~tinytroupe.errors.LLMOutputError` with the raw text.
TinyTroupe returned None (enricher) or the original content (styler) instead.

Example (an empty answer is not a result):
    >>> TransformedContent.model_validate({"content": "Longer text."}).content
    'Longer text.'
    >>> TransformedContent.model_validate({"content": "  "})
    Traceback (most recent call last):
    ...
    pydantic_core._pydantic_core.ValidationError: 1 validation error for TransformedContent
    ...
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, Field, field_validator

from tinytroupe.context import current_context
from tinytroupe.errors import InvalidArgument, InvalidArgumentType
from tinytroupe.llm.client import LLMClient
from tinytroupe.llm.tokens import chars_for_tokens
from tinytroupe.llm.types import Message
from tinytroupe.prompt_folder import PromptFolder
from tinytroupe.terminal import print_plain

logger = logging.getLogger(__name__)

#: past results kept in :attr:`ContentTransformer.context_cache` (the oldest leave first)
MAX_CONTEXT_CACHE = 20
#: past results shown to the model (the newest), each cut to a share of the prompt budget
CONTEXT_ITEMS_SHOWN = 3
_CONTEXT_CHAR_BUDGET = 12_000

_FOLDER = PromptFolder("tinytroupe.enrichment")


class TransformedContent(BaseModel):
    """The model's answer: the whole new text."""

    content: str = Field(description="the whole resulting text")

    @field_validator("content")
    @classmethod
    def _not_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the content is empty; give the whole resulting text")
        return value


def _shown(item: Any) -> str:
    # TinyTroupe's styler keeps {"original", "style", "styled"} dicts; the result is what matters.
    if isinstance(item, Mapping):
        for key in ("styled", "content", "enriched"):
            if isinstance(item.get(key), str):
                return str(item[key])
        return json.dumps(dict(item), ensure_ascii=False, default=str)
    return str(item)


def check_text(value: Any, what: str, *, allow_empty: bool = False) -> str:
    """``value`` if it is a text (non-empty unless ``allow_empty``).

    Raises:
        InvalidArgumentType: it is not a string.
        InvalidArgument: it is empty.
    """
    if not isinstance(value, str):
        raise InvalidArgumentType(f"{what} must be a string, got {type(value).__name__}")
    if not allow_empty and not value.strip():
        raise InvalidArgument(f"{what} is empty; give the text to work on")
    return value


class ContentTransformer:
    """One LLM call from a text to a text, with an optional memory of past results.

    Args:
        use_past_results_in_context: show the model the newest past results (for a consistent
            series) and remember each new one in :attr:`context_cache`.
        client: the LLM client (default: the current run context's).
    """

    def __init__(self, use_past_results_in_context: bool = False, *, client: LLMClient | None = None) -> None:
        self.use_past_results_in_context = use_past_results_in_context
        #: past results, oldest first (at most :data:`MAX_CONTEXT_CACHE`)
        self.context_cache: list[Any] = []
        self.client = client

    def _client(self) -> LLMClient:
        return self.client if self.client is not None else current_context().client

    def _remember(self, item: Any) -> None:
        """Keep ``item`` as a past result (when past results are used), dropping the oldest past the limit."""
        if self.use_past_results_in_context:
            self.context_cache.append(item)
            del self.context_cache[:-MAX_CONTEXT_CACHE]

    def _context_items(self, context_cache: Sequence[Any] | None, client: LLMClient) -> list[str]:
        if context_cache is None and self.use_past_results_in_context:
            context_cache = self.context_cache
        if not context_cache:
            return []
        hint = client.prompt_token_hint
        total = _CONTEXT_CHAR_BUDGET if hint is None else min(_CONTEXT_CHAR_BUDGET, chars_for_tokens(hint) // 3)
        each = max(200, total // CONTEXT_ITEMS_SHOWN)
        return [text if len(text) <= each else text[: each - 1] + "…"
                for text in map(_shown, list(context_cache)[-CONTEXT_ITEMS_SHOWN:])]

    async def _atransform(self, kind: str, values: dict[str, Any], context_cache: Sequence[Any] | None, *,
                          purpose: str, temperature: float | None, verbose: bool = False) -> str:
        client = self._client()
        user = _FOLDER.render(f"{kind}_user.j2", **values, context_cache=self._context_items(context_cache, client))
        messages = [Message(role="system", content=_FOLDER.render(f"{kind}_system.j2")),
                    Message(role="user", content=user)]
        result = await client.acomplete(messages, response_model=TransformedContent, purpose=purpose,
                                         temperature=temperature)
        content: str = result.value.content
        logger.debug("%s result: %d characters", purpose, len(content))
        if verbose:
            print_plain(f"{purpose} result:\n{content}")
        return content


__all__ = ["CONTEXT_ITEMS_SHOWN", "MAX_CONTEXT_CACHE", "ContentTransformer", "TransformedContent", "check_text"]
