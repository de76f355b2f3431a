"""The scripted backend for tests: mapping keys match the newest stimuli, blocking responders overlap in
parallel steps (and the parallel metrics say so honestly), and the demo model's answers follow the seed."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from helpers import DONE_TURN, START, turn
from typer.testing import CliRunner

from tinytroupe.agent import TinyPerson
from tinytroupe.cli import app
from tinytroupe.config import Settings
from tinytroupe.environment import TinyWorld
from tinytroupe.events import EventBus
from tinytroupe.llm import LLMClient, LLMRequest, ScriptedBackend
from tinytroupe.llm.demo import SchemaFiller, demo_backend
from tinytroupe.llm.scripted import NEW_STIMULI_MARKER
from tinytroupe.llm.types import Message
from tinytroupe.scenario import load_scenario
from tinytroupe.scenario.study import study_client, study_executor, study_settings

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def talks(actions: list[Any] | None) -> list[str]:
    return [a.content for a in actions or [] if a.type == "TALK"]


# ------------------------------------------------------------------------------------ mapping keys

def test_mapping_keys_answer_what_is_new_not_what_was_heard_before() -> None:
    backend = ScriptedBackend({"price": turn(("TALK", "Too expensive", "")),
                               "weather": turn(("TALK", "Lovely day", "")), "*": DONE_TURN})
    ana = TinyPerson("Ana", client=LLMClient(backend))
    assert talks(ana.listen_and_act("What about the price?", return_actions=True)) == ["Too expensive"]
    # "price" is still in the prompt (recent events), but only the new question decides the answer
    second = ana.listen_and_act("And the weather?", return_actions=True)
    assert "What about the price?" in backend.requests[-1].messages[-1].content
    assert talks(second) == ["Lovely day"]
    assert talks(ana.act(return_actions=True)) == []  # nothing new: the "*" fallback


def test_the_agent_prompt_opens_its_new_stimuli_with_the_marker_line() -> None:
    ana = TinyPerson("Ana")
    ana.listen("hello")
    lines = ana.build_prompt()[-1].content.splitlines()
    assert NEW_STIMULI_MARKER in lines  # a whole line, as ScriptedBackend's mapping keys need


# ------------------------------------------------------------------------------------ blocking responders

N_AGENTS = 6
SLEEP_S = 0.2


class SlowServer:
    """A sync responder that blocks like a server answering in ``SLEEP_S``, counting calls in flight and
    the calls that ran on the event loop's thread (a worker thread has no running loop)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.in_flight = 0
        self.peak = 0
        self.on_loop: list[bool] = []

    def __call__(self, request: LLMRequest) -> dict[str, Any]:
        with self.lock:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            self.on_loop.append(_loop_is_running())
        try:
            time.sleep(SLEEP_S)
        finally:
            with self.lock:
                self.in_flight -= 1
        return DONE_TURN

    def reset(self) -> None:
        self.peak, self.on_loop = 0, []


def _loop_is_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def slow_world(server: SlowServer, **backend_kwargs: Any) -> TinyWorld:
    client = LLMClient(ScriptedBackend(server, **backend_kwargs))
    return TinyWorld("Room", [TinyPerson(f"Agent {i}") for i in range(N_AGENTS)], initial_datetime=START,
                     client=client)


def test_a_blocking_sync_responder_overlaps_in_a_parallel_step_and_the_speedup_is_honest() -> None:
    server = SlowServer()
    world = slow_world(server)  # blocking=None: the first calls go to worker threads, timed
    world.run(1)
    step = world.get_parallel_metrics()["steps"][0]
    # Every agent's call was in flight at once, each in a worker thread: none queued behind another.
    assert server.peak == N_AGENTS and server.on_loop == [False] * N_AGENTS
    # Honest: each turn is timed from its own call, so the sum covers every call's sleep, no turn
    # outlasts the step (speed-up at most one per agent), and the speed-up is that sum over the step.
    assert step["turn_time_sum_s"] >= N_AGENTS * SLEEP_S
    assert step["speedup"] == pytest.approx(step["turn_time_sum_s"] / step["wall_s"], rel=0.01)
    assert step["speedup"] <= N_AGENTS

    server.reset()
    world.run(1, parallelize=False)  # the same world, one agent at a time: no speed-up to report
    sequential = world.get_parallel_metrics()["steps"][1]
    assert server.peak == 1
    assert sequential["wall_s"] >= N_AGENTS * SLEEP_S and sequential["speedup"] <= 1.0


