"""Response templates: which requests a reply is for, and placeholders filled from a seed.

A :class:`Rule` matches a request by its ``purpose`` (``action``, ``extraction``, ...), the agent that
asks, a regular expression searched in the newest part of the last user message (what is new this
turn, see :func:`~tinytroupe.llm.scripted.newest_part`) and the name of the answer's schema
(``ActionTurn`` for an agent's turn). Strings inside a reply may hold placeholders, filled when the
reply is given:

``{agent}``, ``{purpose}``, ``{world}``
    who asks and why (empty when unknown);
``{one_of:cheap|fair|pricey}``
    one of the options;
``{int:1..10}``
    a whole number in the range (a string that is only this placeholder becomes a number, so it
    fills an integer field of a structured answer);
``{{`` and ``}}``
    a literal brace.

Choices come from a generator seeded by the mock's seed and the request's cache key, so the same
request gets the same answer whatever order concurrent agents ask in, and another seed gives
another (equally valid) variation.

Example:
    >>> import random
    >>> fill({"rating": "{int:1..10}", "reason": "{agent} finds it {one_of:cheap|pricey}"},
    ...      random.Random(1), {"agent": "Ana"})
    {'rating': 3, 'reason': 'Ana finds it cheap'}
"""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from tinytroupe.errors import InvalidArgument
from tinytroupe.llm.scripted import newest_part
from tinytroupe.llm.types import CallContext, LLMRequest

#: ``{name}`` or ``{name:argument}``; ``{{``/``}}`` are literal braces
_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([A-Za-z_]+)(?::([^{}]*))?\}")
_RANGE = re.compile(r"^\s*(-?\d+)\s*\.\.\s*(-?\d+)\s*$")
#: placeholders that name who asks (filled from the call's context)
CONTEXT_NAMES = ("agent", "purpose", "world")
PLACEHOLDERS = (*CONTEXT_NAMES, "one_of", "int")


def _check_placeholder(name: str, argument: str | None, text: str) -> None:
    if name in CONTEXT_NAMES and argument is None:
        return
    if name == "one_of" and argument:
        return
    if name == "int" and argument is not None:
        match = _RANGE.match(argument)
        if match and int(match.group(1)) <= int(match.group(2)):
            return
        raise InvalidArgument(f"placeholder {{int:{argument}}} in {text!r} needs a range LOW..HIGH with LOW <= HIGH")
    raise InvalidArgument(
        f"unknown placeholder {{{name}{':' + argument if argument is not None else ''}}} in {text!r}; "
        f"known: {', '.join(PLACEHOLDERS)} (write {{{{ and }}}} for literal braces)")


def check_template(value: Any) -> None:
    """Raise :class:`InvalidArgument` naming the first bad placeholder anywhere in ``value``.

    Example:
        >>> check_template({"a": ["{agent} {one_of:x|y}"]})
        >>> check_template("{mood}")
        Traceback (most recent call last):
        ...
        tinytroupe.errors.InvalidArgument: unknown placeholder {mood} in '{mood}'; known: agent, purpose, \
world, one_of, int (write {{ and }} for literal braces)
    """
    if isinstance(value, str):
        for match in _PLACEHOLDER.finditer(value):
            if match.group(1) is not None:
                _check_placeholder(match.group(1), match.group(2), value)
    elif isinstance(value, dict):
        for item in value.values():
            check_template(item)
    elif isinstance(value, list | tuple):
        for item in value:
            check_template(item)


def _fill_text(text: str, rng: random.Random, names: dict[str, str]) -> Any:
    whole = _PLACEHOLDER.fullmatch(text)
    if whole is not None and whole.group(1) == "int":
        low, high = (int(part) for part in _RANGE.match(whole.group(2) or "").groups())  # type: ignore[union-attr]
        return rng.randint(low, high)

    def one(match: re.Match[str]) -> str:
        token, name, argument = match.group(0), match.group(1), match.group(2)
        if name is None:
            return token[0]  # "{{" -> "{", "}}" -> "}"
        if name in CONTEXT_NAMES:
            return names.get(name) or ""
        if name == "one_of":
            return rng.choice((argument or "").split("|"))
        low, high = (int(part) for part in _RANGE.match(argument or "").groups())  # type: ignore[union-attr]
        return str(rng.randint(low, high))

    return _PLACEHOLDER.sub(one, text)


