"""The dashboard's FastAPI app: the page and its scripts (shipped in the package), the event stream, the
agent inspector, the insights and the controls, all behind the :class:`~tinytroupe.dashboard.security.Guard`.

Routes (every one needs the token; see :mod:`.security`):

=============================  ===================================================================
``GET /``                      the page (its script and style URLs carry the token)
``GET /static/NAME``           a script or style of ``tinytroupe/dashboard/static/``
``GET /api/info``              what is watched, whether controls and insights are there
``GET /api/events?after=N``    the events from ``_i`` = N on, as JSON (``limit``: at most that many)
``GET /api/stream?after=N``    server-sent events: ``events`` (JSON arrays, in order) and ``status``
``GET /api/agents[/NAME]``     the agents; one agent's :class:`~tinytroupe.dashboard.agents.AgentPanel`
``GET /api/insights``          the insight provider's cards
``GET /api/knowledge``         the knowledge graphs there are (whose, how big)
``GET /api/knowledge/world``   a world's shared graph as JSON (``?world=NAME``, ``?max_nodes=N``); ``/svg``: a picture
``GET /api/knowledge/agents/NAME``  an agent's beliefs graph as JSON (``?max_nodes=N``); ``/svg``: a picture
``POST /api/control/ACTION``   ``play``, ``pause``, ``step``, ``stop``, ``inject``, ``edit``, ``next_prompt``
=============================  ===================================================================
"""

from __future__ import annotations

import asyncio
import mimetypes
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Literal

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel

from tinytroupe.dashboard.agents import AgentSource, NoAgents
from tinytroupe.dashboard.control import DashboardController
from tinytroupe.dashboard.hub import EventHub
from tinytroupe.dashboard.insights import InsightProvider, insights_payload
from tinytroupe.dashboard.knowledge import (
    HOW,
    MAX_NODES,
    GraphSource,
    Kind,
    NoGraphs,
    check_max_nodes,
    graph_payload,
    graph_title,
)
from tinytroupe.dashboard.security import Guard
from tinytroupe.errors import (
    InvalidArgument,
    InvalidArgumentType,
    InvalidState,
    NotFound,
    ScenarioError,
    TinyTroupeError,
)

#: events per server-sent message (a page catching up on a long run gets them in batches)
SSE_BATCH = 1000
#: seconds between keep-alive comments on an idle stream
KEEPALIVE_S = 15.0
#: content types of the assets (the system's table may lack some; nosniff needs them right)
TYPES = {"js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8", "png": "image/png",
         "svg": "image/svg+xml", "html": "text/html; charset=utf-8"}
STATIC = resources.files("tinytroupe.dashboard") / "static"


@dataclass
class DashboardState:
    """What one dashboard serves."""

    hub: EventHub
    token: str
    hosts: set[str] | None
    agents: AgentSource = field(default_factory=NoAgents)
    graphs: GraphSource = field(default_factory=NoGraphs)
    controller: DashboardController | None = None
    insights: InsightProvider | None = None
    title: str = "tinytroupe"
    source: dict[str, Any] = field(default_factory=dict)


class InjectBody(BaseModel):
    text: str
    kind: Literal["message", "thought", "goal"] = "message"
    target: str | None = None
    world: str | None = None
    source: str | None = None


class EditBody(BaseModel):
    agent: str
    path: str
    value: Any = None
    delete: bool = False


class AgentBody(BaseModel):
    agent: str


def _static(name: str) -> tuple[bytes, str]:
    entry = STATIC / name
    if "/" in name or "\\" in name or name.startswith(".") or not entry.is_file():
        raise NotFound(f"no dashboard asset {name!r}")
    kind = TYPES.get(entry.name.rsplit(".", 1)[-1]) or mimetypes.guess_type(name)[0] or "application/octet-stream"
    return entry.read_bytes(), kind


def create_app(state: DashboardState) -> Guard:
    """The ASGI app of one dashboard: the FastAPI routes of the module, guarded."""
    app = FastAPI(title="tinytroupe dashboard", docs_url=None, redoc_url=None, openapi_url=None)
    hub = state.hub

    @app.exception_handler(TinyTroupeError)
    async def _typed_error(request: Request, exc: TinyTroupeError) -> JSONResponse:
        code = 404 if isinstance(exc, NotFound) else 409 if isinstance(exc, InvalidState) else \
            422 if isinstance(exc, InvalidArgument | InvalidArgumentType | ScenarioError) else 500
        return JSONResponse({"detail": str(exc), "error": type(exc).__name__}, status_code=code)

    @app.get("/")
    def page() -> Response:
        html = (STATIC / "index.html").read_text(encoding="utf-8")
        html = html.replace("{{TOKEN}}", state.token).replace("{{TITLE}}", _escape(state.title))
        return Response(html, media_type="text/html; charset=utf-8")

    @app.get("/static/{name}")
    def static(name: str) -> Response:
        body, kind = _static(name)
        return Response(body, media_type=kind)

    @app.get("/api/info")
    def info() -> dict[str, Any]:
        return {"title": state.title, "source": state.source, "controls": state.controller is not None,
                "insights": state.insights is not None, "total": hub.total, "first": hub.first,
                "status": hub.status}

    @app.get("/api/events")
    def events(after: int = 0, limit: int | None = None) -> Response:
        return Response(orjson.dumps(hub.since(after, limit)), media_type="application/json")

    @app.get("/api/stream")
    async def stream(request: Request, after: int = 0) -> StreamingResponse:
        resumed = request.headers.get("last-event-id", "")
        if resumed.isdigit():  # the browser reconnecting: go on after what it has
            after = max(after, int(resumed))
        return StreamingResponse(_sse(hub, request, after), media_type="text/event-stream",
                                 headers={"X-Accel-Buffering": "no"})

    @app.get("/api/agents")
    def agents() -> list[str]:
        return state.agents.names()

    @app.get("/api/agents/{name}")
    def agent(name: str) -> dict[str, Any]:
        return state.agents.panel(name).model_dump(mode="json")

    @app.get("/api/insights")
    def insights() -> dict[str, Any]:
        return insights_payload(state.insights, hub.events())

    _knowledge_routes(app, state)
    _control_routes(app, state)
    return Guard(app, token=state.token, hosts=state.hosts)


