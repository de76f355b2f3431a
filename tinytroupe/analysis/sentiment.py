"""A small lexicon sentiment score of our own (no model, no dependency) and the sentiment and emotion trends
of a run: per agent and step, the mean sentiment of what it said, and its PAD state where the run has
``EmotionEvent`` s.

The score counts words from two short lists (about 90 positive and 90 negative everyday words of opinion),
turns a word after a negator ("not", "never", "n't") within three words the other way, weights a word after
an intensifier ("very", "really") by 1.5 and one after a softener ("slightly") by 0.5, and scales the sum
into -1 .. 1 with ``s / sqrt(s*s + 4)`` (so one strong word is about 0.45, not 1). It reads the polarity of
plain opinions; irony and domain words escape it: a trend, not a verdict on one sentence.

Example:
    >>> sentiment_score("I love it, the price is great")
    0.707
    >>> sentiment_score("not good, honestly too expensive")
    -0.781
    >>> sentiment_score("the bus leaves at nine")
    0.0
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any

from tinytroupe.analysis.run_events import RunEvents
from tinytroupe.errors import InvalidArgumentType

if TYPE_CHECKING:
    import pandas as pd

_POSITIVE_WORDS = """
good great excellent amazing wonderful fantastic love loved lovely like liked enjoy enjoyed happy glad pleased
delighted nice beautiful best better perfect awesome brilliant superb agree agreed yes useful helpful valuable
worth affordable cheap fair easy convenient comfortable safe reliable fresh tasty delicious fun exciting excited
interesting impressive recommend recommended support supportive trust hopeful optimistic satisfied satisfying
success successful win winning favourite favorite positive pleasant friendly kind calm clean clear smart elegant
fine thanks thank appreciate appreciated right benefit benefits improve improved improvement promising solid
"""
_POSITIVE = frozenset(_POSITIVE_WORDS.split())
_NEGATIVE_WORDS = """
bad terrible awful horrible hate hated dislike disliked poor worse worst expensive overpriced pricey costly
useless boring annoying annoyed angry upset sad unhappy disappointed disappointing frustrating frustrated
difficult hard complicated confusing confused unfair wrong fail failed failure problem problems issue issues
risk risky unsafe dangerous broken slow dirty ugly weak waste wasteful doubt doubtful skeptical sceptical
worried worry worrying afraid fear scared negative unpleasant rude disagree no nothing never refuse refused
reject rejected against concern concerns complaint complain stale bland tasteless noisy crowded uncomfortable
cheaply flimsy hurt pain lose losing loss lost mistake regret stressful stress tired
"""
_NEGATIVE = frozenset(_NEGATIVE_WORDS.split())
_NEGATORS = frozenset({"not", "no", "never", "hardly", "barely", "without", "nor", "neither"})
_INTENSIFIERS = frozenset({"very", "really", "extremely", "so", "too", "totally", "absolutely", "incredibly",
                           "truly", "highly", "super"})
_SOFTENERS = frozenset({"slightly", "somewhat", "bit", "little", "fairly", "rather", "quite"})
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")


def _words(text: str) -> list[str]:
    out: list[str] = []
    for word in _WORD.findall(text.lower()):
        if word.endswith("n't"):
            out += [word[:-3], "not"]
        else:
            out.append(word)
    return out


def sentiment_score(text: str) -> float:
    """The polarity of ``text`` from -1 (negative) to 1 (positive), rounded to 3 places; 0 when no word
    of opinion is found."""
    if not isinstance(text, str):
        raise InvalidArgumentType(f"sentiment_score takes a str, got {type(text).__name__}")
    words = _words(text)
    total = 0.0
    for i, word in enumerate(words):
        polarity = 1.0 if word in _POSITIVE else -1.0 if word in _NEGATIVE else 0.0
        if polarity == 0.0 or (word in ("no", "nothing", "never") and i + 1 < len(words)
                               and (words[i + 1] in _POSITIVE or words[i + 1] in _NEGATIVE)):
            continue  # "no" before an opinion word negates it (below) rather than counting itself
        before = words[max(0, i - 3):i]
        if any(w in _NEGATORS for w in before):
            polarity = -polarity
        if before and before[-1] in _INTENSIFIERS:
            polarity *= 1.5
        elif before and before[-1] in _SOFTENERS:
            polarity *= 0.5
        total += polarity
    return round(total / math.sqrt(total * total + 4.0), 3)


def utterance_sentiment(run: RunEvents) -> pd.DataFrame:
    """One row per utterance: ``id``, ``step``, ``agent``, ``content``, ``sentiment``."""
    import pandas as pd

    rows = [{"id": u["id"], "step": u.get("step"), "agent": u["agent"], "content": u["content"],
             "sentiment": sentiment_score(str(u["content"]))} for u in run.utterances()]
    return pd.DataFrame(rows, columns=["id", "step", "agent", "content", "sentiment"])


def sentiment_trends(run: RunEvents) -> pd.DataFrame:
    """Per agent and step: ``utterances``, mean ``sentiment``, and where the run has emotion events the
    agent's last PAD state in that step (``pleasure``, ``arousal``, ``dominance``, ``emotion``); ``ids``
    lists the events each row rests on."""
    import pandas as pd

    rows: dict[tuple[str, int], dict[str, Any]] = {}

    def row(agent: str, step: int) -> dict[str, Any]:
        return rows.setdefault((agent, step), {"agent": agent, "step": step, "utterances": 0, "_sum": 0.0,
                                               "pleasure": None, "arousal": None, "dominance": None,
                                               "emotion": None, "ids": []})

    for u in run.utterances():
        r = row(u["agent"], int(u.get("step") or 0))
        r["utterances"] += 1
        r["_sum"] += sentiment_score(str(u["content"]))
        r["ids"].append(u["id"])
    for e in run.of_kind("emotion"):
        if not e.get("agent"):
            continue
        r = row(str(e["agent"]), int(e.get("step") or 0))
        r.update(pleasure=e.get("pleasure"), arousal=e.get("arousal"), dominance=e.get("dominance"),
                 emotion=e.get("label"))
        r["ids"].append(e["id"])
    records = []
    for (_, _), r in sorted(rows.items()):
        mean = r.pop("_sum") / r["utterances"] if r["utterances"] else None
        records.append({**r, "sentiment": None if mean is None else round(mean, 3)})
    columns = ["agent", "step", "utterances", "sentiment", "pleasure", "arousal", "dominance", "emotion", "ids"]
    return pd.DataFrame(records, columns=columns)


__all__ = ["sentiment_score", "sentiment_trends", "utterance_sentiment"]
