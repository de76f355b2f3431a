"""A scenario's generated population (``population: {from_demographics: ...}`` or ``population:
{factory: ...}``): the people written by :class:`~tinytroupe.factory.TinyPersonFactory` through the
run's client, so a run file records the calls and a re-run replays them.

The people are generated once per run and returned as personas: an experiment builds fresh agents
from them for each arm and replication, so every arm meets the same people.
"""

from __future__ import annotations

from pathlib import Path

from tinytroupe.agent.persona import Persona
from tinytroupe.errors import PopulationGenerationError, ScenarioError
from tinytroupe.factory import TinyPersonFactory
from tinytroupe.factory.demography import demography_inputs
from tinytroupe.llm.client import LLMClient
from tinytroupe.scenario.model import Population, Scenario


def population_factory(scenario: Scenario, base_dir: Path, client: LLMClient | None) -> TinyPersonFactory | None:
    """The factory of ``scenario``'s generated population (None: no population, or a hand-made one).

    Raises:
        ScenarioError: the demographics file is missing or invalid (file, line and field).
    """
    pop = scenario.population
    if pop is None or not pop.generated:
        return None
    seed = pop.seed if pop.seed is not None else scenario.seed
    detail = pop.detail or "full"
    if pop.factory is not None:
        return TinyPersonFactory(pop.factory.description, pop.people, context=pop.context, client=client, seed=seed,
                                 persona_detail=detail)
    assert pop.from_demographics is not None
    return TinyPersonFactory.create_factory_from_demography(base_dir / pop.from_demographics, pop.people,
                                                            context=pop.context, client=client, seed=seed,
                                                            persona_detail=detail)


def factory_calls(population: Population, base_dir: Path) -> tuple[int, int]:
    """``(plan calls, persona calls)`` a generated population makes (re-asks for taken names aside).

    Example:
        >>> pop = Population.model_validate({"factory": {"description": "Nurses in Lisbon", "size": 5}})
        >>> factory_calls(pop, Path("."))
        (1, 5)
    """
    if not population.generated:
        return 0, 0
    if population.factory is not None:
        return 1, population.people
    assert population.from_demographics is not None
    description, _ = demography_inputs(base_dir / population.from_demographics)
    # Census shares are the plan; a free-form demography is described to one plan call.
    return (1 if description is not None else 0), population.people


async def agenerate_personas(scenario: Scenario, base_dir: Path, client: LLMClient | None) -> list[Persona]:
    """The personas of ``scenario``'s generated population, in the order the factory drew them
    (empty without one).

    Raises:
        ScenarioError: some people could not be generated (the message says who and why).
    """
    factory = population_factory(scenario, base_dir, client)
    if factory is None:
        return []
    try:
        people = await factory.agenerate_people()
    except PopulationGenerationError as exc:
        reasons = "; ".join(f"person {f.position + 1}: {type(f.error).__name__}: {f.error}" for f in exc.failures[:5])
        raise ScenarioError(f"population: {len(exc.failures)} of {factory.population_size} people could not be "
                            f"generated ({reasons})", field="population") from exc
    return [person.persona for person in people]


__all__ = ["agenerate_personas", "factory_calls", "population_factory"]
