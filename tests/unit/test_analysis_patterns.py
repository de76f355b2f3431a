"""Pattern detection on constructed traces with known answers: centralities against networkx, planted topics,
planted opinion trajectories, repetition, sentiment, and the sources a run is read from."""

from __future__ import annotations

import json
from itertools import permutations

import networkx as nx
import numpy as np
import pytest

from tinytroupe.analysis.convergence import trend_of
from tinytroupe.analysis.network import centralities, interaction_graph, undirected_weighted
from tinytroupe.analysis.patterns import detect_patterns
from tinytroupe.analysis.run_events import EventRecorder, RunEvents
from tinytroupe.analysis.sentiment import sentiment_score, sentiment_trends
from tinytroupe.embeddings import HashingEmbedder
from tinytroupe.errors import ConfigError, InvalidArgument, InvalidArgumentType, NotFound
from tinytroupe.events import ActionEvent, EmotionEvent, EventBus, StimulusEvent

EMB = HashingEmbedder(256)


def heard(speaker: str, listener: str, step: int = 1, text: str = "hello") -> dict:
    return {"kind": "stimulus", "stimulus_type": "CONVERSATION", "source": speaker, "agent": listener,
            "content": text, "step": step}


def talk(agent: str, text: str, step: int = 1, target: str | None = None) -> dict:
    return {"kind": "action", "action_type": "TALK", "agent": agent, "content": text, "step": step, "target": target}


EDGES = [("Ana", "Ben", 3), ("Ben", "Cy", 1), ("Cy", "Ana", 2), ("Ana", "Dee", 1), ("Dee", "Ben", 5), ("Eve", "Ana", 1)]


def test_centralities_match_networkx_computed_directly() -> None:
    events = [heard(a, b) for a, b, w in EDGES for _ in range(w)]
    graph = interaction_graph(RunEvents.load(events))
    expected = nx.DiGraph()
    expected.add_weighted_edges_from(EDGES)
    assert sorted(graph.edges(data="weight")) == sorted(expected.edges(data="weight"))
    table = centralities(graph)
    for node, value in nx.degree_centrality(expected).items():
        assert table.loc[node, "degree"] == pytest.approx(value, abs=1e-4)
    for node, value in nx.betweenness_centrality(expected).items():
        assert table.loc[node, "betweenness"] == pytest.approx(value, abs=1e-4)
    eigen = nx.eigenvector_centrality_numpy(undirected_weighted(expected), weight="weight")
    for node, value in eigen.items():
        assert table.loc[node, "eigenvector"] == pytest.approx(abs(value), abs=1e-4)
    assert table.loc["Ben", "heard"] == 3 + 5 and table.loc["Ana", "out_degree"] == 4
    # Each edge keeps the events it rests on.
    assert len(graph["Dee"]["Ben"]["ids"]) == 5


def test_eigenvector_of_a_graph_in_pieces_has_unit_length_and_isolated_agents_score_zero() -> None:
    events = [heard("A", "B"), heard("B", "C"), heard("X", "Y"), talk("Lone", "nobody hears me")]
    table = centralities(interaction_graph(RunEvents.load(events)))
    assert float(np.linalg.norm(table["eigenvector"])) == pytest.approx(1.0, abs=1e-3)
    assert table.loc["Lone", "eigenvector"] == 0.0
    assert table.loc["Lone", "said"] == 1


def test_talk_targets_are_the_network_when_no_speech_was_heard() -> None:
    graph = interaction_graph(RunEvents.load([talk("Ana", "hi", target="Ben"), talk("Ben", "yo", target="Ana"),
                                              talk("Ben", "all of you")]))
    assert sorted(graph.edges(data="weight")) == [("Ana", "Ben", 1), ("Ben", "Ana", 1)]


PLANTED = {
    "coffee": ["the coffee beans roast aroma is rich", "rich coffee aroma from the roast beans",
               "roast beans make the coffee aroma rich", "coffee beans with a rich roast aroma"],
    "price": ["the price is far too high money wise", "too high a price for the money",
              "money matters and the price is too high", "the price for that money is too high"],
    "weather": ["rain and cold wind outside today", "cold rain and wind outside all today",
                "outside today the wind and rain are cold", "wind rain cold outside today"],
}


def _planted_events() -> tuple[list[dict], list[str]]:
    events, truth = [], []
    for i in range(4):
        for topic, lines in PLANTED.items():
            events.append(talk(["Ana", "Ben", "Cy"][len(events) % 3], lines[i], step=i + 1))
            truth.append(topic)
    return events, truth


def _agrees(found: list[int], truth: list[str]) -> bool:
    names = sorted(set(truth))
    return any([dict(zip(names, p, strict=True))[t] for t in truth] == found
               for p in permutations(range(len(names))))


def test_topic_clusters_recover_planted_topics_without_and_with_k() -> None:
    events, truth = _planted_events()
    report = detect_patterns(events, embedder=EMB)
    assert len(report.topics) == 3
    assert _agrees(list(report.utterances["topic"]), truth)
    keywords = " ".join(report.topics["keywords"])
    assert "coffee" in keywords or "roast" in keywords
    assert "price" in keywords or "money" in keywords
    fixed = detect_patterns(events, embedder=EMB, topics=2)
    assert len(fixed.topics) == 2
    assert int(fixed.topics["size"].sum()) == len(events)
    with pytest.raises(InvalidArgument):
        from tinytroupe.analysis.topics import cluster_vectors

        cluster_vectors(np.eye(3), k=0)


