"""Distributional answers of a population: every agent asked at once, the answers aggregated with weights,
and the no-persona baseline to report beside them.

Each agent answers with :meth:`TinyPerson.ask_distribution` (one call where the backend gives
log-probabilities, else sampled answers; see :mod:`tinytroupe.agent.distribution`). The population's
distribution is the weighted mean of the agents' distributions: equal weights, weights given per
agent, or weights from cells (a persona field such as ``"segment"``: each cell counts with its share
of the population, split among the cell's agents that answered). An agent whose answer failed
contributes nothing and is listed in ``failures``; the others are kept. Report
:func:`ask_distribution_baseline` (the same question with no persona) beside any persona panel: a
panel is only informative where it differs from what the model says about nobody in particular.

Example:
    >>> from tinytroupe.agent import TinyPerson
    >>> from tinytroupe.llm import LLMClient, ScriptedBackend
    >>> from tinytroupe.llm.types import FirstTokenLogprobs as F
    >>> def says(a, b):
    ...     return LLMClient(ScriptedBackend([F.from_probabilities({"A": a, "B": b})], logprobs=True))
    >>> people = [TinyPerson("Ana", client=says(0.8, 0.2)), TinyPerson("Bo", client=says(0.2, 0.8))]
    >>> panel = ask_population_distribution(people, "Tea or coffee?", ["Tea", "Coffee"], weights={"Ana": 3, "Bo": 1})
    >>> {k: round(v, 2) for k, v in panel.probabilities.items()}, panel.failures
    ({'Tea': 0.65, 'Coffee': 0.35}, {})
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
from pydantic import BaseModel

from tinytroupe.agent.distribution import (
    DEFAULT_MIN_MASS,
    DistributionAnswer,
    Method,
    aask_options,
    check_options,
    check_settings,
)
from tinytroupe.agent.distribution import distribution_messages as _messages
from tinytroupe.agent.person import TinyPerson
from tinytroupe.aio import run_sync
from tinytroupe.environment.world import TinyWorld
from tinytroupe.errors import ExtractionError, InvalidArgument, InvalidArgumentType
from tinytroupe.extraction.results_extractor import agent_keys
from tinytroupe.llm.client import LLMClient
from tinytroupe.redaction import redact


class PopulationDistribution(BaseModel):
    """A population's answers to one question, per agent and aggregated.

    ``answers`` and ``failures`` are keyed by agent (agents sharing a name as :func:`agent_keys`
    says: ``"Ana"``, ``"Ana (2)"``). ``weights`` are the answering agents' weights as used (they sum
    to 1); ``probabilities`` is the weighted mean of their distributions. ``effective_sample_size``
    is Kish's ``(sum w)^2 / sum w^2``: how many equally weighted answers the aggregate is worth.
    ``cells`` maps each agent to its cell when weighting by cell, and ``cells_without_answers``
    lists cells with a share but no answering agent (the aggregate leaves them out).
    """

    question: str
    options: list[str]
    answers: dict[str, DistributionAnswer]
    failures: dict[str, str]
    weights: dict[str, float]
    probabilities: dict[str, float]
    methods: dict[str, int]
    effective_sample_size: float
    cells: dict[str, str] | None = None
    cells_without_answers: list[str] = []

    def to_dataframe(self) -> pd.DataFrame:
        """One row per agent: ``agent``, ``status`` (ok or failed), ``weight``, ``method``, one column per
        option (its probability), and ``error`` for failed agents."""
        rows = [{"agent": key, "status": "ok", "weight": self.weights[key], "method": a.method,
                 **a.probabilities, "error": None} for key, a in self.answers.items()]
        rows += [{"agent": key, "status": "failed", "weight": 0.0, "method": None,
                  **dict.fromkeys(self.options, math.nan), "error": why} for key, why in self.failures.items()]
        return pd.DataFrame(rows, columns=["agent", "status", "weight", "method", *self.options, "error"])


def _check_weight_values(values: Mapping[str, object], what: str) -> None:
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
            raise InvalidArgument(f"{what} {name!r} must be a finite number of at least 0, got {value!r}")
    if values and not any(float(v) > 0 for v in values.values()):  # type: ignore[arg-type]
        raise InvalidArgument(f"every {what} is 0: nothing would count; give some a positive value")


def _cell_of(agents: Sequence[TinyPerson], keys: Sequence[str], cell: str) -> dict[str, str]:
    cells: dict[str, str] = {}
    for agent, key in zip(agents, keys, strict=True):
        value = agent.get(cell)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise InvalidArgument(f"agent {key!r} has no persona field {cell!r} to place it in a cell; define it "
                                  f"(agent.define({cell!r}, ...)) or weight by agent with weights=")
        cells[key] = str(value)
    return cells


def _check_weights(agents: Sequence[TinyPerson], keys: Sequence[str], weights: Mapping[str, float] | None,
                   cell: str | None, cell_shares: Mapping[str, float] | None) -> dict[str, str] | None:
    """Check the weighting arguments against the agents (before any call); the agents' cells, if by cell."""
    if weights is not None and (cell is not None or cell_shares is not None):
        raise InvalidArgument("give weights= (per agent) or cell= with cell_shares= (per cell), not both")
    if weights is not None:
        if not isinstance(weights, Mapping):
            raise InvalidArgumentType(f"weights must map agent names to numbers, got {type(weights).__name__}")
        missing, unknown = [k for k in keys if k not in weights], [k for k in weights if k not in set(keys)]
        if missing or unknown:
            raise InvalidArgument(f"weights must name every agent asked and no other: missing {missing[:5]}, "
                                  f"not asked {unknown[:5]}")
        _check_weight_values(weights, "weight of agent")
        return None
    if cell is None:
        if cell_shares is not None:
            raise InvalidArgument("cell_shares needs cell=: the persona field that places each agent in a cell")
        return None
    cells = _cell_of(agents, keys, cell)
    if cell_shares is not None:
        absent = sorted({c for c in cells.values() if c not in cell_shares})
        if absent:
            raise InvalidArgument(f"cell_shares has no share for the cell(s) {absent[:5]} of field {cell!r}; "
                                  f"give every cell a share (the cells are {sorted(set(cells.values()))[:10]})")
        _check_weight_values(cell_shares, "share of cell")
    return cells


