"""The ``tinytroupe`` command line (typer).

Each command is a small function (here, or a sub-module's ``register``) that calls library code and exits.

Example:
    >>> from typer.testing import CliRunner
    >>> CliRunner().invoke(app, ["--version"]).output.startswith("tinytroupe ")
    True
"""

from __future__ import annotations

import logging
import os
import time
import warnings
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from tinytroupe import __version__
from tinytroupe.analysis.commands import register as register_analysis
from tinytroupe.dashboard.commands import register as register_dashboard
from tinytroupe.devtools.commands import register as register_devtools
from tinytroupe.terminal import show

if TYPE_CHECKING:  # the commands import what they need when they run: --help stays fast
    from tinytroupe.scenario.study import StudyOutputs

BACKENDS = ("local", "openai", "azure", "ollama", "scripted", "auto")
EXECUTORS = ("local", "ray")  # tinytroupe.scenario.study.EXECUTORS, repeated so that --help imports nothing heavy

app = typer.Typer(
    name="tinytroupe",
    help="LLM-powered persona simulation: simulated people in worlds, focus groups and surveys.",
    no_args_is_help=True, add_completion=False,
    pretty_exceptions_show_locals=False,  # locals may hold settings with secrets
)

ConfigOption = Annotated[Path | None, typer.Option("--config", "-c", dir_okay=False, help="tinytroupe.toml or "
                                                   "config.ini (default: $TINYTROUPE_CONFIG, then ./tinytroupe.toml, "
                                                   "then ./config.ini)")]


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


EXIT_SOME_FAILED = 3  #: ``run`` wrote its results, but some agents have none (their turn or extraction failed)
EXIT_BUDGET = 4  #: ``run`` stopped before a call that could pass its budget (everything so far is written)
EXIT_INTERRUPTED = 130  #: Ctrl-C, as shells report a process ended by SIGINT


def _fail(console: Any, message: str, code: int = 2) -> NoReturn:
    console.print(f"[bold red]Error:[/] {show(message)}")
    raise typer.Exit(code)


@contextmanager
def _compat_notes(console: Any) -> Iterator[None]:
    """While a command runs, a TinyTroupeCompatibilityWarning is one ``Note:`` line on ``console``
    instead of Python's warning with a source line of library code; other warnings show as usual.

    Scoped to the command (``catch_warnings`` restores the hook): library users keep normal warnings.
    """
    from tinytroupe.config import TinyTroupeCompatibilityWarning

    with warnings.catch_warnings():
        shown = warnings.showwarning

        def note(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                 file: Any = None, line: str | None = None) -> None:
            if issubclass(category, TinyTroupeCompatibilityWarning):
                console.print(f"[yellow]Note:[/] {show(str(message))}")
            else:
                shown(message, category, filename, lineno, file, line)

        warnings.showwarning = note
        yield


@contextmanager
def _library_log(*, shown_live: Collection[str] = ()) -> Iterator[None]:
    """While a command runs, tinytroupe's log warnings go to stderr as plain lines, except a record that
    repeats an event the live display prints (its ``event_kind`` in ``shown_live``): a failed turn is
    then said once as it happens (and once in the closing summary), not a third time as a log line.

    The library configures no logging; without a handler Python's last-resort one would print every
    warning, duplicates included. The handler is removed again, so a host process is left as it was.
    """
    logger = logging.getLogger("tinytroupe")
    handler = logging.StreamHandler()  # sys.stderr as it is now (a test runner's, under one)
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.addFilter(lambda record: getattr(record, "event_kind", None) not in shown_live)
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)


