"""``TinyPersonFactory``: populations of ``TinyPerson`` s from a description, a plan or census shares.

How it works, and what it costs: the sampling plan is made once (one LLM call from
``sampling_space_description``, or given as data with ``sampling_plan=``, or both: the data wins);
each person's characteristics are drawn from it by code with the run's seeded generator (as quotas:
see :mod:`tinytroupe.factory.sampling`); then each person is written by one structured LLM call, all
of them in flight together (the client bounds how many). So ``N`` people cost ``N`` calls plus one
for the plan, plus one per person whose name and alternative names were all taken (TinyTroupe:
``3N + 2``). Every persona is complete and
validated, names are unique (among the factory's people and the agents of the current scope), and
with a seed (``seed=``, or ``control.begin(..., seed=)``) a re-run of the script on the same run file
replays every call from it: the same people, no call to the model.

Example:
    >>> from tinytroupe.factory.persona_schema import example_persona
    >>> from tinytroupe.llm import LLMClient, ScriptedBackend
    >>> answers = iter([example_persona("Ana Lima", 41), example_persona("Rui Costa", 35),
    ...                 example_persona("Eva Sousa", 63)])
    >>> client = LLMClient(ScriptedBackend(lambda request: next(answers)))
    >>> factory = TinyPersonFactory(context="A street market in Porto", client=client, seed=7,
    ...     sampling_plan={"dimensions": [{"name": "sex", "values": ["female", "male"]}]})
    >>> people = factory.generate_people(3, parallelize=False)  # in turn: the scripted answers come in order
    >>> [p.name for p in people], sorted(p.get("gender") for p in people)
    (['Ana Lima', 'Rui Costa', 'Eva Sousa'], ['female', 'male', 'male'])
"""

from __future__ import annotations

from tinytroupe.agent.person import TinyPerson
from tinytroupe.aio import run_sync
from tinytroupe.compat import ignored_argument
from tinytroupe.errors import InvalidArgument, InvalidState, PopulationGenerationError
from tinytroupe.factory.calibration import CalibrationReport, calibration_report
from tinytroupe.factory.demography import Demography, demography_inputs
from tinytroupe.factory.factory_core import FactoryCore, PostProcessing, check_text
from tinytroupe.llm.client import LLMClient