def test_a_responder_declared_non_blocking_that_blocks_moves_to_threads(caplog: pytest.LogCaptureFixture) -> None:
    server = SlowServer()
    world = slow_world(server, blocking=False)
    with caplog.at_level(logging.WARNING, logger="tinytroupe.llm.scripted"):
        world.run(1)
    assert "held the event loop" in caplog.text and "blocking=True" in caplog.text
    # The first call ran on the loop and held up the others once; from then on the calls run in threads ...
    assert server.on_loop == [True] + [False] * (N_AGENTS - 1)
    server.reset()
    world.run(1)
    # ... and overlap.
    assert server.on_loop == [False] * N_AGENTS and server.peak == N_AGENTS


# ------------------------------------------------------------------------------------ the demo model's seed

def ask(text: str) -> LLMRequest:
    return LLMRequest(messages=[Message(role="user", content=text)],
                      response_schema={"type": "object", "properties": {"score": {"type": "integer",
                                                                                   "minimum": 1, "maximum": 1000}}})


def test_the_demo_model_answers_by_seed() -> None:
    questions = [ask(f"question {i}") for i in range(20)]
    one = [SchemaFiller(seed=1)(q) for q in questions]
    assert one == [SchemaFiller(seed=1)(q) for q in questions]  # deterministic per seed
    assert one != [SchemaFiller(seed=2)(q) for q in questions]  # another seed, other answers
    assert [SchemaFiller()(q) for q in questions] == [SchemaFiller(seed=None)(q) for q in questions]
    # the seed is part of the identity, so a response cache keeps each seed's answers apart
    keys = {q.cache_key(demo_backend(seed=s).identity()) for q in questions[:1] for s in (None, 1, 2)}
    assert len(keys) == 3


def test_every_demo_turn_says_something() -> None:
    client = LLMClient(demo_backend(seed=5))
    for max_actions in (1, 2, 4):
        for i in range(15):
            ana = TinyPerson(f"Ana {i}", client=client, max_actions_per_turn=max_actions)
            actions = ana.listen_and_act(f"Message number {i}", return_actions=True) or []
            assert actions[-1].type == "DONE" and "TALK" in [a.type for a in actions], actions


def test_the_seed_reaches_the_demo_model_through_the_settings() -> None:
    scenario = load_scenario(EXAMPLES / "focus_group.yaml")
    settings = study_settings(scenario, backend="scripted", seed=7)
    assert settings.simulation.seed == 7
    assert study_client(settings, EventBus()).describe()["demo_seed"] == 7
    # the scenario's own seed when the command line gives none
    assert study_client(study_settings(scenario, backend="scripted"), EventBus()).describe()["demo_seed"] == 42
    ray = study_executor("ray", Settings(openai={"api_type": "scripted"}, simulation={"seed": 7}))
    assert ray.client_spec is not None and ray.client_spec.build().describe()["demo_seed"] == 7  # type: ignore[attr-defined]


def test_cli_seed_changes_what_the_scripted_backend_answers(tmp_path: Path) -> None:
    runner = CliRunner()
    results = {}
    for label, seed in (("a", "1"), ("b", "1"), ("c", "2")):
        out = tmp_path / label
        result = runner.invoke(app, ["run", str(EXAMPLES / "focus_group.yaml"), "--backend", "scripted",
                                     "--seed", seed, "-q", "-o", str(out)])
        assert result.exit_code == 0, result.output
        results[label] = json.loads((out / "results.json").read_text())["results"]
    assert results["a"] == results["b"]  # same seed, same answers
    assert results["a"] != results["c"]  # another seed, other answers ...
    assert sorted(results["a"]) == sorted(results["c"])  # ... from the same three people
