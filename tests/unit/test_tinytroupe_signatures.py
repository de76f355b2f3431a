"""TinyTroupe 0.6.0's common signatures, called exactly as a TinyTroupe user would (positionally and by keyword).

Each test checks behaviour, not only that the call is accepted. LLM calls go to scripted backends.
"""

from __future__ import annotations

import gc
import io
import json
import uuid
import warnings
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from grounding_files import make_pdf
from helpers import START, make_world, turn
from rich.console import Console

from tinytroupe import control, scope
from tinytroupe.agent import Action, EpisodicMemory, MentalFaculty, SemanticMemory, TinyMentalFaculty, TinyPerson
from tinytroupe.agent.memory import documents
from tinytroupe.config import TinyTroupeCompatibilityWarning
from tinytroupe.environment import TinySocialNetwork, TinyWorld
from tinytroupe.errors import ScenarioError
from tinytroupe.llm import LLMClient, LLMRequest, ScriptedBackend
from tinytroupe.llm.default import set_default_client
from tinytroupe.steering import Intervention, InterventionBatch


@pytest.fixture(autouse=True)
def isolated_scope(request: pytest.FixtureRequest) -> Iterator[None]:
    """Lookups by name see only what each test creates (see tinytroupe.scope.session); the tests of
    lookups outside any scope run without one."""
    if "outside_any_scope" in request.node.name:
        yield
        return
    with scope.session():
        yield


def scripted(*replies: Any) -> tuple[LLMClient, ScriptedBackend]:
    backend = ScriptedBackend(list(replies))
    return LLMClient(backend), backend


def printed(fn: Any, *args: Any, **kwargs: Any) -> str:
    buffer = io.StringIO()
    fn(*args, console=Console(file=buffer, width=200, color_system=None), **kwargs)
    return buffer.getvalue()


class Diary(MentalFaculty):
    """A faculty with an action of its own and state that is saved with the agent."""

    def __init__(self) -> None:
        super().__init__("diary", actions={"WRITE_DIARY": "write in your diary; content is the entry"})
        self.entries: list[str] = []

    def process_action(self, agent: TinyPerson, action: Action) -> bool:
        if action.type != "WRITE_DIARY":
            return False
        self.entries.append(f"{agent.name}: {action.content}")
        return True

    def get_state(self) -> dict[str, Any]:
        return {"entries": list(self.entries)}

    def set_state(self, state: Any) -> None:
        self.entries = list(state.get("entries", []))


def lisa_with_history() -> TinyPerson:
    client, _ = scripted(turn(("WRITE_DIARY", "met Ben"), ("TALK", "Hi Ben", "Ben"), goals="chat", emotions="glad"))
    lisa = TinyPerson("Lisa", client=client, persona={"age": 28, "occupation": {"title": "Architect"}},
                      mental_faculties=[Diary()])
    lisa.listen_and_act("Hello Lisa", source="Ben")
    lisa.move_to("the park")
    return lisa


# ------------------------------------------------------------------------------ specifications


def test_save_specification_in_tinytroupes_positional_order(tmp_path: Path) -> None:
    lisa = lisa_with_history()
    path = tmp_path / "lisa.agent.json"

    lisa.save_specification(path)  # TinyTroupe's defaults: faculties yes, memory and mental state no
    saved = json.loads(path.read_text())
    assert saved["type"] == "TinyPerson" and saved["persona"]["age"] == 28
    assert [f["name"] for f in saved["mental_faculties"]] == ["diary"]
    assert "episodic_memory" not in saved and "mental_state" not in saved

    lisa.save_specification(str(path), False, True, True)  # (path, include_mental_faculties, memory, state)
    saved = json.loads(path.read_text())
    assert "mental_faculties" not in saved
    assert {"episodic_memory", "semantic_memory", "mental_state"} <= saved.keys()


def test_load_specification_positional_and_keyword_forms(tmp_path: Path) -> None:
    lisa = lisa_with_history()
    path = tmp_path / "lisa.agent.json"
    lisa.save_specification(path, include_mental_faculties=True, include_memory=True, include_mental_state=True)

    full = TinyPerson.load_specification(str(path))
    assert full.memory.items() == lisa.memory.items()
    assert full.cognitive_state == lisa.cognitive_state and full.location == "the park"
    assert [f.name for f in full.mental_faculties] == ["diary"]
    diary = full.mental_faculties[0]
    assert isinstance(diary, Diary) and diary.entries == ["Lisa: met Ben"]
    assert "WRITE_DIARY" in full.actions_registry.types

    # (path_or_dict, suppress_mental_faculties, suppress_memory, suppress_mental_state,
    #  auto_rename_agent, new_agent_name)
    bare = TinyPerson.load_specification(path, True, True, True, False, "Bea")
    assert bare.name == "Bea" and bare.get("age") == 28
    assert bare.mental_faculties == [] and "WRITE_DIARY" not in bare.actions_registry.types
    assert len(bare.memory) == 0 and bare.location is None

    keywords = TinyPerson.load_specification(json.loads(path.read_text()), suppress_mental_faculties=False,
                                             suppress_memory=True, suppress_mental_state=False,
                                             auto_rename_agent=False, new_agent_name="Cleo")
    assert keywords.name == "Cleo" and len(keywords.memory) == 0 and keywords.location == "the park"
    assert [f.name for f in keywords.mental_faculties] == ["diary"]


def test_load_specification_auto_rename_agent_picks_a_free_name_in_the_scope() -> None:
    spec = {"type": "TinyPerson", "persona": {"name": "Lisa", "age": 28}}
    first = TinyPerson.load_specification(spec)
    same = TinyPerson.load_specification(spec)  # without auto-rename the name is kept, as TinyTroupe intends
    renamed = [TinyPerson.load_specification(spec, auto_rename_agent=True) for _ in range(2)]
    assert (first.name, same.name) == ("Lisa", "Lisa")
    assert [a.name for a in renamed] == ["Lisa_1", "Lisa_2"]
    assert renamed[0].persona.name == "Lisa_1" and renamed[0].get("age") == 28
    assert TinyPerson.load_specification(spec, False, False, False, True, "Zoe").name == "Zoe"


