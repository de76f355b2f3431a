"""Events and the event bus.

Everything that happens in a simulation is an :class:`Event` published on an :class:`EventBus`.
Console display, traces, monitors, metrics and the dashboard are subscribers; agent code never
prints or writes files itself.

Example:
    >>> from tinytroupe.events import EventBus, LLMCallEvent
    >>> bus = EventBus()
    >>> seen = []
    >>> _ = bus.subscribe(seen.append, kinds=["llm_call"])
    >>> bus.publish(LLMCallEvent(model="m", purpose="test", latency_s=0.1))
    >>> seen[0].model
    'm'
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tinytroupe.errors import NotFound

logger = logging.getLogger(__name__)

_event_ids = itertools.count(1)


class Event(BaseModel):
    """Base of every event. ``kind`` names the event type; subclasses fix it with a Literal."""

    model_config = ConfigDict(extra="forbid")

    kind: str
    # the counter's own __next__ (not a lambda): one Python call less for every event made
    seq: int = Field(default_factory=_event_ids.__next__, description="process-wide publication order")
    wall_time: float = Field(default_factory=time.time)
    simulation_id: str | None = None
    world: str | None = None
    agent: str | None = None
    step: int | None = None
    sim_time: str | None = None  # ISO timestamp of the simulated clock, when there is one


class LLMCallEvent(Event):
    """One call to a language model (after the cache: ``cache_hit`` says whether it was served from it)."""

    kind: Literal["llm_call"] = "llm_call"
    model: str
    purpose: str = "chat"
    backend: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    cache_hit: bool = False
    attempts: int = 1
    error: str | None = None
    batched: bool = False  # answered through a provider's batch API (priced at the table's batch_discount)
    client: str | None = Field(default=None, exclude=True)  # the LLMClient that made it; process-local, not traced


class StimulusEvent(Event):
    """An agent perceived something (speech, a sight, a thought, a goal, a social cue ...)."""

    kind: Literal["stimulus"] = "stimulus"
    stimulus_type: str
    content: str
    source: str | None = None


class ActionEvent(Event):
    """An agent did something (TALK, THINK, REACH_OUT, DONE, or a tool/faculty action)."""

    kind: Literal["action"] = "action"
    action_type: str
    content: str = ""
    target: str | None = None


class StepEvent(Event):
    """A world step started or ended."""

    kind: Literal["step"] = "step"
    phase: Literal["start", "end"]
    agents: int = 0
    wall_s: float | None = None


class AgentErrorEvent(Event):
    """An agent's turn failed or timed out; the run's policy decides what happens next."""

    kind: Literal["agent_error"] = "agent_error"
    error_type: str
    message: str
    timed_out: bool = False


class WarningEvent(Event):
    """Something is near a limit or otherwise worth a user's attention."""

    kind: Literal["warning"] = "warning"
    code: str
    message: str
    data: dict[str, Any] = Field(default_factory=dict)


class ActionQualityEvent(Event):
    """An agent's actions for a turn were scored by the action quality checks (``[ActionGenerator]``).

    ``attempts`` lists, in order, each attempt's ``actions`` (type, content, target), its ``scores``
    (check name to 0-9), ``total`` and ``passed``; ``chosen`` is the index of the attempt committed
    (None when the turn failed), ``passed`` whether it passed every check.
    """

    kind: Literal["action_quality"] = "action_quality"
    threshold: int
    attempts: list[dict[str, Any]] = Field(default_factory=list)
    chosen: int | None = None
    passed: bool = False


class MemoryEvent(Event):
    """Something happened to an agent's memory: a turn's snapshot, an eviction, a consolidation ...

    ``operation`` is one of ``snapshot`` (after each turn), ``evict``, ``consolidate``, ``reflect``,
    ``forget``, ``drop`` (inactive facts leaving RAM for the trace only) and ``warning``.
    The sizes are those after the operation; ``items`` holds the
    records of what left episodic memory (so nothing disappears without a trace) or what was
    written; ``duration_s`` is the operation's wall time.
    """

    kind: Literal["memory"] = "memory"
    operation: Literal["snapshot", "evict", "consolidate", "reflect", "forget", "drop", "warning"]
    episodic_size: int = 0
    semantic_size: int = 0
    max_size: int = 0
    usage_ratio: float = 0.0
    consolidations: int = 0
    evictions: int = 0
    items_in: int = 0
    items_out: int = 0
    automatic: bool = True
    duration_s: float = 0.0
    items: list[dict[str, Any]] = Field(default_factory=list)


