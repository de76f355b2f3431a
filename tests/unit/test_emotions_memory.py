"""Emotional memory: PAD at encoding on memories, the importance bonus of strong feelings (and so longer
keeping), and mood-congruent recall changing the ranking by exactly ``weight · congruence``."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import pytest
from helpers import TableEmbedder

from tinytroupe.agent.memory import AgentMemory, EpisodicMemory
from tinytroupe.agent.memory.affect import MAX_DISTANCE, Mood, emotional_bonus, intensity
from tinytroupe.config import MemorySettings
from tinytroupe.llm import LLMClient, ScriptedBackend

ANGRY = (-0.8, 0.7, -0.2)
HAPPY = (0.8, 0.2, 0.3)


def _memory(**settings: Any) -> AgentMemory:
    cfg = MemorySettings(embedder="hash", recency_weight=0.0, importance_weight=0.0, **settings)
    table = {"the shouting in the meeting": [1.0, 0.0], "the cake in the meeting": [1.0, 0.0],
             "meeting": [1.0, 0.0], "the weather in the meeting": [0.9, 0.44]}
    return AgentMemory("Ana", settings=cfg, embedder=TableEmbedder(table, unknown=[0.0, 1.0]))


def _congruence(mood: tuple[float, float, float], pad: tuple[float, float, float]) -> float:
    return 1.0 - math.dist(mood, pad) / MAX_DISTANCE


def test_mood_congruence_reorders_equally_relevant_memories() -> None:
    mem = _memory()
    angry = mem.episodic.add(kind="stimulus", type="CONVERSATION", content="the shouting in the meeting")
    happy = mem.episodic.add(kind="stimulus", type="CONVERSATION", content="the cake in the meeting")
    mem.tag_affect({angry.id: ANGRY, happy.id: HAPPY})
    refs = lambda hits: [h.ref for h in hits]  # noqa: E731
    # Without a mood the two tie and the newer wins (the documented tie-break).
    assert refs(mem.retrieve("meeting", top_k=2, rehearse=False)) == [f"E{happy.id}", f"E{angry.id}"]
    upset = Mood((-0.6, 0.6, -0.2), weight=1.0)
    hits = mem.retrieve("meeting", top_k=2, rehearse=False, mood=upset)
    assert refs(hits) == [f"E{angry.id}", f"E{happy.id}"]
    # the score is the plain score plus weight * congruence, exactly
    assert hits[0].score - hits[1].score == pytest.approx(_congruence(upset.pad, ANGRY) - _congruence(upset.pad, HAPPY))
    cheerful = Mood((0.7, 0.3, 0.2), weight=1.0)
    assert refs(mem.retrieve("meeting", top_k=2, rehearse=False, mood=cheerful)) == [f"E{happy.id}", f"E{angry.id}"]
    assert refs(mem.retrieve("meeting", top_k=2, rehearse=False, mood=Mood(upset.pad, 0.0))) == \
        [f"E{happy.id}", f"E{angry.id}"]


def test_congruence_outweighs_relevance_only_past_the_weight_that_says_so() -> None:
    mem = _memory()
    near = mem.episodic.add(kind="stimulus", type="CONVERSATION", content="the cake in the meeting")
    angry = mem.episodic.add(kind="stimulus", type="CONVERSATION", content="the weather in the meeting")
    mem.tag_affect({near.id: HAPPY, angry.id: ANGRY})
    upset = (-0.8, 0.7, -0.2)
    # relevance: the exact match scores 3 (weight 3, normalised 1), the other 0; congruence gap c:
    gap = _congruence(upset, ANGRY) - _congruence(upset, HAPPY)
    needed = 3.0 / gap
    low = mem.retrieve("meeting", top_k=2, rehearse=False, mood=Mood(upset, needed * 0.9))
    high = mem.retrieve("meeting", top_k=2, rehearse=False, mood=Mood(upset, needed * 1.1))
    assert low[0].ref == f"E{near.id}" and high[0].ref == f"E{angry.id}"


def test_untagged_memories_count_as_encoded_neutral() -> None:
    mem = _memory()
    plain = mem.episodic.add(kind="stimulus", type="CONVERSATION", content="the shouting in the meeting")
    tagged = mem.episodic.add(kind="stimulus", type="CONVERSATION", content="the cake in the meeting")
    mem.tag_affect({tagged.id: HAPPY})
    calm = Mood((0.0, 0.0, 0.0), 1.0)
    hits = mem.retrieve("meeting", top_k=2, rehearse=False, mood=calm)
    assert hits[0].ref == f"E{plain.id}"
    assert hits[0].score - hits[1].score == pytest.approx(1.0 - _congruence((0, 0, 0), HAPPY))


def test_strong_feelings_raise_importance_when_rated_and_after() -> None:
    mem = _memory(importance_scoring="rule")
    client = LLMClient(ScriptedBackend([]))
    text = "Ben told me the project is cancelled and the team will be split up next month"
    before = mem.episodic.add(kind="stimulus", type="CONVERSATION", content=text, source="Ben")
    mem.tag_affect({before.id: ANGRY}, importance_boost=3.0)
    asyncio.run(mem.arate_new(client))
    base = 4.0  # the rule's value for a conversation
    assert mem.episodic.importance_of(before.id) == pytest.approx(base + 3.0 * intensity(ANGRY))
    after = mem.episodic.add(kind="stimulus", type="CONVERSATION", content=text + ".", source="Ben")
    asyncio.run(mem.arate_new(client))
    mem.tag_affect({after.id: HAPPY}, importance_boost=2.0)
    assert mem.episodic.importance_of(after.id) == pytest.approx(base + emotional_bonus(HAPPY, 2.0))
    assert mem.affect_of(after.id) == HAPPY


def test_a_strongly_felt_memory_outlives_equal_ones_under_relevance_cleanup() -> None:
    mem = AgentMemory("Ana", settings=MemorySettings(embedder="hash", importance_scoring="rule",
                                                     consolidate_before_eviction=False),
                      episodic=EpisodicMemory(max_size=4, cleanup_strategy="relevance", eviction_batch=1,
                                              protect_recent=1))
    client = LLMClient(ScriptedBackend([]))
    items = [mem.episodic.add(kind="stimulus", type="CONVERSATION", content=f"news number {i} about the budget")
             for i in range(4)]
    mem.tag_affect({items[0].id: ANGRY}, importance_boost=3.0)  # the oldest, but felt strongly
    asyncio.run(mem.arate_new(client))
    for i in range(3):
        mem.episodic.add(kind="stimulus", type="CONVERSATION", content=f"more news {i} about the budget")
        asyncio.run(mem.arate_new(client))
    held = [i.id for i in mem.episodic.items()]
    assert items[0].id in held and not {items[1].id, items[2].id, items[3].id} & set(held)
    assert len(mem.affect) == 1  # tags leave with their memories


def test_tags_leave_with_evicted_memories_and_round_trip_with_the_state() -> None:
    mem = AgentMemory("Ana", settings=MemorySettings(embedder="hash", consolidate_before_eviction=False),
                      episodic=EpisodicMemory(max_size=3, cleanup_strategy="fifo", eviction_batch=1))
    first = mem.episodic.add(kind="stimulus", type="VISUAL", content="a storm")
    second = mem.episodic.add(kind="stimulus", type="VISUAL", content="a rainbow")
    mem.tag_affect({first.id: ANGRY, second.id: HAPPY}, importance_boost=1.0)
    assert "affect" not in AgentMemory("Bo").to_state()  # nothing tagged: the state is as before emotions
    copy = AgentMemory("Ana", settings=MemorySettings(embedder="hash"))
    copy.load_state(mem.to_state())
    assert copy.affect_of(first.id) == ANGRY and copy.affect.bonus(second.id) == pytest.approx(intensity(HAPPY))
    for word in ("wind", "sun"):
        mem.episodic.add(kind="stimulus", type="VISUAL", content=word)
    assert mem.affect_of(first.id) is None and mem.affect_of(second.id) == HAPPY
    mem.tag_affect({999: ANGRY})  # not held: not tagged
    assert mem.affect_of(999) is None