def test_a_saved_faculty_of_an_unknown_type_is_a_clear_error(tmp_path: Path) -> None:
    spec = {"type": "TinyPerson", "persona": {"name": "Lisa"},
            "mental_faculties": [{"json_serializable_class_name": "RecallFaculty", "name": "Memory Recall"}]}
    with pytest.raises(ScenarioError, match=r"RecallFaculty.*suppress_mental_faculties=True"):
        TinyPerson.load_specification(spec)
    assert TinyPerson.load_specification(spec, suppress_mental_faculties=True).mental_faculties == []


def test_load_specifications_from_folder(tmp_path: Path) -> None:
    lisa = lisa_with_history()
    lisa.save_specification(tmp_path / "b_lisa.agent.json", include_memory=True)
    TinyPerson("Ana", persona={"age": 40}).save_specification(tmp_path / "a_ana.agent.json")
    (tmp_path / "skeptic.fragment.json").write_text(json.dumps({"type": "Fragment", "persona": {"age": 1}}))
    (tmp_path / "notes.txt").write_text("not an agent")

    agents = TinyPerson.load_specifications_from_folder(str(tmp_path))
    assert [a.name for a in agents] == ["Ana", "Lisa"]  # file-name order
    assert len(agents[1].memory) == len(lisa.memory)

    # (folder_path, file_suffix, suppress_mental_faculties, suppress_memory)
    quiet = TinyPerson.load_specifications_from_folder(tmp_path, ".agent.json", True, True)
    assert len(quiet[1].memory) == 0 and quiet[1].mental_faculties == []
    with pytest.raises(ScenarioError, match="Fragment"):
        TinyPerson.load_specifications_from_folder(tmp_path, file_suffix=".fragment.json")
    with pytest.raises(ScenarioError, match="not a folder"):
        TinyPerson.load_specifications_from_folder(tmp_path / "notes.txt")


# ------------------------------------------------------------------------------ persona and bio


def test_define_with_merge_and_overwrite_scalars() -> None:
    lisa = TinyPerson("Lisa")
    lisa.define("skills", ["sewing"])
    lisa.define("skills", ["chess"], True)  # (key, value, merge)
    assert lisa.get("skills") == ["sewing", "chess"]
    lisa.define("skills", ["drawing"], merge=False)
    assert lisa.get("skills") == ["drawing"]

    lisa.define("personality", {"traits": ["calm"]})
    lisa.define("personality", {"big_five": {"openness": "high"}}, merge=True)
    assert lisa.get("personality") == {"traits": ["calm"], "big_five": {"openness": "high"}}

    lisa.define("age", 28)
    with pytest.raises(ValueError, match="overwrite_scalars"):
        lisa.define("age", 29, False, False)
    lisa.define("nationality", "Portuguese", overwrite_scalars=False)  # unset: allowed
    assert lisa.get("age") == 28 and lisa.get("nationality") == "Portuguese"

    lisa.define("style", """
        Speaks softly.
        Uses short sentences.""")
    assert lisa.get("style") == "\nSpeaks softly.\nUses short sentences."  # dedented, as TinyTroupe does


def test_minibio_extended_and_requirements() -> None:
    lisa = TinyPerson("Lisa", persona={"age": 28, "occupation": {"title": "Architect"},
                                       "personality": {"traits": ["curious", "calm"]},
                                       "preferences": {"interests": ["design"]}, "long_term_goals": ["own a studio"]})
    short = lisa.minibio(extended=False)
    assert short == "Lisa, 28, Architect."
    assert lisa.minibio() == (short + " Personality: curious, calm. Interests: design. Goals: own a studio.")
    assert lisa.minibio(False) == short
    with pytest.warns(TinyTroupeCompatibilityWarning, match="requirements"):
        assert lisa.minibio(True, "focus on work") == lisa.minibio()


# ------------------------------------------------------------------------------ display


def test_pp_current_interactions_and_pp_last_interactions() -> None:
    lisa = TinyPerson("Lisa")
    for word in ["one", "two", "three", "four"]:
        lisa.listen(word, source="Ben")

    everything = printed(lisa.pp_current_interactions)
    assert everything.splitlines()[1:] == [f'Ben said: "{w}"' for w in ["one", "two", "three", "four"]]

    # (simplified, skip_system, max_content_length, first_n, last_n)
    window = printed(lisa.pp_current_interactions, True, True, 2, 1, 1)
    assert window.splitlines()[1:] == ['Ben said: "o…"', "(... 2 events omitted ...)", 'Ben said: "f…"']
    no_info = lisa.pretty_current_interactions(first_n=1, last_n=1, include_omission_info=False)
    assert "omitted" not in no_info

    raw = lisa.pretty_current_interactions(simplified=False, last_n=1, include_omission_info=False)
    assert raw.splitlines()[1] == 'user: {"stimuli": [{"type": "CONVERSATION", "content": "four", "source": "Ben"}]}'

    last = printed(lisa.pp_last_interactions, 2)
    assert last.splitlines()[1:] == ["(... 2 events omitted ...)", 'Ben said: "three"', 'Ben said: "four"']
    assert printed(lisa.pp_last_interactions, n=1, include_omission_info=False).splitlines()[1:] == [
        'Ben said: "four"']

    with pytest.warns(TinyTroupeCompatibilityWarning, match="skip_system"):
        assert printed(lisa.pp_current_interactions, skip_system=False) == everything


def test_world_pretty_current_interactions_takes_tinytroupes_arguments() -> None:
    world = TinyWorld("Room", [TinyPerson("Ana"), TinyPerson("Ben")], START)
    world.broadcast("Welcome to the room", source="Host")
    text = world.pretty_current_interactions(True, True, 7)
    assert 'Host said: "Welcom…"' in text and text.count(">>>>>>>> Interactions of") == 2
    assert "Ana" in printed(world.pp_current_interactions, simplified=True, skip_system=True)


# ------------------------------------------------------------------------------ memory


