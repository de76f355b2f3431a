"""How much of each prompt repeats the previous one's beginning: what a provider's prefix cache can reuse.

Providers (OpenAI, Azure, Anthropic, vLLM with prefix caching) reuse the work on a prompt's prefix
when a recent request began the same way, and bill it cheaper; OpenAI does so only from 1,024 tokens
of common prefix on. :class:`PrefixMeter` is a wrapper in a client's backend chain that sees every
request that goes to the model and measures, per call, the common prefix (estimated tokens, as
:mod:`tinytroupe.llm.tokens` counts them) with the same agent's previous call and with the previous
call of anyone. :meth:`PrefixMeter.report` gives per agent and overall the mean share of the prompt
that prefix covers and how many calls reach :data:`CACHEABLE_PREFIX_TOKENS`.

The prompt is measured as the provider reads it: the messages in order, each its role and content.
A call's first comparison (an agent's first call) counts as a share of 0.

Example:
    >>> from tinytroupe.llm import LLMClient, ScriptedBackend
    >>> meter = PrefixMeter(ScriptedBackend(["ok"], cycle=True))
    >>> client = LLMClient(meter)
    >>> system = {"role": "system", "content": "You are Ana. " * 100}
    >>> for n in range(2):
    ...     _ = client.complete([system, {"role": "user", "content": f"turn {n}"}], agent="Ana")
    >>> r = meter.report()
    >>> r.calls, r.agents["Ana"].calls, round(r.agents["Ana"].mean_share_same_agent, 2)
    (2, 2, 0.5)
"""

from __future__ import annotations

import threading

from pydantic import BaseModel, Field

from tinytroupe.llm.backend import Backend, BackendWrapper
from tinytroupe.llm.tokens import tokens_for_chars
from tinytroupe.llm.types import CallContext, Completion, LLMRequest

#: the shortest common prefix OpenAI's prompt cache reuses (tokens)
CACHEABLE_PREFIX_TOKENS = 1024


def common_prefix_length(a: str, b: str) -> int:
    """Characters ``a`` and ``b`` share from their start.

    A binary search over slice comparisons: each comparison runs in C, so a 50,000-character prompt
    takes about 16 of them instead of 50,000 steps of Python.

    Example:
        >>> common_prefix_length("system: hello Ana", "system: hello Ben"), common_prefix_length("", "x")
        (14, 0)
    """
    lo, hi = 0, min(len(a), len(b))
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def prompt_text(request: LLMRequest) -> str:
    """The request's messages as one text, in the order a provider reads them."""
    return "".join(f"<{m.role}>\n{m.content}\n" for m in request.messages)


class PrefixStats(BaseModel):
    """Prefix reuse over some calls (one agent's, or all)."""

    calls: int = 0
    prompt_tokens: int = Field(0, description="estimated prompt tokens of these calls")
    mean_share_same_agent: float = Field(0.0, description="mean share of a prompt shared with the same "
                                                          "agent's previous call")
    mean_share_any: float = Field(0.0, description="mean share shared with the previous call of anyone")
    cacheable_same_agent: int = Field(0, description="calls whose prefix with the same agent's previous "
                                                     "call reaches CACHEABLE_PREFIX_TOKENS")
    cacheable_any: int = Field(0, description="calls whose prefix with the previous call of anyone reaches it")


class PrefixReport(PrefixStats):
    """:class:`PrefixStats` overall, and per agent (calls without an agent are under ``"-"``)."""

    min_prefix_tokens: int = CACHEABLE_PREFIX_TOKENS
    agents: dict[str, PrefixStats] = Field(default_factory=dict)


class _Acc:
    __slots__ = ("any_share", "cache_any", "cache_same", "calls", "same_share", "tokens")

    def __init__(self) -> None:
        self.calls = self.tokens = self.cache_same = self.cache_any = 0
        self.same_share = self.any_share = 0.0

    def add(self, tokens: int, same: int, other: int, threshold: int) -> None:
        self.calls += 1
        self.tokens += tokens
        self.same_share += same / tokens if tokens else 0.0
        self.any_share += other / tokens if tokens else 0.0
        self.cache_same += int(same >= threshold)
        self.cache_any += int(other >= threshold)

    def stats(self) -> dict[str, float | int]:
        n = max(1, self.calls)
        return {"calls": self.calls, "prompt_tokens": self.tokens,
                "mean_share_same_agent": round(self.same_share / n, 4),
                "mean_share_any": round(self.any_share / n, 4),
                "cacheable_same_agent": self.cache_same, "cacheable_any": self.cache_any}


class PrefixMeter(BackendWrapper):
    """Measures the common prefix of each request with the previous ones (see the module's docstring).

    Args:
        inner: the chain below.
        min_prefix_tokens: the prefix length that counts as cacheable.
    """

    def __init__(self, inner: Backend, *, min_prefix_tokens: int = CACHEABLE_PREFIX_TOKENS) -> None:
        super().__init__(inner)
        self.min_prefix_tokens = min_prefix_tokens
        self._lock = threading.Lock()
        self._last_by_agent: dict[str, str] = {}
        self._last: str | None = None
        self._total = _Acc()
        self._by_agent: dict[str, _Acc] = {}

    def observe(self, request: LLMRequest, context: CallContext) -> None:
        """Measure one request (what :meth:`generate` does before passing it on)."""
        text = prompt_text(request)
        agent = context.agent or "-"
        with self._lock:
            same_prev, any_prev = self._last_by_agent.get(agent), self._last
            self._last_by_agent[agent] = text
            self._last = text
        # outside the lock: the comparisons are the costly part, and the texts are immutable
        same = tokens_for_chars(common_prefix_length(text, same_prev)) if same_prev is not None else 0
        other = tokens_for_chars(common_prefix_length(text, any_prev)) if any_prev is not None else 0
        tokens = tokens_for_chars(len(text))
        with self._lock:
            self._total.add(tokens, same, other, self.min_prefix_tokens)
            self._by_agent.setdefault(agent, _Acc()).add(tokens, same, other, self.min_prefix_tokens)

    async def generate(self, request: LLMRequest, context: CallContext) -> Completion:
        self.observe(request, context)
        return await self.inner.generate(request, context)

    def report(self) -> PrefixReport:
        """Per agent and overall: calls, mean prefix shares, calls reaching the cacheable length."""
        with self._lock:
            return PrefixReport(**self._total.stats(), min_prefix_tokens=self.min_prefix_tokens,
                                agents={a: PrefixStats(**acc.stats()) for a, acc in sorted(self._by_agent.items())})


__all__ = ["CACHEABLE_PREFIX_TOKENS", "PrefixMeter", "PrefixReport", "PrefixStats", "common_prefix_length",
           "prompt_text"]
