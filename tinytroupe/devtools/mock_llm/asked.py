"""What a test's code asked the mock LLM: one :class:`AskedRequest` per request, and filters over them.

Example:
    >>> from tinytroupe.llm.types import CallContext, LLMRequest, Message
    >>> ask = LLMRequest(messages=(Message(role="user", content="What is your rating?"),), schema_name="Rating")
    >>> seen = AskedRequest.of(ask, CallContext(purpose="extraction", agent="Ana"), "fallback")
    >>> seen.purpose, seen.agent, seen.schema_name, "rating" in seen.text
    ('extraction', 'Ana', 'Rating', True)
    >>> len(select([seen], purpose="extraction", contains="rating"))
    1
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict

from tinytroupe.llm.scripted import newest_part
from tinytroupe.llm.types import CallContext, LLMRequest

#: requests listed at most in an assertion's message
LISTED = 30
#: characters of each request's newest prompt part shown there
SHOWN = 100


class AskedRequest(BaseModel):
    """One request: who asked and why, the request itself, and what answered it.

    ``answered_by``: ``rule <conditions>``, ``cassette``, ``recorded`` (recorded into the cassette
    from the real backend), ``live``, ``fallback`` or ``unanswered``.
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    purpose: str
    agent: str | None = None
    world: str | None = None
    step: int | None = None
    schema_name: str | None = None
    answered_by: str
    request: LLMRequest

    @classmethod
    def of(cls, request: LLMRequest, context: CallContext, answered_by: str) -> AskedRequest:
        return cls(purpose=context.purpose, agent=context.agent, world=context.world, step=context.step,
                   schema_name=request.schema_name, answered_by=answered_by, request=request)

    @property
    def text(self) -> str:
        """Every message's content, one after the other (what ``contains`` searches)."""
        return "\n".join(m.content for m in self.request.messages)

    @property
    def prompt(self) -> str:
        """The last user message's content."""
        return next((m.content for m in reversed(self.request.messages) if m.role == "user"), "")

    @property
    def newest(self) -> str:
        """The newest part of the last user message (what is new this turn; see ``newest_part``)."""
        return newest_part(self.prompt)

    def summary(self) -> str:
        """One line: purpose, agent, schema, what answered, and the end of the newest prompt part."""
        who = f" agent={self.agent!r}" if self.agent else ""
        schema = f" schema={self.schema_name}" if self.schema_name else ""
        tail = " ".join(self.newest.split())[-SHOWN:]
        return f"purpose={self.purpose!r}{who}{schema} ({self.answered_by}): ...{tail!r}"


def select(requests: list[AskedRequest], *, purpose: str | None = None, agent: str | None = None,
           world: str | None = None, schema: str | None = None, contains: str | None = None,
           pattern: re.Pattern[str] | None = None) -> list[AskedRequest]:
    """The requests that match every filter given (None: any)."""
    out = []
    for asked in requests:
        if purpose is not None and asked.purpose != purpose:
            continue
        if agent is not None and asked.agent != agent:
            continue
        if world is not None and asked.world != world:
            continue
        if schema is not None and asked.schema_name != schema:
            continue
        if contains is not None and contains not in asked.text:
            continue
        if pattern is not None and pattern.search(asked.text) is None:
            continue
        out.append(asked)
    return out


def describe_requests(requests: list[AskedRequest]) -> str:
    """One line per request (the first :data:`LISTED`), for assertion messages."""
    if not requests:
        return "  (nothing was asked)"
    lines = [f"  {i + 1}. {asked.summary()}" for i, asked in enumerate(requests[:LISTED])]
    if len(requests) > LISTED:
        lines.append(f"  ... and {len(requests) - LISTED} more")
    return "\n".join(lines)


__all__ = ["LISTED", "SHOWN", "AskedRequest", "describe_requests", "select"]