class TinyPersonFactory(FactoryCore):
    """Generates people (see the module docstring).

    The first five parameters are TinyTroupe's, in its order; ours follow, keyword-only.

    Args:
        sampling_space_description: the people to generate, in words; one LLM call turns it into a
            :class:`~tinytroupe.factory.plan.SamplingPlan` before the first person is written.
        total_population_size: how many people the population has. Their characteristics are drawn
            all at once (so the whole population matches the plan's shares), and each generation
            takes the next ones; asking for more than are left is an error.
        enforce_usage_of_all_dimensions: accepted for TinyTroupe scripts; every dimension of the plan
            is always used here.
        context: the general context the people live in (also shown when the plan is made).
        simulation_id: accepted for TinyTroupe scripts, with no effect (a warning says so): the factory
            works in the run context in force when it generates (``control.begin``).
        population_size: another name for ``total_population_size``; give either (or both, equal).
        sampling_plan: a plan given as data: a ``SamplingPlan``, a ``JointDistribution``, a mapping, or
            a ``.yaml``/``.json``/``.csv`` file (:func:`~tinytroupe.factory.plan_files.coerce_plan`). With
            a description too, the LLM adds only dimensions this plan lacks.
        client: the LLM client to generate with (default: the run context's, so a run file records
            and replays the calls).
        seed: the seed of the generator that draws characteristics (default: the run context's seed;
            with neither, draws are not reproducible).
        persona_detail: ``"full"`` (default: every field of a TinyTroupe persona) or ``"brief"`` (name,
            age, gender, nationality, residence, education, occupation, a few traits and beliefs: for
            small local models, which cannot fill the full schema in reasonable time).

    Raises:
        InvalidArgument: a size that is not a whole number of at least one, two different sizes, or a
            seed that is not a whole number.
        InvalidArgumentType: a description or context that is not text.
        ScenarioError: a plan file that is missing or invalid (naming file, line and field).
    """

    @staticmethod
    def create_factory_from_demography(demography_description_or_file_path: Demography, population_size: int,
                                       additional_demographic_specification: str | None = None,
                                       context: str | None = None, *, client: LLMClient | None = None,
                                       seed: int | None = None, persona_detail: str = "full") -> TinyPersonFactory:
        """A factory for a population of ``population_size`` people with the given demography.

        Target shares (a ``.csv`` of cells or marginals, or a mapping / ``.yaml`` / ``.json`` with
        ``marginals`` or ``dimensions``) are matched exactly (see :meth:`calibration_report`); any other
        mapping or JSON file (TinyTroupe's demography files) is described to the plan call.

        Raises:
            InvalidArgument: ``population_size`` is not a whole number of at least one, or target shares
                given as a mapping are invalid.
            ScenarioError: the file is missing or invalid (naming file, line and field).
        """
        if population_size is None:
            raise InvalidArgument("create_factory_from_demography needs population_size")
        additional = check_text(additional_demographic_specification, "additional_demographic_specification")
        description, plan = demography_inputs(demography_description_or_file_path, additional)
        return TinyPersonFactory(description, population_size, context=context, sampling_plan=plan,
                                 client=client, seed=seed, persona_detail=persona_detail)

    async def agenerate_person(self, agent_particularities: str | None = None, temperature: float = 1.2,
                               frequency_penalty: float = 0.0, presence_penalty: float = 0.0, attempts: int = 10,
                               post_processing_func: PostProcessing | None = None) -> TinyPerson:
        """Async twin of :meth:`generate_person` (same arguments, same errors).

        Raises:
            LLMOutputError: the persona stayed invalid, or its name taken, after the re-asks (raw answer kept).
            LLMTransportError: the model server could not be reached.
            InvalidArgument: the population's people are all generated, or ``attempts`` is below one.
        """
        _penalties(frequency_penalty, presence_penalty)
        return await self._person(agent_particularities, temperature, attempts, post_processing_func)

    async def _person(self, particularities: str | None, temperature: float, attempts: int,
                      post_processing_func: PostProcessing | None) -> TinyPerson:
        people, failures = await self._agenerate(1, particularities, temperature, attempts, post_processing_func,
                                                 None, False)
        if failures:
            raise failures[0].error
        return people[0]

    def generate_person(self, agent_particularities: str | None = None, temperature: float = 1.2,
                        frequency_penalty: float = 0.0, presence_penalty: float = 0.0, attempts: int = 10,
                        post_processing_func: PostProcessing | None = None) -> TinyPerson:
        """One person: the next characteristics of the population (or one fresh draw), written by one
        LLM call, with ``agent_particularities`` (free text) in the prompt too.

        The drawn characteristics are facts written into the persona whatever the particularities say;
        ``attempts`` is how many answers may be tried before a taken name is an error;
        ``post_processing_func(person)`` runs on the new person. Unlike TinyTroupe, a person that cannot
        be had raises instead of returning None (and its characteristics go back to the population).

        Raises:
            LLMOutputError: the persona stayed invalid, or its name taken, after the re-asks (raw answer kept).
            LLMTransportError: the model server could not be reached.
            InvalidArgument: the population's people are all generated, or ``attempts`` is below one.
        """
        _penalties(frequency_penalty, presence_penalty)
        return run_sync(self._person(agent_particularities, temperature, attempts, post_processing_func))

    async def agenerate_people(self, number_of_people: int | None = None, agent_particularities: str | None = None,
                               temperature: float = 1.2, frequency_penalty: float = 0.0,
                               presence_penalty: float = 0.0, attempts: int = 10,
                               post_processing_func: PostProcessing | None = None, parallelize: bool | None = None,
                               verbose: bool = False) -> list[TinyPerson]:
        """Async twin of :meth:`generate_people` (same arguments, same errors).

        Raises:
            PopulationGenerationError: some people could not be generated; ``.people`` holds the others.
            InvalidArgument: more people than are left in the population, or no number and no population size.
        """
        _penalties(frequency_penalty, presence_penalty)
        return await self._people(number_of_people, agent_particularities, temperature, attempts,
                                  post_processing_func, parallelize, verbose)

    async def _people(self, n: int | None, particularities: str | None, temperature: float, attempts: int,
                      post_processing_func: PostProcessing | None, parallelize: bool | None,
                      verbose: bool) -> list[TinyPerson]:
        people, failures = await self._agenerate(n, particularities, temperature, attempts, post_processing_func,
                                                 parallelize, verbose)
        if failures:
            raise PopulationGenerationError(people, failures)
        return people

    def generate_people(self, number_of_people: int | None = None, agent_particularities: str | None = None,
                        temperature: float = 1.2, frequency_penalty: float = 0.0, presence_penalty: float = 0.0,
                        attempts: int = 10, post_processing_func: PostProcessing | None = None,
                        parallelize: bool | None = None, verbose: bool = False) -> list[TinyPerson]:
        """``number_of_people`` people (default: the rest of the population), in the order asked for.

        All are written concurrently (``parallelize=False``: one after another; None: ``[Simulation]
        PARALLEL_AGENT_GENERATION``, default true). ``verbose`` prints each
        person's one-line bio as it is made.

        Raises:
            PopulationGenerationError: some people could not be generated (an invalid persona after the
                re-asks, a name still taken after ``attempts`` answers, an unreachable server, or
                ``post_processing_func`` raising). It carries the people generated (``.people``) and one
                :class:`~tinytroupe.errors.PersonFailure` per other person (``.failures``: position,
                characteristics, error); with a population size, their characteristics are left for a
                later call.
            InvalidArgument: more people than are left in the population, or no number and no population size.
        """
        _penalties(frequency_penalty, presence_penalty)
        return run_sync(self._people(number_of_people, agent_particularities, temperature, attempts,
                                     post_processing_func, parallelize, verbose))

    def calibration_report(self) -> CalibrationReport:
        """How close the people generated so far are to the plan's shares (marginal and joint errors).

        Raises:
            InvalidState: the factory has no sampling plan (none given, none made yet).
        """
        if self.sampling_plan is None:
            raise InvalidState("the factory has no sampling plan yet: give one (sampling_plan=, a demography) or "
                               "generate people first")
        return calibration_report(list(self.generated_characteristics.values()), self.sampling_plan)


def _penalties(frequency_penalty: float, presence_penalty: float) -> None:
    # called by the public methods themselves, in the caller's thread, so the warning names the caller's line
    if frequency_penalty or presence_penalty:
        ignored_argument("TinyPersonFactory.generate_people", "frequency_penalty/presence_penalty",
                         "requests carry the temperature only; set penalties on the model server if needed",
                         stacklevel=4)


__all__ = ["TinyPersonFactory"]
