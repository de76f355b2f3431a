"""YAML scenarios: validation errors that point at file, line and field; the bundled examples; running."""

from __future__ import annotations

import json
from pathlib import Path
from textwrap import dedent
from typing import Any

import pytest
from helpers import agent_of, is_action_request, turn
from scenario_support import error_of, write

from tinytroupe.errors import ScenarioError
from tinytroupe.llm import LLMClient, LLMRequest, ScriptedBackend
from tinytroupe.scenario import Scenario, arun_scenario, build_agents, build_world, load_scenario

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

VALID = """\
name: Test study
seed: 3
agents:
  - example: lisa
  - persona: {name: Ana, age: 40}
script:
  - broadcast: Hello
  - run: 1
"""


# ------------------------------------------------------------------------------------ validation

def test_valid_file(tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path, VALID))
    assert scenario.name == "Test study" and scenario.seed == 3 and scenario.total_steps == 1
    assert scenario.agents[1].persona == {"name": "Ana", "age": 40}


def test_unknown_top_level_field_names_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, VALID + "wrold:\n  name: Typo\n")
    err = error_of(path)
    assert (err.path, err.line, err.field) == (str(path), 9, "wrold")
    assert f"{path}:9: wrold: unknown field" in str(err)


def test_unknown_nested_field_names_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, VALID + "world:\n  name: Room\n  minutes_per_stp: 5\n")
    err = error_of(path)
    assert (err.line, err.field) == (11, "world.minutes_per_stp")
    assert f"{path}:11: world.minutes_per_stp: unknown field" in str(err)


def test_a_script_that_never_runs_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, """\
        name: No run
        agents:
          - example: lisa
        script:
          - broadcast: Hello
        """)
    err = error_of(path)
    assert err.field == "script" and err.line == 4
    assert f"{path}:4: script:" in str(err) and "never runs the world" in str(err)


def test_an_agent_with_both_example_and_file_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, """\
        name: Both
        agents:
          - example: lisa
          - example: oscar
            file: oscar.agent.json
        script:
          - run: 1
        """)
    err = error_of(path)
    assert err.field == "agents.1" and err.line == 4
    assert f"{path}:4: agents.1:" in str(err) and "exactly one of" in str(err)
    assert "example, file" in str(err)


@pytest.mark.parametrize(("old", "new", "line", "field"), [
    ("seed: 3", "seed: seven", 2, "seed"),
    ("seed: 3", "max_actions_per_turn: 99", 2, "max_actions_per_turn"),
    ("seed: 3", "world:\n  kind: galaxy", 3, "world.kind"),
])
def test_bad_types_and_values_name_field_and_line(tmp_path: Path, old: str, new: str, line: int,
                                                  field: str) -> None:
    path = write(tmp_path, VALID.replace(old, new))
    err = error_of(path)
    assert (err.line, err.field) == (line, field)
    assert f"{path}:{line}: {field}:" in str(err)


def test_bad_script_item(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace("  - run: 1", "  - run: two"))
    err = error_of(path)
    assert (err.line, err.field) == (8, "script.1.run")
    two_keys = write(tmp_path, VALID.replace("  - run: 1", "  - run: 1\n    broadcast: hi"), "two.yaml")
    assert "exactly one of" in str(error_of(two_keys))


def test_missing_file_bad_yaml_and_not_a_mapping(tmp_path: Path) -> None:
    missing = error_of(tmp_path / "nope.yaml")
    assert "does not exist" in str(missing) and missing.path == str(tmp_path / "nope.yaml")
    broken = error_of(write(tmp_path, "name: x\nagents: [a, b\nscript: 1\n", "broken.yaml"))
    assert "not valid YAML" in str(broken) and broken.line is not None
    listed = error_of(write(tmp_path, "- just\n- a list\n", "list.yaml"))
    assert "YAML mapping" in str(listed)


def test_a_scenario_needs_agents_or_population(tmp_path: Path) -> None:
    err = error_of(write(tmp_path, "name: Empty\nscript:\n  - run: 1\n"))
    assert "needs 'agents' or a 'population'" in str(err)


# ------------------------------------------------------------------------------------ examples

