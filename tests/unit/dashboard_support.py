"""A small scripted world for the dashboard's tests: two agents who say hello each step."""

from __future__ import annotations

from tinytroupe.agent import TinyPerson
from tinytroupe.environment import TinyWorld
from tinytroupe.llm import LLMClient, ScriptedBackend

HELLO = {"actions": [{"type": "TALK", "content": "Hello there!"}, {"type": "DONE"}]}


def cafe(latency_s: float = 0.0, name: str = "Cafe") -> tuple[TinyWorld, ScriptedBackend]:
    """Ana and Ben in a world stepping sequentially, each turn one scripted TALK (``latency_s`` per call)."""
    backend = ScriptedBackend([HELLO], cycle=True, latency_s=latency_s)
    world = TinyWorld(name, [TinyPerson("Ana"), TinyPerson("Ben")], communication_display=False,
                      client=LLMClient(backend), parallelize=False)
    world.make_everyone_accessible()
    return world, backend


def step_ends(events: list[dict]) -> list[int]:
    """The steps whose end was published, in order."""
    return [e["step"] for e in events if e["kind"] == "step" and e["phase"] == "end"]