def test_retrieve_memories_and_retrieve_recent_memories() -> None:
    lisa = TinyPerson("Lisa", recent_window=2)
    for word in ["one", "two", "three", "four", "five"]:
        lisa.listen(word, source="Ben")

    memories = lisa.retrieve_memories(1, 1)  # (first_n, last_n)
    assert [m["type"] for m in memories] == ["stimulus", "omission", "stimulus"]
    assert memories[0] == {"role": "user", "type": "stimulus", "simulation_timestamp": None,
                           "content": {"stimuli": [{"type": "CONVERSATION", "content": "one", "source": "Ben"}]}}
    assert memories[1]["content"] == "(3 memories omitted)"
    assert len(lisa.retrieve_memories(first_n=1, last_n=1, include_omission_info=False)) == 2
    cut = lisa.retrieve_memories(None, 1, True, 3)
    assert cut[-1]["content"]["stimuli"][0]["content"] == "fi…"

    recent = lisa.retrieve_recent_memories()
    assert [m["content"]["stimuli"][0]["content"] for m in recent if m["type"] == "stimulus"] == ["four", "five"]
    assert recent[0]["type"] == "omission"
    # what retrieve_* returns, store_in_memory takes back
    copy = TinyPerson("Copy")
    copy.store_in_memory(memories[0])
    assert copy.memory.items()[0].content == "one"


def test_clear_episodic_memory_prefix_suffix_and_all() -> None:
    lisa = TinyPerson("Lisa")
    for word in ["one", "two", "three", "four", "five"]:
        lisa.listen(word)
    lisa.clear_episodic_memory(1, 1)  # (max_prefix_to_clear, max_suffix_to_clear)
    assert [i.content for i in lisa.memory.items()] == ["two", "three", "four"]
    lisa.clear_episodic_memory(max_suffix_to_clear=2)
    assert [i.content for i in lisa.memory.items()] == ["two"]
    lisa.clear_episodic_memory()
    assert len(lisa.memory) == 0
    lisa.listen("six")
    assert [i.content for i in lisa.memory.items()] == ["six"] and lisa.memory.items()[0].id == 6


# ------------------------------------------------------------------------------ faculties


def test_add_mental_faculty_and_faculties() -> None:
    client, _ = scripted(turn(("WRITE_DIARY", "a good day"), ("TALK", "hello")))
    lisa = TinyPerson("Lisa", client=client)
    diary = Diary()
    assert lisa.add_mental_faculty(diary) is lisa
    with pytest.raises(ValueError, match="already has the mental faculty 'diary'"):
        lisa.add_mental_faculty(Diary())
    needs_diary = MentalFaculty("reread", actions={"REREAD": "read your diary again"}, requires_faculties=["diary"])
    with pytest.raises(ValueError, match="needs diary"):
        TinyPerson("Ana").add_mental_faculty(needs_diary)
    lisa.add_mental_faculties([needs_diary, TinyMentalFaculty("plain")])
    assert [f.name for f in lisa.mental_faculties] == ["diary", "reread", "plain"]
    assert {"WRITE_DIARY", "REREAD"} <= set(lisa.actions_registry.types)

    lisa.listen_and_act("How was your day?")
    assert diary.entries == ["Lisa: a good day"]  # the faculty carried out its action after the turn
    assert "WRITE_DIARY" in lisa.build_prompt()[0].content + lisa.build_prompt()[-1].content


def test_encode_and_decode_complete_state() -> None:
    lisa = lisa_with_history()
    ben = TinyPerson("Ben")
    lisa.make_agent_accessible(ben, "my colleague")
    state = lisa.encode_complete_state()
    json.dumps(state)  # JSON-ready

    copy = TinyPerson("Lisa", mental_faculties=[Diary()])
    assert copy.decode_complete_state(state) is copy
    assert copy.memory.items() == lisa.memory.items() and copy.cognitive_state == lisa.cognitive_state
    assert copy.accessible_agents == [ben]  # found by name in the current scope
    assert copy.mental_faculties[0].entries == ["Lisa: met Ben"]  # type: ignore[attr-defined]
    fresh = TinyPerson("Lisa").decode_complete_state(state)  # a missing faculty is rebuilt
    assert isinstance(fresh.mental_faculties[0], Diary)

    world, _ = make_world(["Ana", "Ben"], lambda name, request: turn())
    world.run(1)
    saved = world.encode_complete_state()
    world.run(2)
    assert world.decode_complete_state(saved) is world and world.current_step == 1


# ------------------------------------------------------------------------------ lookups by name


def test_get_agent_and_environment_by_name_are_scoped() -> None:
    lisa, room = TinyPerson("Lisa"), TinyWorld("Room")
    assert TinyPerson.get_agent_by_name("Lisa") is lisa
    assert TinyWorld.get_environment_by_name("Room") is room
    assert TinyPerson.get_agent_by_name("Room") is None and TinyWorld.get_environment_by_name("Lisa") is None
    newer = TinyPerson("Lisa")
    assert TinyPerson.get_agent_by_name("Lisa") is newer  # the newest of a shared name
    assert TinyPerson.all_agents_names() == ["Lisa", "Lisa"]

    with scope.session():
        assert TinyPerson.get_agent_by_name("Lisa") is None  # another scope sees nothing of this one
    del newer
    gc.collect()
    assert TinyPerson.get_agent_by_name("Lisa") is lisa  # nothing is kept alive by the lookup


def test_lookups_outside_any_scope_see_live_objects_only() -> None:
    assert scope.current() is None
    name = f"Solo-{uuid.uuid4().hex}"  # other tests' agents may be alive in the ambient registry too
    solo = TinyPerson(name)
    room = TinyWorld(name)
    assert TinyPerson.get_agent_by_name(name) is solo and TinyWorld.get_environment_by_name(name) is room
    assert name in TinyPerson.all_agents_names()
    del solo, room
    gc.collect()
    assert TinyPerson.get_agent_by_name(name) is None and TinyWorld.get_environment_by_name(name) is None


