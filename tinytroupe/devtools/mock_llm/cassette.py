"""Cassettes: answers recorded once from a real backend, replayed in tests.

A cassette is a JSON file (YAML when its name ends in ``.yaml`` or ``.yml``) holding, for each
request asked while recording, the request's cache key (:meth:`LLMRequest.cache_key` with no backend
identity: the same request gets the same key whichever backend answered it), who asked and why, its
messages (so a miss can say what changed) and the answers in the order they came. Replaying serves a
key's answers in that order and repeats the last one.

A request with no recorded answer is a :class:`CassetteMiss` naming the request (purpose, agent,
schema, key, the newest part of its prompt) and, when the cassette holds a request of the same
purpose and agent, where their messages differ.

Example:
    >>> from tinytroupe.llm.types import CallContext, Completion, LLMRequest, Message
    >>> tape = Cassette("unused.json")
    >>> ask = LLMRequest(messages=(Message(role="user", content="rate it"),))
    >>> tape.record(ask, CallContext(purpose="extraction", agent="Ana"), Completion(text="8", model="m"))
    >>> tape.answer(ask).text, tape.changed
    ('8', True)
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from pathlib import Path

import yaml
from pydantic import BaseModel, Field, ValidationError

from tinytroupe.errors import InvalidArgument, LLMTransportError, StorageError
from tinytroupe.llm.replay import describe_difference
from tinytroupe.llm.scripted import newest_part
from tinytroupe.llm.types import CallContext, Completion, LLMRequest, ToolCallRequest, Usage

#: the cassette format's version, written in every file
VERSION = 1
#: characters of the newest prompt part shown in a miss and stored for people reading a cassette
EXCERPT = 200
#: what a test can ask of a cassette (``--mock-llm-record``), as vcrpy names them
RECORD_MODES = ("none", "once", "new_episodes", "all")


class CassetteMiss(LLMTransportError):
    """A replayed request has no recorded answer in the cassette."""


class RecordedAnswer(BaseModel):
    """One answer as the real backend gave it."""

    text: str
    model: str = ""
    finish_reason: str | None = None
    tool_calls: list[ToolCallRequest] | None = None
    usage: Usage = Field(default_factory=Usage)


class CassetteEntry(BaseModel):
    """The answers to one request (one key), with what identifies the request to a reader."""

    key: str
    purpose: str
    agent: str | None = None
    schema_name: str | None = None
    prompt: str = ""
    messages: list[dict[str, str]] = Field(default_factory=list)
    answers: list[RecordedAnswer]


class CassetteFile(BaseModel):
    """A cassette file's contents."""

    version: int = VERSION
    entries: list[CassetteEntry] = Field(default_factory=list)


def request_key(request: LLMRequest) -> str:
    """The key a request is filed under: its cache key with no backend identity."""
    return request.cache_key({})


def _messages(request: LLMRequest) -> list[dict[str, str]]:
    return [{"role": m.role, "content": m.content} for m in request.messages]