class EmotionEvent(Event):
    """An agent's PAD state changed (``docs/emotions.md``): after its turn's appraisal, or by contagion.

    ``pleasure``/``arousal``/``dominance`` are the state after the change, ``label`` its octant name,
    ``change`` what moved each dimension (after minus before), ``cause`` ``appraisal`` or ``contagion``.
    """

    kind: Literal["emotion"] = "emotion"
    pleasure: float
    arousal: float
    dominance: float
    label: str
    cause: Literal["appraisal", "contagion"] = "appraisal"
    change: tuple[float, float, float] = (0.0, 0.0, 0.0)


class CheckpointEvent(Event):
    """A simulation checkpoint was written (``size_bytes``: its JSON size)."""

    kind: Literal["checkpoint"] = "checkpoint"
    label: str | None = None
    size_bytes: int = 0
    duration_s: float = 0.0


class ConcurrencyEvent(Event):
    """The adaptive limit on LLM calls in flight moved (see ``ConcurrencyLimit(adaptive=True)``):
    down on HTTP 429, 503 or a timeout (``reason``), back up as calls succeed; ``cooldown_s`` is the
    pause the server asked for with ``Retry-After``."""

    kind: Literal["concurrency"] = "concurrency"
    limit: int
    previous: int
    reason: str
    in_flight: int = 0
    cooldown_s: float = 0.0


class DivergenceEvent(Event):
    """A re-run made an LLM request that differs from the recorded run's at the same place."""

    kind: Literal["divergence"] = "divergence"
    stream: str
    purpose: str
    position: int
    description: str


class BatchEvent(Event):
    """A provider batch of LLM requests was submitted, resumed, progressed or ended (``tinytroupe.llm.batch``).

    ``phase`` is ``submitted``, ``resumed`` (a re-run found it in the run file), ``progress`` (its
    status or counts changed while it waits) or ``done``; ``completed``/``failed``/``total`` are the
    provider's request counts for the batch.
    """

    kind: Literal["batch"] = "batch"
    batch_id: str
    phase: Literal["submitted", "resumed", "progress", "done"]
    status: str
    completed: int = 0
    failed: int = 0
    total: int = 0


class ToolCallEvent(Event):
    """An agent's tool call ended (``tinytroupe.tools.tool_use``): which tool and operation, how long it
    took and whether it worked.

    ``number`` is the call's place among the tool actions of its turn (1 first: what references such as
    ``${1.field}`` name); ``ok`` is False for arguments that did not fit, a refusal (owner, side effects)
    or a tool that raised, with ``error_type`` (the :class:`~tinytroupe.errors.ToolError` subclass) and
    ``error`` saying which and why. ``duration_s`` is the call's own time (0 when it never ran) and
    ``waited_s`` the time it waited for the calls it references.
    ``result`` is a short summary of the result, where the caller gives one (``tinytroupe chat``).
    """

    kind: Literal["tool_call"] = "tool_call"
    tool: str
    action: str
    call_id: str = ""
    number: int = 0
    ok: bool = True
    error_type: str | None = None
    error: str | None = None
    duration_s: float = 0.0
    waited_s: float = 0.0
    arguments: str = ""
    result_chars: int = 0
    result: str = ""


class OperationTimingEvent(Event):
    """How long one operation of an interactive session took (``tinytroupe chat``: a model call, a
    tool call, a history trim, a whole reply); ``level`` is what it was logged at (``debug``, ``info``
    for a moderate duration, ``warning`` for a slow one: thresholds in ``[Chat]``)."""

    kind: Literal["operation_timing"] = "operation_timing"
    operation: str
    duration_s: float
    level: Literal["debug", "info", "warning"] = "debug"


class StateEditEvent(Event):
    """Someone changed an agent's state by hand (the debugger's ``edit``): which part (``path`` in the
    agent's state, e.g. ``persona.age``), what it held before and what it holds now (JSON values; None
    for a part added or deleted), and who did it (``source``)."""

    kind: Literal["state_edit"] = "state_edit"
    path: str
    operation: Literal["set", "delete"] = "set"
    before: Any = None
    after: Any = None
    source: str = "debugger"


Subscriber = Callable[[Event], Any] | Callable[[Event], Awaitable[Any]]


@dataclass
class _Subscription:
    callback: Subscriber
    kinds: frozenset[str] | None
    is_async: bool
    id: int = field(default_factory=lambda: next(_event_ids))


