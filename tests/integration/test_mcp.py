"""MCPToolkit against a real MCP server (``tinytroupe.devtools.mcp_demo_server``, written with the SDK),
over stdio (a child process the toolkit starts) and streamable HTTP (a server on 127.0.0.1).

The stdio toolkit is connected once for the module, on the test's thread, and called from each
test's own event loop and from worker threads: the session must serve callers outside the task
that opened it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from tinytroupe.errors import ToolArgumentError, ToolExecutionError, ToolPermissionError
from tinytroupe.tools import MCPToolkit

pytestmark = pytest.mark.integration

pytest.importorskip("mcp", reason="MCPToolkit needs the tools extra (pip install 'tinytroupe[tools]')")

from tinytroupe.devtools.mcp_demo_server import stdio_command  # noqa: E402  (after the skip: it needs mcp)

ACTIONS = {"ADD", "LOOKUP", "PROFILE", "SLOW", "FAIL", "NOOP", "PID", "RECORD"}


def _stdio_kit(**options: object) -> MCPToolkit:
    command, args, env = stdio_command()
    return MCPToolkit.stdio(command, args, env=env, **options)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def kit() -> Iterator[MCPToolkit]:
    with _stdio_kit(timeout_s=1.5) as connected:
        yield connected


def test_tools_are_listed_with_their_schemas(kit: MCPToolkit) -> None:
    assert kit.connected and kit.server_info["name"] == "tinytroupe-demo"
    assert set(kit.tool.operations) == ACTIONS
    assert kit.tool.name == "tinytroupe-demo"
    profile = kit.tool.operation("PROFILE")
    schema = profile.args_schema()
    assert set(schema["required"]) == {"name", "age"}
    assert schema["properties"]["unit"]["enum"] == ["metric", "imperial"]
    assert {i.name: i.read_only for i in kit.tools}["record"] is False
    assert kit.tool.operation("RECORD").side_effects and not kit.tool.operation("ADD").side_effects


async def test_calls_return_text_and_structured_content(kit: MCPToolkit) -> None:
    added = await kit.tool.acall("ADD", {"a": 2, "b": 3})
    assert added.text == "5" and added.structured == {"result": 5}
    assert (await kit.tool.acall("LOOKUP", "Kenya")).text == "Nairobi"  # single text argument as plain text
    described = await kit.tool.acall("PROFILE", {"name": "Ana", "age": 34, "tags": ["a", "b"],
                                                 "unit": "imperial", "extra": {"city": "Lisbon"}})
    assert described.text == "Ana (34, imperial) tags=a,b extra=[('city', 'Lisbon')]"


async def test_bad_arguments_are_refused_before_any_call(kit: MCPToolkit) -> None:
    with pytest.raises(ToolArgumentError, match=r"a: Input should be a valid integer.*b: Field required"):
        await kit.tool.acall("ADD", {"a": "two"})
    with pytest.raises(ToolArgumentError, match="unit"):
        await kit.tool.acall("PROFILE", {"name": "Ana", "age": 3, "unit": "furlongs"})
    with pytest.raises(ToolArgumentError, match="entry"):
        await kit.tool.acall("RECORD", {"entry": 12}, allow_side_effects=True)
    # the server kept nothing from the refused call: the first entry it records is number 1
    assert (await kit.tool.acall("RECORD", {"entry": "first"}, allow_side_effects=True)).text == "1"


async def test_side_effects_are_refused_unless_allowed(kit: MCPToolkit) -> None:
    with pytest.raises(ToolPermissionError, match="side effects are not allowed"):
        await kit.tool.acall("RECORD", {"entry": "x"})


async def test_a_failing_tool_is_a_tool_execution_error(kit: MCPToolkit) -> None:
    with pytest.raises(ToolExecutionError, match=r"tinytroupe-demo\.FAIL: the MCP tool fail failed: .*boom"):
        await kit.tool.acall("FAIL", {"message": "boom"})
    with pytest.raises(ToolExecutionError, match="no capital known for 'Atlantis'"):
        await kit.tool.acall("LOOKUP", "Atlantis")


async def test_a_slow_call_runs_past_its_time_limit_and_the_session_goes_on(kit: MCPToolkit) -> None:
    started = time.perf_counter()
    with pytest.raises(ToolExecutionError, match=r"time limit of 1\.5 s"):
        await kit.tool.acall("SLOW", {"seconds": 30})
    assert time.perf_counter() - started < 5
    assert (await kit.tool.acall("ADD", {"a": 1, "b": 1})).text == "2"


async def test_calls_from_other_threads_and_in_parallel(kit: MCPToolkit) -> None:
    from_thread = await asyncio.to_thread(lambda: kit.tool.call("ADD", {"a": 20, "b": 22}))
    assert from_thread.text == "42"
    started = time.perf_counter()
    slept = await asyncio.gather(*(kit.tool.acall("SLOW", {"seconds": 0.5}) for _ in range(4)))
    assert [r.text for r in slept] == ["slept 0.5 s"] * 4
    assert time.perf_counter() - started < 1.4  # overlapping, not one after another (2 s)


async def test_a_server_killed_mid_call_is_a_typed_error_not_a_hang() -> None:
    async with _stdio_kit(timeout_s=20) as kit:
        pid = int((await kit.tool.acall("PID")).text)
        pending = asyncio.create_task(kit.tool.acall("SLOW", {"seconds": 15}))
        await asyncio.sleep(0.3)
        started = time.perf_counter()
        os.kill(pid, signal.SIGKILL)
        with pytest.raises(ToolExecutionError, match="closed the connection"):
            await pending
        assert time.perf_counter() - started < 5  # far below the 20 s limit
        with pytest.raises(ToolExecutionError, match="closed the connection"):
            await kit.tool.acall("ADD", {"a": 1, "b": 2})
    assert not kit.connected
    with pytest.raises(ToolExecutionError, match="not connected"):
        await kit.tool.acall("ADD", {"a": 1, "b": 2})


def test_a_server_that_dies_at_start_is_an_error_quoting_its_stderr() -> None:
    crashing = MCPToolkit.stdio(sys.executable, ["-c", "import sys; sys.stderr.write('no luck today'); sys.exit(3)"],
                                connect_timeout_s=10)
    with pytest.raises(ToolExecutionError, match=r"could not connect to the MCP server .*no luck today"):
        crashing.connect()
    assert not crashing.connected


# ---------------------------------------------------------------------- streamable HTTP
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture()
def http_server() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = _free_port()
    command, args, env = stdio_command("--http", "--port", str(port))
    proc = subprocess.Popen([command, *args], env={**os.environ, **env}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the demo MCP server did not start on port {port}") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp", proc
    finally:
        proc.kill()
        proc.wait(timeout=10)


async def test_streamable_http_lists_calls_and_reports_errors(http_server: tuple[str, subprocess.Popen[bytes]]) -> None:
    url, proc = http_server
    async with MCPToolkit.http(url, name="demo", timeout_s=20) as kit:
        assert set(kit.tool.operations) == ACTIONS and kit.tool.name == "demo"
        assert (await kit.tool.acall("ADD", {"a": 40, "b": 2})).text == "42"
        with pytest.raises(ToolExecutionError, match="boom"):
            await kit.tool.acall("FAIL", {"message": "boom"})
        with pytest.raises(ToolArgumentError):
            await kit.tool.acall("ADD", {"a": 1})
        pending = asyncio.create_task(kit.tool.acall("SLOW", {"seconds": 15}))
        await asyncio.sleep(0.3)
        started = time.perf_counter()
        proc.kill()
        with pytest.raises(ToolExecutionError, match="closed the connection"):
            await pending
        assert time.perf_counter() - started < 5
