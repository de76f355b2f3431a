"""YAML scenario files: a validated description of a study, and the runner that carries it out.

A scenario names its agents (example personas, persona files, inline personas, or a sampled
population), the world, a script of steps (broadcasts, stimuli, ``run``), and what to extract at the
end. Errors name the file, the line and the field.

* :mod:`~tinytroupe.scenario.model`: ``Scenario`` and its parts (``AgentEntry``, ``Population``,
  ``ScriptItem``, ``WorldSpec``, ``ExtractionSpec``, ``BackendSpec``).
* :mod:`~tinytroupe.scenario.loader`: ``load_scenario`` (file, line and field for every problem) and
  ``check_agent_references``.
* :mod:`~tinytroupe.scenario.runner`: ``build_agents``, ``build_world``, ``arun_scenario`` and its
  ``ScenarioResult``.
* :mod:`~tinytroupe.scenario.study`: a scenario file end to end as ``tinytroupe run`` does it (settings,
  client, executor, live display, progress, results and trace files); also importable as
  ``tinytroupe.study``.

Example (YAML)::

    name: Smart bottle focus group
    seed: 7
    agents:
      - example: lisa
      - example: oscar
    script:
      - broadcast: "What do you think of a bottle that reminds you to drink?"
      - run: 2
    extraction:
      question: "On a scale of 1 to 10, how likely would you buy it, and why?"
      fields:
        rating: {type: int, minimum: 1, maximum: 10}
        reason: {type: str}
"""

from tinytroupe.scenario.loader import check_agent_references, load_scenario
from tinytroupe.scenario.model import (
    AgentEntry,
    BackendSpec,
    ExtractionSpec,
    Population,
    Scenario,
    ScriptItem,
    WorldSpec,
)
from tinytroupe.scenario.runner import ScenarioResult, arun_scenario, build_agents, build_world

__all__ = [
    "AgentEntry",
    "BackendSpec",
    "ExtractionSpec",
    "Population",
    "Scenario",
    "ScenarioResult",
    "ScriptItem",
    "WorldSpec",
    "arun_scenario",
    "build_agents",
    "build_world",
    "check_agent_references",
    "load_scenario",
]
