"""Breakpoints: conditions on the events of a run (an agent, an action type, an event kind, a text, a
step, an error), and what a hit records.

Every condition given must hold (they are ANDed); a breakpoint with none is refused. The debugger
checks each event published on the world's bus and pauses at the next seam after a match (see
:mod:`tinytroupe.devtools.debugger`).

Example:
    >>> from tinytroupe.events import ActionEvent
    >>> bp = Breakpoint.parse("agent=Ana action=talk")
    >>> bp.describe()
    'agent=Ana action=TALK'
    >>> bp.matches(ActionEvent(agent="Ana", action_type="TALK", content="Hi Ben")), bp.matches(
    ...     ActionEvent(agent="Ben", action_type="TALK"))
    (True, False)
    >>> describe_event(ActionEvent(agent="Ana", action_type="TALK", content="Hi Ben", target="Ben", step=2))
    "step 2: Ana TALK -> Ben: 'Hi Ben'"
"""

from __future__ import annotations

import shlex
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from tinytroupe.errors import InvalidArgument
from tinytroupe.events import Event

#: the event fields a ``text=`` condition searches
TEXT_FIELDS = ("content", "message", "description", "code")
_KEYS = ("agent", "action", "kind", "text", "step", "error")
EXCERPT = 80


class Breakpoint(BaseModel):
    """A condition on events: each field given must match (``error``: the event is a failure).

    ``agent``: the event's agent; ``action``: an action of that type (case does not matter);
    ``kind``: the event's kind (``stimulus``, ``llm_call``, ``step`` ...); ``text``: a piece of the
    event's text (its content or message, case does not matter); ``step``: the world step; ``error``:
    a failed turn (``agent_error``) or a failed LLM call.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: int = 0
    agent: str | None = None
    action: str | None = None
    kind: str | None = None
    text: str | None = None
    step: int | None = None
    error: bool = False

    def __init__(self, **data: Any) -> None:
        super().__init__(**data)
        if not any((self.agent, self.action, self.kind, self.text, self.step is not None, self.error)):
            raise InvalidArgument("a breakpoint needs at least one condition: agent, action, kind, text, step "
                                  "or error")

    @field_validator("action")
    @classmethod
    def _upper(cls, value: str | None) -> str | None:
        return value.upper() if value is not None else None

    @classmethod
    def parse(cls, spec: str, id: int = 0) -> Breakpoint:
        """A breakpoint from ``key=value`` words (``error`` alone is a flag); quote values with spaces.

        Raises:
            InvalidArgument: an unknown key, a step that is not a number, or no condition.
        """
        fields: dict[str, Any] = {}
        try:
            words = shlex.split(spec)
        except ValueError as exc:
            raise InvalidArgument(f"breakpoint {spec!r}: {exc}") from exc
        for word in words:
            key, sep, value = word.partition("=")
            key = key.strip().lower()
            if key not in _KEYS:
                raise InvalidArgument(f"breakpoint {spec!r}: unknown condition {key!r}; use one of "
                                      f"{', '.join(k + '=' for k in _KEYS[:-1])} or error")
            if key == "error":
                fields["error"] = value.lower() not in ("0", "false", "no", "off") if sep else True
            elif key == "step":
                if not value.lstrip("-").isdigit():
                    raise InvalidArgument(f"breakpoint {spec!r}: step must be a number, got {value!r}")
                fields["step"] = int(value)
            elif not value:
                raise InvalidArgument(f"breakpoint {spec!r}: {key}= needs a value")
            else:
                fields[key] = value
        return cls(id=id, **fields)

    def matches(self, event: Event) -> bool:
        """Whether ``event`` meets every condition of this breakpoint."""
        if self.agent is not None and event.agent != self.agent:
            return False
        if self.step is not None and event.step != self.step:
            return False
        if self.kind is not None and event.kind != self.kind:
            return False
        if self.action is not None and str(getattr(event, "action_type", "")).upper() != self.action:
            return False
        if self.error and not is_failure(event):
            return False
        if self.text is not None:
            needle = self.text.lower()
            if not any(needle in str(getattr(event, f, "") or "").lower() for f in TEXT_FIELDS):
                return False
        return True

    def describe(self) -> str:
        """The breakpoint as :meth:`parse` reads it."""
        parts = [f"{k}={shlex.quote(str(v))}" for k in _KEYS[:-1] if (v := getattr(self, k)) is not None]
        return " ".join(parts + (["error"] if self.error else []))


class Hit(BaseModel):
    """A breakpoint met by an event: which breakpoint, and the event (as its JSON fields)."""

    breakpoint: Breakpoint
    event: dict[str, Any]
    summary: str

    @classmethod
    def of(cls, breakpoint: Breakpoint, event: Event) -> Hit:
        return cls(breakpoint=breakpoint, event=event.model_dump(mode="json"), summary=describe_event(event))


def is_failure(event: Event) -> bool:
    """A failed turn, or an LLM call that failed."""
    return event.kind == "agent_error" or (event.kind == "llm_call" and getattr(event, "error", None) is not None)


def describe_event(event: Event) -> str:
    """One line saying what an event is, for pauses and listings."""
    where = f"step {event.step}: " if event.step is not None else ""
    who = event.agent or "-"
    data = event.model_dump()
    if event.kind == "action":
        target = f" -> {data['target']}" if data.get("target") else ""
        text = f": {_excerpt(data['content'])!r}" if data.get("content") else ""
        return f"{where}{who} {data['action_type']}{target}{text}"
    if event.kind == "stimulus":
        source = f" from {data['source']}" if data.get("source") else ""
        return f"{where}{who} perceives {data['stimulus_type']}{source}: {_excerpt(data['content'])!r}"
    if event.kind == "step":
        return f"step {event.step} {data['phase']} in {event.world}"
    if event.kind == "agent_error":
        return f"{where}{who}'s turn failed: {data['error_type']}: {_excerpt(data['message'])}"
    if event.kind == "llm_call":
        failed = f", failed: {_excerpt(data['error'])}" if data.get("error") else ""
        return f"{where}LLM call ({data['purpose']}) for {who}{failed}"
    text = next((str(data[f]) for f in TEXT_FIELDS if data.get(f)), "")
    return f"{where}{event.kind} {who}" + (f": {_excerpt(text)}" if text else "")


def _excerpt(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= EXCERPT else text[:EXCERPT - 1] + "…"


__all__ = ["Breakpoint", "Hit", "describe_event", "is_failure"]
