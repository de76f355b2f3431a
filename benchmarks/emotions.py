"""Emotions in agents' turns: what they cost a turn, in calls, time, prompt and schema.

All on the scripted backend, in this process (no server): the figures are tinytroupe's own work.

- ``extra_calls_per_turn``: model calls per turn of agents with an emotions component, minus one
  (the turn's own). Goal 0: the appraisal rides on the turn's answer (``appraisal = "turn"``) or
  comes from the rule (``"rule"``); both modes are counted (``extra_calls_per_turn_rule``).
- ``turn_overhead_ms``: the median turn of an agent with emotions (appraisal from the answer, the
  prompt line, memory tagging, the event) minus the median turn of the same agent without; each
  measured turn is a fresh agent's second turn (built and warmed outside the timing), alternating
  the two kinds so drift cancels. ``turn_ms_plain`` / ``turn_ms_emotions`` are the medians.
- ``prompt_chars_added`` / ``schema_chars_added``: what emotions add to a turn's messages (the "How
  you feel" line and the system rule) and to its JSON schema (the three appraisal fields).
- ``congruent_recall_overhead_ms``: the median recall over 1,000 tagged memories with a mood minus
  without (the per-row congruence term).

Usage::

    python benchmarks/emotions.py [--quick]

``--quick``: 60 turns of each kind and 30 recalls (well under a minute); otherwise 400 and 200.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if importlib.util.find_spec("tinytroupe") is None:
    sys.path.insert(0, str(ROOT))

from tinytroupe.agent import TinyPerson  # noqa: E402
from tinytroupe.agent.emotions import EmotionComponent  # noqa: E402
from tinytroupe.agent.memory import AgentMemory, EpisodicMemory  # noqa: E402
from tinytroupe.agent.memory.affect import Mood  # noqa: E402
from tinytroupe.config import EmotionsSettings, MemorySettings, Settings, using_settings  # noqa: E402
from tinytroupe.embeddings import HashingEmbedder  # noqa: E402
from tinytroupe.llm import LLMClient, ScriptedBackend  # noqa: E402

REPLY = {"actions": [{"type": "THINK", "content": "That was rude of him."}, {"type": "DONE"}],
         "cognitive_state": {"goals": "finish the plan", "context": ["a meeting"], "attention": "Bo",
                             "emotions": "annoyed", "pleasure_change": -2, "arousal_change": 2,
                             "dominance_change": -1}}


def _agent(emotions: EmotionsSettings | None) -> tuple[TinyPerson, ScriptedBackend]:
    backend = ScriptedBackend([REPLY], cycle=True)
    agent = TinyPerson("Ana", client=LLMClient(backend))
    if emotions is not None:
        agent.add_component(EmotionComponent(settings=emotions))
    agent.listen_and_act("Good morning.", source="Bo")  # warm: the first turn builds schemas and messages
    return agent, backend


def _turn_ms(agent: TinyPerson) -> float:
    start = time.perf_counter()
    agent.listen_and_act("You wrecked the plan, you fool.", source="Bo")
    return (time.perf_counter() - start) * 1000.0


def turns(rounds: int) -> dict[str, Any]:
    plain_ms: list[float] = []
    emotion_ms: list[float] = []
    calls = {"turn": 0, "rule": 0}
    for i in range(rounds):
        for kind in (("plain", "turn") if i % 2 == 0 else ("turn", "plain")):
            agent, backend = _agent(None if kind == "plain" else EmotionsSettings(appraisal="turn"))
            before = len(backend.requests)
            (plain_ms if kind == "plain" else emotion_ms).append(_turn_ms(agent))
            if kind == "turn":
                calls["turn"] += len(backend.requests) - before
        agent, backend = _agent(EmotionsSettings(appraisal="rule"))
        before = len(backend.requests)
        agent.listen_and_act("You wrecked the plan, you fool.", source="Bo")
        calls["rule"] += len(backend.requests) - before
    _, plain_backend = _agent(None)
    _, emo_backend = _agent(EmotionsSettings())
    plain_req, emo_req = plain_backend.requests[-1], emo_backend.requests[-1]
    return {
        "extra_calls_per_turn": calls["turn"] / rounds - 1.0,
        "extra_calls_per_turn_rule": calls["rule"] / rounds - 1.0,
        "turn_ms_plain": statistics.median(plain_ms),
        "turn_ms_emotions": statistics.median(emotion_ms),
        "turn_overhead_ms": statistics.median(emotion_ms) - statistics.median(plain_ms),
        "prompt_chars_added": sum(len(m.content) for m in emo_req.messages)
        - sum(len(m.content) for m in plain_req.messages),
        "schema_chars_added": len(json.dumps(emo_req.response_schema)) - len(json.dumps(plain_req.response_schema)),
    }


def recall(rounds: int, items: int = 1000) -> dict[str, Any]:
    mem = AgentMemory("Ana", settings=MemorySettings(embedder="hash"), embedder=HashingEmbedder(128),
                      episodic=EpisodicMemory(max_size=items * 2))
    tags = {}
    for i in range(items):
        item = mem.episodic.add(kind="stimulus", type="CONVERSATION", content=f"remark {i} about the plan ({i % 7})")
        tags[item.id] = ((i % 11) / 5.0 - 1.0, (i % 7) / 3.0 - 1.0, (i % 5) / 2.0 - 1.0)
    mem.tag_affect(tags, importance_boost=3.0)
    mem.sync_index()
    mood = Mood((-0.5, 0.5, -0.2), 1.0)
    plain, moody = [], []
    for _ in range(rounds):
        for target, arg in ((plain, None), (moody, mood)):
            start = time.perf_counter()
            mem.retrieve("what happened to the plan", rehearse=False, mood=arg)
            target.append((time.perf_counter() - start) * 1000.0)
    return {"recall_ms_plain": statistics.median(plain), "recall_ms_mood": statistics.median(moody),
            "congruent_recall_overhead_ms": statistics.median(moody) - statistics.median(plain)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (well under a minute)")
    args = parser.parse_args()
    rounds, recalls = (60, 30) if args.quick else (400, 200)
    with using_settings(Settings(memory={"embedder": "hash"})):
        figures = {**turns(rounds), **recall(recalls)}
    figures = {k: round(v, 4) if isinstance(v, float) else v for k, v in figures.items()}
    for name, value in figures.items():
        print(f"{name:32} {value}")
    print(json.dumps({"benchmark": "emotions", "quick": args.quick, "rounds": rounds, **figures}))


if __name__ == "__main__":
    main()
