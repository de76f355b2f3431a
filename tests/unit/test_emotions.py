"""The PAD model on its own: labels, the update rule (clipping, smoothing), decay by half-life, the
baseline from a persona, the rule appraisal and the turn schema's appraisal fields."""

from __future__ import annotations

import math

import pytest
from pydantic import ValidationError

from tinytroupe.agent.actions import APPRAISAL_FIELDS, CognitiveState, action_turn_spec
from tinytroupe.agent.emotions import PAD, EmotionalState, EmotionParams, baseline_from_persona, octant_label
from tinytroupe.agent.emotions.appraisal import answer_steps, rule_appraisal
from tinytroupe.agent.emotions.baseline import explicit_baseline, temperament, trait_level
from tinytroupe.agent.emotions.dynamics import apply_change, decay, steps_to_change, time_to_recover
from tinytroupe.agent.emotions.influence import feeling_line, temperature_for
from tinytroupe.agent.memory import MemoryItem
from tinytroupe.agent.persona import Persona
from tinytroupe.errors import InvalidArgument

# ------------------------------------------------------------------------------------------- labels


@pytest.mark.parametrize(("p", "a", "d", "label"), [
    (0.5, 0.5, 0.5, "exuberant"), (-0.5, -0.5, -0.5, "bored"), (0.5, 0.5, -0.5, "dependent"),
    (-0.5, -0.5, 0.5, "disdainful"), (0.5, -0.5, 0.5, "relaxed"), (-0.5, 0.5, -0.5, "anxious"),
    (0.5, -0.5, -0.5, "docile"), (-0.5, 0.5, 0.5, "hostile"), (0.05, -0.09, 0.0, "neutral"),
    (0.0, 0.0, 0.1, "exuberant"),  # out of the neutral zone, zeros count as positive
])
def test_each_octant_has_its_name(p: float, a: float, d: float, label: str) -> None:
    assert octant_label(PAD(pleasure=p, arousal=a, dominance=d)) == label


def test_degree_words_follow_the_strongest_dimension() -> None:
    assert PAD(pleasure=-0.2, arousal=0.3, dominance=-0.15).describe() == "slightly anxious"
    assert PAD(pleasure=-0.5, arousal=0.5, dominance=-0.2).describe() == "anxious"
    assert PAD(pleasure=-0.9, arousal=0.5, dominance=-0.2).describe() == "very anxious"


def test_a_state_outside_the_cube_is_refused_and_clipped_on_request() -> None:
    with pytest.raises(ValidationError):
        PAD(pleasure=1.2)
    with pytest.raises(ValidationError):
        PAD(arousal=math.nan)
    assert PAD.clipped(1.2, -7, 0.3).as_tuple() == (1.0, -1.0, 0.3)


# ------------------------------------------------------------------------------------------- update


def test_the_update_is_smoothed_by_the_responsiveness() -> None:
    params = EmotionParams(responsiveness=0.5, max_delta=1.0)
    after = apply_change(PAD(pleasure=0.2), (0.4, -0.2, 0.0), params)
    assert after.pleasure == pytest.approx(0.4)  # 0.2 + 0.5 * 0.4
    assert after.arousal == pytest.approx(-0.1)
    assert after.dominance == 0.0


def test_one_change_is_clipped_to_max_delta_and_the_state_to_the_cube() -> None:
    params = EmotionParams(responsiveness=1.0, max_delta=0.3)
    assert apply_change(PAD(), (0.9, -0.9, 0.1), params).as_tuple() == pytest.approx((0.3, -0.3, 0.1))
    # Near the edge the target is clipped first, then smoothed: the state never leaves [-1, 1].
    edge = apply_change(PAD(pleasure=0.95, arousal=-0.95), (0.3, -0.3, 0.0), params)
    assert edge.as_tuple() == (1.0, -1.0, 0.0)


def test_steps_from_the_answer_scale_and_clip() -> None:
    params = EmotionParams(delta_scale=0.1)
    assert steps_to_change((3, -2, 9), params) == pytest.approx((0.3, -0.2, 0.3))


def test_default_parameters_bound_one_turn_of_the_strongest_appraisal() -> None:
    # The documented bound: at most responsiveness * max_delta per appraisal (0.8 * 0.45 with -3 steps).
    p = EmotionParams()
    after = apply_change(PAD(), steps_to_change((-3, 3, 0), p), p)
    assert after.pleasure == pytest.approx(-0.36) and after.arousal == pytest.approx(0.36)


