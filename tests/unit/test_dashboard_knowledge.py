"""The dashboard's Knowledge endpoints on a real server on 127.0.0.1: a live world's shared graph and each
agent's beliefs (built by scripted extractions) as JSON and SVG, bounded by max_nodes, 404s that say why,
the dashboard never settling a shared graph's pending extractions, and a run file's graphs read back
read-only."""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from dashboard_support import cafe, office, works_at

from tinytroupe import control
from tinytroupe.agent.knowledge import BeliefExtraction
from tinytroupe.dashboard.knowledge import MAX_NODES
from tinytroupe.dashboard.server import DashboardServer, open_dashboard
from tinytroupe.errors import InvalidState
from tinytroupe.grounding.graph import SharedGraph
from tinytroupe.llm import LLMClient, ScriptedBackend
from tinytroupe.storage.knowledge_graphs import KnowledgeGraphRows, NodeRow


def get(link: DashboardServer, path: str, **params: object) -> httpx.Response:
    return httpx.get(f"http://127.0.0.1:{link.port}{path}", params=params, timeout=20,
                     headers={"X-TinyTroupe-Token": link.token})


def beliefs_of(world: object, name: str) -> BeliefExtraction:
    found = world.get_agent_by_name(name).get_component("beliefs")  # type: ignore[attr-defined]
    assert isinstance(found, BeliefExtraction)
    return found


@pytest.fixture
def live() -> Iterator[tuple[DashboardServer, object, SharedGraph]]:
    world, shared = office(LLMClient(ScriptedBackend(works_at)))
    link = open_dashboard(world)
    try:
        yield link, world, shared
    finally:
        link.close()


def run_steps(link: DashboardServer, world: object, *facts: str) -> None:
    for fact in facts:
        world.broadcast(fact)  # type: ignore[attr-defined]
        link.run(1).join(30)
        assert link.controller is not None and link.controller.state == "finished"


def test_before_any_extraction_only_the_empty_world_graph_is_there(live: tuple) -> None:
    link, _, _ = live
    listing = get(link, "/api/knowledge").json()
    assert listing["graphs"] == [{"name": "world:Office", "kind": "world", "owner": "Office", "entities": 0,
                                  "relations": 0, "pending": 0}] and listing["message"] is None
    for path in ("/api/knowledge/agents/Ana", "/api/knowledge/agents/Ana/svg"):
        answer = get(link, path)
        assert answer.status_code == 404 and "Ana" in answer.json()["detail"] and "yet" in answer.json()["detail"]
    empty = get(link, "/api/knowledge/world").json()
    assert empty["nodes"] == [] and empty["edges"] == [] and empty["name"] == "world:Office"
    stranger = get(link, "/api/knowledge/agents/Zoe")
    assert stranger.status_code == 404 and "Ana" in stranger.json()["detail"]  # who is there
    other_world = get(link, "/api/knowledge/world", world="Cafe")
    assert other_world.status_code == 404 and "Office" in other_world.json()["detail"]


def test_a_world_without_graphs_says_how_to_get_one() -> None:
    world, _ = cafe()
    link = open_dashboard(world)
    try:
        listing = get(link, "/api/knowledge").json()
        assert listing["graphs"] == [] and "add_knowledge_graph" in listing["message"]
        answer = get(link, "/api/knowledge/world/svg")
        assert answer.status_code == 404 and "no knowledge graph of any world" in answer.json()["detail"]
        assert get(link, "/api/knowledge/agents/Ben").status_code == 404
    finally:
        link.close()


