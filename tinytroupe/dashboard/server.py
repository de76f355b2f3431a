"""Serving a dashboard: uvicorn on a background thread, bound to 127.0.0.1 on a free port by default, and
:func:`open_dashboard` for scripts and notebooks (a world to watch and steer, or a run file to follow).

Example (a world's dashboard, then one request as the page makes it):
    >>> import httpx
    >>> from tinytroupe.agent import TinyPerson
    >>> from tinytroupe.environment import TinyWorld
    >>> world = TinyWorld("Cafe", [TinyPerson("Ana")], communication_display=False)
    >>> with open_dashboard(world) as link:
    ...     ok = httpx.get(link.url).status_code
    ...     refused = httpx.get(link.url.split("?")[0]).status_code
    >>> ok, refused
    (200, 403)
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tinytroupe.dashboard.agents import AgentSource, CheckpointAgents, LiveAgents, NoAgents
from tinytroupe.dashboard.control import DashboardController
from tinytroupe.dashboard.follow import RunFollower
from tinytroupe.dashboard.hub import EventHub
from tinytroupe.dashboard.insights import InsightProvider
from tinytroupe.dashboard.knowledge import GraphSource, LiveGraphs, NoGraphs, RunFileGraphs
from tinytroupe.dashboard.security import LOOPBACK, allowed_hosts, new_token
from tinytroupe.devtools.debugger import Debugger
from tinytroupe.environment.world import TinyWorld
from tinytroupe.errors import ConfigError, InvalidArgument, InvalidState

if TYPE_CHECKING:
    from tinytroupe.dashboard.app import DashboardState

logger = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
#: seconds to wait for the server to listen
START_TIMEOUT_S = 15.0


class DashboardServer:
    """A dashboard served on a background thread (``start``/``close``, or ``with``).

    Args:
        hub: the events to show.
        agents: where the inspector reads agents (default: none).
        graphs: where the Knowledge page reads knowledge graphs (default: none).
        controller: the controls (None: a read-only dashboard).
        insights: the insight provider (see :mod:`.insights`).
        host: the address to bind (default 127.0.0.1; another address is reachable from elsewhere, still
            behind the token: a warning says so).
        port: the port (0: a free one).
        token: the access token (default: a new random one).
        title: the page's title.
        source: what is watched, as the page shows it.

    Raises:
        ConfigError: fastapi or uvicorn is missing (``pip install 'tinytroupe[dashboard]'``), or the
            address cannot be bound.
    """

    def __init__(self, hub: EventHub, *, agents: AgentSource | None = None, graphs: GraphSource | None = None,
                 controller: DashboardController | None = None, insights: InsightProvider | None = None,
                 host: str = DEFAULT_HOST, port: int = 0, token: str | None = None, title: str = "tinytroupe",
                 source: dict[str, Any] | None = None) -> None:
        self.hub, self.host = hub, host
        self.token = token or new_token()
        self._sock = _bind(host, port)
        self.port: int = self._sock.getsockname()[1]
        self.agents, self.controller, self.insights = agents or NoAgents(), controller, insights
        self.graphs = graphs or NoGraphs()
        self.title, self.source = title, source or {}
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.closers: list[Any] = []
        if host not in LOOPBACK:
            logger.warning("the dashboard listens on %s, reachable from other machines; the token still guards it",
                           host)

    @property
    def url(self) -> str:
        """The page's address, with its token."""
        shown = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{shown}:{self.port}/?token={self.token}"

    def state(self) -> DashboardState:
        from tinytroupe.dashboard.app import DashboardState

        return DashboardState(hub=self.hub, token=self.token, hosts=allowed_hosts(self.host, self.port),
                              agents=self.agents, graphs=self.graphs, controller=self.controller,
                              insights=self.insights, title=self.title, source=self.source)

    def start(self) -> DashboardServer:
        """Serve on a background thread; returns once it listens."""
        try:
            import uvicorn

            from tinytroupe.dashboard.app import create_app
        except ImportError as exc:
            raise ConfigError("the dashboard needs fastapi and uvicorn: pip install 'tinytroupe[dashboard]'") from exc
        config = uvicorn.Config(create_app(self.state()), log_level="warning", lifespan="off", access_log=False,
                                timeout_graceful_shutdown=1)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]},
                                        name="tinytroupe-dashboard", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise InvalidState(f"the dashboard server did not start on {self.host}:{self.port}")
            time.sleep(0.01)
        return self

    def close(self) -> None:
        """Stop serving (open event streams end) and close what it follows."""
        self.hub.close_streams()  # open event streams end, so the server stops without cancelling them
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._sock.close()
        for closer in self.closers:
            closer()
        self.closers = []

    def __enter__(self) -> DashboardServer:
        return self if self._thread is not None else self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _repr_html_(self) -> str:
        """In a notebook: the dashboard in a frame, with its link."""
        return (f'<iframe src="{self.url}" width="100%" height="720" style="border:1px solid #ccc"></iframe>'
                f'<div><a href="{self.url}" target="_blank" rel="noopener">open the dashboard in a tab</a></div>')

    def run(self, steps: int, *, start_paused: bool = False, **arun_kwargs: Any) -> threading.Thread:
        """Run the watched world ``steps`` steps on a background thread under the dashboard's controls
        (a notebook cell returns at once; the page's buttons steer the run).

        Raises:
            InvalidState: the dashboard has no controls (it follows a run file), or watches several worlds.
        """
        ctl = self.controller
        if ctl is None or len(ctl.debugger.worlds) != 1:
            raise InvalidState("run() needs a dashboard opened on one world (open_dashboard(world))")
        coro = ctl.debugger.worlds[0].arun(steps, **arun_kwargs)
        thread = threading.Thread(target=ctl.drive, args=(coro,), kwargs={"start_paused": start_paused},
                                  name="tinytroupe-dashboard-run", daemon=True)
        thread.start()
        return thread


