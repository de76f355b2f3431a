"""Following a run on disk: a run file's trace as it grows (and its end), an event log written a line at a
time, damaged rows skipped and counted; and the ``tinytroupe dashboard`` and ``run --dashboard`` commands."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

import tinytroupe
from tinytroupe.cli import app
from tinytroupe.dashboard.follow import RunFollower
from tinytroupe.dashboard.hub import EventHub
from tinytroupe.errors import ConfigError
from tinytroupe.events import EventBus, WarningEvent
from tinytroupe.storage.trace_store import TraceStore


def test_a_growing_run_file_is_followed_to_its_end(tmp_path: Path) -> None:
    path = tmp_path / "run.sqlite"
    store = TraceStore(path)
    store.start_run("demo")
    bus = EventBus()
    bus.subscribe(store)
    bus.publish(WarningEvent(code="first", message="m"))
    store.flush()
    hub = EventHub()
    follower = RunFollower(path, hub).start()
    try:
        assert [e["code"] for e in hub.events()] == ["first"] and hub.status["state"] == "running"
        for n in range(3):
            bus.publish(WarningEvent(code=f"later{n}", message="m"))
        store.end_run()
        deadline = time.monotonic() + 5
        while hub.total < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        assert [e["code"] for e in hub.events()] == ["first", "later0", "later1", "later2"]
        assert [e["_i"] for e in hub.events()] == [0, 1, 2, 3]  # the trace's positions
        assert hub.status["state"] == "ended" and hub.status["controls"] is False
    finally:
        follower.close()
        store.close()


def test_damaged_rows_are_skipped_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "run.sqlite"
    store = TraceStore(path)
    run_id = store.start_run("demo")
    bus = EventBus()
    bus.subscribe(store)
    bus.publish(WarningEvent(code="ok", message="m"))
    store.end_run()
    store.close()
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO trace (run_id, pos, kind, data) VALUES (?, 1, 'warning', '{not json')", (run_id,))
    hub = EventHub()
    follower = RunFollower(path, hub)
    assert follower.poll() == 1 and follower.damaged == 1
    follower.close()


def test_an_event_log_is_read_a_whole_line_at_a_time(tmp_path: Path) -> None:
    log = tmp_path / "trace.jsonl"
    log.write_text(json.dumps({"kind": "warning", "code": "a"}) + "\n" + '{"kind": "warn', encoding="utf-8")
    hub = EventHub()
    follower = RunFollower(log, hub)
    assert follower.poll() == 1
    with log.open("a", encoding="utf-8") as fh:
        fh.write('ing", "code": "b"}\n')
    assert follower.poll() == 1
    assert [e["code"] for e in hub.events()] == ["a", "b"] and hub.status["state"] == "following"


def test_what_is_not_a_run_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no run file"):
        RunFollower(tmp_path / "missing.sqlite", EventHub())
    other = tmp_path / "other.sqlite"
    sqlite3.connect(other).execute("CREATE TABLE x (a)").connection.close()
    with pytest.raises(ConfigError, match="holds no trace"):
        RunFollower(other, EventHub())


def test_the_dashboard_command_serves_a_run_file_until_closed(tmp_path: Path) -> None:
    path = tmp_path / "run.sqlite"
    store = TraceStore(path)
    store.start_run("demo")
    store(WarningEvent(code="x", message="m"))
    store.end_run()
    store.close()
    # The package this test imports, whatever the working folder (each test runs in an empty one).
    env = {**os.environ, "PYTHONPATH": str(Path(tinytroupe.__file__).resolve().parents[1])}
    proc = subprocess.Popen([sys.executable, "-c", "from tinytroupe.cli import app; app()", "dashboard", str(path),
                             "--for", "20"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+/\?token=\S+", line)
        assert url, line
        events = httpx.get(url.group(0).replace("/?", "/api/events?"), timeout=10).json()
        assert [e["code"] for e in events] == ["x"]
        assert httpx.get(url.group(0).split("?")[0], timeout=10).status_code == 403
    finally:
        proc.terminate()
        proc.wait(10)
    missing = CliRunner().invoke(app, ["dashboard", str(tmp_path / "nope.sqlite")])
    assert missing.exit_code == 1 and "no run file" in missing.output


def test_run_with_dashboard_prints_the_url_and_runs_to_the_end(tmp_path: Path) -> None:
    scenario = tmp_path / "tea.yaml"
    scenario.write_text("name: Tea\nagents: [{example: lisa}, {example: oscar}]\nscript:\n"
                        "  - broadcast: Tea or coffee?\n  - run: 2\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["run", str(scenario), "--backend", "scripted", "--dashboard", "-q",
                                      "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert re.search(r"Dashboard: http://127\.0\.0\.1:\d+/\?token=", result.output)
    assert (tmp_path / "out" / "results.json").is_file()
