"""Worlds, agents and the default client take their defaults from the current settings."""

from __future__ import annotations

import threading
from datetime import datetime

from tinytroupe.agent import TinyPerson
from tinytroupe.config import Settings, current_settings, set_settings, using_settings
from tinytroupe.environment import TinyWorld
from tinytroupe.llm import LLMClient, ScriptedBackend


def _client() -> LLMClient:
    return LLMClient(ScriptedBackend({"*": {"actions": [{"type": "DONE"}], "cognitive_state": {}}}))


def test_world_defaults_come_from_the_simulation_section() -> None:
    settings = Settings(simulation={"parallel_agent_actions": False, "max_workers": 3,
                                    "parallel_execution_timeout": 12.5, "collect_parallel_metrics": False,
                                    "on_agent_error": "stop", "seed": 99})
    with using_settings(settings):
        world = TinyWorld("W", client=_client(), initial_datetime=datetime(2025, 1, 1))
    assert (world.parallelize, world.max_workers, world.agent_timeout) == (False, 3, 12.5)
    assert (world.collect_parallel_metrics, world.on_agent_error, world.seed) == (False, "stop", 99)


def test_explicit_world_arguments_beat_the_settings() -> None:
    with using_settings(Settings(simulation={"parallel_agent_actions": False, "seed": 1})):
        world = TinyWorld("W", client=_client(), parallelize=True, seed=5)
    assert world.parallelize is True and world.seed == 5


def test_agent_defaults_come_from_the_settings() -> None:
    settings = Settings(simulation={"max_actions_per_turn": 2},
                        cognition={"recent_window": 7, "prompt_token_budget": 900,
                                   "max_content_display_length": 50})
    with using_settings(settings):
        agent = TinyPerson("Ana", client=_client())
    assert (agent.max_actions_per_turn, agent.recent_window, agent.prompt_token_budget) == (2, 7, 900)
    agent.listen("x" * 200, source="Ben")
    assert "x" * 60 not in agent.build_prompt()[1].content


def test_using_settings_is_scoped_to_its_context() -> None:
    outer = current_settings()
    seen: list[int] = []
    with using_settings(Settings(simulation={"max_actions_per_turn": 3})):
        thread = threading.Thread(target=lambda: seen.append(current_settings().simulation.max_actions_per_turn))
        thread.start()
        thread.join()
        assert current_settings().simulation.max_actions_per_turn == 3
    assert current_settings() is outer
    # a new thread does not inherit a context variable: it sees the process settings
    assert seen == [outer.simulation.max_actions_per_turn]


def test_set_settings_replaces_the_process_settings() -> None:
    previous = set_settings(Settings(cognition={"recent_window": 4}))
    try:
        assert TinyPerson("Ana", client=_client()).recent_window == 4
    finally:
        set_settings(previous)
