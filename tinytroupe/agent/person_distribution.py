"""Asking a :class:`~tinytroupe.agent.person.TinyPerson` for a distribution over a question's options.

The logic lives in :mod:`tinytroupe.agent.distribution`; this part builds the agent's prompt (its
persona, within its prompt budget, and its recent events) and asks through the agent's client, so
the calls are cached, recorded for replay and counted like its turns. Asking changes nothing in
the agent: nothing is remembered, no action is taken.
"""

from __future__ import annotations

from collections.abc import Sequence

from tinytroupe.agent.cognition import fit_lines, fit_text
from tinytroupe.agent.distribution import DEFAULT_MIN_MASS, DistributionAnswer, Method, aask_options, check_options
from tinytroupe.agent.distribution import distribution_messages as _messages
from tinytroupe.agent.person_core import PersonCore
from tinytroupe.aio import run_sync
from tinytroupe.llm.types import Message


class DistributionMethods(PersonCore):
    """The distributional-answer part of :class:`~tinytroupe.agent.person.TinyPerson`."""

    def distribution_messages(self, question: str, options: Sequence[str]) -> list[Message]:
        """The messages :meth:`ask_distribution` sends: persona, recent events, question, lettered options.

        Raises:
            InvalidArgument, InvalidArgumentType: as :meth:`ask_distribution`.
        """
        check_options(question, options)
        budget = self.prompt_budget
        with self._lock:
            recent = [item.describe(self.name, budget.max_item_chars)
                      for item in self.memory.recent(self.recent_window) if item.type != "DONE"]
        return _messages(question, options, persona=fit_text(self.persona.render(), budget.persona),
                         recent=fit_lines(recent, budget.recent) if recent else "")

    async def aask_distribution(self, question: str, options: Sequence[str], *, samples: int | None = None,
                                method: Method = "auto", min_mass: float = DEFAULT_MIN_MASS,
                                temperature: float = 1.0) -> DistributionAnswer:
        """Async twin of :meth:`ask_distribution` (same arguments, same errors)."""
        messages = self.distribution_messages(question, options)
        env = self.environment
        return await aask_options(self.caller_client, question, options, messages=messages, method=method,
                                  samples=samples, min_mass=min_mass, temperature=temperature,
                                  seed=self.context.seed, agent=self.name,
                                  world=env.name if env is not None else None, step=self._step())

    def ask_distribution(self, question: str, options: Sequence[str], *, samples: int | None = None,
                         method: Method = "auto", min_mass: float = DEFAULT_MIN_MASS,
                         temperature: float = 1.0) -> DistributionAnswer:
        """The probability this person gives each option of ``question`` (see :mod:`tinytroupe.agent.distribution`).

        With a backend that gives log-probabilities this is one LLM call; otherwise ``samples``
        answers (default 10) are drawn at ``temperature`` and counted, and the answer's ``method``
        and ``fallback_reason`` say so. ``min_mass`` is the least share of the first token's
        probability that must fall on the option letters for a server's top log-probabilities to be
        used (the embedded model scores each letter exactly: any share will do; see
        :data:`~tinytroupe.agent.distribution.DEFAULT_MIN_MASS`).
        ``method="logprobs"`` or ``"sampled"`` forces one way.

        Raises:
            InvalidArgument: empty question, fewer than two options, an empty or repeated option, more
                than 26 options, or bad ``samples``/``min_mass``/``temperature`` (before any call).
            InvalidArgumentType: ``options`` is a single string or holds something other than strings.
            LLMOutputError: ``method="logprobs"`` and no usable log-probabilities came back, or a
                sampled answer stayed invalid after the re-asks.
            LLMTransportError: the model server could not be reached.
            InvalidState: called from a coroutine on tinytroupe's event loop (await :meth:`aask_distribution`).

        Example:
            >>> from tinytroupe.agent import TinyPerson
            >>> from tinytroupe.llm import LLMClient, ScriptedBackend
            >>> ana = TinyPerson("Ana", client=LLMClient(ScriptedBackend([{"answer": "B"}], cycle=True)))
            >>> answer = ana.ask_distribution("Do you own a car?", ["Yes", "No"], samples=4)
            >>> answer.method, answer.probabilities, answer.fallback_reason
            ('sampled', {'Yes': 0.0, 'No': 1.0}, 'the scripted backend gives no log-probabilities')
        """
        return run_sync(self.aask_distribution(question, options, samples=samples, method=method,
                                               min_mass=min_mass, temperature=temperature))


__all__ = ["DistributionMethods"]
