"""Persona and Fragment: round trips, dot paths, merging, errors, text, and the bundled examples."""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path
from typing import Any

import pydantic
import pytest

from tinytroupe.agent.persona import (
    Fragment,
    Persona,
    load_persona_file,
    parse_persona_json,
)
from tinytroupe.errors import ScenarioError
from tinytroupe.examples import (
    ExampleNotFoundError,
    example_path,
    list_example_fragments,
    list_example_personas,
    load_example_fragment,
    load_example_persona,
)

# A TinyTroupe-shaped spec with unknown keys at several levels, a capitalised relationship (as
# TinyTroupe's related_to() writes them), an explicit null and top-level agent state.
FULL_SPEC: dict[str, Any] = {
    "type": "TinyPerson",
    "persona": {
        "name": "Hannah Weiss",
        "age": 39,
        "gender": "Female",
        "nationality": "Austrian",
        "residence": "Graz, Austria",
        "education": "Master's degree in food chemistry, TU Graz.",
        "long_term_goals": ["Open a small laboratory for testing organic produce.", "Learn to sail."],
        "occupation": {
            "title": "Quality manager",
            "organization": "Styrian Dairy Cooperative",
            "description": "Runs the lab that tests milk from 400 farms.",
            "start_year": 2016,
        },
        "style": "Direct and friendly; short sentences.",
        "personality": {
            "traits": ["Organised.", "Stubborn about food safety.", "Laughs easily."],
            "big_five": {
                "openness": "Medium.",
                "conscientiousness": "Very high.",
                "extraversion": "Medium.",
                "agreeableness": "High.",
                "neuroticism": "Low.",
                "assessed_by": "self-report",
            },
            "mbti": "ESTJ",
        },
        "preferences": {
            "interests": ["Cheese making", "Alpine hiking"],
            "likes": ["Farmers' markets"],
            "dislikes": ["Plastic packaging"],
            "favourite_brands": {"coffee": "a local roaster", "shoes": None},
        },
        "skills": ["Laboratory auditing", "Slovenian"],
        "beliefs": ["Food should be traceable from farm to table."],
        "behaviors": {
            "general": ["Reads every label."],
            "routines": {
                "morning": ["Yoga at 6."],
                "workday": ["Lab rounds at 9."],
                "evening": ["Cooks for her family."],
                "weekend": ["Hikes in the Koralpe."],
                "night": ["Reads crime novels."],
            },
            "shopping": ["Buys in bulk once a week."],
        },
        "health": None,
        "relationships": [
            {"name": "Jakob Weiss", "description": "Her husband, a carpenter.", "since": 2009},
            {"Name": "Mira Novak", "Description": "A colleague from Maribor."},
        ],
        "other_facts": ["Has two children.", "Drives an old electric van."],
        "pets": [{"kind": "dog", "name": "Bruno"}],
    },
    "_mental_state": {"location": "Graz", "emotions": "calm"},
    "episodic_memory": {"memory": []},
}


@pytest.fixture
def hannah() -> Persona:
    return Persona.from_spec(copy.deepcopy(FULL_SPEC), source="hannah.agent.json")


def write(tmp_path: Path, name: str, content: str | dict[str, Any]) -> Path:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return path


# ---------------------------------------------------------------------- round trips


def test_full_spec_round_trips_exactly(hannah: Persona) -> None:
    assert hannah.to_spec() == FULL_SPEC
    assert hannah.spec_extras == {k: FULL_SPEC[k] for k in ("_mental_state", "episodic_memory")}


def test_unknown_keys_are_kept_at_every_level(hannah: Persona) -> None:
    assert hannah.get("pets") == [{"kind": "dog", "name": "Bruno"}]
    assert hannah.get("occupation.start_year") == 2016
    assert hannah.get("personality.mbti") == "ESTJ"
    assert hannah.get("personality.big_five.assessed_by") == "self-report"
    assert hannah.get("behaviors.routines.night") == ["Reads crime novels."]
    assert hannah.get("relationships.0.since") == 2009


def test_save_and_load_round_trip(hannah: Persona, tmp_path: Path) -> None:
    path = hannah.save(tmp_path / "hannah.agent.json")
    assert json.loads(path.read_text(encoding="utf-8")) == FULL_SPEC
    again = Persona.load(path)
    assert again == hannah
    assert again.source == str(path)
    assert again.to_spec() == FULL_SPEC


