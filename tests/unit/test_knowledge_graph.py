"""Knowledge graphs: the merge rule, neighbourhoods and paths, queries, extraction with the scripted
backend (strict validation, re-asks), the "What you know" section within its budget, JSON and SVG."""

from __future__ import annotations

from typing import Any

import pytest

from tinytroupe.embeddings.hashing import HashingEmbedder
from tinytroupe.errors import InvalidArgument, LLMOutputError, NotFound
from tinytroupe.events import LLMCallEvent
from tinytroupe.grounding.graph import (
    GraphExtraction,
    GraphStore,
    InMemoryGraphStore,
    SharedGraph,
    SourceText,
    extract,
    graph_json,
    knowledge_section,
)
from tinytroupe.grounding.graph.merge import entity_id, normalize_name, relation_id
from tinytroupe.grounding.graph.retrieval import knowledge_lines
from tinytroupe.llm import LLMClient, LLMRequest, ScriptedBackend
from tinytroupe.llm.tokens import estimate_tokens
from tinytroupe.visualization.knowledge_graph import graph_svg


def _extraction(entities: list[dict[str, Any]], relations: list[tuple[str, str, str, str]]) -> GraphExtraction:
    return GraphExtraction.model_validate({
        "entities": entities,
        "relations": [{"subject": s, "predicate": p, "object": o, "source": src} for s, p, o, src in relations]})


def test_names_aliases_and_case_merge_into_one_entity_with_a_content_id() -> None:
    g = InMemoryGraphStore("t")
    first = g.add_entity("Ana Lima", type="person", source="m1")
    assert first.id == entity_id("ana lima") and first.id.startswith("e-ana-lima-")
    same = g.add_entity("the ANA LIMA.", source="m2")
    assert same.id == first.id and same.sources == ["m1", "m2"] and same.aliases == []
    with_alias = g.add_entity("Ana", aliases=["Ana Lima"], source="m3")  # an alias names the known entity
    assert with_alias.id == first.id and with_alias.aliases == ["Ana"]
    assert g.find("ana").id == first.id, "the new alias is indexed"
    assert g.counts() == (1, 0)
    other = g.add_entity("Ana Silva", type="person")
    assert other.id != first.id, "a different full name is a different entity"


def test_a_generic_type_is_refined_but_a_specific_one_is_kept() -> None:
    g = InMemoryGraphStore()
    assert g.add_entity("Acme").type == "thing"
    assert g.add_entity("Acme", type="Organisation").type == "organisation"
    assert g.add_entity("acme", type="place").type == "organisation", "the first specific type stays"


def test_the_embedding_rule_merges_similar_names_of_compatible_types_only() -> None:
    plain = InMemoryGraphStore()
    plain.add_entity("Acme Corp", type="organisation")
    plain.add_entity("Acme Corp Ltd", type="organisation")
    assert plain.counts()[0] == 2, "without an embedder only names and aliases merge"

    g = InMemoryGraphStore(embedder=HashingEmbedder(dim=256), similarity_threshold=0.7)
    a = g.add_entity("Acme Corp", type="organisation")
    b = g.add_entity("Acme Corp Ltd", type="organisation")
    assert b.id == a.id and b.aliases == ["Acme Corp Ltd"]
    c = g.add_entity("Acme Corp Tower", type="place")
    assert c.id != a.id, "similar names of incompatible types stay apart"
    assert g.add_entity("Lisbon", type="place").id not in (a.id, c.id)
    with pytest.raises(InvalidArgument, match="threshold"):
        InMemoryGraphStore(embedder=HashingEmbedder(dim=8), similarity_threshold=1.5)


