"""The faults the mock server can inject (:data:`FAULT_KINDS`, :class:`MockFailure`), and what a content
fault makes of an answer (:func:`corrupt_content`).
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tinytroupe.errors import InvalidArgument

#: every fault kind the server can inject, in the order the module docstring describes them
FAULT_KINDS: tuple[str, ...] = (
    "rate_limit", "server_error", "unavailable", "timeout", "connection_reset", "truncated_body",
    "malformed_json", "truncated_content", "truncated_content_stop", "wrong_schema", "oversized", "deep_nesting",
)
#: kinds that change the message content of an answer (they need a chat or text completion to act on)
CONTENT_FAULTS = frozenset({"malformed_json", "truncated_content", "truncated_content_stop", "wrong_schema",
                            "oversized", "deep_nesting"})
#: what a ``malformed_json`` answer says: prose a model might send instead of the JSON it was asked for
MALFORMED_TEXT = ("Sure! Honestly I think it depends on the day; some weeks I like one thing, "
                  "other weeks another, so I would rather not commit to an answer.")

DEFAULT_FAULT_HANG_S = 5.0
DEFAULT_FAULT_RETRY_AFTER = 0.02
DEFAULT_OVERSIZED_CHARS = 300_000
DEFAULT_NESTING_DEPTH = 1000
# Random cuts keep 5-90 % of the text: never nothing, and never so much that a sentinel at the end survives.
CUT_RANGE = (0.05, 0.9)


def _check_kind(kind: str) -> str:
    if kind not in FAULT_KINDS:
        raise InvalidArgument(f"unknown fault kind {kind!r}; the kinds are: {', '.join(FAULT_KINDS)}")
    return kind


class MockFailure(BaseModel):
    """One scripted misbehaviour, used for the next request instead of a normal answer.

    ``hang_s`` makes the server wait that long and then answer normally (use it with a shorter
    client timeout); otherwise, without a ``kind`` that says more, the server answers ``status``
    with an OpenAI-style error body and, when ``retry_after`` is set, a ``Retry-After`` header.
    ``kind`` names one of :data:`FAULT_KINDS`; ``keep`` is the share of the text a truncating
    fault keeps, ``size`` the length of an ``oversized`` answer or the depth of ``deep_nesting``.
    :meth:`of` builds any kind by name.

    Example:
        >>> MockFailure.rate_limit(2).status
        429
        >>> MockFailure.of("truncated_content", keep=0.3).label
        'truncated_content'
    """

    model_config = ConfigDict(frozen=True)

    status: int = 500
    message: str = "mock server error"
    retry_after: float | None = None
    hang_s: float | None = None
    kind: str | None = None
    keep: float | None = Field(None, gt=0.0, lt=1.0)
    size: int | None = Field(None, ge=1)

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, kind: str | None) -> str | None:
        return None if kind is None else _check_kind(kind)

    @property
    def label(self) -> str:
        """The name this failure is counted under in ``faults_injected``."""
        if self.kind is not None:
            return self.kind
        return "timeout" if self.hang_s is not None else f"http_{self.status}"

    @classmethod
    def rate_limit(cls, retry_after: float | None = 1.0) -> MockFailure:
        """HTTP 429 with ``Retry-After: retry_after`` (no header when None)."""
        return cls(status=429, message="Rate limit reached for requests", retry_after=retry_after,
                   kind="rate_limit")

    @classmethod
    def server_error(cls, status: int = 500) -> MockFailure:
        """HTTP ``status`` (5xx) with an OpenAI-style server error body."""
        return cls(status=status, message="The server had an error while processing your request",
                   kind="unavailable" if status == 503 else "server_error")

    @classmethod
    def unavailable(cls) -> MockFailure:
        """HTTP 503, as an overloaded server or a proxy in front of a restarting one answers."""
        return cls(status=503, message="The server is overloaded or not ready yet", kind="unavailable")

    @classmethod
    def bad_request(cls, message: str = "Invalid value for 'messages'") -> MockFailure:
        """HTTP 400 (not retryable)."""
        return cls(status=400, message=message)

    @classmethod
    def hang(cls, seconds: float) -> MockFailure:
        """No answer for ``seconds``, then a normal one."""
        return cls(hang_s=seconds, kind="timeout")

    @classmethod
    def timeout(cls, seconds: float = DEFAULT_FAULT_HANG_S) -> MockFailure:
        """The same as :meth:`hang`: make ``seconds`` longer than the client's timeout."""
        return cls.hang(seconds)

    @classmethod
    def connection_reset(cls) -> MockFailure:
        """The connection is reset (TCP RST) before any byte of a response."""
        return cls(kind="connection_reset")

    @classmethod
    def truncated_body(cls, keep: float = 0.5) -> MockFailure:
        """HTTP 200 whose JSON body holds only its first ``keep`` share (Content-Length matches)."""
        return cls(kind="truncated_body", keep=keep)

    @classmethod
    def malformed_json(cls) -> MockFailure:
        """A valid answer envelope whose content is prose instead of JSON."""
        return cls(kind="malformed_json")

    @classmethod
    def truncated_content(cls, keep: float = 0.5, finish_reason: Literal["length", "stop"] = "length"
                          ) -> MockFailure:
        """The first ``keep`` share of the real content, with ``finish_reason`` (``stop``: the
        ``truncated_content_stop`` kind)."""
        kind = "truncated_content" if finish_reason == "length" else "truncated_content_stop"
        return cls(kind=kind, keep=keep)

    @classmethod
    def wrong_schema(cls) -> MockFailure:
        """A JSON object with the real answer's fields renamed, so every expected field is missing."""
        return cls(kind="wrong_schema")

    @classmethod
    def oversized(cls, chars: int = DEFAULT_OVERSIZED_CHARS) -> MockFailure:
        """The real answer padded to about ``chars`` characters."""
        return cls(kind="oversized", size=chars)

    @classmethod
    def deep_nesting(cls, depth: int = DEFAULT_NESTING_DEPTH) -> MockFailure:
        """The real answer plus a value nested ``depth`` levels deep."""
        return cls(kind="deep_nesting", size=depth)

    @classmethod
    def of(cls, kind: str, *, retry_after: float = DEFAULT_FAULT_RETRY_AFTER,
           hang_s: float = DEFAULT_FAULT_HANG_S, keep: float = 0.5) -> MockFailure:
        """The failure of ``kind`` (one of :data:`FAULT_KINDS`) with the given knobs.

        Example:
            >>> MockFailure.of("unavailable").status
            503
        """
        match _check_kind(kind):
            case "rate_limit":
                return cls.rate_limit(retry_after)
            case "server_error":
                return cls.server_error(500)
            case "unavailable":
                return cls.unavailable()
            case "timeout":
                return cls.hang(hang_s)
            case "truncated_body":
                return cls.truncated_body(keep)
            case "truncated_content":
                return cls.truncated_content(keep, "length")
            case "truncated_content_stop":
                return cls.truncated_content(keep, "stop")
            case "oversized":
                return cls.oversized()
            case "deep_nesting":
                return cls.deep_nesting()
            case other:
                return cls(kind=other)


