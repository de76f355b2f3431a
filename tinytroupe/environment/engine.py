"""Running agent turns: bounded concurrency, per-turn timeouts, error records and step metrics.

A failed or timed-out turn is never swallowed: it becomes an :class:`AgentTurnError` record and an
:class:`~tinytroupe.events.AgentErrorEvent`, and the world's policy decides whether the run goes on.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
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


async def run_turn(agent: TinyPerson, *, step: int, world: str, timeout: float | None,
                   semaphore: asyncio.Semaphore | None,
                   publish: Callable[[Event], None] | None = None) -> TurnOutcome:
    """Run one agent turn under the semaphore and timeout; failures come back as a record.

    A failure's :class:`~tinytroupe.events.AgentErrorEvent` goes to ``publish`` (default: the agent's
    bus, at once; a world stepping agents ahead publishes it later, in the step's order).
    """

    async def body() -> None:
        if timeout is not None:
            # asyncio.timeout, not wait_for: the turn runs in this task instead of one more task per turn
            async with asyncio.timeout(timeout):
                await agent.aact()
        else:
            await agent.aact()

    start = time.perf_counter()
    error: AgentTurnError | None = None
    try:
        if semaphore is not None:
            async with semaphore:
                start = time.perf_counter()
                await body()
        else:
            await body()
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
    return TurnOutcome(agent=agent, wall_s=wall, error=error)


__all__ = ["AgentTurnError", "StepMetrics", "TurnOutcome", "run_turn"]
