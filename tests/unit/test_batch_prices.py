"""Calls answered through a provider's batch API are priced at the table's batch discount: in the run's
cost, the budget, the trace's call events and the report, not at the list price (twice the bill)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from batch_support import KEY, fast, talk, world_of

from tinytroupe.config import Settings
from tinytroupe.devtools.mock_openai_server import MockOpenAIServer
from tinytroupe.errors import ConfigError
from tinytroupe.events import Event, LLMCallEvent
from tinytroupe.llm import LLMClient
from tinytroupe.llm.budget import Budget, BudgetWrapper
from tinytroupe.llm.factory import build_client
from tinytroupe.llm.prefix import PrefixMeter
from tinytroupe.llm.prices import DEFAULT_PRICES, ModelPrice, PriceTable, load_price_table, usage_cost
from tinytroupe.llm.usage import UsageLedger
from tinytroupe.scenario.run_cost import run_cost

PRICES = PriceTable(as_of="2025-01-01", models={"m": ModelPrice(input=1.0, output=2.0)})


@pytest.fixture
def client_for() -> Iterator[Any]:
    made: list[LLMClient] = []

    def make(server: MockOpenAIServer) -> LLMClient:
        settings = Settings.model_validate({"openai": {"api_type": "openai", "model": "m", "base_url": server.base_url,
                                                       "api_key": KEY, "max_attempts": 1}})
        client = build_client(settings, budget=Budget(max_cost_usd=100.0), prices=PRICES)
        fast(client)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def test_a_batch_step_costs_the_discounted_price_and_a_live_step_the_list_price(client_for: Any) -> None:
    with MockOpenAIServer(reply_fn=talk, batch_latency_s=0.1) as server:
        client = client_for(server)
        calls: list[LLMCallEvent] = []
        client.bus.subscribe(lambda e: calls.append(e) if isinstance(e, LLMCallEvent) else None)
        world = world_of(client, 4)
        world.run(1, batch=True)
        world.run(1)  # the same agents, live
        assert world.errors == [] and len(server.chat_requests()) == 4
    assert [c.batched for c in calls] == [True] * 4 + [False] * 4
    cost = {flag: PRICES.cost("m", sum(c.prompt_tokens for c in calls if c.batched is flag),
                              sum(c.completion_tokens for c in calls if c.batched is flag)) or 0.0
            for flag in (True, False)}
    assert cost[True] > 0 and cost[False] > 0
    expected = cost[True] * 0.5 + cost[False]
    row = client.get_cost_stats()["by_model"]["m"]
    assert row["batch_prompt_tokens"] == sum(c.prompt_tokens for c in calls if c.batched)
    assert row["batch_completion_tokens"] == sum(c.completion_tokens for c in calls if c.batched)
    total, _ = run_cost(client, client.get_cost_stats(), PRICES)
    assert total == pytest.approx(expected, rel=1e-6)
    budget = client.backend.find(BudgetWrapper)
    assert isinstance(budget, BudgetWrapper)
    assert budget.spent()["cost_usd"] == pytest.approx(expected, rel=1e-6)


def test_the_ledger_and_usage_cost_split_batched_tokens() -> None:
    ledger = UsageLedger()
    ledger.record(model="m", agent="Ana", world=None, purpose="action", prompt_tokens=1_000_000,
                  completion_tokens=0, latency_s=0.1, cached=False, error=False, batched=True)
    ledger.record(model="m", agent="Ana", world=None, purpose="action", prompt_tokens=1_000_000,
                  completion_tokens=500_000, latency_s=0.1, cached=False, error=False)
    stats = ledger.stats()
    assert stats["by_model"]["m"]["batch_prompt_tokens"] == 1_000_000
    assert usage_cost(stats["by_model"], PRICES) == pytest.approx(0.5 + 1.0 + 1.0)
    # a ledger without batched calls keeps its rows' old shape
    plain = UsageLedger()
    plain.record(model="m", agent=None, world=None, purpose="action", prompt_tokens=1, completion_tokens=1,
                 latency_s=0.0, cached=False, error=False)
    assert "batch_prompt_tokens" not in plain.stats()["total"]


def test_a_price_file_may_set_the_batch_discount(tmp_path: Path) -> None:
    assert DEFAULT_PRICES.batch_discount == 0.5
    f = tmp_path / "prices.toml"
    f.write_text('as_of = "2025-07-01"\nbatch_discount = 0.6\n[models.m]\ninput = 1.0\noutput = 2\n')
    table = load_price_table(f)
    assert table.batch_discount == 0.6 and table.cost("m", 1_000_000, 0, batched=True) == pytest.approx(0.6)
    f.write_text('as_of = "2025-07-01"\n[models.m]\ninput = 1.0\noutput = 2.0\n')
    assert load_price_table(f).batch_discount == 0.5  # the built-in table's, when the file says nothing
    f.write_text('as_of = "2025-07-01"\n\nbatch_discount = 2\n[models.m]\ninput = 1.0\noutput = 2.0\n')
    with pytest.raises(ConfigError, match=r"prices.toml:3: batch_discount: Input should be less than or equal to 1"):
        load_price_table(f)


def test_call_events_say_whether_they_were_batched_in_the_trace() -> None:
    event: Event = LLMCallEvent(model="m", prompt_tokens=10, completion_tokens=5, batched=True)
    assert '"batched":true' in event.model_dump_json()
    assert LLMCallEvent(model="m").batched is False


def test_a_batch_study_gets_its_prompt_prefix_report() -> None:
    # The prefix meter sat inside the batch layer, which answers batched calls itself: a batch study's
    # report counted none of its calls.
    with MockOpenAIServer(reply_fn=talk, batch_latency_s=0.1) as server:
        settings = Settings.model_validate({"openai": {"api_type": "openai", "model": "m", "base_url": server.base_url,
                                                       "api_key": KEY, "max_attempts": 1}})
        client = build_client(settings, measure_prefixes=True)
        try:
            fast(client)
            world = world_of(client, 3)
            world.run(1, batch=True)
            world.run(1)
            assert world.errors == []
            meter = client.backend.find(PrefixMeter)
            assert isinstance(meter, PrefixMeter)
            report = meter.report()
            assert sorted(report.agents) == ["Agent0", "Agent1", "Agent2"]
            assert all(stats.calls == 2 for stats in report.agents.values())
        finally:
            client.close()