def _knowledge_routes(app: FastAPI, state: DashboardState) -> None:
    """The ``/api/knowledge/...`` routes: the graphs of :mod:`.knowledge`, as JSON and as SVG pictures."""
    from tinytroupe.visualization.knowledge_graph import graph_svg

    def svg(kind: Kind, owner: str | None, max_nodes: int | None) -> Response:
        snapshot = state.graphs.snapshot(kind, owner, check_max_nodes(max_nodes))
        # the view is already cut to the request's max_nodes
        picture = graph_svg(snapshot.view, title=graph_title(snapshot.summary), max_nodes=MAX_NODES)
        return Response(picture, media_type=TYPES["svg"])

    @app.get("/api/knowledge")
    def knowledge() -> dict[str, Any]:
        graphs = state.graphs.graphs()
        return {"graphs": [g.model_dump() for g in graphs],
                "message": None if graphs else "No knowledge graph here yet. " + HOW}

    @app.get("/api/knowledge/world")
    def world_graph(world: str | None = None, max_nodes: int | None = None) -> dict[str, Any]:
        return graph_payload(state.graphs.snapshot("world", world, check_max_nodes(max_nodes)))

    @app.get("/api/knowledge/world/svg")
    def world_picture(world: str | None = None, max_nodes: int | None = None) -> Response:
        return svg("world", world, max_nodes)

    @app.get("/api/knowledge/agents/{name}")
    def agent_graph(name: str, max_nodes: int | None = None) -> dict[str, Any]:
        return graph_payload(state.graphs.snapshot("agent", name, check_max_nodes(max_nodes)))

    @app.get("/api/knowledge/agents/{name}/svg")
    def agent_picture(name: str, max_nodes: int | None = None) -> Response:
        return svg("agent", name, max_nodes)


def _control_routes(app: FastAPI, state: DashboardState) -> None:
    """The ``/api/control/...`` routes (the Guard lets only POSTs with the token header and JSON reach them)."""

    def controller() -> DashboardController:
        if state.controller is None:
            raise InvalidState("this dashboard watches a run file: it has no controls (run the scenario with "
                               "tinytroupe run --dashboard, or open_dashboard(world) in Python)")
        return state.controller

    @app.post("/api/control/inject")
    def inject(body: InjectBody) -> dict[str, Any]:
        reached = controller().inject(body.text, kind=body.kind, target=body.target, world=body.world,
                                      source=body.source)
        return {"reached": reached}

    @app.post("/api/control/edit")
    def edit(body: EditBody) -> dict[str, Any]:
        ctl = controller()
        event = ctl.delete(body.agent, body.path) if body.delete else ctl.edit(body.agent, body.path, body.value)
        return event.model_dump(mode="json")

    @app.post("/api/control/next_prompt")
    def next_prompt(body: AgentBody) -> list[dict[str, Any]]:
        return controller().next_prompt(body.agent)

    @app.post("/api/control/{action}")
    def command(action: str) -> dict[str, Any]:
        if action not in ("play", "pause", "step", "stop"):
            raise NotFound(f"no control action {action!r}; actions: play, pause, step, stop, inject, edit, "
                           "next_prompt")
        return controller().command(action)  # type: ignore[arg-type]


async def _sse(hub: EventHub, request: Request, after: int) -> Any:
    """The event stream: first everything from ``after`` on, then each event as it comes, and the status
    whenever it changes."""
    index, version = max(after, hub.first), -1
    while not hub.closed:
        if hub.first > index:  # fell behind the bounded history: say how much is gone
            yield _message("gap", {"missing": hub.first - index})
            index = hub.first
        if hub.status_version != version:
            version = hub.status_version
            yield _message("status", hub.status)
        batch = hub.since(index, SSE_BATCH)
        if batch:
            index = batch[-1]["_i"] + 1
            yield _message("events", batch, event_id=index)
            continue
        if await request.is_disconnected():
            return
        if not await hub.wait(index, version, KEEPALIVE_S):
            yield b": keep-alive\n\n"
        await asyncio.sleep(0)


def _message(kind: str, data: Any, event_id: int | None = None) -> bytes:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {kind}\n".encode() + b"data: " + orjson.dumps(data) + b"\n\n"


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


__all__ = ["DashboardState", "create_app"]