def test_a_live_worlds_graphs_as_json_and_svg(live: tuple) -> None:
    link, world, shared = live
    run_steps(link, world, "Ana Lima works at Acme.", "Ben Cruz works at Initech.")
    ana = beliefs_of(world, "Ana").graph
    listing = {g["name"]: g for g in get(link, "/api/knowledge").json()["graphs"]}
    assert set(listing) == {"agent:Ana", "agent:Ben", "world:Office"}
    assert (listing["agent:Ana"]["entities"], listing["agent:Ana"]["relations"]) == ana.counts() == (4, 2)
    assert listing["world:Office"]["owner"] == "Office" and listing["world:Office"]["kind"] == "world"

    data = get(link, "/api/knowledge/agents/Ana").json()
    assert data["name"] == "agent:Ana" and data["entities"] == 4
    assert sorted(n["label"] for n in data["nodes"]) == sorted(e.name for e in ana.entities())
    by_id = {n["id"]: n["label"] for n in data["nodes"]}
    assert sorted((by_id[e["from"]], e["label"], by_id[e["to"]]) for e in data["edges"]) == [
        ("Ana Lima", "works_at", "Acme"), ("Ben Cruz", "works_at", "Initech")]

    picture = get(link, "/api/knowledge/agents/Ana/svg")
    assert picture.status_code == 200 and picture.headers["content-type"].startswith("image/svg+xml")
    assert picture.text.startswith("<svg") and "Ana&#x27;s beliefs" in picture.text
    assert sorted(re.findall(r"<title>([^<]+) \(", picture.text)) == sorted(e.name for e in ana.entities())
    assert "default-src 'self'" in picture.headers["content-security-policy"]

    whole = get(link, "/api/knowledge/world", world="Office").json()
    assert (whole["entities"], whole["relations"]) == shared.store.counts()
    assert "World graph of Office" in get(link, "/api/knowledge/world/svg").text


def test_a_label_xml_cannot_hold_still_gives_a_picture(live: tuple) -> None:
    """Labels are the model's words: a control character or a lone surrogate in one must not turn the
    picture into a 500 or into a document the page cannot parse."""
    import xml.etree.ElementTree as ET

    link, world, _ = live
    run_steps(link, world, "Ana Lima works at Acme.")
    beliefs_of(world, "Ana").graph.add_relation("Page\x0cbreak", "mentions", "Acme\ud800")
    picture = get(link, "/api/knowledge/agents/Ana/svg")
    assert picture.status_code == 200
    labels = [t.text for t in ET.fromstring(picture.content).iter("{http://www.w3.org/2000/svg}text")]
    assert "Page\ufffdbreak" in labels and "Ana Lima" in labels


def test_with_several_worlds_a_world_graph_needs_its_name() -> None:
    from tinytroupe.agent import TinyPerson
    from tinytroupe.agent.knowledge import add_knowledge_graph
    from tinytroupe.environment import TinyWorld
    from tinytroupe.grounding.graph import InMemoryGraphStore

    client = LLMClient(ScriptedBackend(works_at))  # one bus for both worlds
    office_world, _ = office(client)
    lab = TinyWorld("Lab", [TinyPerson("Cy")], communication_display=False, client=client)
    add_knowledge_graph(lab.agents[0], world_graph=SharedGraph(InMemoryGraphStore("world:Lab")))
    link = open_dashboard([office_world, lab])
    try:
        unsaid = get(link, "/api/knowledge/world/svg")
        assert unsaid.status_code == 422 and "several worlds have a graph (Lab, Office)" in unsaid.json()["detail"]
        assert get(link, "/api/knowledge/world", world="Lab").json()["name"] == "world:Lab"
    finally:
        link.close()


def test_max_nodes_bounds_the_views_and_is_capped(live: tuple) -> None:
    link, world, _ = live
    run_steps(link, world, "Ana Lima works at Acme. Ben Cruz works at Acme.")
    one = get(link, "/api/knowledge/agents/Ana", max_nodes=1).json()
    assert one["entities"] == 3 and one["shown"] == {"entities": 1, "relations": 0}
    assert [n["label"] for n in one["nodes"]] == ["Acme"], "the best-connected entity is kept"
    assert get(link, "/api/knowledge/agents/Ana/svg", max_nodes=2).text.count("<circle cx=") == 2 + 2  # + legend
    for bad in (0, MAX_NODES + 1):
        for path in ("/api/knowledge/agents/Ana", "/api/knowledge/world/svg"):
            refused = get(link, path, max_nodes=bad)
            assert refused.status_code == 422 and f"between 1 and {MAX_NODES}" in refused.json()["detail"]