class Cassette:
    """A cassette file's answers in memory; :meth:`save` writes them back (atomically).

    Args:
        path: the file (need not exist yet: then the cassette starts empty).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._entries: dict[str, CassetteEntry] = {}
        self._served: dict[str, int] = {}
        self._lock = threading.Lock()
        #: whether something was recorded since loading (so :meth:`save` has work to do)
        self.changed = False
        if self.path.exists():
            self._load()

    @property
    def yaml(self) -> bool:
        return self.path.suffix.lower() in (".yaml", ".yml")

    def _load(self) -> None:
        try:
            text = self.path.read_text(encoding="utf-8")
            data = yaml.safe_load(text) if self.yaml else json.loads(text)
            parsed = CassetteFile.model_validate(data)
        except (OSError, ValueError, yaml.YAMLError) as exc:
            if isinstance(exc, ValidationError):
                raise InvalidArgument(f"cassette {self.path} is not a tinytroupe cassette: {exc}") from exc
            raise StorageError(f"cassette {self.path} cannot be read: {exc}") from exc
        if parsed.version != VERSION:
            raise InvalidArgument(f"cassette {self.path} has format version {parsed.version}; this tinytroupe "
                                  f"reads version {VERSION} (record it again with --mock-llm-record=all)")
        self._entries = {entry.key: entry for entry in parsed.entries}

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def entries(self) -> list[CassetteEntry]:
        return list(self._entries.values())

    def answer(self, request: LLMRequest, *, repeat_last: bool = True) -> Completion | None:
        """The next recorded answer to ``request``, or None when it has none. Once all of its answers
        were served, the last one again (``repeat_last``) or None (to record another)."""
        key = request_key(request)
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            at = self._served.get(key, 0)
            if at >= len(entry.answers) and not repeat_last:
                return None
            self._served[key] = at + 1
            recorded = entry.answers[min(at, len(entry.answers) - 1)]
        return Completion(text=recorded.text, model=recorded.model or "cassette", backend="cassette",
                          usage=recorded.usage, finish_reason=recorded.finish_reason,
                          tool_calls=tuple(recorded.tool_calls) if recorded.tool_calls else None)

    def record(self, request: LLMRequest, context: CallContext, completion: Completion) -> None:
        """Add ``completion`` as the next answer to ``request``."""
        key = request_key(request)
        answer = RecordedAnswer(text=completion.text, model=completion.model, finish_reason=completion.finish_reason,
                                tool_calls=list(completion.tool_calls) if completion.tool_calls else None,
                                usage=completion.usage)
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self._entries[key] = CassetteEntry(
                    key=key, purpose=context.purpose, agent=context.agent, schema_name=request.schema_name,
                    prompt=newest_part(_last_user(request))[:EXCERPT], messages=_messages(request), answers=[answer])
            else:
                entry.answers.append(answer)
            # what is recorded now counts as served: a replay of this run gets the next answer next
            self._served[key] = len(self._entries[key].answers)
            self.changed = True

    def forget(self) -> None:
        """Drop every entry (re-recording from scratch)."""
        with self._lock:
            self._entries.clear()
            self._served.clear()
            self.changed = True

    def miss(self, request: LLMRequest, context: CallContext, how_to_fix: str) -> CassetteMiss:
        """The error for a request the cassette has no answer to."""
        newest = newest_part(_last_user(request))
        text = (f"cassette {self.path} has no answer for the request of purpose {context.purpose!r}"
                f"{f', agent {context.agent!r}' if context.agent else ''}"
                f"{f', schema {request.schema_name}' if request.schema_name else ''} "
                f"(key {request_key(request)[:12]}); its prompt ends {newest[-EXCERPT:]!r}")
        nearest = self._nearest(context)
        if nearest is not None:
            current = json.dumps({"request": {"messages": _messages(request)}, "backend": {}})
            recorded = json.dumps({"request": {"messages": nearest.messages}, "backend": {}})
            text += (f". The cassette has a request of the same purpose and agent that differs: "
                     f"{describe_difference(recorded, current)}")
        return CassetteMiss(f"{text}. {how_to_fix}")

    def _nearest(self, context: CallContext) -> CassetteEntry | None:
        with self._lock:
            return next((e for e in self._entries.values()
                         if e.purpose == context.purpose and e.agent == context.agent), None)

    def save(self) -> None:
        """Write the cassette (only when something was recorded), atomically: a reader never sees half a file."""
        with self._lock:
            if not self.changed:
                return
            data = CassetteFile(entries=list(self._entries.values())).model_dump(mode="json", exclude_none=True)
            self.changed = False
        text = (yaml.safe_dump(data, sort_keys=False, allow_unicode=True) if self.yaml
                else json.dumps(data, indent=1, ensure_ascii=False) + "\n")
        _write_atomically(self.path, text)


def _last_user(request: LLMRequest) -> str:
    return next((m.content for m in reversed(request.messages) if m.role == "user"), "")


def _write_atomically(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        raise StorageError(f"cassette {path} cannot be written: {exc}") from exc


def check_record_mode(mode: str) -> str:
    """``mode`` if it is one of :data:`RECORD_MODES`, else an :class:`InvalidArgument`."""
    if mode not in RECORD_MODES:
        raise InvalidArgument(f"record mode {mode!r} is not one of {', '.join(RECORD_MODES)}")
    return mode


__all__ = ["EXCERPT", "RECORD_MODES", "VERSION", "Cassette", "CassetteEntry", "CassetteFile", "CassetteMiss",
           "RecordedAnswer", "check_record_mode", "request_key"]
