"""Typed tool arguments in the turn schema (issue 14): the schema's shape, object and text contents,
the unchanged schema of agents without tools, the re-ask, the skeleton filler, llama.cpp grammars and
the OpenAI backend's strict mode and fallback (mock server over real HTTP)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, Field, ValidationError

from tinytroupe.agent import TinyPerson
from tinytroupe.agent.action_schema import compact_schema, typed_argument_key
from tinytroupe.agent.actions import action_turn_spec
from tinytroupe.devtools.mock_openai_server import MockFailure, MockOpenAIServer
from tinytroupe.errors import InvalidArgument
from tinytroupe.llm import LLMClient, ScriptedBackend
from tinytroupe.llm.canonical import encode
from tinytroupe.llm.openai_backend import OpenAIBackend
from tinytroupe.llm.skeleton import SkeletonFiller
from tinytroupe.llm.structured import strict_schema
from tinytroupe.tools import TinyCalendar, TinyEmail, TinyTool, TinyToolUse, TinyWordProcessor, ToolCall, tool_action
from tinytroupe.tools.turn_calls import plan_calls

CORE = ("TALK", "THINK", "REACH_OUT", "DONE")
FIXTURE = Path(__file__).parent / "fixtures" / "turn_schemas_main.json"


class Sum(BaseModel):
    a: int = Field(description="the first number")
    b: int = 0


class Total(BaseModel):
    total: int


class Calculator(TinyTool):
    def __init__(self) -> None:
        super().__init__("calculator", "adds numbers")

    @tool_action("ADD", "add two integers")
    def add(self, call: ToolCall, args: Sum) -> Total:
        return Total(total=args.a + args.b)


def typed_for(*tools: TinyTool) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
    faculty = TinyToolUse(list(tools))
    types = (*CORE, *faculty.actions_definitions())
    return types, typed_argument_key(faculty.action_argument_schemas(), types)


def email_spec(targets: tuple[str, ...] | None = ("", "Ana", "Ben")) -> Any:
    types, typed = typed_for(TinyEmail())
    return action_turn_spec(types, 3, 2000, targets=targets, typed_arguments=typed)


# ---------------------------------------------------------------------------------------- the schema


def test_action_items_are_a_choice_of_the_plain_action_and_one_variant_per_tool_action() -> None:
    spec = email_spec()
    defs = spec.schema["$defs"]
    branches = [b["$ref"].rsplit("/", 1)[-1] for b in spec.schema["properties"]["actions"]["items"]["anyOf"]]
    assert branches == ["LLMAction", "Action_LIST_INBOX", "Action_MARK_READ", "Action_READ_EMAIL",
                        "Action_REPLY_EMAIL", "Action_SEND_EMAIL"]
    # the plain action offers only the types without an argument schema; its content stays text
    assert defs["LLMAction"]["properties"]["type"]["enum"] == list(CORE)
    assert defs["LLMAction"]["properties"]["content"]["type"] == "string"
    send = defs["Action_SEND_EMAIL"]
    assert list(send["properties"]) == ["type", "content", "target"] and send["required"] == ["type", "content"]
    assert send["properties"]["type"] == {"const": "SEND_EMAIL"}
    content = send["properties"]["content"]
    assert content["type"] == "object" and list(content["properties"]) == ["to", "cc", "subject", "body"]
    assert content["required"] == ["to", "subject", "body"]
    assert content["properties"]["to"]["description"] == "recipients' names"
    # compact: no titles, no defaults; strings no longer than the whole content may be
    text = json.dumps(content)
    assert '"title"' not in text and '"default"' not in text
    assert content["properties"]["body"]["maxLength"] == 2000
    # one target schema for all (a long list of people is written once)
    assert defs["ActionTarget"]["enum"] == ["", "Ana", "Ben"]
    assert send["properties"]["target"] == defs["LLMAction"]["properties"]["target"] == {"$ref": "#/$defs/ActionTarget"}


def test_argument_definitions_are_hoisted_under_the_action_name() -> None:
    class Person(BaseModel):
        name: str

    class Invite(BaseModel):
        guests: list[Person]

    schema = compact_schema(Invite.model_json_schema(), "INVITE")
    assert list(schema["$defs"]) == ["INVITE__Person"]
    assert schema["properties"]["guests"]["items"] == {"$ref": "#/$defs/INVITE__Person"}
    typed = typed_argument_key({"INVITE": Invite.model_json_schema()})
    spec = action_turn_spec((*CORE, "INVITE"), 2, typed_arguments=typed)
    assert "INVITE__Person" in spec.schema["$defs"]


def test_schemas_without_properties_and_unknown_actions_are_refused() -> None:
    with pytest.raises(InvalidArgument, match="object schema with properties"):
        typed_argument_key({"X": {"type": "string"}})
    with pytest.raises(InvalidArgument, match="cannot perform: NOPE"):
        action_turn_spec(CORE, 2, typed_arguments=typed_argument_key({"NOPE": Sum.model_json_schema()}))


def test_agents_without_typed_arguments_send_the_schema_of_before_byte_for_byte() -> None:
    # The fixture holds the schemas main built before typed arguments existed (same arguments).
    for case in json.loads(FIXTURE.read_text()):
        types, max_actions, chars, targets = case["args"]
        spec = action_turn_spec(tuple(types), max_actions, chars, targets=tuple(targets) if targets else None)
        assert encode(spec.schema) == case["schema"]
    # an agent without tools, and one whose tools take JSON text, ask with those schemas too
    plain = TinyPerson("Ana", client=LLMClient(ScriptedBackend([])))
    assert plain._typed_arguments() == ()
    untyped = TinyPerson("Ben", client=LLMClient(ScriptedBackend([])))
    untyped.add_mental_faculty(TinyToolUse([Calculator()], typed_arguments=False))
    assert untyped._typed_arguments() == ()
    assert "Content: JSON {a: int" in untyped.build_prompt()[0].content


# ---------------------------------------------------------------------------------------- validation


def test_an_object_content_becomes_json_text_and_text_content_still_works() -> None:
    spec = email_spec()
    answer = {"actions": [
        {"type": "SEND_EMAIL", "content": {"to": ["Ben"], "subject": "Plan", "body": "Could you review it?"}},
        {"type": "SEND_EMAIL", "content": '{"to": ["Ben"], "subject": "Again", "body": "text"}'},
        {"type": "TALK", "content": "Done.", "target": "ben"},
        {"type": "DONE"}]}
    batch = spec.model.model_validate(answer, context=spec.context)
    contents = [a.content for a in batch.actions]
    assert contents[0] == '{"to":["Ben"],"subject":"Plan","body":"Could you review it?"}'
    assert contents[1] == '{"to": ["Ben"], "subject": "Again", "body": "text"}'
    assert batch.actions[2].target == "Ben"
    calls = plan_calls(batch.actions, {a: TinyEmail() for a in ("SEND_EMAIL",)})
    assert [c.error for c in calls] == [None, None] and calls[0].data["subject"] == "Plan"


def test_an_object_content_is_refused_for_an_untyped_action_and_a_too_long_one() -> None:
    spec = email_spec()
    with pytest.raises(ValidationError, match="content of a TALK action must be text"):
        spec.model.model_validate({"actions": [{"type": "TALK", "content": {"a": 1}}]}, context=spec.context)
    # no context saying which actions are typed: an object is refused as before
    with pytest.raises(ValidationError, match="must be text"):
        spec.model.model_validate({"actions": [{"type": "SEND_EMAIL", "content": {"to": ["Ben"]}}]})
    long = {"to": ["Ben"], "subject": "s", "body": "x" * 2100}
    with pytest.raises(ValidationError, match="at most 2000 characters"):
        spec.model.model_validate({"actions": [{"type": "SEND_EMAIL", "content": long}]}, context=spec.context)


def test_an_agent_asks_with_the_typed_schema_and_runs_the_call_from_an_object() -> None:
    reply = {"actions": [{"type": "ADD", "content": {"a": 2, "b": 3}}, {"type": "DONE"}]}
    backend = ScriptedBackend([reply])
    lisa = TinyPerson("Lisa", client=LLMClient(backend)).add_mental_faculty(TinyToolUse([Calculator()]))
    actions = lisa.listen_and_act("What is 2 + 3?", return_actions=True)
    assert actions is not None and actions[0].content == '{"a":2,"b":3}'
    schema = backend.requests[-1].response_schema
    assert schema is not None and "Action_ADD" in schema["$defs"]
    assert lisa.memory.items()[-1].content.endswith('returned: {"total":5}')
    assert "Content: an object {a: int (the first number), b?: int}" in lisa.build_prompt()[0].content


def test_the_reask_for_wrong_arguments_uses_the_same_typed_schema() -> None:
    wrong = {"actions": [{"type": "ADD", "content": {"a": "two"}}, {"type": "DONE"}]}
    right = {"actions": [{"type": "ADD", "content": {"a": 2}}, {"type": "DONE"}]}
    backend = ScriptedBackend([wrong, right])
    lisa = TinyPerson("Lisa", client=LLMClient(backend)).add_mental_faculty(TinyToolUse([Calculator()]))
    lisa.listen_and_act("What is 2 + 0?")
    first, second = backend.requests[0], backend.requests[1]
    assert second.response_schema == first.response_schema and "Action_ADD" in (second.response_schema or {})["$defs"]
    echoed = json.loads(second.messages[-2].content)  # the first answer, arguments shown as an object
    assert echoed["actions"][0]["content"] == {"a": "two"}
    assert "Expected content: an object {a: int" in second.messages[-1].content
    assert lisa.memory.items()[-1].content.endswith('returned: {"total":2}')


def test_the_switch_is_saved_with_the_faculty() -> None:
    faculty = TinyToolUse([Calculator()], typed_arguments=False)
    assert faculty.to_spec()["typed_arguments"] is False
    assert TinyToolUse.from_spec(faculty.to_spec()).typed_arguments is False
    assert TinyToolUse.from_spec({k: v for k, v in faculty.to_spec().items() if k != "typed_arguments"}).typed_arguments


# ---------------------------------------------------------------------------------------- decoders


class PickSendEmail:
    """A fake model for the skeleton filler: picks SEND_EMAIL, then writes plausible values."""

    def __init__(self) -> None:
        self.types_offered: list[list[str]] = []

    def generate(self, prompt: str, max_tokens: int, stop: Sequence[str]) -> str:
        if prompt.endswith('"type": "'):
            return "SEND_EMAIL" if '"actions": [{' in prompt[-40:] else "DONE"
        return "Ben" if prompt.endswith('["') else "Launch plan"

    def choose(self, prompt: str, options: Sequence[str]) -> str:
        if "SEND_EMAIL" in options:
            self.types_offered.append(list(options))
        return "]" if "]" in options else options[0]


def test_the_skeleton_filler_writes_a_typed_variant_the_tool_accepts() -> None:
    spec = email_spec()
    result = SkeletonFiller(PickSendEmail()).fill("Ana: ", spec.schema)
    first = result.value["actions"][0]
    assert first["type"] == "SEND_EMAIL" and isinstance(first["content"], dict)
    assert set(first["content"]) == {"to", "cc", "subject", "body"}
    assert result.value["actions"][-1]["type"] == "DONE"  # the last item is still forced to DONE
    batch = spec.model.model_validate(result.value, context=spec.context)
    calls = plan_calls(batch.actions, {"SEND_EMAIL": TinyEmail()})
    assert calls and all(c.error is None for c in calls)


@pytest.mark.parametrize("tool", [TinyEmail, TinyCalendar, TinyWordProcessor])
def test_llama_cpp_converts_the_typed_schema_of_each_core_tool_to_a_grammar(tool: type[TinyTool]) -> None:
    llama_cpp = pytest.importorskip("llama_cpp")
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    types, typed = typed_for(tool())
    spec = action_turn_spec(types, 3, 2000, targets=("", "Ana", "Ben"), typed_arguments=typed)
    gbnf = json_schema_to_gbnf(json.dumps(spec.schema))
    for action, _ in typed:
        assert f'\\"{action}\\"' in gbnf  # each tool action's type is a literal of the grammar
    assert llama_cpp.LlamaGrammar.from_string(gbnf, verbose=False) is not None


def test_strict_mode_closes_every_variant() -> None:
    strict = strict_schema(email_spec().schema)
    send = strict["$defs"]["Action_SEND_EMAIL"]
    assert send["additionalProperties"] is False and send["required"] == ["type", "content", "target"]
    content = send["properties"]["content"]
    assert content["additionalProperties"] is False and content["required"] == ["to", "cc", "subject", "body"]


async def test_a_server_refusing_the_richer_schema_falls_back_for_that_call() -> None:
    spec = email_spec()
    reply = {"actions": [{"type": "SEND_EMAIL", "content": {"to": ["Ben"], "subject": "Plan", "body": "Hi"}},
                         {"type": "DONE"}]}
    with MockOpenAIServer(replies=[reply, reply]) as server:
        server.add_failures(MockFailure(status=400, message="Invalid schema for response_format 'ActionTurn': "
                                                            "In context=(), 'const' is not permitted."))
        backend = OpenAIBackend(model="m", base_url=server.base_url, api_key="sk-test")
        client = LLMClient(backend)
        first = await client.acomplete([{"role": "user", "content": "Email Ben."}], response_model=spec.model,
                                       response_schema=spec.schema, validation_context=spec.context)
        second = await client.acomplete([{"role": "user", "content": "Email Ben again."}], response_model=spec.model,
                                        response_schema=spec.schema, validation_context=spec.context)
        await backend.aclose()
        kinds = [body["response_format"]["type"] for body in server.chat_requests()]
    assert kinds == ["json_schema", "json_object", "json_schema"]  # only the refused call fell back
    for result in (first, second):
        assert result.value.actions[0].content == '{"to":["Ben"],"subject":"Plan","body":"Hi"}'


class AlwaysSend(PickSendEmail):
    def generate(self, prompt: str, max_tokens: int, stop: Sequence[str]) -> str:
        return "SEND_EMAIL" if prompt.endswith('"type": "') else super().generate(prompt, max_tokens, stop)

    def choose(self, prompt: str, options: Sequence[str]) -> str:
        return "," if "," in options else options[0]  # never ends the list itself


def test_the_last_action_the_filler_writes_is_forced_to_done_among_the_variants() -> None:
    spec = email_spec()  # 3 actions at most, then DONE
    value = SkeletonFiller(AlwaysSend()).fill("Ana: ", spec.schema).value
    assert [a["type"] for a in value["actions"]] == ["SEND_EMAIL"] * 3 + ["DONE"]
    assert isinstance(value["actions"][-1]["content"], str)  # DONE takes the plain branch: text content
