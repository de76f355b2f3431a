"""Running agent turns: bounded concurrency, per-turn timeouts, error records and step metrics.

A failed or timed-out turn is never swallowed: it becomes an :class:`AgentTurnError` record and an
:class:`~tinytroupe.events.AgentErrorEvent`, and the world's policy decides whether the run goes on.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from tinytroupe.agent.person import TinyPerson
from tinytroupe.events import AgentErrorEvent, Event
from tinytroupe.redaction import redact, redacted_traceback

logger = logging.getLogger(__name__)


@dataclass
class AgentTurnError:
    """What went wrong in one agent's turn."""

    agent: str
    step: int
    error_type: str
    message: str
    timed_out: bool = False
    exception: BaseException | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Provider errors can quote credentials, and this record travels to logs, trace and results.
        self.message = redact(self.message)

    def describe(self) -> str:
        what = "timed out" if self.timed_out else f"failed with {self.error_type}: {self.message}"
        return f"agent {self.agent!r} at step {self.step} {what}"

    def as_dict(self) -> dict[str, Any]:
        # Not dataclasses.asdict: it deep-copies every field, the exception too, which is wasteful
        # and fails for exceptions whose constructor needs keyword arguments.
        return {"agent": self.agent, "step": self.step, "error_type": self.error_type,
                "message": self.message, "timed_out": self.timed_out}


@dataclass
class TurnOutcome:
    agent: TinyPerson
    wall_s: float
    error: AgentTurnError | None = None


@dataclass
class StepMetrics:
    """Timing of one world step."""

    step: int
    parallel: bool
    agents: int
    wall_s: float
    turn_time_sum_s: float
    llm_calls: int
    errors: int
    timeouts: int

    @property
    def speedup(self) -> float:
        """Sum of turn times over wall time: how much the concurrency bought."""
        return self.turn_time_sum_s / self.wall_s if self.wall_s > 0 else 1.0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "speedup": round(self.speedup, 3)}


class TurnDeadlines:
    """The timeouts of turns run together on one timer of the event loop, instead of one timer each.

    Each turn still runs under its own ``asyncio.Timeout`` (asyncio cancels the turn when its time is
    up and turns that cancellation into :class:`TimeoutError`), made without a deadline; the deadline
    is kept here, and a single timer hands the timeouts whose time has come to asyncio. A timer per
    turn costs a heap entry, its comparisons and its cancellation: a good part of a replayed turn's
    work. The turns share one timeout and start in order, so their deadlines come in order and the
    timer waits for the earliest. :meth:`close` when the turns are done.

    Example:
        >>> async def two_turns() -> list[str]:
        ...     deadlines = TurnDeadlines(0.05)
        ...     async def turn(seconds: float) -> str:
        ...         try:
        ...             await deadlines.run(lambda: asyncio.sleep(seconds))
        ...             return "done"
        ...         except TimeoutError:
        ...             return "timed out"
        ...     try:
        ...         return await asyncio.gather(turn(0), turn(10))
        ...     finally:
        ...         deadlines.close()
        >>> asyncio.run(two_turns())
        ['done', 'timed out']
    """

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._loop = asyncio.get_running_loop()
        self._due: dict[asyncio.Timeout, float] = {}  # in deadline order
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0

    async def run(self, turn: Callable[[], Awaitable[Any]]) -> None:
        """Await ``turn()`` in the current task; :class:`TimeoutError` when ``timeout`` s from now pass first."""
        limit = asyncio.timeout_at(None)
        when = self._loop.time() + self.timeout
        self._due[limit] = when
        if self._timer is None:
            self._set_timer(when)
        try:
            async with limit:  # entered before the loop runs again: the timer cannot find it unentered
                await turn()
        finally:
            self._due.pop(limit, None)

    def close(self) -> None:
        """Stop the timer; a turn still running (the step ended without it: another turn raised what
        could not be recorded) gets a timer of its own for its deadline, so it still ends on time."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        left, self._due = self._due, {}
        for limit, when in left.items():
            limit.reschedule(when)  # asyncio's own timer now; the turn's Timeout cancels it when it ends

    def _set_timer(self, when: float) -> None:
        self._timer_at = when
        self._timer = self._loop.call_at(when, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        now = max(self._timer_at, self._loop.time())
        expired = []
        for limit, when in self._due.items():
            if when > now:
                self._set_timer(when)
                break
            expired.append((limit, when))
        for limit, when in expired:  # in deadline order, as their own timers would have fired
            del self._due[limit]
            limit.reschedule(when)  # due: asyncio cancels the turn at once and raises TimeoutError in it


async def _within(timeout: float, agent: TinyPerson) -> None:
    # asyncio.timeout, not wait_for: the turn runs in this task instead of one more task per turn
    async with asyncio.timeout(timeout):
        await agent.aact()


def _turn(agent: TinyPerson, timeout: float | None, deadlines: TurnDeadlines | None) -> Awaitable[Any]:
    """The turn itself, under its timeout, with no coroutine of its own around it."""
    if deadlines is not None:
        return deadlines.run(agent.aact)
    if timeout is not None:
        return _within(timeout, agent)
    return agent.aact()


async def run_turn(agent: TinyPerson, *, step: int, world: str, timeout: float | None,
                   semaphore: asyncio.Semaphore | None,
                   publish: Callable[[Event], None] | None = None,
                   deadlines: TurnDeadlines | None = None) -> TurnOutcome:
    """Run one agent turn under the semaphore and timeout; failures come back as a record.

    A failure's :class:`~tinytroupe.events.AgentErrorEvent` goes to ``publish`` (default: the agent's
    bus, at once; a world stepping agents ahead publishes it later, in the step's order). Turns run
    together in their own tasks may share ``deadlines`` (a :class:`TurnDeadlines` of ``timeout``)
    instead of a timer each.
    """
    start = time.perf_counter()
    error: AgentTurnError | None = None
    try:
        if semaphore is not None:
            async with semaphore:
                start = time.perf_counter()
                await _turn(agent, timeout, deadlines)
        else:
            await _turn(agent, timeout, deadlines)
    except TimeoutError as exc:
        error = AgentTurnError(agent.name, step, "TimeoutError",
                               f"no answer within {timeout} s (PARALLEL_EXECUTION_TIMEOUT)", True, exc)
    except Exception as exc:  # recorded, published and re-raised by policy: never dropped
        error = AgentTurnError(agent.name, step, type(exc).__name__, str(exc), False, exc)
    wall = time.perf_counter() - start
    if error is not None:
        # The record and the event carry the failure; the traceback is for whoever turns on debug logs.
        # event_kind: this log record repeats the event, so a front end showing events live can drop it.
        logger.warning("%s", error.describe(), extra={"event_kind": "agent_error"})
        if error.exception is not None and logger.isEnabledFor(logging.DEBUG):
            logger.debug("traceback of the failed turn:\n%s", redacted_traceback(error.exception))
        (publish or agent.bus.publish)(AgentErrorEvent(agent=agent.name, world=world, step=step,
                                                       error_type=error.error_type, message=error.message,
                                                       timed_out=error.timed_out))
    return TurnOutcome(agent, wall, error)


__all__ = ["AgentTurnError", "StepMetrics", "TurnDeadlines", "TurnOutcome", "run_turn"]
