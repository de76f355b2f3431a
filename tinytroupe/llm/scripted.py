"""A deterministic backend for tests, demos and benchmarks.

Replies come from a list (in order, optionally cycling), a mapping (first key found in the newest
part of the last user message, or ``"*"`` as fallback) or a callable of the request. Every request
is recorded. Structured replies may be given as dicts or pydantic objects; they are serialised to JSON.

What "the newest part" is: an agent's action prompt repeats its recent history before the stimuli
that are new this turn, so a key matching the whole message would keep firing on a message heard
turns ago. The agent's prompt template opens the new stimuli with the line :data:`NEW_STIMULI_MARKER`,
and mapping keys are matched against the text after the last line that is exactly that marker (the
new stimuli and the closing "Now act as NAME" line). A message without the marker line (extraction,
a plain ``complete``) is matched whole. See :func:`newest_part`.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast

from pydantic import BaseModel

from tinytroupe.errors import LLMTransportError
from tinytroupe.lazy import Lazy
from tinytroupe.llm.backend import Backend
from tinytroupe.llm.tokens import tokens_for_chars
from tinytroupe.llm.types import CallContext, Completion, FirstTokenLogprobs, LLMRequest, Usage

logger = logging.getLogger(__name__)

Reply = str | dict[str, Any] | list[Any] | BaseModel | Exception | Completion | FirstTokenLogprobs
Responder = Callable[[LLMRequest], Reply] | Callable[[LLMRequest], Awaitable[Reply]]

#: The line that opens the newest part of a prompt: what is new since the agent's last turn. The
#: agent's action template renders this constant (the llm layer owns it, so this module imports
#: nothing from the agent layer); :func:`newest_part` and mapping keys rely on it.
NEW_STIMULI_MARKER = "# New since your last turn"

#: A callable declared non-blocking (``blocking=False``) that holds the event loop longer than this
#: is moved to worker threads: every other agent turn of a parallel step waits while it runs.
INLINE_LIMIT_S = 0.005

#: Worker threads for sync callables, shared by every ScriptedBackend of the process. asyncio's default
#: executor has only min(32, CPUs + 4) threads, so on a small machine a blocking callable imitating a
#: server would run six at a time instead of as many as the world keeps in flight.
WORKER_THREADS = 64

# Created on first use, never at import; threads start only as calls need them. A forked child
# (multiprocessing, Ray workers) inherits the pool object but not its threads: it builds its own.
_worker_pool: Lazy[ThreadPoolExecutor] = Lazy(
    lambda: ThreadPoolExecutor(max_workers=WORKER_THREADS, thread_name_prefix="tinytroupe-scripted"),
    per_process=True)


def newest_part(text: str) -> str:
    """The text after the last line that is exactly :data:`NEW_STIMULI_MARKER`, else all of ``text``.

    Example:
        >>> newest_part("# Recent events\\nBen says: price?\\n\\n# New since your last turn\\nBen says: hi")
        'Ben says: hi'
        >>> newest_part("no marker here")
        'no marker here'
    """
    end = len(text)
    while True:
        at = text.rfind(NEW_STIMULI_MARKER, 0, end)
        if at < 0:
            return text
        after = at + len(NEW_STIMULI_MARKER)
        # Only a whole line counts: a stimulus quoting the marker inside a sentence is not one.
        if (at == 0 or text[at - 1] == "\n") and (after == len(text) or text[after] in "\r\n"):
            return text[after:].lstrip("\r\n")
        end = at


def _render(reply: Reply) -> str:
    if isinstance(reply, BaseModel):
        return reply.model_dump_json()
    if isinstance(reply, dict | list):
        return json.dumps(reply)
    return reply  # type: ignore[return-value]


def _approx_tokens(chars: int) -> int:
    # The shared estimate keeps token accounting meaningful in tests and benchmarks; like a real
    # server, never report a call as free.
    return max(1, tokens_for_chars(chars))


def _is_async_callable(fn: Callable[..., Any]) -> bool:
    # Coroutine functions run on the event loop: they cannot block it unless they block inside.
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(getattr(fn, "__call__", None))  # noqa: B004


class ScriptedBackend(Backend):
    """Replies from a script.

    Args:
        replies: a list of replies (str, dict, list, pydantic object, an Exception to raise, or a
            whole :class:`Completion`, e.g. one cut off with ``finish_reason="length"``, or a
            :class:`~tinytroupe.llm.types.FirstTokenLogprobs`: an answer whose first token had these
            log-probabilities, its most likely token as the text),
            a mapping from a substring of the newest part of the last user message (see
            :func:`newest_part`) to a reply, or a callable ``request -> reply`` (sync or async).
        cycle: with a list, start again from the first reply when the list runs out
            (otherwise running out is an error that says how many replies were scripted).
        latency_s: seconds to wait (asynchronously) before each reply, to imitate a server.
        model: the model name reported in completions.
        record_limit: how many recent requests :attr:`requests` keeps (None: all).
        blocking: where a sync callable runs. None (default): its first calls run in worker threads
            and are timed; once one returns within :data:`INLINE_LIMIT_S` the later calls run on
            the event loop, saving a thread hop per call (0.1-0.3 ms on a small machine, a third of
            the framework's own time per turn), and a callable that takes longer stays in threads.
            True: always in worker threads, for a callable that blocks (sleeps, waits on I/O) as a
            real server would, so it delays only its own agent's turn. False: always on the loop,
            for one that only computes for microseconds. In every mode a call that holds the loop
            longer than :data:`INLINE_LIMIT_S` moves the later calls to worker threads (logged), so
            a parallel step is serialised at most by that one call and
            ``TinyWorld.get_parallel_metrics()`` reports a speed-up that happened. Async callables
            always run on the loop. A callable run in threads may be called from several threads at
            once: guard shared state with a lock.
        logprobs: whether this backend stands for one that gives log-probabilities
            (:attr:`gives_logprobs`): callers that want them ask it (scripting
            ``FirstTokenLogprobs`` replies) instead of going straight to sampled answers.
        tool_calls: whether this backend stands for one with native tool calls
            (:attr:`supports_tool_calls`); script them as whole :class:`Completion` s with ``tool_calls``.
        images: whether this backend stands for one that reads images (:attr:`accepts_images`); the
            requests it records keep them.

    Example:
        >>> backend = ScriptedBackend({"price": "too expensive", "*": "fine"})
        >>> from tinytroupe.llm import LLMClient
        >>> LLMClient(backend).complete([{"role": "user", "content": "what about the price?"}]).value
        'too expensive'
    """

    name = "scripted"

    def __init__(self, replies: Sequence[Reply] | Mapping[str, Reply] | Responder, *, cycle: bool = False,
                 latency_s: float = 0.0, model: str = "scripted", record_limit: int | None = 10_000,
                 blocking: bool | None = None, logprobs: bool = False,
                 tool_calls: bool = False, images: bool = False) -> None:
        self._replies = replies
        self._images = images
        self._tool_calls = tool_calls
        self._logprobs = logprobs
        self._cycle = cycle
        self._latency = latency_s
        self._model = model
        self._index = 0
        self._lock = threading.Lock()
        self._async_responder = callable(replies) and _is_async_callable(replies)
        # Where a sync callable runs: "probe" (a worker thread, timed), "thread" or "inline" (the loop).
        self._mode = {True: "thread", False: "inline", None: "probe"}[blocking]
        self._declared_inline = blocking is False
        # The most recent requests, for inspection; bounded so long benchmarks do not grow without limit.
        self.requests: deque[LLMRequest] = deque(maxlen=record_limit)
        self.contexts: deque[CallContext] = deque(maxlen=record_limit)
        self._calls = 0

    def identity(self) -> dict[str, Any]:
        ident: dict[str, Any] = {"backend": self.name, "model": self._model}
        # A responder whose answers depend on more than the request (the demo model's seed) says so
        # here, so a response cache never serves one seed's answers to another.
        extra = getattr(self._replies, "identity", None)
        if callable(extra):
            ident.update(extra())
        return ident

    @property
    def gives_logprobs(self) -> bool:
        return self._logprobs

    @property
    def supports_tool_calls(self) -> bool:
        return self._tool_calls

    @property
    def accepts_images(self) -> bool:
        return self._images

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

    async def _call(self, responder: Callable[[LLMRequest], Any], request: LLMRequest) -> Any:
        if self._async_responder:
            return responder(request)
        if self._mode == "inline":
            started = time.perf_counter()
            out = responder(request)
            self._observe(time.perf_counter() - started, responder, on_loop=True)
            return out
        # Context variables (the settings in force, the active simulation) go with the call.
        ctx = contextvars.copy_context()
        return await asyncio.get_running_loop().run_in_executor(_worker_pool(), ctx.run, self._timed,
                                                                responder, request)

    def _timed(self, responder: Callable[[LLMRequest], Any], request: LLMRequest) -> Any:
        # In a worker thread: the call's own duration, without the wait for a free thread or the GIL
        # (the thread holds the GIL from here on; the loop can only take it back after 5 ms).
        started = time.perf_counter()
        out = responder(request)
        self._observe(time.perf_counter() - started, responder, on_loop=False)
        return out

    def _observe(self, seconds: float, responder: Callable[[LLMRequest], Any], *, on_loop: bool) -> None:
        """Choose where later calls run from how long this one took."""
        with self._lock:
            mode = self._mode
            if seconds > INLINE_LIMIT_S:
                self._mode = "thread"
            elif mode == "probe":
                self._mode = "inline"  # quick: the thread hop would cost more than the call
        if on_loop and seconds > INLINE_LIMIT_S:
            log = logger.warning if self._declared_inline else logger.info
            log("the scripted backend's callable %r held the event loop for %.1f ms, so the other agent turns "
                "waited; its later calls run in worker threads (pass blocking=True to start there)",
                responder, seconds * 1000)

    async def _reply_for(self, request: LLMRequest) -> Reply:
        replies = self._replies
        if callable(replies):
            out = await self._call(replies, request)
            if asyncio.iscoroutine(out) or isinstance(out, Awaitable):
                out = await out
            return cast(Reply, out)
        if isinstance(replies, Mapping):
            last_user = next((m.content for m in reversed(request.messages) if m.role == "user"), "")
            newest = newest_part(last_user)
            for key, reply in replies.items():
                if key != "*" and key in newest:
                    return reply
            if "*" in replies:
                return replies["*"]
            raise LLMTransportError(
                f"no scripted reply matches the newest part of the last user message {newest[:120]!r}; "
                "add a key that occurs in it or a '*' fallback"
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
        if isinstance(reply, Completion):
            return reply.model_copy()  # given whole, e.g. to script finish_reason="length"
        logprobs = reply if isinstance(reply, FirstTokenLogprobs) else None
        if logprobs is not None:
            best = max(logprobs.alternatives, key=lambda a: a.logprob, default=None)
            text = best.token if best is not None else ""
        else:
            text = _render(reply)
        prompt_chars = sum(len(m.content) for m in request.messages)
        return Completion(
            text=text,
            model=request.model or self._model,
            backend=self.name,
            usage=Usage(prompt_tokens=_approx_tokens(prompt_chars), completion_tokens=_approx_tokens(len(text))),
            finish_reason="stop",
            logprobs=logprobs,
        )


__all__ = ["INLINE_LIMIT_S", "NEW_STIMULI_MARKER", "Reply", "Responder", "ScriptedBackend", "newest_part"]
