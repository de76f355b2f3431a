"""The exact prompt and answer of each LLM call while a debugger is attached, grouped into agent turns.

:class:`CallRecorder` is a backend wrapper (the outermost of a client's chain while the debugger is
attached): each call's messages as sent, the answer's text as it came back (or the error) and who
asked (:class:`~tinytroupe.llm.types.CallContext`) go to a sink. :class:`TurnLog` keeps them, bounded:
an agent's ``action`` calls of one turn (its first ask and any re-asks) form one :class:`TurnRecord`.
What is kept per call are references to what the call made anyway, so recording costs next to nothing.

Example:
    >>> from tinytroupe.llm import LLMClient, ScriptedBackend
    >>> log = TurnLog()
    >>> client = LLMClient(ScriptedBackend(["fine"]))
    >>> restore = install(client, log.add)
    >>> _ = client.complete([{"role": "user", "content": "How are you?"}], purpose="chat", agent="Ana")
    >>> restore()
    >>> [(c.agent, c.messages[0]["content"], c.answer) for c in log.calls]
    [('Ana', 'How are you?', 'fine')]
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, Field

from tinytroupe.errors import NotFound
from tinytroupe.llm.backend import Backend, BackendWrapper
from tinytroupe.llm.client import LLMClient
from tinytroupe.llm.types import CallContext, Completion, LLMRequest, Message

#: calls kept (all purposes, all agents): the oldest go first
MAX_CALLS = 5000


class CallRecord(BaseModel):
    """One LLM call: who asked and why, the messages as sent, and the answer (or the error)."""

    purpose: str
    agent: str | None = None
    world: str | None = None
    step: int | None = None
    #: the asking agent's turn (its ``turns`` count + 1 while the turn runs), for ``action`` calls
    turn: int | None = None
    messages: list[dict[str, Any]]
    answer: str | None = None
    error: str | None = None
    cached: bool = False
    latency_s: float = 0.0


class TurnRecord(BaseModel):
    """One agent turn's calls: the first ask, then any re-asks (after an invalid answer)."""

    agent: str
    world: str | None = None
    step: int | None = None
    turn: int | None = None
    attempts: list[CallRecord] = Field(default_factory=list)

    @property
    def prompt(self) -> list[dict[str, Any]]:
        """The messages the turn first sent."""
        return self.attempts[0].messages

    @property
    def answer(self) -> str | None:
        """The text of the last answer (the one the turn used, unless it failed)."""
        return self.attempts[-1].answer


#: what a recorder hands its sink per call, as it is (turned into a :class:`CallRecord` only when asked):
#: the call's context, the messages sent, the agent's turn, the answer's text, the error, cached, seconds
RawCall = tuple[CallContext, tuple[Message, ...], int | None, str | None, str | None, bool, float]


class CallRecorder(BackendWrapper):
    """Hands every call's context, messages, answer (or error) to ``sink`` as a :data:`RawCall`
    (``turn_of(agent)`` numbers the asking agent's turn)."""

    def __init__(self, inner: Backend, sink: Callable[[RawCall], None],
                 turn_of: Callable[[str], int | None] | None = None) -> None:
        super().__init__(inner)
        self.sink = sink
        self.turn_of = turn_of

    async def generate(self, request: LLMRequest, context: CallContext) -> Completion:
        # Only references are kept here (no copies, no models): this runs for every call of the run.
        turn = self.turn_of(context.agent) if self.turn_of is not None and context.agent else None
        start = time.perf_counter()
        try:
            completion = await self.inner.generate(request, context)
        except Exception as exc:
            self.sink((context, request.messages, turn, None, f"{type(exc).__name__}: {exc}", False,
                       time.perf_counter() - start))
            raise
        self.sink((context, request.messages, turn, completion.text, None, completion.cached,
                   time.perf_counter() - start))
        return completion


def install(client: LLMClient, sink: Callable[[RawCall], None],
            turn_of: Callable[[str], int | None] | None = None) -> Callable[[], None]:
    """Put a :class:`CallRecorder` in front of ``client``'s chain; returns the function that takes it away.

    A client that already records into ``sink`` is left as it is (the returned function does nothing).
    """
    current = client.backend
    if isinstance(current, CallRecorder) and current.sink == sink:
        return lambda: None
    recorder = CallRecorder(current, sink, turn_of)
    client.backend = recorder

    def restore() -> None:
        if client.backend is recorder:
            client.backend = current

    return restore


def _record(raw: RawCall) -> CallRecord:
    context, messages, turn, answer, error, cached, latency = raw
    return CallRecord(purpose=context.purpose, agent=context.agent, world=context.world, step=context.step, turn=turn,
                      messages=[m.model_dump() for m in messages], answer=answer, error=error, cached=cached,
                      latency_s=latency)


class TurnLog:
    """The last :data:`MAX_CALLS` calls, as they were recorded; :attr:`calls` and :meth:`turns` build
    the records when asked (an agent's ``action`` calls of one turn, re-asks included, form one turn)."""

    def __init__(self, max_calls: int = MAX_CALLS) -> None:
        self._raw: deque[RawCall] = deque(maxlen=max_calls)

    def add(self, call: RawCall) -> None:
        """The sink of a :class:`CallRecorder`."""
        self._raw.append(call)

    @property
    def calls(self) -> list[CallRecord]:
        """Every call kept, oldest first."""
        return [_record(raw) for raw in list(self._raw)]

    def turns(self, agent: str) -> list[TurnRecord]:
        """``agent``'s recorded turns, oldest first."""
        turns: list[TurnRecord] = []
        for raw in list(self._raw):
            context, turn = raw[0], raw[2]
            if context.purpose != "action" or context.agent != agent:
                continue
            last = turns[-1] if turns else None
            call = _record(raw)
            if last is not None and turn is not None and last.turn == turn and last.step == call.step:
                last.attempts.append(call)  # a re-ask within the same turn
            else:
                turns.append(TurnRecord(agent=agent, world=call.world, step=call.step, turn=turn, attempts=[call]))
        return turns

    def turn(self, agent: str, number: int | None = None) -> TurnRecord:
        """``agent``'s turn ``number`` (its own count, 1 first; negative counts from the last recorded;
        None: the last).

        Raises:
            NotFound: no such turn was recorded (it ran before the debugger was attached, or is too old).
        """
        turns = self.turns(agent)
        if not turns:
            raise NotFound(f"no turn of {agent!r} was recorded; the debugger sees the turns taken while it "
                           "is attached")
        if number is None or number < 0:
            index = -1 if number is None else number
            if -index > len(turns):
                raise NotFound(f"only {len(turns)} turns of {agent!r} are recorded")
            return turns[index]
        for record in turns:
            if record.turn == number:
                return record
        known = ", ".join(str(t.turn) for t in turns)
        raise NotFound(f"turn {number} of {agent!r} was not recorded; recorded turns: {known}")


__all__ = ["MAX_CALLS", "CallRecord", "CallRecorder", "RawCall", "TurnLog", "TurnRecord", "install"]
