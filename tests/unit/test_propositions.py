"""Propositions: claims judged by a (scripted) model over agents' and worlds' trajectories."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import pytest
from helpers import START, turn

from tinytroupe import TinyPerson, TinyWorld
from tinytroupe.config import TinyTroupeCompatibilityWarning
from tinytroupe.errors import InvalidArgument, InvalidArgumentType, LLMOutputError, NotFound
from tinytroupe.experimentation import (
    Proposition,
    acheck_proposition,
    acompute_score,
    check_proposition,
    compute_score,
)
from tinytroupe.llm import LLMClient, LLMRequest, ScriptedBackend
from tinytroupe.steering import Intervention
from tinytroupe.validation import propositions
from tinytroupe.validation.propositions import PREDEFINED_PROPOSITIONS, predefined_proposition


def verdict(value: Any, justification: str = "Because of what Ana said.", confidence: float = 0.75) -> dict[str, Any]:
    return {"justification": justification, "value": value, "confidence": confidence}


def judge(*replies: Any) -> tuple[LLMClient, ScriptedBackend]:
    backend = ScriptedBackend(list(replies))
    return LLMClient(backend), backend


def prompt_of(request: LLMRequest) -> str:
    return request.messages[-1].content


def ana_with_history(n: int = 1) -> TinyPerson:
    ana = TinyPerson("Ana", persona={"age": 34, "occupation": {"title": "nurse"}})
    for i in range(1, n + 1):
        ana.listen(f"message number {i}", source="Ben")
    return ana


# ------------------------------------------------------------------------------ check and score


def test_check_and_score_keep_value_justification_and_confidence() -> None:
    client, backend = judge(verdict(True, "She greets Ben warmly.", 0.9), verdict(6, "Mostly friendly.", 0.6))
    ana = ana_with_history()
    prop = Proposition("Ana is friendly to Ben.", target=ana, client=client)
    assert prop.value is None and prop.justification is None
    assert prop.check() is True
    assert (prop.value, prop.justification, prop.confidence) == (True, "She greets Ben warmly.", 0.9)
    assert prop.score(return_full_response=True) == {"value": 6, "justification": "Mostly friendly.",
                                                     "confidence": 0.6}
    assert prop.full_evaluation_response == {"value": 6, "justification": "Mostly friendly.", "confidence": 0.6}
    check_request, score_request = backend.requests
    assert check_request.schema_name == "PropositionCheck" and score_request.schema_name == "PropositionScore"
    assert "Ana is friendly to Ben." in prompt_of(check_request) and "message number 1" in prompt_of(check_request)
    assert "No additional context available." in prompt_of(check_request)
    assert "from 0 to 9" in score_request.messages[0].content
    assert Proposition.MIN_SCORE == 0 and Proposition.MAX_SCORE == 9


def test_a_score_out_of_range_is_re_asked_and_then_raised_never_made_up() -> None:
    client, backend = judge(verdict(12), verdict(-1), "I would say about seven")
    prop = Proposition("Ana is calm.", target=ana_with_history(), client=client)
    with pytest.raises(LLMOutputError) as info:
        prop.score()
    assert backend.calls == 3 and info.value.attempts == 3  # the first answer and two re-asks
    assert info.value.raw_text == "I would say about seven"
    assert prop.value is None and prop.justification is None and prop.full_evaluation_response is None
    # the re-asks show the model what was wrong
    assert "12" in backend.requests[1].messages[-2].content


def test_a_malformed_answer_that_is_fixed_on_re_ask_is_kept() -> None:
    client, backend = judge({"value": True}, verdict(False, "She never mentions the price."))
    prop = Proposition("Ana asks about the price.", target=ana_with_history(), client=client)
    assert prop.check() is False and backend.calls == 2  # justification and confidence are required
    assert prop.justification == "She never mentions the price."


def test_multiple_targets_are_all_shown_and_a_world_shows_its_agents_personas() -> None:
    client, backend = judge(verdict(True), verdict(4))
    ana, ben = ana_with_history(), TinyPerson("Ben", persona={"age": 51})
    ben.listen("the bus is late", source="Ana")
    assert Proposition("Both are patient.", target=[ana, ben], client=client).check() is True
    shown = prompt_of(backend.requests[0])
    assert "## Agent 'Ana'" in shown and "## Agent 'Ben'" in shown
    assert "message number 1" in shown and "the bus is late" in shown and "Age: 51" not in shown

    world = TinyWorld("Ward", [TinyPerson("Cleo", persona={"age": 29})], START)
    assert Proposition("Cleo is busy.", target=world, include_personas=True, client=client).score() == 4
    shown = prompt_of(backend.requests[1])
    assert "## World 'Ward'" in shown and "#### Cleo" in shown and "Age: 29" in shown


def test_first_n_and_last_n_window_each_trajectory() -> None:
    client, backend = judge(verdict(True))
    ana = ana_with_history(10)
    Proposition("Ana listens.", target=ana, first_n=2, last_n=3, client=client).check()
    shown = prompt_of(backend.requests[0])
    for kept in (1, 2, 8, 9, 10):
        assert f"message number {kept}\"" in shown
    for left_out in (3, 4, 5, 6, 7):
        assert f"message number {left_out}\"" not in shown
    assert "5 events omitted" in shown
    with pytest.raises(InvalidArgument, match="first_n"):
        Proposition("x", first_n=-1)


def test_claim_variables_are_filled_in_and_a_missing_one_fails_before_any_call() -> None:
    client, backend = judge(verdict(True))
    prop = Proposition("Ana would say {{ phrase }} to {{who}}.", target=ana_with_history(), client=client)
    prop.check(claim_variables={"phrase": "hello", "who": ["Ben"]})
    assert 'Ana would say hello to ["Ben"].' in prompt_of(backend.requests[0])
    with pytest.raises(InvalidArgument, match="who"):
        prop.check(claim_variables={"phrase": "hi"})
    assert backend.calls == 1


def test_a_false_precondition_makes_the_proposition_trivially_true_without_a_call() -> None:
    client, backend = judge(verdict(2))
    seen: list[dict[str, Any]] = []

    def only_for_nurses(target: list[TinyPerson], additional_context: str, claim_variables: dict[str, Any]) -> bool:
        seen.append({"targets": [t.name for t in target], "context": additional_context, "vars": claim_variables})
        return target[0].get("occupation.title") == "nurse"

    ana, ben = ana_with_history(), TinyPerson("Ben")
    prop = Proposition("The person is gentle.", precondition_function=only_for_nurses, client=client)
    assert prop.score(target=ben, additional_context="a ward") == 9 and prop.check(ben) is True
    assert prop.confidence == 1.0 and "trivially true" in (prop.justification or "")
    assert backend.calls == 0
    assert prop.score(target=ana) == 2 and backend.calls == 1
    assert seen[0] == {"targets": ["Ben"], "context": "a ward", "vars": {}}


def test_double_check_asks_again_and_keeps_the_second_answer() -> None:
    client, backend = judge(verdict(8, "Looks fine."), verdict(5, "On reflection, she hesitated twice."))
    prop = Proposition("Ana is decisive.", target=ana_with_history(), double_check=True, client=client)
    assert prop.score() == 5 and prop.justification == "On reflection, she hesitated twice."
    second = backend.requests[1]
    assert second.messages[-2].role == "assistant" and '"value":8' in second.messages[-2].content
    assert "Are you sure?" in second.messages[-1].content


def test_targets_are_given_once_and_must_be_agents_or_worlds() -> None:
    client, _ = judge(verdict(True))
    ana = ana_with_history()
    with pytest.raises(InvalidArgument, match="already has its targets"):
        Proposition("x", target=ana, client=client).check(target=ana)
    with pytest.raises(InvalidArgument, match="no target"):
        Proposition("x", client=client).check()
    with pytest.raises(InvalidArgumentType, match="TinyPerson, a TinyWorld"):
        Proposition("x", target=["Ana"])  # type: ignore[list-item]
    with pytest.raises(InvalidArgument, match="claim"):
        Proposition("  ")
    with pytest.warns(TinyTroupeCompatibilityWarning, match="use_reasoning_model"):
        Proposition("x", use_reasoning_model=True)


def test_copy_keeps_the_claim_and_options_but_not_the_verdict() -> None:
    client, _ = judge(verdict(True))
    prop = Proposition("Ana is kind.", target=ana_with_history(), last_n=4, client=client)
    prop.check()
    twin = copy.copy(prop)
    assert (twin.claim, twin.last_n, twin.targets, twin.client) == (prop.claim, 4, prop.targets, client)
    assert twin.value is None and prop.value is True


def test_the_default_judge_is_the_targets_client_and_calls_are_labelled() -> None:
    client, backend = judge(verdict(True), verdict(3))
    ana = TinyPerson("Ana", client=client)
    assert check_proposition(ana, "Ana is quiet.") is True
    assert compute_score(ana, "Ana is loud.", first_n=1, return_full_response=True)["value"] == 3
    stats = client.get_cost_stats()
    assert stats["by_purpose"]["proposition"]["calls"] == 2 and stats["by_agent"]["Ana"]["calls"] == 2
    assert backend.calls == 2


def test_async_twins() -> None:
    client, _ = judge(verdict(False), verdict(7), verdict(True), verdict(1))
    ana = TinyPerson("Ana", client=client)
    prop = Proposition("Ana is asleep.", target=ana)
    assert asyncio.run(prop.acheck()) is False
    assert asyncio.run(prop.ascore()) == 7 and prop.value == 7
    assert asyncio.run(acheck_proposition(ana, "Ana is awake.")) is True
    assert asyncio.run(acompute_score(ana, "Ana is awake.", return_full_response=True))["value"] == 1


# ------------------------------------------------------------------------------ interventions take propositions


def test_an_intervention_judges_a_proposition_without_targets_on_its_own_inside_a_world_step() -> None:
    def respond(request: LLMRequest) -> Any:
        if request.schema_name == "PropositionScore":
            return verdict(2 if "## Agent 'Ana'" in prompt_of(request) else 9)
        return turn(("TALK", "I have no new idea"))

    ana, ben = TinyPerson("Ana"), TinyPerson("Ben")
    world = TinyWorld("Lab", [ana, ben], START, client=LLMClient(ScriptedBackend(respond)))
    fired: list[str] = []
    stale = Proposition("The agent keeps proposing new ideas.")
    nudge = (Intervention(ana, name="nudge").set_propositional_precondition(stale, threshold=5)
             .set_effect(lambda target: fired.append(target.name)))
    world.add_intervention(nudge)
    world.run(1)  # the world awaits the proposition's async twin inside its step
    assert fired == ["Ana"] and stale.value == 2

    own = Proposition("The agent keeps proposing new ideas.", target=ben)  # judged on its own target
    assert Intervention(ana).set_propositional_precondition(own, threshold=5).check_precondition() is False
    assert own.value == 9


def test_a_textual_precondition_is_a_proposition_check_on_the_window() -> None:
    client, backend = judge(verdict(True, "Ana repeats herself."))
    ana = TinyPerson("Ana", client=client)
    for i in range(1, 8):
        ana.listen(f"message number {i}", source="Ben")
    nudge = Intervention(ana, first_n=1, last_n=2).set_textual_precondition("Ana is stuck.")
    assert nudge.check_precondition() is True
    shown = prompt_of(backend.requests[0])
    assert "message number 1\"" in shown and "message number 7\"" in shown and "message number 4\"" not in shown
    assert "Ana repeats herself. (confidence = 0.75)" in nudge.precondition_justification()


# ------------------------------------------------------------------------------ predefined propositions


def test_the_predefined_propositions_tinytroupe_users_expect() -> None:
    expected = {"persona_adherence", "hard_persona_adherence", "self_consistency", "fluency", "task_completion",
                "quiet_recently", "divergence", "convergence", "action_persona_adherence",
                "hard_action_persona_adherence", "action_self_consistency", "action_fluency", "action_suitability"}
    assert set(PREDEFINED_PROPOSITIONS) == expected
    for name in expected:
        prop = getattr(propositions, name)
        assert isinstance(prop, Proposition) and prop.targets is None and prop.claim.strip()
    assert propositions.fluency is not propositions.fluency  # a new one each time: verdicts are not shared
    assert propositions.persona_adherence.include_personas and not propositions.self_consistency.include_personas
    action = propositions.action_fluency
    assert (action.first_n, action.last_n) == (5, 10) and "{{action}}" in action.claim
    with pytest.raises(NotFound, match="divergence"):
        predefined_proposition("divergance")
    with pytest.raises(AttributeError):
        propositions.no_such_proposition  # noqa: B018


def test_persona_adherence_shows_the_persona_and_divergence_scores_a_world() -> None:
    client, backend = judge(verdict(7), verdict(3))
    ana = TinyPerson("Ana", persona={"age": 34}, client=client).listen("hi", source="Ben")
    assert propositions.hard_persona_adherence.score(ana) == 7
    shown = prompt_of(backend.requests[0])
    assert "Age: 34" in shown and "two points" in shown
    world = TinyWorld("Brainstorm", [ana], START, client=client)
    assert propositions.divergence.score(world) == 3
    assert "## World 'Brainstorm'" in prompt_of(backend.requests[1])


def test_per_action_propositions_judge_the_proposed_actions_only_when_they_say_something() -> None:
    client, backend = judge(verdict(4, "Too eager for Ana."))
    ana = TinyPerson("Ana", persona={"age": 34}, client=client).listen("hi", source="Ben")
    prop = propositions.hard_action_persona_adherence
    assert prop.score(ana, claim_variables={"action": [{"type": "DONE", "content": ""}]}) == 9
    assert backend.calls == 0
    talk = [{"type": "TALK", "content": "Yes! Absolutely! Anything you want!", "target": "Ben"}]
    assert prop.score(ana, claim_variables={"action": talk}) == 4
    assert "Anything you want!" in prompt_of(backend.requests[0])


def test_tinytroupes_signatures_are_kept() -> None:
    import inspect

    from tinytroupe.validation import TinyPersonValidator

    def params(func: Any) -> list[tuple[str, Any]]:
        return [(p.name, p.default) for p in inspect.signature(func).parameters.values()
                if p.kind is not inspect.Parameter.KEYWORD_ONLY and p.name != "self"]

    empty = inspect.Parameter.empty
    assert params(Proposition.__init__) == [
        ("claim", empty), ("target", None), ("include_personas", False), ("first_n", None), ("last_n", None),
        ("double_check", False), ("use_reasoning_model", False), ("precondition_function", None)]
    for method in (Proposition.check, Proposition.score, Proposition.acheck, Proposition.ascore):
        assert params(method) == [("target", None), ("additional_context", "No additional context available."),
                                  ("claim_variables", None), ("return_full_response", False)]
    for function in (check_proposition, compute_score):
        assert params(function) == [("target", empty), ("claim", empty),
                                    ("additional_context", "No additional context available."), ("first_n", None),
                                    ("last_n", None), ("return_full_response", False)]
    assert params(TinyPersonValidator.validate_person) == [
        ("person", empty), ("expectations", None), ("include_agent_spec", True), ("max_content_length", None)]
