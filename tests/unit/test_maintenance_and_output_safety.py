"""Post-turn memory upkeep that fails, secrets in errors, and terminal escapes (issue 9, defects 10-12)."""

from __future__ import annotations

import io
import logging
from typing import Any

import pytest
from helpers import START, turn
from rich.console import Console

from tinytroupe.agent import TinyPerson
from tinytroupe.config import Settings, using_settings
from tinytroupe.environment import TinyWorld
from tinytroupe.environment.engine import AgentTurnError
from tinytroupe.errors import LLMTransportError
from tinytroupe.events import ActionEvent, AgentErrorEvent, Event, EventBus, StimulusEvent
from tinytroupe.llm import LLMClient, LLMRequest, ScriptedBackend
from tinytroupe.redaction import redact, redacted_traceback
from tinytroupe.terminal import printable, show
from tinytroupe.visualization.console import ConsoleDisplay

# ------------------------------------------------------------------ defect 12: failing maintenance


def test_failing_consolidation_does_not_fail_the_turn_and_backs_off() -> None:
    calls = {"ActionTurn": 0, "ConsolidatedFacts": 0}

    def answer(request: LLMRequest) -> Any:
        calls[request.schema_name or ""] += 1
        if request.schema_name == "ActionTurn":
            return turn(("TALK", "the garden again", "Ben"))
        return "I cannot summarise that"  # never JSON: every consolidation attempt fails
    settings = Settings(memory={"auto_consolidation_threshold": 2, "embedder": "hash"})
    with using_settings(settings):
        ana = TinyPerson("Ana", client=LLMClient(ScriptedBackend(answer), max_reasks=2))
    world = TinyWorld("Garden", [ana], initial_datetime=START)
    warnings: list[Event] = []
    ana.bus.subscribe(warnings.append, kinds=["warning"])
    for n in range(6):
        ana.listen(f"look at flower {n}", source="Ben")
        world.run(1)
    assert world.errors == []  # the turns succeeded: their actions happened
    assert ana.turns == 6
    # Three answers per attempt (1 + 2 re-asks); attempts at turns 1 and 3, then backing off to turn 7.
    assert calls["ConsolidatedFacts"] == 6, calls
    failed = [w for w in warnings if getattr(w, "code", "") == "memory_maintenance_failed"]
    assert [w.data["retry_in_turns"] for w in failed] == [2, 4]  # type: ignore[attr-defined]
    assert ana.memories.unconsolidated() > 0  # nothing was marked consolidated that was not


def test_maintenance_recovers_after_the_backoff() -> None:
    state = {"fail": True}

    def answer(request: LLMRequest) -> Any:
        if request.schema_name == "ActionTurn":
            return turn(("THINK", "hm"))
        if state["fail"]:
            raise LLMTransportError("server down", retryable=False)
        return {"facts": [{"content": "Ana likes flowers", "importance": 6}]}
    settings = Settings(memory={"auto_consolidation_threshold": 2, "embedder": "hash"})
    with using_settings(settings):
        ana = TinyPerson("Ana", client=LLMClient(ScriptedBackend(answer)))
    ana.listen("flower", source="Ben")
    ana.act()
    assert ana.memories._backoff
    state["fail"] = False
    for _ in range(3):
        ana.listen("another flower", source="Ben")
        ana.act()
    assert not ana.memories._backoff and ana.get_memory_stats()["consolidations"] >= 1


# ------------------------------------------------------------------ defect 10: secrets


def test_redact_masks_env_secrets_and_key_shapes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "0123456789abcdef0123456789abcdef")
    text = "key 0123456789abcdef0123456789abcdef and sk-proj-AbCdEf123456 and api_key=zzzzzzzzzzzz"
    out = redact(text)
    assert "0123456789abcdef" not in out and "AbCdEf123456" not in out and "zzzzzzzzzzzz" not in out


async def test_failed_turn_record_and_debug_log_never_hold_the_key(caplog: pytest.LogCaptureFixture,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    key = "sk-live-SECRETSECRET0123456789"
    monkeypatch.setenv("OPENAI_API_KEY", key)
    try:
        raise RuntimeError(f"provider said: Incorrect API key provided: {key}")
    except RuntimeError as inner:
        cause = inner
    outer = LLMTransportError(f"failed ({key})", retryable=False)
    outer.__cause__ = cause
    ana = TinyPerson("Ana", client=LLMClient(ScriptedBackend([outer])))
    world = TinyWorld("Room", [ana], initial_datetime=START)
    events: list[Event] = []
    world.bus.subscribe(events.append, kinds=["agent_error"])
    with caplog.at_level(logging.DEBUG, logger="tinytroupe"):
        await world.arun(1)
    assert world.errors and key not in world.errors[0].message
    assert all(key not in r.getMessage() for r in caplog.records)
    assert any("traceback of the failed turn" in r.getMessage() for r in caplog.records)
    assert all(key not in e.message for e in events if isinstance(e, AgentErrorEvent))
    assert key not in redacted_traceback(outer)


def test_turn_error_records_redact_whatever_made_them() -> None:
    err = AgentTurnError("Ana", 1, "X", "Bearer abcdefghijklmnop failed")
    assert "abcdefghijklmnop" not in err.message


# ------------------------------------------------------------------ defect 11: terminal escapes

HOSTILE = "Ana\x1b[2J\x1b]0;pwned\x07\x9b31m [bold]x[/]"


def test_printable_and_show_neutralise_control_sequences() -> None:
    assert "\x1b" not in printable(HOSTILE) and "\x07" not in printable(HOSTILE) and "\x9b" not in printable(HOSTILE)
    assert "\\x1b[2J" in printable(HOSTILE)
    assert printable("line one\n\tline two") == "line one\n\tline two"
    assert "\\[bold]" in show(HOSTILE)


def test_live_view_never_emits_escapes_from_names_or_content() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, width=200, color_system=None, force_terminal=False)
    bus = EventBus()
    ConsoleDisplay(console).attach(bus)
    bus.publish(ActionEvent(agent=HOSTILE, action_type="TALK", content=HOSTILE, target=HOSTILE))
    bus.publish(StimulusEvent(agent="Ben", stimulus_type="CONVERSATION", content=HOSTILE, source=None))
    bus.publish(AgentErrorEvent(agent=HOSTILE, step=1, error_type="X", message=HOSTILE))
    out = buffer.getvalue()
    assert "\x1b" not in out and "\x07" not in out and "\x9b" not in out
    assert "\\x1b[2J" in out and "[bold]x[/]" in out  # shown literally, not obeyed


def test_pp_current_interactions_escapes_model_output() -> None:
    ana = TinyPerson("Ana", client=LLMClient(ScriptedBackend([turn(("TALK", "hi\x1b[2J", "Ben"))])))
    ana.listen("hello\x1b]0;title\x07", source="Ben")
    ana.act()
    buffer = io.StringIO()
    ana.pp_current_interactions(console=Console(file=buffer, width=200, color_system=None))
    assert "\x1b" not in buffer.getvalue() and "\\x1b[2J" in buffer.getvalue()
