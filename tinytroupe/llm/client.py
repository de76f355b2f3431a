"""The LLM port that agents, worlds and extractors call: :class:`LLMClient`.

It takes chat messages and an optional pydantic response model, and returns an :class:`LLMResult`
holding a validated object (or text), usage and timing. Bad structured answers are repaired when
only their syntax is wrong; answers that were cut off (an unterminated string or object, or
``finish_reason="length"``) or that stay invalid are re-asked with the problems shown to the model,
then raised as :class:`~tinytroupe.errors.LLMOutputError` carrying the raw text.
"""

from __future__ import annotations

import copy
import itertools
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, overload

from pydantic import BaseModel, ConfigDict, Field
from rich.console import Console

from tinytroupe.aio import run_sync
from tinytroupe.errors import InvalidArgument, InvalidArgumentType, LLMError, LLMOutputError
from tinytroupe.events import EventBus
from tinytroupe.llm.backend import Backend, BackendWrapper
from tinytroupe.llm.structured import (
    DEFAULT_MAX_ANSWER_CHARS,
    DEFAULT_MAX_DEPTH,
    InvalidAnswer,
    parse_answer,
    reask_message,
    schema_for,
)
from tinytroupe.llm.types import (
    CallContext,
    Completion,
    FirstTokenLogprobs,
    LLMRequest,
    Message,
    ToolCallRequest,
    Usage,
)
from tinytroupe.llm.usage import UsageLedger, UsageWrapper

T = TypeVar("T", bound=BaseModel)
MessageLike = Message | dict[str, str]