#: one kind's subscribers: their callbacks when all are synchronous (None second), else the subscriptions
_Route = tuple[tuple[Subscriber, ...], tuple[_Subscription, ...] | None]


class EventBus:
    """An in-process publish/subscribe bus with sync and async subscribers.

    Sync subscribers run inline, in publication order, on the publishing thread; an exception in
    one propagates to the publisher (nothing is swallowed). Async subscribers are scheduled on the
    running event loop when there is one (their failures are logged with traceback and kept in
    :attr:`errors`), or run to completion inline otherwise.

    Example:
        >>> bus = EventBus()
        >>> token = bus.subscribe(lambda e: None)
        >>> bus.unsubscribe(token)
    """

    def __init__(self) -> None:
        self._subs: list[_Subscription] = []
        # kind -> its subscribers, worked out on its first publish (several per agent turn), under the
        # lock and replaced with _subs, so a publish on another thread reads old or new, never a mix
        self._routes: dict[str, _Route] = {}
        self._lock = threading.Lock()
        self._pending: set[asyncio.Task[Any]] = set()
        self.errors: list[BaseException] = []

    def subscribe(self, callback: Subscriber, kinds: Iterable[str] | None = None) -> int:
        """Register ``callback`` for events whose ``kind`` is in ``kinds`` (all kinds when None).

        Returns a token for :meth:`unsubscribe`.
        """
        sub = _Subscription(
            callback=callback,
            kinds=frozenset(kinds) if kinds is not None else None,
            is_async=inspect.iscoroutinefunction(callback)
            or inspect.iscoroutinefunction(getattr(callback, "__call__", None)),  # noqa: B004
        )
        with self._lock:
            self._subs = [*self._subs, sub]
            self._routes = {}
        return sub.id

    def unsubscribe(self, token: int) -> None:
        """Remove the subscription ``token``; unknown tokens are an error."""
        with self._lock:
            remaining = [s for s in self._subs if s.id != token]
            if len(remaining) == len(self._subs):
                raise NotFound(f"no subscription with token {token} on this bus")
            self._subs = remaining
            self._routes = {}

    @property
    def subscriber_count(self) -> int:
        return len(self._subs)

    def subscribers(self) -> list[Subscriber]:
        """The subscribed callbacks, in subscription order (a copy: changing it changes nothing).

        Example:
            >>> bus = EventBus()
            >>> _ = bus.subscribe(print, kinds=["step"])
            >>> bus.subscribers() == [print]
            True
        """
        return [s.callback for s in self._subs]

    def publish(self, event: Event) -> None:
        """Deliver ``event`` to every matching subscriber, in subscription order."""
        try:
            callbacks, subs = self._routes[event.kind]  # a subscript, not .get(): one call less per publish
        except KeyError:  # the kind's first publish since the last (un)subscribe
            callbacks, subs = self._route(event.kind)
        if subs is None:  # every subscriber of this kind is synchronous
            for callback in callbacks:
                callback(event)
            return
        for sub in subs:
            if not sub.is_async:
                sub.callback(event)
                continue
            coro = sub.callback(event)
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                asyncio.run(coro)  # type: ignore[arg-type]
                continue
            task = loop.create_task(coro)  # type: ignore[arg-type]
            self._pending.add(task)
            task.add_done_callback(self._task_done)

    def _route(self, kind: str) -> _Route:
        """The subscribers of ``kind`` (copy-on-write: safe against concurrent (un)subscribe)."""
        with self._lock:
            subs = tuple(s for s in self._subs if s.kinds is None or kind in s.kinds)
            route = ((), subs) if any(s.is_async for s in subs) else (tuple(s.callback for s in subs), None)
            self._routes[kind] = route
        return route

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._pending.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            self.errors.append(exc)
            logger.error("async event subscriber failed", exc_info=exc)

    async def drain(self) -> None:
        """Wait until every scheduled async subscriber has finished."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)


__all__ = [
    "ActionEvent", "ActionQualityEvent", "AgentErrorEvent", "BatchEvent", "CheckpointEvent", "ConcurrencyEvent",
    "DivergenceEvent", "EmotionEvent", "Event", "EventBus", "LLMCallEvent", "MemoryEvent", "OperationTimingEvent",
    "StateEditEvent", "StepEvent", "StimulusEvent", "Subscriber", "ToolCallEvent", "WarningEvent"]