@app.command()
# layout: typer declares each option as a parameter; the body only checks them and hands over
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
    estimate: Annotated[bool, typer.Option("--estimate", help="Print the predicted calls, tokens and cost, and "
                                           "exit without calling any model (no API key needed).")] = False,
    prices: Annotated[Path | None, typer.Option("--prices", help="A TOML or JSON price table ($ per 1M tokens "
                                                "per model), laid over the built-in one.", dir_okay=False)] = None,
    budget: Annotated[float | None, typer.Option("--budget", min=0.000001,
                                                 help="Stop before a call that could pass this many US dollars.")
                      ] = None,
    max_calls: Annotated[int | None, typer.Option("--max-calls", min=1, help="Stop before call N+1 to the model.")
                         ] = None,
    max_tokens: Annotated[int | None, typer.Option("--max-tokens", min=1, help="Stop before a call that could "
                                                   "pass this many tokens (prompt + completion).")] = None,
    batch: Annotated[bool, typer.Option("--batch", help="Send each step's LLM calls as one OpenAI or Azure "
                                        "OpenAI Batch API batch (about half the price, slower); recorded in "
                                        "--out/batches.sqlite so running the same command again resumes "
                                        "waiting batches.")] = False,
    dashboard: Annotated[bool, typer.Option("--dashboard", help="Watch and steer it in a browser.")] = False,
) -> None:
    """Run a scenario: show the conversation live, then the results (at a glance for a population) and the
    table's first rows; write results.json, results.csv, trace.jsonl and summary.md into --out. Exit 0 when
    every agent answered, 3 when some have no result (their rows say why), 4 when the budget stopped the run
    (what was done so far is written), 1 for bad input or configuration. With --estimate, print what the run
    would use and exit 0 without running it."""
    from rich.console import Console

    from tinytroupe.dashboard.live import live_watch
    from tinytroupe.errors import TinyTroupeError
    from tinytroupe.llm.budget import Budget
    from tinytroupe.scenario.study import run_study

    console = Console()
    out_dir = out if out is not None else Path("runs") / scenario.stem
    if backend is not None and backend not in BACKENDS:
        _fail(console, f"--backend {backend!r} is not one of: {', '.join(BACKENDS)}")
    if estimate:
        _estimate(console, scenario, config=config, backend=backend, model=model, seed=seed, prices=prices)
        return
    if executor not in EXECUTORS:
        _fail(console, f"--executor {executor!r} is not one of: {', '.join(EXECUTORS)}")
    if executor != "ray" and (ray_address is not None or workers is not None):
        _fail(console, "--ray-address and --workers only apply to --executor ray")
    _check_out_dir(console, out_dir)
    started = time.time()
    try:
        # The live display prints every failed turn (AgentErrorEvent); -q has no live display.
        with _compat_notes(console), _library_log(shown_live=frozenset() if quiet else {"agent_error"}):
            outputs = run_study(scenario, out=out_dir, config=config, backend=backend, model=model, seed=seed,
                                console=console, quiet=quiet, executor=executor, ray_address=ray_address,
                                workers=workers, budget=Budget.of(budget, max_calls, max_tokens), prices_file=prices,
                                batch=batch, watch=live_watch(console) if dashboard else None)
    except TinyTroupeError as exc:
        _fail(console, str(exc), 1)
    except KeyboardInterrupt:
        # run_sync has already cancelled the turns (retries stop, connections close); say what is kept.
        console.print(f"[bold yellow]Interrupted[/]: {_interrupted_note(out_dir, started)}")
        raise typer.Exit(EXIT_INTERRUPTED) from None
    _report(console, outputs)


def _estimate(console: Any, path: Path, *, config: Path | None, backend: str | None, model: str | None,
              seed: int | None, prices: Path | None) -> None:
    """Print the estimate of a scenario (no model is called, nothing is written)."""
    from tinytroupe.errors import TinyTroupeError
    from tinytroupe.llm.factory import settings_prices
    from tinytroupe.scenario.estimate import estimate_scenario, print_estimate
    from tinytroupe.scenario.loader import load_scenario
    from tinytroupe.scenario.study import study_settings

    try:
        with _compat_notes(console):
            loaded = load_scenario(path)
            settings = study_settings(loaded, config=config, backend=backend, model=model, seed=seed)
            est = estimate_scenario(loaded, settings=settings, prices=settings_prices(settings, prices),
                                    base_dir=path.parent)
    except TinyTroupeError as exc:
        _fail(console, str(exc), 1)
    print_estimate(est, console)


def _report(console: Any, outputs: StudyOutputs) -> None:
    """What a finished run shows: the results table, failed turns, cost, the files written, and who has
    no result (then the exit status says so)."""
    from tinytroupe.scenario.study import cost_lines, print_design, print_results, stop_line

    result = outputs.result
    print_results(console, outputs)
    for err in result.errors:
        if err["error_type"] == "BudgetExceeded":
            continue  # the closing line says once where the budget stopped the run
        console.print(f"[yellow]! turn failed: agent {err['agent']} step {err['step']}: "
                      f"{show(err['error_type'])}: {show(err['message'][:300])}[/]")
    cost = result.cost
    steps = f"{result.steps} step{'s' if result.steps != 1 else ''}"
    console.print(f"{steps} in {result.wall_s:.1f} s · {cost.get('calls', 0)} LLM calls "
                  f"({cost.get('cached_calls', 0)} cached) · {cost.get('total_tokens', 0)} tokens")
    for line in cost_lines(result):
        console.print(line)
    wrote = [outputs.results_json, outputs.results_csv, outputs.trace, *filter(None, [outputs.summary_md])]
    console.print(f"Wrote {', '.join(map(str, wrote[:-1]))} and {wrote[-1]}")
    print_design(console, outputs.design, outputs.design_files)
    if result.stopped is not None:
        console.print(stop_line(result))
        raise typer.Exit(EXIT_BUDGET)
    if result.failed:
        total = len(result.results) or result.failed
        what = "have no result" if result.results else "failed their last turn"
        kept = "no agent answered" if result.failed >= total else "the others' answers are kept"
        console.print(f"[bold red]{result.failed} of {total} agents {what}[/] (status 'failed' with the error "
                      f"in {outputs.results_csv.name}); {kept}")
        raise typer.Exit(EXIT_SOME_FAILED)


#: the files `tinytroupe run` writes into --out
OUTPUT_FILES = ("results.json", "results.csv", "trace.jsonl", "summary.md")