def _weights_used(answered: Sequence[str], weights: Mapping[str, float] | None, cells: Mapping[str, str] | None,
                  cell_shares: Mapping[str, float] | None) -> tuple[np.ndarray, list[str]]:
    """The answering agents' raw weights, and the cells with a share but no answer."""
    if cells is None:
        raw = [float(weights[k]) if weights is not None else 1.0 for k in answered]
        return np.asarray(raw, dtype=float), []
    present = pd.Series([cells[k] for k in answered], dtype=object)
    per_cell = present.value_counts()
    shares = {c: float(s) for c, s in cell_shares.items()} if cell_shares is not None else dict.fromkeys(
        set(cells.values()), 1.0)
    raw = [shares[cells[k]] / per_cell[cells[k]] for k in answered]
    empty = sorted(c for c, s in shares.items() if s > 0 and c not in per_cell.index)
    return np.asarray(raw, dtype=float), empty


async def _ask_all(people: Sequence[TinyPerson], ask: Callable[[TinyPerson], Awaitable[DistributionAnswer]], *,
                   probe: bool) -> list[DistributionAnswer | BaseException]:
    """Every agent's answer (or error), in order, asked concurrently.

    With ``probe``, the first agent of each client that has not yet shown whether it gives
    log-probabilities (``gives_logprobs`` None) is asked alone first: against a server without them
    that costs one wasted call in all, not one per agent (and one round trip more, once per client).
    """
    first: dict[int, int] = {}
    for i, agent in enumerate(people):
        if probe and agent.client.gives_logprobs is None:
            first.setdefault(id(agent.client), i)
    probes = sorted(first.values())
    outcomes: dict[int, DistributionAnswer | BaseException] = {}
    for batch in (probes, [i for i in range(len(people)) if i not in first.values()]):
        answers = await asyncio.gather(*(ask(people[i]) for i in batch), return_exceptions=True)
        outcomes.update(zip(batch, answers, strict=True))
    return [outcomes[i] for i in range(len(people))]


async def aask_population_distribution(
        agents: Iterable[TinyPerson] | TinyWorld, question: str, options: Sequence[str], *,
        weights: Mapping[str, float] | None = None, cell: str | None = None,
        cell_shares: Mapping[str, float] | None = None, samples: int | None = None, method: Method = "auto",
        min_mass: float = DEFAULT_MIN_MASS, temperature: float = 1.0) -> PopulationDistribution:
    """Async twin of :func:`ask_population_distribution` (all agents concurrently; same errors)."""
    people = list(agents.agents if isinstance(agents, TinyWorld) else agents)
    if not people:
        raise InvalidArgument("no agents to ask; give a list of TinyPerson or a world with agents")
    if not all(isinstance(a, TinyPerson) for a in people):
        raise InvalidArgumentType("agents must be TinyPerson objects (or a TinyWorld)")
    check_options(question, options)
    check_settings(method, samples, min_mass, temperature)
    keys = agent_keys(a.name for a in people)
    cells = _check_weights(people, keys, weights, cell, cell_shares)
    outcomes = await _ask_all(people, lambda a: a.aask_distribution(
        question, options, samples=samples, method=method, min_mass=min_mass, temperature=temperature),
        probe=method != "sampled")
    for outcome in outcomes:
        if isinstance(outcome, BaseException) and not isinstance(outcome, Exception):
            raise outcome  # cancellation and interrupts are not an agent's failure
    answers = {k: o for k, o in zip(keys, outcomes, strict=True) if isinstance(o, DistributionAnswer)}
    failures = {k: redact(f"{type(o).__name__}: {o}") for k, o in zip(keys, outcomes, strict=True)
                if isinstance(o, BaseException)}
    raw, empty = _weights_used(list(answers), weights, cells, cell_shares)
    if not answers or raw.sum() <= 0:
        raise ExtractionError({k: a.probabilities for k, a in answers.items()},
                              failures or {k: "its weight is 0, and no agent with weight answered" for k in answers})
    used = raw / raw.sum()
    matrix = np.asarray([list(a.probabilities.values()) for a in answers.values()], dtype=float)
    mean = used @ matrix
    return PopulationDistribution(
        question=question, options=list(options), answers=answers, failures=failures,
        weights={k: float(w) for k, w in zip(answers, used, strict=True)},
        probabilities={o: float(p) for o, p in zip(options, mean / mean.sum(), strict=True)},
        methods=pd.Series([a.method for a in answers.values()]).value_counts().to_dict(),
        effective_sample_size=float(raw.sum() ** 2 / (raw**2).sum()),
        cells=dict(cells) if cells is not None else None, cells_without_answers=empty)


