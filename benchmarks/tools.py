"""Tools in agents' turns: what running tool calls concurrently gains, and what a tool call costs a turn.

All on the scripted backend, in this process (no server): the figures are tinytroupe's own work.

- ``parallel_tool_speedup``: one agent turn with 4 independent tool calls, each a different tool
  sleeping 100 ms (plain functions, so each runs in a worker thread), over the same turn with the 4
  calls one after another (each call references the previous one's result, ``${N.label}``, so it waits
  for it). Both turns do the same LLM call, commit and upkeep; only the calls' order differs. Goal >= 3.5
  (4 would be no overhead at all). ``parallel_turn_ms`` and ``sequential_turn_ms`` are the medians.
- ``tool_turn_overhead_ms``: the median turn of an agent with ``TinyToolUse`` whose one action is a
  no-op tool call (a plain function: a worker-thread hop) minus the median turn of an agent without
  tools whose one action is a THINK. Goal <= 2 ms. ``tool_turn_overhead_ms_async`` is the same with an
  ``async`` no-op tool (no thread hop).

A fresh agent takes each measured turn (built outside the timing), so memory upkeep does the same
work every time. ``mcp_call_overhead_ms`` (a call through an MCP server over a plain tool call) is
measured by the MCP benchmark when there is one: :data:`EXTRA_SECTIONS` is where it is added; this
script prints no figure it did not measure.

Usage::

    python benchmarks/tools.py [--quick]

``--quick``: 3 rounds of the speedup and 150 turns per overhead figure (well under a minute);
otherwise 10 and 600.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel

ROOT = Path(__file__).resolve().parents[1]
if importlib.util.find_spec("tinytroupe") is None:
    sys.path.insert(0, str(ROOT))

from tinytroupe.agent import TinyPerson  # noqa: E402
from tinytroupe.llm import LLMClient, ScriptedBackend  # noqa: E402
from tinytroupe.tools import TinyTool, TinyToolUse, ToolCall, ToolOperation  # noqa: E402

NAP_S = 0.1


class NapArgs(BaseModel):
    label: str = ""


class Nap(BaseModel):
    label: str


class NapTool(TinyTool):
    """A tool whose one operation (``action``) sleeps ``NAP_S`` in a worker thread."""

    def __init__(self, name: str, action: str, seconds: float = NAP_S, is_async: bool = False) -> None:
        super().__init__(name, "waits")
        self.seconds = seconds

        def nap(call: ToolCall, args: BaseModel) -> Nap:
            if self.seconds:
                time.sleep(self.seconds)
            return Nap(label=getattr(args, "label", ""))

        async def anap(call: ToolCall, args: BaseModel) -> Nap:
            return Nap(label=getattr(args, "label", ""))

        self.add_operation(ToolOperation(name, action, "wait a moment", NapArgs, Nap, anap if is_async else nap))


def turn(*actions: tuple[str, str]) -> dict[str, Any]:
    return {"actions": [{"type": t, "content": c} for t, c in actions] + [{"type": "DONE"}]}


def person(name: str, reply: dict[str, Any], tools: list[TinyTool] | None) -> TinyPerson:
    agent = TinyPerson(name, client=LLMClient(ScriptedBackend([reply], cycle=True)))
    if tools:
        agent.add_mental_faculty(TinyToolUse(tools))
    return agent.listen("go on")


async def timed_turn(make: Callable[[], TinyPerson]) -> float:
    agent = make()
    started = time.perf_counter()
    await agent.aact()
    return time.perf_counter() - started


async def speedup(rounds: int) -> dict[str, Any]:
    tools: list[TinyTool] = [NapTool(f"napper{i}", f"NAP_{i}") for i in range(1, 5)]
    parallel = turn(*[(f"NAP_{i}", f'{{"label": "n{i}"}}') for i in range(1, 5)])
    chained = turn(("NAP_1", '{"label": "n1"}'), *[(f"NAP_{i}", f'{{"label": "${{{i - 1}.label}}"}}')
                                                   for i in range(2, 5)])
    await timed_turn(lambda: person("Warm", parallel, tools))  # first-use costs (templates, schemas)
    par, seq = [], []
    for _ in range(rounds):
        par.append(await timed_turn(lambda: person("Par", parallel, tools)))
        seq.append(await timed_turn(lambda: person("Seq", chained, tools)))
    p, s = statistics.median(par), statistics.median(seq)
    return {"parallel_tool_speedup": round(s / p, 3), "parallel_turn_ms": round(p * 1000, 2),
            "sequential_turn_ms": round(s * 1000, 2)}


async def overhead(turns: int) -> dict[str, Any]:
    noop = [NapTool("noop", "NOOP", seconds=0.0)]
    noop_async = [NapTool("noop", "NOOP", seconds=0.0, is_async=True)]
    think = turn(("THINK", "nothing much"))
    call = turn(("NOOP", "{}"))
    for _ in range(20):  # warm-up
        await timed_turn(lambda: person("Warm", call, noop))
        await timed_turn(lambda: person("Warm", think, None))
    plain, with_tool, with_async = [], [], []
    for _ in range(turns):
        plain.append(await timed_turn(lambda: person("Plain", think, None)))
        with_tool.append(await timed_turn(lambda: person("Tool", call, noop)))
        with_async.append(await timed_turn(lambda: person("Async", call, noop_async)))
    base = statistics.median(plain)
    return {"tool_turn_overhead_ms": round((statistics.median(with_tool) - base) * 1000, 3),
            "tool_turn_overhead_ms_async": round((statistics.median(with_async) - base) * 1000, 3),
            "plain_turn_ms": round(base * 1000, 3)}


#: further sections, ``(quick) -> dict``: the MCP helper adds ``mcp_call_overhead_ms`` here
EXTRA_SECTIONS: list[Callable[[bool], dict[str, Any]]] = []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (under a minute)")
    args = parser.parse_args()
    figures: dict[str, Any] = {}
    figures.update(asyncio.run(speedup(3 if args.quick else 10)))
    print(f"4 x {NAP_S * 1000:.0f} ms tools in one turn: parallel {figures['parallel_turn_ms']:.1f} ms, one after "
          f"another {figures['sequential_turn_ms']:.1f} ms, speedup {figures['parallel_tool_speedup']:.2f} "
          "(goal >= 3.5)")
    figures.update(asyncio.run(overhead(150 if args.quick else 600)))
    print(f"turn without tools {figures['plain_turn_ms']:.2f} ms; one no-op tool call adds "
          f"{figures['tool_turn_overhead_ms']:.3f} ms (async tool: {figures['tool_turn_overhead_ms_async']:.3f} ms; "
          "goal <= 2)")
    for section in EXTRA_SECTIONS:
        figures.update(section(args.quick))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
