"""A small real MCP server, written with the official SDK, for tests, examples and benchmarks.

Tools: ``add`` (two integers), ``lookup`` (a capital city by country, from a small table),
``profile`` (nested and optional arguments, an enum), ``slow`` (sleeps), ``fail`` (always raises),
``noop`` (does nothing: for timing), ``pid`` (the server's process id) and ``record`` (appends to
the server's memory: the one tool not marked read-only, so clients treat it as having side effects).

Run it over stdio (what :meth:`MCPToolkit.stdio <tinytroupe.tools.mcp_toolkit.MCPToolkit.stdio>`
spawns) or streamable HTTP on 127.0.0.1::

    python -m tinytroupe.devtools.mcp_demo_server
    python -m tinytroupe.devtools.mcp_demo_server --http --port 8765    # http://127.0.0.1:8765/mcp

Needs the ``mcp`` package (``pip install 'tinytroupe[tools]'``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from typing import Any, Literal

CAPITALS = {"france": "Paris", "portugal": "Lisbon", "kenya": "Nairobi", "japan": "Tokyo", "peru": "Lima"}


def build_server() -> Any:
    """The demo server (an ``mcp.server.MCPServer``) with its tools registered."""
    from mcp.server import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError
    from mcp.types import ToolAnnotations

    server = MCPServer("tinytroupe-demo", log_level="WARNING")
    read_only = ToolAnnotations(read_only_hint=True)
    recorded: list[str] = []

    @server.tool(annotations=read_only)
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    @server.tool(annotations=read_only)
    def lookup(country: str) -> str:
        """The capital city of a country (a few countries only)."""
        try:
            return CAPITALS[country.strip().lower()]
        except KeyError:
            # the SDK's ToolError: its message reaches the client (any other exception's is withheld)
            raise ToolError(f"no capital known for {country!r}; known: {', '.join(sorted(CAPITALS))}") from None

    @server.tool(annotations=read_only)
    def profile(name: str, age: int, tags: list[str] | None = None,
                unit: Literal["metric", "imperial"] = "metric", extra: dict[str, Any] | None = None) -> str:
        """Describe a person in one line."""
        return f"{name} ({age}, {unit}) tags={','.join(tags or [])} extra={sorted((extra or {}).items())}"

    @server.tool(annotations=read_only)
    async def slow(seconds: float) -> str:
        """Wait ``seconds`` seconds, then answer."""
        await asyncio.sleep(seconds)
        return f"slept {seconds:g} s"

    @server.tool(annotations=read_only)
    def fail(message: str) -> str:
        """Always fails with ``message``."""
        raise ToolError(message)

    @server.tool(annotations=read_only)
    def noop() -> str:
        """Does nothing."""
        return ""

    @server.tool(annotations=read_only)
    def pid() -> int:
        """The server's process id (tests kill it mid-session)."""
        return os.getpid()

    @server.tool()
    def record(entry: str) -> int:
        """Keep ``entry`` in the server's memory; the number of entries kept."""
        recorded.append(entry)
        return len(recorded)

    return server


def stdio_command(*extra: str) -> tuple[str, list[str], dict[str, str]]:
    """``(command, args, env)`` that run this server over stdio with this interpreter and this copy
    of tinytroupe (an MCP stdio client passes the child only a minimal environment, without PYTHONPATH).

    Example:
        >>> command, args, env = stdio_command()
        >>> args
        ['-m', 'tinytroupe.devtools.mcp_demo_server']
    """
    root = str(Path(__file__).resolve().parents[2])
    path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)
    return sys.executable, ["-m", "tinytroupe.devtools.mcp_demo_server", *extra], {"PYTHONPATH": path}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="tinytroupe's demo MCP server")
    parser.add_argument("--http", action="store_true", help="streamable HTTP instead of stdio")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args(argv)
    server = build_server()
    if args.http:
        server.run("streamable-http", host=args.host, port=args.port)
    else:
        server.run("stdio")


if __name__ == "__main__":
    main()
