"""Shared test helpers (unit and integration tests import them by name: tests/ is on the path through
tests/conftest.py): scripted backends that answer agent turns and extractions offline.

An agent's action prompt ends with ``Now act as <name>: ...``, so a responder can tell which agent
is asking and tailor its reply (see :func:`agent_of`).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import random
import re
import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pytest

from tinytroupe.agent import TinyPerson
from tinytroupe.agent.turn import Turn, TurnComponent
from tinytroupe.embeddings.port import BaseEmbedder
from tinytroupe.environment import TinyWorld
from tinytroupe.llm import LLMClient, LLMRequest, ScriptedBackend

START = datetime(2025, 1, 6, 9, 0)
_ACT_AS = re.compile(r"Now act as (.+?): your actions")

Policy = Callable[[str, LLMRequest], Any]


def state(goals: str = "listen", attention: str = "the room", emotions: str = "calm",
          context: list[str] | None = None) -> dict[str, Any]:
    """A cognitive-state dict as the model would return it."""
    return {"goals": goals, "context": context or [], "attention": attention, "emotions": emotions}


def turn(*actions: tuple[str, str] | tuple[str, str, str], **state_fields: Any) -> dict[str, Any]:
    """An ActionBatch reply: ``turn(("TALK", "hi", "Ben"), ("THINK", "hm"))`` (DONE is appended)."""
    acts = [{"type": a[0], "content": a[1], "target": a[2] if len(a) > 2 else ""} for a in actions]
    return {"actions": [*acts, {"type": "DONE"}], "cognitive_state": state(**state_fields)}


DONE_TURN = turn()


def agent_of(request: LLMRequest) -> str:
    """The agent an action request is for (from the closing ``Now act as <name>`` line)."""
    return _ACT_AS.findall(action_prompt(request))[-1]


def action_prompt(request: LLMRequest) -> str:
    """The user message of an action request (re-asks append messages after it)."""
    for message in reversed(request.messages):
        if message.role == "user" and _ACT_AS.search(message.content):
            return message.content
    raise AssertionError(f"not an action prompt: {request.messages[-1].content[-200:]!r}")


def new_section(request: LLMRequest) -> str:
    """The ``# New since your last turn`` section of an action prompt."""
    user = action_prompt(request)
    return user.split("# New since your last turn", 1)[1].split("Now act as", 1)[0].strip()


def is_action_request(request: LLMRequest) -> bool:
    return request.schema_name == "ActionTurn"


def policy_backend(policy: Policy, *, latency_s: float = 0.0,
                   random_latency: tuple[float, float] | None = None) -> ScriptedBackend:
    """A backend answering each action request with ``policy(agent_name, request)``.

    ``random_latency=(lo, hi)`` sleeps a random time drawn from an *unseeded* generator before each
    answer, so the order in which concurrent calls finish varies from run to run.
    """
    rng = random.Random()

    async def respond(request: LLMRequest) -> Any:
        if random_latency is not None:
            await asyncio.sleep(rng.uniform(*random_latency))
        return policy(agent_of(request), request)

    return ScriptedBackend(respond, latency_s=latency_s)


def policy_client(policy: Policy, **kwargs: Any) -> tuple[LLMClient, ScriptedBackend]:
    backend = policy_backend(policy, **kwargs)
    return LLMClient(backend), backend


def done_client() -> tuple[LLMClient, ScriptedBackend]:
    """Every agent just ends its turn."""
    return policy_client(lambda name, req: DONE_TURN)


def make_world(names: list[str], policy: Policy, *, world_cls: type[TinyWorld] = TinyWorld,
               **kwargs: Any) -> tuple[TinyWorld, ScriptedBackend]:
    """A world at :data:`START` with agents ``names`` driven by ``policy``."""
    latency = {k: kwargs.pop(k) for k in ("latency_s", "random_latency") if k in kwargs}
    client, backend = policy_client(policy, **latency)
    world = world_cls("Room", [TinyPerson(n) for n in names], initial_datetime=START, client=client, **kwargs)
    return world, backend