def test_lookups_under_a_simulation_see_that_simulation_only(tmp_path: Path) -> None:
    before = TinyPerson("Early")
    control.begin(tmp_path / "run.sqlite", backend=ScriptedBackend([turn()], cycle=True), quiet=True)
    try:
        lisa = TinyPerson("Lisa")
        room = TinyWorld("Room", [before], START)
        assert TinyPerson.get_agent_by_name("Lisa") is lisa
        assert TinyPerson.get_agent_by_name("Early") is before  # made before begin(), lives in its world
        assert TinyWorld.get_environment_by_name("Room") is room
        assert sorted(TinyPerson.all_agents_names()) == ["Early", "Lisa"]
    finally:
        control.end()
    assert TinyPerson.get_agent_by_name("Lisa") is None  # the simulation's agents do not leak out
    control.begin(tmp_path / "second.sqlite", backend=ScriptedBackend([turn()], cycle=True), quiet=True)
    try:
        assert TinyPerson.get_agent_by_name("Lisa") is None and TinyWorld.get_environment_by_name("Room") is None
    finally:
        control.end()


# ------------------------------------------------------------------------------ world: calendar and display


def test_run_and_skip_calendar_helpers() -> None:
    world, backend = make_world(["Ana"], lambda name, request: turn())
    world.run_minutes(2)
    assert world.current_datetime == START + timedelta(minutes=2) and world.current_step == 2
    world.run_hours(1, False)  # (hours, randomize_agents_order)
    world.run_days(1, True, False)  # (days, randomize_agents_order, parallelize)
    world.run_weeks(1, randomize_agents_order=True, parallelize=True)
    actions = world.run_months(1, return_actions=True)
    assert actions is not None and [a.type for a in actions[0]["Ana"]] == ["DONE"]
    world.run_years(1)
    expected = START + timedelta(minutes=2, hours=1, days=1 + 365, weeks=1 + 4)
    assert world.current_datetime == expected and world.current_step == 7
    assert len(backend.requests) == 7

    for skip, delta in [(world.skip_minutes, timedelta(minutes=3)), (world.skip_hours, timedelta(hours=3)),
                        (world.skip_days, timedelta(days=3)), (world.skip_weeks, timedelta(weeks=3)),
                        (world.skip_months, timedelta(weeks=12)), (world.skip_years, timedelta(days=3 * 365))]:
        at = world.current_datetime
        skip(3)
        assert world.current_datetime == at + delta
    world.skip(2, timedelta(hours=2))
    assert len(backend.requests) == 7  # skipping asks nobody


def test_pop_and_display_latest_communications_collapses_repeated_listeners() -> None:
    backend = ScriptedBackend(lambda request: turn(("TALK", "Hello everyone")) if "Now act as Ana" in
                              request.messages[-1].content else turn())
    agents = [TinyPerson(n) for n in ["Ana", "Ben", "Cai", "Dan", "Eli"]]
    # (name, agents, initial_datetime, interventions, broadcast_if_no_target, max_additional_targets_to_display)
    world = TinyWorld("Room", agents, START, [], True, 1, client=LLMClient(backend))
    world.run(1)

    buffer = io.StringIO()
    communications = world.pop_and_display_latest_communications(Console(file=buffer, width=120,
                                                                         color_system=None))
    kinds = [c["kind"] for c in communications]
    assert kinds[0] == "step" and "action" in kinds and kinds.count("stimuli") == 4
    talk = next(c for c in communications if c["kind"] == "action")
    assert talk["source"] == "Ana" and talk["content"] == {"action": {"type": "TALK", "content": "Hello everyone",
                                                                      "target": ""}}
    heard = [c for c in communications if c["kind"] == "stimuli"]
    assert [c["target"] for c in heard] == ["Ben", "Cai", "Dan", "Eli"]
    assert heard[0]["content"]["stimuli"][0] == {"type": "CONVERSATION", "content": "Hello everyone",
                                                 "source": "Ana"}
    # one more listener is shown, then one line for the rest, then nothing
    assert [c["rendering"].strip() for c in heard[1:3]] == ["+ --> Cai", "+ --> (and more)"]
    assert heard[3]["rendering"] is None
    shown = buffer.getvalue()
    assert "Ana --> Ben: [CONVERSATION] Hello everyone" in shown and "Dan" not in shown and "Eli" not in shown
    assert world.pop_and_display_latest_communications(Console(file=io.StringIO())) == []

    unlimited = TinyWorld("Hall", [TinyPerson("Eve"), TinyPerson("Fay"), TinyPerson("Gus")], START,
                          max_additional_targets_to_display=None)
    unlimited.broadcast("Doors open", source="Host")
    renderings = [c["rendering"] for c in unlimited.pop_and_display_latest_communications(
        Console(file=io.StringIO()))]
    assert [r.strip() for r in renderings[1:]] == ["+ --> Fay", "+ --> Gus"]
    with pytest.raises(ValueError, match="max_additional_targets_to_display"):
        TinyWorld("Bad", max_additional_targets_to_display=-1)


def test_social_network_passes_max_additional_targets_to_display() -> None:
    network = TinySocialNetwork("Office", max_additional_targets_to_display=0)
    assert network.max_additional_targets_to_display == 0


# ------------------------------------------------------------------------------ usage


def test_get_global_cost_stats_on_agents_and_worlds() -> None:
    backend = ScriptedBackend([turn()], cycle=True)
    previous = set_default_client(LLMClient(backend))
    try:
        world = TinyWorld("Room", [TinyPerson("Ana"), TinyPerson("Ben")], START)
        world.run(2)
        stats = TinyPerson.get_global_cost_stats()
        base = stats["base_stats"]
        assert base["model_calls"] == 4 and base["cached_calls"] == 0
        assert base["input_tokens"] > 0 and base["total_tokens"] == base["input_tokens"] + base["output_tokens"]
        assert stats["total_agents"] == 2
        assert stats["per_agent"]["model_calls"] == 2.0
        assert stats["by_agent"]["Ana"]["model_calls"] == 2

        world_stats = TinyWorld.get_global_cost_stats()
        assert world_stats["total_environments"] == 1 and world_stats["total_agents"] == 2
        assert world_stats["total_steps"] == 2 and world_stats["per_environment"]["model_calls"] == 4.0
        assert world_stats["by_world"]["Room"]["model_calls"] == 4
        assert "model calls: 4" in printed(TinyPerson.pretty_print_global_cost_stats)
        assert "1 worlds, 2 agents, 2 steps" in printed(TinyWorld.pretty_print_global_cost_stats)
    finally:
        set_default_client(previous)


# ------------------------------------------------------------------------------ steering