def test_plain_string_occupation_round_trips_and_reads_as_title() -> None:
    spec = {"type": "TinyPerson", "persona": {"name": "Ana", "occupation": "Nurse"}}
    p = Persona.from_spec(spec)
    assert p.to_spec() == spec
    assert p.get("occupation.title") == "Nurse"
    assert p.get("occupation") == "Nurse"
    assert p.minibio() == "Ana, Nurse."


def test_capitalised_relationship_keys_are_read_and_written_back(hannah: Persona) -> None:
    assert hannah.relationships is not None
    assert hannah.relationships[1].name == "Mira Novak"
    assert hannah.relationships[1].description == "A colleague from Maribor."
    assert hannah.get("relationships[1]") == {
        "Name": "Mira Novak", "Description": "A colleague from Maribor.",
    }


def test_to_dict_only_has_what_was_given() -> None:
    assert Persona(name="Ana").to_dict() == {"name": "Ana"}
    p = Persona.from_dict({"name": "Ana", "personality": {"traits": ["calm"]}})
    assert p.to_dict() == {"name": "Ana", "personality": {"traits": ["calm"]}}


def test_outputs_are_copies_so_the_persona_cannot_be_changed_through_them(hannah: Persona) -> None:
    hannah.to_dict()["personality"]["traits"].append("X")
    hannah.get("personality.traits").append("Y")
    hannah.to_spec()["_mental_state"]["location"] = "Vienna"
    assert hannah.to_spec() == FULL_SPEC
    with pytest.raises(pydantic.ValidationError):
        hannah.age = 40


def test_equality_ignores_where_the_persona_came_from(hannah: Persona) -> None:
    assert Persona.from_spec(copy.deepcopy(FULL_SPEC)) == hannah
    assert hannah != hannah.set("age", 40)


# ---------------------------------------------------------------------- get / set


def test_get_dot_paths_and_defaults(hannah: Persona) -> None:
    assert hannah.get("name") == "Hannah Weiss"
    assert hannah.get("occupation.title") == "Quality manager"
    assert hannah.get("personality.big_five.openness") == "Medium."
    assert hannah.get("relationships.0.name") == "Jakob Weiss"
    assert hannah.get("relationships[0].description") == "Her husband, a carpenter."
    assert hannah.get("health", "unknown") == "unknown"  # explicit null counts as absent
    assert hannah.get("nothing.here", 7) == 7
    assert hannah.get("relationships.9.name") is None
    assert hannah.get("age.years") is None
    assert Persona(name="Ana").get("personality.traits", []) == []


def test_set_returns_a_new_persona_and_leaves_the_old_one(hannah: Persona) -> None:
    older = hannah.set("age", 40)
    assert older.age == 40
    assert hannah.age == 39
    assert older.source == hannah.source
    assert older.spec_extras == hannah.spec_extras


def test_set_creates_intermediate_objects() -> None:
    p = Persona(name="Ana").set("personality.big_five.openness", "High")
    assert p.to_dict() == {"name": "Ana", "personality": {"big_five": {"openness": "High"}}}
    q = p.set("hobbies.primary", "chess")
    assert q.get("hobbies") == {"primary": "chess"}


def test_set_into_lists_and_plain_occupation(hannah: Persona) -> None:
    p = hannah.set("relationships[0].description", "Her husband.")
    assert p.get("relationships.0.description") == "Her husband."
    assert p.get("relationships.0.since") == 2009
    q = Persona.from_dict({"name": "Ana", "occupation": "Nurse"}).set("occupation.organization", "Clinic")
    assert q.get("occupation") == {"title": "Nurse", "organization": "Clinic"}


def test_set_copies_the_value() -> None:
    skills = ["knitting"]
    p = Persona(name="Ana").set("skills", skills)
    skills.append("darts")
    assert p.get("skills") == ["knitting"]


def test_set_with_a_bad_type_names_the_path(hannah: Persona) -> None:
    with pytest.raises(ScenarioError) as info:
        hannah.set("age", "old")
    message = str(info.value)
    assert "persona.age" in message
    assert "an integer" in message
    assert '"old"' in message
    assert "hannah.agent.json" in message
    assert info.value.field == "persona.age"
    with pytest.raises(ScenarioError, match=r"persona\.personality\.traits\[1\]"):
        hannah.set("personality.traits", ["ok", 3])


