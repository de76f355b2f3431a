"""Action quality checks ([ActionGenerator]): score a turn's actions, regenerate poor ones, keep the best."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import START, turn

from tinytroupe import TinyPerson, TinyWorld
from tinytroupe.agent.action_quality import ActionQualityCheck
from tinytroupe.config import Settings
from tinytroupe.context import RunContext
from tinytroupe.errors import InvalidArgument, LLMOutputError, PoorQualityActionError, PoorQualityActionException
from tinytroupe.events import ActionQualityEvent, Event
from tinytroupe.llm import LLMClient, LLMRequest, ScriptedBackend

CURT = turn(("TALK", "Whatever.", "Ben"))
WARM = turn(("TALK", "So lovely to see you, Ben!", "Ben"))
POLITE = turn(("TALK", "Hello Ben.", "Ben"))


def score(value: int, why: str = "judged") -> dict[str, Any]:
    return {"justification": why, "value": value, "confidence": 0.8}


class Script:
    """A scripted model: agent turns from ``turns``, judge scores from ``scores``, both in order."""

    def __init__(self, turns: list[Any], scores: list[Any]) -> None:
        self.turns, self.scores = list(turns), list(scores)
        self.backend = ScriptedBackend(self.respond)
        self.client = LLMClient(self.backend)

    def respond(self, request: LLMRequest) -> Any:
        source = self.turns if request.schema_name == "ActionTurn" else self.scores
        assert source, f"nothing scripted left for {request.schema_name}"
        return source.pop(0)

    def kinds(self) -> list[str]:
        return ["act" if r.schema_name == "ActionTurn" else "judge" for r in self.backend.requests]


def agent(script: Script, **overrides: Any) -> tuple[TinyPerson, list[Event]]:
    ana = TinyPerson("Ana", persona={"age": 60, "personality": {"traits": ["warm", "chatty"]}},
                     client=script.client)
    ana.make_agent_accessible(TinyPerson("Ben"))
    if overrides:
        ana.get_component("action_quality").configure(enable_quality_checks=True, **overrides)  # type: ignore[union-attr]
    events: list[Event] = []
    ana.bus.subscribe(events.append, kinds=["action_quality"])
    return ana, events


def said(actions: list[Any] | None) -> list[str]:
    return [a.content for a in actions or [] if a.type == "TALK"]


def test_off_by_default_a_turn_is_one_call() -> None:
    script = Script([CURT], [])
    ana, events = agent(script)
    assert said(ana.listen_and_act("Hi Ana", return_actions=True)) == ["Whatever."]
    assert script.kinds() == ["act"] and events == []
    assert Settings().actiongenerator.enable_quality_checks is False


def test_a_poor_answer_is_regenerated_with_the_judges_feedback() -> None:
    script = Script([CURT, WARM], [score(2, "Ana is warm and chatty; 'Whatever.' is curt."), score(8)])
    ana, events = agent(script, quality_threshold=5)
    assert said(ana.listen_and_act("Hi Ana", return_actions=True)) == ["So lovely to see you, Ben!"]
    assert script.kinds() == ["act", "judge", "act", "judge"]
    judge_prompt = script.backend.requests[1].messages[-1].content
    assert "Whatever." in judge_prompt and "warm" in judge_prompt  # the proposal and the persona
    regen = script.backend.requests[2].messages
    assert regen[-2].role == "assistant" and "Whatever." in regen[-2].content
    assert "persona_adherence: scored 2. Ana is warm and chatty" in regen[-1].content
    assert [i.content for i in ana.memory.items() if i.kind == "action" and i.type == "TALK"] == [
        "So lovely to see you, Ben!"]
    (event,) = events
    assert isinstance(event, ActionQualityEvent) and event.chosen == 1 and event.passed and event.threshold == 5
    assert [a["scores"] for a in event.attempts] == [{"persona_adherence": 2}, {"persona_adherence": 8}]
    assert event.attempts[0]["actions"][0]["content"] == "Whatever."
    stats = ana.get_component("action_quality").get_statistics()  # type: ignore[union-attr]
    assert (stats["turns_checked"], stats["original_passed"], stats["regenerations"]) == (1, 0, 1)
    assert stats["regeneration_failure_rate"] == 0.0 and stats["regeneration_mean_score"] == 8.0


def test_at_most_max_attempts_regenerations_then_the_best_attempt_is_kept() -> None:
    script = Script([CURT, POLITE, CURT], [score(1), score(4), score(4)])
    ana, events = agent(script, max_attempts=2, quality_threshold=5)
    assert said(ana.listen_and_act("Hi Ana", return_actions=True)) == ["Hello Ben."]  # the earliest best
    assert script.kinds() == ["act", "judge"] * 3
    (event,) = events
    assert event.chosen == 1 and event.passed is False
    stats = ana.get_component("action_quality").get_statistics()  # type: ignore[union-attr]
    assert (stats["regenerations"], stats["regenerations_failed"], stats["turns_failed"]) == (2, 2, 1)


def test_without_continue_on_failure_the_turn_fails_and_nothing_is_committed() -> None:
    script = Script([CURT, CURT], [score(1), score(2)])
    ana, events = agent(script, max_attempts=1, continue_on_failure=False)
    with pytest.raises(PoorQualityActionError) as info:
        ana.listen_and_act("Hi Ana")
    assert info.value.scores == [{"persona_adherence": 1}, {"persona_adherence": 2}] and info.value.agent == "Ana"
    assert PoorQualityActionException is PoorQualityActionError
    assert not [i for i in ana.memory.items() if i.kind == "action"] and ana.pop_latest_actions() == []
    assert events[0].chosen is None and events[0].passed is False


def test_regeneration_can_be_turned_off_keeping_the_scores() -> None:
    script = Script([CURT], [score(1)])
    ana, events = agent(script, enable_regeneration=False)
    assert said(ana.listen_and_act("Hi Ana", return_actions=True)) == ["Whatever."]
    assert script.kinds() == ["act", "judge"] and events[0].attempts[0]["passed"] is False


def test_actions_without_talk_or_think_pass_without_a_judge() -> None:
    script = Script([turn()], [])
    ana, events = agent(script, enable_quality_check_for_fluency=True)
    ana.listen_and_act("Hi Ana")
    assert script.kinds() == ["act"]
    assert events[0].attempts[0]["scores"] == {"persona_adherence": 9, "fluency": 9}


def test_a_malformed_judge_answer_is_re_asked_then_fails_the_turn() -> None:
    script = Script([CURT], [score(11), {"value": 3}, "three out of nine"])
    ana, events = agent(script, quality_threshold=5)
    with pytest.raises(LLMOutputError) as info:
        ana.listen_and_act("Hi Ana")
    assert info.value.raw_text == "three out of nine" and info.value.purpose == "action_quality"
    assert script.kinds() == ["act", "judge", "judge", "judge"]
    assert not [i for i in ana.memory.items() if i.kind == "action"] and events == []


def test_several_checks_each_must_pass_and_similarity_needs_no_model() -> None:
    turn_1, attempt_1, attempt_2 = [score(9)] * 2, [score(9), score(9), score(3)], [score(9)] * 3
    script = Script([WARM, WARM, POLITE], turn_1 + attempt_1 + attempt_2)
    ana, events = agent(script, enable_quality_check_for_selfconsistency=True,
                        enable_quality_check_for_fluency=True, enable_quality_check_for_similarity=True)
    ana.listen_and_act("Hi Ana")  # no earlier action: self-consistency passes without a judge
    assert events[0].attempts[0]["scores"] == {"persona_adherence": 9, "self_consistency": 9, "fluency": 9,
                                               "similarity": 9}
    assert script.kinds() == ["act", "judge", "judge"]
    ana.listen_and_act("Hi again")  # the same words again: similarity fails, the second attempt passes
    first, second = events[1].attempts
    assert first["scores"] == {"persona_adherence": 9, "self_consistency": 9, "fluency": 3, "similarity": 0}
    assert second["scores"] == {"persona_adherence": 9, "self_consistency": 9, "fluency": 9, "similarity": 9}
    assert script.kinds()[3:] == ["act", "judge", "judge", "judge", "act", "judge", "judge", "judge"]
    regen = [r for r in script.backend.requests if r.schema_name == "ActionTurn"][-1].messages[-1].content
    assert "similarity: scored 0" in regen and "fluency: scored 3" in regen and "persona_adherence" not in regen


def test_settings_come_from_the_run_context_and_configure_overrides_them() -> None:
    settings = Settings(actiongenerator={"enable_quality_checks": True, "quality_threshold": 8})
    script = Script([POLITE, POLITE], [score(7), score(9)])
    ana = TinyPerson("Ana", client=script.client, context=RunContext.for_client(script.client, settings=settings))
    ana.make_agent_accessible(TinyPerson("Ben"))
    component = ana.get_component("action_quality")
    assert isinstance(component, ActionQualityCheck) and component.settings_for(ana).quality_threshold == 8
    ana.listen_and_act("Hi")
    assert script.kinds() == ["act", "judge", "act", "judge"]  # 7 < 8: regenerated
    component.configure(quality_threshold=6)
    assert component.settings_for(ana).quality_threshold == 6
    component.configure(quality_threshold=None)
    assert component.settings_for(ana).quality_threshold == 8
    with pytest.raises(InvalidArgument, match="quality_threshold"):
        component.configure(quality_threshold=12)
    with pytest.raises(InvalidArgument, match="no_such_setting"):
        component.configure(no_such_setting=True)


def test_overrides_and_statistics_are_saved_with_the_agent() -> None:
    script = Script([CURT, WARM], [score(2), score(8)])
    ana, _ = agent(script, quality_threshold=4)
    ana.listen_and_act("Hi Ana")
    state = ana.to_state()
    assert state["components"]["action_quality"]["overrides"] == {"enable_quality_checks": True,
                                                                   "quality_threshold": 4}
    copy = TinyPerson("Ana")
    copy.load_state(state)
    restored = copy.get_component("action_quality")
    assert isinstance(restored, ActionQualityCheck) and restored.settings_for(copy).quality_threshold == 4
    assert restored.get_statistics()["regenerations"] == 1
    assert "action_quality" not in TinyPerson("Zed").to_state().get("components", {})  # nothing to save


def test_in_a_world_each_agent_is_checked_and_the_step_goes_on() -> None:
    def respond(request: LLMRequest) -> Any:
        if request.schema_name == "ActionTurn":
            return turn(("TALK", "hello all"))
        return score(9)

    client = LLMClient(ScriptedBackend(respond))
    settings = Settings(actiongenerator={"enable_quality_checks": True})
    ctx = RunContext.for_client(client, settings=settings)
    world = TinyWorld("Room", [TinyPerson("Ana"), TinyPerson("Ben")], START, context=ctx)
    events: list[Event] = []
    world.bus.subscribe(events.append, kinds=["action_quality"])
    world.run(1)
    assert [e.agent for e in events] == ["Ana", "Ben"] and all(e.passed for e in events)
    assert client.get_cost_stats()["by_purpose"]["action_quality"]["calls"] == 2
