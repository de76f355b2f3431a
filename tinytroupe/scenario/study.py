"""Running a scenario file end to end, as ``tinytroupe run`` does: live display, progress, outputs.

Also importable as ``tinytroupe.study``, the path it had before it joined the scenario package.

Example (the scripted demo model; ``quiet`` and a console that writes nowhere keep it silent):
    >>> import io, tempfile
    >>> from pathlib import Path
    >>> from rich.console import Console
    >>> folder = Path(tempfile.mkdtemp())
    >>> scenario = folder / "tea.yaml"
    >>> _ = scenario.write_text('''
    ... name: Tea or coffee
    ... agents: [{example: lisa}, {example: oscar}]
    ... script: [{broadcast: "Tea or coffee?"}, {run: 1}]
    ... extraction: {question: "Which do you prefer, and why?", fields: {drink: {type: str}}}
    ... ''')
    >>> outputs = run_study(scenario, out=folder / "out", backend="scripted", quiet=True,
    ...                     console=Console(file=io.StringIO()))
    >>> {name: row["status"] for name, row in outputs.result.results.items()}
    {'Lisa Brennan': 'ok', 'Oscar Villanueva': 'ok'}
    >>> outputs.results_csv.name, outputs.trace.name
    ('results.csv', 'trace.jsonl')
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Collection, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markdown import Markdown
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from tinytroupe.aio import run_sync
from tinytroupe.config import Settings, load_settings, resolved_api_type, using_settings
from tinytroupe.environment.executors import Executor, LocalExecutor
from tinytroupe.errors import ConfigError
from tinytroupe.events import EventBus
from tinytroupe.extraction.results_extractor import save_results_csv
from tinytroupe.extraction.summary import summarize_results
from tinytroupe.extraction.summary_markdown import agent_table_markdown, summary_markdown
from tinytroupe.factory.offline import offline_backend
from tinytroupe.llm.backend import Backend
from tinytroupe.llm.batch import find_batch_wrapper
from tinytroupe.llm.budget import Budget
from tinytroupe.llm.client import LLMClient
from tinytroupe.llm.client_spec import ClientSpec
from tinytroupe.llm.demo import demo_backend
from tinytroupe.llm.factory import build_client, settings_budget, settings_prices
from tinytroupe.llm.prices import PriceTable
from tinytroupe.scenario.loader import load_scenario
from tinytroupe.scenario.model import Scenario

if TYPE_CHECKING:
    from tinytroupe.scenario.design_run import DesignedRun
from tinytroupe.scenario.runner import ScenarioResult
from tinytroupe.storage.batches import BatchStore
from tinytroupe.storage.jsonl_trace import JsonlTraceWriter
from tinytroupe.terminal import show
from tinytroupe.visualization.console import ConsoleDisplay

#: runs a study's coroutine, given the run's bus and prices, instead of ``run_sync`` (``tinytroupe run --dashboard``)
Watch = Callable[[Coroutine[Any, Any, Any], EventBus, PriceTable], Any]
#: rows of the per-agent table `tinytroupe run` prints; the files keep every row
TABLE_ROWS = 20
#: with more result rows than this (or a sampled population), `tinytroupe run` prints the results at a glance
GLANCE_MIN_ROWS = 10


@dataclass
class StudyOutputs:
    """What :func:`run_study` wrote, and what ``tinytroupe run`` prints: ``summary`` is the results at a
    glance (Markdown, no per-agent table) when the run has a population or many rows, else None."""

    results_json: Path
    results_csv: Path
    trace: Path
    result: ScenarioResult
    summary_md: Path | None = None
    summary: str | None = None
    #: the experiment's comparison and the validation, when the scenario has them, and their files
    design: DesignedRun | None = None
    design_files: list[Path] = field(default_factory=list)


def segment_column(path: str, fields: Collection[str]) -> str:
    """The results column of segment ``path``: the path itself, or ``persona.<path>`` when a field or a
    standard column has that name."""
    return f"persona.{path}" if path in fields or path in ("agent", "status", "error") else path


def glance_rows(result: ScenarioResult, fields: Collection[str] = ()) -> dict[str, dict[str, Any]]:
    """The result rows with each agent's segment values added (see :func:`segment_column`), in order."""
    return {name: {**row, **{segment_column(k, fields): v for k, v in result.segments.get(name, {}).items()}}
            for name, row in result.results.items()}


