"""Attribution: did an answer use a passage it was shown, measured by the content words they share.

An agent asked to cite the passages it uses does not always do so (a small model rarely does). For
such an answer the grounding faculty measures, for each passage the agent was recently shown, how
many of the answer's content words come from the passage, and records the passages above a
threshold as *attributed* citations (``by="overlap"`` in the trace). Nothing is written into the
agent's words: the attribution is the trace's, and says so.

The measure (:func:`overlap`):

* words are :func:`~tinytroupe.grounding.text.tokenize`'s, split between letters and digits
  (``8am`` is ``8`` and ``am``), with number words as digits (``eight`` is ``8``), a plural ``s``
  taken off, and conversational words left out (pronouns, auxiliaries, greetings, question words);
* words of the question that found the passage are left out of both sides: the agent knew them
  before it read anything, so an answer that only echoes the question ("I don't know when the
  canteen is open") shares nothing with the passage;
* ``shared`` is the set of words left in both; the score is the overlap coefficient
  ``|shared| / min(|answer words|, |passage words|)`` (a short answer drawn from a long passage, or
  a long answer quoting a short one, both score high).

A passage is attributed when ``shared`` holds at least :data:`MIN_SHARED_WORDS` words and the
score reaches :data:`ATTRIBUTION_THRESHOLD`. One shared word is too often a coincidence ("three of
us are going" and "open from eight to three"). The threshold was chosen on a small labelled set of
answers and passages (``tests/unit/test_grounding_attribution.py``; ``docs/grounding.md`` gives
the scores): there, the answers that use a passage score 0.67 and up, those that do not and share
two or more words score 0.40 at most; 0.5 lies in that gap.

Example:
    >>> passage = "The canteen is open from eight to three on weekdays."
    >>> overlap("It's open 8 to 3, Monday to Friday.", passage, question="When is the canteen open?")
    Overlap(score=0.67, shared=('3', '8'))
    >>> overlap("I have no idea when the canteen opens.", passage, question="When is the canteen open?").score
    0.0
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import NamedTuple

from tinytroupe.grounding.text import STOPWORDS

#: least score (overlap coefficient of the content words) of an attributed passage
ATTRIBUTION_THRESHOLD = 0.5
#: least number of content words an answer must share with a passage (beyond the question's)
MIN_SHARED_WORDS = 2

_WORDS = re.compile(r"[^\W\d_]+|\d+")
# "one" is left out: a pronoun as often as a number ("use the one in room 214").
_NUMBERS = {w: str(i) for i, w in enumerate(
    ["zero", "", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
     "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty"]) if w}
_NUMBERS.update({"thirty": "30", "forty": "40", "fifty": "50", "sixty": "60", "hundred": "100"})
# Words that say how something is said, not what: a reply made of them uses no passage.
_CONVERSATION_WORDS = (
    "about after again all also am any around anything back been before being can could did do does doing don done "
    "dont each else even ever get go going gone got had having he hello her here hers hey him his hi how "
    "however i idea if im ill ive just know let like ll lot maybe me might mine more most much must my need no "
    "not now oh ok okay one only our ours out over please really right say said see she should so some something "
    "sorry still such sure tell than thank thanks them then there these they thing think those though till too until "
    "us very want we well what when where which while who whom why would yes yet you your yours yeah "
    "answer question ask asked")
_CONVERSATION = frozenset(_CONVERSATION_WORDS.split())
_SKIP = STOPWORDS | _CONVERSATION


class Overlap(NamedTuple):
    """How much of an answer comes from a passage: the score (0..1, two decimals) and the words shared."""

    score: float
    shared: tuple[str, ...]

    @property
    def attributed(self) -> bool:
        """True when the passage counts as used (see the module docstring)."""
        return len(self.shared) >= MIN_SHARED_WORDS and self.score >= ATTRIBUTION_THRESHOLD


def content_words(text: str) -> frozenset[str]:
    """The words of ``text`` that carry content, normalised (see the module docstring).

    Example:
        >>> sorted(content_words("I think it opens at 8am on Mondays, eight sharp!"))
        ['8', 'monday', 'open', 'sharp']
    """
    out = set()
    for word in _WORDS.findall(text.casefold()):
        word = _NUMBERS.get(word, word)
        if word in _SKIP or (len(word) < 2 and not word.isdigit()):
            continue
        word = _stem(word)
        if word not in _SKIP:
            out.add(word)
    return frozenset(out)


def _stem(word: str) -> str:
    # Crude and the same on both sides, which is all a comparison needs: "opens", "opened", "opening" are "open".
    for suffix, least in (("ing", 6), ("ed", 6), ("s", 4)):
        if len(word) >= least and word.endswith(suffix) and not word.endswith("ss"):
            return word[: -len(suffix)]
    return word


def overlap(answer: str, passage: str | frozenset[str], question: str | Iterable[str] = "") -> Overlap:
    """How much of ``answer`` comes from ``passage`` beyond the words of ``question`` (see the module docstring).

    ``passage`` may be given as its :func:`content_words` already (a faculty keeps them per passage shown),
    ``question`` as text or as its words.
    """
    asked = content_words(question) if isinstance(question, str) else frozenset(question)
    said = content_words(answer) - asked
    read = (passage if isinstance(passage, frozenset) else content_words(passage)) - asked
    if not said or not read:
        return Overlap(0.0, ())
    shared = said & read
    return Overlap(round(len(shared) / min(len(said), len(read)), 2), tuple(sorted(shared)))


__all__ = ["ATTRIBUTION_THRESHOLD", "MIN_SHARED_WORDS", "Overlap", "content_words", "overlap"]