class LLMResult(BaseModel, Generic[T]):
    """What one :meth:`LLMClient.acomplete` returns.

    ``value`` is the validated object when a response model was given, else the text.
    ``usage`` and ``latency_s`` add up every attempt (re-asks included). ``logprobs``: the answer's
    first token, for a request with ``logprob_labels`` whose backend gave them (see
    :mod:`tinytroupe.llm.logprobs`). ``tool_calls``: the functions the model asked to call, for a
    request with ``tools`` on a backend with native tool calls.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    value: Any
    text: str
    model: str
    usage: Usage = Field(default_factory=Usage)
    latency_s: float = 0.0
    cached: bool = False
    attempts: int = 1
    logprobs: FirstTokenLogprobs | None = None
    tool_calls: tuple[ToolCallRequest, ...] | None = None


def _as_messages(messages: Sequence[MessageLike]) -> tuple[Message, ...]:
    given = tuple(messages)
    for m in given:
        if type(m) is not Message:
            break
    else:
        if given:
            # The usual call (an agent's turn): Message objects only, nothing to convert or check, so
            # no isinstance and append calls per message on every call.
            return given  # type: ignore[return-value]  # every item was just seen to be a Message
    out = []
    for i, m in enumerate(given):
        if isinstance(m, Message):
            out.append(m)
        elif isinstance(m, dict) and ("tool_calls" in m or "tool_call_id" in m):
            out.append(Message.model_validate(m))  # a tool exchange: every field matters
        elif isinstance(m, dict) and "role" in m and "content" in m:
            out.append(Message(role=m["role"], content=m["content"]))
        else:
            raise InvalidArgumentType(
                f"message {i} must be a tinytroupe.llm.Message or a dict with 'role' and 'content', "
                f"got {type(m).__name__}: {m!r:.80}"
            )
    if not out:
        raise InvalidArgument("at least one message is needed to call a language model")
    return tuple(out)


@dataclass
class _Tally:
    """What the answers to one call cost together, re-asks included."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    attempts: int = 0
    cached: bool = True  # every answer came from a cache

    def add(self, completion: Completion, latency_s: float) -> None:
        spent = completion.usage
        self.prompt_tokens += spent.prompt_tokens
        self.completion_tokens += spent.completion_tokens
        self.latency_s += latency_s
        self.attempts += completion.attempts
        self.cached = self.cached and completion.cached

    def result(self, value: Any, completion: Completion) -> LLMResult[Any]:
        # The usage as a dict, which pydantic makes into the result's own Usage (never the completion's:
        # that may be a cached answer's, shared with other callers), cheaper than a Usage built here.
        return LLMResult(value=value, text=completion.text, model=completion.model,
                         usage={"prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens},
                         latency_s=self.latency_s, cached=self.cached, attempts=self.attempts,
                         logprobs=completion.logprobs, tool_calls=completion.tool_calls)


_client_ids = itertools.count(1)


class LLMClient:
    """Async-first client over a (wrapped) backend, with a sync facade.

    Args:
        backend: the backend chain to call (see :func:`tinytroupe.llm.factory.build_client` for the
            usual wrapping with cache, retries and limits).
        bus: where :class:`~tinytroupe.events.LLMCallEvent` s are published (a new bus when None);
            :attr:`ledger` counts what is published there. A call may name its caller's bus too
            (``bus=`` of :meth:`acomplete`), which then sees the call's event as well.
        max_reasks: how many times a bad structured answer is re-asked before giving up.

    Example:
        >>> from tinytroupe.llm import LLMClient, ScriptedBackend
        >>> client = LLMClient(ScriptedBackend(["hello"]))
        >>> client.complete([{"role": "user", "content": "hi"}]).value
        'hello'
    """

    def __init__(self, backend: Backend, *, bus: EventBus | None = None, max_reasks: int = 2,
                 ledger: UsageLedger | None = None, max_answer_chars: int = DEFAULT_MAX_ANSWER_CHARS,
                 max_depth: int = DEFAULT_MAX_DEPTH) -> None:
        existing = backend.find(UsageWrapper) if isinstance(backend, BackendWrapper) else None
        if isinstance(existing, UsageWrapper):
            # a chain that publishes already: share its bus and id (or give it ours), so calls count once
            if existing.bus is None:
                existing.bus = bus if bus is not None else EventBus()
            if existing.client is None:
                existing.client = f"client-{next(_client_ids)}"
            self.bus: EventBus = existing.bus
            self.backend: Backend = backend
            #: stamped on this client's call events; its ledger counts those only
            self.id: str = existing.client
        else:
            self.bus = bus if bus is not None else EventBus()
            self.id = f"client-{next(_client_ids)}"
            self.backend = UsageWrapper(backend, bus=self.bus, client=self.id)
        #: this client's calls, counted from its bus (a subscriber: see :meth:`UsageLedger.attach`)
        self.ledger = ledger if ledger is not None else UsageLedger()
        self.ledger.attach(self.bus, client=self.id)
        self._caller_bus: EventBus | None = None
        self.max_reasks = max_reasks
        self.max_answer_chars = max_answer_chars
        self.max_depth = max_depth

    def for_caller(self, bus: EventBus | None) -> LLMClient:
        """This client, also publishing each call's event on ``bus`` (its caller's run-context bus).

        The view shares the backend, bus and ledger; it is what an agent with a client of its own
        hands to its memory upkeep, so those calls land in its world's trace too.

        Example:
            >>> from tinytroupe.events import EventBus
            >>> from tinytroupe.llm import ScriptedBackend
            >>> client, world_bus, seen = LLMClient(ScriptedBackend(["ok"])), EventBus(), []
            >>> _ = world_bus.subscribe(seen.append, kinds=["llm_call"])
            >>> _ = client.for_caller(world_bus).complete([{"role": "user", "content": "hi"}])
            >>> len(seen), client.get_cost_stats()["total"]["calls"]
            (1, 1)
        """
        if bus is None or bus is self.bus or bus is self._caller_bus:
            return self
        view = copy.copy(self)
        view._caller_bus = bus
        return view

    @property
    def model(self) -> str:
        """The default model name of the backend."""
        return self.backend.default_model

    @property
    def prompt_token_hint(self) -> int | None:
        """The prompt size the backend handles well (see :attr:`Backend.prompt_token_hint`)."""
        return self.backend.prompt_token_hint

    @property
    def gives_logprobs(self) -> bool | None:
        """Whether the backend answers ``logprob_labels`` requests with log-probabilities (None: unknown)."""
        return self.backend.gives_logprobs

    @property
    def supports_tool_calls(self) -> bool:
        """Whether the backend answers requests with ``tools`` with native tool calls."""
        return self.backend.supports_tool_calls

    @property
    def accepts_images(self) -> bool:
        """Whether messages may show the backend images (a text-only one is given descriptions instead)."""
        return self.backend.accepts_images

    def _backend_messages(self, messages: Sequence[MessageLike]) -> tuple[Message, ...]:
        msgs = _as_messages(messages)
        for m in msgs:  # a loop, not any(): cheaper for the usual two messages
            if m.images:
                # only now: accepts_images walks the whole backend chain, and most messages show none
                if not self.backend.accepts_images:
                    raise InvalidArgument(f"the {self.backend.name} backend reads no images, and a message shows "
                                          "some: describe them in text, or use an OpenAI-compatible vision model")
                break
        return msgs

    def describe(self) -> dict[str, Any]:
        """Backend kind, model and endpoint (never a key)."""
        # identity() is the cache's notion of "the same backend"; the kind shown to people is its name
        # (an Ollama or Azure backend speaks the OpenAI protocol but is not OpenAI).
        return {**self.backend.identity(), "backend": self.backend.name}

    @overload
    async def acomplete(self, messages: Sequence[MessageLike], *, response_model: type[T],
                        purpose: str = ..., agent: str | None = ..., world: str | None = ...,
                        step: int | None = ..., **params: Any) -> LLMResult[T]: ...

    @overload
    async def acomplete(self, messages: Sequence[MessageLike], *, response_model: None = None,
                        purpose: str = ..., agent: str | None = ..., world: str | None = ...,
                        step: int | None = ..., **params: Any) -> LLMResult[Any]: ...

    async def acomplete(self, messages: Sequence[MessageLike], *, response_model: type[T] | None = None,
                        purpose: str = "chat", agent: str | None = None, world: str | None = None,
                        step: int | None = None, simulation_id: str | None = None,
                        bus: EventBus | None = None, response_schema: dict[str, Any] | None = None,
                        validation_context: dict[str, Any] | None = None, **params: Any) -> LLMResult[Any]:
        """Ask the model. ``params`` are request fields: model, temperature, top_p, max_tokens, stop, seed, tools,
        logprob_labels (the result's ``logprobs`` then holds the first token's, where the backend gives them).

        ``response_schema`` replaces the schema sent for ``response_model`` when the answer is
        narrower than the class (an agent's turn names only the people present), and
        ``validation_context`` is handed to pydantic so the class checks that narrowing too: building a
        class per narrowing costs milliseconds, a schema and a context microseconds.

        ``purpose``, ``agent``, ``world``, ``step`` and ``simulation_id`` say who asks and why: they
        go to usage accounting and events, never into the request or its cache key. ``bus`` is the
        caller's event bus (its run context's): the call's event is published there too.

        Raises:
            InvalidArgument: no messages were given.
            InvalidArgumentType: a message is neither a :class:`Message` nor a role/content dict.
            LLMTransportError: the server could not be reached or answered with an error status
                (after the retries the backend chain makes); :class:`LLMRateLimitError` for HTTP 429.
            LLMOutputError: a structured answer stayed invalid after ``max_reasks`` re-asks, or the
                model gave no text; it carries the raw answer.
            LLMError: any of these carries the call's ``agent``, ``world`` and ``purpose``.
        """
        msgs = self._backend_messages(messages)
        caller = bus if bus is not None else self._caller_bus
        context = CallContext(purpose=purpose, agent=agent, world=world, step=step, simulation_id=simulation_id,
                              bus=caller if caller is not self.bus else None)
        if params:  # most calls pass none
            params.update({k: tuple(v) for k, v in params.items() if k in ("stop", "logprob_labels", "tools") and v})
        schema = response_schema if response_schema is not None else (
            schema_for(response_model) if response_model is not None else None)
        tally = _Tally()
        problems: list[str] = []
        completion: Completion | None = None
        for attempt in range(self.max_reasks + 1):
            request = LLMRequest(messages=msgs, response_schema=schema,
                                 schema_name=response_model.__name__ if response_model else None,
                                 response_model=response_model, validation_context=validation_context, **params)
            completion = await self._generate(request, context, tally)
            if response_model is None:
                return tally.result(completion.text, completion)
            try:
                value = self._parse(completion, response_model, validation_context)
            except InvalidAnswer as exc:
                problems = exc.problems
                if attempt < self.max_reasks:
                    msgs = (*msgs, Message(role="assistant", content=completion.text[:4000]),
                            Message(role="user", content=reask_message(problems, schema)))
                continue
            return tally.result(value, completion)
        assert completion is not None and response_model is not None
        raise LLMOutputError(
            f"the model {completion.model!r} did not produce a valid {response_model.__name__} for "
            f"purpose {purpose!r}{f' (agent {agent})' if agent else ''} after {self.max_reasks + 1} "
            "answers; try a stronger model, raise max_reasks, or simplify the schema",
            raw_text=completion.text, errors=problems, attempts=self.max_reasks + 1,
        ).with_call(agent=agent, world=world, purpose=purpose)

    async def _generate(self, request: LLMRequest, context: CallContext, tally: _Tally) -> Completion:
        """One answer from the backend chain, counted in ``tally``."""
        start = time.perf_counter()
        try:
            completion = await self.backend.generate(request, context)
        except LLMError as exc:
            # Backends know the server, not the caller: say whose call failed and why it was made.
            exc.with_call(agent=context.agent, world=context.world, purpose=context.purpose)
            raise
        tally.add(completion, time.perf_counter() - start)
        return completion

    def _parse(self, completion: Completion, response_model: type[T],
               context: dict[str, Any] | None = None) -> T:
        """The validated answer in ``completion``; raises :class:`InvalidAnswer` to have it re-asked."""
        if completion.cut_off:
            # Whatever the text looks like, the server says it stopped early: the end is missing.
            raise InvalidAnswer(["the answer was cut off at the token limit (finish_reason 'length'); "
                                 "give a shorter answer"])
        if len(completion.text) <= self.max_answer_chars:
            checked = completion.checked_value(response_model, context)
            if checked is not None:
                return checked  # type: ignore[return-value]  # checked_value matched the class
        return parse_answer(completion.text, response_model, max_chars=self.max_answer_chars,
                            max_depth=self.max_depth, context=context)

    def complete(self, messages: Sequence[MessageLike], *, response_model: type[T] | None = None,
                 purpose: str = "chat", agent: str | None = None, world: str | None = None,
                 step: int | None = None, simulation_id: str | None = None, bus: EventBus | None = None,
                 response_schema: dict[str, Any] | None = None, validation_context: dict[str, Any] | None = None,
                 **params: Any) -> LLMResult[Any]:
        """Sync twin of :meth:`acomplete` (works in scripts, notebooks and threads).

        Raises:
            InvalidState: called from a coroutine on tinytroupe's own event loop (await
                :meth:`acomplete` there); otherwise as :meth:`acomplete`.
        """
        return run_sync(self.acomplete(messages, response_model=response_model, purpose=purpose, agent=agent,
                                       world=world, step=step, simulation_id=simulation_id, bus=bus,
                                       response_schema=response_schema, validation_context=validation_context,
                                       **params))

    def get_cost_stats(self) -> dict[str, Any]:
        """Calls, cached calls, errors and tokens: in total and by model, agent, world and purpose."""
        return self.ledger.stats()

    def pretty_print_cost_stats(self, console: Console | None = None) -> None:
        """Print :meth:`get_cost_stats` as tables."""
        self.ledger.pretty_print(console)

    async def aprepare(self) -> None:
        """Make the backend chain ready for calls on the running loop (worlds do this before a run)."""
        await self.backend.aprepare()

    async def aclose(self) -> None:
        await self.backend.aclose()

    def close(self) -> None:
        run_sync(self.aclose())


async def aprepare_clients(clients: Iterable[LLMClient]) -> None:
    """Warm start: make each distinct client ready on the running loop (worlds call this before a run)."""
    seen: set[int] = set()
    for client in clients:
        if id(client) not in seen:
            seen.add(id(client))
            await client.aprepare()


__all__ = ["LLMClient", "LLMResult", "MessageLike", "aprepare_clients"]
