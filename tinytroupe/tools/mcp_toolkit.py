"""``MCPToolkit``: an MCP server's tools as one :class:`~tinytroupe.tools.base.TinyTool`.

Connect to a server over stdio (a command the toolkit starts) or streamable HTTP (a URL), with the
official ``mcp`` SDK; the toolkit lists the server's tools and exposes them as one tool with one
operation per MCP tool: the action is the MCP name in capitals (``get-weather`` → ``GET_WEATHER``),
the argument model is built from the tool's JSON schema (:mod:`tinytroupe.tools.mcp_schema`), so bad
arguments are refused before anything is sent, and the result is an
:class:`~tinytroupe.tools.mcp_schema.MCPToolResult`. A tool that reports an error, a call past its
time limit, and a server that exits all raise :class:`~tinytroupe.errors.ToolExecutionError`. A
tool the server does not mark read-only (``readOnlyHint``) counts as having real-world side effects
unless ``side_effects=`` says otherwise. The session lives in a thread of its own
(:mod:`tinytroupe.tools.mcp_connection`), so calls may come from any task, loop or thread.

Example (needs the ``mcp`` package)::

    async with MCPToolkit.stdio(sys.executable, ["-m", "tinytroupe.devtools.mcp_demo_server"]) as kit:
        result = await kit.tool.acall("ADD", {"a": 2, "b": 3})
        result.text  # '5'
    agent.add_mental_faculty(TinyToolUse(tools=[kit.tool]))  # while connected
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TextIO

from pydantic import BaseModel

from tinytroupe.errors import InvalidArgument, InvalidState, ToolArgumentError, ToolError, ToolExecutionError
from tinytroupe.tools.base import TinyTool, ToolCall, ToolOperation
from tinytroupe.tools.mcp_connection import MCPConnection, unwrap
from tinytroupe.tools.mcp_schema import MCPContent, MCPToolResult, arguments_of, model_from_schema

if TYPE_CHECKING:
    from tinytroupe.agent.person import TinyPerson

logger = logging.getLogger(__name__)

#: default time limit of one tool call (seconds)
DEFAULT_TIMEOUT_S = 30.0
#: default time limit for connecting (spawn or reach the server, initialise, list tools)
DEFAULT_CONNECT_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class StdioServer:
    """A server the toolkit starts as a child process and talks to over its stdin and stdout."""

    command: str
    args: tuple[str, ...] = ()
    env: Mapping[str, str] | None = None
    cwd: str | None = None

    @property
    def label(self) -> str:
        return " ".join((self.command, *self.args))[:120]

    def open(self, errlog: TextIO) -> AbstractAsyncContextManager[Any]:
        from mcp import StdioServerParameters, stdio_client

        params = StdioServerParameters(command=self.command, args=list(self.args),
                                       env=dict(self.env) if self.env is not None else None, cwd=self.cwd)
        return stdio_client(params, errlog=errlog)


@dataclass(frozen=True)
class HttpServer:
    """A server reached over streamable HTTP at ``url`` (e.g. ``http://127.0.0.1:8000/mcp``)."""

    url: str
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return self.url

    def open(self, errlog: TextIO) -> AbstractAsyncContextManager[Any]:
        return _http_transport(self.url, dict(self.headers))


@asynccontextmanager
async def _http_transport(url: str, headers: dict[str, str]) -> Any:
    import httpx2
    from mcp.client.streamable_http import streamable_http_client

    # A read limit long enough for a server that holds a response stream open (the SDK's choice too).
    async with httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30.0, read=300.0)) as client, \
            streamable_http_client(url, http_client=client) as streams:
        yield streams


@dataclass(frozen=True)
class MCPToolInfo:
    """One of the server's tools as listed: its MCP name, the action it became, and schema notes."""

    name: str
    action: str
    description: str
    input_schema: dict[str, Any]
    read_only: bool
    notes: tuple[str, ...] = ()


class MCPTool(TinyTool):
    """The tool an :class:`MCPToolkit` exposes: one operation per MCP tool (added when it connects)."""

    capabilities = ("mcp",)


def action_name(mcp_name: str, taken: set[str]) -> str:
    """The action type for an MCP tool name (capitals, ``_`` between words; a number added on a clash)."""
    base = re.sub(r"[^A-Za-z0-9]+", "_", mcp_name).strip("_").upper() or "TOOL"
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}_{n}", n + 1
    taken.add(candidate)
    return candidate