@pytest.mark.parametrize("bad", [{"responsiveness": 0.0}, {"responsiveness": 1.5}, {"max_delta": -1.0},
                                 {"half_life_minutes": -5.0}])
def test_bad_parameters_are_named(bad: dict[str, float]) -> None:
    with pytest.raises(InvalidArgument, match=next(iter(bad))):
        EmotionParams(**bad)


# ------------------------------------------------------------------------------------------- decay


def test_one_half_life_halves_the_distance_to_the_baseline() -> None:
    baseline = PAD(pleasure=0.2, arousal=-0.1)
    start = PAD(pleasure=-0.6, arousal=0.7, dominance=-0.4)
    half = decay(start, baseline, 30.0, 30.0)
    assert half.as_tuple() == pytest.approx((-0.2, 0.3, -0.2))
    two = decay(start, baseline, 60.0, 30.0)
    assert two.as_tuple() == pytest.approx((0.0, 0.1, -0.1))
    # decaying in two halves is the same as at once (exponential)
    assert decay(half, baseline, 30.0, 30.0).as_tuple() == pytest.approx(two.as_tuple())


def test_no_decay_with_a_zero_half_life_or_no_time() -> None:
    start = PAD(arousal=0.7)
    assert decay(start, PAD(), 100.0, 0.0) == start
    assert decay(start, PAD(), 0.0, 30.0) == start
    assert decay(start, PAD(), -10.0, 30.0) == start


def test_time_to_recover_is_the_documented_formula() -> None:
    assert time_to_recover(0.1, 60.0) == pytest.approx(60.0 * math.log2(10))
    after = decay(PAD(arousal=0.8), PAD(), time_to_recover(0.1, 60.0), 60.0)
    assert after.arousal == pytest.approx(0.08)
    with pytest.raises(InvalidArgument):
        time_to_recover(1.5, 60.0)


# ------------------------------------------------------------------------------------------- baseline


@pytest.mark.parametrize(("text", "level"), [
    ("Very high. Loves new ideas.", 0.85), ("High. Curious.", 0.6), ("Medium-high. Worries.", 0.25),
    ("Medium. Fine.", 0.0), ("Low to medium. Calm.", -0.25), ("Medium-low. Careful.", -0.25),
    ("Low. Steady.", -0.6), ("very low", -0.85), ("80%", 0.6), ("4/5", 0.5), (0.25, -0.5), ("3/1", None),
    ("Curious about everything", None), (None, None), (True, None),
])
def test_trait_levels_are_read_from_words_and_numbers(text: object, level: float | None) -> None:
    assert trait_level(text) == (pytest.approx(level) if level is not None else None)


def test_the_baseline_follows_mehrabians_temperament_scaled() -> None:
    persona = Persona.from_dict({"name": "Ana", "personality": {"big_five": {
        "openness": "High.", "conscientiousness": "Medium.", "extraversion": "Low.",
        "agreeableness": "Low.", "neuroticism": "Very high."}}})
    raw = temperament(0.6, 0.0, -0.6, -0.6, 0.85)
    assert raw.pleasure == pytest.approx(0.21 * -0.6 + 0.59 * -0.6 + 0.19 * -0.85)
    assert raw.arousal == pytest.approx(0.15 * 0.6 + 0.30 * -0.6 + 0.57 * 0.85)
    assert raw.dominance == pytest.approx(0.25 * 0.6 + 0.60 * -0.6 - 0.32 * -0.6)
    base = baseline_from_persona(persona, scale=0.5)
    assert base.as_tuple() == pytest.approx(tuple(0.5 * v for v in raw.as_tuple()))
    assert base.label == "anxious"


def test_without_big_five_the_baseline_is_neutral_and_an_explicit_one_wins() -> None:
    assert baseline_from_persona(Persona.from_dict({"name": "Bo"})) == PAD()
    given = Persona.from_dict({"name": "Cy", "emotional_baseline": {"pleasure": 0.4, "arousal": -0.2}})
    assert baseline_from_persona(given) == PAD(pleasure=0.4, arousal=-0.2)