def test_set_through_a_scalar_or_past_a_list_end_is_an_error(hannah: Persona) -> None:
    with pytest.raises(ScenarioError, match="style holds"):
        hannah.set("style.tone", "warm")
    with pytest.raises(ScenarioError, match="not a valid index"):
        hannah.set("relationships.5.name", "X")
    with pytest.raises(ValueError, match="bad persona path"):
        hannah.get("a..b")


# ---------------------------------------------------------------------- merge


def test_merge_semantics() -> None:
    base = Persona.from_dict({
        "name": "Ana", "age": 40, "skills": ["sewing"],
        "personality": {"traits": ["calm"], "big_five": {"openness": "Low"}},
    })
    merged = base.merge({
        "age": 41,
        "skills": ["sewing", "chess", "chess"],
        "personality": {"traits": ["curious"], "big_five": {"neuroticism": "Low"}},
        "hobby": "birds",
    })
    assert merged.to_dict() == {
        "name": "Ana", "age": 41, "skills": ["sewing", "chess"],
        "personality": {"traits": ["calm", "curious"], "big_five": {"openness": "Low", "neuroticism": "Low"}},
        "hobby": "birds",
    }
    # the original is untouched
    assert base.get("skills") == ["sewing"]
    assert base.age == 40


def test_merge_leaves_the_fragment_untouched_and_accepts_all_fragment_forms() -> None:
    update = {"preferences": {"likes": ["tea"]}}
    spec = {"type": "Fragment", "persona": copy.deepcopy(update)}
    fragment = Fragment.from_spec(spec)
    base = Persona(name="Ana")
    a = base.merge(update)
    a_again = a.merge(update)
    assert a_again.get("preferences.likes") == ["tea"]
    assert update == {"preferences": {"likes": ["tea"]}}
    assert base.merge(fragment) == a
    assert base.merge(spec) == a
    assert fragment.persona_dict == update


def test_merge_expands_a_plain_occupation() -> None:
    p = Persona.from_dict({"name": "Ana", "occupation": "Nurse"})
    assert p.merge({"occupation": {"organization": "Clinic"}}).get("occupation") == {
        "title": "Nurse", "organization": "Clinic",
    }


def test_merge_with_a_bad_value_names_the_path() -> None:
    with pytest.raises(ScenarioError, match=r"persona\.preferences\.likes: expected a list"):
        Persona(name="Ana").merge({"preferences": {"likes": "tea"}})


# ---------------------------------------------------------------------- fragments and file dispatch


def test_fragment_loading_and_dispatch(tmp_path: Path, hannah: Persona) -> None:
    frag_path = write(tmp_path, "tea.fragment.json", {"type": "Fragment", "persona": {"likes_tea": True}})
    agent_path = hannah.save(tmp_path / "h.agent.json")
    assert isinstance(load_persona_file(frag_path), Fragment)
    assert isinstance(load_persona_file(agent_path), Persona)
    fragment = Fragment.load(frag_path)
    assert fragment.source == str(frag_path)
    assert fragment.to_spec() == {"type": "Fragment", "persona": {"likes_tea": True}}
    with pytest.raises(ScenarioError, match="Fragment file, not a TinyPerson"):
        Persona.load(frag_path)
    with pytest.raises(ScenarioError, match="TinyPerson file, not a Fragment"):
        Fragment.load(agent_path)