def judge(verdict: bool, justification: str = "They keep repeating themselves.") -> dict[str, Any]:
    return {"value": verdict, "justification": justification, "confidence": 0.8}


def test_intervention_functional_and_textual_preconditions() -> None:
    requests: list[LLMRequest] = []

    def respond(request: LLMRequest) -> Any:
        requests.append(request)
        return judge(True) if request.schema_name == "PropositionCheck" else turn()

    lisa = TinyPerson("Lisa", client=LLMClient(ScriptedBackend(respond)))
    lisa.listen("Shall we brainstorm?", source="Ben")
    # (targets, first_n, last_n, name)
    nudge = Intervention(lisa, 5, 20, "divergence")
    assert nudge.name == "divergence" and (nudge.first_n, nudge.last_n) == (5, 20)
    chained = (nudge.set_functional_precondition(lambda target: len(target.memory) >= 1)
               .set_textual_precondition("Lisa is not proposing new ideas anymore.")
               .set_effect(lambda target: target.think("I must propose something completely new.")))
    assert chained is nudge

    assert nudge() is True  # __call__ = execute
    prompt = requests[-1].messages[-1].content
    assert "Lisa is not proposing new ideas anymore." in prompt and "Shall we brainstorm?" in prompt
    assert lisa.memory.items()[-1].content == "I must propose something completely new."
    assert "They keep repeating themselves. (confidence = 0.80)" in nudge.precondition_justification()
    assert "Functional precondition was met." in nudge.precondition_justification()

    blocked = Intervention(lisa).set_functional_precondition(lambda target: False).set_effect(
        lambda target: pytest.fail("the effect must not run"))
    assert blocked.execute() is False and blocked.check_precondition() is False
    with pytest.raises(ValueError, match="set_effect"):
        Intervention(lisa).apply_effect()


def test_intervention_propositional_precondition_and_threshold() -> None:
    class Proposition:
        def __init__(self, score: float) -> None:
            self.value = score

        def check(self, target: Any = None) -> bool:
            return self.value >= 5

        def score(self, target: Any = None) -> float:
            return self.value

    lisa = TinyPerson("Lisa")
    assert Intervention(lisa).set_propositional_precondition(Proposition(7)).check_precondition() is True
    assert Intervention(lisa).set_propositional_precondition(Proposition(3)).check_precondition() is False
    # with a threshold the precondition holds while the score stays below it (TinyTroupe's logic)
    assert Intervention(lisa).set_propositional_precondition(Proposition(7), 8).check_precondition() is True
    assert Intervention(lisa).set_propositional_precondition(Proposition(7), threshold=7).check_precondition() is False


def test_world_applies_interventions_at_the_start_of_each_step() -> None:
    def respond(request: LLMRequest) -> Any:
        if request.schema_name == "PropositionCheck":
            return judge("Ana" in request.messages[-1].content, "Ana asked for a break.")
        return turn(("TALK", "I need a break")) if "Now act as Ana" in request.messages[-1].content else turn()

    ana, ben = TinyPerson("Ana"), TinyPerson("Ben")
    world = TinyWorld("Office", [ana, ben], START, client=LLMClient(ScriptedBackend(respond)))
    calls: list[int] = []

    def serve_coffee(w: TinyWorld) -> None:
        calls.append(w.current_step)
        w.broadcast("Coffee is served.", source="Host")

    steer = (Intervention(world, name="coffee")
             .set_functional_precondition(lambda w: w.current_step >= 2)
             .set_textual_precondition("Someone asked for a break.")
             .set_effect(serve_coffee))

    class TinyTroupeStyle:  # argument-less methods, as TinyTroupe's own interventions have
        name = "counter"
        seen = 0

        def check_precondition(self) -> bool:
            return True

        def apply_effect(self) -> None:
            TinyTroupeStyle.seen += 1

    world.add_intervention(steer)
    world.add_intervention(TinyTroupeStyle())
    world.run(3)
    assert calls == [2, 3] and TinyTroupeStyle.seen == 3
    assert ("Host", "Coffee is served.") in [(i.source, i.content) for i in ben.memory.items()]
    applied = [c for c in world.pop_and_display_latest_communications(Console(file=io.StringIO()))
               if c["kind"] == "intervention"]
    assert [c["rendering"].split(":")[0] for c in applied] == [
        "intervention counter applied", "intervention coffee applied", "intervention counter applied",
        "intervention coffee applied", "intervention counter applied"]
    assert [c["step"] for c in applied] == [1, 2, 2, 3, 3]
    assert "Ana asked for a break." in applied[1]["rendering"]


def test_intervention_create_for_each() -> None:
    ana, ben = TinyPerson("Ana"), TinyPerson("Ben")
    batch = Intervention.create_for_each([ana, ben], 3, 30, "calm")
    assert isinstance(batch, InterventionBatch) and len(batch) == 2
    batch.set_functional_precondition(lambda agent: agent.name == "Ben").set_effect(
        lambda agent: agent.think("Breathe."))
    assert [i.name for i in batch.as_list()] == ["calm_0", "calm_1"]
    assert [(i.first_n, i.last_n) for i in batch] == [(3, 30), (3, 30)]
    assert [i.execute() for i in batch] == [False, True]
    assert len(ana.memory) == 0 and ben.memory.items()[-1].content == "Breathe."
    assert Intervention.create_for_each(ana).as_list()[0].targets is ana


def test_no_warning_for_arguments_that_keep_tinytroupes_meaning() -> None:
    lisa = TinyPerson("Lisa", persona={"age": 3})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lisa.minibio(extended=True, requirements=None)
        lisa.pretty_current_interactions(simplified=True, skip_system=True)


# ------------------------------------------------------------------------------ TinyPerson: constructor and acting


