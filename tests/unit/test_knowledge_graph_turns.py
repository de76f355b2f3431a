"""Knowledge graphs in agent turns: off by default (no extra calls), beliefs extracted in batches within a
budget, the "What you know" section, a shared world graph, and persistence in a real run file with
replays that add nothing twice and resumes that read the graph back."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from dashboard_support import works_at

from tinytroupe import control
from tinytroupe.agent import TinyPerson
from tinytroupe.agent.knowledge import BeliefExtraction, KnowledgeRecall, add_knowledge_graph
from tinytroupe.environment import TinyWorld
from tinytroupe.grounding.graph import InMemoryGraphStore, SharedGraph, SQLiteGraphStore, graph_store_for
from tinytroupe.grounding.graph.retrieval import SECTION_TITLE
from tinytroupe.llm import LLMClient, LLMRequest, ScriptedBackend
from tinytroupe.llm.tokens import estimate_tokens
from tinytroupe.storage.knowledge_graphs import KnowledgeGraphRows

_DONE = {"actions": [{"type": "DONE"}],
         "cognitive_state": {"goals": "work", "context": ["office"], "attention": "news", "emotions": "calm"}}
_IDS = re.compile(r"^(\w+#m\d+): ", re.MULTILINE)


class Recorder:
    """A scripted model that writes down what it was asked: turns end at once; extraction reads 'X works
    at Y' sentences of the texts (:func:`dashboard_support.works_at`)."""

    def __init__(self) -> None:
        self.purposes: list[str] = []
        self.prompts: list[str] = []

    def __call__(self, request: LLMRequest) -> dict[str, Any]:
        text = "\n".join(str(m.content) for m in request.messages)
        self.prompts.append(text)
        if request.schema_name != "GraphExtraction":
            self.purposes.append("action")
            return _DONE
        self.purposes.append("graph_extraction")
        return works_at(request)


@pytest.fixture(autouse=True)
def _no_leftover_simulation() -> Any:
    yield
    control.reset()


def test_agents_make_no_extra_calls_unless_the_components_are_added() -> None:
    model = Recorder()
    ana = TinyPerson("Ana", client=LLMClient(ScriptedBackend(model)))
    assert ana.get_component("beliefs") is None and ana.get_component("knowledge") is None
    for _ in range(3):
        ana.listen_and_act("Ben Cruz works at Acme. Carla works at Initech.")
    assert model.purposes == ["action"] * 3

    recall_only = TinyPerson("Ben", client=LLMClient(ScriptedBackend(model)))
    recall_only.add_component(KnowledgeRecall([InMemoryGraphStore()]))
    recall_only.listen_and_act("Ben Cruz works at Acme.")
    assert model.purposes == ["action"] * 4, "recall reads graphs; it never calls the model"


def test_beliefs_are_extracted_in_batches_within_the_call_budget() -> None:
    model = Recorder()
    ana = TinyPerson("Ana", client=LLMClient(ScriptedBackend(model)))
    ana.add_component(BeliefExtraction(batch_size=3, max_items_per_call=4, max_calls=2))
    ana.listen_and_act("Ben Cruz works at Acme.")  # stimulus + DONE: 1 memory read (DONE is no fact)
    assert model.purposes == ["action"]
    ana.listen_and_act("Carla works at Initech.")
    ana.listen_and_act("Dan works at Globex.")
    assert model.purposes.count("graph_extraction") == 1, "three new memories make one batch"
    beliefs = ana.get_component("beliefs")
    assert isinstance(beliefs, BeliefExtraction)
    graph = beliefs.graph
    assert [r.predicate for r in graph.relations()] == ["works_at"] * 3
    assert graph.entity("Ben Cruz").sources == [f"Ana#m{ana.memory.items()[0].id}"]
    for i in range(6):
        ana.listen_and_act(f"Eve{i} works at Hooli.")
    assert model.purposes.count("graph_extraction") == 2, "max_calls caps the calls over the agent's life"
    assert beliefs.get_state()["calls"] == 2


