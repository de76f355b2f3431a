"""TinyPersonFactory on scripted backends: calls per person, unique names, complete personas, failures kept
apart, populations drawn to census shares, and replay from the run file."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tinytroupe import control, scope
from tinytroupe.agent import TinyPerson
from tinytroupe.aio import run_sync
from tinytroupe.config import TinyTroupeCompatibilityWarning
from tinytroupe.errors import InvalidArgument, InvalidState, LLMOutputError, LLMTransportError, ScenarioError
from tinytroupe.factory import GeneratedPersona, PopulationGenerationError, SamplingPlan, TinyPersonFactory
from tinytroupe.factory.offline import OfflinePopulationModel, offline_backend
from tinytroupe.factory.persona_schema import example_persona
from tinytroupe.llm import LLMClient, LLMRequest, ScriptedBackend

SEX = {"dimensions": [{"name": "sex", "values": {"female": 1, "male": 1}}]}


@pytest.fixture(autouse=True)
def isolated_scope() -> Iterator[None]:
    """Name clashes are checked against the agents of the current scope: each test sees only its own."""
    with scope.session():
        yield


def persona_requests(backend: ScriptedBackend) -> list[LLMRequest]:
    return [r for r in backend.requests if r.schema_name == "GeneratedPersona"]


def prompt_of(request: LLMRequest) -> str:
    return request.messages[1].content


def number_of(request: LLMRequest) -> int:
    return int(prompt_of(request).split("Person ", 1)[1].split(" ", 1)[0])


# -- calls, people and their personas ------------------------------------------------------------------


def test_n_people_cost_n_calls_plus_one_for_the_plan() -> None:
    backend = offline_backend()
    factory = TinyPersonFactory("Commuters in Lisbon", context="A new metro line", client=LLMClient(backend), seed=1)
    people = factory.generate_people(30)
    assert len(people) == 30 and all(isinstance(p, TinyPerson) for p in people)
    assert len({p.name for p in people}) == 30
    plan_calls = [r for r in backend.requests if r.schema_name == "PlanAnswer"]
    assert len(plan_calls) == 1 and backend.calls == 31
    assert "Commuters in Lisbon" in plan_calls[0].messages[1].content
    assert "A new metro line" in plan_calls[0].messages[1].content
    # every persona is complete: what the model had to write is all there
    required = set(GeneratedPersona.model_fields) - {"alternative_names"}
    assert all(required <= set(p.persona.to_dict()) for p in people)
    assert factory.generated_names == [p.name for p in people]
    assert [d["name"] for d in factory.sampling_dimensions or []] == ["gender", "age", "occupation"]


def test_the_drawn_characteristics_are_in_the_prompt_and_in_the_person() -> None:
    def stubborn(request: LLMRequest) -> dict[str, Any]:
        # a model that ignores what it was told: the drawn values must still be the person's
        return example_persona(f"Person {number_of(request)} Silva", 30, gender="unknown")

    backend = ScriptedBackend(stubborn)
    plan = {"dimensions": [{"name": "sex", "values": ["female"]}, {"name": "Income level", "values": ["high"]},
                           {"name": "age", "range": [70, 70]}]}
    factory = TinyPersonFactory(context="A bank in Recife", sampling_plan=plan, client=LLMClient(backend), seed=1)
    person = factory.generate_person("Speaks three languages")
    prompt = prompt_of(backend.requests[0])
    assert "- sex: female\n- Income level: high\n- age: 70" in prompt
    assert "A bank in Recife" in prompt and "Speaks three languages" in prompt
    assert (person.get("gender"), person.get("age"), person.get("characteristics")) == ("female", 70,
                                                                                       {"income_level": "high"})
    assert factory.generated_characteristics[person.name] == {"sex": "female", "Income level": "high", "age": 70}
    assert backend.calls == 1  # a plan given as data costs no call


def test_all_people_are_asked_for_at_once() -> None:
    in_flight, most = 0, 0
    lock = threading.Lock()

    async def slow(request: LLMRequest) -> dict[str, Any]:
        nonlocal in_flight, most
        with lock:
            in_flight += 1
            most = max(most, in_flight)
        await asyncio.sleep(0.05)
        with lock:
            in_flight -= 1
        return OfflinePopulationModel()(request)

    factory = TinyPersonFactory(sampling_plan=SEX, client=LLMClient(ScriptedBackend(slow)), seed=2)
    start = time.perf_counter()
    factory.generate_people(20)
    assert time.perf_counter() - start < 20 * 0.05 / 2 and most == 20
    most = 0
    factory.generate_people(3, parallelize=False)
    assert most == 1


# -- names ---------------------------------------------------------------------------------------------


def test_a_taken_name_gives_way_to_an_alternative_at_no_cost() -> None:
    TinyPerson("Ana Lima")
    backend = ScriptedBackend(lambda r: example_persona("ANA LÍMA", number_of(r), alternative_names=[
        "Ana Lima", "Bea Lima", "Eva Lima"]))
    people = TinyPersonFactory(client=LLMClient(backend)).generate_people(2)
    assert [p.name for p in people] == ["Bea Lima", "Eva Lima"]
    assert backend.calls == 2 and "alternative_names" not in people[0].persona.to_dict()


def test_a_taken_name_is_asked_again_in_the_order_people_were_asked_for() -> None:
    existing = TinyPerson("Ana Lima")

    def clashing(request: LLMRequest) -> dict[str, Any]:
        n = number_of(request)
        if len(request.messages) > 2:  # asked again
            return example_persona(f"Eva Nunes {n}", 20 + n, alternative_names=[])
        # person 1 takes an existing agent's name (in another spelling), 2 and 3 the same new name
        return example_persona("ANA LÍMA" if n == 1 else "Rui Costa", 20 + n, alternative_names=["Ana Lima"])

    backend = ScriptedBackend(clashing)
    factory = TinyPersonFactory(sampling_plan=SEX, client=LLMClient(backend), seed=3)
    people = factory.generate_people(3)
    assert [p.name for p in people] == ["Eva Nunes 1", "Rui Costa", "Eva Nunes 3"]
    assert existing.name == "Ana Lima" and backend.calls == 5
    again = [r for r in backend.requests if len(r.messages) > 2]
    assert sorted(number_of(r) for r in again) == [1, 3]
    assert "already called ANA LÍMA" in again[0].messages[-1].content
    # the next batch's prompts name the people already made, so the model can avoid them
    factory.generate_people(1)
    assert "Rui Costa" in prompt_of(backend.requests[-1]) and "Ana Lima" in prompt_of(backend.requests[-1])


def test_who_keeps_a_name_does_not_depend_on_which_answer_came_first() -> None:
    def run(delays: list[float]) -> tuple[list[str], list[float], float]:
        asked_again: list[float] = []
        start = time.perf_counter()

        async def answer(request: LLMRequest) -> dict[str, Any]:
            n = number_of(request)
            if len(request.messages) > 2:
                asked_again.append(time.perf_counter() - start)
                return example_persona(f"Eva {n} {len(request.messages)}", n + 50)
            await asyncio.sleep(delays[n - 1])
            name = ["Ana Lima", "Ana Lima", "Rui Costa", "Rui Costa", "Bo Ek"][n - 1]
            return example_persona(name, n, alternative_names=[])

        with scope.session():  # a fresh scope: the first run's people do not hold their names
            factory = TinyPersonFactory(client=LLMClient(ScriptedBackend(answer)))
            names = [p.name for p in factory.generate_people(5)]
        return names, asked_again, time.perf_counter() - start

    names, early, _ = run([0.0, 0.0, 0.05, 0.05, 0.4])
    assert names == ["Ana Lima", "Eva 2 4", "Rui Costa", "Eva 4 4", "Bo Ek"]
    assert max(early) < 0.3  # re-asked while person 5 was still being written
    assert run([0.3, 0.2, 0.1, 0.05, 0.0])[0] == names


def test_calls_made_at_the_same_time_on_one_factory_share_its_names() -> None:
    async def answer(request: LLMRequest) -> dict[str, Any]:
        await asyncio.sleep(0.01)
        n = number_of(request)
        return example_persona("Ana Lima", n, alternative_names=[f"Ana Lima {n}"])

    factory = TinyPersonFactory(client=LLMClient(ScriptedBackend(answer)))

    async def both() -> list[TinyPerson]:
        first, second = await asyncio.gather(factory.agenerate_people(2), factory.agenerate_people(2))
        return [*first, *second]

    names = [p.name for p in run_sync(both())]
    assert len(set(names)) == 4 and "Ana Lima" in names


def test_a_name_still_taken_after_the_attempts_fails_that_person_only() -> None:
    backend = ScriptedBackend(lambda r: example_persona("Rui Costa", number_of(r), alternative_names=["Rui Lopes"]))
    factory = TinyPersonFactory(sampling_plan=SEX, total_population_size=5, client=LLMClient(backend), seed=4)
    with pytest.raises(PopulationGenerationError) as info:
        factory.generate_people(4, attempts=2)
    error = info.value
    assert [p.name for p in error.people] == ["Rui Costa", "Rui Lopes"]
    assert [f.position for f in error.failures] == [2, 3]
    failure = error.failures[0].error
    assert isinstance(failure, LLMOutputError) and "'Rui Costa' is already taken after 2 answers" in str(failure)
    assert json.loads(failure.raw_text)["name"] == "Rui Costa"
    assert backend.calls == 4 + 2
    # the two people's characteristics wait for the next call; the population keeps its shares
    assert factory.remaining_characteristics_sample is not None
    assert factory.remaining_characteristics_sample[:2] == [f.characteristics for f in error.failures]
    assert len(factory.remaining_characteristics_sample) == 3


def test_a_persona_repeated_word_for_word_is_written_again() -> None:
    answers = iter([example_persona("Ana Lima"), example_persona("Rui Costa"), example_persona("Rui Costa", 50)])
    backend = ScriptedBackend(lambda r: next(answers))
    people = TinyPersonFactory(client=LLMClient(backend)).generate_people(2, parallelize=False)
    assert [p.get("age") for p in people] == [41, 50]
    assert "identical to another person" in backend.requests[-1].messages[-1].content


# -- failures ------------------------------------------------------------------------------------------


def test_an_incomplete_persona_is_re_asked_then_fails_alone_with_its_raw_text() -> None:
    def half_empty(request: LLMRequest) -> Any:
        if number_of(request) == 2:
            return {k: v for k, v in example_persona("Bo Ek").items() if k not in ("skills", "behaviors")}
        if number_of(request) == 3:
            return LLMTransportError("server down", status_code=500)
        return example_persona(f"Ana Lima {number_of(request)}", number_of(request))

    backend = ScriptedBackend(half_empty)
    factory = TinyPersonFactory(sampling_plan=SEX, client=LLMClient(backend, max_reasks=1), seed=5)
    with pytest.raises(PopulationGenerationError) as info:
        factory.generate_people(4)
    assert [p.name for p in info.value.people] == ["Ana Lima 1", "Ana Lima 4"]
    incomplete, down = (f.error for f in info.value.failures)
    assert isinstance(incomplete, LLMOutputError) and "Bo Ek" in incomplete.raw_text
    assert any("skills" in e for e in incomplete.errors)
    assert isinstance(down, LLMTransportError)
    assert "2 of 4 people could not be generated" in str(info.value)
    assert len([r for r in backend.requests if number_of(r) == 2]) == 2  # asked, then re-asked once
    assert not TinyPerson.has_agent("Bo Ek")  # no half-empty person stands in


def test_generate_person_raises_the_persons_error() -> None:
    factory = TinyPersonFactory(client=LLMClient(ScriptedBackend([{"name": "Bo"}]), max_reasks=0))
    with pytest.raises(LLMOutputError) as info:
        factory.generate_person()
    assert info.value.raw_text == '{"name": "Bo"}'


def test_post_processing_runs_on_each_person_and_its_failure_is_reported() -> None:
    seen: list[str] = []

    def tag(person: TinyPerson) -> None:
        if person.get("age") == 42:
            raise ValueError("no answer")
        seen.append(person.name)
        person.define("other_facts", ["tagged"], merge=True)

    factory = TinyPersonFactory(client=LLMClient(ScriptedBackend(
        lambda r: example_persona(f"P {number_of(r)}", 40 + number_of(r)))))
    with pytest.raises(PopulationGenerationError) as info:
        factory.generate_people(3, post_processing_func=tag)
    assert seen == ["P 1", "P 3"] and "tagged" in info.value.people[0].get("other_facts")
    assert isinstance(info.value.failures[0].error, ValueError)


# -- populations, plans and demographics ---------------------------------------------------------------


def test_a_population_is_drawn_once_and_handed_out_until_it_is_used_up() -> None:
    backend = offline_backend()
    factory = TinyPersonFactory(sampling_plan=SEX, population_size=10, client=LLMClient(backend), seed=6)
    first = factory.generate_person()
    rest = factory.generate_people()
    assert len(rest) == 9 and factory.remaining_characteristics_sample == []
    sexes = [factory.generated_characteristics[p.name]["sex"] for p in [first, *rest]]
    assert sexes.count("female") == 5
    with pytest.raises(InvalidArgument, match="10 people and 0 are left to generate; 1 were asked for"):
        factory.generate_people(1)
    assert backend.calls == 10
    assert factory.calibration_report().max_marginal_error == 0.0
    described = TinyPersonFactory("Nurses", total_population_size=3, client=LLMClient(backend))
    with pytest.raises(InvalidArgument, match="3 are left to generate; 5 were asked for"):
        described.generate_people(5)
    with pytest.raises(InvalidArgument, match="number_of_people must be a whole number"):
        described.generate_people(-1)
    assert backend.calls == 10  # neither mistake cost the plan call


def test_a_population_calibrated_to_census_cells(tmp_path: Path) -> None:
    rows = ["sex,age,education,share"]
    shares = {("female", "18-39", "tertiary"): 0.17, ("female", "18-39", "other"): 0.11,
              ("female", "40+", "tertiary"): 0.09, ("female", "40+", "other"): 0.15,
              ("male", "18-39", "tertiary"): 0.12, ("male", "18-39", "other"): 0.13,
              ("male", "40+", "tertiary"): 0.08, ("male", "40+", "other"): 0.15}
    rows += [f"{s},{a},{e},{share}" for (s, a, e), share in shares.items()]
    (tmp_path / "census.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    backend = offline_backend()
    factory = TinyPersonFactory.create_factory_from_demography(tmp_path / "census.csv", 400,
                                                               client=LLMClient(backend), seed=7)
    people = factory.generate_people()
    assert len(people) == 400 and not [r for r in backend.requests if r.schema_name == "PlanAnswer"]
    report = factory.calibration_report()
    assert report.max_marginal_error <= 2 / 400 and report.joint_total_variation is not None
    assert report.joint_total_variation <= 8 / (2 * 400)
    assert {p.get("gender") for p in people} == {"female", "male"}
    assert {p.get("characteristics")["age"] for p in people} == {"18-39", "40+"}
    dims = factory.sampling_dimensions or []
    assert [d["name"] for d in dims] == ["sex", "age", "education"]
    assert dims[0]["values"] == {"female": 0.52, "male": 0.48} and dims[0]["joint"] is True


def test_bad_demographics_fail_before_any_call(tmp_path: Path) -> None:
    (tmp_path / "census.csv").write_text("sex,share\nfemale,0.5\nmale,0.4\nmale,0.1\n", encoding="utf-8")
    backend = offline_backend()
    with pytest.raises(ScenarioError) as info:
        TinyPersonFactory.create_factory_from_demography(str(tmp_path / "census.csv"), 10, client=LLMClient(backend))
    assert (info.value.line, info.value.field) == (4, "sex") and "already on line 3" in str(info.value)
    assert backend.calls == 0


def test_a_free_form_demography_is_described_to_the_plan_call(tmp_path: Path) -> None:
    (tmp_path / "portugal.json").write_text(json.dumps({"country": "Portugal", "median_age": 46}), encoding="utf-8")
    backend = offline_backend()
    factory = TinyPersonFactory.create_factory_from_demography(str(tmp_path / "portugal.json"), 5,
                                                               "Only people who cycle", context="Bike lanes",
                                                               client=LLMClient(backend), seed=8)
    factory.generate_people(2)
    plan_prompt = backend.requests[0].messages[1].content
    assert '"median_age": 46' in plan_prompt and "Only people who cycle" in plan_prompt and "Bike lanes" in plan_prompt
    assert backend.calls == 3


def test_a_described_population_on_top_of_census_shares_keeps_the_census_dimensions() -> None:
    proposed = {"dimensions": [{"name": "Sex", "description": "", "range": None,
                                "values": [{"value": "woman", "weight": 1}]},
                               {"name": "hobby", "description": "", "range": None,
                                "values": [{"value": "chess", "weight": 1}]}]}
    backend = offline_backend(proposed)
    census = {"marginals": {"sex": {"female": 0.5, "male": 0.5}}}
    factory = TinyPersonFactory.create_factory_from_demography(census, 4, "and their hobbies",
                                                               client=LLMClient(backend), seed=9)
    factory.generate_people()
    assert factory.sampling_plan is not None and factory.sampling_plan.dimension_names() == ["sex", "hobby"]
    plan_prompt = backend.requests[0].messages[1].content
    assert "already fixed" in plan_prompt and "sex" in plan_prompt


def test_the_plan_is_made_once_even_when_people_are_asked_for_together() -> None:
    backend = offline_backend()
    factory = TinyPersonFactory("Nurses", client=LLMClient(backend), seed=10)

    async def together() -> list[TinyPerson]:
        return list(await asyncio.gather(*(factory.agenerate_person() for _ in range(4))))

    assert len(run_sync(together())) == 4
    assert len([r for r in backend.requests if r.schema_name == "PlanAnswer"]) == 1


def test_a_plan_the_model_cannot_get_right_is_an_error_with_its_raw_text() -> None:
    bad = {"dimensions": [{"name": "x", "description": "", "range": None, "values": [{"value": "a", "weight": 0}]}]}
    factory = TinyPersonFactory("Nurses", client=LLMClient(ScriptedBackend([bad], cycle=True), max_reasks=1))
    with pytest.raises(LLMOutputError, match="PlanAnswer") as info:
        factory.generate_person()
    assert "weights sum to 0" in " ".join(info.value.errors)


def test_the_seed_decides_the_population() -> None:
    def drawn(seed: int | None) -> list[Any]:
        factory = TinyPersonFactory(sampling_plan={"dimensions": [{"name": "score", "range": [0, 1000]}]},
                                    client=LLMClient(offline_backend()), seed=seed)
        return [factory.generated_characteristics[p.name]["score"] for p in factory.generate_people(5)]

    assert drawn(1) == drawn(1) and drawn(1) != drawn(2)


# -- replay --------------------------------------------------------------------------------------------


def _seeded_script(path: Path) -> tuple[ScriptedBackend, list[dict[str, Any]]]:
    backend = offline_backend()
    control.begin(path, backend=backend, seed=42, quiet=True)
    try:
        factory = TinyPersonFactory("Retired people in Porto", total_population_size=12, context="A survey")
        people = [*factory.generate_people(8), factory.generate_person()]
    finally:
        control.end()
    return backend, [p.persona.to_dict() for p in people]


def test_a_seeded_rerun_on_the_same_run_file_replays_every_call(tmp_path: Path) -> None:
    first_backend, first = _seeded_script(tmp_path / "run.sqlite")
    assert first_backend.calls >= 10
    second_backend, second = _seeded_script(tmp_path / "run.sqlite")
    assert second_backend.calls == 0 and second == first
    _, elsewhere = _seeded_script(tmp_path / "other.sqlite")
    assert elsewhere == first  # the same seed draws the same people anywhere


# -- TinyTroupe's signatures ---------------------------------------------------------------------------


def test_tinytroupe_positional_calls_and_compatibility_arguments() -> None:
    backend = offline_backend()
    with pytest.warns(TinyTroupeCompatibilityWarning, match="simulation_id"):
        factory = TinyPersonFactory("Teachers", 3, True, "A school", "sim-1", client=LLMClient(backend), seed=1)
    assert (factory.population_size, factory.context_text, factory.enforce_usage_of_all_dimensions) == (3, "A school",
                                                                                                        True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        people = factory.generate_people(2, "Likes jazz", 0.9, 0.0, 0.0, 5, None, True, False)
    assert len(people) == 2 and backend.requests[-1].temperature == 0.9
    with pytest.warns(TinyTroupeCompatibilityWarning, match="frequency_penalty") as caught:
        factory.generate_person("Likes jazz", 1.0, 0.5)
    assert caught[0].filename == __file__  # the warning names the caller's line
    assert TinyPersonFactory(population_size=4).population_size == 4
    assert TinyPersonFactory(total_population_size=4, population_size=4).population_size == 4
    with pytest.raises(InvalidArgument, match="two names for one thing"):
        TinyPersonFactory(total_population_size=4, population_size=5)
    with pytest.raises(InvalidArgument, match="at least 1"):
        TinyPersonFactory(total_population_size=0)
    with pytest.raises(InvalidArgument, match="seed must be a whole number"):
        TinyPersonFactory(seed="42")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="give number_of_people"):
        TinyPersonFactory(client=LLMClient(backend)).generate_people()
    with pytest.raises(InvalidState, match="no sampling plan"):
        TinyPersonFactory().calibration_report()


def test_a_plan_given_as_a_file_is_read_before_any_call(tmp_path: Path) -> None:
    (tmp_path / "plan.yaml").write_text("dimensions:\n  - name: age\n    range: [90, 18]\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"plan.yaml:3: dimensions.0.range"):
        TinyPersonFactory(sampling_plan=tmp_path / "plan.yaml")
    plan = SamplingPlan.from_marginals({"diet": {"vegan": 0.2, "omnivore": 0.8}})
    factory = TinyPersonFactory(sampling_plan=plan, client=LLMClient(offline_backend()), seed=1)
    person = factory.generate_person()
    assert person.get("characteristics")["diet"] in ("vegan", "omnivore")


def test_verbose_prints_each_person_made(capsys: pytest.CaptureFixture[str]) -> None:
    factory = TinyPersonFactory(client=LLMClient(offline_backend()), seed=1)
    person = factory.generate_people(1, verbose=True)[0]
    assert f"Generated person 1: {person.name}" in capsys.readouterr().out
    assert factory.generated_minibios == [person.persona.minibio()]