def test_bundled_examples_load_and_validate() -> None:
    focus = load_scenario(EXAMPLES / "focus_group.yaml")
    assert [a.example for a in focus.agents] == ["lisa", "oscar", "marcos"]
    assert focus.extraction is not None and set(focus.extraction.fields) == {"rating", "reason"}
    assert focus.extraction.fields["rating"].maximum == 10
    survey = load_scenario(EXAMPLES / "survey.yaml")
    assert survey.population is not None and survey.population.size == 24
    assert survey.extraction is not None
    assert survey.extraction.fields["preference"].choices == ["remote", "office", "hybrid"]


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_every_bundled_example_validates(example: Path) -> None:
    # every check a run makes before its first call: personas, names, tools, data and document files
    assert load_scenario(example).script


def test_population_is_sampled_deterministically_with_the_seed() -> None:
    survey = load_scenario(EXAMPLES / "survey.yaml")
    first = [a.persona.to_spec() for a in build_agents(survey, EXAMPLES)]
    again = [a.persona.to_spec() for a in build_agents(survey, EXAMPLES)]
    other = [a.persona.to_spec() for a in build_agents(survey.model_copy(update={"seed": 8}), EXAMPLES)]
    assert first == again
    assert first != other
    names = [p["persona"]["name"] for p in first]
    assert len(names) == 24 and len(set(names)) == 24
    person = first[0]["persona"]
    assert person["occupation"]["title"] in survey.population.sample["occupation.title"]  # type: ignore[union-attr]
    assert person["age"] in survey.population.sample["age"]  # type: ignore[union-attr]


def test_inline_personas_fragments_and_renames(tmp_path: Path) -> None:
    (tmp_path / "calm.fragment.json").write_text(json.dumps(
        {"type": "Fragment", "persona": {"personality": {"traits": ["calm"]}}}))
    scenario = Scenario.model_validate({
        "name": "x", "script": [{"run": 1}],
        "agents": [{"example": "lisa", "name": "Lisa", "fragments": ["skeptic"]},
                   {"persona": {"name": "Ana"}, "fragments": ["calm.fragment.json"]}],
    })
    lisa, ana = build_agents(scenario, tmp_path)
    assert lisa.name == "Lisa" and lisa.get("beliefs")  # the skeptic fragment adds beliefs
    assert ana.get("personality.traits") == ["calm"]
    dupes = scenario.model_copy(update={"agents": [scenario.agents[0], scenario.agents[0]]})
    with pytest.raises(ScenarioError, match="unique"):
        build_agents(dupes, tmp_path)


def test_social_network_worlds_and_unknown_relation_names() -> None:
    data: dict[str, Any] = {
        "name": "net", "script": [{"run": 1}],
        "agents": [{"persona": {"name": "Ana"}}, {"persona": {"name": "Ben"}}],
        "world": {"kind": "social_network", "relations": [["Ana", "Ben", "friends"]]},
    }
    scenario = Scenario.model_validate(data)
    agents = build_agents(scenario, Path("."))
    world = build_world(scenario, agents, LLMClient(ScriptedBackend([])))
    assert type(world).__name__ == "TinySocialNetwork"
    assert world.relations == {"friends": [("Ana", "Ben")]}  # type: ignore[attr-defined]
    assert world.current_datetime == scenario.world.initial_datetime
    data["world"]["relations"] = [["Ana", "Zed", "friends"]]
    bad = Scenario.model_validate(data)
    with pytest.raises(ScenarioError, match="'Zed'"):
        build_world(bad, build_agents(bad, Path(".")), LLMClient(ScriptedBackend([])))


# ------------------------------------------------------------------------------------ running

def study_backend(ratings: dict[str, int]) -> ScriptedBackend:
    """Agents answer the moderator; extraction gives each agent its own rating."""

    def respond(request: LLMRequest) -> Any:
        if is_action_request(request):
            name = agent_of(request)
            return turn(("TALK", f"{name} thinks it is fine"))
        record = request.messages[-1].content
        name = record.split(">>>>>>>> Interactions of ", 1)[1].split("\n", 1)[0]
        return {"rating": ratings[name], "reason": f"{name}'s reason"}

    return ScriptedBackend(respond)