def test_the_what_you_know_section_shows_beliefs_about_the_new_stimuli_within_budget() -> None:
    model = Recorder()
    ana = TinyPerson("Ana", client=LLMClient(ScriptedBackend(model)))
    add_knowledge_graph(ana, batch_size=1, budget_tokens=40)
    ana.listen_and_act("Ben Cruz works at Acme.")
    ana.listen_and_act("Have you seen Ben Cruz?")
    last_turn = [p for p, kind in zip(model.prompts, model.purposes, strict=True) if kind == "action"][-1]
    assert SECTION_TITLE in last_turn and "Ben Cruz (person) works at Acme (organisation)." in last_turn
    graph = ana.get_component("beliefs").graph  # type: ignore[union-attr]
    for i in range(30):
        graph.add_relation("Ben Cruz", "knows", f"Colleague number {i}")
    ana.listen_and_act("Ben Cruz again.")
    last_turn = [p for p, kind in zip(model.prompts, model.purposes, strict=True) if kind == "action"][-1]
    shown = last_turn.split(SECTION_TITLE, 1)[1].split("\n\n", 1)[0]
    assert "Ben Cruz (person) works at Acme (organisation)." in shown and "more not shown)" in shown
    assert "Colleague number 29" not in shown
    assert estimate_tokens(shown.strip().lstrip(":").strip()) <= 40, "the section keeps to its budget"


def _office_day(path: Path) -> tuple[control.Simulation, dict[str, TinyPerson], SharedGraph, Recorder]:
    model = Recorder()
    sim = control.begin(path, backend=ScriptedBackend(model), quiet=True)
    people = {n: TinyPerson(n) for n in ("Ana", "Ben")}
    world = TinyWorld("Office", list(people.values()), initial_datetime=datetime(2025, 3, 3, 9))
    assert sim.context is not None
    shared = SharedGraph(graph_store_for(sim.context, "world:Office"))
    for person in people.values():
        add_knowledge_graph(person, world_graph=shared, batch_size=1)
    world.broadcast("Ana Lima works at Acme.")
    world.run(1)
    world.broadcast("Ben Cruz works at Initech.")
    world.run(1)
    shared.settled()
    return sim, people, shared, model


def test_graphs_live_in_the_run_file_and_a_replay_adds_nothing_twice(tmp_path: Path) -> None:
    path = tmp_path / "run.sqlite"
    sim, people, shared, model = _office_day(path)
    assert people["Ana"].context.knowledge_graphs is sim.knowledge_graphs
    beliefs = people["Ana"].get_component("beliefs")
    assert isinstance(beliefs, BeliefExtraction) and isinstance(beliefs.graph, SQLiteGraphStore)
    assert model.purposes.count("graph_extraction") == 4
    assert shared.store.counts() == (4, 2)
    control.end()

    rows = KnowledgeGraphRows(path, "default")
    assert rows.graphs() == ["agent:Ana", "agent:Ben", "world:Office"]
    first = {g: ([n.id for n in rows.nodes(g)], [e.id for e in rows.edges(g)]) for g in rows.graphs()}
    assert rows.counts("agent:Ana") == (4, 2) and rows.counts("world:Office") == (4, 2)
    assert [n.step for n in rows.nodes("agent:Ana")] == [1, 1, 2, 2]
    rows.close()

    _, _, _, model2 = _office_day(path)  # a replay on the same file, served from its cache
    control.end()
    rows = KnowledgeGraphRows(path, "default")
    assert {g: ([n.id for n in rows.nodes(g)], [e.id for e in rows.edges(g)]) for g in rows.graphs()} == first
    rows.close()
    assert model2.purposes == [], "every call of the replay came from the run file's cache"

    reopened = KnowledgeGraphRows(path, "default")
    at_one = SQLiteGraphStore.open("agent:Ana", reopened, upto_step=1)
    assert [e.name for e in at_one.entities()] == ["Ana Lima", "Acme"]
    whole = SQLiteGraphStore.open("world:Office", reopened)
    assert [p.text() for p in whole.paths("Ana Lima", "Acme")] == ["Ana Lima -works_at-> Acme"]
    reopened.close()


def test_a_restored_component_reads_its_graph_back_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "run.sqlite"
    _, people, _, _ = _office_day(path)
    state = people["Ben"].get_component("beliefs").get_state()  # type: ignore[union-attr]
    control.end()

    sim = control.begin(path, backend=ScriptedBackend(Recorder()), quiet=True)
    ben = TinyPerson("Ben")
    TinyWorld("Office", [ben])
    restored = BeliefExtraction()
    restored.set_state(state)
    ben.add_component(restored)
    assert sim.context is not None
    graph = restored.graph_of(ben)
    assert isinstance(graph, SQLiteGraphStore) and graph.counts() == (4, 2)
    assert restored.extracted_upto == state["extracted_upto"] > 0
