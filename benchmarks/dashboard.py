"""What the live dashboard costs the person watching: how late events reach the page, and how fast the
timeline shows a long run.

Sections (each a function ``(quick) -> dict`` of figures; ``main`` runs them in order and prints one
JSON object of all their figures as its last line):

(a) ``sse_lag``: a dashboard on 127.0.0.1 is opened in headless chromium (Debian's ``/usr/bin/chromium``
    driven by Playwright); once the page is connected, conversation events are published on the run's
    bus at a steady pace (one every 5 ms). The page stamps each event as its server-sent message
    arrives (``performance.timeOrigin + performance.now()``, epoch milliseconds on this machine's
    clock) against the time the hub received it during ``bus.publish`` (same clock):
    ``sse_lag_ms_p95`` (goal <= 200), ``sse_lag_ms_p50``, ``sse_lag_ms_max``. ``sse_lag_source`` says
    ``browser``, or ``python-sse-client`` where chromium or Playwright is missing (then an httpx
    client reads the stream instead: no rendering, so a lower bound).
(b) ``timeline``: 10,000 events (speech, actions, LLM calls, steps) are on the bus before the page
    opens; ``timeline_10k_events_render_ms`` is the median over rounds of the time from the page's
    navigation start to the first painted frame whose timeline holds all 10,000 (goal <= 1,000): the
    page, its scripts, the event stream and the virtual list together. ``timeline_10k_filter_ms``: a
    filter by agent over them, to the next painted frame; ``timeline_dom_rows``: the rows in the DOM
    (the list is virtual: what is in sight, not 10,000).
(c) ``insights``: ``insight_evidence_valid_pct``, the share of an ``InsightGenerator``'s insights whose
    cited events exist, were shown to the model and support them (goal 100), on a scripted run (the demo
    model) with a scripted analyst and judge; ``patterns_s`` and ``insights_s`` time the analysis.

Usage::

    python benchmarks/dashboard.py [--quick]

``--quick`` finishes in under a minute (fewer events in the lag run, fewer rounds).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# Run from a checkout; finding chromium and polling the page are the browser tests' (tests/integration).
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.integration.browser_support import find_chromium, wait_for  # noqa: E402
from tinytroupe.dashboard.hub import EventHub  # noqa: E402
from tinytroupe.dashboard.server import DashboardServer  # noqa: E402
from tinytroupe.events import ActionEvent, Event, EventBus, LLMCallEvent, StepEvent, StimulusEvent  # noqa: E402

AGENTS = ["Ana", "Ben", "Carla", "Dev", "Eli", "Fay"]


def _event(n: int) -> Event:
    """The n-th event of a synthetic conversation (the mix of a real run's trace)."""
    agent, other = AGENTS[(n // 6) % len(AGENTS)], AGENTS[(n // 6 + 1) % len(AGENTS)]
    step = n // 60 + 1
    kind = n % 6
    if kind == 0:
        return StepEvent(phase="start" if n % 120 == 0 else "end", step=step, world="Cafe", agents=len(AGENTS))
    if kind in (1, 4):
        return ActionEvent(agent=agent, action_type="TALK", content=f"I think the price {n} is too high for me",
                           target=other, step=step, world="Cafe")
    if kind == 2:
        return StimulusEvent(agent=other, stimulus_type="CONVERSATION", source=agent, step=step, world="Cafe",
                             content=f"I think the price {n} is too high for me")
    return LLMCallEvent(agent=agent, model="gpt-4o-mini", purpose="action", prompt_tokens=900 + n % 300,
                        completion_tokens=60, latency_s=0.4, step=step, world="Cafe")


def _chromium() -> str | None:
    path, problem = find_chromium()
    return None if problem else path


@contextmanager
def _browser_page(path: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=["--no-sandbox", "--disable-gpu"])
        try:
            yield browser
        finally:
            browser.close()


def _wait(page: Any, expression: str) -> Any:
    return wait_for(page, expression, timeout=30.0, every_s=0.01)


def _percentiles(lags: list[float]) -> dict[str, float]:
    ordered = sorted(lags)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return {"sse_lag_ms_p95": round(p95, 1), "sse_lag_ms_p50": round(statistics.median(ordered), 1),
            "sse_lag_ms_max": round(ordered[-1], 1), "sse_lag_events": len(ordered)}


def _publish_paced(bus: EventBus, count: int, start: int, every_s: float) -> None:
    for n in range(count):
        bus.publish(_event(start + n))
        time.sleep(every_s)


def section_sse_lag(quick: bool) -> dict[str, Any]:
    count = 400 if quick else 3000
    bus = EventBus()
    hub = EventHub().attach(bus)
    chromium = _chromium()
    with DashboardServer(hub, title="benchmark") as server:
        if chromium is None:
            return {**_python_client_lags(server, bus, count), "sse_lag_source": "python-sse-client"}
        with _browser_page(chromium) as browser:
            page = browser.new_page()
            page.goto(server.url)
            _wait(page, "window.TT && TT.metrics.connectedAt !== null")
            _publish_paced(bus, count, 0, 0.005)
            _wait(page, f"TT.events.length >= {count}")
            lags = page.evaluate("Object.values(TT.metrics.lagByIndex)")
    return {**_percentiles(lags), "sse_lag_source": "browser"}


def _python_client_lags(server: DashboardServer, bus: EventBus, count: int) -> dict[str, Any]:
    import httpx

    lags: list[float] = []
    ready = threading.Event()

    def read() -> None:
        with httpx.stream("GET", f"http://127.0.0.1:{server.port}/api/stream",
                          params={"token": server.token}, timeout=60) as answer:
            for line in answer.iter_lines():
                ready.set()
                if line.startswith("data: ["):
                    now = time.time() * 1000.0
                    lags.extend(now - e["_t"] for e in json.loads(line[6:]))
                    if len(lags) >= count:
                        return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    ready.wait(10)
    _publish_paced(bus, count, 0, 0.005)
    reader.join(60)
    return _percentiles(lags)


def section_timeline(quick: bool) -> dict[str, Any]:
    chromium = _chromium()
    if chromium is None:
        return {"timeline_note": "chromium or playwright missing: the timeline figure needs a browser"}
    bus = EventBus()
    hub = EventHub().attach(bus)
    for n in range(10_000):
        bus.publish(_event(n))
    renders, filters, rows = [], [], 0
    with DashboardServer(hub, title="benchmark") as server, _browser_page(chromium) as browser:
        for _ in range(3 if quick else 7):
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(server.url)
            renders.append(_wait(page, "(TT.metrics.rendered.find(r => r[0] >= 10000) || [0, 0, 0])[2]"))
            rows = page.evaluate("document.querySelectorAll('#tl-spacer .ev:not([hidden])').length")
            started = page.evaluate("""() => {
                TT.metrics.rendered.length = 0;
                const select = document.getElementById("f-agent");
                select.value = "Carla";
                const t0 = performance.now();
                select.dispatchEvent(new Event("change"));
                return t0;
            }""")
            filters.append(_wait(page, "(TT.metrics.rendered.find(r => r[1] < 10000) || [0, 0, 0])[2]") - started)
            page.close()
    return {"timeline_10k_events_render_ms": round(statistics.median(renders), 1),
            "timeline_10k_events_render_ms_rounds": [round(r, 1) for r in renders],
            "timeline_10k_filter_ms": round(statistics.median(filters), 1), "timeline_dom_rows": rows}


_SAID = re.compile(r'^\[(\d+)\] step \S+ · (\S+)(?: to \S+)?: "(.*)"$')


def _scripted_analyst(request: Any) -> dict[str, Any]:
    """The scripted model of the insights section: as the analyst, one insight per agent quoting the first thing
    it was shown that agent say (citing that event's id); as the judge, true when a cited line has that
    agent saying those words. So the figure tests the pipeline (ids shown, kept, found, judged), not a model."""
    from tinytroupe.analysis.insights import InsightDrafts

    text = request.messages[-1].content
    if request.response_model is InsightDrafts:
        first: dict[str, tuple[int, str]] = {}
        for line in text.splitlines():
            match = _SAID.match(line)
            if match and match.group(2) not in first:
                first[match.group(2)] = (int(match.group(1)), match.group(3))
        return {"insights": [{"kind": "theme", "claim": f'{agent} said "{said}"', "evidence": [event_id]}
                             for agent, (event_id, said) in list(first.items())[:6]]}
    claim = text.split("# Claim\n", 1)[1].split("\n", 1)[0]
    agent, said = claim.split(" said ", 1)
    holds = any(f"· {agent}" in line and said in line for line in text.split("# Context", 1)[1].splitlines())
    return {"justification": "the cited line has these words" if holds else "no cited line says so",
            "value": holds, "confidence": 1.0}


def section_insights(quick: bool) -> dict[str, Any]:
    """``insight_evidence_valid_pct``: a scripted run (the demo model, 4 agents) in a run file, then an
    ``InsightGenerator`` on a scripted analyst and judge (see :func:`_scripted_analyst`): the share of its
    insights whose cited events exist, were shown and support them (goal 100)."""
    import tempfile

    from tinytroupe import TinyPerson, TinyWorld, control
    from tinytroupe.analysis.insight_generator import InsightGenerator
    from tinytroupe.analysis.patterns import detect_patterns
    from tinytroupe.embeddings import HashingEmbedder
    from tinytroupe.llm import LLMClient, ScriptedBackend
    from tinytroupe.llm.demo import demo_backend

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "study.sqlite")
        control.begin(path, seed=3, backend=demo_backend(seed=3), quiet=True)
        world = TinyWorld("Cafe", [TinyPerson(name) for name in AGENTS[:4]], communication_display=False)
        world.make_everyone_accessible()
        world.broadcast("What do you think of the new menu and its prices?")
        world.run(2 if quick else 5)
        control.end()
        started = time.perf_counter()
        patterns = detect_patterns(path, embedder=HashingEmbedder())
        patterns_s = time.perf_counter() - started
        generator = InsightGenerator(LLMClient(ScriptedBackend(_scripted_analyst, blocking=False)), token_budget=2000)
        started = time.perf_counter()
        report = generator.generate(path, patterns=patterns)
        insights_s = time.perf_counter() - started
    return {"insight_evidence_valid_pct": report.valid_pct, "insights_checked": len(report.insights),
            "insight_events": report.events_total, "insight_events_shown": report.events_shown,
            "patterns_s": round(patterns_s, 3), "insights_s": round(insights_s, 3)}


SECTIONS: list[Callable[[bool], dict[str, Any]]] = [section_sse_lag, section_timeline, section_insights]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smaller run, under a minute")
    args = parser.parse_args()
    figures: dict[str, Any] = {}
    for section in SECTIONS:
        started = time.perf_counter()
        found = section(args.quick)
        print(f"{section.__name__}: {json.dumps(found)} ({time.perf_counter() - started:.1f} s)", flush=True)
        figures.update(found)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