async def test_focus_group_runs_end_to_end_with_a_scripted_backend() -> None:
    scenario = load_scenario(EXAMPLES / "focus_group.yaml")
    ratings = {"Lisa Brennan": 7, "Oscar Villanueva": 4, "Marcos Ferreira": 9}
    backend = study_backend(ratings)
    steps_seen: list[tuple[int, int]] = []
    world, result = await arun_scenario(scenario, client=LLMClient(backend), base_dir=EXAMPLES,
                                        on_step=lambda done, total: steps_seen.append((done, total)))
    assert result.results == {n: {"status": "ok", "rating": r, "reason": f"{n}'s reason"}
                              for n, r in ratings.items()}
    assert result.failed == 0
    assert result.steps == 2  # one scripted step and one for the closing question
    assert steps_seen == [(1, 1)]
    assert result.errors == [] and result.scenario == scenario.name
    assert result.cost["calls"] == backend.calls == 3 * 2 + 3
    assert world.current_step == 2
    assert all(a.max_actions_per_turn == 2 for a in world.agents)
    for agent in world.agents:
        heard_texts = [i.content for i in agent.memory.items() if i.type == "CONVERSATION"]
        assert any("water bottle" in t for t in heard_texts) and any("Last question" in t for t in heard_texts)


async def test_survey_runs_for_every_sampled_person() -> None:
    scenario = load_scenario(EXAMPLES / "survey.yaml")
    expected_names = [a.name for a in build_agents(scenario, EXAMPLES)]

    def respond(request: LLMRequest) -> Any:
        if is_action_request(request):
            return turn(("TALK", "hybrid, please"))
        return {"preference": "hybrid", "reason": "balance"}

    world, result = await arun_scenario(scenario, client=LLMClient(ScriptedBackend(respond)), base_dir=EXAMPLES)
    assert list(result.results) == expected_names  # same people, same order: sampled with the seed
    assert all(r == {"status": "ok", "preference": "hybrid", "reason": "balance"} for r in result.results.values())
    assert all(a.accessible_agents == [] for a in world.agents)  # everyone_accessible: false
    assert result.steps == 1


async def test_failed_turns_are_reported_in_the_result(tmp_path: Path) -> None:
    path = write(tmp_path, VALID)

    def respond(request: LLMRequest) -> Any:
        if is_action_request(request):
            return "garbage" if agent_of(request) == "Ana" else turn()
        return {"response": "ok"}

    _, result = await arun_scenario(load_scenario(path), client=LLMClient(ScriptedBackend(respond)))
    assert [(e["agent"], e["step"], e["error_type"]) for e in result.errors] == [("Ana", 1, "LLMOutputError")]


async def test_script_items_reach_the_named_agents(tmp_path: Path) -> None:
    path = write(tmp_path, """\
        name: Script
        agents:
          - persona: {name: Ana}
          - persona: {name: Ben}
        script:
          - listen: {Ana: "psst"}
          - think: {"*": "it is late"}
          - see: {Ben: "a cat"}
          - internalize_goal: {Ana: "go home"}
          - context: ["a dark street"]
          - run: 1
        """)
    backend = ScriptedBackend(lambda r: turn())
    client = LLMClient(backend)
    world, _ = await arun_scenario(load_scenario(path), client=client)
    ana, ben = world.agents
    assert [(i.type, i.content) for i in ana.memory.items() if i.kind == "stimulus"] == [
        ("CONVERSATION", "psst"), ("THOUGHT", "it is late"), ("INTERNAL_GOAL_FORMULATION", "go home")]
    assert [(i.type, i.content) for i in ben.memory.items() if i.kind == "stimulus"] == [
        ("THOUGHT", "it is late"), ("VISUAL", "a cat")]
    assert all("Context: a dark street" in r.messages[-1].content for r in backend.requests)

    bad = write(tmp_path, VALID.replace("  - run: 1", "  - listen: {Zed: hi}\n  - run: 1"), "bad.yaml")
    with pytest.raises(ScenarioError, match="'Zed'"):
        await arun_scenario(load_scenario(bad), client=client)


def test_unknown_examples_and_missing_files_are_reported_at_load_time(tmp_path: Path) -> None:
    path = write(tmp_path, dedent("""\
        name: x
        agents:
          - example: oscr
          - file: nope.agent.json
            fragments: [skeptic, cynic]
        script:
          - run: 1
        """))
    err = error_of(path)
    text = str(err)
    assert f"{path}:3: agents.0.example" in text and "did you mean 'oscar'" in text
    assert f"{path}:4: agents.1.file" in text and "nope.agent.json" in text
    assert f"{path}:5: agents.1.fragments.1" in text and "'cynic'" in text
    assert "skeptic'" not in text.split("agents.1.fragments.1")[0]  # the valid fragment is not reported
    assert err.line == 3 and err.field == "agents.0.example"


