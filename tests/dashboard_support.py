"""Small scripted worlds for the dashboard's tests: two agents who say hello each step; two who keep a
knowledge graph of who works where."""

from __future__ import annotations

import re
from typing import Any

from tinytroupe.agent import TinyPerson
from tinytroupe.agent.knowledge import add_knowledge_graph
from tinytroupe.environment import TinyWorld
from tinytroupe.grounding.graph import SharedGraph, graph_store_for
from tinytroupe.llm import LLMClient, LLMRequest, ScriptedBackend

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


DONE = {"actions": [{"type": "DONE"}]}


def works_at(request: LLMRequest) -> dict[str, Any]:
    """A scripted model: turns end at once; a graph extraction reads the texts' 'X works at Y' sentences."""
    if request.schema_name != "GraphExtraction":
        return DONE
    text = "\n".join(str(m.content) for m in request.messages)
    entities: dict[str, dict[str, str]] = {}
    relations = []
    for source, line in re.findall(r"^(\w+#m\d+): (.*)$", text, re.MULTILINE):
        for who, where in re.findall(r"([A-Z]\w+(?: [A-Z]\w+)?) works at ([A-Z]\w+)", line):
            entities[who] = {"name": who, "type": "person"}
            entities[where] = {"name": where, "type": "organisation"}
            relations.append({"subject": who, "predicate": "works_at", "object": where, "source": source})
    return {"entities": list(entities.values()), "relations": relations}


def office(client: LLMClient | None = None) -> tuple[TinyWorld, SharedGraph]:
    """Ana and Ben in "Office", each extracting beliefs after every new memory and sharing a world graph
    (in the run file under a simulation: pass no ``client`` then)."""
    people = [TinyPerson("Ana"), TinyPerson("Ben")]
    world = TinyWorld("Office", people, communication_display=False, parallelize=False, client=client)
    shared = SharedGraph(graph_store_for(world.context, "world:Office"))
    for person in people:
        add_knowledge_graph(person, world_graph=shared, batch_size=1)
    return world, shared
