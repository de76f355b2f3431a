"""The developer commands of the ``tinytroupe`` CLI: ``debug``, ``inspect`` and ``replay``.

:func:`register` adds them to the typer app (``tinytroupe/cli.py`` calls it). Each command imports what
it needs when it runs, so ``tinytroupe --help`` stays fast.

Example:
    >>> import typer
    >>> app = typer.Typer()
    >>> register(app)
    >>> sorted(c.name or c.callback.__name__ for c in app.registered_commands)
    ['debug', 'inspect', 'replay']
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from tinytroupe.terminal import show

RunFileArg = Annotated[Path, typer.Argument(help="A run file (control.begin(), or tinytroupe debug --run-file)",
                                            dir_okay=False)]
ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="tinytroupe.toml or config.ini", dir_okay=False)]


def _fail(console: Any, message: str, code: int = 1) -> NoReturn:
    console.print(f"[bold red]Error:[/] {show(message)}")
    raise typer.Exit(code)


# layout: typer declares each option as a parameter; the body only hands them over
def debug(
    scenario: Annotated[Path, typer.Argument(help="A scenario YAML file", dir_okay=False)],
    backend: Annotated[str | None, typer.Option("--backend", "-b", help="local, openai, azure, ollama or scripted")
                       ] = None,
    model: Annotated[str | None, typer.Option("--model", "-m", help="Model name for API backends.")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Override the scenario's seed.")] = None,
    breaks: Annotated[list[str] | None, typer.Option("--break", help="A breakpoint to set before the run, e.g. "
                                                     "'agent=Ana action=TALK' (repeatable)")] = None,
    run_file: Annotated[Path | None, typer.Option("--run-file", "-r", help="Record the run in this run file "
                                                  "(cache, trace, checkpoints), for inspect and replay",
                                                  dir_okay=False)] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Do not show the conversation live.")] = False,
    config: ConfigOpt = None,
) -> None:
    """Run a scenario under the debugger: breakpoints, step by turn or step, look at and edit agents,
    see each turn's exact prompt and answer. Type help at the (debug) prompt."""
    from rich.console import Console

    from tinytroupe.devtools.debugger import Debugger
    from tinytroupe.devtools.debugger.repl import DebugRepl
    from tinytroupe.devtools.scenario_runs import open_scenario
    from tinytroupe.errors import TinyTroupeError
    from tinytroupe.visualization.console import ConsoleDisplay

    console = Console()
    try:
        dbg = Debugger(breakpoints=breaks or ())
        session = open_scenario(scenario, config=config, backend=backend, model=model, seed=seed, run_file=run_file)
    except TinyTroupeError as exc:
        _fail(console, str(exc))
    display = None if quiet else ConsoleDisplay(console).attach(session.bus)
    console.print(f"[bold]{show(session.scenario.name)}[/] under the debugger; {len(dbg.breakpoints)} breakpoint(s). "
                  "Type help; continue, step or turn starts the run.")
    try:
        with dbg.catching_worlds():
            repl = DebugRepl(dbg, console, console.input,
                             start=lambda stop_at, agent: dbg.start(session.arun(), stop_at=stop_at, agent=agent))
            repl.loop()
    finally:
        dbg.detach()
        if display is not None:
            display.detach()
        session.close()
    if run_file is not None:
        console.print(f"recorded in {show(str(run_file))}: tinytroupe inspect / replay it")


def inspect(
    path: RunFileArg,
    agent: Annotated[str | None, typer.Option("--agent", "-a", help="Show this agent's state.")] = None,
    checkpoint: Annotated[int | None, typer.Option("--checkpoint", help="The checkpoint id (default: the latest).")
                          ] = None,
    memories: Annotated[bool, typer.Option("--memories", help="With --agent: all its memories.")] = False,
    turn: Annotated[int | None, typer.Option("--turn", "-t", help="With --agent: the exact prompt and answer of "
                                             "this turn (1 first, -1 the last).")] = None,
    run_id: Annotated[int | None, typer.Option("--run", help="Which run in the file (default: the latest).")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Look inside a run file: its agents and checkpoints, an agent's state at any checkpoint, its memories,
    and the prompt and answer of any of its turns."""
    from rich.console import Console

    from tinytroupe.devtools import inspect_views
    from tinytroupe.devtools.inspector import RunFileInspector
    from tinytroupe.errors import TinyTroupeError

    console = Console()
    if agent is None and (memories or turn is not None):
        _fail(console, "--memories and --turn need --agent NAME")
    try:
        with RunFileInspector(path, run_id=run_id) as run:
            if agent is None:
                data: Any = run.summary()
                view = inspect_views.summary_view(data)
            elif turn is not None:
                record = run.turn(agent, turn)
                data, view = record.model_dump(), inspect_views.turn_view(record)
            elif memories:
                data = run.memories(agent, checkpoint)
                view = inspect_views.memories_view(data, title=f"{agent}'s memories")
            else:
                data = run.agent_state(agent, checkpoint)
                view = inspect_views.state_view(data)
    except TinyTroupeError as exc:
        _fail(console, str(exc))
    if json_output:
        typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))
    else:
        console.print(view)


def replay(
    path: RunFileArg,
    scenario: Annotated[Path | None, typer.Option("--scenario", "-s", help="Replay this scenario file against the "
                                                  "recording (default: the one the run file recorded)",
                                                  dir_okay=False)] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Where to keep the replayed copy (default: a "
                                             "temporary file)", dir_okay=False)] = None,
    backend: Annotated[str | None, typer.Option("--backend", "-b", help="The backend for requests that diverge "
                                                "(default: the recorded one)")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    config: ConfigOpt = None,
) -> None:
    """Run a recorded scenario again on a copy of its run file and report where it diverges (requests that
    changed, calls not answered by the recording, the first differing trace event). Exit 0 when the replay
    is identical, 3 when it diverges."""
    from rich.console import Console

    from tinytroupe.devtools.inspect_views import replay_view
    from tinytroupe.devtools.replay_runs import replay_run_file
    from tinytroupe.errors import TinyTroupeError

    console = Console()
    try:
        report = replay_run_file(path, scenario=scenario, out=out, backend=backend, config=config)
    except TinyTroupeError as exc:
        _fail(console, str(exc))
    if json_output:
        typer.echo(report.model_dump_json(indent=2))
    else:
        console.print(replay_view(report))
    raise typer.Exit(0 if report.identical else 3)


def register(app: typer.Typer) -> None:
    """Add ``debug``, ``inspect`` and ``replay`` to ``app``."""
    for command in (debug, inspect, replay):
        app.command()(command)


__all__ = ["debug", "inspect", "register", "replay"]
