"""Emotions in agents' turns and worlds, on the scripted backend: appraisal riding on the turn's one call,
the prompt line and temperature, events and charts, state saved with the agent, a provocation that
decays back within the documented time, and contagion converging at its rate."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from tinytroupe.agent import TinyPerson
from tinytroupe.agent.emotions import PAD, EmotionComponent, emotions_of
from tinytroupe.agent.emotions.dynamics import time_to_recover
from tinytroupe.agent.emotions.influence import APPRAISAL_RULE, SECTION_TITLE
from tinytroupe.config import EmotionsSettings, Settings, using_settings
from tinytroupe.context import RunContext
from tinytroupe.environment import TinyWorld
from tinytroupe.environment.contagion import EmotionalContagion
from tinytroupe.errors import InvalidArgument
from tinytroupe.events import EmotionEvent, EventBus
from tinytroupe.llm import LLMClient, LLMRequest, ScriptedBackend
from tinytroupe.visualization import EmotionTimeline

START = datetime(2025, 1, 6, 9, 0)


def reply(*actions: dict[str, str], p: int | None = None, a: int | None = None, d: int | None = None) -> dict[str, Any]:
    state: dict[str, Any] = {"goals": "", "context": [], "attention": "", "emotions": "fine"}
    state.update({k: v for k, v in (("pleasure_change", p), ("arousal_change", a), ("dominance_change", d))
                  if v is not None})
    return {"actions": [*actions, {"type": "DONE"}], "cognitive_state": state}


def quiet(**kw: Any) -> EmotionsSettings:
    return EmotionsSettings(**{"half_life_minutes": 0.0, "half_life_turns": 0.0, **kw})


def test_without_emotions_the_turn_is_what_it_was() -> None:
    backend = ScriptedBackend([reply()])
    ana = TinyPerson("Ana", client=LLMClient(backend))
    ana.listen_and_act("Hello")
    request = backend.requests[0]
    assert "pleasure_change" not in str(request.response_schema)
    assert SECTION_TITLE not in request.messages[-1].content and APPRAISAL_RULE not in request.messages[0].content
    assert request.temperature is None and emotions_of(ana) is None


def test_the_appraisal_rides_on_the_one_turn_call() -> None:
    backend = ScriptedBackend([reply(p=-3, a=3, d=-1), reply()])
    bus = EventBus()
    seen: list[EmotionEvent] = []
    bus.subscribe(seen.append, kinds=["emotion"])
    context = RunContext(client=LLMClient(backend), bus=bus, settings=Settings(emotions=quiet().model_dump()))
    ana = TinyPerson("Ana", context=context).add_component(EmotionComponent())  # settings: the context's
    ana.listen_and_act("You ruined the launch, you idiot.", source="Bo")
    first = backend.requests[0]
    assert len(backend.requests) == 1  # no call of its own
    assert "pleasure_change" in str(first.response_schema) and APPRAISAL_RULE in first.messages[0].content
    assert f"# {SECTION_TITLE}\nneutral: pleasure +0.00" in first.messages[-1].content
    state = emotions_of(ana).state  # type: ignore[union-attr]
    assert state.current.as_tuple() == pytest.approx((-0.36, 0.36, -0.12))
    assert [(e.label, e.cause) for e in seen] == [("anxious", "appraisal")]
    assert ana.cognitive_state.emotions == "fine"  # TinyTroupe's free-text emotions, as before
    assert seen[0].change == pytest.approx((-0.36, 0.36, -0.12))
    heard = ana.memory.items()[0]
    assert ana.memories.affect_of(heard.id) == pytest.approx(state.current.as_tuple())
    ana.listen_and_act("Anyway.", source="Bo")
    assert "anxious: pleasure -0.36, arousal +0.36" in backend.requests[1].messages[-1].content
    assert state.tagged_upto < emotions_of(ana).state.tagged_upto  # type: ignore[union-attr]


def test_rule_appraisal_needs_no_fields_in_the_answer() -> None:
    backend = ScriptedBackend([reply()])
    ana = TinyPerson("Ana", client=LLMClient(backend))
    ana.add_component(EmotionComponent(settings=quiet(appraisal="rule")))
    ana.listen_and_act("You are useless and a liar!", source="Bo")
    assert "pleasure_change" not in str(backend.requests[0].response_schema)
    current = emotions_of(ana).state.current  # type: ignore[union-attr]
    assert current.pleasure < 0 < current.arousal


def test_generation_shaping_and_the_off_switches() -> None:
    backend = ScriptedBackend([reply(), reply()])
    settings = quiet(shape_generation=True, base_temperature=0.6, arousal_temperature=0.4, render_in_prompt=False)
    ana = TinyPerson("Ana", client=LLMClient(backend))
    ana.add_component(EmotionComponent(initial={"arousal": 0.5}, settings=settings))
    ana.listen_and_act("Hi")
    assert backend.requests[0].temperature == pytest.approx(0.8)
    assert SECTION_TITLE not in backend.requests[0].messages[-1].content


def test_the_state_is_saved_and_restored_with_the_agent() -> None:
    backend = ScriptedBackend([reply(p=2, a=1)])
    ana = TinyPerson("Ana", client=LLMClient(backend)).add_component(
        EmotionComponent(baseline={"pleasure": 0.1}, settings=quiet()))
    ana.listen_and_act("Good news: you got the promotion.", source="Bo")
    saved = ana.to_state()
    assert saved["components"]["emotions"]["baseline"]["pleasure"] == 0.1
    copy = TinyPerson("Ana").add_component(EmotionComponent(settings=quiet()))
    copy.load_state(saved)
    assert emotions_of(copy).state == emotions_of(ana).state  # type: ignore[union-attr]
    assert copy.memories.affect_of(1) == ana.memories.affect_of(1) is not None
    assert "components" not in TinyPerson("Bo").to_state()  # none: as before emotions


def test_the_setting_gives_every_new_agent_the_component_first() -> None:
    with using_settings(Settings(emotions={"enabled": True})):
        ana = TinyPerson("Ana")
    assert ana.components[0].name == "emotions"
    with pytest.raises(InvalidArgument, match="pleasure must be a number"):
        EmotionComponent(baseline={"pleasure": 4})


def test_the_baseline_comes_from_the_persona_at_the_first_turn() -> None:
    backend = ScriptedBackend([reply()])
    ana = TinyPerson("Ana", client=LLMClient(backend), persona={"personality": {"big_five": {
        "agreeableness": "Very high.", "extraversion": "High.", "neuroticism": "Low."}}})
    ana.add_component(EmotionComponent(settings=quiet()))
    assert emotions_of(ana).get_state() == {}  # type: ignore[union-attr]
    ana.listen_and_act("Hello")
    assert emotions_of(ana).state.baseline.pleasure > 0.3  # type: ignore[union-attr]


def _provocation_world(half_life: float, minutes_per_step: int) -> tuple[TinyWorld, EmotionTimeline]:
    insult = "You wrecked the whole plan, you incompetent fool."

    def respond(request: LLMRequest) -> Any:
        user = request.messages[-1].content
        name = user.rsplit("Now act as ", 1)[1].split(":", 1)[0]
        newest = user.rsplit("# New since your last turn", 1)[1]
        if name == "Bo" and "started" in newest:
            return reply({"type": "TALK", "content": insult, "target": "Ana"})
        if name == "Ana" and insult in newest:
            return reply(p=-3, a=3, d=-1)
        return reply(p=0, a=0, d=0)

    settings = EmotionsSettings(half_life_minutes=half_life)
    client = LLMClient(ScriptedBackend(respond))
    agents = [TinyPerson(n).add_component(EmotionComponent(settings=settings)) for n in ("Ana", "Bo")]
    world = TinyWorld("Office", agents, initial_datetime=START, client=client, communication_display=False)
    timeline = EmotionTimeline(world.bus)
    world.broadcast("The meeting started.")
    world.run(2, timedelta_per_step=_minutes(minutes_per_step))
    return world, timeline


def _minutes(n: int) -> Any:
    from datetime import timedelta
    return timedelta(minutes=n)


def test_a_provocation_stirs_the_target_and_decays_back_within_the_documented_time() -> None:
    half_life, step = 30.0, 10
    world, timeline = _provocation_world(half_life, step)
    ana, bo = timeline.series("Ana"), timeline.series("Bo")
    assert ana["arousal"][-1] > 0.3 and ana["pleasure"][-1] < -0.3  # heard at step 2, appraised then
    assert max(abs(v) for d in ("pleasure", "arousal", "dominance") for v in bo[d]) == 0.0
    peak = emotions_of(world.get_agent_by_name("Ana")).state.current  # type: ignore[arg-type, union-attr]
    steps_to_recover = int(-(-time_to_recover(0.1, half_life) // step))  # ceil: 100 minutes = 10 steps
    world.run(steps_to_recover, timedelta_per_step=_minutes(step))
    after = timeline.series("Ana")
    now = PAD(pleasure=after["pleasure"][-1], arousal=after["arousal"][-1], dominance=after["dominance"][-1])
    assert now.distance(PAD()) <= 0.1 * peak.distance(PAD()) + 1e-9
    # one step short of it, it was not yet within 10 %
    before = PAD(pleasure=after["pleasure"][-2], arousal=after["arousal"][-2], dominance=after["dominance"][-2])
    assert before.distance(PAD()) > 0.1 * peak.distance(PAD())
    assert "arousal" in timeline.ascii_chart("Ana") and timeline.to_svg("Ana").startswith("<svg")


def test_contagion_closes_the_gap_at_its_rate() -> None:
    rate = 0.2

    def respond(request: LLMRequest) -> Any:
        name = request.messages[-1].content.rsplit("Now act as ", 1)[1].split(":", 1)[0]
        if name == "Cy":
            return reply(p=0, a=0, d=0)
        other = "Bo" if name == "Ana" else "Ana"
        return reply({"type": "TALK", "content": "Let us go on.", "target": other}, p=0, a=0, d=0)

    ana = TinyPerson("Ana").add_component(EmotionComponent(initial={"pleasure": 0.8, "arousal": 0.4},
                                                           settings=quiet()))
    bo = TinyPerson("Bo").add_component(EmotionComponent(initial={"pleasure": -0.6, "dominance": -0.5},
                                                         settings=quiet()))
    cy = TinyPerson("Cy").add_component(EmotionComponent(initial={"arousal": -0.9}, settings=quiet()))
    world = TinyWorld("Room", [ana, bo, cy], initial_datetime=START, client=LLMClient(ScriptedBackend(respond)),
                      interventions=[EmotionalContagion(rate)], communication_display=False)
    a0, b0 = emotions_of(ana).bind(ana).current, emotions_of(bo).bind(bo).current  # type: ignore[union-attr]
    gap0 = a0.distance(b0)
    world.run(4)  # contagion at the start of steps 2, 3 and 4 (step 1's talk is heard after it)
    a, b = emotions_of(ana).state.current, emotions_of(bo).state.current  # type: ignore[union-attr]
    assert a.distance(b) == pytest.approx(gap0 * (1 - 2 * rate) ** 3)
    mid = [(x + y) / 2 for x, y in zip(a0.as_tuple(), b0.as_tuple(), strict=True)]
    assert [(x + y) / 2 for x, y in zip(a.as_tuple(), b.as_tuple(), strict=True)] == pytest.approx(mid)
    assert emotions_of(cy).state.current == PAD(arousal=-0.9)  # type: ignore[union-attr]  # nobody spoke to Cy


def test_contagion_rate_is_checked() -> None:
    for bad in (0, 0.7, True, "fast"):
        with pytest.raises(InvalidArgument, match="contagion rate"):
            EmotionalContagion(bad)  # type: ignore[arg-type]
