"""Attribution by overlap of content words: the labelled set the threshold was chosen on, and the rule's parts.

Each case is an answer, a passage the agent was shown (with the question that found it) and whether
the answer uses what the passage says, judged by reading both. The answers that use a passage must
be attributed to it and the others never; docs/grounding.md gives the scores.
"""

from __future__ import annotations

import pytest

from tinytroupe.grounding.attribution import (
    ATTRIBUTION_THRESHOLD,
    MIN_SHARED_WORDS,
    content_words,
    overlap,
)

CANTEEN = ("The canteen is open from eight to three on weekdays.", "When is the canteen open?")
PARKING = ("Parking spaces are in the basement; visitors park on level minus two.", "Where can visitors park?")
HOLIDAYS = ("Holidays must be requested two weeks ahead through the HR portal. Unused days expire in March.",
            "how do I request holidays?")
PRINTER = ("The printer on floor two is broken until Friday; use the one in room 214 meanwhile.",
           "which printer works?")
ZOO = ("Penguins are fed at ten every morning by the keepers, and the sea lions at noon.",
       "when are the penguins fed?")

#: (answer, (passage, question), uses the passage)
LABELLED = [
    ("The canteen is open from eight to three on weekdays.", CANTEEN, True),
    ("It's open 8 to 3, Monday to Friday.", CANTEEN, True),
    ("Oh thanks Ben! I think it's from eight until three on weekdays, but let me check with Carla tomorrow "
     "morning before lunch.", CANTEEN, True),
    ("From eight to three.", CANTEEN, True),
    ("Weekdays only, 8am to 3pm.", CANTEEN, True),
    ("Visitors park in the basement, on level minus two.", PARKING, True),
    ("Go down to the basement, level -2.", PARKING, True),
    ("You have to ask two weeks in advance on the HR portal.", HOLIDAYS, True),
    ("Careful, unused days expire in March.", HOLIDAYS, True),
    ("Use the printer in room 214, the one on floor two is broken till Friday.", PRINTER, True),
    ("Room 214 has a working one.", PRINTER, True),
    ("The keepers feed them at ten in the morning.", ZOO, True),
    ("Honestly I'm not sure, Carla said something about the cafeteria opening early, from eight, and closing "
     "around three, weekdays only; I should double check with her.", CANTEEN, True),
    ("Ask HR early, two weeks before.", HOLIDAYS, True),
    ("I have no idea when the canteen opens.", CANTEEN, False),
    ("Let me check my documents about the canteen.", CANTEEN, False),
    ("I love the weather today, Ben.", CANTEEN, False),
    ("Three of us are going to the canteen on Friday.", CANTEEN, False),
    ("The canteen serves soup and salad.", CANTEEN, False),
    ("The canteen is open from eight to three on weekdays.", PARKING, False),
    ("I parked on level three of the garage yesterday.", PARKING, False),
    ("Two weeks is a long time to wait for the results.", HOLIDAYS, False),
    ("I requested my holidays last week.", HOLIDAYS, False),
    ("I went to the zoo on Sunday and saw the sea lions.", ZOO, False),
    ("Where is the printer? I need to print two pages before the meeting.", PRINTER, False),
    ("When is the canteen open? CONSULT your documents first.", CANTEEN, False),
    ("The basement is flooded again, two cars are stuck.", PARKING, False),
    ("Penguins are my favourite animals, I could watch them all morning.", ZOO, False),
    ("My friend works on floor three and takes the bus every morning.", PRINTER, False),
]


@pytest.mark.parametrize(("answer", "shown", "uses"), LABELLED, ids=[f"{i}-{u}" for i, (_, _, u) in
                                                                     enumerate(LABELLED)])
def test_the_labelled_answers_are_attributed_exactly_when_they_use_the_passage(
        answer: str, shown: tuple[str, str], uses: bool) -> None:
    found = overlap(answer, shown[0], question=shown[1])
    assert found.attributed is uses, found


def test_the_threshold_lies_between_the_labelled_scores() -> None:
    # Of the cases with enough shared words, every one that uses its passage scores above the threshold
    # and every one that does not scores below it: the threshold is not fitted to a single case.
    scored = [(overlap(a, p, question=q), uses) for a, (p, q), uses in LABELLED]
    enough = [(o.score, uses) for o, uses in scored if len(o.shared) >= MIN_SHARED_WORDS]
    lowest_use = min(s for s, uses in enough if uses)
    highest_other = max(s for s, uses in enough if not uses)
    assert highest_other < ATTRIBUTION_THRESHOLD <= lowest_use


def test_words_are_normalised_and_the_question_is_left_out() -> None:
    assert content_words("Opens at 8AM, eight sharp; the opening hours") == {"open", "8", "sharp", "hour"}
    assert overlap("the canteen is open", *CANTEEN).score == 0.0  # only the question's words
    assert overlap("", *CANTEEN) == (0.0, ())
    words = content_words(CANTEEN[0])
    assert overlap("eight to three", words, question=content_words(CANTEEN[1])).shared == ("3", "8")