def _write_glance(scenario: Scenario, result: ScenarioResult, out: Path) -> tuple[Path | None, str | None]:
    """Write ``summary.md`` (every row) and return it with the console's summary (or None: too few rows)."""
    if not result.results or scenario.extraction is None:
        return None, None
    fields = scenario.extraction.fields
    rows = glance_rows(result, fields)
    summary = summarize_results(rows, fields, [segment_column(p, fields) for p in scenario.extraction.segment_by])
    text = summary_markdown(summary, f"Results at a glance · {scenario.name}")
    path = out / "summary.md"
    path.write_text(text + "\n\n" + agent_table_markdown(rows, None) + "\n", encoding="utf-8")
    shown = scenario.population is not None or len(rows) > GLANCE_MIN_ROWS
    return path, text if shown else None


def study_settings(scenario: Scenario, *, config: Path | None = None, backend: str | None = None,
                   model: str | None = None, seed: int | None = None) -> Settings:
    """Configuration for a run: the config file and environment, then the scenario, then the command line."""
    overrides: dict[str, Any] = {}
    spec = scenario.backend
    api_type = backend or spec.api_type
    if api_type is not None:
        overrides["openai__api_type"] = api_type
    if model or spec.model:
        overrides["openai__model"] = model or spec.model
    if spec.base_url:
        overrides["openai__base_url"] = spec.base_url
    if spec.temperature is not None:
        overrides["openai__temperature"] = spec.temperature
    run_seed = seed if seed is not None else scenario.seed
    if run_seed is not None:
        overrides["simulation__seed"] = run_seed
    return load_settings(config, **overrides)


def study_client(settings: Settings, bus: EventBus, *, budget: Budget | None = None,
                 prices: PriceTable | None = None, measure_prefixes: bool = False) -> LLMClient:
    """The client for a run; ``api_type=scripted`` means the deterministic demo model, whose answers
    depend on ``[Simulation] SEED`` (``--seed``) as a real model's sampling would. A ``budget`` with a
    limit (priced with ``prices``) refuses the call that could pass it; ``measure_prefixes`` adds a
    :class:`~tinytroupe.llm.prefix.PrefixMeter`."""
    backend = demo_backend(seed=settings.simulation.seed) if resolved_api_type(settings) == "scripted" else None
    return build_client(settings, bus=bus, backend=backend, budget=budget, prices=prices,
                        measure_prefixes=measure_prefixes)


def study_population_client(settings: Settings) -> LLMClient | None:
    """The client a generated population is written with: the run's (None), except with
    ``api_type=scripted``, whose demo model writes sentences where names go: then the offline
    population model (:func:`~tinytroupe.factory.offline_backend`), whose people mean nothing."""
    return LLMClient(offline_backend()) if resolved_api_type(settings) == "scripted" else None


EXECUTORS = ("local", "ray")


def study_executor(kind: str, settings: Settings, *, address: str | None = None,
                   workers: int | None = None) -> Executor:
    """The executor for a run: ``local`` (asyncio in this process) or ``ray`` (``workers`` Ray actors,
    on a local Ray instance or the cluster at ``address``), whose actors build the run's client."""
    if kind == "local":
        if address is not None or workers is not None:
            raise ConfigError("--ray-address and --workers only apply to --executor ray", key="executor")
        return LocalExecutor()
    if kind == "ray":
        from tinytroupe.environment.distributed.ray_actors import RayExecutor

        # The same backend as study_client: the demo model for api_type=scripted, else the settings'.
        factory: Callable[[], Backend] | None = None
        if resolved_api_type(settings) == "scripted":
            seed = settings.simulation.seed
            factory = demo_backend if seed is None else functools.partial(demo_backend, seed=seed)
        return RayExecutor(num_workers=workers if workers is not None else 2, address=address,
                           client_spec=ClientSpec.from_settings(settings, backend_factory=factory))
    raise ConfigError(f"unknown executor {kind!r}; use one of: {', '.join(EXECUTORS)}", key="executor")


def _batch_store(client: LLMClient, out: Path) -> BatchStore:
    """Record ``client``'s provider batches (``tinytroupe run --batch``) in ``out/batches.sqlite``: the same
    command run again after an interruption polls the batches it left instead of paying again.

    Raises:
        ConfigError: the client's backend has no batch API.
    """
    wrapper = find_batch_wrapper(client)
    store = BatchStore(out / "batches.sqlite")
    wrapper.store = store
    return store