class MCPToolkit:
    """A connection to one MCP server and its tools as a :class:`TinyTool` (``kit.tool``).

    Args:
        server: a :class:`StdioServer` or :class:`HttpServer` (or use :meth:`stdio` / :meth:`http`).
        name: the tool's name (default: the server's name, made a valid tool name).
        timeout_s: time limit of one call; connect_timeout_s: of connecting.
        side_effects: True or False for all the server's tools; None: each tool has side effects
            unless the server marks it read-only.
        owner: the only agent allowed to use the tool (None: anyone it is given to).

    Use it as ``async with``/``with`` or call :meth:`aconnect`/:meth:`aclose` (:meth:`connect`/:meth:`close`).
    """

    def __init__(self, server: StdioServer | HttpServer, *, name: str | None = None,
                 timeout_s: float = DEFAULT_TIMEOUT_S, connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S,
                 side_effects: bool | None = None, owner: TinyPerson | str | None = None) -> None:
        if timeout_s <= 0 or connect_timeout_s <= 0:
            raise InvalidArgument(f"timeout_s and connect_timeout_s must be positive, got {timeout_s}, "
                                  f"{connect_timeout_s}")
        self.server = server
        self.name = name
        self.timeout_s = timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.side_effects = side_effects
        self.owner = owner
        self._conn: MCPConnection | None = None
        self._tool: MCPTool | None = None
        self._infos: list[MCPToolInfo] = []

    @classmethod
    def stdio(cls, command: str, args: Sequence[str] = (), *, env: Mapping[str, str] | None = None,
              cwd: str | None = None, **options: Any) -> MCPToolkit:
        """A toolkit for a server started as ``command args`` (stdio transport)."""
        return cls(StdioServer(command, tuple(args), env, cwd), **options)

    @classmethod
    def http(cls, url: str, *, headers: Mapping[str, str] | None = None, **options: Any) -> MCPToolkit:
        """A toolkit for a server at ``url`` (streamable HTTP transport)."""
        if not url.startswith(("http://", "https://")):
            raise InvalidArgument(f"an MCP server URL starts with http:// or https://, got {url!r}")
        return cls(HttpServer(url, dict(headers or {})), **options)

    def __repr__(self) -> str:
        state = "connected" if self.connected else "not connected"
        return f"MCPToolkit({self.server.label!r}, {state})"

    # ------------------------------------------------------------------ lifecycle
    @property
    def connected(self) -> bool:
        return self._conn is not None and self._conn.connected

    def connect(self) -> Self:
        """Connect (blocking): start or reach the server, list its tools and build :attr:`tool`.

        Raises:
            InvalidState: already connected.
            ToolExecutionError: the server cannot be started or reached, or does not answer in time.
        """
        if self._conn is not None:
            raise InvalidState(f"{self!r} is already connected; close it first")
        conn = MCPConnection(self.server.open, self.server.label, self.connect_timeout_s)
        try:
            conn.start()
        except Exception as exc:
            said = conn.stderr_tail()
            conn.stop(timeout_s=2.0)
            cause = unwrap(exc)
            raise ToolExecutionError(f"could not connect to the MCP server {self.server.label}: "
                                     f"{type(cause).__name__}: {cause}" + (f"; it said: {said}" if said else ""),
                                     tool=self.name) from cause
        self._conn = conn
        self._build_tool(conn)
        return self

    async def aconnect(self) -> Self:
        """Async twin of :meth:`connect` (the blocking part runs in a worker thread)."""
        return await asyncio.to_thread(self.connect)

    def close(self) -> None:
        """Close the session and stop a stdio server (blocking; closing twice does nothing)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.stop()

    async def aclose(self) -> None:
        """Async twin of :meth:`close`."""
        await asyncio.to_thread(self.close)

    async def __aenter__(self) -> Self:
        return await self.aconnect()

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.aclose()

    def __enter__(self) -> Self:
        return self.connect()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # ------------------------------------------------------------------ tools
    @property
    def tool(self) -> MCPTool:
        """The server's tools as one :class:`TinyTool` (built when connecting)."""
        if self._tool is None:
            raise InvalidState(f"{self!r} has no tools yet; connect first (async with / aconnect())")
        return self._tool

    @property
    def tools(self) -> list[MCPToolInfo]:
        """The server's tools as listed when connecting."""
        return list(self._infos)

    @property
    def server_info(self) -> dict[str, Any]:
        """The server's name and version, as it gave them when connecting."""
        return dict(self._conn.server_info) if self._conn is not None else {}

    def _build_tool(self, conn: MCPConnection) -> None:
        server_name = str(conn.server_info.get("name") or "mcp")
        name = self.name or (re.sub(r"[^A-Za-z0-9_-]+", "_", server_name).strip("_-") or "mcp")
        description = str(conn.server_info.get("title") or f"the tools of the MCP server {server_name}")
        tool = MCPTool(name, description, owner=self.owner)
        taken: set[str] = set()
        infos = []
        for listed in conn.tools:
            info = self._info_of(listed, taken)
            args_model, _ = model_from_schema(f"{info.action.title().replace('_', '')}Args", info.input_schema)
            side_effects = self.side_effects if self.side_effects is not None else not info.read_only
            tool.add_operation(ToolOperation(name, info.action, info.description, args_model, MCPToolResult,
                                             self._handler(info.name), side_effects, self.timeout_s))
            infos.append(info)
        self._tool, self._infos = tool, infos

    @staticmethod
    def _info_of(listed: Mapping[str, Any], taken: set[str]) -> MCPToolInfo:
        mcp_name = str(listed["name"])
        schema = dict(listed.get("inputSchema") or {"type": "object"})
        _, notes = model_from_schema("Probe", schema)
        for note in notes:
            logger.info("MCP tool %s: %s", mcp_name, note)
        first_line = (listed.get("description") or listed.get("title") or mcp_name).strip().splitlines()[0]
        read_only = bool((listed.get("annotations") or {}).get("readOnlyHint", False))
        return MCPToolInfo(mcp_name, action_name(mcp_name, taken), first_line[:200], schema, read_only, tuple(notes))

    def _handler(self, mcp_name: str) -> Any:
        async def handler(call: ToolCall, args: BaseModel) -> MCPToolResult:
            return await self.acall_tool(mcp_name, arguments_of(args), action=call.action, agent=call.agent_name)

        return handler

    async def acall_tool(self, name: str, arguments: Mapping[str, Any] | None = None, *,
                         timeout_s: float | None = None, action: str | None = None,
                         agent: str | None = None) -> MCPToolResult:
        """Call the MCP tool ``name`` with ``arguments`` as given (not validated here: prefer
        ``kit.tool.acall(ACTION, ...)``, which validates them first).

        Raises:
            ToolArgumentError: the server refused the arguments.
            ToolExecutionError: the tool reported an error, ran past the time limit, or the server
                is gone or not connected.
        """
        limit = timeout_s or self.timeout_s
        where = {"tool": self._tool.name if self._tool is not None else self.name, "action": action or name,
                 "agent": agent}
        conn = self._conn
        if conn is None:
            raise ToolExecutionError(f"not connected to the MCP server {self.server.label}; connect first", **where)
        try:
            result = await asyncio.wait_for(
                conn.arun(lambda session: session.call_tool(name, dict(arguments or {}), read_timeout_seconds=limit)),
                limit)
        except ToolError:
            raise
        except (TimeoutError, asyncio.CancelledError, Exception) as exc:
            raise self._error(exc, limit, where) from exc
        payload = result.model_dump(mode="json", by_alias=True, exclude_none=True)
        blocks = [MCPContent.model_validate(b) for b in payload.get("content", [])]
        text = "\n".join(b.text for b in blocks if b.text is not None)
        if payload.get("isError"):
            raise ToolExecutionError(f"the MCP tool {name} failed: {text or 'no message'}", **where)
        return MCPToolResult(text=text, content=blocks, structured=payload.get("structuredContent"))

    def _error(self, exc: BaseException, limit: float, where: dict[str, Any]) -> ToolError:
        from mcp.shared.exceptions import MCPError
        from mcp.types import CONNECTION_CLOSED, INVALID_PARAMS, REQUEST_TIMEOUT

        exc = unwrap(exc)
        current = asyncio.current_task()
        if isinstance(exc, asyncio.CancelledError) and current is not None and current.cancelling():
            raise exc  # our caller is being cancelled: let it be
        if isinstance(exc, TimeoutError) or (isinstance(exc, MCPError) and exc.code == REQUEST_TIMEOUT):
            return ToolExecutionError(f"ran past its time limit of {limit:g} s", **where)
        if isinstance(exc, InvalidState):
            return ToolExecutionError(f"{exc}; connect first (async with / aconnect())", **where)
        if isinstance(exc, asyncio.CancelledError) or (isinstance(exc, MCPError) and exc.code == CONNECTION_CLOSED):
            said = self._conn.stderr_tail() if self._conn is not None else ""
            return ToolExecutionError(f"the MCP server {self.server.label} closed the connection (did it exit?)"
                                      + (f"; it said: {said}" if said else ""), **where)
        if isinstance(exc, MCPError) and exc.code == INVALID_PARAMS:
            return ToolArgumentError(f"the MCP server refused the arguments: {exc.message}", **where)
        if isinstance(exc, MCPError):
            return ToolExecutionError(f"MCP error {exc.code}: {exc.message}", **where)
        return ToolExecutionError(f"{type(exc).__name__}: {exc}", **where)


__all__ = ["DEFAULT_CONNECT_TIMEOUT_S", "DEFAULT_TIMEOUT_S", "HttpServer", "MCPTool", "MCPToolInfo", "MCPToolkit",
           "StdioServer", "action_name"]
