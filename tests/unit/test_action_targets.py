"""A turn's action schema: ``type`` and ``target`` are closed sets (the agent's action types, and the
people it can address), on every backend: scripted, OpenAI-compatible and the embedded model's
skeleton fill-in."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from helpers import START, turn

from tinytroupe.agent import TinyPerson
from tinytroupe.agent.actions import MAX_TARGET_CHOICES, action_batch_model, target_choices
from tinytroupe.devtools.mock_openai_server import MockOpenAIServer
from tinytroupe.environment import TinyWorld
from tinytroupe.errors import LLMOutputError
from tinytroupe.llm import LLMClient, LLMRequest, ScriptedBackend
from tinytroupe.llm.openai_backend import OpenAIBackend
from tinytroupe.llm.skeleton import SkeletonFiller


def _action_schema(request: LLMRequest) -> dict[str, Any]:
    schema = request.response_schema
    assert schema is not None and request.schema_name == "ActionTurn"
    return dict(schema["$defs"]["LLMAction"]["properties"])


def _world(backend: ScriptedBackend) -> TinyWorld:
    world = TinyWorld("Room", [TinyPerson("Ana"), TinyPerson("Ben"), TinyPerson("Cai")], initial_datetime=START,
                      client=LLMClient(backend))
    world.make_everyone_accessible()
    return world


def test_the_schema_of_a_turn_lists_the_people_present() -> None:
    backend = ScriptedBackend(lambda r: turn())
    world = _world(backend)
    world.broadcast("Which bottle would you buy?", source="Moderator")
    world.run(1, parallelize=False, randomize_agents_order=False)
    assert len(backend.requests) == 3
    for request, me in zip(backend.requests, ("Ana", "Ben", "Cai"), strict=True):
        props = _action_schema(request)
        others = sorted({"Ana", "Ben", "Cai"} - {me})
        assert props["target"]["enum"] == ["", *others, "Moderator"]  # never the agent itself
        assert props["type"]["enum"] == ["TALK", "THINK", "REACH_OUT", "DONE"]


def test_an_agent_alone_can_answer_whoever_spoke_to_it() -> None:
    backend = ScriptedBackend([turn(("TALK", "Hello!", "Host"))])
    ana = TinyPerson("Ana", client=LLMClient(backend))
    actions = ana.listen_and_act("Hi Ana", source="Host", return_actions=True)
    assert actions is not None and actions[0].target == "Host"
    assert _action_schema(backend.requests[0])["target"]["enum"] == ["", "Host"]
    assert TinyPerson("Solo").target_choices() == ("",)


@pytest.mark.parametrize(("written", "meant"), [("ben", "Ben"), (" Ben ", "Ben"), ("Ben (colleague)", "Ben")])
def test_the_spelling_of_a_known_name_is_fixed(written: str, meant: str) -> None:
    backend = ScriptedBackend(lambda r: turn(("TALK", "hi", written)))
    world = _world(backend)
    ana = world.get_agent_by_name("Ana")
    assert ana is not None
    actions = ana.act(return_actions=True)
    assert actions is not None and actions[0].target == meant and backend.calls == 1


def test_a_stranger_as_target_is_reasked() -> None:
    backend = ScriptedBackend([turn(("TALK", "hi", "my-phone")), turn(("TALK", "hi", "Ben"))])
    world = _world(backend)
    ana = world.get_agent_by_name("Ana")
    assert ana is not None
    actions = ana.act(return_actions=True)
    assert actions is not None and actions[0].target == "Ben"
    assert backend.calls == 2
    reask = backend.requests[1].messages[-1].content
    assert "target" in reask and "'Ben'" in reask and "my-phone" in reask


def test_a_stranger_every_time_fails_the_turn_with_the_raw_text() -> None:
    backend = ScriptedBackend(lambda r: turn(("TALK", "hi", "Your actions for this turn")))
    world = _world(backend)
    ana = world.get_agent_by_name("Ana")
    assert ana is not None
    with pytest.raises(LLMOutputError) as info:
        ana.act()
    assert "Your actions for this turn" in info.value.raw_text
    assert [i for i in ana.memory.items() if i.kind == "action"] == []  # nothing made up


def test_too_many_people_leave_the_target_free() -> None:
    names = [f"P{i}" for i in range(MAX_TARGET_CHOICES + 1)]
    assert target_choices(names) is None
    assert len(target_choices(names[:-1]) or ()) == MAX_TARGET_CHOICES + 1  # "" and every name
    props = action_batch_model(("TALK", "DONE"), 2, targets=None).model_json_schema()["$defs"]["LLMAction"]
    assert "enum" not in props["properties"]["target"] and props["properties"]["target"]["maxLength"] == 60
    with pytest.raises(ValueError, match="must include ''"):
        action_batch_model(("TALK", "DONE"), 2, targets=("Ana",))


class _Stubborn:
    """A fake small model that always writes the same nonsense, and picks the last option when forced."""

    def __init__(self) -> None:
        self.choices: list[list[str]] = []

    def generate(self, prompt: str, max_tokens: int, stop: Sequence[str]) -> str:
        return "my-phone"

    def choose(self, prompt: str, options: Sequence[str]) -> str:
        self.choices.append(list(options))
        return options[-1]


def test_the_skeleton_fill_in_of_the_embedded_model_keeps_to_the_enum() -> None:
    model = action_batch_model(("TALK", "THINK", "DONE"), 2, targets=target_choices(["Ben", "Cai"]))
    fake = _Stubborn()
    value = SkeletonFiller(fake).fill("Ana: ", model.model_json_schema()).value
    targets = [a["target"] for a in value["actions"]]
    assert targets and all(t in ("", "Ben", "Cai") for t in targets)
    assert ["", "Ben", "Cai"] in fake.choices  # the target was a constrained choice, not free text
    assert all(a["type"] in ("TALK", "THINK", "DONE") for a in value["actions"])
    model.model_validate(value)


async def test_the_openai_path_sends_the_same_enum_as_a_strict_schema() -> None:
    with MockOpenAIServer(replies=[turn(("TALK", "hi", "Ben"))]) as server:
        backend = OpenAIBackend(model="m", base_url=server.base_url, api_key="sk-test-0123456789abcdef")
        try:
            world = _world(ScriptedBackend([]))
            ana = world.get_agent_by_name("Ana")
            assert ana is not None
            ana.client = LLMClient(backend)
            actions = await ana.aact(return_actions=True)
        finally:
            await backend.aclose()
        fmt = server.chat_requests()[-1]["response_format"]
    assert actions is not None and actions[0].target == "Ben"
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
    action = fmt["json_schema"]["schema"]["$defs"]["LLMAction"]
    assert action["properties"]["target"]["enum"] == ["", "Ben", "Cai"]
    assert action["properties"]["type"]["enum"] == ["TALK", "THINK", "REACH_OUT", "DONE"]
    assert action["additionalProperties"] is False
