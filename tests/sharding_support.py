"""What the sharded-executor tests share, in-process (``tests/unit/test_sharded_*``) and on Ray
(``tests/integration/test_ray_executor.py``): a picklable script in which each agent talks to the next,
the world it drives, a variant for agents with emotions and tool use, and what must match between
executors.

The script and its factory travel to the workers (Ray ships them by value: see ``test_ray_executor``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from helpers import START, agent_of, is_action_request

from tinytroupe.agent import TinyPerson
from tinytroupe.config import Settings
from tinytroupe.environment import TinyWorld
from tinytroupe.environment.executors import Executor
from tinytroupe.errors import LLMTransportError
from tinytroupe.events import Event
from tinytroupe.llm import LLMClient, LLMRequest, ScriptedBackend
from tinytroupe.llm.demo import SchemaFiller
from tinytroupe.llm.factory import build_client

NAMES = [f"Agent{i}" for i in range(6)]


class OddError(Exception):
    """Pickles but does not unpickle (a keyword-only constructor argument), like many third-party errors."""

    def __init__(self, message: str, *, code: int) -> None:
        super().__init__(message)
        self.code = code


class NameScript:
    """Picklable responder: each agent TALKs to the next by name; the text hashes the whole prompt, so any
    difference in what a worker's agent sees shows up in the events. Non-action requests get SchemaFiller.
    ``fail`` names agents whose turn fails with a transport error, ``odd`` those whose turn raises
    :class:`OddError`."""

    def __init__(self, names: Sequence[str], *, fail: Sequence[str] = (), odd: Sequence[str] = ()) -> None:
        self.names = list(names)
        self.fail = set(fail)
        self.odd = set(odd)

    def __call__(self, request: LLMRequest) -> Any:
        if not is_action_request(request):
            return SchemaFiller()(request)
        name = agent_of(request)
        if name in self.fail:
            return LLMTransportError(f"scripted failure for {name}")
        if name in self.odd:
            return OddError(f"odd failure for {name}", code=3)
        neighbour = self.names[(self.names.index(name) + 1) % len(self.names)]
        digest = hashlib.sha256(request.canonical_json().encode()).hexdigest()[:10]
        return {"actions": [{"type": "TALK", "content": f"hi {neighbour} ({digest})", "target": neighbour},
                            {"type": "DONE", "content": "", "target": ""}],
                "cognitive_state": {"goals": f"talk to {neighbour}", "context": [digest], "attention": neighbour,
                                    "emotions": "calm"}}


class ScriptFactory:
    """A picklable backend factory (what a ClientSpec ships to workers)."""

    def __init__(self, script: NameScript) -> None:
        self.script = script

    def __call__(self) -> ScriptedBackend:
        return ScriptedBackend(self.script)


def run_world(executor: Executor, script: NameScript, *, steps: int = 3, parallelize: bool = True,
              max_actions: int | None = None, **agent_options: Any) -> tuple[TinyWorld, list[Event], LLMClient]:
    """The :data:`NAMES` in one room after a greeting, ``steps`` steps on ``executor``: the world, every
    event its client published, and the client (``agent_options`` go to each :class:`TinyPerson`)."""
    client = build_client(Settings(), backend=ScriptFactory(script)())
    events: list[Event] = []
    client.bus.subscribe(events.append)
    agents = [TinyPerson(n, max_actions_per_turn=max_actions, **agent_options) for n in NAMES]
    world = TinyWorld("Room", agents, initial_datetime=START, client=client, seed=7, executor=executor,
                      parallelize=parallelize, collect_parallel_metrics=True)
    world.broadcast("Good morning! Tell your neighbour your plans.", "Host")
    world.run(steps, timedelta_per_step=timedelta(minutes=5))
    return world, events, client


#: events published at once on the client's bus, in the order concurrent calls end (locally, that varies)
UNORDERED = {"llm_call", "agent_error"}


def signature(events: list[Event]) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """What must match between executors: every event but timings and process-local numbers; stimuli,
    actions, memory and step events in order, LLM calls and failed turns as a multiset."""
    skip = {"seq", "wall_time", "latency_s", "wall_s", "duration_s"}

    def sig(e: Event) -> tuple[Any, ...]:
        return tuple(sorted((k, repr(v)) for k, v in e.model_dump().items() if k not in skip))
    return ([sig(e) for e in events if e.kind not in UNORDERED],
            sorted(sig(e) for e in events if e.kind in UNORDERED))


class ComponentScript(NameScript):
    """:class:`NameScript` (each TALKs to the next; the text hashes the whole prompt), where Feeler's answers
    appraise (so its PAD state moves) and Writer writes a document with its word processor each turn."""

    def __call__(self, request: LLMRequest) -> Any:
        answer = super().__call__(request)
        if not is_action_request(request) or not isinstance(answer, dict):
            return answer
        name = agent_of(request)
        digest = answer["cognitive_state"]["context"][0]
        if name == "Feeler":
            answer["cognitive_state"].update(pleasure_change=-2, arousal_change=3, dominance_change=-1)
        if name == "Writer":
            write = {"type": "WRITE_DOCUMENT", "target": "",
                     "content": f'{{"title": "Notes {digest}", "content": "plans of the day ({digest})"}}'}
            answer["actions"] = [write, *answer["actions"]]
        return answer


def comparable(events: list[Event]) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """:func:`signature` of a run with tool calls: a tool call's id is random and its wait a timing, in any
    run, local or not."""
    return signature([e.model_copy(update={"call_id": "", "waited_s": 0.0}) if e.kind == "tool_call" else e
                      for e in events])



def usage(client: LLMClient) -> dict[str, Any]:
    """The client's cost figures without their latencies (timings differ between executors)."""
    def strip(row: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in row.items() if k != "latency_s"}
    stats = client.get_cost_stats()
    return {"total": strip(stats["total"]), **{d: {k: strip(v) for k, v in stats[d].items()}
                                                for d in ("by_agent", "by_world", "by_purpose", "by_model")}}
