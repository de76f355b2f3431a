"""The ``tinytroupe`` command line (typer).

Each command is a small function here that calls library code (``tinytroupe.doctor`` ...) and turns
its result into output and an exit code; new commands are added with ``@app.command()``.

Example:
    >>> from typer.testing import CliRunner
    >>> CliRunner().invoke(app, ["--version"]).output.startswith("tinytroupe ")
    True
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.markup import escape

from tinytroupe import __version__

BACKENDS = ("local", "openai", "azure", "ollama", "scripted", "auto")
EXECUTORS = ("local", "ray")  # tinytroupe.study.EXECUTORS, repeated so that --help imports nothing heavy

app = typer.Typer(
    name="tinytroupe",
    help="LLM-powered persona simulation: simulated people in worlds, focus groups and surveys.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,  # locals may hold settings with secrets
)

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="tinytroupe.toml or config.ini (default: $TINYTROUPE_CONFIG, "
                                        "then ./tinytroupe.toml, then ./config.ini)",
                 dir_okay=False),
]


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"tinytroupe {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[bool, typer.Option("--version", callback=_show_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """tinytroupe: LLM-powered persona simulation."""
    # A callback keeps typer from collapsing a one-command app into that command.


@app.command()
def doctor(
    config: ConfigOption = None,
    no_call: Annotated[bool, typer.Option("--no-call", help="Skip the test call (no network, no model load).")
                       ] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print a machine-readable JSON report.")
                           ] = False,
    timeout: Annotated[float, typer.Option("--timeout", min=0.1, help="Seconds the test call may take.")]
    = 60.0,
) -> None:
    """Check the configuration and the model backend, with one test call; exit 1 if anything is wrong."""
    # Imported here so that `tinytroupe --help` stays fast.
    from rich.console import Console

    from tinytroupe.doctor import render_report, run_doctor

    report = run_doctor(config_path=config, call=not no_call, timeout_s=timeout)
    if json_output:
        typer.echo(report.model_dump_json(indent=2))
    else:
        render_report(report, Console())
    raise typer.Exit(0 if report.ok else 1)


BackendOption = Annotated[
    str | None,
    typer.Option("--backend", "-b", help="local (embedded model), openai, azure, ollama, or scripted "
                                         "(a deterministic demo model); default: the scenario's, then the config's"),
]


def _fail(console: Any, message: str, code: int = 2) -> NoReturn:
    console.print(f"[bold red]Error:[/] {escape(message)}")
    raise typer.Exit(code)


@app.command()
def run(
    scenario: Annotated[Path, typer.Argument(help="A scenario YAML file, e.g. examples/focus_group.yaml",
                                             dir_okay=False)],
    backend: BackendOption = None,
    model: Annotated[str | None, typer.Option("--model", "-m", help="Model name for API backends.")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Override the scenario's seed.")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Output folder (default: runs/<scenario name>).",
                                             file_okay=False)] = None,
    config: ConfigOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No live conversation or progress bar.")] = False,
    executor: Annotated[str, typer.Option("--executor", "-e", help="Where agent turns run: local (asyncio, "
                                          "default) or ray (Ray actors; needs the 'distributed' extra).")
                        ] = "local",
    ray_address: Annotated[str | None, typer.Option("--ray-address", help="Ray cluster to join, e.g. auto or "
                                                    "ray://head:10001 (default: start a local Ray instance).")
                           ] = None,
    workers: Annotated[int | None, typer.Option("--workers", min=1, help="Ray actors (default 2).")] = None,
) -> None:
    """Run a scenario: show the conversation live, then a results table; write results.json, results.csv and
    trace.jsonl into --out."""
    from rich.console import Console

    from tinytroupe.errors import TinyTroupeError
    from tinytroupe.study import results_table, run_study

    console = Console()
    out_dir = out if out is not None else Path("runs") / scenario.stem
    if backend is not None and backend not in BACKENDS:
        _fail(console, f"--backend {backend!r} is not one of: {', '.join(BACKENDS)}")
    if executor not in EXECUTORS:
        _fail(console, f"--executor {executor!r} is not one of: {', '.join(EXECUTORS)}")
    if executor != "ray" and (ray_address is not None or workers is not None):
        _fail(console, "--ray-address and --workers only apply to --executor ray")
    try:
        outputs = run_study(scenario, out=out_dir, config=config, backend=backend, model=model, seed=seed,
                            console=console, quiet=quiet, executor=executor, ray_address=ray_address,
                            workers=workers)
    except TinyTroupeError as exc:
        _fail(console, str(exc), 1)
    result = outputs.result
    if result.results:
        console.print(results_table(result))
    for err in result.errors:
        console.print(f"[yellow]! turn failed: agent {err['agent']} step {err['step']}: "
                      f"{escape(err['error_type'])}: {escape(err['message'][:300])}[/]")
    cost = result.cost
    steps = f"{result.steps} step{'s' if result.steps != 1 else ''}"
    console.print(f"{steps} in {result.wall_s:.1f} s · {cost.get('calls', 0)} LLM calls "
                  f"({cost.get('cached_calls', 0)} cached) · {cost.get('total_tokens', 0)} tokens")
    console.print(f"Wrote {outputs.results_json}, {outputs.results_csv} and {outputs.trace}")


@app.command()
def chat(
    persona: Annotated[str, typer.Argument(help="A .agent.json file, or an example persona name (lisa, oscar, ...)")],
    backend: Annotated[str | None, typer.Option("--backend", "-b", help="local (embedded model), openai, azure, "
                                                "ollama, or scripted (a demo model); default: the config's")] = None,
    model: Annotated[str | None, typer.Option("--model", "-m", help="Model name for API backends.")] = None,
    config: ConfigOption = None,
) -> None:
    """Talk to one persona interactively (type /quit to leave)."""
    from rich.console import Console

    from tinytroupe.agent.person import TinyPerson
    from tinytroupe.chat_session import chat_loop, load_chat_persona
    from tinytroupe.config import load_settings
    from tinytroupe.errors import TinyTroupeError
    from tinytroupe.events import EventBus
    from tinytroupe.study import study_client

    console = Console()
    if backend is not None and backend not in BACKENDS:
        _fail(console, f"--backend {backend!r} is not one of: {', '.join(BACKENDS)}")
    overrides: dict[str, Any] = {}
    if backend:
        overrides["openai__api_type"] = backend
    if model:
        overrides["openai__model"] = model
    try:
        p = load_chat_persona(persona)
        client = study_client(load_settings(config, **overrides), EventBus())
    except TinyTroupeError as exc:
        _fail(console, str(exc), 1)
    agent = TinyPerson(p.name, persona=p, client=client)
    chat_loop(agent, console.input, console)



@app.command()
def trace(
    path: Annotated[Path, typer.Argument(help="A run file written by control.begin() (e.g. tinytroupe-default.sqlite)",
                                         dir_okay=False)],
    run_id: Annotated[int | None, typer.Option("--run", help="Which run in the file (default: the latest).")
                      ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print a machine-readable JSON summary.")] = False,
) -> None:
    """Summarise a simulation's trace: agents, steps, LLM calls, tokens, errors."""
    import json

    from rich.console import Console

    from tinytroupe.errors import TinyTroupeError
    from tinytroupe.storage.trace_store import Trace

    console = Console()
    try:
        with Trace(path, run_id=run_id) as reader:
            summary = reader.summary()
    except TinyTroupeError as exc:
        _fail(console, str(exc), 1)
    if json_output:
        typer.echo(json.dumps(summary, indent=2))
        return
    console.print(f"[bold]{escape(summary['path'])}[/] · simulation {escape(str(summary['simulation_id']))} · "
                  f"run {summary['run_id']} ({escape(str(summary['status']))})")
    console.print(f"agents: {summary['agents']} · worlds: {escape(', '.join(summary['worlds']) or '-')} · "
                  f"steps: {summary['steps']}")
    console.print(f"LLM calls: {summary['llm_calls']} ({summary['cached_calls']} cached) · tokens: "
                  f"{summary['prompt_tokens']} prompt + {summary['completion_tokens']} completion "
                  f"(paid: {summary['paid_prompt_tokens']} + {summary['paid_completion_tokens']})")
    console.print(f"errors: {summary['errors']} · events: {summary['events']} "
                  + escape(json.dumps(summary["events_by_kind"], sort_keys=True)))


__all__ = ["app"]
