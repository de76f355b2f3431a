"""The backend port: what every model server, the embedded model and every wrapper implements.

A backend turns one :class:`~tinytroupe.llm.types.LLMRequest` into one
:class:`~tinytroupe.llm.types.Completion`. Wrappers (cache, retry, limits, usage) are backends
that hold another backend, so they compose in any order::

    backend = UsageWrapper(CacheWrapper(RetryWrapper(ConcurrencyLimit(OpenAIBackend(...)))), ...)
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, TypeVar

from tinytroupe.llm.types import CallContext, Completion, LLMRequest


class Backend(ABC):
    """A source of completions."""

    #: short name shown in events and ``tinytroupe doctor`` ("openai", "local", "scripted", ...)
    name: str = "backend"

    @abstractmethod
    async def generate(self, request: LLMRequest, context: CallContext) -> Completion:
        """Answer ``request``. Raise :class:`~tinytroupe.errors.LLMTransportError` on transport failure."""

    def identity(self) -> dict[str, Any]:
        """What, besides the request, decides the answer (backend kind, default model, endpoint).

        Part of the cache key, so two servers or models never share cached answers.
        """
        return {"backend": self.name}

    @property
    def default_model(self) -> str:
        return str(self.identity().get("model", self.name))

    @property
    def prompt_token_hint(self) -> int | None:
        """The prompt size (estimated tokens) this backend handles well, or None for no preference.

        Small local models read long prompts slowly and lose the thread in them; callers that build
        prompts to a budget (agents, extractors) stay within this hint.
        """
        return None

    @property
    def gives_logprobs(self) -> bool | None:
        """Whether requests with ``logprob_labels`` get log-probabilities back: True, False (never: ask
        another way), or None (not known until tried)."""
        return None

    @property
    def supports_tool_calls(self) -> bool:
        """Whether requests with ``tools`` get native tool calls back (OpenAI's ``tool_calls``); a caller
        with tools for a backend without them asks for a JSON action instead."""
        return False

    @property
    def accepts_images(self) -> bool:
        """Whether messages may show images (content parts) to this backend; a text-only one is given
        their descriptions instead (``docs/grounding.md``, "Vision")."""
        return False

    async def aprepare(self) -> None:  # noqa: B027 - optional hook, nothing to prepare by default
        """Get ready for calls on the running event loop (HTTP sessions, pools), so that the first
        step of a run does not pay for it while its requests wait. Cheap when already ready."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook, nothing to release by default
        """Release pooled connections or loaded models."""


B = TypeVar("B", bound=Backend)


class BackendWrapper(Backend):
    """A backend that adds behaviour around another one."""

    def __init__(self, inner: Backend) -> None:
        self.inner = inner
        self.name = inner.name

    def identity(self) -> dict[str, Any]:
        return self.inner.identity()

    @property
    def prompt_token_hint(self) -> int | None:
        return self.inner.prompt_token_hint

    @property
    def gives_logprobs(self) -> bool | None:
        return self.inner.gives_logprobs

    @property
    def supports_tool_calls(self) -> bool:
        return self.inner.supports_tool_calls

    @property
    def accepts_images(self) -> bool:
        return self.inner.accepts_images

    async def aprepare(self) -> None:
        await self.inner.aprepare()

    async def aclose(self) -> None:
        await self.inner.aclose()

    def find(self, kind: type[B]) -> B | None:
        """The first backend of type ``kind`` in this chain, or None."""
        node: Backend | None = self
        while node is not None:
            if isinstance(node, kind):
                return node
            node = node.inner if isinstance(node, BackendWrapper) else None
        return None


__all__ = ["Backend", "BackendWrapper"]
