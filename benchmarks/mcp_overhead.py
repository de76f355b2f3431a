"""What calling a tool through MCP costs over calling the same tool in this process.

The demo MCP server (``tinytroupe.devtools.mcp_demo_server``) runs as a child process over stdio;
its ``noop`` tool does nothing. The same no-op is called N times one after another

* through :class:`~tinytroupe.tools.MCPToolkit` (``kit.tool.acall("NOOP")``: validation, the hop to
  the session's thread, JSON-RPC over the pipes, the server, the result model), and
* through an in-process :class:`~tinytroupe.tools.TinyTool` with an async no-op operation (the
  same validation and result model, no MCP),

after a warm-up of each.

Usage::

    python benchmarks/mcp_overhead.py [--quick] [--calls 2000]

The last line printed is one JSON object: ``mcp_call_overhead_ms`` (mean MCP call minus mean
direct call), ``mcp_call_mean_ms``, ``mcp_call_p50_ms``, ``mcp_call_p99_ms``, ``direct_call_mean_ms``,
``calls``.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import statistics
import sys
import time
from pathlib import Path

from pydantic import BaseModel

ROOT = Path(__file__).resolve().parents[1]
if importlib.util.find_spec("tinytroupe") is None:
    sys.path.insert(0, str(ROOT))

from tinytroupe.devtools.mcp_demo_server import stdio_command  # noqa: E402
from tinytroupe.tools import MCPToolkit, TinyTool, ToolCall, tool_action  # noqa: E402
from tinytroupe.tools.mcp_schema import MCPToolResult  # noqa: E402


class NoArgs(BaseModel):
    """The no-op takes nothing."""


class Local(TinyTool):
    """The in-process twin of the server's ``noop``."""

    def __init__(self) -> None:
        super().__init__("local", "in-process no-op")

    @tool_action("NOOP", "does nothing")
    async def noop(self, call: ToolCall, args: NoArgs) -> MCPToolResult:
        return MCPToolResult(text="", content=[])


async def _timed(tool: TinyTool, calls: int) -> list[float]:
    for _ in range(max(10, calls // 10)):  # warm-up: imports, first JSON schemas, pipes
        await tool.acall("NOOP")
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        await tool.acall("NOOP")
        times.append((time.perf_counter() - started) * 1000.0)
    return times


async def run(calls: int) -> dict[str, float | int]:
    command, args, env = stdio_command()
    async with MCPToolkit.stdio(command, args, env=env) as kit:
        remote = await _timed(kit.tool, calls)
    direct = await _timed(Local(), calls)
    remote_sorted = sorted(remote)
    return {
        "mcp_call_overhead_ms": round(statistics.fmean(remote) - statistics.fmean(direct), 4),
        "mcp_call_mean_ms": round(statistics.fmean(remote), 4),
        "mcp_call_p50_ms": round(statistics.median(remote), 4),
        "mcp_call_p99_ms": round(remote_sorted[min(len(remote) - 1, int(len(remote) * 0.99))], 4),
        "direct_call_mean_ms": round(statistics.fmean(direct), 4),
        "calls": calls,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="200 calls (well under a minute)")
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    calls = 200 if args.quick else args.calls
    figures = asyncio.run(run(calls))
    print(f"no-op tool call, mean of {calls}: over MCP stdio {figures['mcp_call_mean_ms']:.3f} ms "
          f"(p50 {figures['mcp_call_p50_ms']:.3f}, p99 {figures['mcp_call_p99_ms']:.3f}), in process "
          f"{figures['direct_call_mean_ms']:.3f} ms")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
