"""A scenario file made ready to run under the debugger, optionally recorded in a run file.

:func:`open_scenario` loads the scenario and its settings as ``tinytroupe run`` does and builds its
client; with ``run_file`` it runs under a :class:`~tinytroupe.control.Simulation` (cache, trace,
checkpoints after each step, replay checks) and records what is needed to replay it (the scenario's
text, where it was, the backend, model and seed) in the run file, so ``tinytroupe replay RUNFILE``
needs nothing else.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> from tinytroupe.aio import run_sync
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "tea.yaml").write_text("name: Tea\\nagents: [{example: lisa}]\\nscript: [{run: 1}]\\n")
    >>> session = open_scenario(folder / "tea.yaml", backend="scripted", run_file=folder / "tea.sqlite")
    >>> world, result = run_sync(session.arun())
    >>> session.close()
    >>> result.steps, recorded_run(folder / "tea.sqlite").backend
    (1, 'scripted')
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from tinytroupe.aio import run_sync
from tinytroupe.config import Settings, resolved_api_type, using_settings
from tinytroupe.control.simulation import Simulation
from tinytroupe.environment.world import TinyWorld
from tinytroupe.errors import ConfigError
from tinytroupe.events import EventBus
from tinytroupe.llm.client import LLMClient
from tinytroupe.llm.demo import demo_backend
from tinytroupe.scenario.loader import load_scenario
from tinytroupe.scenario.model import Scenario
from tinytroupe.scenario.runner import ScenarioResult, arun_scenario
from tinytroupe.scenario.study import study_client, study_population_client, study_settings
from tinytroupe.storage.run_info import RunInfo

#: the run-info entry holding what a replay needs
RECORD_KEY = "scenario_run"
DEFAULT_ID = "default"


class RecordedRun(BaseModel):
    """What a run file says about the scenario run it holds."""

    scenario: str
    path: str
    backend: str | None = None
    model: str | None = None
    seed: int | None = None


@dataclass
class ScenarioSession:
    """A scenario ready to run once: its settings, client and bus (and simulation, with a run file)."""

    path: Path
    scenario: Scenario
    settings: Settings
    client: LLMClient
    bus: EventBus
    simulation: Simulation | None = None

    async def arun(self) -> tuple[TinyWorld, ScenarioResult]:
        """Build the scenario's agents and world and play it (the settings in force while it runs)."""
        with using_settings(self.settings):
            return await arun_scenario(self.scenario, client=self.client, base_dir=self.path.parent,
                                       population_client=study_population_client(self.settings))

    def close(self) -> None:
        """End the simulation (final checkpoint, trace committed) or close the client."""
        if self.simulation is not None:
            if self.simulation.active:
                self.simulation.end()
        else:
            run_sync(self.client.aclose())


def open_scenario(path: Path, *, config: Path | None = None, backend: str | None = None, model: str | None = None,
                  seed: int | None = None, run_file: Path | None = None, simulation_id: str = DEFAULT_ID,
                  scenario_text: str | None = None) -> ScenarioSession:
    """Load ``path`` (or ``scenario_text``, read as if it were at ``path``) with its settings; see the module.

    Raises:
        ScenarioError: the scenario is not valid. ConfigError: the configuration is not.
        StorageError: the run file cannot be opened or written.
    """
    scenario = _load(path, scenario_text)
    if seed is not None:
        scenario = scenario.model_copy(update={"seed": seed})
    settings = study_settings(scenario, config=config, backend=backend, model=model, seed=seed)
    settings = settings.model_copy(update={"simulation": settings.simulation.model_copy(
        update={"communication_display": False})})
    if run_file is None:
        bus = EventBus()
        return ScenarioSession(path, scenario, settings, study_client(settings, bus), bus)
    base = demo_backend(seed=settings.simulation.seed) if resolved_api_type(settings) == "scripted" else None
    sim = Simulation(run_file, id=simulation_id, seed=scenario.seed, backend=base, settings=settings, quiet=True,
                     auto_checkpoint=True).start()
    text = scenario_text if scenario_text is not None else path.read_text(encoding="utf-8")
    record = RecordedRun(scenario=text, path=str(path.resolve()), backend=backend, model=model, seed=seed)
    RunInfo(run_file).remember(simulation_id, RECORD_KEY, record.model_dump_json())
    return ScenarioSession(path, scenario, settings, sim.client, sim.bus, sim)


def _load(path: Path, text: str | None) -> Scenario:
    if text is None:
        return load_scenario(path)
    # Read from a file beside the original, so relative persona and data paths resolve as they did.
    folder = path.parent if path.parent.is_dir() else Path(tempfile.gettempdir())
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", dir=folder, delete=False, encoding="utf-8") as fh:
        fh.write(text)
    try:
        return load_scenario(Path(fh.name))
    finally:
        Path(fh.name).unlink()


def recorded_run(run_file: Path, simulation_id: str = DEFAULT_ID) -> RecordedRun:
    """What ``run_file`` recorded about its scenario run.

    Raises:
        ConfigError: the file holds no scenario run of ``simulation_id`` (it was made from Python, or is
            not a run file).
    """
    if not Path(run_file).is_file():
        raise ConfigError(f"no run file at {str(run_file)!r}")
    value = RunInfo(run_file).get(simulation_id, RECORD_KEY)
    if value is None:
        raise ConfigError(f"{str(run_file)!r} holds no scenario run of simulation {simulation_id!r}: record one with "
                          "`tinytroupe debug SCENARIO --run-file FILE`, or give the scenario with --scenario")
    data: dict[str, Any] = json.loads(value)
    return RecordedRun.model_validate(data)


__all__ = ["DEFAULT_ID", "RECORD_KEY", "RecordedRun", "ScenarioSession", "open_scenario", "recorded_run"]
