"""What a scenario run's model calls cost in dollars, from its client's usage and a price table; where its
budget stopped it.

Example:
    >>> from tinytroupe.llm import LLMClient, ScriptedBackend
    >>> client = LLMClient(ScriptedBackend(["hi"], model="gpt-4o-mini"))
    >>> _ = client.complete([{"role": "user", "content": "hello"}])
    >>> cost, note = run_cost(client, client.get_cost_stats(), None)
    >>> cost is not None and note.startswith("prices of")
    True
"""

from __future__ import annotations

from typing import Any

from tinytroupe.environment.world import TinyWorld
from tinytroupe.errors import BudgetExceeded
from tinytroupe.llm.backend import BackendWrapper
from tinytroupe.llm.budget import BudgetWrapper
from tinytroupe.llm.client import LLMClient
from tinytroupe.llm.prices import DEFAULT_PRICES, ModelPrice, PriceTable, usage_cost
from tinytroupe.scenario.model import Scenario


def run_cost(client: LLMClient, stats: dict[str, Any], prices: PriceTable | None) -> tuple[float | None, str]:
    """What a client's calls cost in dollars (None: a model has no price), and a note saying from what.

    The embedded local model is free: nobody bills it.
    """
    table = prices if prices is not None else DEFAULT_PRICES
    if client.describe().get("backend") == "local":
        table = table.merged(PriceTable(as_of=table.as_of, source=table.source,
                                        models=dict.fromkeys(stats["by_model"], ModelPrice(input=0.0, output=0.0))))
    cost = usage_cost(stats["by_model"], table)
    if cost is None:
        unknown = [m for m, row in stats["by_model"].items() if table.price(m) is None]
        return None, f"unknown: no price for {', '.join(map(repr, unknown))} in {table.source}; give one with --prices"
    return cost, f"prices of {table.source}, as of {table.as_of}"


def budget_stop(world: TinyWorld, scenario: Scenario, results: dict[str, dict[str, Any]],
                stopped: BudgetExceeded | None) -> tuple[BudgetExceeded | None, dict[str, dict[str, Any]]]:
    """Why the budget stopped the run (None: it did not), and the rows. Refused during the extraction, those
    agents' rows say so already; stopped before it, every agent gets a failed row saying that no answer was
    asked for (none is made up, none is left out)."""
    budget = world.client.backend.find(BudgetWrapper) if isinstance(world.client.backend, BackendWrapper) else None
    if stopped is None and isinstance(budget, BudgetWrapper):
        stopped = budget.exceeded
    if stopped is not None and scenario.extraction is not None and not results:
        results = {a.name: {"status": "failed", "error": f"BudgetExceeded: {stopped} (before the extraction: "
                            "no answer was asked for)"} for a in world.agents}
    return stopped, results


__all__ = ["budget_stop", "run_cost"]
