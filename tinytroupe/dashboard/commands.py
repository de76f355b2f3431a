"""The ``tinytroupe dashboard RUNFILE`` command (``tinytroupe run --dashboard`` is an option of ``run``).

:func:`register` adds it to the typer app (``tinytroupe/cli.py`` calls it); it imports the server only
when it runs, so ``tinytroupe --help`` stays fast.

Example:
    >>> import typer
    >>> app = typer.Typer()
    >>> register(app)
    >>> [c.callback.__name__ for c in app.registered_commands]
    ['dashboard']
"""

from __future__ import annotations

import time
import webbrowser
from pathlib import Path
from typing import Annotated

import typer

from tinytroupe.terminal import show


# layout: typer declares each option as a parameter; the body only hands them over
def dashboard(
    path: Annotated[Path, typer.Argument(help="A run file (control.begin(), tinytroupe debug --run-file) or the "
                                              "trace.jsonl tinytroupe run writes; finished or still running",
                                         dir_okay=False)],
    run_id: Annotated[int | None, typer.Option("--run", help="Which run in the file (default: the latest).")] = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on (default 127.0.0.1: this machine "
                                                     "only; anything else is reachable from elsewhere, behind the "
                                                     "token).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port (default 0: a free one).")] = 0,
    open_browser: Annotated[bool, typer.Option("--open", help="Open the page in the default browser.")] = False,
    duration: Annotated[float | None, typer.Option("--for", min=0.0, help="Close after this many seconds "
                                                   "(default: when you press Ctrl-C).")] = None,
) -> None:
    """Watch a run in the browser: the conversation timeline (following new events while the run goes on),
    who talks to whom, each agent's state at the latest checkpoint, memory and cost charts. Read-only:
    to steer a run, start it with `tinytroupe run SCENARIO --dashboard`. Prints the URL with its token."""
    from rich.console import Console

    from tinytroupe.dashboard.insight_providers import AnalysisInsights
    from tinytroupe.dashboard.server import open_dashboard
    from tinytroupe.errors import TinyTroupeError

    console = Console()
    try:  # the Insights page shows the patterns found without a model (no model call is made)
        link = open_dashboard(path, host=host, port=port, run_id=run_id, insights=AnalysisInsights())
    except TinyTroupeError as exc:
        console.print(f"[bold red]Error:[/] {show(str(exc))}")
        raise typer.Exit(1) from None
    console.print(f"[bold]Dashboard[/] of {show(str(path))}: {show(link.url)}", soft_wrap=True)  # one line: copyable
    console.print("Press Ctrl-C to close it." if duration is None else f"Open for {duration:g} s.")
    if open_browser:
        webbrowser.open(link.url)
    deadline = None if duration is None else time.monotonic() + duration
    try:
        while deadline is None or time.monotonic() < deadline:
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass  # Ctrl-C is how it is closed
    finally:
        link.close()


def register(app: typer.Typer) -> None:
    """Add ``dashboard`` to ``app``."""
    app.command()(dashboard)


__all__ = ["dashboard", "register"]