def test_the_same_fact_twice_is_one_relation_with_both_sources() -> None:
    g = InMemoryGraphStore()
    r1 = g.add_relation("Ana", "Works At", "Acme", source="m1")
    r2 = g.add_relation("ana", "works_at", "ACME", source="m2")
    assert r1.id == r2.id == relation_id(g.entity("Ana").id, "works at", g.entity("Acme").id)
    assert r2.sources == ["m1", "m2"] and g.counts() == (2, 1)
    g.add_relation("Ana", "likes", "Acme")
    assert g.counts() == (2, 2), "another predicate is another edge between the same two entities"
    with pytest.raises(InvalidArgument, match="predicate"):
        g.add_relation("Ana", "!!", "Acme")
    with pytest.raises(InvalidArgument, match="empty once normalised"):
        g.add_entity("...")


def test_merging_an_extraction_reports_what_it_did_and_cites_sources() -> None:
    g = InMemoryGraphStore()
    found = _extraction([{"name": "Ana Lima", "type": "person", "aliases": ["Ana"]}, {"name": "Acme"}],
                        [("Ana", "works_at", "Acme", "m1")])
    report = g.merge(found, step=3)
    assert (report.entities_added, report.entities_merged, report.relations_added) == (2, 0, 1)
    again = g.merge(_extraction([{"name": "ana"}, {"name": "Acme", "type": "organisation"}],
                                [("ana", "works at", "Acme", "m2")]), step=4)
    assert (again.entities_added, again.entities_merged, again.relations_added, again.relations_merged) == (0, 2, 0, 1)
    ana = g.entity("Ana")
    assert ana.name == "Ana Lima" and ana.sources == ["m1", "m2"] and ana.step == 3
    assert g.entity("Acme").type == "organisation"
    assert g.query(predicate="works at").relations[0].sources == ["m1", "m2"]


def _chain() -> InMemoryGraphStore:
    g = InMemoryGraphStore()
    g.add_relation("Ana", "works_at", "Acme")
    g.add_relation("Acme", "based_in", "Lisbon")
    g.add_relation("Ben", "lives_in", "Lisbon")
    g.add_relation("Ben", "likes", "Jazz")
    g.add_entity("Zoe", type="person")
    return g


def test_neighbourhoods_walk_both_directions_to_the_depth_asked() -> None:
    g = _chain()
    assert [e.name for e in g.neighbourhood("Acme").entities] == ["Acme", "Lisbon", "Ana"]
    two = g.neighbourhood("Ana", depth=2)
    assert [e.name for e in two.entities] == ["Ana", "Acme", "Lisbon"]
    assert [e.name for e in g.neighbourhood("Ana", depth=3).entities] == ["Ana", "Acme", "Lisbon", "Ben"]
    assert [e.name for e in g.neighbourhood("Ana", depth=0).entities] == ["Ana"]
    assert len(g.neighbourhood("Lisbon", depth=2, limit=1).relations) == 1
    assert g.neighbourhood("Zoe").lines() == ["Zoe (person)."]
    with pytest.raises(NotFound, match="Nobody"):
        g.neighbourhood("Nobody")
    with pytest.raises(InvalidArgument, match="depth"):
        g.neighbourhood("Ana", depth=-1)


def test_paths_are_shortest_first_and_keep_each_relations_direction() -> None:
    g = _chain()
    found = g.paths("Ana", "Jazz")
    assert [p.text() for p in found] == ["Ana -works_at-> Acme -based_in-> Lisbon <-lives_in- Ben -likes-> Jazz"]
    assert g.paths("Ana", "Jazz", max_length=3) == []
    assert g.paths("Ana", "Zoe") == [], "no path is an empty answer, not an error"
    g.add_relation("Ana", "knows", "Ben")
    assert [len(p.relations) for p in g.paths("Ana", "Jazz")] == [2, 4]
    assert len(g.paths("Ana", "Jazz", limit=1)) == 1
    with pytest.raises(InvalidArgument, match="max_length"):
        g.paths("Ana", "Ben", max_length=0)


