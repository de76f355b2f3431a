"""TinyPersonValidator: a scripted validator interviews a scripted person, then scores it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from helpers import turn

from tinytroupe import TinyPerson
from tinytroupe.errors import InvalidArgument, InvalidArgumentType, LLMOutputError
from tinytroupe.llm import LLMClient, LLMRequest, ScriptedBackend
from tinytroupe.validation import TinyPersonValidator
from tinytroupe.validation.tiny_person_validator import MAX_ROUNDS


def step(*questions: str, complete: bool = False, phase: str = "background") -> dict[str, Any]:
    return {"next_phase_description": phase, "questions": list(questions), "is_complete": complete}


def conclusion(score: float = 0.8, justification: str = "Answers match a cautious nurse.") -> dict[str, Any]:
    return {"justification": justification, "score": score}


def nurse(answers: list[str]) -> tuple[TinyPerson, ScriptedBackend]:
    backend = ScriptedBackend([turn(("TALK", a), ("THINK", "private thought")) for a in answers])
    person = TinyPerson("Ana", persona={"age": 41, "occupation": {"title": "night-shift nurse"}},
                        client=LLMClient(backend))
    return person, backend


def test_an_interview_of_two_rounds_then_a_score_and_justification() -> None:
    validator = ScriptedBackend([step("What is your job?", "Where do you work?"),
                                 step("A patient refuses medication: what do you do?", phase="behaviour"),
                                 step(complete=True), conclusion(0.85)])
    ana, person_backend = nurse(["I am a nurse at St. Mary's.", "I would explain the risks calmly."])
    score, justification = TinyPersonValidator.validate_person(
        ana, expectations="A careful, patient nurse.", client=LLMClient(validator))
    assert (score, justification) == (0.85, "Answers match a cautious nurse.")
    assert person_backend.calls == 2 and validator.calls == 4

    system = validator.requests[0].messages[0].content
    assert "A careful, patient nurse." in system and "night-shift nurse" in system  # expectations and spec
    heard = [i.content for i in ana.memory.items() if i.kind == "stimulus"]
    assert heard == ["1. What is your job?\n2. Where do you work?", "A patient refuses medication: what do you do?"]
    assert {i.source for i in ana.memory.items() if i.kind == "stimulus"} == {"Validator"}
    # what the person said aloud reaches the validator; its thoughts do not
    second = validator.requests[1].messages
    assert "I am a nurse at St. Mary's." in second[-1].content and "private thought" not in second[-1].content
    assert second[-2].role == "assistant" and "What is your job?" in second[-2].content
    final = validator.requests[3]
    assert final.schema_name == "ValidationVerdict" and "The interview is over" in final.messages[-1].content
    assert "I would explain the risks calmly." in final.messages[-3].content


def test_the_interview_is_bounded_and_the_score_is_still_asked_for() -> None:
    def validator(request: LLMRequest) -> Any:
        return step("Tell me more?") if request.schema_name == "InterviewStep" else conclusion(0.4)

    backend = ScriptedBackend(validator)
    ana, person_backend = nurse(["More."] * 3)
    assert TinyPersonValidator.validate_person(ana, client=LLMClient(backend), max_rounds=3)[0] == 0.4
    kinds = [r.schema_name for r in backend.requests]
    assert kinds == ["InterviewStep"] * 3 + ["ValidationVerdict"] and person_backend.calls == 3
    assert "That was the last round" in backend.requests[-1].messages[-2].content
    assert MAX_ROUNDS == 10  # TinyTroupe's bound


def test_no_questions_means_the_interview_is_over() -> None:
    backend = ScriptedBackend([step(), conclusion(0.1, "Nothing to go on.")])
    ana, person_backend = nurse([])
    assert TinyPersonValidator.validate_person(ana, client=LLMClient(backend)) == (0.1, "Nothing to go on.")
    assert person_backend.calls == 0


def test_without_the_spec_the_validator_sees_only_the_expectations() -> None:
    backend = ScriptedBackend([step(complete=True), conclusion()])
    ana, _ = nurse([])
    TinyPersonValidator.validate_person(ana, "Works nights.", include_agent_spec=False, client=LLMClient(backend))
    system = backend.requests[0].messages[0].content
    assert "Works nights." in system and "night-shift nurse" not in system


def test_a_malformed_verdict_is_re_asked_then_raised_with_the_raw_text() -> None:
    backend = ScriptedBackend([step(complete=True), {"score": 1.7, "justification": "great"}, {"score": 0.9},
                               "She is fine, 9/10"])
    ana, _ = nurse([])
    with pytest.raises(LLMOutputError) as info:
        TinyPersonValidator.validate_person(ana, client=LLMClient(backend))
    assert info.value.raw_text == "She is fine, 9/10" and info.value.attempts == 3
    assert backend.calls == 4


def test_a_malformed_interview_step_is_re_asked() -> None:
    backend = ScriptedBackend([{"questions": "What is your job?"}, step(complete=True), conclusion(0.7)])
    ana, _ = nurse([])
    assert TinyPersonValidator.validate_person(ana, client=LLMClient(backend))[0] == 0.7
    assert backend.calls == 3


def test_the_default_validator_is_the_persons_client_and_calls_are_labelled() -> None:
    def respond(request: LLMRequest) -> Any:
        if request.schema_name == "InterviewStep":
            asked = sum(m.role == "assistant" for m in request.messages)
            return step("Hobbies?") if asked == 0 else step(complete=True)
        if request.schema_name == "ValidationVerdict":
            return conclusion(0.6)
        return turn(("TALK", "Gardening."))

    client = LLMClient(ScriptedBackend(respond))
    ana = TinyPerson("Ana", client=client)
    assert asyncio.run(TinyPersonValidator.avalidate_person(ana)) == (0.6, "Answers match a cautious nurse.")
    by_purpose = client.get_cost_stats()["by_purpose"]
    assert by_purpose["validation"]["calls"] == 3 and by_purpose["action"]["calls"] == 1


def test_bad_arguments_fail_before_any_call() -> None:
    backend = ScriptedBackend([])
    with pytest.raises(InvalidArgumentType, match="TinyPerson"):
        TinyPersonValidator.validate_person("Ana", client=LLMClient(backend))  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="max_rounds"):
        TinyPersonValidator.validate_person(TinyPerson("Ana"), client=LLMClient(backend), max_rounds=0)
    assert backend.calls == 0
