"""Shared by the batch-mode tests (OpenAI's and Azure's dialect): replies that tell the agents apart,
fast polling, worlds, and a run killed while its batch waits and then run again."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from helpers import START, turn

from tinytroupe.agent import TinyPerson
from tinytroupe.config import Settings
from tinytroupe.devtools.mock_openai_server import MockOpenAIServer
from tinytroupe.environment import TinyWorld
from tinytroupe.events import Event
from tinytroupe.llm import LLMClient
from tinytroupe.llm.batch import BatchWrapper, find_batch_wrapper
from tinytroupe.llm.factory import build_client

ROOT = Path(__file__).resolve().parents[2]
KEY = "sk-test-0123456789abcdef"
_ACT_AS = re.compile(r"Now act as (.+?): your actions")


def agent_in(body: dict[str, Any]) -> str | None:
    """The agent an action request (a chat body) is for, or None."""
    for message in body.get("messages", []):
        found = _ACT_AS.findall(str(message.get("content", "")))
        if found:
            return str(found[-1])
    return None


def reasked(body: dict[str, Any]) -> bool:
    return any(m.get("role") == "assistant" for m in body.get("messages", []))


def talk(body: dict[str, Any]) -> Any:
    name = agent_in(body)
    return turn(("TALK", f"{name} answers", "")) if name else {"value": "x"}


def fast(client: LLMClient) -> BatchWrapper:
    wrapper = find_batch_wrapper(client)
    wrapper.poll_interval_s = wrapper.max_poll_interval_s = 0.02
    wrapper.collect_window_s = 0.05
    return wrapper


def world_of(client: LLMClient, n: int) -> TinyWorld:
    return TinyWorld("Room", [TinyPerson(f"Agent{i}") for i in range(n)], initial_datetime=START, client=client,
                     communication_display=False)


@contextmanager
def batch_clients(settings_of: Callable[[MockOpenAIServer], dict[str, Any]]) -> Iterator[Callable[..., Any]]:
    """``make(server, **changes)``: a client with the batch layer for ``server`` (``[OpenAI]`` settings from
    ``settings_of``, one attempt per call, ``changes`` on top), its fast-polling wrapper and the batch
    events it publishes; every client made is closed at the end."""
    made: list[LLMClient] = []

    def make(server: MockOpenAIServer, **changes: Any) -> tuple[LLMClient, BatchWrapper, list[Event]]:
        openai = {**settings_of(server), "max_attempts": 1, **changes}
        client = build_client(Settings.model_validate({"openai": openai}))
        made.append(client)
        seen: list[Event] = []
        client.bus.subscribe(seen.append, kinds=["batch"])
        return client, fast(client), seen

    try:
        yield make
    finally:
        for client in made:
            client.close()


def input_lines(server: MockOpenAIServer, batch_id: str) -> list[dict[str, Any]]:
    """The JSONL lines the mock server received as ``batch_id``'s input file."""
    batch = server.state.batch.batch(batch_id)
    assert batch is not None
    data = server.state.batch.content(batch["input_file_id"])
    assert data is not None
    return [json.loads(t) for t in data.decode().splitlines()]


def check_expired_rest_sent_again(server: MockOpenAIServer, wrapper: BatchWrapper, world: TinyWorld,
                                  actions: Any, store: Any, agents: int, kept: int) -> dict[str, Any]:
    """What an expired first batch must leave, in either dialect: every agent answered, the ``kept``
    completed lines kept, only the rest sent again, nothing completed twice, both batches in the run
    file. Returns the second batch."""
    assert world.errors == [] and actions is not None
    assert all(acts[0].content == f"{name} answers" for name, acts in actions[0].items())
    first, second = (server.state.batch.batch(b) for b in wrapper.submitted)
    assert first is not None and second is not None
    assert first["status"] == "expired" and first["request_counts"]["completed"] == kept
    assert second["request_counts"]["total"] == agents - kept  # only the rest
    assert server.stats()["completed_twice"] == 0 and server.stats()["batch_requests_completed"] == agents
    assert [b["status"] for b in store.batches()] == ["expired", "completed"]
    return second


def openai_settings(server: MockOpenAIServer) -> dict[str, Any]:
    return {"api_type": "openai", "model": "m", "base_url": server.base_url, "api_key": KEY}


def azure_settings(server: MockOpenAIServer, deployment: str = "batch-deployment") -> dict[str, Any]:
    """[OpenAI] settings of an Azure resource at the mock server (the same ones the Azure chat path uses)."""
    return {"api_type": "azure", "model": deployment, "azure_endpoint": server.base_url.removesuffix("/v1"),
            "azure_api_key": KEY, "azure_api_version": "2024-10-21"}


_CHILD = """
import json, sys
from datetime import datetime
from tinytroupe import control
from tinytroupe.agent import TinyPerson
from tinytroupe.config import Settings
from tinytroupe.environment import TinyWorld
from tinytroupe.llm.batch import find_batch_wrapper

openai, path = json.loads(sys.argv[1]), sys.argv[2]
sim = control.begin(path, settings=Settings.model_validate({"openai": openai}), quiet=True)
wrapper = find_batch_wrapper(sim.client)
wrapper.poll_interval_s = wrapper.max_poll_interval_s = 0.05
wrapper.collect_window_s = 0.05
world = TinyWorld("Room", [TinyPerson(f"Agent{i}") for i in range(4)], initial_datetime=datetime(2025, 1, 6, 9),
                  communication_display=False)
actions = world.run(1, batch=True, return_actions=True)
control.end()
print(json.dumps({"submitted": wrapper.submitted, "resumed": wrapper.resumed, "errors": len(world.errors),
                  "said": {n: a[0].content for n, a in actions[0].items()}}))
"""


def killed_then_run_again(server: MockOpenAIServer, openai: dict[str, Any], path: Path) -> dict[str, Any]:
    """Run a 4-agent batch step under a simulation, SIGKILL it while its batch waits, run it again;
    returns the second run's report (batches submitted and resumed, errors, what each agent said)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}
    command = [sys.executable, "-c", _CHILD, json.dumps(openai), str(path)]
    first = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not server.stats()["batches"]:
        assert first.poll() is None and time.monotonic() < deadline, "the first run never submitted its batch"
        time.sleep(0.02)
    time.sleep(0.1)  # the batch waits; the run file has it
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert server.stats()["batches"] == {"in_progress": 1}
    second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stderr[-2000:]
    return dict(json.loads(second.stdout.strip().splitlines()[-1]))
