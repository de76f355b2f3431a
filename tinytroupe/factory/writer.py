"""Writing people: one structured LLM call per person, all in flight together, names kept unique.

Each person's prompt holds the characteristics drawn for them (facts the persona must agree with),
the factory's context, the caller's particularities, the person's number in the population (so two
people drawn alike are still two requests, never one cached answer) and names not to use. The
answer is a complete :class:`~tinytroupe.factory.persona_schema.GeneratedPersona`; a malformed or
incomplete one is re-asked by the client, then raised as :class:`~tinytroupe.errors.LLMOutputError`
with the raw text.

Uniqueness is settled after each round of answers, in the order the people were asked for (never in
the order answers arrive, so a replay from the run file sends the same requests): a person whose
name is already taken (by an existing agent, an earlier person, or an earlier one of the same round)
or whose persona repeats another word for word is asked again, with the reason, in the next round,
up to ``attempts`` answers; then that person fails with an ``LLMOutputError``. One person's failure
never discards the others.

Example:
    >>> from tinytroupe.factory.persona_schema import example_persona
    >>> from tinytroupe.llm import LLMClient, ScriptedBackend
    >>> answers = [example_persona("Ana Lima", 41), example_persona("Ana Lima", 35), example_persona("Rui Costa", 35)]
    >>> backend = ScriptedBackend(answers)
    >>> writer = PersonaWriter(LLMClient(backend), fields={"sex": "gender"})
    >>> people = writer.write([Slot(1, {"sex": "female"}), Slot(2, {"sex": "male"})], NameBook())
    >>> [(p.name, p.gender) for p in people], len(backend.requests)
    ([('Ana Lima', 'female'), ('Rui Costa', 'male')], 3)
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tinytroupe.agent.persona import Persona
from tinytroupe.aio import run_sync
from tinytroupe.errors import InvalidArgument, LLMOutputError, TinyTroupeError
from tinytroupe.factory.characteristics import apply_characteristics
from tinytroupe.factory.names import NameBook
from tinytroupe.factory.persona_schema import GeneratedPersona
from tinytroupe.factory.prompts import template
from tinytroupe.llm.client import LLMClient
from tinytroupe.llm.types import Message

#: how many names already in use a prompt lists (the newest ones); clashes beyond them are caught anyway
TAKEN_NAMES_IN_PROMPT = 40
#: how much of an earlier answer a re-ask quotes back
_ANSWER_ECHO_CHARS = 6000


@dataclass(frozen=True)
class Slot:
    """One person to write: their number in the population (1-based), the characteristics drawn for
    them, and free-text particularities from the caller."""

    number: int
    characteristics: Mapping[str, Any] = field(default_factory=dict)
    particularities: str | None = None


def _body_key(answer: GeneratedPersona) -> str:
    body = json.dumps(answer.model_dump(exclude={"name"}), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(body.encode()).hexdigest()


class PersonaWriter:
    """Writes personas for :class:`Slot` s (see the module docstring).

    Args:
        client: the LLM client (the run's, so a run file records and replays the calls).
        context: the factory's general context text.
        fields: each dimension's persona path (see :meth:`SamplingPlan.fields`).
        attempts: answers per person before a clash of names (or a duplicate) is an error (at least 1).
        bodies: the personas written before (see :attr:`bodies`), shared by the writers of one factory.
        params: request parameters of every call (``temperature`` ...).
    """

    def __init__(self, client: LLMClient, *, context: str | None = None, fields: Mapping[str, str] | None = None,
                 attempts: int = 10, bodies: set[str] | None = None, **params: Any) -> None:
        if attempts < 1:
            raise InvalidArgument(f"attempts must be at least 1, got {attempts}")
        self.client = client
        self.context = context
        self.fields = dict(fields or {})
        self.attempts = attempts
        self.params = params
        #: the personas written so far, without their names (a new one equal to one of them is a duplicate)
        self.bodies: set[str] = bodies if bodies is not None else set()

    def messages(self, slot: Slot, book: NameBook) -> list[Message]:
        """The first prompt for ``slot``: stable instructions, then this person."""
        user = template("person_user.j2").render(
            context=self.context or "", number=slot.number, characteristics=list(slot.characteristics.items()),
            particularities=slot.particularities or "", taken_names=book.recent(TAKEN_NAMES_IN_PROMPT))
        return [Message(role="system", content=template("person_system.j2").render()),
                Message(role="user", content=user)]

    async def _ask(self, messages: list[Message]) -> tuple[GeneratedPersona, str]:
        result = await self.client.acomplete(messages, response_model=GeneratedPersona, purpose="person_generation",
                                             **self.params)
        return result.value, result.text

    def _persona(self, answer: GeneratedPersona, slot: Slot) -> Persona:
        data = apply_characteristics(answer.model_dump(), slot.characteristics, self.fields)
        return Persona.from_dict(data)

    async def awrite(self, slots: Sequence[Slot], book: NameBook) -> list[Persona | Exception]:
        """Async twin of :meth:`write`."""
        histories = [self.messages(slot, book) for slot in slots]
        results: list[Persona | Exception | None] = [None] * len(slots)
        pending = list(range(len(slots)))
        for round_ in range(1, self.attempts + 1):
            answers = await asyncio.gather(*(self._ask(histories[i]) for i in pending), return_exceptions=True)
            for answer in answers:
                if isinstance(answer, BaseException) and not isinstance(answer, Exception):
                    raise answer  # cancellation and interrupts are not one person's failure
            retry: list[int] = []
            for i, answer in zip(pending, answers, strict=True):  # in slot order, whatever came back first
                if isinstance(answer, Exception):
                    results[i] = answer
                    continue
                assert not isinstance(answer, BaseException)
                value, text = answer
                key = _body_key(value)
                reason = "name" if book.is_taken(value.name) else "duplicate" if key in self.bodies else None
                if reason is None:
                    book.add(value.name)
                    self.bodies.add(key)
                    results[i] = self._settle(value, slots[i])
                elif round_ < self.attempts:
                    again = template("person_again.j2").render(reason=reason, name=value.name,
                                                               taken_names=book.recent(TAKEN_NAMES_IN_PROMPT))
                    histories[i] = [*histories[i], Message(role="assistant", content=text[:_ANSWER_ECHO_CHARS]),
                                    Message(role="user", content=again.strip())]
                    retry.append(i)
                else:
                    why = (f"the name {value.name!r} is already taken" if reason == "name"
                           else "the persona repeats another one word for word")
                    results[i] = LLMOutputError(f"person {slots[i].number}: {why} after {self.attempts} answers; "
                                                "raise attempts, or give the factory a richer sampling plan",
                                                raw_text=text, errors=[why], attempts=round_)
            pending = retry
            if not pending:
                break
        assert all(r is not None for r in results)
        return [r for r in results if r is not None]

    def _settle(self, value: GeneratedPersona, slot: Slot) -> Persona | Exception:
        try:
            return self._persona(value, slot)
        except TinyTroupeError as exc:  # a persona the drawn values make invalid is this person's failure only
            return exc

    def write(self, slots: Sequence[Slot], book: NameBook) -> list[Persona | Exception]:
        """One persona (or the error that stopped it) per slot, in the slots' order; names taken are
        added to ``book``."""
        return run_sync(self.awrite(slots, book))


__all__ = ["TAKEN_NAMES_IN_PROMPT", "PersonaWriter", "Slot"]
