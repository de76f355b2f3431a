#!/usr/bin/env python3
"""Take the screenshots of ``docs/dashboard.md``: a scripted focus group (the demo model, offline) under a
live dashboard in headless chromium, paused after a few steps, one PNG per page in ``docs/images/``.
The demo model cannot extract knowledge graphs, so the Knowledge page shows graphs given from the
personas (who works where, lives where, was asked what) instead of extracted ones.

Usage: ``python scripts/dashboard_screenshots.py [--out docs/images] [--chromium /usr/bin/chromium]``
(needs the dashboard extra, playwright and Debian's chromium; see README).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tinytroupe.agent import TinyPerson  # noqa: E402
from tinytroupe.agent.knowledge import BeliefExtraction  # noqa: E402
from tinytroupe.dashboard.insights import InsightCard  # noqa: E402
from tinytroupe.dashboard.server import open_dashboard  # noqa: E402
from tinytroupe.environment import TinyWorld  # noqa: E402
from tinytroupe.examples import (  # noqa: E402
    create_lisa_the_data_scientist,
    create_marcos_the_physician,
    create_oscar_the_architect,
)
from tinytroupe.grounding.graph import InMemoryGraphStore, SharedGraph  # noqa: E402
from tinytroupe.llm import LLMClient  # noqa: E402
from tinytroupe.llm.demo import demo_backend  # noqa: E402
from tinytroupe.llm.prices import PriceTable  # noqa: E402


def example_insights(events: Any) -> list[InsightCard]:
    """A stand-in provider for the picture: who spoke most, citing what they said."""
    talks = [e for e in events if e.get("kind") == "action" and e.get("action_type") == "TALK"]
    if not talks:
        return []
    counts: dict[str, int] = {}
    for e in talks:
        counts[e["agent"]] = counts.get(e["agent"], 0) + 1
    top = max(counts, key=lambda name: counts[name])
    return [InsightCard(title=f"{top} leads the conversation", category="pattern", valid=True,
                        text=f"{top} spoke {counts[top]} of {len(talks)} times.",
                        evidence=[e["_i"] for e in talks if e["agent"] == top])]


def given_knowledge(people: list[TinyPerson], world: str, topic: str) -> None:
    """Beliefs from each persona (organisation, city, the question) and a world graph of all of them; no
    extraction call is made (``max_calls=0``)."""
    shared = SharedGraph(InMemoryGraphStore(f"world:{world}"))
    for person in people:
        persona = person.to_state()["persona"]["persona"]
        org, city = persona["occupation"]["organization"], persona["residence"].split(",")[0]
        beliefs = InMemoryGraphStore(f"agent:{person.name}")
        for graph in (beliefs, shared.store):
            graph.add_entity(person.name, type="person")
            graph.add_entity(org, type="organisation")
            graph.add_entity(city, type="place")
            graph.add_relation(person.name, "works at", org)
            graph.add_relation(person.name, "lives in", city)
            graph.add_relation(person.name, "was asked about", topic)
        beliefs.add_relation(topic, "delivers", "fresh groceries")
        person.add_component(BeliefExtraction(beliefs, world_graph=shared, max_calls=0))


def wait(page: Any, expression: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise TimeoutError(expression)
        time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    people = [create_lisa_the_data_scientist(), create_oscar_the_architect(), create_marcos_the_physician()]
    world = TinyWorld("Focus group", people, client=LLMClient(demo_backend(seed=4, latency_s=0.02)),
                      communication_display=False, parallelize=False)
    world.make_everyone_accessible()
    given_knowledge(people, world.name, "the grocery subscription")
    world.broadcast("We are testing a subscription for fresh groceries delivered every week. Would you use it?")
    prices = PriceTable(as_of="example", models={"demo": {"input": 0.15, "output": 0.6}})
    link = open_dashboard(world, insights=example_insights, prices=prices)
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=args.chromium, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            page.goto(link.url)
            wait(page, "window.TT && TT.metrics.connectedAt !== null")
            link.run(20)
            wait(page, "TT.events.filter(e => e.kind === 'step' && e.phase === 'end').length >= 3")
            page.click("#btn-pause")
            wait(page, "TT.status.state === 'paused'")
            time.sleep(0.5)
            pages = [("timeline", None), ("network", None), ("agents", "#agent-list li"),
                     ("knowledge", "#kg-agent-fig svg"), ("charts", None),
                     ("insights", ".card")]
            for tab, ready in pages:
                page.click(f"nav button[data-tab={tab}]")
                if ready:
                    page.wait_for_selector(ready)
                time.sleep(1.5)  # the network settles, the charts draw
                page.screenshot(path=str(args.out / f"dashboard_{tab}.png"))
                print(args.out / f"dashboard_{tab}.png")
            link.controller.command("stop")  # type: ignore[union-attr]
            browser.close()
    finally:
        link.close()


if __name__ == "__main__":
    main()
