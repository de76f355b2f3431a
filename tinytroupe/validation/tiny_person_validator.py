"""``TinyPersonValidator``: does a simulated person behave as expected? A language model interviews it,
then scores it from 0.0 to 1.0 with a justification (TinyTroupe's ``validate_person``).

The interview: the validator model gets the expectations (and, with ``include_agent_spec``, the
person's persona) and asks a few questions at a time, first about who the person is, then situations
that show how the person acts. Each batch of questions reaches the person as speech from
``Validator``, and the person answers with a normal turn (its own client, memory and components); what
it says aloud goes back to the validator. After at most ``max_rounds`` rounds, or earlier when the
validator says it has enough, one more call asks for the score and the justification. So a validation
costs at most ``2 * max_rounds + 1`` LLM calls (validator and person), and the interview stays in the
person's memory, as in TinyTroupe.

Differences from TinyTroupe, on purpose: where TinyTroupe returns None (an answer it could not parse),
this raises :class:`~tinytroupe.errors.LLMOutputError` with the raw text after the client's re-asks;
and the score is always asked for, in its own call, even when the rounds run out.

Example:
    >>> from tinytroupe.agent import TinyPerson
    >>> from tinytroupe.llm import LLMClient, ScriptedBackend
    >>> validator = LLMClient(ScriptedBackend([
    ...     {"next_phase_description": "who she is", "questions": ["What do you do?"], "is_complete": False},
    ...     {"next_phase_description": "done", "questions": [], "is_complete": True},
    ...     {"justification": "She is a nurse, as expected.", "score": 0.9}]))
    >>> reply = {"actions": [{"type": "TALK", "content": "I am a nurse."}, {"type": "DONE"}]}
    >>> ana = TinyPerson("Ana", client=LLMClient(ScriptedBackend([reply])))
    >>> TinyPersonValidator.validate_person(ana, "A nurse.", client=validator)
    (0.9, 'She is a nurse, as expected.')
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from tinytroupe.agent.person import TinyPerson
from tinytroupe.aio import run_sync
from tinytroupe.errors import InvalidArgument, InvalidArgumentType
from tinytroupe.llm.client import LLMClient
from tinytroupe.llm.types import Message
from tinytroupe.prompt_folder import PromptFolder

#: TinyTroupe's bound on the interview's rounds
MAX_ROUNDS = 10
#: the most questions the validator may ask in one round
MAX_QUESTIONS = 5
#: who the questions come from, in the person's memory
VALIDATOR_NAME = "Validator"

Question = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=600)]


class InterviewStep(BaseModel):
    """One round of the validator's interview: what it checks now and the questions it asks."""

    next_phase_description: str = Field(max_length=1000, description="what is checked now and what comes next")
    questions: list[Question] = Field(max_length=MAX_QUESTIONS, description="questions to ask now; none when done")
    is_complete: bool = Field(description="true when there is enough evidence to score")


class ValidationVerdict(BaseModel):
    """The validator's conclusion."""

    justification: str = Field(min_length=1, max_length=4000,
                               description="which answers met or missed which expectations, concretely")
    score: float = Field(ge=0.0, le=1.0, description="0.0 (not at all as expected) to 1.0 (fully as expected)")


_FOLDER = PromptFolder("tinytroupe.validation")


class TinyPersonValidator:
    """Interview-based validation of a :class:`~tinytroupe.agent.TinyPerson` (see the module docstring)."""

    @staticmethod
    def validate_person(person: TinyPerson, expectations: str | None = None, include_agent_spec: bool = True,
                        max_content_length: int | None = None, *, client: LLMClient | None = None,
                        max_rounds: int = MAX_ROUNDS) -> tuple[float, str]:
        """Interview ``person`` and score it against ``expectations``: ``(score from 0.0 to 1.0,
        justification)``.

        Args:
            person: the simulated person to validate.
            expectations: what the person should be like and do, in words (None: its persona alone).
            include_agent_spec: show the validator the person's persona specification.
            max_content_length: how much of each answer the live display shows (None: ``[Cognition]
                MAX_CONTENT_DISPLAY_LENGTH``); answers reach the validator whole.
            client: the validator's LLM client (ours, keyword-only; default: the person's).
            max_rounds: the most rounds of questions (ours, keyword-only; TinyTroupe's 10).

        Raises:
            InvalidArgumentType: ``person`` is not a TinyPerson.
            InvalidArgument: ``max_rounds`` is below 1.
            LLMOutputError: the validator's (or the person's) answer stayed malformed after the re-asks;
                no score is made up.
            LLMTransportError: a model server could not be reached.
        """
        return run_sync(TinyPersonValidator.avalidate_person(person, expectations, include_agent_spec,
                                                             max_content_length, client=client,
                                                             max_rounds=max_rounds))

    @staticmethod
    async def avalidate_person(person: TinyPerson, expectations: str | None = None, include_agent_spec: bool = True,
                               max_content_length: int | None = None, *, client: LLMClient | None = None,
                               max_rounds: int = MAX_ROUNDS) -> tuple[float, str]:
        """Async twin of :meth:`validate_person` (same arguments, same errors).

        Raises:
            InvalidArgumentType: ``person`` is not a TinyPerson.
            InvalidArgument: ``max_rounds`` is below 1.
        """
        if not isinstance(person, TinyPerson):
            raise InvalidArgumentType(f"validate_person needs a TinyPerson, got {type(person).__name__}")
        if isinstance(max_rounds, bool) or not isinstance(max_rounds, int) or max_rounds < 1:
            raise InvalidArgument(f"max_rounds must be a whole number of at least 1, got {max_rounds!r}")
        judge = client if client is not None else person.client
        system = _FOLDER.render(
            "check_person_system.j2", expectations=(expectations or "").strip(), max_rounds=max_rounds,
            max_questions=MAX_QUESTIONS, spec=person.persona.render() if include_agent_spec else "")
        messages = [Message(role="system", content=system),
                    Message(role="user", content=f"Begin the interview of {person.name}.")]
        world = person.environment.name if person.environment is not None else None
        for round_number in range(1, max_rounds + 1):
            step: InterviewStep = (await judge.acomplete(messages, response_model=InterviewStep, purpose="validation",
                                                         agent=person.name, world=world)).value
            messages.append(Message(role="assistant", content=step.model_dump_json()))
            if step.is_complete or not step.questions:
                break
            answers = await _ask(person, step.questions, max_content_length)
            messages.append(Message(role="user", content=_FOLDER.render(
                "check_person_answers.j2", name=person.name, answers=answers, last=round_number == max_rounds)))
        messages.append(Message(role="user", content=_FOLDER.render(
            "check_person_verdict.j2", name=person.name)))
        verdict: ValidationVerdict = (await judge.acomplete(messages, response_model=ValidationVerdict,
                                                            purpose="validation", agent=person.name,
                                                            world=world)).value
        return verdict.score, verdict.justification


async def _ask(person: TinyPerson, questions: list[str], max_content_length: int | None) -> list[str]:
    """Put ``questions`` to ``person`` and return what it said aloud in its turn."""
    text = "\n".join(f"{i}. {q}" for i, q in enumerate(questions, 1)) if len(questions) > 1 else questions[0]
    person.listen(text, VALIDATOR_NAME, max_content_length)
    actions = await person.aact(return_actions=True, max_content_length=max_content_length) or []
    return [a.content for a in actions if a.type == "TALK" and a.content.strip()]


__all__ = ["MAX_QUESTIONS", "MAX_ROUNDS", "VALIDATOR_NAME", "InterviewStep", "TinyPersonValidator",
           "ValidationVerdict"]