def test_queries_by_type_predicate_subject_and_object() -> None:
    g = _chain()
    g.add_entity("Ana", type="person")
    g.add_entity("Ben", type="person")
    assert [e.name for e in g.query(type="Person").entities] == ["Ana", "Ben", "Zoe"]
    assert [(r.predicate) for r in g.query(subject="Ben").relations] == ["lives_in", "likes"]
    assert [e.name for e in g.query(predicate="based in").entities] == ["Acme", "Lisbon"]
    assert [r.predicate for r in g.query(object="Lisbon").relations] == ["based_in", "lives_in"]
    assert [r.predicate for r in g.query(object="Lisbon", type="person").relations] == ["lives_in"]
    assert len(g.query(limit=2).entities) == 2
    assert isinstance(g, GraphStore)


def test_mentions_are_whole_words_longest_name_first() -> None:
    g = InMemoryGraphStore()
    g.add_entity("New York", aliases=["NYC"])
    g.add_entity("York")
    g.add_entity("Ana")
    assert [e.name for e in g.mentioned("Ana flew from NYC to York, not New York's suburbs")] == \
        ["Ana", "New York", "York"]
    assert g.mentioned("Banana and anagram") == [], "names match whole words only"


def test_the_knowledge_section_fits_its_budget_and_says_what_it_left_out() -> None:
    g = InMemoryGraphStore()
    for i in range(40):
        g.add_relation("Ana", "knows", f"Person number {i}")
    lines = knowledge_lines([g], "Where is Ana?")
    assert len(lines) == 40
    for budget in (0, 5, 12, 30, 100):
        text = knowledge_section([g], "Where is Ana?", budget_tokens=budget)
        assert estimate_tokens(text) <= budget
    text = knowledge_section([g], "Where is Ana?", budget_tokens=30)
    assert text.splitlines()[0] == "Ana knows Person number 0." and text.endswith("more not shown)")
    assert knowledge_section([g], "Nothing relevant here", budget_tokens=100) == ""


def test_shared_graphs_and_beliefs_are_read_in_order_without_repeats() -> None:
    own, world = InMemoryGraphStore("agent:Ben"), InMemoryGraphStore("world:Office")
    own.add_relation("Ana", "likes", "Jazz")
    world.add_relation("Ana", "likes", "Jazz")
    world.add_relation("Ana", "works_at", "Acme")
    assert knowledge_lines([own, world], "Ana?") == ["Ana likes Jazz.", "Ana works at Acme."]


def test_a_shared_graph_merges_in_step_and_author_order_whatever_the_arrival() -> None:
    def build(order: list[str]) -> list[str]:
        shared = SharedGraph(InMemoryGraphStore("world:W"))
        facts = {"Ben": _extraction([{"name": "Ana"}], []),
                 "Ana": _extraction([{"name": "Ana Lima", "aliases": ["Ana"]}], [])}
        for author in order:
            shared.submit(facts[author], author=author, step=1)
        assert shared.settled(step=1).counts() == (0, 0) and shared.pending() == 2
        return [e.name for e in shared.settled(step=2).entities()]

    assert build(["Ben", "Ana"]) == build(["Ana", "Ben"]) == ["Ana Lima"]


def _answer(entities: list[dict[str, Any]], relations: list[tuple[str, str, str, str]]) -> dict[str, Any]:
    return _extraction(entities, relations).model_dump()


def test_extraction_is_one_structured_call_with_the_template_and_purpose() -> None:
    seen: list[LLMRequest] = []

    def reply(request: LLMRequest) -> dict[str, Any]:
        seen.append(request)
        return _answer([{"name": "Ana", "type": "person"}, {"name": "Acme"}], [("Ana", "works_at", "Acme", "b")])

    client = LLMClient(ScriptedBackend(reply))
    calls: list[LLMCallEvent] = []
    client.bus.subscribe(calls.append, kinds=["llm_call"])
    texts = [SourceText(id="a", text="Hello."), SourceText(id="b", text="Ana works at Acme.")]
    found = extract(client, texts, perspective="Ben", known=["Acme"])
    assert [r.source for r in found.relations] == ["b"]
    prompt = str(seen[0].messages[0].content)
    assert "as Ben experienced it" in prompt and "b: Ana works at Acme." in prompt and "- Acme" in prompt
    assert seen[0].schema_name == "GraphExtraction"
    assert [c.purpose for c in calls] == ["graph_extraction"]