@pytest.mark.parametrize(("value", "message"), [
    ({"pleasure": 2}, "pleasure must be a number from -1 to 1"), ({"joy": 0.1}, "unknown keys"),
    ("calm", "must be a mapping"), ({"arousal": True}, "arousal must be a number"),
])
def test_a_malformed_explicit_baseline_is_named(value: object, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        explicit_baseline(value)


# ------------------------------------------------------------------------------------------- appraisal


def _heard(text: str, type_: str = "CONVERSATION") -> MemoryItem:
    return MemoryItem(id=1, kind="stimulus", type=type_, content=text, source="Bo")


def test_the_rule_reads_cues_exclamation_and_shouting() -> None:
    assert rule_appraisal([_heard("You are an idiot")]) == (-3, 2, -1)
    assert rule_appraisal([_heard("Thank you, well done.")]) == (2, 1, 1)  # one group counts once
    assert rule_appraisal([_heard("Thank you, what good news.")]) == (3, 3, 2)  # two groups, clipped at 3
    assert rule_appraisal([_heard("THIS IS NOT OK AT ALL")]) == (0, 1, 0)
    assert rule_appraisal([_heard("The meeting is at noon.")]) == (0, 0, 0)
    assert rule_appraisal([_heard("You idiot!", "LOCATION")]) == (0, 0, 0)  # not appraised
    # no cue inside another word: "skill" has no "kill", "relaxed" is not "relax" said to you
    assert rule_appraisal([_heard("Your skillset grows")]) == (0, 0, 0)


def test_the_answer_steps_are_read_and_clipped() -> None:
    assert answer_steps(CognitiveState(pleasure_change=-5, dominance_change=2)) == (-3, 0, 2)
    assert answer_steps(CognitiveState()) is None


def test_appraisal_fields_are_in_the_schema_only_when_asked() -> None:
    plain = action_turn_spec(("TALK", "DONE"), 2)
    asked = action_turn_spec(("TALK", "DONE"), 2, appraisal=True)
    plain_state = plain.schema["$defs"]["LLMCognitiveState"]["properties"]
    asked_state = asked.schema["$defs"]["LLMCognitiveState"]["properties"]
    assert not set(APPRAISAL_FIELDS) & set(plain_state)
    assert list(asked_state)[-3:] == list(APPRAISAL_FIELDS)
    for name in APPRAISAL_FIELDS:
        assert asked_state[name]["type"] == "integer"
        assert (asked_state[name]["minimum"], asked_state[name]["maximum"]) == (-3, 3)
    # the plain schema is the one every run without emotions had (byte for byte: same object)
    assert plain.schema is action_turn_spec(("TALK", "DONE"), 2).schema
    answer = {"actions": [{"type": "DONE"}], "cognitive_state": {"pleasure_change": 7, "arousal_change": -1.4}}
    parsed = asked.model.model_validate(answer).cognitive_state
    assert (parsed.pleasure_change, parsed.arousal_change, parsed.dominance_change) == (3, -1, 0)
    with pytest.raises(ValidationError):
        asked.model.model_validate({"actions": [{"type": "DONE"}], "cognitive_state": {"pleasure_change": "lots"}})


def test_appraisal_fields_never_reach_the_saved_cognitive_state() -> None:
    state = CognitiveState(goals="g", pleasure_change=2)
    assert "pleasure_change" not in state.model_dump()


# ------------------------------------------------------------------------------------------- influence


def test_the_prompt_line_is_one_short_line() -> None:
    line = feeling_line(PAD(pleasure=-0.4, arousal=0.6, dominance=-0.2), PAD())
    assert "\n" not in line and len(line) < 140
    assert line.startswith("anxious: pleasure -0.40, arousal +0.60, dominance -0.20")


def test_temperature_follows_arousal_within_bounds() -> None:
    assert temperature_for(PAD(arousal=-1.0), base=0.7, per_arousal=0.3) == 0.4
    assert temperature_for(PAD(arousal=1.0), base=1.9, per_arousal=1.0) == 2.0


def test_the_state_round_trips() -> None:
    state = EmotionalState(current=PAD(pleasure=-0.3), baseline=PAD(arousal=0.1), turns=4, tagged_upto=9)
    assert EmotionalState.parse(state.to_dict()) == state
    with pytest.raises(InvalidArgument, match="current"):
        EmotionalState.parse({"current": {"pleasure": 3}})
