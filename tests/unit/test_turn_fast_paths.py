"""Shortcuts on the per-agent-turn path: caches that follow changes, and a ledger row read on its own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from tinytroupe.agent import MemoryItem, TinyPerson
from tinytroupe.llm import LLMClient, ScriptedBackend
from tinytroupe.llm.usage import UsageLedger


def offline_agent(name: str = "Ana") -> TinyPerson:
    return TinyPerson(name, client=LLMClient(ScriptedBackend([])))


def test_system_message_is_reused_and_follows_persona_and_action_changes() -> None:
    ana = offline_agent()
    first, second = ana.build_prompt()[0], ana.build_prompt()[0]
    assert first is second  # rendered once, shared between turns

    ana.define("occupation.title", "Glassblower")
    changed = ana.build_prompt()[0]
    assert "Glassblower" in changed.content and "Glassblower" not in first.content

    ana.actions_registry.register("CONSULT", "look something up; content is the question")
    assert "CONSULT" in ana.build_prompt()[0].content


def test_time_prefix_cache_keeps_each_zone_reading() -> None:
    # Equal instants in different zones are equal datetimes: a cache keyed on them alone would mix them up.
    utc = MemoryItem(id=1, kind="stimulus", type="VISUAL", content="rain", sim_time=datetime(2025, 1, 6, 9, tzinfo=UTC))
    plus_one = MemoryItem(id=2, kind="stimulus", type="VISUAL", content="rain",
                          sim_time=datetime(2025, 1, 6, 10, tzinfo=timezone(timedelta(hours=1))))
    naive = MemoryItem(id=3, kind="stimulus", type="VISUAL", content="rain", sim_time=datetime(2025, 1, 6, 9))
    assert utc.describe("Ana") == "[2025-01-06 09:00] you saw: rain"
    assert plus_one.describe("Ana") == "[2025-01-06 10:00] you saw: rain"
    assert naive.describe("Ana") == naive.describe("Ana") == "[2025-01-06 09:00] you saw: rain"


def test_ledger_counts_is_one_row_of_stats_and_adds_no_rows() -> None:
    ledger = UsageLedger()
    ledger.record(model="m", agent="Ana", world="Cafe", purpose="action", prompt_tokens=10,
                  completion_tokens=5, latency_s=0.1, cached=False, error=False)
    assert ledger.counts("world", "Cafe") == ledger.stats()["by_world"]["Cafe"]
    assert ledger.counts("agent", "Ben") == {}
    assert "Ben" not in ledger.stats()["by_agent"]
    with pytest.raises(ValueError, match="planet"):
        ledger.counts("planet", "Earth")