def _trajectory(converge: bool) -> list[dict]:
    own = {"Ana": "coffee beans roast aroma rich", "Ben": "price money far too high cost",
           "Cy": "rain cold wind outside weather"}
    shared = "we all agree the new menu is good value"
    events = []
    for step in range(1, 6):
        for agent, text in own.items():
            # Converging: each step one more agent moves to the shared sentence; diverging: the reverse.
            moved = step - 1 if converge else 5 - step
            events.append(talk(agent, shared if list(own).index(agent) < moved else text, step=step))
    return events


def test_convergence_and_divergence_on_planted_trajectories() -> None:
    converging = detect_patterns(_trajectory(True), embedder=EMB)
    assert converging.trend == "converging"
    spreads = list(converging.convergence["spread"])
    assert spreads[0] > 0.5 and spreads[-1] == pytest.approx(0.0, abs=1e-4)
    diverging = detect_patterns(_trajectory(False), embedder=EMB)
    assert diverging.trend == "diverging"
    still = [talk(a, t, step=s) for s in range(1, 4) for a, t in (("Ana", "coffee roast"), ("Ben", "rain wind"))]
    assert detect_patterns(still, embedder=EMB).trend == "stable"
    assert trend_of([0.5], [1]) == "unknown"


def test_repetition_finds_self_repeats_and_echoes() -> None:
    events = [talk("Ana", "I could see myself using it every day.", 1), talk("Ben", "The price is too high.", 1),
              talk("Ana", "i could see myself using it, every day!", 2), talk("Cy", "The price is too high", 2),
              talk("Ana", "Something else entirely about the weather", 3)]
    report = detect_patterns(events, embedder=EMB)
    pairs = {(int(r.id), int(r.repeats), bool(r.same_agent)) for r in report.repetition.itertuples()}
    assert pairs == {(2, 0, True), (3, 1, False)}
    by_agent = report.repetition_by_agent.set_index("agent")
    assert by_agent.loc["Ana", "self_repeats"] == 1 and by_agent.loc["Cy", "echoes"] == 1
    assert by_agent.loc["Ana", "repetition_rate"] == pytest.approx(1 / 3, abs=1e-3)
    assert any(f["title"] == "Repetition" and f["evidence"] == [0, 2] for f in report.findings())


def test_sentiment_lexicon_and_trends_with_emotions() -> None:
    assert sentiment_score("I love this, it is great") > 0.5
    assert sentiment_score("I don't like it at all") < 0
    assert sentiment_score("not bad") > 0
    assert sentiment_score("The meeting is at noon") == 0.0
    with pytest.raises(InvalidArgumentType):
        sentiment_score(3)  # type: ignore[arg-type]
    events = [talk("Ana", "great, I love it", 1), talk("Ana", "terrible and too expensive", 2),
              {"kind": "emotion", "agent": "Ana", "step": 2, "pleasure": -0.5, "arousal": 0.4, "dominance": 0.0,
               "label": "anxious"}]
    trends = sentiment_trends(RunEvents.load(events)).set_index("step")
    assert trends.loc[1, "sentiment"] > 0 > trends.loc[2, "sentiment"]
    assert trends.loc[2, "emotion"] == "anxious" and trends.loc[2, "ids"] == [1, 2]
    assert "emotion" in detect_patterns(events, embedder=EMB).charts()


def test_sources_run_file_jsonl_recorder_and_their_errors(tmp_path) -> None:
    from tinytroupe.storage.trace_store import TraceStore

    bus = EventBus()
    recorder = EventRecorder(bus)
    path = tmp_path / "run.sqlite"
    store = TraceStore(path)
    store.start_run("x")
    bus.subscribe(store)
    bus.publish(ActionEvent(agent="Ana", action_type="TALK", content="hi", step=1))
    bus.publish(StimulusEvent(agent="Ben", stimulus_type="CONVERSATION", content="hi", source="Ana", step=1))
    bus.publish(EmotionEvent(agent="Ben", pleasure=0.1, arousal=0.0, dominance=0.0, label="calm"))
    store.end_run()
    store.close()
    from_file = RunEvents.load(path)
    from_bus = RunEvents.load(recorder)
    assert [e["id"] for e in from_file] == [e["id"] for e in from_bus] == [0, 1, 2]
    assert from_file.by_id(1)["source"] == "Ana"
    log = tmp_path / "trace.jsonl"
    log.write_text("".join(json.dumps(e) + "\n" for e in from_bus.events), encoding="utf-8")
    assert [e["kind"] for e in RunEvents.load(log)] == ["action", "stimulus", "emotion"]
    log.write_text('{"kind": "action"}\nnot json\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=":2"):
        RunEvents.load(log)
    with pytest.raises(InvalidArgumentType, match="EventRecorder"):
        RunEvents.load(bus)
    with pytest.raises(NotFound):
        from_bus.by_id(99)
    with pytest.raises(ConfigError):
        RunEvents.load(tmp_path / "missing.jsonl")


def test_reports_render_as_markdown_and_html() -> None:
    events, _ = _planted_events()
    events += [heard("Ana", "Ben"), heard("Ben", "Cy"), heard("Cy", "Ana"), heard("Ana", "Cy")]
    report = detect_patterns(events, embedder=EMB)
    page = report._repr_html_()
    assert "<svg" in page and "Findings" in page and "http" not in page
    markdown = report.to_markdown()
    assert markdown.startswith("# Patterns") and "| agent |" in markdown
    summary = report.summary()
    assert summary["topics"] == 3 and summary["utterances"] == 12
    for finding in report.findings():
        assert finding["evidence"] and all(i in report.run for i in finding["evidence"])
