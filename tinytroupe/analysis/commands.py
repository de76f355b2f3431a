"""The ``tinytroupe report RUNFILE -o report.html`` command: the static run report from the shell.

:func:`register` adds it to the typer app (``tinytroupe/cli.py`` calls it); it imports the analysis only
when it runs, so ``tinytroupe --help`` stays fast.

Example:
    >>> import typer
    >>> app = typer.Typer()
    >>> register(app)
    >>> [c.callback.__name__ for c in app.registered_commands]
    ['report']
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from tinytroupe.terminal import show

EMBEDDERS = ("memory", "hash", "use")


# layout: typer declares each option as a parameter; the body only hands them over
def report(
    path: Annotated[Path, typer.Argument(help="A run file (control.begin(), tinytroupe debug --run-file) or the "
                                              "trace.jsonl tinytroupe run writes", dir_okay=False)],
    output: Annotated[Path, typer.Option("--output", "-o", help="The HTML file to write", dir_okay=False)
                      ] = Path("report.html"),
    run_id: Annotated[int | None, typer.Option("--run", help="Which run of a run file (default: the latest)")] = None,
    title: Annotated[str | None, typer.Option("--title", help="The report's title")] = None,
    insights: Annotated[bool, typer.Option("--insights", help="Ask the configured model for insights (each "
                                                              "checked by a judge; costs model calls)")] = False,
    budget: Annotated[int, typer.Option("--budget", min=50, help="Tokens of trace the model reads for insights")
                      ] = 6000,
    embedder: Annotated[str, typer.Option("--embedder", help="For topics and repetition: memory (what agents' "
                                                             "memory uses), hash (no model) or use")] = "memory",
    backend: Annotated[str | None, typer.Option("--backend", "-b", help="For --insights: local, openai, azure, "
                                                                       "ollama or scripted")] = None,
    model: Annotated[str | None, typer.Option("--model", "-m", help="For --insights: the model name")] = None,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="tinytroupe.toml or config.ini",
                                                dir_okay=False)] = None,
) -> None:
    """Write one self-contained HTML report of a run (conversation, network, memory and cost, patterns and,
    with --insights, checked insights) to share: no script, nothing loaded from elsewhere."""
    from rich.console import Console

    from tinytroupe.errors import TinyTroupeError

    console = Console()
    if embedder not in EMBEDDERS:
        console.print(f"[bold red]Error:[/] --embedder {show(embedder)} is not one of: {', '.join(EMBEDDERS)}")
        raise typer.Exit(2)
    try:
        written, found = _write(path, output, run_id=run_id, title=title, insights=insights, budget=budget,
                                embedder=embedder, overrides={k: v for k, v in (("openai__api_type", backend),
                                                                                ("openai__model", model)) if v},
                                config=config)
    except TinyTroupeError as exc:
        console.print(f"[bold red]Error:[/] {show(str(exc))}")
        raise typer.Exit(1) from None
    console.print(f"wrote {show(str(written))} ({found})")


def _write(path: Path, output: Path, *, run_id: int | None, title: str | None, insights: bool, budget: int,
           embedder: str, overrides: dict[str, Any], config: Path | None) -> tuple[Path, str]:
    from tinytroupe.analysis.insight_generator import InsightGenerator
    from tinytroupe.analysis.patterns import detect_patterns
    from tinytroupe.analysis.report import write_report
    from tinytroupe.analysis.run_events import RunEvents
    from tinytroupe.config import load_settings
    from tinytroupe.embeddings import HashingEmbedder, USEEmbedder
    from tinytroupe.events import EventBus
    from tinytroupe.llm.factory import settings_prices

    settings = load_settings(config, **overrides)
    run = RunEvents.load(path, run_id=run_id)
    chosen = HashingEmbedder() if embedder == "hash" else USEEmbedder() if embedder == "use" else None
    patterns = detect_patterns(run, embedder=chosen)
    found = f"{len(run)} events, {len(patterns.findings())} findings"
    insight_report = None
    if insights:
        from tinytroupe.scenario.study import study_client

        client = study_client(settings, EventBus())
        insight_report = InsightGenerator(client, token_budget=budget).generate(run, patterns=patterns)
        found += f", {len(insight_report.supported)} of {len(insight_report.insights)} insights supported"
    written = write_report(run, output, title=title, patterns=patterns, insights=insight_report,
                           prices=settings_prices(settings))
    return written, found


def register(app: typer.Typer) -> None:
    """Add ``report`` to ``app``."""
    app.command()(report)


__all__ = ["register", "report"]