def test_fragment_fields_are_validated(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.fragment.json", {"type": "Fragment", "persona": {"age": "forty"}})
    with pytest.raises(ScenarioError) as info:
        Fragment.load(path)
    assert "bad.fragment.json" in str(info.value)
    assert "persona.age: expected an integer" in str(info.value)


# ---------------------------------------------------------------------- error messages


def test_wrong_type_for_age(tmp_path: Path) -> None:
    path = write(tmp_path, "p.agent.json", {"type": "TinyPerson", "persona": {"name": "A", "age": "twenty"}})
    with pytest.raises(ScenarioError) as info:
        Persona.load(path)
    message = str(info.value)
    assert str(path) in message
    assert 'persona.age: expected an integer, got "twenty" (a string)' in message
    assert info.value.path == str(path)
    assert info.value.field == "persona.age"


def test_traits_not_a_list_and_a_bad_item() -> None:
    with pytest.raises(ScenarioError, match=r'persona\.personality\.traits: expected a list, got "calm"'):
        Persona.from_dict({"name": "A", "personality": {"traits": "calm"}})
    with pytest.raises(ScenarioError) as info:
        Persona.from_dict({"name": "A", "personality": {"traits": ["a", "b", 3]}})
    assert "persona.personality.traits[2]: expected a string, got 3 (an integer)" in str(info.value)


def test_missing_or_blank_name() -> None:
    with pytest.raises(ScenarioError, match=r"persona\.name is missing"):
        Persona.from_spec({"type": "TinyPerson", "persona": {"age": 3}})
    with pytest.raises(ScenarioError, match=r"persona\.name: expected a non-empty string"):
        Persona.from_dict({"name": "  "})
    with pytest.raises(ScenarioError, match=r"persona\.relationships\[0\]\.name is missing"):
        Persona.from_dict({"name": "A", "relationships": [{"description": "x"}]})


def test_several_problems_are_all_listed() -> None:
    with pytest.raises(ScenarioError) as info:
        Persona.from_dict({"name": "A", "age": "x", "skills": "y"})
    assert "persona.age" in str(info.value)
    assert "also persona.skills" in str(info.value)


def test_bad_or_missing_type_lists_the_allowed_types(tmp_path: Path) -> None:
    path = write(tmp_path, "x.json", {"type": "TinyPeople", "persona": {"name": "A"}})
    with pytest.raises(ScenarioError) as info:
        load_persona_file(path)
    message = str(info.value)
    assert str(path) in message
    assert '"TinyPerson" or "Fragment"' in message
    assert '"TinyPeople"' in message
    with pytest.raises(ScenarioError, match='missing "type": expected "TinyPerson"'):
        Persona.from_spec({"persona": {"name": "A"}})
    with pytest.raises(ScenarioError, match='wrong "type": expected "TinyPerson", got "Fragment"'):
        Persona.from_spec({"type": "Fragment", "persona": {}})
    with pytest.raises(ScenarioError, match='missing "persona"'):
        Persona.from_spec({"type": "TinyPerson"})
    with pytest.raises(ScenarioError, match="expected a JSON object"):
        parse_persona_json("[1, 2]")
    with pytest.raises(ScenarioError, match=r"persona: expected an object, got \"A\""):
        Persona.from_spec({"type": "TinyPerson", "persona": "A"})


def test_broken_json_names_line_and_column(tmp_path: Path) -> None:
    text = '{\n  "type": "TinyPerson",\n  "persona": {"name": "A",}\n}\n'
    path = write(tmp_path, "broken.agent.json", text)
    with pytest.raises(ScenarioError) as info:
        load_persona_file(path)
    message = str(info.value)
    assert str(path) in message
    assert "line 3, column" in message
    assert info.value.line == 3


def test_missing_file_is_a_scenario_error(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="no such persona file"):
        Persona.load(tmp_path / "nobody.agent.json")


# ---------------------------------------------------------------------- minibio and render


def test_minibio_uses_what_is_known() -> None:
    full = Persona.from_dict({
        "name": "Ana Sousa", "age": 40, "residence": "Porto, Portugal",
        "occupation": {"title": "Nurse", "organization": "Hospital de Santo António"},
    })
    assert full.minibio() == "Ana Sousa, 40, Nurse at Hospital de Santo António, lives in Porto, Portugal."
    assert Persona(name="Ana").minibio() == "Ana."
    assert Persona.from_dict({"name": "Ana", "occupation": {"organization": "ACME"}}).minibio() == (
        "Ana, works at ACME."
    )


def test_render_is_deterministic_ordered_and_cached(hannah: Persona) -> None:
    text = hannah.render()
    again = Persona.from_spec(copy.deepcopy(FULL_SPEC)).render()
    assert text == again
    assert hannah.render() is text  # cached per instance
    order = ["Name: Hannah Weiss", "Age: 39", "Occupation: Quality manager at Styrian Dairy Cooperative",
             "Residence: Graz", "Personality traits:", "Style:", "Long-term goals:", "Interests:", "Beliefs:",
             "Skills:", "Behaviors:", "Relationships:", "Other facts:", "Pets:"]
    positions = [text.index(marker) for marker in order]
    assert positions == sorted(positions)
    assert "- Mira Novak: A colleague from Maribor." in text
    assert "Mbti: ESTJ" in text  # unknown keys are shown too
    assert "Health" not in text  # null fields are left out
    assert text.endswith("- kind: dog; name: Bruno")


def test_render_changes_with_the_persona(hannah: Persona) -> None:
    changed = hannah.set("age", 40)
    assert "Age: 40" in changed.render()
    assert "Age: 39" in hannah.render()


@pytest.mark.parametrize("limit", [40, 120, 300, 700])
def test_render_truncates_at_a_field_boundary(hannah: Persona, limit: int) -> None:
    full = hannah.render()
    cut = hannah.render(max_chars=limit)
    assert len(cut) <= limit
    assert cut.endswith("\n…")
    kept = cut[: -len("\n…")]
    assert full.startswith(kept)
    assert full[len(kept)] == "\n"  # the cut falls between fields ...
    assert not full[len(kept) + 1:].startswith("- ")  # ... not inside a list


def test_render_with_a_tiny_budget_still_starts_with_the_name(hannah: Persona) -> None:
    assert hannah.render(max_chars=8) == "Name: H…"
    assert hannah.render(max_chars=10_000) == hannah.render()
    with pytest.raises(ValueError, match="max_chars"):
        hannah.render(max_chars=0)


def test_model_copy_with_update_drops_the_render_cache(hannah: Persona) -> None:
    hannah.render()
    renamed = hannah.model_copy(update={"name": "Other"})
    assert renamed.render().startswith("Name: Other")


# ---------------------------------------------------------------------- bundled examples


def test_example_lists() -> None:
    assert list_example_personas() == ["lila", "lisa", "marcos", "oscar"]
    assert list_example_fragments() == ["budget_conscious", "early_adopter", "skeptic", "travel_enthusiast"]


@pytest.mark.parametrize("name", ["lisa", "oscar", "marcos", "lila"])
def test_every_example_persona_is_complete_and_round_trips(name: str) -> None:
    persona = load_example_persona(name)
    path = example_path(name)
    assert path.name == f"{name}.agent.json"
    assert persona.to_spec() == json.loads(path.read_text(encoding="utf-8"))
    assert persona.name.lower().startswith(name)
    for field in ("age", "gender", "nationality", "residence", "education", "occupation.title",
                  "occupation.organization", "occupation.description", "style", "health"):
        assert persona.get(field), f"{name}: {field} is empty"
    assert len(persona.get("personality.traits")) >= 4
    assert set(persona.get("personality.big_five")) == {
        "openness", "conscientiousness", "extraversion", "agreeableness", "neuroticism",
    }
    for field in ("preferences.interests", "preferences.likes", "preferences.dislikes", "skills", "beliefs",
                  "long_term_goals", "behaviors.general", "other_facts"):
        assert len(persona.get(field)) >= 2, f"{name}: {field} is too short"
    assert set(persona.get("behaviors.routines")) == {"morning", "workday", "evening", "weekend"}
    assert len(persona.get("relationships")) >= 2
    assert persona.minibio().startswith(f"{persona.name}, {persona.age}, ")


def test_example_personas_differ() -> None:
    personas = [load_example_persona(n) for n in list_example_personas()]
    assert len({p.age for p in personas}) == 4
    assert len({p.nationality for p in personas}) == 4
    assert len({p.get("occupation.title") for p in personas}) == 4


@pytest.mark.parametrize("name", ["travel_enthusiast", "budget_conscious", "early_adopter", "skeptic"])
def test_every_example_fragment_loads_and_merges(name: str) -> None:
    fragment = load_example_fragment(name)
    assert fragment.to_spec() == json.loads(example_path(name).read_text(encoding="utf-8"))
    assert fragment.persona_dict
    for persona_name in list_example_personas():
        persona = load_example_persona(persona_name)
        merged = persona.merge(fragment)
        assert merged.name == persona.name
        assert len(merged.render()) > len(persona.render())


def test_unknown_example_names_list_the_available_ones() -> None:
    with pytest.raises(KeyError) as info:
        load_example_persona("bob")
    assert isinstance(info.value, ScenarioError)
    assert isinstance(info.value, ExampleNotFoundError)
    assert str(info.value) == "no example persona named 'bob'; available: lila, lisa, marcos, oscar"
    with pytest.raises(ScenarioError, match="available: budget_conscious"):
        load_example_fragment("lisa")
    with pytest.raises(KeyError, match="personas: lila, lisa"):
        example_path("nobody")


def test_example_names_accept_the_file_suffix() -> None:
    assert load_example_persona("lisa.agent.json") == load_example_persona("lisa")
    assert example_path("skeptic.fragment.json").name == "skeptic.fragment.json"


# ---------------------------------------------------------------------- hostile files (issue 9, defects 7 and 9)


def persona_file_error(tmp_path: Path, raw: bytes) -> ScenarioError:
    path = tmp_path / "hostile.agent.json"
    path.write_bytes(raw)
    with pytest.raises(ScenarioError) as info:
        load_persona_file(path)
    assert info.value.path == str(path) and str(path) in str(info.value)
    return info.value


@pytest.mark.parametrize(("number", "word"), [("NaN", "NaN"), ("Infinity", "Infinity"), ("-Infinity", "-Infinity"),
                                              ("1e999", "Infinity")])
def test_non_finite_numbers_are_refused_with_their_json_path(tmp_path: Path, number: str, word: str) -> None:
    raw = ('{"type": "TinyPerson", "persona": {"name": "Ana", "occupation": {"title": "Nurse", '
           f'"pay": [1, {number}]}}}}}}').encode()
    err = persona_file_error(tmp_path, raw)
    assert err.field == "persona.occupation.pay[1]"
    assert f"persona.occupation.pay[1]: {word} is not allowed" in str(err)


def test_non_finite_numbers_outside_the_persona_are_refused_too(tmp_path: Path) -> None:
    err = persona_file_error(tmp_path, b'{"type": "TinyPerson", "persona": {"name": "A"}, "memory": [{"w": NaN}]}')
    assert err.field == "memory[0].w"
    with pytest.raises(ScenarioError) as info:
        Persona.from_spec({"type": "TinyPerson", "persona": {"name": "A"}, "memory": [float("inf")]})
    assert info.value.field == "memory[0]"


@pytest.mark.parametrize("build", [
    lambda: Persona.from_dict({"name": "Ana", "score": float("nan")}),
    lambda: Persona(name="Ana").set("personality.big_five.weights", [0.5, float("inf")]),
    lambda: Persona(name="Ana").merge({"occupation": {"salary": -float("inf")}}),
    lambda: Fragment({"preferences": {"ratings": {"tea": float("nan")}}}),
])
def test_non_finite_numbers_are_refused_however_a_persona_is_made(build: Any) -> None:
    with pytest.raises(ScenarioError, match="is not allowed: write a finite number"):
        build()


def test_a_valid_persona_always_serialises_as_strict_json(hannah: Persona) -> None:
    # What checkpoints need: no NaN/Infinity can be inside, so allow_nan=False never fails.
    json.dumps(hannah.to_spec(), allow_nan=False)


def test_non_utf8_persona_file_names_line_and_column(tmp_path: Path) -> None:
    err = persona_file_error(tmp_path, b'{"type": "TinyPerson",\n "persona": {"name": "Jos\xe9"}}')
    assert err.line == 2 and "byte 0xe9 at line 2, column 26 is not UTF-8" in str(err)


def test_thousand_deep_arrays_are_refused_without_a_traceback(tmp_path: Path) -> None:
    raw = b'{"type": "TinyPerson", "persona": {"name": "A", "x": ' + b"[" * 1000 + b"]" * 1000 + b"}}"
    assert "nested more than 64 levels deep" in str(persona_file_error(tmp_path, raw))
    raw = b'{"type": "TinyPerson", "persona": {"name": "A", "x": ' + b"[" * 70 + b"]" * 70 + b"}}"
    err = persona_file_error(tmp_path, raw)
    assert "nested more than 64 levels deep" in str(err) and err.field is not None


def test_five_thousand_digit_integers_are_refused(tmp_path: Path) -> None:
    err = persona_file_error(tmp_path, b'{"type": "TinyPerson", "persona": {"name": "A", "age": ' + b"9" * 5000 + b"}}")
    assert err.line == 1 and "5,000 digits" in str(err)


def test_duplicate_json_keys_are_refused(tmp_path: Path) -> None:
    err = persona_file_error(tmp_path, b'{"type": "TinyPerson", "persona": {"name": "A", "age": 3, "age": 4}}')
    assert 'the key "age" appears twice in the object that starts at line 1' in str(err) and err.line == 1


def test_a_non_object_file_says_so(tmp_path: Path) -> None:
    assert persona_file_error(tmp_path, b"[1, 2]").field == "(top level)"


def test_values_json_cannot_hold_are_refused() -> None:
    with pytest.raises(ScenarioError, match=r"persona\.born: a date \(1985-04-02\)"):
        Persona(name="Ana").set("born", date(1985, 4, 2))
    with pytest.raises(ScenarioError, match="a value of type set"):
        Persona.from_dict({"name": "Ana", "tags": {"a", "b"}})