def test_an_invented_entity_or_unknown_source_is_asked_again_then_an_error() -> None:
    bad_entity = _answer([{"name": "Ana"}, {"name": "Ben"}], [("Ana", "knows", "Ben", "t1")])
    bad_entity["entities"] = [{"name": "Ana", "type": "thing", "aliases": []}]
    bad_source = _answer([{"name": "Ana"}, {"name": "Ben"}], [("Ana", "knows", "Ben", "t9")])
    good = _answer([{"name": "Ana"}, {"name": "Ben"}], [("Ana", "knows", "Ben", "t1")])
    client = LLMClient(ScriptedBackend([bad_entity, bad_source, good]), max_reasks=2)
    found = extract(client, [SourceText(id="t1", text="Ana knows Ben.")])
    assert [r.object for r in found.relations] == ["Ben"]

    stubborn = LLMClient(ScriptedBackend([bad_source, bad_source]), max_reasks=1)
    with pytest.raises(LLMOutputError, match="t9"):
        extract(stubborn, [SourceText(id="t1", text="Ana knows Ben.")])
    with pytest.raises(InvalidArgument, match="unique"):
        extract(client, [SourceText(id="x", text="a"), SourceText(id="x", text="b")])
    with pytest.raises(InvalidArgument, match="at least one"):
        extract(client, [])


def test_extraction_is_cut_to_its_bounds() -> None:
    many = _answer([{"name": f"E{i}"} for i in range(5)], [(f"E{i}", "knows", f"E{i + 1}", "t") for i in range(4)])
    found = extract(LLMClient(ScriptedBackend([many])), [SourceText(id="t", text="...")], max_entities=3,
                    max_relations=10)
    assert [e.name for e in found.entities] == ["E0", "E1", "E2"]
    assert [(r.subject, r.object) for r in found.relations] == [("E0", "E1"), ("E1", "E2")]


def test_json_and_svg_views() -> None:
    g = _chain()
    data = graph_json(g)
    assert data["name"] == "graph" and len(data["nodes"]) == 6 and len(data["edges"]) == 4
    assert {"from", "to", "label", "id", "sources"} <= set(data["edges"][0])
    small = graph_json(g, max_nodes=2)
    assert len(small["nodes"]) == 2 and all(e["from"] in {n["id"] for n in small["nodes"]} for e in small["edges"])
    svg = graph_svg(g, title="<Beliefs>")
    assert svg.startswith("<svg") and svg.endswith("</svg>") and "&lt;Beliefs&gt;" in svg
    assert svg.count("<circle") == 6 + 2, "one per entity and one legend swatch per type"
    assert svg == graph_svg(g, title="<Beliefs>"), "a fixed seed draws the same picture"
    assert "based_in" in graph_svg(g.neighbourhood("Acme"))
    assert normalize_name("  The  Big   Apple ") == "big apple"


def test_a_picture_of_labels_with_characters_xml_cannot_hold_is_still_a_picture() -> None:
    """A form feed from a PDF, an escape code or a lone surrogate in a model's answer: the SVG stays
    well-formed (the dashboard's page drops a picture it cannot parse), the character shown as U+FFFD."""
    import xml.etree.ElementTree as ET

    g = InMemoryGraphStore("t")
    g.add_relation("Page\x0cbreak", "mentions\x1b", "Acme\ud800")
    svg = graph_svg(g, title="Ana\x00's beliefs")
    root = ET.fromstring(svg.encode("utf-8"))
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "Ana\ufffd's beliefs" in texts and "Page\ufffdbreak" in texts and "Acme\ufffd" in texts