def _cut(text: str, keep: float) -> str:
    """The first ``keep`` share of ``text``: at least one character, never all of it."""
    if len(text) < 2:
        return ""
    return text[:min(len(text) - 1, max(1, int(len(text) * keep)))]


def _json_object(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def corrupt_content(text: str, failure: MockFailure) -> tuple[str, str]:
    """The message content and finish_reason that the content fault ``failure`` makes of the answer ``text``.

    Example:
        >>> corrupt_content('{"a": "bcdefgh"}', MockFailure.truncated_content(keep=0.5))
        ('{"a": "b', 'length')
        >>> corrupt_content('{"a": 1}', MockFailure.wrong_schema())
        ('{"unexpected_a": 1}', 'stop')
    """
    kind = failure.kind
    if kind == "malformed_json":
        return MALFORMED_TEXT, "stop"
    if kind in ("truncated_content", "truncated_content_stop"):
        cut = _cut(text, failure.keep if failure.keep is not None else 0.5)
        return cut, "length" if kind == "truncated_content" else "stop"
    obj = _json_object(text)
    if kind == "wrong_schema":
        # Renamed keys: still a JSON object, but every field the schema requires is missing.
        wrong = {f"unexpected_{k}": v for k, v in obj.items()} if obj else {}
        return json.dumps(wrong or {"unexpected": text}), "stop"
    if kind == "oversized":
        missing = max(0, (failure.size or DEFAULT_OVERSIZED_CHARS) - len(text))
        filler = ("lorem ipsum " * (missing // 12 + 1))[:missing]
        if obj is not None:
            return json.dumps({"padding": filler, **obj}), "stop"
        return text + filler, "stop"
    if kind == "deep_nesting":
        depth = failure.size or DEFAULT_NESTING_DEPTH
        nested = "[" * depth + "]" * depth
        if obj is None:
            return nested, "stop"
        # Spliced as text: json.dumps itself refuses values nested this deep.
        rest = json.dumps(obj)[1:]
        return '{"nested": ' + nested + (", " + rest if obj else "}"), "stop"
    raise InvalidArgument(f"{kind!r} is not a content fault; those are: {', '.join(sorted(CONTENT_FAULTS))}")


__all__ = ["CONTENT_FAULTS", "CUT_RANGE", "DEFAULT_FAULT_HANG_S", "DEFAULT_FAULT_RETRY_AFTER", "DEFAULT_NESTING_DEPTH",
           "DEFAULT_OVERSIZED_CHARS", "FAULT_KINDS", "MALFORMED_TEXT", "MockFailure", "corrupt_content"]