class VirtualClock:
    """Stands in for the ``time`` module of the world and its engine (both read only ``perf_counter``),
    so their timing metrics are exact: time moves only when a test moves it."""

    def __init__(self) -> None:
        self.now = 0.0

    def perf_counter(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def install(self, monkeypatch: pytest.MonkeyPatch) -> VirtualClock:
        for module in ("tinytroupe.environment.engine", "tinytroupe.environment.stepping",
                       "tinytroupe.environment.dependency"):
            monkeypatch.setattr(importlib.import_module(module), "time", self)
        return self


class Lockstep:
    """An async responder whose calls return only once ``group`` of them are in flight together (then
    ``clock``, when given, moves one second), counting the most calls ever in flight at once.

    Overlap is shown by :attr:`peak`, not by timing. A caller that never has ``group`` calls in
    flight gets each answer after ``patience_s``, so its test fails on :attr:`peak` instead of hanging.
    """

    def __init__(self, reply: Callable[[LLMRequest], Any], group: int, *, clock: VirtualClock | None = None,
                 patience_s: float = 2.0) -> None:
        self.reply = reply
        self.group = group
        self.clock = clock
        self.patience_s = patience_s
        self.calls = 0
        self.in_flight = 0
        self.peak = 0
        self._arrived = 0
        self._gate: asyncio.Event | None = None

    async def __call__(self, request: LLMRequest) -> Any:
        self.calls += 1
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        if self._gate is None:
            self._gate = asyncio.Event()
        gate = self._gate
        self._arrived += 1
        if self._arrived == self.group:
            self._arrived, self._gate = 0, None
            if self.clock is not None:
                self.clock.advance(1.0)
            gate.set()
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(gate.wait(), self.patience_s)
        finally:
            self.in_flight -= 1
        return self.reply(request)


class TurnCounter(TurnComponent):
    """A turn component with state: how many turns it saw (saved and restored with the agent)."""

    name = "counter"

    def __init__(self) -> None:
        self.turns = 0

    async def act(self, turn: Turn) -> None:
        self.turns += 1

    def get_state(self) -> dict[str, Any]:
        return {"turns": self.turns}

    def set_state(self, state: dict[str, Any]) -> None:
        self.turns = int(state.get("turns", 0))


class TableEmbedder(BaseEmbedder):
    """Known vectors for known texts; ``unknown`` for any other text (default: the zero vector)."""

    name = "table"

    def __init__(self, table: dict[str, Sequence[float]], *, unknown: Sequence[float] | None = None) -> None:
        self.table = table
        self.unknown = list(unknown) if unknown is not None else [0.0] * self.dim

    @property
    def dim(self) -> int:
        return len(next(iter(self.table.values())))

    def _embed(self, texts: list[str]) -> Any:
        return np.array([self.table.get(t, self.unknown) for t in texts], dtype=np.float32)


def run_in_threads(work: Callable[[int], object], count: int) -> list[BaseException]:
    """``work(0)`` ... ``work(count - 1)``, each in its own thread, all started before any is joined; what
    they raised (a thread's exception would otherwise only be printed)."""
    errors: list[BaseException] = []

    def guarded(n: int) -> None:
        try:
            work(n)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(n,)) for n in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def heard(agent: TinyPerson) -> list[tuple[str | None, str]]:
    """(source, content) of every CONVERSATION stimulus in ``agent``'s memory."""
    return [(i.source, i.content) for i in agent.memory.items()
            if i.kind == "stimulus" and i.type == "CONVERSATION"]


__all__ = [
    "DONE_TURN",
    "START",
    "Lockstep",
    "TableEmbedder",
    "TurnCounter",
    "VirtualClock",
    "action_prompt",
    "agent_of",
    "done_client",
    "heard",
    "is_action_request",
    "make_world",
    "new_section",
    "policy_backend",
    "policy_client",
    "run_in_threads",
    "state",
    "turn",
]