def _interrupted_note(out_dir: Path, started: float) -> str:
    """What an interrupted run leaves in ``out_dir``, telling this run's files from an earlier run's."""
    def this_run(path: Path) -> bool:
        return path.is_file() and path.stat().st_mtime >= started

    trace_file, results = out_dir / "trace.jsonl", out_dir / "results.json"
    note = "no results were written"
    if results.is_file() and not this_run(results):
        note += f" ({results} is from an earlier run)"
    if this_run(trace_file):
        note += f"; the events so far are in {trace_file}"
    return note + "."


def _check_out_dir(console: Any, out_dir: Path) -> None:
    """Refuse an output folder the results could not be written to, before anything is paid for."""
    import tempfile

    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        _fail(console, f"--out {out_dir}: cannot create the output folder ({exc.strerror or exc}); "
                       "choose a folder you can write to", 1)
    for name in OUTPUT_FILES:
        target = out_dir / name
        if target.exists() and not target.is_file():
            _fail(console, f"--out {out_dir}: {target} exists and is not a file, so the results could not be "
                           "written there; move it or choose another folder", 1)
        if target.is_file() and not os.access(target, os.W_OK):
            _fail(console, f"--out {out_dir}: {target} exists and cannot be overwritten (read-only); "
                           "make it writable or choose another folder", 1)
    try:
        with tempfile.NamedTemporaryFile(dir=out_dir, prefix=".write-check-"):
            pass
    except OSError as exc:
        _fail(console, f"--out {out_dir}: cannot write there ({exc.strerror or exc}); choose a folder you "
                       "can write to", 1)


@app.command()
def chat(
    persona: Annotated[str, typer.Argument(help="A .agent.json file, or an example persona name (lisa, oscar, ...)")],
    backend: Annotated[str | None, typer.Option("--backend", "-b", help="local (embedded model), openai, azure, "
                                                "ollama, or scripted (a demo model); default: the config's")] = None,
    model: Annotated[str | None, typer.Option("--model", "-m", help="Model name for API backends.")] = None,
    tool: Annotated[list[str] | None, typer.Option("--tool", "-t", help="Give the persona a tool: a core tool "
                    "(word_processor, calendar, email, web_search, database) or module:Class; repeatable")] = None,
    config: ConfigOption = None,
) -> None:
    """Talk to one persona interactively (type /quit to leave); with --tool it may use tools."""
    from rich.console import Console

    from tinytroupe.agent.person import TinyPerson
    from tinytroupe.chat_session import chat_loop, chat_tools, load_chat_persona
    from tinytroupe.config import load_settings
    from tinytroupe.errors import TinyTroupeError
    from tinytroupe.events import EventBus
    from tinytroupe.scenario.study import study_client

    console = Console()
    if backend is not None and backend not in BACKENDS:
        _fail(console, f"--backend {backend!r} is not one of: {', '.join(BACKENDS)}")
    overrides: dict[str, Any] = {k: v for k, v in (("openai__api_type", backend), ("openai__model", model)) if v}
    with _compat_notes(console):
        try:
            p, tools = load_chat_persona(persona), chat_tools(tool or [], console)
            client = study_client(settings := load_settings(config, **overrides), EventBus())
        except TinyTroupeError as exc:
            _fail(console, str(exc), 1)
        chat_loop(TinyPerson(p.name, persona=p, client=client), console.input, console, tools=tools,
                  settings=settings.chat)


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
    if path.suffix == ".jsonl":
        _fail(console, f"{path} is the event log `tinytroupe run` writes (one JSON object per line; read it "
                       "with pandas.read_json(path, lines=True) or jq). `tinytroupe trace` reads a run file "
                       "written by control.begin(), e.g. study.sqlite", 1)
    try:
        with Trace(path, run_id=run_id) as reader:
            summary = reader.summary()
    except TinyTroupeError as exc:
        _fail(console, str(exc), 1)
    if json_output:
        typer.echo(json.dumps(summary, indent=2))
        return
    console.print(f"[bold]{show(summary['path'])}[/] · simulation {show(str(summary['simulation_id']))} · "
                  f"run {summary['run_id']} ({show(str(summary['status']))})")
    console.print(f"agents: {summary['agents']} · worlds: {show(', '.join(summary['worlds']) or '-')} · "
                  f"steps: {summary['steps']}")
    console.print(f"LLM calls: {summary['llm_calls']} ({summary['cached_calls']} cached) · tokens: "
                  f"{summary['prompt_tokens']} prompt + {summary['completion_tokens']} completion "
                  f"(paid: {summary['paid_prompt_tokens']} + {summary['paid_completion_tokens']})")
    console.print(f"errors: {summary['errors']} · events: {summary['events']} "
                  + show(json.dumps(summary["events_by_kind"], sort_keys=True)))


register_devtools(app)  # debug, inspect, replay (tinytroupe/devtools/commands.py)
register_dashboard(app)  # dashboard (tinytroupe/dashboard/commands.py)
register_analysis(app)  # report (tinytroupe/analysis/commands.py)

__all__ = ["app"]
