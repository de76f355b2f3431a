"""What every part of :class:`~tinytroupe.factory.person_factory.TinyPersonFactory` shares: its
arguments and state, the sampling plan, the drawing of characteristics and the writing of people.

The public methods (``generate_person``, ``generate_people``, ``create_factory_from_demography``,
``calibration_report``) live in :mod:`tinytroupe.factory.person_factory`, on top of this.
"""

from __future__ import annotations

import asyncio
import json
import logging
import zlib
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from tinytroupe.agent import registry
from tinytroupe.agent.person import TinyPerson
from tinytroupe.agent.persona import Persona
from tinytroupe.aio import run_sync
from tinytroupe.compat import ignored_argument
from tinytroupe.context import current_context
from tinytroupe.errors import InvalidArgument, InvalidArgumentType, PersonFailure
from tinytroupe.factory.names import NameBook, draw_name
from tinytroupe.factory.persona_schema import PERSONA_DETAILS
from tinytroupe.factory.plan import SamplingPlan
from tinytroupe.factory.plan_files import PlanLike, coerce_plan
from tinytroupe.factory.planner import apropose_plan
from tinytroupe.factory.sampling import draw_characteristics
from tinytroupe.factory.writer import PersonaWriter, Slot
from tinytroupe.lazy import PerLoop
from tinytroupe.llm.client import LLMClient
from tinytroupe.terminal import print_plain

logger = logging.getLogger(__name__)

PostProcessing = Callable[[TinyPerson], Any]


