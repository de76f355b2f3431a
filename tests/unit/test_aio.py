"""The sync portal (tinytroupe.aio.run_sync) never leaves its caller waiting for work that cannot finish."""

from __future__ import annotations

import _thread
import asyncio
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tinytroupe.aio import run_sync

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "focus_group.yaml"


def test_system_exit_inside_the_work_reaches_the_caller_and_the_portal_survives() -> None:
    async def closed_pipe() -> None:
        raise SystemExit(1)  # what rich does when stdout is a closed pipe

    with pytest.raises(SystemExit):
        run_sync(closed_pipe())

    async def two() -> int:
        return 2

    assert run_sync(two()) == 2


def test_a_timeout_cancels_the_work() -> None:
    seen: list[str] = []

    async def slow() -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise

    with pytest.raises(TimeoutError):
        run_sync(slow(), timeout=0.2)
    assert seen == ["cancelled"]


def test_ctrl_c_in_the_caller_cancels_the_work_before_it_propagates() -> None:
    seen: list[str] = []
    started = threading.Event()

    async def slow() -> None:
        started.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise

    threading.Thread(target=lambda: (started.wait(10), _thread.interrupt_main()), daemon=True).start()
    with pytest.raises(KeyboardInterrupt):
        run_sync(slow())
    assert seen == ["cancelled"]  # unwound before KeyboardInterrupt reached us: retries stop, files close


def test_tinytroupe_run_exits_when_its_output_pipe_closes(tmp_path: Path) -> None:
    # `tinytroupe run ... | head -1`: the reader goes away while the live display is printing.
    cli = "import sys; from tinytroupe.cli import app; sys.argv[0] = 'tinytroupe'; app()"
    proc = subprocess.Popen([sys.executable, "-c", cli, "run", str(EXAMPLE), "--backend", "scripted",
                             "--out", str(tmp_path / "out")], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    assert proc.stdout.readline()  # it started and printed
    proc.stdout.close()
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail("tinytroupe run hung after its output pipe closed")
    assert proc.returncode != 0 or (tmp_path / "out" / "results.json").exists()


def test_system_exit_in_a_gathered_child_reaches_the_caller_and_spares_other_work() -> None:
    other_started = threading.Event()
    other_result: list[int] = []

    async def other() -> int:
        other_started.set()
        await asyncio.sleep(1.0)
        return 7

    def run_other() -> None:
        other_result.append(run_sync(other()))

    thread = threading.Thread(target=run_other)
    thread.start()
    other_started.wait(10)

    async def child() -> None:
        raise SystemExit(1)  # the display printing inside a parallel turn, stdout closed

    async def parent() -> None:
        await asyncio.gather(child(), asyncio.sleep(0.1))

    with pytest.raises(SystemExit):
        run_sync(parent())
    thread.join(10)
    assert other_result == [7]  # the portal kept serving the other caller's work
