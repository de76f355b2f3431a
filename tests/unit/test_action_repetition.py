"""Basic action repetition prevention leaves out near-exact repeats of TALK and THINK only."""

from __future__ import annotations

from tinytroupe.agent.actions import Action, ActionBatch, action_similarity


def _dropped(*actions: Action) -> list[Action]:
    return ActionBatch(actions=list(actions)).without_repetitions(0.85)[1]


def test_same_words_in_another_order_are_not_a_repeat() -> None:
    prefix = "Having looked at all the options and talked it over with the family, "
    buy = Action(type="TALK", content=prefix + "we should buy the red car, it is not too expensive", target="Ben")
    dont = Action(type="TALK", content=prefix + "we should not buy the red car, it is too expensive", target="Ben")
    assert action_similarity(buy, dont) == 0.0
    assert _dropped(buy, dont) == []


def test_only_talk_and_think_are_candidates() -> None:
    monday = Action(type="WRITE_DOCUMENT", content="Plan: meet the supplier on Monday at noon")
    tuesday = Action(type="WRITE_DOCUMENT", content="Plan: meet the supplier on Tuesday at noon")
    twice = Action(type="WRITE_DOCUMENT", content="Plan: meet the supplier on Monday at noon")
    assert _dropped(monday, tuesday, twice) == []


def test_empty_contents_are_never_repeats() -> None:
    consult = Action(type="CONSULT", content="")
    assert action_similarity(consult, consult) == 0.0
    assert _dropped(consult, Action(type="CONSULT", content="")) == []
    assert _dropped(Action(type="THINK", content=" "), Action(type="THINK", content="...")) == []


def test_near_exact_repeats_are_dropped() -> None:
    first = Action(type="THINK", content="I wonder what Ben wants.")
    again = Action(type="THINK", content="  i WONDER what ben,  wants!")
    other = Action(type="THINK", content="I wonder what Ben needs.")
    assert action_similarity(first, again) == 1.0
    assert _dropped(first, again, other) == [again]
    talk = Action(type="TALK", content="I wonder what Ben wants.", target="Ana")
    assert _dropped(first, talk) == []  # another type
    assert _dropped(talk, Action(type="TALK", content="I wonder what Ben wants.", target="Ben")) == []