def test_reading_the_world_graph_never_settles_its_pending_extractions(live: tuple) -> None:
    link, world, shared = live
    run_steps(link, world, "Ana Lima works at Acme.")
    waiting, merged = shared.pending(), shared.store.counts()
    assert waiting == 2, "both agents' extractions of step 1 wait for step 2"
    listed = get(link, "/api/knowledge").json()["graphs"]
    assert [g["pending"] for g in listed if g["kind"] == "world"] == [2]
    assert get(link, "/api/knowledge/world").json()["entities"] == merged[0]
    assert shared.pending() == waiting and shared.store.counts() == merged


def test_a_run_files_graphs_are_read_back_without_writing_to_it(tmp_path: Path) -> None:
    path = tmp_path / "run.sqlite"
    control.begin(path, backend=ScriptedBackend(works_at), quiet=True)
    try:
        world, shared = office()
        for fact in ("Ana Lima works at Acme.", "Ben Cruz works at Initech."):
            world.broadcast(fact)
            world.run(1)
        shared.settled()
    finally:
        control.end()
    rows = KnowledgeGraphRows(path, "default")
    expected = {g: rows.counts(g) for g in rows.graphs()}
    ben_nodes = sorted(n.label for n in rows.nodes("agent:Ben"))
    rows.close()
    before = hashlib.sha256(path.read_bytes()).hexdigest()

    writer = sqlite3.connect(path, timeout=0)  # a run still writing holds the write lock at times:
    writer.execute("BEGIN IMMEDIATE")  # a dashboard that tried to write would wait for it, then fail
    link = open_dashboard(path)
    try:
        listing = {g["name"]: (g["entities"], g["relations"]) for g in get(link, "/api/knowledge").json()["graphs"]}
        assert listing == expected and set(listing) == {"agent:Ana", "agent:Ben", "world:Office"}
        ben = get(link, "/api/knowledge/agents/Ben").json()
        assert sorted(n["label"] for n in ben["nodes"]) == ben_nodes
        svg = get(link, "/api/knowledge/world/svg").text
        assert "World graph of Office" in svg and "Ana Lima" in svg
        missing = get(link, "/api/knowledge/agents/Zoe")
        assert missing.status_code == 404 and "agent graphs there: Ana, Ben" in missing.json()["detail"]
    finally:
        link.close()
        writer.rollback()
        writer.close()
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before, "the dashboard wrote to the run file"


def test_files_without_graphs_say_so(tmp_path: Path) -> None:
    path = tmp_path / "plain.sqlite"
    control.begin(path, backend=ScriptedBackend(works_at), quiet=True)
    control.end()
    link = open_dashboard(path)
    try:
        assert get(link, "/api/knowledge").json()["graphs"] == []
        assert get(link, "/api/knowledge/agents/Ana").status_code == 404
    finally:
        link.close()
    log = tmp_path / "trace.jsonl"
    log.write_text(json.dumps({"kind": "warning", "code": "x", "message": "m"}) + "\n", encoding="utf-8")
    link = open_dashboard(log)
    try:
        answer = get(link, "/api/knowledge/world/svg")
        assert answer.status_code == 404 and "event log" in answer.json()["detail"]
    finally:
        link.close()


def test_read_only_graph_tables_refuse_writes(tmp_path: Path) -> None:
    path = tmp_path / "kg.sqlite"
    KnowledgeGraphRows(path, "s").close()
    rows = KnowledgeGraphRows(path, "s", readonly=True)
    try:
        assert rows.graphs() == []
        with pytest.raises(InvalidState, match="read-only"):
            rows.write("agent:Ana", [NodeRow(id="e-ana", label="Ana", kind="person")], [])
    finally:
        rows.close()
