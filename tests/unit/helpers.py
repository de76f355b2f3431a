"""Shared test helpers: scripted backends that answer agent turns and extractions offline.

An agent's action prompt ends with ``Now act as <name>: ...``, so a responder can tell which agent
is asking and tailor its reply (see :func:`agent_of`).
"""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from tinytroupe.agent import TinyPerson
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


def heard(agent: TinyPerson) -> list[tuple[str | None, str]]:
    """(source, content) of every CONVERSATION stimulus in ``agent``'s memory."""
    return [(i.source, i.content) for i in agent.memory.items()
            if i.kind == "stimulus" and i.type == "CONVERSATION"]


__all__ = [
    "DONE_TURN",
    "START",
    "action_prompt",
    "agent_of",
    "done_client",
    "heard",
    "is_action_request",
    "make_world",
    "new_section",
    "policy_backend",
    "policy_client",
    "state",
    "turn",
]
