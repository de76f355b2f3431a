"""Option probabilities from the answer's first token: what a request with ``logprob_labels`` gets back.

A question's options are shown to the model with short labels (``A``, ``B``, ...) and the model is
asked to answer with a label. The probability the model gives each label as its first answer token
is then the probability of each option, read in one call instead of many sampled answers:

* OpenAI-compatible servers are asked for ``logprobs`` with ``top_logprobs`` (their most likely
  first tokens); :func:`parse_openai_logprobs` reads them. A label missing from the list had less
  probability than the least likely token shown and counts as 0.
* the embedded model scores each label's tokens exactly, in one forward pass
  (:mod:`tinytroupe.llm.local_scoring`).

:func:`label_scores` maps the tokens to labels (``" A"``, ``"A."`` and ``"(A"`` all count for ``A``),
adds up each label's probability, and says how much of the first token's probability fell on the
labels at all (``mass``) before renormalising over them.

Example:
    >>> from tinytroupe.llm.types import FirstTokenLogprobs, TokenLogprob
    >>> import math
    >>> seen = FirstTokenLogprobs(alternatives=[TokenLogprob(token="A", logprob=math.log(0.6)),
    ...                                         TokenLogprob(token=" B", logprob=math.log(0.2)),
    ...                                         TokenLogprob(token="The", logprob=math.log(0.2))])
    >>> scores = label_scores(seen, ["A", "B", "C"])
    >>> {k: round(v, 2) for k, v in scores.probabilities.items()}, round(scores.mass, 2)
    ({'A': 0.75, 'B': 0.25, 'C': 0.0}, 0.8)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from pydantic import BaseModel, ValidationError

from tinytroupe.llm.types import FirstTokenLogprobs, TokenLogprob

#: the most alternatives OpenAI returns per token (``top_logprobs`` may be 0 to 20)
MAX_TOP_LOGPROBS = 20
#: tokens generated for a label answer: enough to get past a leading space, "(" or "**"
LABEL_ANSWER_TOKENS = 3

# Characters around a label that do not change which label it is: " A", "A.", "(A)", "**A", "▁A".
_AROUND_LABEL = " \t\r\n\"'`*_()[]{}<>.,:;!?-▁"


def label_of(token: str) -> str:
    """The label a token stands for: the token without the spaces and punctuation around it.

    Example:
        >>> [label_of(t) for t in (" A", "A.", "(B)", "**C", "The")]
        ['A', 'A', 'B', 'C', 'The']
    """
    return token.strip(_AROUND_LABEL)


class LabelScores(BaseModel):
    """Each label's probability as the first answer token, renormalised over the labels.

    ``mass`` is the share of the first token's probability that fell on the labels before
    renormalising (1.0 when the model answered with nothing but labels); ``exact`` is True when each
    label was scored (not read from a server's top alternatives).
    """

    probabilities: dict[str, float]
    mass: float
    exact: bool = False


def label_scores(logprobs: FirstTokenLogprobs | None, labels: Sequence[str]) -> LabelScores | None:
    """Each label's probability from the first token's ``logprobs``; None when no label was among them.

    Alternatives naming the same label (``"A"`` and ``" A"``) are added up; a token is counted once
    even when a server lists it twice.
    """
    if logprobs is None:
        return None
    wanted = {label: i for i, label in enumerate(labels)}
    totals = np.zeros(len(labels))
    seen: set[str] = set()
    for alt in logprobs.alternatives:
        index = wanted.get(label_of(alt.token))
        if index is None or alt.token in seen:
            continue
        seen.add(alt.token)
        totals[index] += math.exp(alt.logprob)
    mass = float(totals.sum())
    if mass <= 0.0:
        return None
    shares = totals / mass
    return LabelScores(probabilities={label: float(p) for label, p in zip(labels, shares, strict=True)},
                       mass=min(mass, 1.0), exact=logprobs.exact)


def _alternative(entry: Any) -> TokenLogprob | None:
    if not isinstance(entry, dict):
        return None
    try:
        # a server may round a certain token's log-probability to a hair above 0
        return TokenLogprob(token=str(entry["token"]), logprob=min(float(entry["logprob"]), 0.0))
    except (KeyError, TypeError, ValueError, ValidationError):
        return None


def parse_openai_logprobs(choice: Any) -> FirstTokenLogprobs | None:
    """The answer's first token and its top alternatives from a chat completion's ``choice``, or None.

    The first token that stands for something (not only spaces or punctuation, see :func:`label_of`)
    is the one read: a model answering ``"(A)"`` or ``" A"`` is answering ``A``.

    Example:
        >>> choice = {"logprobs": {"content": [
        ...     {"token": "B", "logprob": -0.1, "top_logprobs": [{"token": "B", "logprob": -0.1},
        ...                                                      {"token": "A", "logprob": -2.5}]}]}}
        >>> [a.token for a in parse_openai_logprobs(choice).alternatives]
        ['B', 'A']
        >>> parse_openai_logprobs({"logprobs": None}) is None
        True
    """
    block = choice.get("logprobs") if isinstance(choice, dict) else None
    content = block.get("content") if isinstance(block, dict) else None
    if not isinstance(content, list):
        return None
    for entry in content:
        chosen = _alternative(entry)
        if chosen is None:
            return None
        if not label_of(chosen.token):
            continue
        top = entry.get("top_logprobs") if isinstance(entry.get("top_logprobs"), list) else []
        alternatives = [alt for alt in map(_alternative, top) if alt is not None]
        if all(alt.token != chosen.token for alt in alternatives):
            alternatives.insert(0, chosen)
        return FirstTokenLogprobs(alternatives=alternatives)
    return None


__all__ = ["LABEL_ANSWER_TOKENS", "MAX_TOP_LOGPROBS", "LabelScores", "label_of", "label_scores",
           "parse_openai_logprobs"]
