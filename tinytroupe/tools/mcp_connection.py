"""One MCP client session, owned by a dedicated thread with its own event loop.

The ``mcp`` SDK's transports and ``ClientSession`` are anyio context managers whose cancel scopes
must be entered and left by the same task. Agent turns call tools from other tasks, other event
loops (the sync facade's portal, a notebook's loop) and worker threads. So one task, on a loop in a
thread of its own, opens the transport and the session, initialises it, lists the tools, then waits
until it is told to close and leaves both in order. Every call is a coroutine submitted to that loop
(``run_coroutine_threadsafe``) and awaited from the caller's loop; cancelling the caller's wait
(a time limit) cancels the call there. A server that exits fails the calls in flight and later ones
with the SDK's "connection closed" error, which :mod:`tinytroupe.tools.mcp_toolkit` turns into a
:class:`~tinytroupe.errors.ToolExecutionError`.

The SDK is imported here, on the first connection only.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from typing import Any, TextIO, TypeVar, cast

from tinytroupe.errors import ConfigError, InvalidState, ToolExecutionError

T = TypeVar("T")

#: how many pages of tools/list are read at most (a server that pages forever cannot hang the start)
MAX_TOOL_PAGES = 50


def import_sdk() -> Any:
    """The ``mcp`` package (:class:`ConfigError` saying how to install it if it is missing)."""
    try:
        import mcp
    except ImportError as exc:
        raise ConfigError("MCP servers need the package 'mcp' (the official MCP SDK, version 2); install it with "
                          "pip install 'tinytroupe[tools]'") from exc
    return mcp


def unwrap(exc: BaseException) -> BaseException:
    """The one real error inside nested single-error exception groups (anyio task groups wrap them)."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


class MCPConnection:
    """The thread, loop and session of one MCP server connection (see the module docstring).

    ``open_transport`` returns the SDK's transport context manager (it yields the read and write
    streams); it is called on the connection's own loop.
    """

    def __init__(self, open_transport: Callable[[TextIO], AbstractAsyncContextManager[Any]], label: str,
                 connect_timeout_s: float) -> None:
        self.open_transport = open_transport
        self.label = label
        self.connect_timeout_s = connect_timeout_s
        self.session: Any = None
        self.server_info: dict[str, Any] = {}
        self.tools: list[dict[str, Any]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._task: asyncio.Task[Any] | None = None
        self._thread: threading.Thread | None = None
        self._done: Future[None] = Future()
        # The server's stderr (stdio): kept, so an error can quote what the server said before it died.
        self._stderr = cast(TextIO, tempfile.TemporaryFile(  # noqa: SIM115 (open while connected; stop() closes it)
            "w+", encoding="utf-8", errors="replace"))

    @property
    def connected(self) -> bool:
        return self.session is not None and not self._done.done()

    def start(self) -> None:
        """Connect (blocking): spawn or reach the server, initialise, list its tools.

        Raises:
            InvalidState: already started.
            BaseException: whatever connecting raised (the caller maps it to a typed error).
        """
        if self._thread is not None:
            raise InvalidState(f"the MCP connection to {self.label} was already started; make a new toolkit")
        import_sdk()
        ready: Future[None] = Future()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._own(ready)), daemon=True,
                                        name=f"tinytroupe-mcp-{self.label[:30]}")
        self._thread.start()
        try:
            # initialize() has its own limit; this one also covers a transport that never opens
            ready.result(timeout=self.connect_timeout_s + 5.0)
        except FutureTimeout:
            self.stop(timeout_s=2.0)
            raise ToolExecutionError(f"no answer within {self.connect_timeout_s:g} s") from None

    async def _own(self, ready: Future[None]) -> None:
        from mcp import ClientSession

        self._loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        self._stop = asyncio.Event()
        try:
            async with AsyncExitStack() as stack:
                streams = await stack.enter_async_context(self.open_transport(self._stderr))
                session = await stack.enter_async_context(ClientSession(streams[0], streams[1]))
                async with asyncio.timeout(self.connect_timeout_s):
                    init = await session.initialize()
                    self.server_info = init.server_info.model_dump(mode="json", by_alias=True)
                    self.tools = await self._list_tools(session)
                self.session = session
                ready.set_result(None)
                await self._stop.wait()
        except BaseException as exc:  # reported to whoever waits: the starter, or the closer
            if not ready.done():
                ready.set_exception(unwrap(exc))
            if not isinstance(exc, asyncio.CancelledError | Exception):
                raise
        finally:
            self.session = None
            self._done.set_result(None)

    @staticmethod
    async def _list_tools(session: Any) -> list[dict[str, Any]]:
        tools: list[dict[str, Any]] = []
        cursor = None
        for _ in range(MAX_TOOL_PAGES):
            from mcp.types import PaginatedRequestParams

            page = await session.list_tools(params=PaginatedRequestParams(cursor=cursor) if cursor else None)
            tools.extend(t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in page.tools)
            cursor = page.next_cursor
            if not cursor:
                break
        return tools

    async def arun(self, call: Callable[[Any], Coroutine[Any, Any, T]]) -> T:
        """Run ``call(session)`` on the connection's loop and await it from this one.

        Raises:
            InvalidState: not connected (never started, closed, or the server is gone).
        """
        loop, session = self._loop, self.session
        if loop is None or session is None or self._done.done():
            raise InvalidState(f"not connected to the MCP server {self.label}")
        try:
            future: Future[T] = asyncio.run_coroutine_threadsafe(call(session), loop)
        except RuntimeError as exc:  # the loop closed in between
            raise InvalidState(f"not connected to the MCP server {self.label}") from exc
        return await asyncio.wrap_future(future)

    def stderr_tail(self, chars: int = 800) -> str:
        """The end of what the server wrote to stderr (stdio servers; empty otherwise)."""
        with contextlib.suppress(ValueError, OSError):  # closed already
            self._stderr.flush()
            self._stderr.seek(0, 2)
            size = self._stderr.tell()
            self._stderr.seek(max(0, size - chars * 4))
            return self._stderr.read()[-chars:].strip()
        return ""

    def stop(self, timeout_s: float = 10.0) -> None:
        """Close the session and the transport (stopping a stdio server), and end the thread (blocking)."""
        loop, stop, task = self._loop, self._stop, self._task
        if loop is not None and stop is not None and not self._done.done():
            with contextlib.suppress(RuntimeError):  # the loop ended on its own meanwhile
                loop.call_soon_threadsafe(stop.set)
        if self._thread is not None:
            self._thread.join(timeout_s)
            if self._thread.is_alive() and loop is not None and task is not None:
                # still opening the transport, or a close that does not finish: cancel the owner task
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(task.cancel)
                self._thread.join(timeout_s)
        self.session = None
        self._stderr.close()


__all__ = ["MAX_TOOL_PAGES", "MCPConnection", "import_sdk", "unwrap"]
