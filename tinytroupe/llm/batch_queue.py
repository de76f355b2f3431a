"""The calls of batch mode while they wait: which block asked for batches, each queued call, and the
collector that sends a loop's queue as one batch once no new call came for a while.

:mod:`tinytroupe.llm.batch` (the :class:`~tinytroupe.llm.batch.BatchWrapper`) queues each call made
inside :func:`~tinytroupe.llm.batch.batch_mode` here and settles the queue through the provider's
Batch API; every caller waits on its own future, which is always resolved or failed (never left
waiting), even when the batch round itself fails or is cancelled.

Example:
    >>> batch_active()
    False
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from tinytroupe.errors import LLMTransportError
from tinytroupe.events import BatchEvent, EventBus
from tinytroupe.llm.types import Completion, LLMRequest


@dataclass(frozen=True)
class BatchMode:
    """What a batch-mode block says about its calls: where progress is published, for which world."""

    bus: EventBus | None = None
    world: str | None = None


#: the batch-mode block the running code is in (tasks started inside inherit it), or None
MODE: contextvars.ContextVar[BatchMode | None] = contextvars.ContextVar("tinytroupe_batch_mode", default=None)


def batch_active() -> bool:
    """Whether the running code is inside :func:`~tinytroupe.llm.batch.batch_mode`."""
    return MODE.get() is not None


@dataclass(eq=False)
class QueuedCall:
    """One call waiting for its batch line: its request's key (the line's ``custom_id``) and its future."""

    key: str
    request: LLMRequest
    mode: str | None
    batch_mode: BatchMode
    future: asyncio.Future[Completion]
    queued_at: float = field(default_factory=time.perf_counter)
    #: the retryable error of its last batch line, if that is why it is being sent again
    last_error: LLMTransportError | None = None
    #: how often it was sent again because its batch expired or its line failed retryably
    resends: int = 0
    #: whether its last line asked for logprobs (None: not known, a batch an earlier run recorded)
    asked_logprobs: bool | None = None


class Settler(Protocol):
    """Who sends a collector's queue (the :class:`~tinytroupe.llm.batch.BatchWrapper`)."""

    collect_window_s: float
    max_requests: int

    def _settle(self, items: list[QueuedCall]) -> Awaitable[None]: ...


class Collector:
    """The calls queued on one event loop, sent as one batch when no new one came for a while."""

    def __init__(self, settler: Settler) -> None:
        self.settler = settler
        self.pending: list[QueuedCall] = []
        self.timer: asyncio.TimerHandle | None = None
        self.tasks: set[asyncio.Task[None]] = set()

    def add(self, item: QueuedCall) -> None:
        self.pending.append(item)
        if self.timer is not None:
            self.timer.cancel()
        if len(self.pending) >= self.settler.max_requests:
            self.flush()
        else:
            self.timer = asyncio.get_running_loop().call_later(self.settler.collect_window_s, self.flush)

    def flush(self) -> None:
        self.timer = None
        items, self.pending = self.pending, []
        if items:
            task = asyncio.get_running_loop().create_task(self._run(items))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def _run(self, items: list[QueuedCall]) -> None:
        await self.settler._settle(items)


def fail_call(item: QueuedCall, exc: BaseException) -> None:
    """Fail ``item``'s caller with ``exc`` (a cancellation cancels it), unless it has its answer already."""
    if item.future.done():
        return
    if isinstance(exc, asyncio.CancelledError):
        item.future.cancel()
    else:
        item.future.set_exception(exc)


def publish(group: Mapping[str, list[QueuedCall]], event: BatchEvent) -> None:
    """Publish ``event`` once on each bus the callers of ``group`` asked for, naming the world each asked for."""
    buses: dict[int, tuple[EventBus, str | None]] = {}
    for items in group.values():
        for item in items:
            bus = item.batch_mode.bus
            if bus is not None:
                buses.setdefault(id(bus), (bus, item.batch_mode.world))
    for bus, world in buses.values():
        bus.publish(event.model_copy(update={"world": world}))


__all__ = ["MODE", "BatchMode", "Collector", "QueuedCall", "Settler", "batch_active", "fail_call", "publish"]
