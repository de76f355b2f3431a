"""ResultsExtractor: field specs, validation and re-asks, concurrency, and output files."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from helpers import START, Lockstep, turn

from tinytroupe.agent import TinyPerson
from tinytroupe.environment import TinyWorld
from tinytroupe.errors import ExtractionError, LLMOutputError
from tinytroupe.extraction import FieldSpec, ResultsExtractor, results_to_dataframe
from tinytroupe.extraction.fields import extraction_model, normalise_fields
from tinytroupe.llm import LLMClient, LLMRequest, ScriptedBackend


def agent_with_history(name: str, client: LLMClient, said: str) -> TinyPerson:
    agent = TinyPerson(name, client=client)
    agent.listen("Would you buy the smart bottle?", source="Moderator")
    agent.memory.add(kind="action", type="TALK", content=said, target="Moderator")
    return agent


# ------------------------------------------------------------------------------------ fields

def test_fields_as_a_list_are_text_fields() -> None:
    backend = ScriptedBackend([{"opinion": "likes it", "price": "too high"}])
    client = LLMClient(backend)
    ana = agent_with_history("Ana", client, "I like it but it is expensive")
    ex = ResultsExtractor("opinions", fields=["opinion", "price"], client=client)
    assert ex.extract_results_from_agent(ana) == {"opinion": "likes it", "price": "too high"}
    request = backend.requests[0]
    system, user = request.messages[0].content, request.messages[1].content
    assert '- "opinion" (text)' in system and '- "price" (text)' in system
    assert "# Objective\nopinions" in user
    assert 'Moderator said: "Would you buy the smart bottle?"' in user  # the agent's history is the record
    assert 'said to Moderator: "I like it but it is expensive"' in user
    assert request.schema_name == "Extraction"
    assert set(request.response_schema["required"]) == {"opinion", "price"}  # type: ignore[index]
    assert backend.contexts[0].purpose == "extraction" and backend.contexts[0].agent == "Ana"


def test_fields_as_a_mapping_with_types_bounds_choices_and_hints() -> None:
    fields: dict[str, FieldSpec | str | dict[str, Any]] = {
        "rating": FieldSpec(type="int", minimum=1, maximum=10, hint="how likely to buy"),
        "verdict": {"type": "str", "choices": ["buy", "skip"]},
        "score": "float",
        "would_recommend": "bool",
        "reasons": "list[str]",
    }
    answer = {"rating": 8, "verdict": "buy", "score": 0.5, "would_recommend": True, "reasons": ["handy", "pretty"]}
    backend = ScriptedBackend([answer])
    client = LLMClient(backend)
    ex = ResultsExtractor(fields=fields, fields_hints={"score": "a number between 0 and 1"}, client=client)
    result = ex.extract_results_from_agent(agent_with_history("Ana", client, "I'd buy it"))
    assert result == answer
    system = backend.requests[0].messages[0].content
    assert '- "rating" (integer from 1.0 to 10.0): how likely to buy' in system
    assert "- \"verdict\" (one of: 'buy', 'skip')" in system
    assert '- "score" (number): a number between 0 and 1' in system
    assert '- "would_recommend" (true or false)' in system
    assert '- "reasons" (list of short texts)' in system


def test_field_spec_validation() -> None:
    with pytest.raises(ValueError, match="apply to int and float"):
        FieldSpec(type="str", minimum=1)
    with pytest.raises(ValueError, match="greater than maximum"):
        FieldSpec(type="int", minimum=5, maximum=1)
    with pytest.raises(ValueError, match="choices apply to str"):
        FieldSpec(type="int", choices=["1"])
    with pytest.raises(ValueError, match="at least one option"):
        FieldSpec(choices=[])
    with pytest.raises(ValueError, match="valid identifier"):
        normalise_fields(["not an identifier"])
    with pytest.raises(ValueError, match="not among the fields"):
        normalise_fields(["a"], {"b": "hint"})
    with pytest.raises(TypeError, match="not the string"):
        normalise_fields("rating")


def test_default_fields_are_main_points() -> None:
    specs = normalise_fields(None)
    assert list(specs) == ["main_points"] and specs["main_points"].type == "list[str]"


def test_extraction_model_enforces_bounds_and_choices() -> None:
    model = extraction_model({"rating": FieldSpec(type="int", minimum=1, maximum=10),
                              "verdict": FieldSpec(choices=["buy", "skip"])})
    assert model.model_validate({"rating": 10, "verdict": "skip"}).rating == 10  # type: ignore[attr-defined]
    for bad in ({"rating": 11, "verdict": "buy"}, {"rating": 5, "verdict": "maybe"}, {"rating": 5}):
        with pytest.raises(ValueError):
            model.model_validate(bad)


# ------------------------------------------------------------------------------------ validation

def test_an_out_of_bounds_answer_is_reasked_and_the_fix_accepted() -> None:
    backend = ScriptedBackend([{"rating": 42}, {"rating": 7}])
    client = LLMClient(backend)
    ex = ResultsExtractor(fields={"rating": FieldSpec(type="int", minimum=1, maximum=10)}, client=client)
    assert ex.extract_results_from_agent(agent_with_history("Ana", client, "seven")) == {"rating": 7}
    assert backend.calls == 2
    reask = backend.requests[1].messages[-1].content
    assert "rating" in reask and "less than or equal to 10" in reask


def test_persistently_invalid_answers_raise_with_the_raw_text() -> None:
    backend = ScriptedBackend([{"verdict": "maybe"}, "no idea", {"verdict": "perhaps"}])
    client = LLMClient(backend)
    ana = agent_with_history("Ana", client, "hmm")
    ex = ResultsExtractor(fields={"verdict": FieldSpec(choices=["buy", "skip"])}, client=client)
    with pytest.raises(LLMOutputError) as info:
        ex.extract_results_from_agent(ana)
    assert info.value.raw_text == '{"verdict": "perhaps"}'
    assert info.value.attempts == 3 and info.value.errors
    assert ex.agent_extraction == {}  # nothing made up for the failed agent


# ------------------------------------------------------------------------------------ several agents

def test_several_agents_are_extracted_concurrently_in_order() -> None:
    def respond(request: LLMRequest) -> dict[str, Any]:
        record = request.messages[-1].content
        return {"answer": "yes" if "I would buy" in record else "no"}

    lockstep = Lockstep(respond, group=6)  # every answer waits until all six calls are in flight
    client = LLMClient(ScriptedBackend(lockstep))
    agents = [agent_with_history(f"P{i}", client, "I would buy it" if i % 2 == 0 else "Not for me")
              for i in range(6)]
    ex = ResultsExtractor(fields=["answer"], client=client)
    results = ex.extract_results_from_agents(agents)
    assert results == [{"answer": "yes" if i % 2 == 0 else "no"} for i in range(6)]
    assert lockstep.calls == 6 and lockstep.peak == 6, "the six extraction calls did not run concurrently"
    assert list(ex.agent_extraction) == [a.name for a in agents]


async def test_async_extraction_from_agents() -> None:
    client = LLMClient(ScriptedBackend([{"answer": "a"}, {"answer": "b"}]))
    agents = [agent_with_history(n, client, "x") for n in ("Ana", "Ben")]
    results = await ResultsExtractor(fields=["answer"], client=client).aextract_results_from_agents(agents)
    assert sorted(r["answer"] for r in results) == ["a", "b"]


def test_extraction_from_a_world_uses_the_whole_history() -> None:
    backend = ScriptedBackend([turn(("TALK", "Too pricey", "Ben")), turn(("TALK", "Agreed", "Ana")),
                               {"consensus": "too expensive"}])
    client = LLMClient(backend)
    world = TinyWorld("Room", [TinyPerson("Ana"), TinyPerson("Ben")], initial_datetime=START, client=client)
    world.run(1, parallelize=False, randomize_agents_order=False)
    ex = ResultsExtractor("the consensus", situation="a focus group", fields=["consensus"])
    assert ex.extract_results_from_world(world) == {"consensus": "too expensive"}
    user = backend.requests[-1].messages[-1].content
    assert "# Situation\na focus group" in user
    assert ">>>>>>>> Interactions of Ana" in user and ">>>>>>>> Interactions of Ben" in user
    assert ex.world_extraction == {"Room": {"consensus": "too expensive"}}
    assert backend.contexts[-1].world == "Room"


def test_per_call_overrides_of_objective_and_fields() -> None:
    backend = ScriptedBackend([{"mood": "happy"}])
    client = LLMClient(backend)
    ex = ResultsExtractor("default objective", fields=["answer"], client=client)
    out = ex.extract_results_from_agent(agent_with_history("Ana", client, "yay"), extraction_objective="the mood",
                                        fields=["mood"])
    assert out == {"mood": "happy"}
    assert "# Objective\nthe mood" in backend.requests[0].messages[-1].content


# ------------------------------------------------------------------------------------ output

def _filled_extractor() -> ResultsExtractor:
    client = LLMClient(ScriptedBackend([{"rating": 8, "reasons": ["handy", "cheap"]},
                                        {"rating": 3, "reasons": ["ugly"]}]))
    ex = ResultsExtractor(fields={"rating": "int", "reasons": "list[str]"}, client=client)
    for name in ("Ana", "Ben"):
        ex.extract_results_from_agent(agent_with_history(name, client, "x"))
    return ex


def test_to_dataframe() -> None:
    df = _filled_extractor().to_dataframe()
    assert list(df.columns) == ["agent", "status", "error", "rating", "reasons"]
    assert df["status"].tolist() == ["ok", "ok"]
    assert df["agent"].tolist() == ["Ana", "Ben"] and df["rating"].tolist() == [8, 3]
    assert df["reasons"].tolist() == [["handy", "cheap"], ["ugly"]]
    assert results_to_dataframe([{"a": 1}, {"a": 2}])["a"].tolist() == [1, 2]


def test_save_as_json_and_csv(tmp_path: Path) -> None:
    ex = _filled_extractor()
    ex.save_as_json(tmp_path / "out.json")
    data = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    assert data == {"agent_extractions": {"Ana": {"rating": 8, "reasons": ["handy", "cheap"]},
                                          "Ben": {"rating": 3, "reasons": ["ugly"]}},
                    "agent_failures": {}, "world_extraction": {}}
    ex.save_as_csv(tmp_path / "out.csv")
    with (tmp_path / "out.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows == [{"agent": "Ana", "status": "ok", "error": "", "rating": "8", "reasons": "handy; cheap"},
                    {"agent": "Ben", "status": "ok", "error": "", "rating": "3", "reasons": "ugly"}]


# ------------------------------------------------------------------------------------ known answers, numbers

def test_the_agents_name_is_filled_in_not_asked() -> None:
    backend = ScriptedBackend([{"response": "yes", "justification": "cheap"}])
    client = LLMClient(backend)
    ana = agent_with_history("Ana", client, "yes, it is cheap")
    ex = ResultsExtractor(fields=["name", "response", "justification"], client=client)
    assert ex.extract_results_from_agent(ana) == {"name": "Ana", "response": "yes", "justification": "cheap"}
    request = backend.requests[0]
    assert set(request.response_schema["properties"]) == {"response", "justification"}  # type: ignore[index]
    assert '"name"' not in request.messages[0].content
    assert ex.agent_extraction["Ana"]["name"] == "Ana"


def test_only_the_name_asked_needs_no_model_call() -> None:
    backend = ScriptedBackend([])
    client = LLMClient(backend)
    ex = ResultsExtractor(fields={"agent_name": "str"}, client=client)
    assert ex.extract_results_from_agent(agent_with_history("Ana", client, "x")) == {"agent_name": "Ana"}
    assert backend.calls == 0


def test_a_name_field_with_choices_is_still_asked() -> None:
    backend = ScriptedBackend([{"name": "Gazpacho"}])
    client = LLMClient(backend)
    ex = ResultsExtractor(fields={"name": {"choices": ["Gazpacho", "Salmorejo"]}}, client=client)
    assert ex.extract_results_from_agent(agent_with_history("Ana", client, "x")) == {"name": "Gazpacho"}
    assert backend.calls == 1


def test_results_of_several_agents_say_whose_they_are() -> None:
    def respond(request: LLMRequest) -> dict[str, Any]:
        record = request.messages[-1].content
        return {"rating": 9 if "love" in record else 2}

    client = LLMClient(ScriptedBackend(respond))
    ana, ben = agent_with_history("Ana", client, "I love it"), agent_with_history("Ben", client, "meh")
    ex = ResultsExtractor(fields={"name": "str", "rating": "int"}, client=client)
    results = ex.extract_results_from_agents([ana, ben])
    assert results == [{"name": "Ana", "rating": 9}, {"name": "Ben", "rating": 2}]  # TinyTroupe's list
    assert results.agents == ["Ana", "Ben"]
    assert results.by_agent == {"Ana": {"name": "Ana", "rating": 9}, "Ben": {"name": "Ben", "rating": 2}}


def test_numbers_come_back_as_numbers() -> None:
    backend = ScriptedBackend([{"rating": "7", "price": "12.5", "buy": "true"}])
    client = LLMClient(backend)
    ex = ResultsExtractor(fields={"rating": "int", "price": "float", "buy": "bool"}, client=client)
    out = ex.extract_results_from_agent(agent_with_history("Ana", client, "seven"))
    assert out == {"rating": 7, "price": 12.5, "buy": True}
    assert type(out["rating"]) is int and type(out["price"]) is float
    schema = backend.requests[0].response_schema
    assert schema is not None
    assert schema["properties"]["rating"]["type"] == "integer" and schema["properties"]["price"]["type"] == "number"


@pytest.mark.parametrize("bad", ["seven", "7/10", 7.5, True, "NaN", None])
def test_a_non_numeric_answer_is_reasked_not_guessed(bad: Any) -> None:
    backend = ScriptedBackend([{"rating": bad}, {"rating": 7}])
    client = LLMClient(backend)
    ex = ResultsExtractor(fields={"rating": FieldSpec(type="int", minimum=1, maximum=10)}, client=client)
    assert ex.extract_results_from_agent(agent_with_history("Ana", client, "seven")) == {"rating": 7}
    assert backend.calls == 2
    assert "rating" in backend.requests[1].messages[-1].content


def test_a_non_numeric_answer_that_stays_is_raised_with_the_raw_text() -> None:
    backend = ScriptedBackend([{"rating": "seven"}] * 3)
    client = LLMClient(backend)
    ex = ResultsExtractor(fields={"rating": "int"}, client=client)
    with pytest.raises(LLMOutputError) as info:
        ex.extract_results_from_agent(agent_with_history("Ana", client, "seven"))
    assert info.value.raw_text == '{"rating": "seven"}'
    assert ex.agent_extraction == {} and "Ana" in ex.agent_failures


def test_dataframe_keeps_integers_when_an_agent_failed() -> None:
    def respond(request: LLMRequest) -> Any:
        return '{"rating": 8' if "Ben said" in request.messages[1].content else {"rating": 8}  # Ben's: cut off

    client = LLMClient(ScriptedBackend(respond), max_reasks=1)
    agents = [agent_with_history(n, client, f"{n} said hi") for n in ("Ana", "Ben")]
    ex = ResultsExtractor(fields={"name": "str", "rating": "int"}, client=client)
    with pytest.raises(ExtractionError) as info:
        ex.extract_results_from_agents(agents)
    assert info.value.results == {"Ana": {"name": "Ana", "rating": 8}} and set(info.value.failures) == {"Ben"}
    df = ex.to_dataframe().set_index("agent")
    assert df.loc["Ana", "rating"] == 8 and str(df["rating"].dtype) == "Int64"
    assert pd.isna(df.loc["Ben", "rating"]) and df.loc["Ben", "status"] == "failed"


# ------------------------------------------------------------------------------------ regressions

def test_agents_sharing_a_name_each_keep_their_outcome() -> None:
    # Two agents called Ana, one whose answer stays malformed: its failure must not vanish behind the
    # other's result (outcomes are tracked per position, not per name).
    def respond(request: LLMRequest) -> Any:
        return "not json at all" if "bad answer" in request.messages[1].content else {"rating": 7}

    client = LLMClient(ScriptedBackend(respond), max_reasks=1)
    bad, good = agent_with_history("Ana", client, "bad answer"), agent_with_history("Ana", client, "fine")
    ex = ResultsExtractor(fields={"rating": "int"}, client=client)
    with pytest.raises(ExtractionError) as info:
        ex.extract_results_from_agents([bad, good])
    assert info.value.results == {"Ana (2)": {"rating": 7}}
    assert list(info.value.failures) == ["Ana"] and "LLMOutputError" in info.value.failures["Ana"]
    assert list(ex.result_rows()) == ["Ana", "Ana (2)"]
    assert ex.result_rows()["Ana"]["status"] == "failed" and ex.result_rows()["Ana (2)"]["status"] == "ok"

    # both answering: one entry per agent, in order, none lost in by_agent
    ok = LLMClient(ScriptedBackend(lambda request: {"rating": 3 if "first" in request.messages[1].content else 9}))
    first, second = agent_with_history("Ana", ok, "first"), agent_with_history("Ana", ok, "second")
    results = ResultsExtractor(fields={"name": "str", "rating": "int"}, client=ok).extract_results_from_agents(
        [first, second])
    assert results == [{"name": "Ana", "rating": 3}, {"name": "Ana", "rating": 9}]
    assert results.agents == ["Ana", "Ana"]
    assert results.by_agent == {"Ana": {"name": "Ana", "rating": 3}, "Ana (2)": {"name": "Ana", "rating": 9}}


def test_a_name_field_with_a_hint_is_asked_not_filled_in() -> None:
    backend = ScriptedBackend([{"name": "SmartBottle", "description": "a bottle that tracks water"}])
    client = LLMClient(backend)
    ex = ResultsExtractor(fields=["name", "description"], fields_hints={"name": "the product's name"},
                          client=client)
    ana = agent_with_history("Ana", client, "the SmartBottle tracks water")
    assert ex.extract_results_from_agent(ana) == {"name": "SmartBottle", "description": "a bottle that tracks water"}
    assert set(backend.requests[0].response_schema["properties"]) == {"name", "description"}  # type: ignore[index]
    assert "the product's name" in backend.requests[0].messages[0].content