def _load_for_study(path: Path, *, config: Path | None, backend: str | None, model: str | None,
                    seed: int | None) -> tuple[Scenario, Settings]:
    scenario = load_scenario(path)
    if seed is not None:
        scenario = scenario.model_copy(update={"seed": seed})
    settings = study_settings(scenario, config=config, backend=backend, model=model, seed=seed)
    # This study shows the conversation itself (or nothing, with quiet): its worlds must not add their own.
    return scenario, settings.model_copy(update={"simulation": settings.simulation.model_copy(
        update={"communication_display": False})})


def run_study(path: Path, *, out: Path, config: Path | None = None, backend: str | None = None,
              model: str | None = None, seed: int | None = None, console: Console | None = None,
              quiet: bool = False, executor: str = "local", ray_address: str | None = None,
              workers: int | None = None, budget: Budget | None = None,
              prices_file: Path | None = None, batch: bool = False, watch: Watch | None = None) -> StudyOutputs:
    """Load, run and save a scenario. Raises ScenarioError / ConfigError / LLMError on bad input.

    ``executor``: ``local`` or ``ray`` (see :func:`study_executor`). ``budget`` (default: ``[Budget]``)
    stops the run before a call that could pass it, writing everything so far (``result.stopped``
    says why; Ray workers' own clients are neither limited nor measured). ``prices_file`` (default: ``[Budget]
    PRICES_FILE``) is laid over the built-in price table. ``batch``: provider batches, see
    :func:`_batch_store`. ``watch(run, bus, prices)``, when given, runs the study's coroutine instead of
    ``run_sync`` (the dashboard: it serves the bus's events and drives the run under its controls).
    """
    from tinytroupe.scenario.design_run import arun_designed, save_design_outputs  # scipy: not at import
    console = console or Console()
    scenario, settings = _load_for_study(path, config=config, backend=backend, model=model, seed=seed)
    prices, bus = settings_prices(settings, prices_file), EventBus()
    turns_executor = study_executor(executor, settings, address=ray_address, workers=workers)
    client = study_client(settings, bus, budget=budget if budget is not None else settings_budget(settings),
                          prices=prices, measure_prefixes=executor == "local")  # Ray workers call on their own
    out.mkdir(parents=True, exist_ok=True)
    store = _batch_store(client, out) if batch else None
    trace_path = out / "trace.jsonl"
    writer = JsonlTraceWriter(trace_path).attach(bus)
    display = None if quiet else ConsoleDisplay(console).attach(bus)
    described = client.describe()
    console.print(f"[bold]{show(scenario.name)}[/] · backend [cyan]{show(str(described.get('backend')))}[/] · model "
                  f"[cyan]{show(str(described.get('model', '?')))}[/] · seed {scenario.seed}")
    try:
        start = getattr(turns_executor, "start", None)
        if start is not None:
            start()  # Ray's start-up (seconds) before the progress bar, on the main thread
        with Progress(TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=console, transient=True, disable=quiet) as progress:
            task = progress.add_task("steps", total=scenario.total_steps + (1 if scenario.extraction
                                                                            and scenario.extraction.question else 0))

            def on_step(done: int, total: int) -> None:
                progress.update(task, completed=done)

            with using_settings(settings):
                run = arun_designed(scenario, client=client, base_dir=path.parent, on_step=on_step,
                                    executor=turns_executor, prices=prices, batch=batch,
                                    population_client=study_population_client(settings))
                design = run_sync(run) if watch is None else watch(run, bus, prices)
            result = design.result
    finally:
        _close_study(turns_executor, client, writer, store, display)
    results_json = out / "results.json"
    results_json.write_text(json.dumps(result.model_dump(mode="json"), indent=2, ensure_ascii=False),
                            encoding="utf-8")
    results_csv = out / "results.csv"
    save_results_csv(result.results, results_csv)
    summary_md, summary = _write_glance(scenario, result, out)
    return StudyOutputs(results_json=results_json, results_csv=results_csv, trace=trace_path, result=result,
                        summary_md=summary_md, summary=summary, design=design,
                        design_files=save_design_outputs(design, out) + save_world_tables(result, out))


def save_world_tables(result: ScenarioResult, out: Path) -> list[Path]:
    """``world_<name>.csv`` for each of a specialised world's metrics tables (``result.world_metrics``)."""
    import pandas as pd  # only a specialised world's run pays for it here

    written = []
    for name, rows in result.world_metrics.items():
        path = out / f"world_{name}.csv"
        pd.DataFrame.from_records(rows).to_csv(path, index=False)
        written.append(path)
    return written


