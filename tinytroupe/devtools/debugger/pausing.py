"""Pausing a run and resuming it: the hand-over between the run (a coroutine on tinytroupe's event loop)
and whoever drives the debugger (a terminal prompt, a notebook cell, a test).

The run is started on a background thread (which waits on :func:`~tinytroupe.aio.run_sync`), so the
caller gets control back at every pause. A pause is an ``await`` on the event loop, never a blocked
thread: while a run is paused the loop serves other work, so the caller may use any of tinytroupe's
synchronous methods (``agent.build_prompt()`` ...) on the paused world.

Example:
    >>> import asyncio
    >>> control = RunControl()
    >>> async def work() -> str:
    ...     resume = await control.pause(Pause(reason="turn", where="half way"))
    ...     return f"resumed with {resume.mode}"
    >>> control.launch(work()).where
    'half way'
    >>> control.resume(Resume(mode="continue")).reason
    'finished'
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from concurrent.futures import CancelledError as FutureCancelled
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field

from tinytroupe.aio import in_portal, run_sync
from tinytroupe.devtools.debugger.breakpoints import Hit
from tinytroupe.errors import InvalidState
from tinytroupe.redaction import redact

#: how often a waiting caller wakes up (so Ctrl-C reaches it)
_POLL_S = 0.2

PauseReason = Literal["breakpoint", "step", "turn", "finished", "failed", "quit"]


class Pause(BaseModel):
    """Where a run stands when control comes back: paused (``reason`` ``breakpoint``, ``step`` or
    ``turn``) or over (``finished``, ``failed`` with ``error``, ``quit``).

    ``where`` says it in words; ``hits`` lists the breakpoints met since the last pause.
    """

    reason: PauseReason
    where: str
    world: str | None = None
    step: int | None = None
    agent: str | None = None
    hits: list[Hit] = Field(default_factory=list)
    error: str | None = None

    @property
    def over(self) -> bool:
        """The run has ended: nothing more to step through."""
        return self.reason in ("finished", "failed", "quit")

    def __str__(self) -> str:
        lines = [f"[{self.reason}] {self.where}"]
        lines += [f"  breakpoint #{h.breakpoint.id} ({h.breakpoint.describe()}): {h.summary}" for h in self.hits]
        if self.error:
            lines.append(f"  error: {self.error}")
        return "\n".join(lines)


@dataclass(frozen=True)
class Resume:
    """How to go on from a pause: ``continue`` (to the next breakpoint), ``step`` (to the end of the
    next world step), ``turn`` (to the end of the next turn, of ``agent`` when given)."""

    mode: Literal["continue", "step", "turn"] = "continue"
    agent: str | None = None


class RunControl:
    """One run in the background and the hand-over at its pauses (one run at a time)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._paused: Pause | None = None
        self._resume: asyncio.Future[Resume] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._outcome: Pause | None = None
        self.result: Any = None

    @property
    def active(self) -> bool:
        """A run was launched and has not ended."""
        return self._thread is not None and self._outcome is None

    @property
    def paused(self) -> Pause | None:
        return self._paused

    def launch(self, coro: Coroutine[Any, Any, Any]) -> Pause:
        """Start ``coro`` in the background; returns at its first pause or when it ends.

        Raises:
            InvalidState: a run is already going, or this is called on tinytroupe's event loop.
        """
        if self.active:
            coro.close()
            raise InvalidState("the debugger is already running something; continue or quit it first")
        if in_portal():
            coro.close()
            raise InvalidState("the debugger's run() waits for a pause, which cannot happen on tinytroupe's "
                               "event loop; call it from synchronous code")
        self._outcome, self._paused, self.result = None, None, None
        self._thread = threading.Thread(target=self._run, args=(coro,), name="tinytroupe-debugger", daemon=True)
        self._thread.start()
        return self.wait()

    def _run(self, coro: Coroutine[Any, Any, Any]) -> None:
        outcome: Pause
        try:
            self.result = run_sync(coro)
            outcome = Pause(reason="finished", where="the run ended")
        except (asyncio.CancelledError, FutureCancelled, KeyboardInterrupt):
            outcome = Pause(reason="quit", where="the run was stopped")
        except BaseException as exc:  # handed to the caller as the outcome, never dropped
            outcome = Pause(reason="failed", where="the run stopped with an error",
                            error=redact(f"{type(exc).__name__}: {exc}"))
            self.result = exc
        with self._cond:
            self._outcome, self._paused, self._resume = outcome, None, None
            self._cond.notify_all()

    async def pause(self, pause: Pause) -> Resume:
        """On the event loop: hand ``pause`` to the caller and wait for its :meth:`resume`."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Resume] = loop.create_future()
        with self._cond:
            self._loop, self._resume, self._paused = loop, future, pause
            self._cond.notify_all()
        return await future

    def wait(self) -> Pause:
        """Block until the run pauses or ends; the pause (or the outcome)."""
        with self._cond:
            while self._paused is None and self._outcome is None:
                self._cond.wait(_POLL_S)
            outcome = self._paused or self._outcome
        assert outcome is not None
        if outcome.over and self._thread is not None:
            self._thread.join()
        return outcome

    def resume(self, resume: Resume) -> Pause:
        """Go on from the current pause; returns at the next pause or when the run ends.

        Raises:
            InvalidState: the run is not paused (not started, or over).
        """
        future, loop = self._take_pause()
        loop.call_soon_threadsafe(_settle, future, resume)
        return self.wait()

    def stop(self) -> Pause:
        """End a paused run (it is cancelled at the pause); the outcome (``quit``)."""
        if not self.active:
            return self._outcome or Pause(reason="quit", where="nothing was running")
        future, loop = self._take_pause()
        loop.call_soon_threadsafe(future.cancel)
        return self.wait()

    def _take_pause(self) -> tuple[asyncio.Future[Resume], asyncio.AbstractEventLoop]:
        with self._cond:
            future, loop = self._resume, self._loop
            if self._paused is None or future is None or loop is None:
                raise InvalidState("the run is not paused: start it with run() (or start()), and resume only "
                                   "while it is paused")
            self._paused, self._resume = None, None
        return future, loop


def _settle(future: asyncio.Future[Resume], resume: Resume) -> None:
    if not future.done():
        future.set_result(resume)


__all__ = ["Pause", "PauseReason", "Resume", "RunControl"]
