"""Specialised worlds: what their own mechanics cost, with no LLM call (each section one world kind).

- ``market_transactions_per_s`` (goal >= 5,000): accepted market transactions per second through the
  :class:`~tinytroupe.environment.Market` engine of a ``TinyMarketplace``, each written to a ledger
  in a real run file (SQLite, WAL) through the run's background writer, as under a simulation; the
  final flush of the writer is timed too. The load: 200 traders and 10 products, a seeded random
  mix of OFFER (40%), BUY (40%, half of them with a ``max_price`` that may leave a buy order) and
  SELL (20%) at prices around the reference price; every action counts, refused ones as well, but
  only accepted ones are transactions. After every 200 actions a step closes (the price rule and the
  metrics rows). Also reported: ``market_trades_per_s`` (fills), ``market_refused_pct``,
  ``market_engine_transactions_per_s`` (no ledger), and ``market_tool_transactions_per_s``: the same
  load through the market tool as a marketplace carries out an agent's actions (JSON arguments
  validated by pydantic, the result model, the observation the agent perceives).
  ``market_transactions_per_cpu_s`` divides by the CPU time the process spent instead (the writer
  thread included): the figure a loaded machine cannot depress by keeping the process waiting.

Usage::

    python benchmarks/worlds.py [--quick]

``--quick``: 20,000 actions per measurement (about 20 s); otherwise 200,000. Each engine figure is the
best of 3 rounds (on a shared machine the slower rounds measure the neighbours). The last line is one
JSON object merging every section's figures.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if importlib.util.find_spec("tinytroupe") is None:
    sys.path.insert(0, str(ROOT))

from tinytroupe.environment.market import Market  # noqa: E402
from tinytroupe.errors import InvalidArgument  # noqa: E402

MARKET_AGENTS = 200
MARKET_PRODUCTS = 10
STEP_EVERY = 200


def _market(recorder: Callable[..., None] | None = None) -> Market:
    market = Market([{"name": f"p{i}", "price": 10 + i} for i in range(MARKET_PRODUCTS)], recorder=recorder)
    for a in range(MARKET_AGENTS):
        market.deposit(f"a{a}", 100_000)
        for i in range(MARKET_PRODUCTS):
            market.add_stock(f"a{a}", f"p{i}", 1_000)
    return market


def _load(n: int, seed: int = 7) -> list[tuple[str, str, str, int, int | None]]:
    """``n`` actions: (kind, agent, product, quantity, price in cents or None)."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        i = rng.randrange(MARKET_PRODUCTS)
        ref = (10 + i) * 100
        kind = rng.choices(("offer", "buy", "sell"), (4, 4, 2))[0]
        price: int | None = ref + rng.randint(-ref // 10, ref // 10)
        if kind == "buy" and rng.random() < 0.5:
            price = None  # a market order
        out.append((kind, f"a{rng.randrange(MARKET_AGENTS)}", f"p{i}", rng.randint(1, 5), price))
    return out


def _engine_run(market: Market, load: list[tuple[str, str, str, int, int | None]]) -> tuple[int, int]:
    accepted = 0
    for k, (kind, agent, product, quantity, price) in enumerate(load):
        if k % STEP_EVERY == 0:
            market.close_step()
            market.begin_step(k // STEP_EVERY + 1)
        money = None if price is None else f"{price // 100}.{price % 100:02d}"
        try:
            if kind == "offer":
                market.offer(agent, product, quantity, money)
            elif kind == "buy":
                market.buy(agent, product, quantity, max_price=money)
            else:
                market.sell(agent, product, quantity, min_price=money)
            accepted += 1
        except InvalidArgument:
            pass
    return accepted, len(load)


def _tool_run(load: list[tuple[str, str, str, int, int | None]]) -> int:
    from tinytroupe.agent import TinyPerson
    from tinytroupe.agent.actions import Action
    from tinytroupe.environment.market_tool import MarketAccess, MarketTool

    market = _market()
    access = MarketAccess(MarketTool(market=market))
    people = {f"a{a}": TinyPerson(f"a{a}") for a in range(MARKET_AGENTS)}
    accepted = 0
    for k, (kind, agent, product, quantity, price) in enumerate(load):
        if k % STEP_EVERY == 0:
            market.close_step()
            market.begin_step(k // STEP_EVERY + 1)
        args: dict[str, Any] = {"product": product, "quantity": quantity}
        if price is not None:
            key = {"offer": "price", "buy": "max_price", "sell": "min_price"}[kind]
            args[key] = f"{price // 100}.{price % 100:02d}"
        action = Action(type=kind.upper(), content=json.dumps(args))
        outcome = access.carry_out(people[agent], [action], "Market", k // STEP_EVERY + 1)[0]
        accepted += outcome.error is None
    return accepted


def market_section(quick: bool) -> dict[str, Any]:
    """The marketplace's own throughput (no LLM calls): see the module docstring."""
    n = 20_000 if quick else 200_000
    load = _load(n)
    # best of 3 rounds: on a shared machine the slowest rounds measure the neighbours
    best: tuple[float, int, int, int, int] | None = None
    for _ in range(3):
        outcome = _ledger_round(load)
        if best is None or outcome[0] < best[0]:
            best = outcome
    assert best is not None
    wall, accepted, total, fills, rows = best
    wall_plain = min(_timed(lambda: _engine_run(_market(), load)) for _ in range(3))
    accepted_plain = accepted
    tool_n = max(2_000, n // 10)
    started = time.perf_counter()
    accepted_tool = _tool_run(load[:tool_n])
    wall_tool = time.perf_counter() - started
    figures = {
        "market_transactions_per_s": round(accepted / wall),
        "market_trades_per_s": round(fills / wall),
        "market_transactions_per_cpu_s": round(accepted / min(_CPU)),
        "market_refused_pct": round(100 * (total - accepted) / total, 1),
        "market_ledger_rows": rows,
        "market_engine_transactions_per_s": round(accepted_plain / wall_plain),
        "market_tool_transactions_per_s": round(accepted_tool / wall_tool),
        "market_actions": total,
    }
    print(f"market ({MARKET_AGENTS} traders, {MARKET_PRODUCTS} products, {total:,} actions): "
          f"{figures['market_transactions_per_s']:,} transactions/s with the run-file ledger (goal >= 5,000), "
          f"{figures['market_trades_per_s']:,} fills/s, {figures['market_refused_pct']}% refused; engine alone "
          f"{figures['market_engine_transactions_per_s']:,}/s; through the market tool "
          f"{figures['market_tool_transactions_per_s']:,}/s")
    return figures


def _timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


_CPU: list[float] = []  # CPU seconds of each ledger round (this process's threads: the writer's too)


def _ledger_round(load: list[tuple[str, str, str, int, int | None]]) -> tuple[float, int, int, int, int]:
    """One run of ``load`` with the ledger in a fresh run file: wall seconds, accepted, actions, fills, rows."""
    from tinytroupe.storage.market_ledger import MarketLedger
    from tinytroupe.storage.writer import BatchWriter

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "run.sqlite"
        writer = BatchWriter(path)
        ledger = MarketLedger(path, "bench", writer=writer)
        fills = [0]

        def record(step: int, seq: int, trades: list[Any]) -> None:
            fills[0] += len(trades)
            ledger.record("Market", step, seq, [_row(t) for t in trades])

        market = _market(record)
        started, cpu = time.perf_counter(), time.process_time()
        accepted, total = _engine_run(market, load)
        writer.flush()
        wall = time.perf_counter() - started
        _CPU.append(time.process_time() - cpu)
        rows = ledger.count()
        ledger.close()
        writer.close()
    return wall, accepted, total, fills[0], rows


def _row(trade: Any) -> Any:
    from tinytroupe.storage.market_ledger import LedgerRow

    return LedgerRow(world="Market", **dict(trade))


#: every section of this benchmark, each ``f(quick) -> figures``; their figures are merged
SECTIONS: list[Callable[[bool], dict[str, Any]]] = [market_section]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="smaller loads (under a minute)")
    args = parser.parse_args()
    results: dict[str, Any] = {}
    for section in SECTIONS:
        results.update(section(args.quick))
    print(json.dumps(results))


if __name__ == "__main__":
    main()
