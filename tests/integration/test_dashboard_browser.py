"""The dashboard in a real headless browser (Debian's chromium, driven by Playwright): the page loads, the
timeline receives a running simulation's events live, pause stops the steps and step advances exactly one,
an edit made on the page shows in the agent's next prompt, the Knowledge page draws the agents' and the
world's knowledge graphs and redraws them when a step ends, and requests without the token or from another
origin are refused. Screenshots are kept in tests/artifacts/."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from browser_support import STEP_ENDS, chromium_path, shot, wait_for
from dashboard_support import cafe, office, works_at

from tinytroupe.dashboard.server import DashboardServer, open_dashboard
from tinytroupe.llm import LLMClient, ScriptedBackend

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    path = chromium_path()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        # --no-sandbox: CI runs as root, where chromium's sandbox refuses to start.
        launched = p.chromium.launch(executable_path=path, args=["--no-sandbox", "--disable-gpu"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 760})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    opened.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    opened.errors = errors
    yield opened
    context.close()


@pytest.fixture
def link() -> Iterator[DashboardServer]:
    server = open_dashboard(cafe(latency_s=0.005)[0])
    try:
        yield server
    finally:
        controller = server.controller
        if controller is not None and controller.state in ("running", "paused", "pausing"):
            controller.command("stop")
            controller.wait_for("stopped")
        server.close()


def open_page(page: Any, link: DashboardServer) -> None:
    answer = page.goto(link.url)
    assert answer.status == 200
    wait_for(page, "window.TT && TT.metrics.connectedAt !== null")


def test_the_page_loads_with_its_tabs_and_no_error(page: Any, link: DashboardServer) -> None:
    open_page(page, link)
    assert page.title().endswith("tinytroupe dashboard")
    assert page.inner_text("#status") == "idle"
    for tab in ("network", "agents", "knowledge", "charts", "insights", "timeline"):
        page.click(f"nav button[data-tab={tab}]")
        assert page.is_visible(f"#tab-{tab}")
    shot(page, "dashboard_loaded")
    assert page.errors == []


def test_the_timeline_receives_events_live_from_a_running_simulation(page: Any, link: DashboardServer) -> None:
    open_page(page, link)
    connected = page.evaluate("TT.metrics.connectedAt + performance.timeOrigin")
    assert page.evaluate("TT.events.length") == 0
    runner = link.run(3)
    wait_for(page, f"{STEP_ENDS}.length === 3")
    runner.join(10)
    events = page.evaluate("TT.events.map(e => [e.kind, e._t, e.content || ''])")
    assert all(t >= connected for _, t, _ in events)  # published after the page was open: received live
    assert sum(1 for kind, _, text in events if kind == "action" and text == "Hello there!") == 6
    rows = page.inner_text("#tl-scroll")
    assert "TALK: Hello there!" in rows and "step 3 end" in rows
    page.select_option("#f-agent", "Ben")
    wait_for(page, "document.getElementById('tl-shown').textContent.includes(' of ')")
    # Ben's own events and the speech addressed to him or heard from him
    assert page.evaluate("TT.timeline.shown === TT.events.filter(e => [e.agent, e.source, e.target]"
                         ".includes('Ben')).length && TT.timeline.shown < TT.events.length")
    page.select_option("#f-agent", "")
    page.fill("#f-search", "step 2 end")
    wait_for(page, "document.getElementById('tl-shown').textContent.startsWith('1 of')")
    shot(page, "dashboard_timeline_live")
    assert page.errors == []


def test_pause_stops_the_steps_and_step_advances_exactly_one(page: Any, link: DashboardServer) -> None:
    open_page(page, link)
    link.run(500)
    wait_for(page, f"{STEP_ENDS}.length >= 2")
    page.click("#btn-pause")
    wait_for(page, "TT.status.state === 'paused'")
    paused_at = page.evaluate(f"{STEP_ENDS}")
    assert page.evaluate("TT.status.step") == paused_at[-1]
    time.sleep(0.5)
    assert page.evaluate(f"{STEP_ENDS}") == paused_at  # nothing ran while paused
    for n in (1, 2):
        page.click("#btn-step")
        wait_for(page, f"TT.status.state === 'paused' && {STEP_ENDS}.length === {len(paused_at) + n}")
        assert page.evaluate(f"{STEP_ENDS}") == paused_at + list(range(paused_at[-1] + 1, paused_at[-1] + n + 1))
        assert page.evaluate("TT.status.step") == paused_at[-1] + n
    assert page.inner_text("#status").startswith("paused")
    assert page.is_disabled("#btn-pause") and page.is_enabled("#btn-play")
    shot(page, "dashboard_paused")
    page.click("#btn-stop")
    wait_for(page, "TT.status.state === 'stopped'")
    assert page.errors == []


def test_an_edit_on_the_page_shows_in_the_agents_next_prompt(page: Any, link: DashboardServer) -> None:
    open_page(page, link)
    link.run(50, start_paused=True)
    wait_for(page, "TT.status.state === 'paused'")
    page.fill("#inj-text", "The kitchen closes in ten minutes.")
    page.click("#inj-send")
    wait_for(page, "TT.events.some(e => e.kind === 'stimulus' && e.content.includes('kitchen closes'))")
    page.click("nav button[data-tab=agents]")
    page.click("#agent-list li[data-agent=Ana]")
    wait_for(page, "document.querySelector('#agent-panel h2') && "
                   "document.querySelector('#agent-panel h2').textContent.startsWith('Ana')")
    page.fill("#edit-path", "persona.occupation")
    page.fill("#edit-value", "lighthouse keeper")
    page.click("#edit-apply")
    wait_for(page, "document.getElementById('edit-result').textContent.startsWith('edited')")
    assert page.evaluate("TT.events.some(e => e.kind === 'state_edit' && e.after === 'lighthouse keeper')")
    page.click("#next-show")
    wait_for(page, "document.getElementById('next-prompt').textContent.includes('lighthouse keeper')")
    page.click("#btn-step")
    wait_for(page, "TT.status.state === 'paused' && TT.status.step === 2")
    page.click("#agent-list li[data-agent=Ana]")
    # the panel is redrawn when the agent's state arrives: until then it shows the turn before the step
    wait_for(page, "(t => t.includes('Last prompt') && t.split('Last prompt')[1].includes('lighthouse keeper'))"
                   "(document.getElementById('agent-panel').textContent)")
    panel = page.inner_text("#agent-panel")
    last_prompt = panel.split("Last prompt", 1)[1]
    assert "lighthouse keeper" in last_prompt and "kitchen closes in ten minutes" in last_prompt
    assert "lighthouse keeper" in str(link.controller.debugger.prompt("Ana").prompt)  # what the model was sent
    shot(page, "dashboard_agent_edited")
    assert page.errors == []


NODES = "(f => Array.from(document.querySelectorAll(f + ' svg g > title')).map(t => t.textContent).sort())"


def test_the_knowledge_page_draws_the_graphs_and_redraws_them_after_a_step(page: Any) -> None:
    world, _ = office(LLMClient(ScriptedBackend(works_at)))
    world.broadcast("Ana Lima works at Acme.")
    link = open_dashboard(world)
    try:
        open_page(page, link)
        page.click("nav button[data-tab=knowledge]")
        wait_for(page, "TT.knowledge.loads >= 1")
        assert "no agent has beliefs yet" in page.inner_text("#kg-agent")
        link.run(2, start_paused=True)
        wait_for(page, "TT.status.state === 'paused'")
        # the end of step 1 redraws the page: Ana's beliefs and the world's graph (merged at the next step)
        wait_for(page, f"{NODES}('#kg-agent-fig').length === 2")
        assert page.evaluate(f"{NODES}('#kg-agent-fig')") == ["Acme (organisation)", "Ana Lima (person)"]
        assert page.inner_text("#kg-agent-fig figcaption").startswith("Ana's beliefs · 2 entities · 1 relation")
        world_caption = page.inner_text("#kg-worlds figure[data-world=Office] figcaption")
        assert "0 entities" in world_caption and "2 extractions merged" in world_caption
        link.controller.inject("Ben Cruz works at Initech.")
        page.click("#btn-step")
        wait_for(page, f"{NODES}('#kg-agent-fig').length === 4 && {NODES}('#kg-worlds').length === 2")
        assert page.evaluate(f"{NODES}('#kg-worlds')") == ["Acme (organisation)", "Ana Lima (person)"]
        page.select_option("#kg-agent", "Ben")
        wait_for(page, "document.querySelector('#kg-agent-fig figcaption').textContent.startsWith(\"Ben's\")")
        assert page.evaluate(f"{NODES}('#kg-agent-fig')") == [
            "Acme (organisation)", "Ana Lima (person)", "Ben Cruz (person)", "Initech (organisation)"]
        shot(page, "dashboard_knowledge")
        assert page.errors == []
    finally:
        if link.controller is not None and link.controller.state in ("running", "paused", "pausing"):
            link.controller.command("stop")
            link.controller.wait_for("stopped")
        link.close()


def test_requests_without_the_token_or_from_another_origin_are_refused(page: Any, link: DashboardServer) -> None:
    refused = page.goto(link.url.split("?")[0])
    assert refused.status == 403 and "token" in page.inner_text("body")
    shot(page, "dashboard_refused")

    class Blank(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(b"<html><body>another site</body></html>")

        def log_message(self, *args: Any) -> None:
            pass

    other = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Blank)
    threading.Thread(target=other.serve_forever, daemon=True).start()
    try:
        link.run(50, start_paused=True)
        link.controller.wait_for("paused")
        page.goto(f"http://localhost:{other.server_address[1]}/")
        # Even knowing the token, a page of another origin cannot use the controls or read the events.
        outcome = page.evaluate("""async ([base, token]) => {
            const results = [];
            for (const [path, init] of [["/api/control/play", {method: "POST", body: "{}",
                    headers: {"X-TinyTroupe-Token": token, "Content-Type": "application/json"}}],
                    ["/api/events?token=" + token, {}],
                    ["/api/control/play", {method: "POST", body: "{}", mode: "no-cors",
                    headers: {"Content-Type": "text/plain"}}]]) {
                try {
                    const r = await fetch(base + path, init);
                    results.push(r.type === "opaque" ? "opaque" : r.status);
                }
                catch (e) { results.push("blocked"); }
            }
            return results;
        }""", [f"http://127.0.0.1:{link.port}", link.token])
        assert outcome == ["blocked", "blocked", "opaque"]
        time.sleep(0.3)
        assert link.controller.state == "paused"  # none of them played the run
    finally:
        other.shutdown()
