"""``tinytroupe run SCENARIO --dashboard``: the run served live and driven under the dashboard's controls.

:class:`LiveWatch` is the ``watch`` hook of :func:`~tinytroupe.scenario.study.run_study`: it feeds the
run's bus into a hub, attaches a debugger to every world the scenario builds, serves the dashboard
(printing its URL), and drives the run with a :class:`~tinytroupe.dashboard.control.DashboardController`
until it ends. A run stopped from the page ends as an interrupted one does (the CLI says what was kept).
"""

from __future__ import annotations

import webbrowser
from collections.abc import Coroutine
from typing import Any

from rich.console import Console

from tinytroupe.dashboard.agents import LiveAgents
from tinytroupe.dashboard.control import DashboardController
from tinytroupe.dashboard.hub import EventHub
from tinytroupe.dashboard.insights import InsightProvider
from tinytroupe.dashboard.knowledge import LiveGraphs
from tinytroupe.dashboard.server import DEFAULT_HOST, DashboardServer
from tinytroupe.devtools.debugger import Debugger
from tinytroupe.events import EventBus
from tinytroupe.llm.prices import PriceTable
from tinytroupe.terminal import show


class LiveWatch:
    """Runs a study's coroutine under a live dashboard (see the module).

    Args:
        console: where the URL is printed.
        host, port: where to serve (default 127.0.0.1, a free port).
        start_paused: pause at the end of the first step, waiting for the page.
        open_browser: open the URL in the default browser.
        insights: the Insights page's provider.
    """

    def __init__(self, console: Console, *, host: str = DEFAULT_HOST, port: int = 0, start_paused: bool = False,
                 open_browser: bool = False, insights: InsightProvider | None = None) -> None:
        self.console, self.host, self.port = console, host, port
        self.start_paused, self.open_browser, self.insights = start_paused, open_browser, insights
        self.server: DashboardServer | None = None

    def __call__(self, run: Coroutine[Any, Any, Any], bus: EventBus, prices: PriceTable | None = None) -> Any:
        """Serve, run ``run`` under the controls, close; what the run returned.

        Raises:
            KeyboardInterrupt: the run was stopped from the page. Whatever the run raised.
        """
        hub = EventHub(prices=prices).attach(bus)
        debugger = Debugger()
        controller = DashboardController(debugger, hub)
        server = DashboardServer(hub, agents=LiveAgents(debugger), graphs=LiveGraphs(debugger), controller=controller,
                                 insights=self.insights, host=self.host, port=self.port, title="live run",
                                 source={"kind": "live"})
        try:
            self.server = server.start()
            self.console.print(f"[bold]Dashboard[/]: {show(server.url)}", soft_wrap=True)
            if self.open_browser:
                webbrowser.open(server.url)
            with debugger.catching_worlds():
                outcome = controller.drive(run, start_paused=self.start_paused)
        finally:
            debugger.detach()
            hub.detach()
            server.close()
        if outcome.reason == "failed" and isinstance(debugger.result, BaseException):
            raise debugger.result
        if outcome.reason == "quit":
            raise KeyboardInterrupt("stopped from the dashboard")
        return debugger.result


def live_watch(console: Console) -> LiveWatch:
    """The hook ``tinytroupe run --dashboard`` passes to ``run_study`` (127.0.0.1, a free port)."""
    return LiveWatch(console)


__all__ = ["LiveWatch", "live_watch"]
