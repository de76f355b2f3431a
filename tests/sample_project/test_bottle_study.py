"""The sample project's tests: they hold on the mock and on a real model (``--mock-llm-live``)."""

from __future__ import annotations

import pytest
from bottle_study import first_reaction, focus_group

from tinytroupe.devtools.mock_llm import MockLLM

BOTTLE = "a water bottle that reminds you to drink, for 45 euros"


def test_everyone_gives_a_rating_and_a_reason(focus_llm: MockLLM) -> None:
    results = focus_group(BOTTLE, ["Ana", "Ben"])
    assert set(results) == {"Ana", "Ben"}
    for values in results.values():
        assert 1 <= values["rating"] <= 10
        assert values["reason"].strip()
    for name in ("Ana", "Ben"):
        focus_llm.assert_asked(purpose="action", agent=name, contains="water bottle")
        focus_llm.assert_asked(purpose="extraction", agent=name, contains="rating", times=1)


def test_a_person_answers_a_question(mock_llm: MockLLM) -> None:
    if not mock_llm.live:
        mock_llm.respond({"actions": [{"type": "TALK", "content": "Night shifts leave me thirsty."}]},
                         purpose="action", agent="Ana")
    said = first_reaction("Ana", "Do you drink enough water at work?")
    assert all(text.strip() for text in said)  # a real model may only think; what it says is not empty
    if not mock_llm.live:
        assert said == ["Night shifts leave me thirsty."]
    asked = mock_llm.assert_asked(purpose="action", agent="Ana", contains="Do you drink enough water")
    assert "nurse" in asked[0].text  # the persona reached the prompt


@pytest.mark.mock_llm(seed=1)
def test_ratings_vary_with_the_seed_but_repeat_with_it(focus_llm: MockLLM) -> None:
    first = focus_group(BOTTLE, ["Ana", "Ben"])
    again = focus_group(BOTTLE, ["Ana", "Ben"])
    if not focus_llm.live:
        assert first == again  # same seed, same requests: same answers
    assert len(focus_llm.asked(purpose="extraction")) == 4


@pytest.mark.mock_llm(strict=True)
def test_strict_mode_knows_every_request(mock_llm: MockLLM) -> None:
    mock_llm.respond({"actions": [{"type": "THINK", "content": "Hm."}]}, purpose="action")
    said = first_reaction("Ben", "Would you carry a smart bottle?")
    if not mock_llm.live:
        assert said == []
    mock_llm.assert_not_asked(purpose="extraction")


@pytest.mark.mock_llm(cassette="cassettes/reaction.json", record="none")
def test_replays_a_recorded_answer(mock_llm: MockLLM) -> None:
    said = first_reaction("Ben", "What do you think of a bottle that lights up?")
    assert all(text.strip() for text in said)
    if not mock_llm.live:
        assert said == ["A bottle that lights up? Fun, but pricey."]  # what the recorded server said
    # every answer came from the cassette (or, while recording or live, from the real backend)
    assert {asked.answered_by for asked in mock_llm.requests} <= {"cassette", "recorded", "live"}
