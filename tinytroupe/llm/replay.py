"""Replay checking: compare each LLM request of a run with the one recorded at the same place.

A backend wrapper like the others in :mod:`tinytroupe.llm` (it reads the run file's call log from
``storage``; also importable as ``tinytroupe.replay``). :class:`ReplayRecorder` sits between the usage
wrapper and the response cache of a :class:`~tinytroupe.control.Simulation`'s client. For every
call it takes the caller's *stream* (world, agent, purpose) and position in it, and compares the
request's cache key with the one the run file recorded there. The first mismatch of each stream is
a :class:`Divergence`: what differed is described (which message, an excerpt of both versions),
reported through a callback, and the stream's old records after that point are dropped. The run
goes on live from there (new requests miss the cache and reach the model).

Example:
    >>> describe_difference('{"request":{"messages":[{"role":"user","content":"Hi Ana"}]},"backend":{}}',
    ...                     '{"request":{"messages":[{"role":"user","content":"Hi Ben"}]},"backend":{}}')
    "message 0 (user) changed at character 3: 'Hi Ana' -> 'Hi Ben'"
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from tinytroupe.llm.backend import Backend, BackendWrapper
from tinytroupe.llm.canonical import SpliceMemo
from tinytroupe.llm.types import CallContext, Completion, LLMRequest
from tinytroupe.storage.call_log import CallLog

logger = logging.getLogger(__name__)

EXCERPT = 120


class Divergence(BaseModel):
    """The first call of a stream that differs from the recorded run."""

    stream: str
    world: str | None = None
    agent: str | None = None
    purpose: str
    position: int
    step: int | None = None
    recorded_step: int | None = None
    description: str

    def __str__(self) -> str:
        who = f"agent {self.agent!r}" if self.agent else "no agent"
        where = f" in world {self.world!r}" if self.world else ""
        return (f"replay diverged at {who}{where}, step {self.step}, purpose {self.purpose!r} "
                f"(call {self.position + 1} of its stream): {self.description}")


def stream_of(context: CallContext) -> str:
    """The stream a call belongs to: ``world/agent/purpose`` (``-`` for a missing part)."""
    return f"{context.world or '-'}/{context.agent or '-'}/{context.purpose}"


def _excerpt(text: str, at: int) -> str:
    start = max(0, at - 20)
    piece = text[start:start + EXCERPT]
    return ("…" if start > 0 else "") + piece + ("…" if start + EXCERPT < len(text) else "")


def describe_difference(recorded: str | None, current: str) -> str:
    """A short human description of how two canonical request JSONs differ."""
    if recorded is None:
        return "the recorded request is not available; its key differs"
    old, new = json.loads(recorded), json.loads(current)
    if old.get("backend") != new.get("backend"):
        return f"the backend changed: {old.get('backend')} -> {new.get('backend')}"
    old_req, new_req = old["request"], new["request"]
    old_msgs, new_msgs = old_req.get("messages", []), new_req.get("messages", [])
    for i, (a, b) in enumerate(zip(old_msgs, new_msgs, strict=False)):
        if a == b:
            continue
        if a.get("role") != b.get("role"):
            return f"message {i} changed role: {a.get('role')} -> {b.get('role')}"
        x, y = a.get("content", ""), b.get("content", "")
        at = next((k for k, (c, d) in enumerate(zip(x, y, strict=False)) if c != d), min(len(x), len(y)))
        return f"message {i} ({b.get('role')}) changed at character {at}: {_excerpt(x, at)!r} -> {_excerpt(y, at)!r}"
    if len(old_msgs) != len(new_msgs):
        return f"the number of messages changed: {len(old_msgs)} -> {len(new_msgs)}"
    changed = sorted(k for k in set(old_req) | set(new_req) if k != "messages" and old_req.get(k) != new_req.get(k))
    if changed:
        parts = [f"{k}: {str(old_req.get(k))[:EXCERPT]!s} -> {str(new_req.get(k))[:EXCERPT]!s}" for k in changed]
        return "request parameters changed (" + "; ".join(parts) + ")"
    return "the request key differs"


class ReplayRecorder(BackendWrapper):
    """Records each call's key per stream and reports the first divergence from the recorded run.

    Args:
        inner: the rest of the chain (normally the response cache).
        log: where the streams are read from and written to.
        simulation_id: whose recording this is.
        on_divergence: called once per stream, on its first mismatch.
    """

    def __init__(self, inner: Backend, log: CallLog, simulation_id: str,
                 on_divergence: Callable[[Divergence], Any] | None = None) -> None:
        super().__init__(inner)
        self.log = log
        self.simulation_id = simulation_id
        self.on_divergence = on_divergence
        self.recorded = log.load(simulation_id)
        self.positions: dict[str, int] = {}
        self.diverged: set[str] = set()
        self.matched = 0
        self.new_calls = 0
        self._lock = threading.Lock()
        self._splice_memo = SpliceMemo()

    def recorded_keys(self) -> list[str]:
        """The recording's request keys, earliest step first (what a faithful re-run will ask for)."""
        calls = [(step if step is not None else -1, stream, pos, key)
                 for stream, entries in self.recorded.items() for pos, (key, step) in enumerate(entries)]
        return [key for *_, key in sorted(calls)]

    async def generate(self, request: LLMRequest, context: CallContext) -> Completion:
        identity = self.inner.identity()
        key = request.cache_key(identity, self._splice_memo)  # remembered by the request: the cache below reuses it
        stream = stream_of(context)
        divergence: Divergence | None = None
        with self._lock:
            pos = self.positions.get(stream, 0)
            self.positions[stream] = pos + 1
            recorded = self.recorded.get(stream)
            comparable = stream not in self.diverged and recorded is not None and pos < len(recorded)
            if comparable and recorded is not None and recorded[pos][0] == key:
                self.matched += 1
            else:
                self.new_calls += 1
                if comparable and recorded is not None:
                    self.diverged.add(stream)
                    divergence = Divergence(
                        stream=stream, world=context.world, agent=context.agent, purpose=context.purpose,
                        position=pos, step=context.step, recorded_step=recorded[pos][1],
                        description=describe_difference(
                            self.log.request(self.simulation_id, stream, pos), request.canonical_json(identity)))
                    self.log.truncate(self.simulation_id, stream, pos)
                # the request's JSON is built on the writer thread, off the event loop
                self.log.record(self.simulation_id, stream, pos, key, context.step,
                                lambda: request.canonical_json(identity))
        if divergence is not None:
            logger.warning("%s; continuing live from here", divergence)
            if self.on_divergence is not None:
                self.on_divergence(divergence)
        return await self.inner.generate(request, context)


__all__ = ["Divergence", "ReplayRecorder", "describe_difference", "stream_of"]
