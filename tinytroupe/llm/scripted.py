"""A deterministic backend for tests, demos and benchmarks.

Replies come from a list (in order, optionally cycling), a mapping (first key found in the last
user message, or ``"*"`` as fallback) or a callable of the request. Every request is recorded.
Structured replies may be given as dicts or pydantic objects; they are serialised to JSON.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel

from tinytroupe.errors import LLMTransportError
from tinytroupe.llm.backend import Backend
from tinytroupe.llm.types import CallContext, Completion, LLMRequest, Usage

Reply = str | dict[str, Any] | list[Any] | BaseModel | Exception
Responder = Callable[[LLMRequest], Reply] | Callable[[LLMRequest], Awaitable[Reply]]


def _render(reply: Reply) -> str:
    if isinstance(reply, BaseModel):
        return reply.model_dump_json()
    if isinstance(reply, dict | list):
        return json.dumps(reply)
    return reply  # type: ignore[return-value]


def _approx_tokens(text: str) -> int:
    # A rough 4-characters-per-token rule keeps token accounting meaningful in tests and benchmarks.
    return max(1, len(text) // 4)


class ScriptedBackend(Backend):
    """Replies from a script.

    Args:
        replies: a list of replies (str, dict, list, pydantic object, or an Exception to raise),
            a mapping from a substring of the last user message to a reply, or a callable
            ``request -> reply`` (sync or async).
        cycle: with a list, start again from the first reply when the list runs out
            (otherwise running out is an error that says how many replies were scripted).
        latency_s: seconds to wait (asynchronously) before each reply, to imitate a server.
        model: the model name reported in completions.
        record_limit: how many recent requests :attr:`requests` keeps (None: all).

    Example:
        >>> backend = ScriptedBackend({"price": "too expensive", "*": "fine"})
        >>> from tinytroupe.llm import LLMClient
        >>> LLMClient(backend).complete([{"role": "user", "content": "what about the price?"}]).value
        'too expensive'
    """

    name = "scripted"

    def __init__(self, replies: Sequence[Reply] | Mapping[str, Reply] | Responder, *, cycle: bool = False,
                 latency_s: float = 0.0, model: str = "scripted", record_limit: int | None = 10_000) -> None:
        self._replies = replies
        self._cycle = cycle
        self._latency = latency_s
        self._model = model
        self._index = 0
        self._lock = threading.Lock()
        # The most recent requests, for inspection; bounded so long benchmarks do not grow without limit.
        self.requests: deque[LLMRequest] = deque(maxlen=record_limit)
        self.contexts: deque[CallContext] = deque(maxlen=record_limit)
        self._calls = 0

    def identity(self) -> dict[str, Any]:
        return {"backend": self.name, "model": self._model}

    @property
    def calls(self) -> int:
        """Requests received (all of them, also those no longer kept in :attr:`requests`)."""
        return self._calls

    def _next_from_list(self, replies: Sequence[Reply]) -> Reply:
        with self._lock:
            if self._index >= len(replies):
                if not self._cycle or not replies:
                    raise LLMTransportError(
                        f"the scripted backend ran out of replies after {len(replies)}; script more "
                        "replies, pass cycle=True, or use a callable"
                    )
                self._index = 0
            reply = replies[self._index]
            self._index += 1
            return reply

    async def _reply_for(self, request: LLMRequest) -> Reply:
        replies = self._replies
        if callable(replies):
            out = replies(request)
            if asyncio.iscoroutine(out) or isinstance(out, Awaitable):
                out = await out
            return out
        if isinstance(replies, Mapping):
            last_user = next((m.content for m in reversed(request.messages) if m.role == "user"), "")
            for key, reply in replies.items():
                if key != "*" and key in last_user:
                    return reply
            if "*" in replies:
                return replies["*"]
            raise LLMTransportError(
                f"no scripted reply matches the last user message {last_user[:120]!r}; add a key that "
                "occurs in it or a '*' fallback"
            )
        return self._next_from_list(replies)

    async def generate(self, request: LLMRequest, context: CallContext) -> Completion:
        with self._lock:
            self.requests.append(request)
            self.contexts.append(context)
            self._calls += 1
        if self._latency:
            await asyncio.sleep(self._latency)
        reply = await self._reply_for(request)
        if isinstance(reply, Exception):
            raise reply
        text = _render(reply)
        prompt_chars = sum(len(m.content) for m in request.messages)
        return Completion(
            text=text,
            model=request.model or self._model,
            backend=self.name,
            usage=Usage(prompt_tokens=max(1, prompt_chars // 4), completion_tokens=_approx_tokens(text)),
            finish_reason="stop",
        )


__all__ = ["Reply", "Responder", "ScriptedBackend"]