def test_constructor_takes_tinytroupes_six_positional_parameters() -> None:
    episodic, semantic = EpisodicMemory(max_size=50), SemanticMemory()
    semantic.add("The bakery on Elm Street opens at seven")
    zoe = TinyPerson("Zoe", None, episodic, semantic, [Diary()], False)
    assert zoe.memory is episodic and zoe.memories.semantic is semantic
    assert [f.name for f in zoe.mental_faculties] == ["diary"]
    assert zoe.enable_basic_action_repetition_prevention is False
    assert zoe.retrieve_relevant_memories("when does the bakery open?", 1)[0].content.startswith("The bakery")
    assert TinyPerson("Z", None, None, None, None, True).enable_basic_action_repetition_prevention is True
    assert TinyPerson("Y").enable_basic_action_repetition_prevention is True  # TinyTroupe's default
    kw = TinyPerson("X", episodic_memory=EpisodicMemory(max_size=9), semantic_memory=SemanticMemory(),
                    enable_basic_action_repetition_prevention=False, persona={"age": 30})
    assert kw.memory.max_size == 9 and kw.get("age") == 30
    with pytest.raises(TypeError, match="episodic_memory"):
        TinyPerson("W", None, ["not", "a", "memory"])
    with pytest.raises(TypeError, match="semantic_memory"):
        TinyPerson("W", semantic_memory={})
    with pytest.raises(TypeError):  # our own options stay keyword-only
        TinyPerson("W", None, None, None, None, True, {"age": 3})  # type: ignore[misc]


def test_action_generator_is_accepted_with_one_warning() -> None:
    with pytest.warns(TinyTroupeCompatibilityWarning, match=r"TinyPerson\(action_generator=\.\.\.\)"):
        agent = TinyPerson("Gen", object())
    assert agent.name == "Gen"
    with pytest.warns(TinyTroupeCompatibilityWarning, match="client="):
        TinyPerson("Gen2", action_generator=object())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        TinyPerson("Quiet", action_generator=None)


def loop_turn() -> dict[str, Any]:
    """A model stuck in a loop: the same thought five times (give or take a full stop), then a line."""
    thoughts = [("THINK", "I wonder what Ben wants."), ("THINK", "I wonder what Ben wants"),
                ("THINK", "i wonder what ben wants."), ("THINK", "I wonder what Ben wants."),
                ("THINK", "I wonder what Ben wants!")]
    return turn(*thoughts, ("TALK", "What do you want, Ben?", "Ben"), ("THINK", "He looks tired."))


def test_repetition_prevention_leaves_out_repeated_actions_of_a_turn() -> None:
    client, _ = scripted(loop_turn(), loop_turn())
    warned: list[Any] = []
    client.bus.subscribe(warned.append, kinds=["warning"])
    lisa = TinyPerson("Lisa", client=client)
    actions = lisa.listen_and_act("Hi Lisa", True, source="Ben") or []
    assert [(a.type, a.content) for a in actions] == [
        ("THINK", "I wonder what Ben wants."), ("TALK", "What do you want, Ben?"), ("THINK", "He looks tired."),
        ("DONE", "")]
    assert [i.content for i in lisa.memory.items() if i.kind == "action" and i.type == "THINK"] == [
        "I wonder what Ben wants.", "He looks tired."]
    [event] = [e for e in warned if e.code == "action_repeated"]
    assert event.agent == "Lisa" and len(event.data["actions"]) == 4

    off = TinyPerson("Ana", None, None, None, None, False, client=client, max_actions_per_turn=10)
    kept = off.listen_and_act("Hi Ana", True, source="Ben") or []
    assert [a.type for a in kept] == ["THINK"] * 5 + ["TALK", "THINK", "DONE"]  # prevention off: all stand
    state = off.encode_complete_state()
    assert state["enable_basic_action_repetition_prevention"] is False
    assert TinyPerson("Ana").decode_complete_state(state).enable_basic_action_repetition_prevention is False
    assert "enable_basic_action_repetition_prevention" not in lisa.encode_complete_state()


def test_act_in_tinytroupes_positional_order(capsys: pytest.CaptureFixture[str]) -> None:
    client, _ = scripted(turn(("THINK", "first"), ("TALK", "second", "Ben")), turn(("TALK", "x" * 50, "Ben")))
    lisa = TinyPerson("Lisa", client=client).listen("Hello", "Ben")
    actions = lisa.act(False, 1, True, 100, False)  # until_done, n, return_actions, max_content_length, display
    assert [a.type for a in actions or []] == ["THINK", "DONE"]  # n=1: one action, then DONE
    assert capsys.readouterr().out == ""
    assert lisa.act(True, None, False, 20, True) is None
    printed_text = capsys.readouterr().out
    assert "Lisa → Ben: " + "x" * 19 + "…" in printed_text and "x" * 20 not in printed_text  # display is cut
    assert lisa.memory.items()[-2].content == "x" * 50  # memory is not