def _close_study(turns_executor: Any, client: LLMClient, writer: JsonlTraceWriter, store: Any,
                 display: ConsoleDisplay | None) -> None:
    run_sync(turns_executor.aclose())
    # Connections left open are finalised by the garbage collector whenever it runs; on the shared
    # loop that can stall a later study's requests until their timeout.
    run_sync(client.aclose())
    writer.close()
    if store is not None:
        store.close()
    if display is not None:
        display.detach()


def cost_lines(result: ScenarioResult) -> list[str]:
    """The run summary's cost figures as console lines: dollars, results and cost per result, and how
    much of each prompt repeated the previous call's beginning (what providers can cache).

    Example:
        >>> cost_lines(ScenarioResult(scenario="s", cost_usd=0.5, result_count=2, cost_per_result_usd=0.25,
        ...                           cost_note="built-in prices"))
        ['cost $0.5000 · 2 results · $0.2500 per result (built-in prices)']
    """
    dollars = "unknown" if result.cost_usd is None else f"${result.cost_usd:.4f}"
    per = "unknown" if result.cost_per_result_usd is None else f"${result.cost_per_result_usd:.4f}"
    lines = [f"cost {dollars} · {result.result_count} results · {per} per result ({show(result.cost_note)})"]
    p = result.prefix
    if p is not None and p.calls:
        lines.append(f"prompt prefix repeated: {p.mean_share_same_agent:.0%} of a prompt on average with the same "
                     f"agent's previous call, {p.mean_share_any:.0%} with the previous call; "
                     f"{p.cacheable_same_agent} of {p.calls} calls reach {p.min_prefix_tokens:,} tokens "
                     "(cacheable by providers)")
    return lines


def print_design(console: Console, run: DesignedRun | None, files: list[Path]) -> None:
    """An experiment's and a validation's tables (:mod:`tinytroupe.scenario.design_tables`), and their files."""
    if run is not None:
        from tinytroupe.scenario.design_tables import print_design as show_design

        show_design(console, run, files)


def stop_line(result: ScenarioResult) -> str:
    """What a run stopped by its budget says: where, why, and what was spent."""
    cost = result.cost
    dollars = "unknown" if result.cost_usd is None else f"${result.cost_usd:.4f}"
    return (f"[bold yellow]Stopped by the budget[/] after {result.steps} completed step"
            f"{'s' if result.steps != 1 else ''}: {show(result.stopped or '')}. Spent: {cost.get('calls', 0)} "
            f"calls, {cost.get('total_tokens', 0)} tokens, {dollars}; what was done so far is in the files above")


def print_results(console: Console, outputs: StudyOutputs, max_rows: int = TABLE_ROWS) -> None:
    """The results at a glance (when there are many), then the per-agent table's first ``max_rows`` rows."""
    if outputs.summary is not None:
        console.print(Markdown(outputs.summary))
    if outputs.result.results:
        console.print(results_table(outputs.result, max_rows=max_rows, results_file=outputs.results_csv.name))


def results_table(result: ScenarioResult, max_width: int = 70, max_rows: int | None = None,
                  results_file: str = "results.csv") -> Table:
    """The extracted results as a rich table, one row per agent: the first ``max_rows`` (None: all), with
    a caption saying how many more ``results_file`` holds."""
    rows = list(result.results.items())
    more = len(rows) - max_rows if max_rows is not None and len(rows) > max_rows else 0
    table = Table(title=f"Results · {show(result.scenario)}" + (f" (first {max_rows} of {len(rows)})" if more else ""),
                  caption=f"({more} more in the file {show(results_file)})" if more else None)
    columns: list[str] = []
    for values in result.results.values():
        columns += [k for k in values if k not in columns]
    table.add_column("agent", style="bold")
    for col in columns:
        table.add_column(show(col), max_width=max_width)
    for name, values in rows[: len(rows) - more]:
        # Cells hold model output: escaped, or a "[...]" in an answer would be read as markup.
        table.add_row(show(name), *(show("; ".join(map(str, v)) if isinstance(v, list) else str(v))
                                    for v in (values.get(c, "") for c in columns)))
    return table


__all__ = [
    "EXECUTORS",
    "GLANCE_MIN_ROWS",
    "TABLE_ROWS",
    "StudyOutputs",
    "Watch",
    "cost_lines",
    "glance_rows",
    "print_design",
    "print_results",
    "results_table",
    "run_study",
    "segment_column",
    "stop_line",
    "study_client",
    "study_executor",
    "study_population_client",
    "study_settings",
]
