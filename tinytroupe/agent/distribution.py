"""Distributional answers: the probability of each option of a question, not one sampled answer.

Studies of simulated survey respondents find that asking a model for the probability of each answer
option reproduces real answer distributions far better than taking one sampled answer per persona.
The options are shown with letters (``A. Yes``, ``B. No``, ...), and:

* where the backend gives token log-probabilities (OpenAI-compatible servers, the embedded model),
  one call reads the probability of each letter as the first answer token
  (:mod:`tinytroupe.llm.logprobs`), renormalised over the options (``method="logprobs"``; the share
  of probability that fell on the letters at all is ``mass_on_options``; a server's top alternatives
  are used only when that share is at least ``min_mass``, see :data:`DEFAULT_MIN_MASS`);
* otherwise ``samples`` answers are drawn (temperature 1, each with its own seed, so each is a
  separate request in the response cache) and counted (``method="sampled"``); ``fallback_reason``
  says why, when log-probabilities were tried first.

:meth:`TinyPerson.ask_distribution <tinytroupe.agent.person_distribution.DistributionMethods.ask_distribution>`
asks one agent (its persona and recent events in the prompt);
:mod:`tinytroupe.extraction.distribution` asks a population and the no-persona baseline.

Example:
    >>> from tinytroupe.llm import LLMClient, ScriptedBackend
    >>> from tinytroupe.llm.types import FirstTokenLogprobs
    >>> client = LLMClient(ScriptedBackend([FirstTokenLogprobs.from_probabilities({"A": 0.7, "B": 0.3})],
    ...                                    logprobs=True))
    >>> answer = ask_options(client, "Do you cycle to work?", ["Yes", "No"])
    >>> answer.method, answer.probabilities, answer.calls
    ('logprobs', {'Yes': 0.7, 'No': 0.3}, 1)
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from functools import lru_cache
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field, create_model, model_validator

from tinytroupe.agent.prompts import template
from tinytroupe.aio import run_sync
from tinytroupe.errors import InvalidArgument, InvalidArgumentType, LLMOutputError
from tinytroupe.llm.client import LLMClient
from tinytroupe.llm.logprobs import LABEL_ANSWER_TOKENS, label_scores
from tinytroupe.llm.types import Message, TokenLogprob

#: the labels options are shown with; more options than these is an error
LABELS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
#: answers drawn per question when log-probabilities are not available
DEFAULT_SAMPLES = 10
#: the least share of the first token's probability that must fall on the labels for a server's top
#: alternatives to be used (below it: sampled answers instead, and the answer says why). A model that
#: puts less there means to write something else first, and the labels it did not rank are unknown.
#: Exactly scored labels (the embedded model) need only some probability: renormalised, they are the
#: distribution a decoder constrained to the labels samples from, which is what sampling would estimate.
DEFAULT_MIN_MASS = 0.5
MAX_SAMPLES = 1000

Method = Literal["auto", "logprobs", "sampled"]


class DistributionAnswer(BaseModel):
    """One answer as a distribution over the options.

    ``probabilities`` maps each option (in the order given) to its probability; they sum to 1.
    ``method`` says where they come from: ``"logprobs"`` (the first answer token's log-probabilities;
    ``mass_on_options`` is the share of that token's probability on the option letters before
    renormalising, ``raw`` the token alternatives read) or ``"sampled"`` (``samples`` answers drawn and
    counted in ``counts``; ``raw`` holds each sample's letter). ``fallback_reason`` says why answers were
    sampled when log-probabilities were asked for first; ``calls`` counts the LLM calls made.
    """

    question: str
    options: list[str]
    labels: list[str]
    probabilities: dict[str, float]
    method: Literal["logprobs", "sampled"]
    samples: int = 0
    counts: dict[str, int] | None = None
    mass_on_options: float | None = None
    fallback_reason: str | None = None
    calls: int = 1
    agent: str | None = None
    raw: list[TokenLogprob] | list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _a_distribution_over_the_options(self) -> DistributionAnswer:
        if list(self.probabilities) != self.options or len(self.labels) != len(self.options):
            raise ValueError("probabilities and labels must have one entry per option, in the options' order")
        values = np.asarray(list(self.probabilities.values()), dtype=float)
        if not np.all(np.isfinite(values)) or np.any(values < 0) or abs(values.sum() - 1.0) > 1e-6:
            raise ValueError(f"probabilities must be non-negative and sum to 1, got {self.probabilities}")
        return self

    @property
    def most_likely(self) -> str:
        """The option with the highest probability (the first of equals)."""
        return max(self.options, key=lambda o: self.probabilities[o])


def check_options(question: object, options: object) -> list[str]:
    """The labels for ``options``, after checking the question and options; raises before any call.

    Raises:
        InvalidArgumentType: ``question`` is not text, ``options`` is a single string or not a
            list of strings.
        InvalidArgument: the question is empty, or the options are fewer than two, empty, repeated
            (ignoring case and surrounding spaces), or more than there are labels (26).

    Example:
        >>> check_options("Tea or coffee?", ["Tea", "Coffee"])
        ['A', 'B']
    """
    if not isinstance(question, str):
        raise InvalidArgumentType(f"the question must be text, got {type(question).__name__}")
    if not question.strip():
        raise InvalidArgument("the question is empty; give the question to ask")
    if isinstance(options, str | bytes) or not isinstance(options, Sequence):
        raise InvalidArgumentType(f"options must be a list of strings, e.g. ['Yes', 'No'], got {options!r:.80}")
    if len(options) < 2:
        raise InvalidArgument(f"a distribution needs at least two options, got {len(options)}: {list(options)!r:.80}")
    if len(options) > len(LABELS):
        raise InvalidArgument(f"{len(options)} options, but only {len(LABELS)} labels (A to Z) are available; "
                              "merge options or ask in several questions")
    first: dict[str, int] = {}
    for i, option in enumerate(options):
        if not isinstance(option, str):
            raise InvalidArgumentType(f"option {i} must be a string, got {type(option).__name__}: {option!r:.80}")
        key = " ".join(option.split()).casefold()
        if not key:
            raise InvalidArgument(f"option {i} is empty; every option needs text")
        if key in first:
            raise InvalidArgument(f"option {i} ({option!r:.60}) repeats option {first[key]}; each option must "
                                  "differ (ignoring case and spaces)")
        first[key] = i
    return list(LABELS[: len(options)])


def distribution_messages(question: str, options: Sequence[str], *, persona: str | None = None,
                          population: str | None = None, recent: str = "") -> list[Message]:
    """The messages asking ``question``: as the person described by ``persona`` (with ``recent``
    events), or with no persona as a typical member of ``population`` (the baseline).

    Stable first (instructions and persona), volatile last (events, question), as in an agent's turn.
    """
    labels = LABELS[: len(options)]
    system = template("distribution_system.j2").render(persona=persona, population=population)
    user = template("distribution_user.j2").render(
        recent=recent, question=question.strip(),
        options=[(label, " ".join(option.split())) for label, option in zip(labels, options, strict=True)])
    return [Message(role="system", content=system.strip()), Message(role="user", content=user.strip())]


@lru_cache(maxsize=32)
def _choice_model(labels: tuple[str, ...]) -> type[BaseModel]:
    # One class per label set: the client caches a class's schema, and the enum keeps answers to the letters.
    answer_type: Any = Literal[labels]
    return create_model("OptionChoice", answer=(answer_type, Field(description="the letter of the chosen option")))


def _sample_seed(base: int, index: int) -> int:
    # A seed per sample makes each a distinct request (a cache would otherwise answer all K with one).
    return int.from_bytes(hashlib.sha256(f"{base}:{index}".encode()).digest()[:4], "big") >> 1


async def aask_options(client: LLMClient, question: str, options: Sequence[str], *,
                       messages: Sequence[Message] | None = None, method: Method = "auto",
                       samples: int | None = None, min_mass: float = DEFAULT_MIN_MASS, temperature: float = 1.0,
                       seed: int | None = None, agent: str | None = None, world: str | None = None,
                       step: int | None = None) -> DistributionAnswer:
    """Ask ``question`` through ``client`` and return the options' probabilities (async).

    ``messages`` default to :func:`distribution_messages` with no persona. ``method``: ``"auto"``
    reads log-probabilities where the backend gives them and samples otherwise; ``"logprobs"``
    only reads them (and raises when they are unusable); ``"sampled"`` only samples.
    ``min_mass``: the least share of probability on the labels for a server's top alternatives to
    be used (exactly scored labels need only some). ``samples`` answers are drawn when sampling
    (default :data:`DEFAULT_SAMPLES`), at ``temperature``, with seeds derived from ``seed`` (the run's).

    Raises:
        InvalidArgument, InvalidArgumentType: bad question, options or settings (before any call).
        LLMOutputError: ``method="logprobs"`` and the backend gave no usable log-probabilities, or a
            sampled answer stayed invalid after the client's re-asks.
        LLMTransportError: the model server could not be reached.
    """
    labels = check_options(question, options)
    count = check_settings(method, samples, min_mass, temperature)
    if method == "logprobs" and client.gives_logprobs is False:
        raise InvalidArgument(f"method='logprobs', but the {client.describe()['backend']} backend gives no "
                              "log-probabilities; use method='auto' or 'sampled'")
    msgs = list(messages) if messages is not None else distribution_messages(question, options)
    call: dict[str, Any] = {"purpose": "distribution", "agent": agent, "world": world, "step": step}
    base = {"question": question, "options": list(options), "labels": labels, "agent": agent}
    reason: str | None = None
    calls = 0
    if method != "sampled" and client.gives_logprobs is not False:
        result = await client.acomplete(msgs, logprob_labels=tuple(labels), max_tokens=LABEL_ANSWER_TOKENS, **call)
        calls = 1
        scores = label_scores(result.logprobs, labels)
        if scores is not None and (scores.exact or scores.mass >= min_mass):
            return DistributionAnswer(**base, method="logprobs", mass_on_options=scores.mass, calls=1,
                                      probabilities=dict(zip(options, scores.probabilities.values(), strict=True)),
                                      raw=result.logprobs.alternatives if result.logprobs else [])
        reason = (f"the model {result.model!r} gave no log-probabilities" if result.logprobs is None else
                  f"only {0.0 if scores is None else scores.mass:.1%} of the first token's probability fell on "
                  f"the option letters (min_mass {min_mass:.1%}); the model answered {result.text[:80]!r}")
        if method == "logprobs":
            raise LLMOutputError(f"no usable option probabilities: {reason}", raw_text=result.text).with_call(
                agent=agent, world=world, purpose="distribution")
    elif method != "sampled":
        reason = f"the {client.describe()['backend']} backend gives no log-probabilities"
    model = _choice_model(tuple(labels))
    answers = await asyncio.gather(*(
        client.acomplete(msgs, response_model=model, temperature=temperature, seed=_sample_seed(seed or 0, i),
                         **call) for i in range(count)))
    chosen = [str(a.value.answer) for a in answers]
    tally = np.bincount([labels.index(c) for c in chosen], minlength=len(labels))
    return DistributionAnswer(**base, method="sampled", samples=count, fallback_reason=reason, calls=calls + count,
                              probabilities={o: float(n) / count for o, n in zip(options, tally, strict=True)},
                              counts={o: int(n) for o, n in zip(options, tally, strict=True)}, raw=chosen)


def check_settings(method: object, samples: object, min_mass: object, temperature: object) -> int:
    """The number of samples to draw, after checking the settings of :func:`aask_options`.

    Raises:
        InvalidArgument: an unknown method, samples not from 1 to :data:`MAX_SAMPLES`, ``min_mass``
            outside [0, 1], ``temperature`` outside [0, 2].

    Example:
        >>> check_settings("auto", None, 0.05, 1.0)
        10
    """
    if method not in ("auto", "logprobs", "sampled"):
        raise InvalidArgument(f"method must be 'auto', 'logprobs' or 'sampled', got {method!r}")
    count = DEFAULT_SAMPLES if samples is None else samples
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= MAX_SAMPLES:
        raise InvalidArgument(f"samples must be a whole number from 1 to {MAX_SAMPLES}, got {samples!r}")
    if isinstance(min_mass, bool) or not isinstance(min_mass, int | float) or not 0.0 <= min_mass <= 1.0:
        raise InvalidArgument(f"min_mass must be a share from 0 to 1, got {min_mass!r}")
    if isinstance(temperature, bool) or not isinstance(temperature, int | float) or not 0.0 <= temperature <= 2.0:
        raise InvalidArgument(f"temperature must be between 0 and 2, got {temperature!r}")
    return count


def ask_options(client: LLMClient, question: str, options: Sequence[str], **kwargs: Any) -> DistributionAnswer:
    """Sync twin of :func:`aask_options` (same arguments, same errors)."""
    return run_sync(aask_options(client, question, options, **kwargs))


__all__ = ["DEFAULT_MIN_MASS", "DEFAULT_SAMPLES", "LABELS", "MAX_SAMPLES", "DistributionAnswer", "Method",
           "aask_options", "ask_options", "check_options", "check_settings", "distribution_messages"]
