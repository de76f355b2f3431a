"""Writing people: one structured LLM call per person, all in flight together, names kept unique.

Each person's prompt holds the characteristics drawn for them (facts the persona must agree with),
the factory's context, the caller's particularities, the person's number in the population (so two
people drawn alike are still two requests, never one cached answer) and names not to use. The
answer is a complete :class:`~tinytroupe.factory.persona_schema.GeneratedPersona`; a malformed or
incomplete one is re-asked by the client, then raised as :class:`~tinytroupe.errors.LLMOutputError`
with the raw text.

Uniqueness is settled answer by answer in a fixed order, the order the people were asked for and
then the re-asks in the order they were made, never the order answers arrive (so a replay from the
run file sends the same requests): a person whose name is already taken (by an existing agent or
a person settled before) or whose persona repeats another word for word is asked again at once, with
the reason, while the other calls are still in flight, up to ``attempts`` answers; then that person
fails with an ``LLMOutputError``. Each answer also gives alternative names, so a taken name costs no
call while one of them is free. One person's failure never discards the others.

Example:
    >>> from tinytroupe.factory.persona_schema import example_persona
    >>> from tinytroupe.llm import LLMClient, ScriptedBackend
    >>> answers = [example_persona("Ana Lima", 41),
    ...            example_persona("Ana Lima", 35, alternative_names=["Rui Costa", "Rui Lopes"])]
    >>> backend = ScriptedBackend(answers)
    >>> writer = PersonaWriter(LLMClient(backend), fields={"sex": "gender"})
    >>> people = writer.write([Slot(1, {"sex": "female"}), Slot(2, {"sex": "male"})], NameBook())
    >>> [(p.name, p.gender) for p in people], len(backend.requests)
    ([('Ana Lima', 'female'), ('Rui Costa', 'male')], 2)
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from tinytroupe.agent.persona import Persona
from tinytroupe.aio import run_sync
from tinytroupe.errors import InvalidArgument, LLMOutputError, TinyTroupeError
from tinytroupe.factory.characteristics import apply_characteristics
from tinytroupe.factory.names import NameBook
from tinytroupe.factory.persona_schema import PERSONA_DETAILS, GeneratedBriefPersona, GeneratedPersona
from tinytroupe.factory.prompts import template
from tinytroupe.llm.client import LLMClient
from tinytroupe.llm.types import Message

#: how many names already in use a prompt lists (the newest ones); clashes beyond them are caught anyway
TAKEN_NAMES_IN_PROMPT = 40
#: how much of an earlier answer a re-ask quotes back
_ANSWER_ECHO_CHARS = 6000

Settle = Callable[["Slot", Persona], Any]
Answer = GeneratedPersona | GeneratedBriefPersona


@dataclass(frozen=True)
class Slot:
    """One person to write: their number in the population (1-based), the characteristics drawn for
    them, and free-text particularities from the caller."""

    number: int
    characteristics: Mapping[str, Any] = field(default_factory=dict)
    particularities: str | None = None
    #: a name drawn by code (brief personas), given as a fact and kept whatever the answer says
    name: str | None = None


def _body_key(answer: Answer) -> str:
    body = orjson.dumps(answer.model_dump(exclude={"name", "alternative_names"}), option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(body).hexdigest()


class PersonaWriter:
    """Writes personas for :class:`Slot` s (see the module docstring).

    Args:
        client: the LLM client (the run's, so a run file records and replays the calls).
        context: the factory's general context text.
        fields: each dimension's persona path (see :meth:`SamplingPlan.fields`).
        attempts: answers per person before a clash of names (or a duplicate) is an error (at least 1).
        bodies: the personas written before (see :attr:`bodies`), shared by the writers of one factory.
        detail: ``"full"`` (every field of a TinyTroupe persona) or ``"brief"`` (a dozen fields, for
            small local models; :class:`~tinytroupe.factory.persona_schema.GeneratedBriefPersona`).
        params: request parameters of every call (``temperature`` ...).
    """

    def __init__(self, client: LLMClient, *, context: str | None = None, fields: Mapping[str, str] | None = None,
                 attempts: int = 10, bodies: set[str] | None = None, detail: str = "full", **params: Any) -> None:
        if attempts < 1:
            raise InvalidArgument(f"attempts must be at least 1, got {attempts}")
        if detail not in PERSONA_DETAILS:
            raise InvalidArgument(f"persona_detail must be one of {', '.join(PERSONA_DETAILS)}, got {detail!r}")
        self.response_model = PERSONA_DETAILS[detail]
        self.client = client
        self.context = context
        self.fields = dict(fields or {})
        self.attempts = attempts
        self.params = params
        #: the personas written so far, without their names (a new one equal to one of them is a duplicate)
        self.bodies: set[str] = bodies if bodies is not None else set()
        self._system = template("person_system.j2").render(brief=detail == "brief")

    def messages(self, slot: Slot, book: NameBook) -> list[Message]:
        """The first prompt for ``slot``: stable instructions, then this person."""
        user = template("person_user.j2").render(
            context=self.context or "", number=slot.number,
            characteristics=([("name", slot.name)] if slot.name else []) + list(slot.characteristics.items()),
            particularities=slot.particularities or "", taken_names=book.recent(TAKEN_NAMES_IN_PROMPT))
        return [Message(role="system", content=self._system), Message(role="user", content=user)]

    async def _ask(self, messages: list[Message]) -> tuple[Answer, str]:
        result = await self.client.acomplete(messages, response_model=self.response_model, purpose="person_generation",
                                             **self.params)
        return result.value, result.text

    def _persona(self, answer: Answer, slot: Slot) -> Persona:
        data = apply_characteristics(answer.persona_data(), slot.characteristics,
                                     self.fields)
        return Persona.from_dict(data)

    async def awrite(self, slots: Sequence[Slot], book: NameBook, settle: Settle | None = None) -> list[Any]:
        """Async twin of :meth:`write`."""
        results: list[Any] = [None] * len(slots)
        # Answers are settled in a fixed order: every slot's first answer, then each re-ask in the order it
        # was made. All calls are in flight at once; settling waits only for the next answer in that order.
        asked: list[tuple[int, list[Message], int]] = []  # (slot, messages, which answer of the slot)
        calls: list[asyncio.Future[tuple[Answer, str]]] = []

        def ask(i: int, messages: list[Message], attempt: int) -> None:
            asked.append((i, messages, attempt))
            calls.append(asyncio.ensure_future(self._ask(messages)))

        for i, slot in enumerate(slots):
            ask(i, self.messages(slot, book), 1)
        try:
            k = 0
            while k < len(asked):
                i, messages, attempt = asked[k]
                k += 1
                try:
                    value, text = await calls[k - 1]
                except Exception as exc:  # this person's failure; the others go on
                    results[i] = exc
                    continue
                reason, value, key = self._clash(value, book, slots[i].name)
                if reason is None:
                    book.add(value.name)
                    self.bodies.add(key)
                    results[i] = self._settle(value, slots[i], settle)
                elif attempt < self.attempts:
                    again = template("person_again.j2").render(reason=reason, name=value.name,
                                                               taken_names=book.recent(TAKEN_NAMES_IN_PROMPT))
                    ask(i, [*messages, Message(role="assistant", content=text[:_ANSWER_ECHO_CHARS]),
                            Message(role="user", content=again.strip())], attempt + 1)
                else:
                    why = (f"the name {value.name!r} is already taken" if reason == "name"
                           else "the persona repeats another one word for word")
                    results[i] = LLMOutputError(f"person {slots[i].number}: {why} after {self.attempts} answers; "
                                                "raise attempts, or give the factory a richer sampling plan",
                                                raw_text=text, errors=[why], attempts=attempt)
        finally:
            unsettled = [c for c in calls if not c.done()]
            for call in unsettled:  # only when interrupted: nothing is left running behind the caller
                call.cancel()
            await asyncio.gather(*unsettled, return_exceptions=True)
        return [r for r in results if r is not None]

    def _clash(self, value: Answer, book: NameBook, drawn: str | None = None) -> tuple[str | None, Answer, str]:
        """Why ``value`` cannot be accepted (``"name"``: its name and alternatives are all taken;
        ``"duplicate"``: a persona already written, word for word; None: it can), and the answer to
        accept: under its first alternative name that is free when its own is taken (under ``drawn``,
        a name reserved for this person, when given); and its body's key."""
        key = _body_key(value)
        if drawn is not None:
            value = value.model_copy(update={"name": drawn})
        elif book.is_taken(value.name):
            free = next((n for n in value.alternative_names if not book.is_taken(n)), None)
            if free is None:
                return "name", value, key
            value = value.model_copy(update={"name": free})
        return ("duplicate" if key in self.bodies else None), value, key

    def _settle(self, value: Answer, slot: Slot, settle: Settle | None) -> Any:
        try:
            persona = self._persona(value, slot)
        except TinyTroupeError as exc:  # a persona the drawn values make invalid is this person's failure only
            return exc
        if settle is None:
            return persona
        try:
            return settle(slot, persona)
        except Exception as exc:  # the caller's code failed for this person: reported with the others
            return exc

    def write(self, slots: Sequence[Slot], book: NameBook, settle: Settle | None = None) -> list[Any]:
        """One persona (or the error that stopped it) per slot, in the slots' order; names taken are
        added to ``book``.

        ``settle(slot, persona)``, when given, runs as each persona is settled (while other calls are
        still in flight), and what it returns stands in the result for that persona; an exception it
        raises is that person's failure.
        """
        return run_sync(self.awrite(slots, book, settle))


__all__ = ["TAKEN_NAMES_IN_PROMPT", "PersonaWriter", "Slot"]
