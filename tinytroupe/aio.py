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
import contextvars
import threading
from collections.abc import Coroutine
from concurrent.futures import Future
from typing import Any, TypeVar

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
                loop.run_forever()

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


def run_sync(coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
    """Run ``coro`` on the portal loop and wait for its result (context variables are carried over).

    Calling it from inside a coroutine that already runs on the portal would deadlock, so that
    raises a RuntimeError that says to ``await`` the async twin instead.
    """
    if in_portal():
        coro.close()
        raise RuntimeError(
            "a synchronous tinytroupe method was called from async code running on tinytroupe's own "
            "event loop; await its async twin (the method of the same name starting with 'a') instead"
        )
    loop = _portal()
    ctx = contextvars.copy_context()
    result: Future[T] = Future()

    def start() -> None:
        task = ctx.run(loop.create_task, coro)

        def done(t: asyncio.Task[T]) -> None:
            if t.cancelled():
                result.cancel()
            elif (exc := t.exception()) is not None:
                result.set_exception(exc)
            else:
                result.set_result(t.result())

        task.add_done_callback(done)

    loop.call_soon_threadsafe(start)
    return result.result(timeout)


__all__ = ["in_portal", "run_sync"]
