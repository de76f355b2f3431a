"""Running the async core from synchronous code (scripts, notebooks, several threads).

All sync calls go to one background event loop ("the portal"), started on first use. That keeps
pooled async HTTP clients alive between sync calls, and it works the same whether or not the
caller already runs an event loop (Jupyter does).

Example:
    >>> import asyncio
    >>> from tinytroupe.aio import run_sync
    >>> async def two() -> int:
    ...     return 2
    >>> run_sync(two())
    2
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import contextvars
import threading
import time
from collections.abc import Coroutine
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, Generic, TypeVar

from tinytroupe.errors import InvalidState

T = TypeVar("T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_thread: threading.Thread | None = None


def _portal() -> asyncio.AbstractEventLoop:
    global _loop, _thread
    with _lock:
        if _loop is None or _loop.is_closed() or _thread is None or not _thread.is_alive():
            loop = asyncio.new_event_loop()
            ready = threading.Event()

            def serve() -> None:
                asyncio.set_event_loop(loop)
                loop.call_soon(ready.set)
                while True:
                    try:
                        loop.run_forever()
                        return  # stopped on purpose by _shutdown
                    except (SystemExit, KeyboardInterrupt):
                        # A task raised it (rich does on a closed stdout pipe), possibly a child of a
                        # gather: its future already holds it and the caller waiting on that work
                        # re-raises it. Keep serving, so no other caller's work is lost.
                        continue

            thread = threading.Thread(target=serve, name="tinytroupe-portal", daemon=True)
            thread.start()
            ready.wait()
            _loop, _thread = loop, thread
            atexit.register(_shutdown)
        return _loop


def _shutdown() -> None:
    global _loop, _thread
    with _lock:
        loop, thread = _loop, _thread
        _loop, _thread = None, None
    if loop is None or loop.is_closed():
        return
    if loop.is_running():
        loop.call_soon_threadsafe(loop.stop)
    if thread is not None:
        thread.join(timeout=5.0)
    # Close the loop too (its self-pipe sockets otherwise leak with a ResourceWarning at exit).
    if not loop.is_running():
        loop.close()


def in_portal() -> bool:
    """True when called from inside the portal loop's thread."""
    return _thread is not None and threading.current_thread() is _thread


#: how often a waiting caller checks that the portal thread is still alive
_LIVENESS_CHECK_S = 0.5
#: how long an interrupted caller waits for the cancelled work to unwind before giving up on it
_CANCEL_GRACE_S = 5.0


def run_sync(coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
    """Run ``coro`` on the portal loop and wait for its result (context variables are carried over).

    Ctrl-C (``KeyboardInterrupt``) in the waiting thread cancels the work on the portal, waits briefly
    for it to unwind (so retries stop and connections close), then propagates. ``SystemExit`` or
    ``KeyboardInterrupt`` raised inside the work (rich raises ``SystemExit`` when stdout is a closed
    pipe) reaches the caller instead of stopping the portal with the caller still waiting.

    Raises:
        InvalidState: called from inside a coroutine that already runs on the portal (it would
            deadlock); ``await`` the async twin instead; or the portal's thread died. It is also a
            ``RuntimeError``.
        TimeoutError: ``timeout`` seconds passed (the work is cancelled).
    """
    if in_portal():
        coro.close()
        raise InvalidState(
            "a synchronous tinytroupe method was called from async code running on tinytroupe's own "
            "event loop; await its async twin (the method of the same name starting with 'a') instead"
        )
    loop = _portal()
    thread = _thread
    call = _PortalCall(loop, coro)
    deadline = None if timeout is None else time.monotonic() + timeout
    try:
        # Inside the try: a Ctrl-C that lands just after the work started must still cancel it.
        call.start()
        return _wait(call.result, deadline, thread)
    except (KeyboardInterrupt, FutureTimeout):
        if not call.result.done() and not loop.is_closed():
            loop.call_soon_threadsafe(call.cancel)
            with contextlib.suppress(BaseException):
                call.result.exception(_CANCEL_GRACE_S)
        raise


class _PortalCall(Generic[T]):
    """One coroutine run on the portal for a thread that waits on :attr:`result`."""

    def __init__(self, loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, T]) -> None:
        self.loop = loop
        self.coro = coro
        self.result: Future[T] = Future()
        self._ctx = contextvars.copy_context()  # the caller's, taken in the caller's thread
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        """Schedule the work on the portal (from any thread)."""
        self.loop.call_soon_threadsafe(self._start)

    def cancel(self) -> None:
        """Cancel the work (on the portal's thread)."""
        for task in self._tasks:
            task.cancel()

    def _start(self) -> None:
        task = self._ctx.run(self.loop.create_task, self._guarded())
        task.add_done_callback(self._settle)
        self._tasks.append(task)

    async def _guarded(self) -> None:
        try:
            value = await self.coro
        except asyncio.CancelledError:
            self.result.cancel()
            raise
        except BaseException as exc:  # SystemExit/KeyboardInterrupt too: see run_sync's docstring
            self.result.set_exception(exc)
        else:
            self.result.set_result(value)

    def _settle(self, task: asyncio.Task[None]) -> None:
        # A task cancelled before its first step never entered _guarded(): settle the caller's future.
        if not self.result.done():
            self.coro.close()
            self.result.cancel()


def _wait(result: Future[T], deadline: float | None, thread: threading.Thread | None) -> T:
    """``result``'s value, checking every so often that the portal's thread still runs."""
    while True:
        wait = _LIVENESS_CHECK_S if deadline is None else min(_LIVENESS_CHECK_S, deadline - time.monotonic())
        try:
            return result.result(max(wait, 0.0))
        except FutureTimeout:
            if deadline is not None and time.monotonic() >= deadline:
                raise
            if thread is None or not thread.is_alive():
                raise InvalidState("tinytroupe's event loop thread stopped before the call finished; "
                                   "the work it was doing is lost") from None

__all__ = ["in_portal", "run_sync"]
