"""Bus subscribers: the live console display and the JSON-lines trace."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from helpers import DONE_TURN, make_world, turn
from rich.console import Console

from tinytroupe.events import ActionEvent, AgentErrorEvent, Event, EventBus, StepEvent, StimulusEvent
from tinytroupe.llm import LLMRequest
from tinytroupe.storage.jsonl_trace import JsonlTraceWriter
from tinytroupe.visualization.console import ConsoleDisplay


def recording_console() -> Console:
    return Console(record=True, width=120, color_system=None, force_terminal=False)


def conversation(name: str, request: LLMRequest) -> dict[str, Any]:
    if name == "Ana":
        return turn(("TALK", "I like the bottle", "Ben"), ("THINK", "but the price..."))
    if name == "Ben":
        return "not json"  # type: ignore[return-value]
    return DONE_TURN


def test_console_display_shows_a_run() -> None:
    world, _ = make_world(["Ana", "Ben"], conversation)
    console = recording_console()
    display = ConsoleDisplay(console).attach(world.bus)
    world.broadcast("Welcome to the focus group", source="Moderator")
    world.run(1)
    text = console.export_text()
    lines = text.splitlines()
    assert lines.count("Moderator (to everyone): Welcome to the focus group") == 1  # a broadcast is shown once
    assert "Ana → Ben: I like the bottle" in lines
    assert "Ana thinks: but the price..." in lines
    assert any("Room · step 1 · 2025-01-06T09:00:00" in line for line in lines)
    assert any(line.startswith("! Ben step 1: LLMOutputError:") for line in lines)
    assert "DONE" not in text
    assert text.index("Moderator (to everyone)") < text.index("step 1") < text.index("Ana → Ben")

    display.detach()
    world.run(1)
    assert console.export_text() == ""  # export_text clears the record; nothing new after detaching


def test_console_display_options_and_markup_safety() -> None:
    bus = EventBus()
    console = recording_console()
    ConsoleDisplay(console, show_thoughts=False, max_content_length=10).attach(bus)
    bus.publish(ActionEvent(agent="Ana", action_type="THINK", content="hidden"))
    bus.publish(ActionEvent(agent="Ana", action_type="TALK", content="[bold]not markup[/bold] and more"))
    bus.publish(ActionEvent(agent="Ana", action_type="WRITE_DOCUMENT", content="minutes", target="Ben"))
    bus.publish(StimulusEvent(agent="Ben", stimulus_type="CONVERSATION", content="from Ana", source="Ana"))
    bus.publish(AgentErrorEvent(agent="Ana", step=3, error_type="TimeoutError", message="no answer", timed_out=True))
    lines = console.export_text().splitlines()
    assert "hidden" not in "\n".join(lines)
    assert lines[0] == "Ana: [bold]not…"  # cut to 10 characters, brackets shown literally
    assert lines[1] == "Ana WRITE_DOCUMENT Ben minutes"
    assert lines[2] == "! Ana step 3: TimeoutError: no answer"  # direct speech is shown as an action, not twice
    assert len(lines) == 3


def test_jsonl_trace_writes_one_line_per_event(tmp_path: Path) -> None:
    world, _ = make_world(["Ana", "Ben"], conversation)
    published: list[Event] = []
    world.bus.subscribe(published.append)
    path = tmp_path / "trace.jsonl"
    writer = JsonlTraceWriter(path).attach(world.bus)
    world.broadcast("Hello", source="Moderator")
    world.run(2)
    writer.close()
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == writer.count == len(published) > 10
    records = [json.loads(line) for line in lines]
    assert [r["seq"] for r in records] == [e.seq for e in published]
    kinds = {r["kind"] for r in records}
    assert {"stimulus", "action", "step", "llm_call", "agent_error"} <= kinds
    talk = next(r for r in records if r["kind"] == "action" and r["action_type"] == "TALK")
    assert (talk["agent"], talk["target"], talk["content"], talk["world"], talk["step"]) == (
        "Ana", "Ben", "I like the bottle", "Room", 1)
    # closing unsubscribes: later events are not written
    world.run(1)
    assert len(path.read_text(encoding="utf-8").splitlines()) == len(lines)


def test_jsonl_trace_to_an_open_stream() -> None:
    bus, buf = EventBus(), io.StringIO()
    writer = JsonlTraceWriter(buf).attach(bus)
    bus.publish(StepEvent(phase="start", world="W", step=1))
    bus.publish(StimulusEvent(agent="Ana", stimulus_type="VISUAL", content="a dog"))
    writer.close()
    assert not buf.closed  # a stream given by the caller stays open
    rows = [json.loads(line) for line in buf.getvalue().splitlines()]
    assert [(r["kind"], r.get("content")) for r in rows] == [("step", None), ("stimulus", "a dog")]
