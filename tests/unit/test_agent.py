"""TinyPerson: perception, acting, cognitive state, persona editing, specifications, accessibility."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from helpers import START, new_section, policy_client, state, turn

from tinytroupe.agent import Fragment, Persona, TinyPerson
from tinytroupe.environment import TinyWorld
from tinytroupe.errors import LLMOutputError
from tinytroupe.events import ActionEvent, Event, StimulusEvent
from tinytroupe.llm import LLMClient, ScriptedBackend


def scripted_agent(name: str, replies: list[Any], **kwargs: Any) -> tuple[TinyPerson, ScriptedBackend]:
    backend = ScriptedBackend(replies)
    return TinyPerson(name, client=LLMClient(backend), **kwargs), backend


def test_name_is_required_and_stripped() -> None:
    with pytest.raises(ValueError, match="non-empty name"):
        TinyPerson("   ")
    assert TinyPerson("  Lisa ").name == "Lisa"


# ------------------------------------------------------------------------------------ perception

def test_stimuli_are_remembered_with_sim_time_and_published_in_order() -> None:
    client, _ = policy_client(lambda n, r: turn())
    ana = TinyPerson("Ana")
    world = TinyWorld("Room", [ana], initial_datetime=START, client=client)
    events: list[Event] = []
    world.bus.subscribe(events.append, kinds=["stimulus"])

    result = (ana.listen("Hello", source="Ben")
              .see("a red bottle")
              .think("I am thirsty")
              .internalize_goal("buy water")
              .socialize("Ben waves", source=TinyPerson("Ben"))
              .move_to("the kitchen", context=["at home"]))
    assert result is ana  # every perception method chains

    items = ana.memory.items()
    assert [(i.type, i.content, i.source) for i in items] == [
        ("CONVERSATION", "Hello", "Ben"),
        ("VISUAL", "a red bottle", None),
        ("THOUGHT", "I am thirsty", None),
        ("INTERNAL_GOAL_FORMULATION", "buy water", None),
        ("SOCIAL", "Ben waves", "Ben"),
        ("LOCATION", "the kitchen", None),
    ]
    assert all(i.kind == "stimulus" and i.sim_time == START and i.step == 0 for i in items)
    assert [i.id for i in items] == [1, 2, 3, 4, 5, 6]
    assert ana.location == "the kitchen" and ana.cognitive_state.context == ["at home"]

    assert [e.stimulus_type for e in events if isinstance(e, StimulusEvent)] == [i.type for i in items]
    first = events[0]
    assert isinstance(first, StimulusEvent)
    assert (first.agent, first.world, first.source, first.sim_time) == ("Ana", "Room", "Ben", START.isoformat())

    world.skip(1, timedelta(minutes=5))
    ana.listen("later")
    assert ana.memory.items()[-1].sim_time == START + timedelta(minutes=5)
    assert ana.memory.items()[-1].step == 1


def test_stimulus_content_must_be_text() -> None:
    ana = TinyPerson("Ana", client=LLMClient(ScriptedBackend([])))
    with pytest.raises(TypeError, match="must be text"):
        ana.listen(42)  # type: ignore[arg-type]


def test_change_context_replaces_context_without_a_memory_item() -> None:
    ana = TinyPerson("Ana", client=LLMClient(ScriptedBackend([])))
    ana.change_context(["a meeting", "late"])
    assert ana.cognitive_state.context == ["a meeting", "late"]
    assert len(ana.memory) == 0


# ------------------------------------------------------------------------------------ acting

def test_act_returns_actions_ending_in_done_and_publishes_them() -> None:
    reply = turn(("TALK", "Hi Ben!", "Ben"), ("THINK", "he looks tired"))
    ana, backend = scripted_agent("Ana", [reply])
    seen: list[Event] = []
    ana.bus.subscribe(seen.append, kinds=["action"])
    actions = ana.listen_and_act("Hello", source="Ben", return_actions=True)
    assert actions is not None
    assert [(a.type, a.content, a.target) for a in actions] == [
        ("TALK", "Hi Ben!", "Ben"), ("THINK", "he looks tired", ""), ("DONE", "", "")]
    published = [(e.action_type, e.target) for e in seen if isinstance(e, ActionEvent)]
    assert published == [("TALK", "Ben"), ("THINK", None), ("DONE", None)]
    assert backend.contexts[0].agent == "Ana" and backend.contexts[0].purpose == "action"
    assert ana.turns == 1
    assert ana.last_remembered_action() is not None
    assert ana.last_remembered_action().type == "THINK"  # type: ignore[union-attr]
    assert ana.last_remembered_action(ignore_done=False).type == "DONE"  # type: ignore[union-attr]


def test_act_without_return_actions_returns_none() -> None:
    ana, _ = scripted_agent("Ana", [turn(("THINK", "hm"))])
    assert ana.act() is None
    assert [a.type for a in ana.pop_latest_actions()] == ["THINK", "DONE"]


def test_missing_done_is_added_and_actions_after_done_are_dropped() -> None:
    no_done = {"actions": [{"type": "TALK", "content": "a"}], "cognitive_state": state()}
    early_done = {"actions": [{"type": "THINK", "content": "x"}, {"type": "DONE"},
                              {"type": "TALK", "content": "never said"}], "cognitive_state": state()}
    ana, _ = scripted_agent("Ana", [no_done, early_done])
    assert [a.type for a in ana.act(return_actions=True) or []] == ["TALK", "DONE"]
    assert [a.type for a in ana.act(return_actions=True) or []] == ["THINK", "DONE"]


def test_actions_are_truncated_to_max_actions_per_turn() -> None:
    three_talks = {"actions": [{"type": "TALK", "content": str(i)} for i in range(3)], "cognitive_state": state()}
    ana, _ = scripted_agent("Ana", [three_talks], max_actions_per_turn=2)
    actions = ana.act(return_actions=True) or []
    assert [(a.type, a.content) for a in actions] == [("TALK", "0"), ("TALK", "1"), ("DONE", "")]
    # only what was committed is remembered
    assert [i.content for i in ana.memory.items() if i.type == "TALK"] == ["0", "1"]


def test_n_and_until_done_cap_the_actions_of_a_turn() -> None:
    many = turn(("TALK", "one"), ("TALK", "two"), ("THINK", "three"))
    ana, _ = scripted_agent("Ana", [many, many, many])
    assert [a.content for a in ana.act(n=2, return_actions=True) or []] == ["one", "two", ""]
    assert [a.content for a in ana.act(until_done=False, return_actions=True) or []] == ["one", ""]
    assert [a.content for a in ana.act(return_actions=True) or []] == ["one", "two", "three", ""]
    with pytest.raises(ValueError, match="between 1 and 15"):
        ana.act(n=0)


def test_a_turn_longer_than_allowed_is_cut_not_reasked() -> None:
    too_many = {"actions": [{"type": "TALK", "content": str(i)} for i in range(5)], "cognitive_state": state()}
    ana, backend = scripted_agent("Ana", [too_many], max_actions_per_turn=2)
    actions = ana.act(return_actions=True) or []
    assert [(a.type, a.content) for a in actions] == [("TALK", "0"), ("TALK", "1"), ("DONE", "")]
    assert backend.calls == 1
    schema = backend.requests[0].response_schema
    assert schema is not None and schema["properties"]["actions"]["maxItems"] == 3  # still advertised


def test_unknown_action_type_and_invalid_json_raise_llm_output_error_with_raw_text() -> None:
    bad = {"actions": [{"type": "DANCE", "content": "x"}], "cognitive_state": state()}
    ana, backend = scripted_agent("Ana", [bad, bad, bad])
    with pytest.raises(LLMOutputError) as info:
        ana.act()
    assert "DANCE" in info.value.raw_text and backend.calls == 3
    assert ana.turns == 0 and ana.pop_latest_actions() == []

    ben, _ = scripted_agent("Ben", ["not json at all"] * 3)
    with pytest.raises(LLMOutputError) as info2:
        ben.act()
    assert info2.value.raw_text == "not json at all"


def test_cognitive_state_is_stored_field_by_field_and_shown_in_the_next_prompt() -> None:
    first = turn(("THINK", "hm"), goals="find a cheap flight", attention="the prices",
                 emotions="a bit anxious", context=["at the airport", "flight delayed"])
    ana, backend = scripted_agent("Ana", [first, turn()])
    ana.act()
    cs = ana.cognitive_state
    assert cs.goals == "find a cheap flight"
    assert cs.attention == "the prices"
    assert cs.emotions == "a bit anxious"
    assert cs.context == ["at the airport", "flight delayed"]
    ana.act()
    user = backend.requests[1].messages[-1].content
    assert "Goals: find a cheap flight" in user
    assert "Attention: the prices" in user
    assert "Emotions: a bit anxious" in user
    assert "Context: at the airport; flight delayed" in user


def test_stimuli_are_new_once_then_move_to_recent() -> None:
    ana, backend = scripted_agent("Ana", [turn(("TALK", "hi")), turn()])
    ana.listen("Good morning", source="Ben")
    ana.act()
    ana.act()
    first, second = backend.requests
    assert 'Ben said: "Good morning"' in new_section(first)
    assert new_section(second) == "(nothing new)"
    recent = second.messages[-1].content.split("# Recent events", 1)[1].split("# Your situation", 1)[0]
    assert 'Ben said: "Good morning"' in recent and 'you (Ana) said: "hi"' in recent
    assert "finished your turn" not in recent  # DONE lines are left out


def test_pop_latest_actions_empties_the_buffer() -> None:
    ana, _ = scripted_agent("Ana", [turn(("TALK", "a"), ("TALK", "b")), turn(("THINK", "c"))])
    ana.act()
    ana.act()
    popped = ana.pop_latest_actions()
    assert [a.content for a in popped] == ["a", "b", "", "c", ""]
    assert ana.pop_latest_actions() == []


def test_pop_actions_and_get_contents_for() -> None:
    ana, _ = scripted_agent("Ana", [turn(("TALK", "a"), ("TALK", "b"))] * 2)
    ana.act()
    assert ana.pop_actions_and_get_contents_for("TALK") == "b"
    assert ana.pop_actions_and_get_contents_for("TALK") == ""
    ana.act()
    assert ana.pop_actions_and_get_contents_for("TALK", only_last_action=False) == "a\nb"


async def test_aact_is_the_async_twin() -> None:
    ana, _ = scripted_agent("Ana", [turn(("TALK", "async hi"))])
    actions = await ana.aact(return_actions=True)
    assert actions is not None and actions[0].content == "async hi"


def test_pretty_current_interactions_lists_history_without_done() -> None:
    ana, _ = scripted_agent("Ana", [turn(("TALK", "Hi Ben", "Ben"))])
    ana.listen_and_act("Hello", source="Ben")
    text = ana.pretty_current_interactions()
    assert text.splitlines() == [">>>>>>>> Interactions of Ana", 'Ben said: "Hello"',
                                 'you (Ana) said to Ben: "Hi Ben"']
    # the last item is DONE; as in TinyTroupe, a line says how much was left out unless asked not to
    assert ana.pretty_current_interactions(last_n=1).splitlines()[1:] == ["(... 2 events omitted ...)"]
    assert ana.pretty_current_interactions(last_n=1, include_omission_info=False).splitlines()[1:] == []
    assert "…" in ana.pretty_current_interactions(max_content_length=3)


# ------------------------------------------------------------------------------------ persona

def test_define_get_and_item_access() -> None:
    ana = TinyPerson("Ana", persona={"age": 40})
    assert ana.define("occupation.title", "Architect") is ana
    ana["nationality"] = "Chilean"
    ana.define("personality.big_five.openness", "High")
    assert ana.get("occupation.title") == "Architect"
    assert ana["nationality"] == "Chilean"
    assert ana.get("age") == 40
    assert ana.get("personality.big_five.openness") == "High"
    assert ana.get("missing.path", "default") == "default"
    assert ana.persona.name == "Ana"
    with pytest.raises(ValueError, match="cannot be redefined"):
        ana.define("name", "Other")


def test_persona_object_is_renamed_to_the_agent_name() -> None:
    ana = TinyPerson("Ana", persona=Persona(name="Someone", age=30))
    assert ana.persona.name == "Ana" and ana.get("age") == 30


def test_adding_a_fragment_merges_it() -> None:
    ana = TinyPerson("Ana", persona={"skills": ["sewing"]})
    fragment = Fragment({"skills": ["chess"], "beliefs": ["tea is better than coffee"]})
    assert (ana + fragment) is ana
    assert ana.get("skills") == ["sewing", "chess"]
    assert ana.get("beliefs") == ["tea is better than coffee"]
    ana + {"age": 51}
    assert ana.get("age") == 51


def test_import_fragment_from_file(tmp_path: Path) -> None:
    path = tmp_path / "frag.fragment.json"
    path.write_text(json.dumps({"type": "Fragment", "persona": {"preferences": {"likes": ["jazz"]}}}))
    ana = TinyPerson("Ana") + path
    assert ana.get("preferences.likes") == ["jazz"]


def test_related_to_records_both_directions() -> None:
    ana, ben = TinyPerson("Ana"), TinyPerson("Ben")
    ana.related_to(ben, "my colleague", symmetric_description="my manager")
    assert ana.get("relationships") == [{"name": "Ben", "description": "my colleague"}]
    assert ben.get("relationships") == [{"name": "Ana", "description": "my manager"}]


def test_save_and_load_specification_round_trip(tmp_path: Path) -> None:
    ana, _ = scripted_agent("Ana", [turn(("TALK", "hello there"), goals="chat", emotions="happy")],
                            persona={"age": 33, "occupation": {"title": "Nurse"}})
    ana.listen_and_act("Hi", source="Ben")
    ana.move_to("the park")
    path = tmp_path / "ana.agent.json"

    ana.save_specification(path)
    bare = TinyPerson.load_specification(path)
    assert bare.persona == ana.persona
    assert len(bare.memory) == 0 and bare.cognitive_state.goals == ""

    ana.save_specification(path, include_memory=True, include_mental_state=True)
    full = TinyPerson.load_specification(path)
    assert full.persona == ana.persona
    assert full.memory.items() == ana.memory.items()
    assert full.cognitive_state == ana.cognitive_state
    assert full.location == "the park"
    # restored memory is already "seen": the next prompt has nothing new
    assert "(nothing new)" in full.build_prompt()[-1].content

    renamed = TinyPerson.load_specification(path, new_agent_name="Bea", suppress_memory=True,
                                            suppress_mental_state=True)
    assert renamed.name == "Bea" and renamed.persona.name == "Bea" and renamed.get("age") == 33
    assert len(renamed.memory) == 0 and renamed.location is None

    from_dict = TinyPerson.load_specification(json.loads(path.read_text()))
    assert from_dict.memory.items() == ana.memory.items()


def test_saving_a_loaded_agent_without_memory_writes_no_stale_memory(tmp_path: Path) -> None:
    ana, _ = scripted_agent("Ana", [turn(("TALK", "remember me"))])
    ana.listen_and_act("Hi")
    first, second = tmp_path / "a.agent.json", tmp_path / "b.agent.json"
    ana.save_specification(first, include_memory=True, include_mental_state=True)
    loaded = TinyPerson.load_specification(first)
    loaded.save_specification(second)
    saved = json.loads(second.read_text())
    assert "episodic_memory" not in saved and "mental_state" not in saved
    assert len(TinyPerson.load_specification(second).memory) == 0
    # a persona object read straight from an agent file does not carry the memory along either
    other = TinyPerson("Ana", persona=Persona.load(first))
    other.save_specification(second)
    assert "episodic_memory" not in json.loads(second.read_text())


def test_load_specification_of_a_fragment_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "f.fragment.json"
    path.write_text(json.dumps({"type": "Fragment", "persona": {"age": 3}}))
    from tinytroupe.errors import ScenarioError

    with pytest.raises(ScenarioError, match="Fragment"):
        TinyPerson.load_specification(path)


def test_to_state_is_json_serialisable() -> None:
    ana, _ = scripted_agent("Ana", [turn(("TALK", "x"))])
    ana.listen_and_act("hi")
    data = json.loads(json.dumps(ana.to_state()))
    assert data["name"] == "Ana" and data["turns"] == 1 and len(data["memory"]["items"]) == 3


# ------------------------------------------------------------------------------------ accessibility

def test_accessibility() -> None:
    ana, ben, cid = TinyPerson("Ana"), TinyPerson("Ben"), TinyPerson("Cid")
    ana.make_agent_accessible(ana)  # oneself is never listed
    ana.make_agent_accessible(ben, "my friend")
    ana.make_agents_accessible([cid])
    assert ana.accessible_agents == [ben, cid]
    assert ben.accessible_agents == []  # accessibility is one-directional
    ana.make_agent_inaccessible(ben)
    assert ana.accessible_agents == [cid]
    ana.make_all_agents_inaccessible()
    assert ana.accessible_agents == []


def test_accessible_agents_are_shown_in_the_prompt() -> None:
    ana, ben = TinyPerson("Ana", client=LLMClient(ScriptedBackend([]))), TinyPerson("Ben")
    assert "People you can talk to" not in ana.build_prompt()[-1].content
    ana.make_agent_accessible(ben, "my friend")
    assert "People you can talk to: Ben (my friend)" in ana.build_prompt()[-1].content