def test_a_misspelt_field_gets_a_did_you_mean(tmp_path: Path) -> None:
    path = write(tmp_path, "name: x\nworld: {minutes_per_stepp: 3}\nagents:\n  - example: lisa\nscript:\n  - run: 1\n")
    assert "did you mean 'minutes_per_step'" in str(error_of(path))


def test_population_uses_every_name_before_numbering_repeats() -> None:
    scenario = Scenario.model_validate({
        "name": "p", "seed": 1, "population": {"size": 5, "names": ["Ana", "Ben", "Cai"]},
        "script": [{"run": 1}]})
    names = [a.name for a in build_agents(scenario, Path("."))]
    assert sorted(names[:3]) == ["Ana", "Ben", "Cai"]
    assert all(n.endswith(" 2") for n in names[3:]) and len(set(names)) == 5


# ------------------------------------------------------------------------------------ checked before anything is paid

@pytest.mark.parametrize(("step", "field", "who"), [
    ("listen: {Zed: hi}", "script.1.listen.Zed", "Zed"),
    ("think: {Ana: ok, Bob: hm}", "script.1.think.Bob", "Bob"),
    ("see: {Lisa: a cat}", "script.1.see.Lisa", "Lisa"),
    ("internalize_goal: {ana: go home}", "script.1.internalize_goal.ana", "ana"),
])
def test_a_step_naming_an_unknown_agent_fails_at_load_time_with_its_line(tmp_path: Path, step: str, field: str,
                                                                         who: str) -> None:
    path = write(tmp_path, f"name: x\nagents:\n  - persona: {{name: Ana}}\nscript:\n  - run: 2\n  - {step}\n"
                           "  - run: 1\n")
    err = error_of(path)
    assert (err.path, err.line, err.field) == (str(path), 6, field)
    assert f"{path}:6: {field}: no agent is named {who!r}; agents: Ana" in str(err)


def test_duplicate_agent_names_fail_at_load_time_with_their_line(tmp_path: Path) -> None:
    path = write(tmp_path, """\
        name: x
        agents:
          - persona: {name: Ana}
          - example: lisa
          - persona: {name: " Ana"}
          - example: lisa
            name: Ana
        script:
          - run: 1
        """)
    err = error_of(path)
    assert (err.line, err.field) == (5, "agents.2")
    text = str(err)
    assert f"{path}:5: agents.2: a second agent named 'Ana' (the first is agents.0)" in text
    assert f"{path}:7: agents.3.name: a second agent named 'Ana'" in text


def test_a_bad_inline_persona_fails_at_load_time_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, """\
        name: x
        agents:
          - example: lisa
          - persona:
              name: Ana
              age: old
        script:
          - run: 1
        """)
    err = error_of(path)
    assert (err.line, err.field) == (6, "agents.1.persona.age")
    assert f"{path}:6: agents.1.persona.age: expected an integer" in str(err)
    nameless = write(tmp_path, "name: x\nagents:\n  - persona: {age: 40}\nscript:\n  - run: 1\n", "nameless.yaml")
    err = error_of(nameless)
    assert err.line == 3 and err.field is not None and err.field.startswith("agents.0.persona")


def test_no_agent_may_be_named_star(tmp_path: Path) -> None:
    path = write(tmp_path, 'name: x\nagents:\n  - persona: {name: Ana}\n  - example: lisa\n    name: "*"\n'
                           "script:\n  - run: 1\n")
    err = error_of(path)
    assert (err.line, err.field) == (5, "agents.1.name") and "'*' means every agent" in str(err)
    pop = write(tmp_path, 'name: x\npopulation: {size: 2, names: [Ana, "*"]}\nscript:\n  - run: 1\n', "pop.yaml")
    assert error_of(pop).field == "population.names.1"


async def test_a_scenario_made_in_python_fails_before_the_first_model_call() -> None:
    scenario = Scenario.model_validate({
        "name": "x", "agents": [{"persona": {"name": "Ana"}}, {"persona": {"name": "Ben"}}],
        "script": [{"broadcast": "hi"}, {"run": 3}, {"listen": {"Zed": "psst"}}, {"run": 1}]})
    backend = ScriptedBackend(lambda r: turn())
    with pytest.raises(ScenarioError) as info:
        await arun_scenario(scenario, client=LLMClient(backend))
    assert info.value.field == "script.2.listen.Zed" and "no agent is named 'Zed'" in str(info.value)
    assert backend.calls == 0  # nothing was paid for