def ask_population_distribution(
        agents: Iterable[TinyPerson] | TinyWorld, question: str, options: Sequence[str], *,
        weights: Mapping[str, float] | None = None, cell: str | None = None,
        cell_shares: Mapping[str, float] | None = None, samples: int | None = None, method: Method = "auto",
        min_mass: float = DEFAULT_MIN_MASS, temperature: float = 1.0) -> PopulationDistribution:
    """Ask every agent (or every agent of a world) for its distribution over ``options``, concurrently,
    and aggregate.

    Weighting: none (each agent counts equally); ``weights`` (agent name, as :func:`agent_keys`
    keys it, to a weight: every agent asked must have one); or ``cell``, a persona field path whose
    value places each agent in a cell, with ``cell_shares`` (cell to its share of the population;
    without it every cell counts equally). A cell's share is split equally among its agents that
    answered, so one failed agent does not shrink its cell. The other arguments are those of
    :meth:`TinyPerson.ask_distribution`. A client not yet known to give log-probabilities or not (a
    server not asked before) hears from one agent first and then from the rest at once, so a server
    without them costs one wasted call, not one per agent.

    Raises:
        InvalidArgument, InvalidArgumentType: bad question or options, no agents, weights that do not
            name every agent (or name others), negative or non-finite weights, an agent without the cell
            field, a cell without a share (all before any call).
        ExtractionError: no agent answered (``.failures`` says why each failed).
    """
    return run_sync(aask_population_distribution(agents, question, options, weights=weights, cell=cell,
                                                 cell_shares=cell_shares, samples=samples, method=method,
                                                 min_mass=min_mass, temperature=temperature))


async def aask_distribution_baseline(client: LLMClient, question: str, options: Sequence[str], *,
                                     population_description: str | None = None, samples: int | None = None,
                                     method: Method = "auto", min_mass: float = DEFAULT_MIN_MASS,
                                     temperature: float = 1.0, seed: int | None = None) -> DistributionAnswer:
    """Async twin of :func:`ask_distribution_baseline` (same arguments, same errors)."""
    check_options(question, options)
    if population_description is not None and not isinstance(population_description, str):
        raise InvalidArgumentType("population_description must be text, e.g. 'adults living in Portugal'")
    described = population_description.strip() if population_description else None
    messages = _messages(question, options, population=described or None)
    return await aask_options(client, question, options, messages=messages, method=method, samples=samples,
                              min_mass=min_mass, temperature=temperature, seed=seed)


def ask_distribution_baseline(client: LLMClient, question: str, options: Sequence[str], *,
                              population_description: str | None = None, samples: int | None = None,
                              method: Method = "auto", min_mass: float = DEFAULT_MIN_MASS,
                              temperature: float = 1.0, seed: int | None = None) -> DistributionAnswer:
    """The same question with no persona: what the model answers for a typical member of
    ``population_description`` (or a typical respondent). Report it beside a persona panel.

    Raises:
        InvalidArgument, InvalidArgumentType: as :meth:`TinyPerson.ask_distribution`.
        LLMOutputError, LLMTransportError: as :meth:`TinyPerson.ask_distribution`.

    Example:
        >>> from tinytroupe.llm import LLMClient, ScriptedBackend
        >>> client = LLMClient(ScriptedBackend([{"answer": "A"}, {"answer": "B"}], cycle=True))
        >>> ask_distribution_baseline(client, "Tea or coffee?", ["Tea", "Coffee"], samples=4,
        ...                           population_description="office workers in Lisbon").probabilities
        {'Tea': 0.5, 'Coffee': 0.5}
    """
    return run_sync(aask_distribution_baseline(client, question, options, population_description=population_description,
                                               samples=samples, method=method, min_mass=min_mass,
                                               temperature=temperature, seed=seed))


__all__ = ["PopulationDistribution", "aask_distribution_baseline", "aask_population_distribution",
           "ask_distribution_baseline", "ask_population_distribution"]