def check_count(value: Any, what: str, *, low: int = 1) -> int | None:
    """``value`` when it is None or a whole number of at least ``low``.

    Raises:
        InvalidArgument: anything else (a bool, a float, a smaller number).
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise InvalidArgument(f"{what} must be a whole number, at least {low}, got {value!r}")
    return value


def check_text(value: Any, what: str) -> str | None:
    """``value`` when it is None or text.

    Raises:
        InvalidArgumentType: anything else.
    """
    if value is not None and not isinstance(value, str):
        raise InvalidArgumentType(f"{what} must be text, got {type(value).__name__}")
    return value


def _gender(characteristics: Mapping[str, Any]) -> str | None:
    """The drawn gender (a dimension named gender or sex), to choose a fitting first name."""
    for key, value in characteristics.items():
        if key.strip().casefold() in ("gender", "sex"):
            return str(value)
    return None


def _generator(seed: int | None, identity: str) -> np.random.Generator:
    """The factory's generator: from the seed and what the factory was given (two factories of one
    run given different plans draw differently); unseeded when there is no seed."""
    if seed is None:
        return np.random.default_rng()
    return np.random.default_rng(np.random.SeedSequence([seed & (2**64 - 1), zlib.crc32(identity.encode())]))


class FactoryCore:
    """The state and workings of :class:`~tinytroupe.factory.person_factory.TinyPersonFactory` (see there
    for the arguments)."""

    def __init__(self, sampling_space_description: str | None = None, total_population_size: int | None = None,
                 enforce_usage_of_all_dimensions: bool = False, context: str | None = None,
                 simulation_id: str | None = None, *, population_size: int | None = None,
                 sampling_plan: PlanLike | None = None, client: LLMClient | None = None,
                 seed: int | None = None, persona_detail: str = "full") -> None:
        if simulation_id is not None:
            ignored_argument("TinyPersonFactory", "simulation_id", "the factory uses the run context in force "
                             "(control.begin) when it generates")
        total = check_count(total_population_size, "total_population_size")
        size = check_count(population_size, "population_size")
        if total is not None and size is not None and total != size:
            raise InvalidArgument(f"total_population_size ({total}) and population_size ({size}) are two names "
                                  "for one thing; give one")
        #: how many people the population has (None: no fixed size)
        self.population_size = total if total is not None else size
        self.sampling_space_description = check_text(sampling_space_description, "sampling_space_description")
        self.context_text = check_text(context, "context")
        self.enforce_usage_of_all_dimensions = bool(enforce_usage_of_all_dimensions)
        self.client = client
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise InvalidArgument(f"seed must be a whole number or None, got {seed!r}")
        self.seed = seed
        if persona_detail not in PERSONA_DETAILS:
            raise InvalidArgument(f"persona_detail must be one of {', '.join(PERSONA_DETAILS)}, got {persona_detail!r}")
        #: "full" (every field of a TinyTroupe persona) or "brief" (a dozen fields, for small local models)
        self.persona_detail = persona_detail
        self._given_plan = coerce_plan(sampling_plan) if sampling_plan is not None else None
        #: the plan people are drawn from, once made (None before, or when there is nothing to draw)
        self.sampling_plan: SamplingPlan | None = None
        #: with a population size: the characteristics drawn for the people not generated yet
        self.remaining_characteristics_sample: list[dict[str, Any]] | None = None
        self.generated_names: list[str] = []
        self.generated_minibios: list[str] = []
        #: the characteristics drawn for each person generated, by name
        self.generated_characteristics: dict[str, dict[str, Any]] = {}
        self._initialized = False
        self._rng: np.random.Generator | None = None
        self._numbered = 0  # people asked for so far (each prompt says which one it is)
        self._bodies: set[str] = set()  # personas written so far, without names: duplicates are re-asked
        # names in use: this factory's people and the agents of the scope, shared by concurrent calls
        self._names = NameBook()
        self._lock: PerLoop[asyncio.Lock] = PerLoop(asyncio.Lock)

    def __repr__(self) -> str:
        size = f", population_size={self.population_size}" if self.population_size else ""
        return f"TinyPersonFactory(generated={len(self.generated_names)}{size})"

    @property
    def sampling_dimensions(self) -> list[dict[str, Any]] | None:
        """The plan's dimensions as plain data (TinyTroupe's attribute), once the plan is made; the
        dimensions of a joint table come first, each with its marginal shares."""
        plan = self.sampling_plan
        if plan is None:
            return None
        joint = [{"name": dim, "values": shares, "joint": True}
                 for dim, shares in (plan.joint.marginals().items() if plan.joint is not None else ())]
        return [*joint, *(d.model_dump(exclude_none=True) for d in plan.dimensions)]

    def _identity(self) -> str:
        given = self._given_plan.model_dump(mode="json") if self._given_plan is not None else None
        return json.dumps([self.sampling_space_description, self.context_text, given, self.population_size],
                          sort_keys=True, default=str)

    async def ainitialize_sampling_plan(self) -> SamplingPlan | None:
        """Async twin of :meth:`initialize_sampling_plan`.

        Raises:
            LLMOutputError: the plan call's answers stayed invalid (carries the raw answer).
            LLMTransportError: the model server could not be reached.
        """
        async with self._lock.get():
            if not self._initialized:
                run = current_context()
                plan = self._given_plan
                if self.sampling_space_description:
                    plan = await apropose_plan(self.client or run.client, self.sampling_space_description,
                                               context=self.context_text, population_size=self.population_size,
                                               fixed=plan)
                self._rng = _generator(self.seed if self.seed is not None else run.seed, self._identity())
                self.sampling_plan = plan
                if self.population_size is not None:
                    self.remaining_characteristics_sample = (
                        draw_characteristics(plan, self.population_size, self._rng) if plan is not None
                        else [{} for _ in range(self.population_size)])
                self._initialized = True
        return self.sampling_plan

    def initialize_sampling_plan(self) -> SamplingPlan | None:
        """Make the sampling plan (once; later calls return it) and, with a population size, draw the
        whole population's characteristics. Generating does this when needed.

        Raises:
            LLMOutputError: the plan call's answers stayed invalid (carries the raw answer).
            LLMTransportError: the model server could not be reached.
        """
        return run_sync(self.ainitialize_sampling_plan())

    def _draw(self, n: int) -> list[dict[str, Any]]:
        remaining = self.remaining_characteristics_sample
        if remaining is not None:
            if n > len(remaining):
                raise InvalidArgument(f"the population has {self.population_size} people and {len(remaining)} are "
                                      f"left to generate; {n} were asked for")
            self.remaining_characteristics_sample = remaining[n:]
            return remaining[:n]
        if self.sampling_plan is None:
            return [{} for _ in range(n)]
        assert self._rng is not None
        return draw_characteristics(self.sampling_plan, n, self._rng)

    async def _agenerate(self, n: int | None, particularities: str | None, temperature: float, attempts: int,
                         post_processing_func: PostProcessing | None, parallelize: bool | None,
                         verbose: bool) -> tuple[list[TinyPerson], list[PersonFailure]]:
        check_count(attempts, "attempts")
        check_text(particularities, "agent_particularities")
        check_count(n, "number_of_people", low=0)
        if self.population_size is not None:  # checked before the plan call: nothing is paid for a mistake
            left = self.population_size - len(self.generated_names)
            if n is not None and n > left:
                raise InvalidArgument(f"the population has {self.population_size} people and {left} are left to "
                                      f"generate; {n} were asked for")
        elif n is None:
            raise InvalidArgument("give number_of_people, or a population size to the factory")
        await self.ainitialize_sampling_plan()
        if n is None:
            assert self.remaining_characteristics_sample is not None
            n = len(self.remaining_characteristics_sample)
        slots = [Slot(self._numbered + i + 1, c, particularities) for i, c in enumerate(self._draw(n))]
        self._numbered += n
        writer = PersonaWriter(self.client or current_context().client, context=self.context_text,
                               fields=self.sampling_plan.fields() if self.sampling_plan else {}, attempts=attempts,
                               bodies=self._bodies, detail=self.persona_detail, temperature=temperature)
        book = self._names
        for agent in registry.agents():  # agents made since the last call (the book keeps the rest)
            book.add(agent.name)
        if self.persona_detail == "brief":
            # Small models repeat a few stock names whatever the prompt says; brief people get names
            # drawn by code (seeded), reserved in the book before any call.
            rng = self._rng if self._rng is not None else _generator(self.seed, self._identity())
            slots = [replace(slot, name=draw_name(rng, book, _gender(slot.characteristics))) for slot in slots]

        def make(slot: Slot, persona: Persona) -> TinyPerson:
            # as each persona is settled, while the other calls are still in flight
            person = TinyPerson(persona.name, persona=persona)
            if post_processing_func is not None:
                post_processing_func(person)
            self._record(person, slot, verbose)
            return person

        if parallelize is None:
            parallelize = current_context().settings.simulation.parallel_agent_generation
        if not parallelize:
            outcomes = [o for slot in slots for o in await writer.awrite([slot], book, make)]
        else:
            outcomes = await writer.awrite(slots, book, make)
        people = [o for o in outcomes if isinstance(o, TinyPerson)]
        failures = [PersonFailure(i, dict(slot.characteristics), o)
                    for i, (slot, o) in enumerate(zip(slots, outcomes, strict=True)) if isinstance(o, Exception)]
        if failures and self.remaining_characteristics_sample is not None:
            # A later call writes them: the population keeps the shares it was drawn with.
            self.remaining_characteristics_sample[:0] = [f.characteristics for f in failures]
        return people, failures

    def _record(self, person: TinyPerson, slot: Slot, verbose: bool) -> None:
        self.generated_names.append(person.name)
        self.generated_minibios.append(person.persona.minibio())
        self.generated_characteristics[person.name] = dict(slot.characteristics)
        logger.info("generated person %d: %s", slot.number, person.persona.minibio())
        if verbose:
            print_plain(f"Generated person {slot.number}: {person.persona.minibio()}")


__all__ = ["FactoryCore", "PostProcessing", "check_count", "check_text"]