def test_agents_outside_worlds_print_only_when_asked(capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    client, _ = scripted(*[turn(("TALK", "Hello there", "Ben"))] * 4)
    lisa = TinyPerson("Lisa", client=client)
    lisa.listen_and_act("Hi Lisa", source="Ben")
    assert capsys.readouterr().out == ""  # docs: an agent used outside any world prints nothing
    lisa.listen_and_act("How are you doing today?", False, 8, True, source="Ben")
    out = capsys.readouterr().out
    assert "Ben → Lisa: How are…" in out and "Lisa → Ben: Hello t…" in out

    monkeypatch.setattr(TinyPerson, "communication_display", True)  # TinyTroupe's class switch
    lisa.listen("One more thing", "Ben")
    assert "Ben → Lisa: One more thing" in capsys.readouterr().out
    lisa.listen("Quiet now", "Ben", None, False)  # a call's own argument wins
    assert capsys.readouterr().out == ""

    room = TinyWorld("Room", [lisa], START, communication_display=False)
    lisa.listen_and_act("In the room", communication_display=True)
    assert capsys.readouterr().out == ""  # in a world, the world's display decides
    assert room.name == "Room"


def test_see_and_think_and_act_take_tinytroupes_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    client, _ = scripted(turn(("THINK", "a red bike")), turn(("THINK", "about lunch")))
    lisa = TinyPerson("Lisa", client=client)
    seen = lisa.see_and_act("A red bicycle leans on the wall", True, 5, True)
    assert [a.content for a in seen or []] == ["a red bike", ""]
    assert "Lisa sees: A re…" in capsys.readouterr().out
    thought = lisa.think_and_act("Lunch?", return_actions=True, max_content_length=None)
    assert [a.content for a in thought or []] == ["about lunch", ""] and capsys.readouterr().out == ""
    assert [i.type for i in lisa.memory.items() if i.kind == "stimulus"] == ["VISUAL", "THOUGHT"]


def test_iso_datetime() -> None:
    lisa = TinyPerson("Lisa")
    assert lisa.iso_datetime() is None
    TinyWorld("Room", [lisa], START)
    assert lisa.iso_datetime() == "2025-01-06T09:00:00"


# ------------------------------------------------------------------------------ TinyPerson: relationships


def test_define_and_clear_relationships() -> None:
    lisa = TinyPerson("Lisa")
    lisa.define_relationships([{"Name": "Ben", "Description": "brother"}, {"name": "Ana", "description": "friend"}])
    assert [r.name for r in lisa.persona.relationships or []] == ["Ben", "Ana"]
    lisa.define_relationships({"Name": "Cai", "Description": "neighbour"}, False)
    lisa.define_relationships({"Dee": "colleague", "Eve": "boss"}, replace=False)
    assert [r.name for r in lisa.persona.relationships or []] == ["Ben", "Ana", "Cai", "Dee", "Eve"]
    assert "- Dee: colleague" in lisa.persona.render()
    lisa.define_relationships([{"Name": "Fay", "Description": "aunt"}])  # replace=True by default
    assert lisa.get("relationships") == [{"Name": "Fay", "Description": "aunt"}]
    assert lisa.clear_relationships() is lisa and lisa.get("relationships") == []
    lisa.related_to(TinyPerson("Gus"), "cousin")
    assert [r.name for r in lisa.persona.relationships or []] == ["Gus"]
    with pytest.raises(TypeError):
        lisa.define_relationships("Ben is my brother")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        lisa.define_relationships(["Ben"])  # type: ignore[list-item]
    with pytest.raises(ScenarioError):
        lisa.define_relationships([{"Description": "nameless"}])


# ------------------------------------------------------------------------------ TinyPerson: memory


def test_summarize_relevant_memories_via_full_scan() -> None:
    prompts: list[str] = []

    def respond(request: LLMRequest) -> Any:
        assert request.schema_name == "MemorySummary"
        prompts.append(request.messages[-1].content)
        return {"summary": "Ben asked me to tea at five; I said yes."}

    client = LLMClient(ScriptedBackend(respond))
    lisa = TinyPerson("Lisa", client=client)
    assert lisa.summarize_relevant_memories_via_full_scan("tea with Ben") == "" and prompts == []  # nothing to read
    lisa.listen("Tea at five?", "Ben").think("I love tea.").memories.semantic.add("Ben is Lisa's brother")
    assert lisa.summarize_relevant_memories_via_full_scan("tea with Ben") == "Ben asked me to tea at five; I said yes."
    prompt = prompts[-1]
    assert "tea with Ben" in prompt and 'Ben said: "Tea at five?"' in prompt
    assert "(fact) Ben is Lisa's brother" in prompt
    lisa.summarize_relevant_memories_via_full_scan("tea", "stimulus")
    assert "Tea at five?" in prompts[-1] and "brother" not in prompts[-1]
    lisa.summarize_relevant_memories_via_full_scan("tea", item_type="fact")
    assert "brother" in prompts[-1] and "Tea at five?" not in prompts[-1]
    with pytest.raises(ValueError, match="item_type"):
        lisa.summarize_relevant_memories_via_full_scan("tea", "gossip")
    with pytest.raises(ValueError, match="relevance_target"):
        lisa.summarize_relevant_memories_via_full_scan("  ")

    lisa.prompt_token_budget = 20  # 80 characters: only the newest memories fit, and the prompt says so
    for i in range(10):
        lisa.listen(f"Message number {i}", "Ben")
    lisa.summarize_relevant_memories_via_full_scan("messages", "stimulus")
    assert "Message number 9" in prompts[-1] and "Message number 0" not in prompts[-1]
    assert "did not fit and are not shown" in prompts[-1]


def test_optimize_memory_consolidates_then_forgets() -> None:
    purposes: list[str] = []

    def respond(request: LLMRequest) -> Any:
        purposes.append(request.schema_name or "")
        return {"facts": [{"content": "Ben invited Lisa to tea at five", "importance": 6}]}

    lisa = TinyPerson("Lisa", client=LLMClient(ScriptedBackend(respond)))
    assert lisa.optimize_memory() == {"consolidated": 0, "facts_written": 0, "forgotten": 0} and purposes == []
    lisa.listen("Tea at five?", "Ben")
    report = lisa.optimize_memory()
    assert report == {"consolidated": 1, "facts_written": 1, "forgotten": 0}
    assert [f.content for f in lisa.memories.semantic.active()] == ["Ben invited Lisa to tea at five"]
    assert lisa.optimize_memory()["consolidated"] == 0 and len(purposes) == 1  # nothing new: no call


def test_read_document_from_file_text_markdown_and_pdf(tmp_path: Path) -> None:
    notes = tmp_path / "notes.md"
    notes.write_text("# Shop rules\n\nThe shop closes at six on Sundays.\n\n" + "Filler sentence. " * 60 +
                     "\n\nReturns need a receipt.", encoding="utf-8")
    lisa = TinyPerson("Lisa")
    assert lisa.read_document_from_file(notes) is lisa
    last = lisa.memory.items()[-1]
    assert (last.kind, last.type) == ("stimulus", "DOCUMENT") and last.content.startswith("notes.md (")
    passages = [f for f in lisa.memories.semantic.active() if f.kind == "document"]
    assert len(passages) > 3 and all(f.source == "notes.md" and len(f.content) <= 300 for f in passages)
    hits = lisa.retrieve_relevant_memories("Do I need a receipt for returns?", 3)
    assert any("receipt" in h.content for h in hits)
    assert any(h.text.startswith(f"[{h.ref}] (from notes.md)") for h in hits if h.kind == "document")

    pdf = make_pdf(tmp_path / "menu.pdf", ["Soup of the day: leek and potato.", "Dessert: apple pie."])
    lisa.read_document_from_file(str(pdf))
    assert "menu.pdf (1 pages," in lisa.memory.items()[-1].content
    assert "apple pie" in " ".join(f.content for f in lisa.memories.semantic.active() if f.source == "menu.pdf")


def test_read_document_from_file_errors_name_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    lisa = TinyPerson("Lisa")
    with pytest.raises(ValueError, match=r"missing\.txt: no such file"):
        lisa.read_document_from_file(tmp_path / "missing.txt")
    with pytest.raises(ValueError, match="not a file"):
        lisa.read_document_from_file(tmp_path)
    (tmp_path / "photo.jpg").write_bytes(b"\xff\xd8\xff")
    with pytest.raises(ValueError, match=r"photo.jpg: cannot read \.jpg files"):
        lisa.read_document_from_file(tmp_path / "photo.jpg")
    (tmp_path / "latin1.txt").write_bytes("café".encode("latin-1"))
    with pytest.raises(ValueError, match=r"latin1\.txt: not UTF-8"):
        lisa.read_document_from_file(tmp_path / "latin1.txt")
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    with pytest.raises(ValueError, match=r"broken\.pdf"):
        lisa.read_document_from_file(tmp_path / "broken.pdf")
    big = tmp_path / "big.txt"
    big.write_text("word " * 400, encoding="utf-8")
    monkeypatch.setattr(documents, "MAX_DOCUMENT_BYTES", 1000)
    with pytest.raises(ValueError, match=r"big\.txt: 2,000 bytes is more than the 1,000"):
        lisa.read_document_from_file(big)
    monkeypatch.setattr(documents, "MAX_DOCUMENT_BYTES", 10_000)
    monkeypatch.setattr(documents, "MAX_DOCUMENT_CHARS", 600)
    with caplog.at_level("WARNING"):
        lisa.read_document_from_file(big)
    assert "the last 1,400 characters were not read" in caplog.text
    assert "600 characters" in lisa.memory.items()[-1].content
    assert len(lisa.memory) == 1  # the failed reads left nothing behind


# ------------------------------------------------------------------------------ TinyPerson: registry


def test_add_has_and_clear_agents_are_scoped() -> None:
    lisa = TinyPerson("Lisa")
    assert TinyPerson.has_agent("Lisa") and not TinyPerson.has_agent("Ben")
    with scope.session():
        inner = TinyPerson("Ben")
        TinyPerson.clear_agents()  # clears this session's agents only
        assert not TinyPerson.has_agent("Ben") and TinyPerson.all_agents_names() == []
        TinyPerson.add_agent(lisa)  # an agent of another scope made findable here
        assert TinyPerson.get_agent_by_name("Lisa") is lisa and not TinyPerson.has_agent("Ben")
        TinyPerson.add_agent(inner)
        TinyPerson.add_agent(inner)  # twice changes nothing
        assert sorted(TinyPerson.all_agents_names()) == ["Ben", "Lisa"]
    # The outer scope was told of Ben too (see scope.session); the inner clear_agents hid him there only.
    assert TinyPerson.get_agent_by_name("Lisa") is lisa and TinyPerson.get_agent_by_name("Ben") is inner

    TinyPerson.clear_agents()
    assert TinyPerson.get_agent_by_name("Lisa") is None and TinyPerson.get_global_cost_stats()["total_agents"] == 0
    spec = {"type": "TinyPerson", "persona": {"name": "Lisa"}}
    again = TinyPerson.load_specification(spec, auto_rename_agent=True)
    assert again.name == "Lisa"  # a cleared agent frees its name, as in TinyTroupe
    assert TinyPerson.get_agent_by_name("Lisa") is again
    TinyPerson.add_agent(lisa)  # back; the newer agent of the same name still wins a lookup
    assert TinyPerson.all_agents_names() == ["Lisa", "Lisa"] and TinyPerson.get_agent_by_name("Lisa") is again
    del again
    gc.collect()
    assert TinyPerson.get_agent_by_name("Lisa") is lisa
    assert lisa.name == "Lisa" and len(lisa.memory) == 0  # clearing never touches the agents themselves
    with pytest.raises(TypeError):
        TinyPerson.add_agent("Lisa")  # type: ignore[arg-type]


def test_clear_agents_under_a_simulation_leaves_other_scopes_alone(tmp_path: Path) -> None:
    outside = TinyPerson("Outside")
    control.begin(tmp_path / "run.sqlite", backend=ScriptedBackend([turn()], cycle=True), quiet=True)
    try:
        inside = TinyPerson("Inside")
        TinyPerson.clear_agents()
        assert TinyPerson.get_agent_by_name("Inside") is None
        assert inside.name == "Inside"
    finally:
        control.end()
    assert TinyPerson.get_agent_by_name("Outside") is outside


def test_person_factory_called_as_in_tinytroupe(tmp_path: Path) -> None:
    from tinytroupe.factory import TinyPersonFactory, offline_backend

    backend = offline_backend()
    demography = tmp_path / "usa.json"
    demography.write_text(json.dumps({"country": "USA", "age_groups": {"18-34": 0.3, "35+": 0.7}}), encoding="utf-8")
    # (demography_description_or_file_path, population_size, additional_demographic_specification, context)
    factory = TinyPersonFactory.create_factory_from_demography(str(demography), 4, "Only parents", "A TV ad test")
    factory.client = LLMClient(backend)
    # (agent_particularities, temperature, frequency_penalty, presence_penalty, attempts, post_processing_func)
    first = factory.generate_person("Watches TV every night", 1.0, 0.0, 0.0, 3, lambda p: p.define("tv", True))
    # (number_of_people, agent_particularities, temperature, frequency_penalty, presence_penalty, attempts,
    #  post_processing_func, parallelize, verbose)
    rest = factory.generate_people(3, None, 1.0, 0.0, 0.0, 3, None, True, False)
    assert first.get("tv") is True and len(rest) == 3 and factory.remaining_characteristics_sample == []
    assert factory.generated_names == [first.name, *(p.name for p in rest)] and len(factory.generated_minibios) == 4
    assert factory.sampling_dimensions and TinyPerson.get_agent_by_name(first.name) is first
    plan_prompt = backend.requests[0].messages[1].content
    assert "Only parents" in plan_prompt and "A TV ad test" in plan_prompt and '"18-34": 0.3' in plan_prompt