#: what a notebook gets from :func:`open_dashboard`
DashboardLink = DashboardServer


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        raise ConfigError(f"the dashboard cannot listen on {host}:{port} ({exc.strerror or exc}); choose another "
                          "--port (0: any free one)") from exc
    sock.listen(128)
    sock.setblocking(False)
    return sock


def open_dashboard(watched: TinyWorld | Iterable[TinyWorld] | str | Path, *, insights: InsightProvider | None = None,
                   host: str = DEFAULT_HOST, port: int = 0, run_id: int | None = None,
                   prices: Any = None) -> DashboardServer:
    """Serve a dashboard for ``watched`` and return it, started (``.url``; in a notebook it shows itself in
    a frame): a world (or worlds sharing a bus), watched live and steered (``.run(steps)`` runs it under
    the controls), or the path of a run file or ``trace.jsonl``, followed as it grows (read-only).

    Raises:
        ConfigError: no such run file, or fastapi/uvicorn missing. InvalidArgument: worlds on several buses.
    """
    hub = EventHub(prices=prices)
    if isinstance(watched, str | Path):
        follower = RunFollower(watched, hub, run_id=run_id).start()
        agents: AgentSource = NoAgents() if follower.jsonl else CheckpointAgents(watched, run_id)
        graphs: GraphSource = NoGraphs() if follower.jsonl else RunFileGraphs(watched, follower.run_id)
        server = DashboardServer(hub, agents=agents, graphs=graphs, insights=insights, host=host, port=port,
                                 title=Path(watched).name, source=follower.describe())
        server.closers.append(follower.close)
        return server.start()
    worlds = [watched] if isinstance(watched, TinyWorld) else list(watched)
    if not worlds or len({id(w.bus) for w in worlds}) != 1:
        raise InvalidArgument("open_dashboard needs one world, or worlds that publish on one bus")
    hub.attach(worlds[0].bus)
    debugger = Debugger()
    for world in worlds:
        debugger.attach(world)
    controller = DashboardController(debugger, hub)
    server = DashboardServer(hub, agents=LiveAgents(debugger), graphs=LiveGraphs(debugger), controller=controller,
                             insights=insights, host=host, port=port, title=", ".join(w.name for w in worlds),
                             source={"kind": "live", "worlds": [w.name for w in worlds]})
    server.closers += [hub.detach, debugger.detach]
    return server.start()


__all__ = ["DEFAULT_HOST", "DashboardLink", "DashboardServer", "open_dashboard"]