def fill(value: Any, rng: random.Random, names: dict[str, str]) -> Any:
    """``value`` with every placeholder in its strings filled (dicts and lists are walked; pydantic
    objects become their JSON data first)."""
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    if isinstance(value, str):
        return _fill_text(value, rng, names)
    if isinstance(value, dict):
        return {key: fill(item, rng, names) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [fill(item, rng, names) for item in value]
    return value


def last_user_text(request: LLMRequest) -> str:
    """The content of the request's last user message ("" when it has none)."""
    return next((m.content for m in reversed(request.messages) if m.role == "user"), "")


@dataclass
class Rule:
    """Replies for the requests that match every given condition (None: any).

    ``replies`` with more than one entry are given in order, one per matching request, after which
    the rule no longer matches (``cycle``: start again); with ``choose`` one of them is picked for
    each request by the seeded generator instead. ``times`` caps how many requests the rule answers.
    """

    replies: tuple[Any, ...]
    purpose: str | None = None
    agent: str | None = None
    prompt: re.Pattern[str] | None = None
    schema: str | None = None
    choose: bool = False
    cycle: bool = False
    times: int | None = None
    used: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.replies:
            raise InvalidArgument("a rule needs at least one reply")
        if self.times is not None and self.times < 1:
            raise InvalidArgument(f"times must be at least 1, got {self.times}")
        for reply in self.replies:
            if not isinstance(reply, Exception):
                check_template(reply.model_dump(mode="json") if isinstance(reply, BaseModel) else reply)

    def describe(self) -> str:
        """The rule's conditions, for messages: ``purpose='action' agent='Ana'``."""
        parts = [f"{name}={value!r}" for name, value in (("purpose", self.purpose), ("agent", self.agent),
                                                          ("schema", self.schema)) if value is not None]
        if self.prompt is not None:
            parts.append(f"prompt=/{self.prompt.pattern}/")
        return " ".join(parts) or "any request"

    def _fits(self, request: LLMRequest, context: CallContext) -> bool:
        if self.purpose is not None and context.purpose != self.purpose:
            return False
        if self.agent is not None and context.agent != self.agent:
            return False
        if self.schema is not None and request.schema_name != self.schema:
            return False
        return self.prompt is None or self.prompt.search(newest_part(last_user_text(request))) is not None

    def take(self, request: LLMRequest, context: CallContext, rng: random.Random) -> tuple[bool, Any]:
        """``(True, reply)`` when the rule answers this request (counting the use), else ``(False, None)``."""
        if not self._fits(request, context):
            return False, None
        with self._lock:
            ordered = len(self.replies) > 1 and not self.choose
            if self.times is not None and self.used >= self.times:
                return False, None
            if ordered and not self.cycle and self.used >= len(self.replies):
                return False, None
            index = self.used % len(self.replies) if ordered else 0
            self.used += 1
        reply = rng.choice(self.replies) if self.choose else self.replies[index]
        return True, reply


def compile_prompt(prompt: str | re.Pattern[str] | None) -> re.Pattern[str] | None:
    """``prompt`` as a compiled regular expression; a bad pattern is an :class:`InvalidArgument`."""
    if prompt is None or isinstance(prompt, re.Pattern):
        return prompt
    try:
        return re.compile(prompt)
    except re.error as exc:
        raise InvalidArgument(f"prompt pattern {prompt!r} is not a valid regular expression: {exc}") from exc


__all__ = ["CONTEXT_NAMES", "PLACEHOLDERS", "Rule", "check_template", "compile_prompt", "fill", "last_user_text"]
