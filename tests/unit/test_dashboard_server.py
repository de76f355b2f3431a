"""The dashboard's server on 127.0.0.1: the token on every route, origin and host checks, control endpoints
only by POST with the token in a header, the event stream, the agent inspector and the insights hook."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from dashboard_support import cafe

from tinytroupe.dashboard.insights import InsightCard
from tinytroupe.dashboard.server import DashboardServer, open_dashboard
from tinytroupe.events import WarningEvent


@pytest.fixture
def link() -> Iterator[DashboardServer]:
    world, _ = cafe()

    def talks(events):  # an insight provider citing the events it counts
        said = [e for e in events if e.get("action_type") == "TALK"]
        return [InsightCard(title="Talk", text=f"{len(said)} things said", evidence=[e["_i"] for e in said])]

    server = open_dashboard(world, insights=talks)
    try:
        yield server
    finally:
        server.close()


def base(link: DashboardServer) -> str:
    return f"http://127.0.0.1:{link.port}"


ROUTES = ["/", "/static/core.js", "/static/dashboard.css", "/api/info", "/api/events", "/api/agents",
          "/api/agents/Ana", "/api/insights", "/api/stream", "/api/knowledge", "/api/knowledge/world",
          "/api/knowledge/world/svg", "/api/knowledge/agents/Ana", "/api/knowledge/agents/Ana/svg"]


@pytest.mark.parametrize("path", ROUTES)
def test_every_route_refuses_a_request_without_the_token(link: DashboardServer, path: str) -> None:
    missing = httpx.get(base(link) + path, timeout=5)
    wrong = httpx.get(base(link) + path, params={"token": "x" + link.token}, timeout=5)
    assert missing.status_code == 403 and wrong.status_code == 403
    assert "token" in missing.json()["detail"]


def test_the_page_and_its_assets_are_served_with_the_token_and_safe_headers(link: DashboardServer) -> None:
    page = httpx.get(link.url, timeout=5)
    assert page.status_code == 200
    assert f"static/core.js?token={link.token}" in page.text and "http" not in page.text.split("<body>")[1]
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["referrer-policy"] == "no-referrer"
    script = httpx.get(base(link) + "/static/core.js", headers={"X-TinyTroupe-Token": link.token}, timeout=5)
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    assert httpx.get(base(link) + "/static/..%2Fapp.py", params={"token": link.token}, timeout=5).status_code == 404


def test_other_origins_sites_and_hosts_are_refused(link: DashboardServer) -> None:
    ok = {"X-TinyTroupe-Token": link.token}
    for extra in ({"Origin": "http://evil.test"}, {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "cors"},
                  {"Host": "evil.test"}, {"Host": f"rebound.example:{link.port}"}):
        answer = httpx.get(base(link) + "/api/info", headers={**ok, **extra}, timeout=5)
        assert answer.status_code == 403, extra
    same = httpx.get(base(link) + "/api/info", headers={**ok, "Origin": base(link)}, timeout=5)
    assert same.status_code == 200
    framed = httpx.get(link.url, headers={"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"}, timeout=5)
    assert framed.status_code == 200  # a notebook's frame navigates to the page (the token still needed)


def test_control_actions_need_post_the_token_header_and_json(link: DashboardServer) -> None:
    url = base(link) + "/api/control/pause"
    header = {"X-TinyTroupe-Token": link.token}
    assert httpx.post(url, params={"token": link.token}, json={}, timeout=5).status_code == 403  # not in the URL
    assert httpx.get(url, headers=header, timeout=5).status_code == 403
    form = httpx.post(url, headers=header, data={"a": "b"}, timeout=5)  # what a cross-site form could send
    assert form.status_code == 403 and "JSON" in form.json()["detail"]
    idle = httpx.post(url, headers=header, json={}, timeout=5)
    assert idle.status_code == 409 and "nothing to pause" in idle.json()["detail"]
    unknown = httpx.post(base(link) + "/api/control/explode", headers=header, json={}, timeout=5)
    assert unknown.status_code == 404


def test_the_stream_sends_the_status_then_events_in_order(link: DashboardServer) -> None:
    for n in range(3):
        link.hub.publish(WarningEvent(code=f"c{n}", message="m"))
    received: list[dict] = []
    kinds: list[str] = []
    with httpx.stream("GET", base(link) + "/api/stream", params={"token": link.token, "after": 1},
                      timeout=5) as answer:
        assert answer.headers["content-type"].startswith("text/event-stream")
        kind = None
        for line in answer.iter_lines():
            if line.startswith("event: "):
                kind = line[7:]
                kinds.append(kind)
            elif line.startswith("data: ") and kind == "events":
                received += json.loads(line[6:])
                if len(received) >= 2:
                    break
    assert kinds[0] == "status"
    assert [e["code"] for e in received] == ["c1", "c2"] and [e["_i"] for e in received] == [1, 2]


def test_inspector_and_insights_answer_as_json(link: DashboardServer) -> None:
    header = {"X-TinyTroupe-Token": link.token}
    assert httpx.get(base(link) + "/api/agents", headers=header, timeout=5).json() == ["Ana", "Ben"]
    ana = httpx.get(base(link) + "/api/agents/Ana", headers=header, timeout=10).json()
    assert ana["view"]["name"] == "Ana" and ana["source"] == "live" and ana["last_prompt"] is None
    missing = httpx.get(base(link) + "/api/agents/Zoe", headers=header, timeout=10)
    assert missing.status_code == 404 and "Ana" in missing.json()["detail"]
    link.hub.publish({"kind": "action", "action_type": "TALK", "agent": "Ana", "content": "hi"})
    cards = httpx.get(base(link) + "/api/insights", headers=header, timeout=5).json()
    assert cards["available"] and cards["cards"][0]["evidence"] == [link.hub.total - 1]


def test_a_bad_bind_is_a_config_error() -> None:
    from tinytroupe.dashboard.hub import EventHub
    from tinytroupe.errors import ConfigError

    with pytest.raises(ConfigError, match="cannot listen"):
        DashboardServer(EventHub(), host="203.0.113.1")
