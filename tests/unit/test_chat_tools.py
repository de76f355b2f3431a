"""Chatting with a persona that uses tools: native tool calls (scripted, and the mock OpenAI server on
127.0.0.1) and the JSON action path, argument re-asks, tool errors, concurrency, the round limit,
history trimming during long tool chains, timings and the live view."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from typing import Any

import pytest
from pydantic import BaseModel
from rich.console import Console
from typer.testing import CliRunner

from tinytroupe.agent import TinyPerson
from tinytroupe.chat_session import ChatSession, chat_loop
from tinytroupe.cli import app
from tinytroupe.config import ChatSettings
from tinytroupe.devtools.mock_openai_server import MockOpenAIServer
from tinytroupe.errors import InvalidArgument
from tinytroupe.events import EventBus, OperationTimingEvent, ToolCallEvent
from tinytroupe.llm import Completion, LLMClient, LLMRequest, ScriptedBackend, ToolCallRequest
from tinytroupe.llm.openai_backend import OpenAIBackend
from tinytroupe.tools import TinyTool, ToolCall, tool_action


class NoteArgs(BaseModel):
    title: str
    body: str


class Saved(BaseModel):
    saved: str
    words: int


class WaitArgs(BaseModel):
    label: str


class Waited(BaseModel):
    label: str


class Notes(TinyTool):
    """A notebook: WRITE_NOTE saves, WAIT_TOGETHER passes only when two calls run at once, BREAK raises."""

    def __init__(self) -> None:
        super().__init__("notes", "a notebook")
        self.saved: dict[str, str] = {}
        self._barrier: asyncio.Barrier | None = None

    @tool_action("WRITE_NOTE", "save a note with a title and a body")
    def write(self, call: ToolCall, args: NoteArgs) -> Saved:
        self.saved[args.title] = args.body
        return Saved(saved=args.title, words=len(args.body.split()))

    @tool_action("WAIT_TOGETHER", "wait for a second caller")
    async def wait(self, call: ToolCall, args: WaitArgs) -> Waited:
        self._barrier = self._barrier or asyncio.Barrier(2)
        await asyncio.wait_for(self._barrier.wait(), 2.0)  # only two concurrent calls get through
        return Waited(label=args.label)

    @tool_action("BREAK", "always fails")
    def broken(self, call: ToolCall, args: WaitArgs) -> Waited:
        raise RuntimeError("the notebook is on fire")


def calls(*items: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    """A JSON action asking for tool calls."""
    return {"tool_calls": [{"action": a, "arguments": args} for a, args in items]}


def native(*items: tuple[str, dict[str, Any] | str]) -> Completion:
    """A native answer asking for tool calls."""
    return Completion(text="", model="scripted", tool_calls=tuple(
        ToolCallRequest(id=f"c{i}", name=a, arguments=args if isinstance(args, str) else json.dumps(args))
        for i, (a, args) in enumerate(items)))


def session_for(replies: list[Any], *, tool_calls: bool = False, tools: list[TinyTool] | None = None,
                **settings: Any) -> tuple[ChatSession, ScriptedBackend, EventBus]:
    backend = ScriptedBackend(replies, tool_calls=tool_calls)
    bus = EventBus()
    agent = TinyPerson("Ana", client=LLMClient(backend, max_reasks=1))
    session = ChatSession(agent, tools if tools is not None else [Notes()], bus=bus,
                          settings=ChatSettings(**settings))
    return session, backend, bus


def test_json_path_runs_a_tool_and_shows_its_result_to_the_model() -> None:
    notes = Notes()
    session, backend, bus = session_for([calls(("WRITE_NOTE", {"title": "Plan", "body": "buy two bikes"})),
                                         {"reply": "I wrote it down."}], tools=[notes])
    seen: list[ToolCallEvent] = []
    bus.subscribe(seen.append, kinds=["tool_call"])
    reply = session.respond("Please note the plan")
    assert reply.text == "I wrote it down." and reply.rounds == 2
    assert notes.saved == {"Plan": "buy two bikes"}
    assert [(e.agent, e.action, e.ok) for e in seen] == [("Ana", "WRITE_NOTE", True)]
    assert reply.tool_calls == seen and "title='Plan'" in seen[0].arguments
    system = backend.requests[0].messages[0].content + backend.requests[0].messages[1].content
    assert "WRITE_NOTE (notes)" in system and '"title"' in system  # tools and their schemas are listed
    results = backend.requests[1].messages[-1]
    assert results.role == "user" and '{"saved":"Plan","words":3}' in results.content
    assert backend.requests[0].tools is None  # no native tools on a backend without them


def test_native_tool_calls_go_as_tools_and_come_back_as_tool_messages() -> None:
    session, backend, _ = session_for([native(("WRITE_NOTE", {"title": "A", "body": "b"})), "Saved."],
                                      tool_calls=True)
    assert session.native
    reply = session.respond("note A")
    assert reply.text == "Saved."
    first, second = backend.requests
    assert first.tools is not None and {t["function"]["name"] for t in first.tools} == {
        "WRITE_NOTE", "WAIT_TOGETHER", "BREAK"}
    assert first.tools[0]["function"]["parameters"]["type"] == "object"
    assistant, tool_message = second.messages[-2:]
    assert assistant.tool_calls is not None and assistant.tool_calls[0].name == "WRITE_NOTE"
    assert tool_message.role == "tool" and tool_message.tool_call_id == "c0"
    assert json.loads(tool_message.content) == {"saved": "A", "words": 1}


def test_invalid_arguments_are_shown_to_the_model_and_re_asked_once_per_call() -> None:
    notes = Notes()
    session, backend, _ = session_for([
        native(("WRITE_NOTE", {"title": "A"})),  # body missing
        native(("WRITE_NOTE", '{"title": "A", "body": 3}')),  # wrong type: second failure, withdrawn
        native(("WRITE_NOTE", {"title": "A", "body": "ok"})),  # withdrawn: refused without running
        "Sorry, I could not save it."], tool_calls=True, tools=[notes])
    reply = session.respond("note A")
    assert reply.text == "Sorry, I could not save it." and notes.saved == {}
    errors = [e.error or "" for e in reply.tool_calls]
    assert "body: Field required" in errors[0] and "correct the arguments" in errors[0]
    assert "body: Input should be a valid string" in errors[1] and "withdrawn for this reply" in errors[1]
    assert "was withdrawn for this reply" in errors[2]
    # the withdrawn action is no longer offered
    assert "WRITE_NOTE" not in {t["function"]["name"] for t in backend.requests[3].tools or ()}
    # the next message starts afresh: the action is offered again
    backend._replies.append("Hi")  # type: ignore[union-attr]
    session.respond("hello")
    assert "WRITE_NOTE" in {t["function"]["name"] for t in backend.requests[4].tools or ()}


def test_a_tool_that_raises_or_does_not_exist_becomes_an_error_for_the_model() -> None:
    session, backend, _ = session_for([calls(("BREAK", {"label": "x"}), ("TELEPORT", {})), {"reply": "Oops."}])
    reply = session.respond("try")
    assert reply.text == "Oops."
    broken, unknown = reply.tool_calls
    assert not broken.ok and "RuntimeError: the notebook is on fire" in (broken.error or "")
    assert not unknown.ok and "'TELEPORT' is not one of your tools" in (unknown.error or "")
    assert "the notebook is on fire" in backend.requests[1].messages[-1].content


def test_independent_calls_of_one_answer_run_concurrently() -> None:
    # WAIT_TOGETHER passes only when both calls wait at the same time (a barrier of two).
    session, _, _ = session_for([native(("WAIT_TOGETHER", {"label": "a"}), ("WAIT_TOGETHER", {"label": "b"})),
                                 "Both done."], tool_calls=True)
    reply = session.respond("wait")
    assert [(e.ok, e.result) for e in reply.tool_calls] == [(True, "label='a'"), (True, "label='b'")]


@pytest.mark.parametrize("use_native", [True, False])
def test_the_rounds_are_bounded_and_the_model_is_told_to_reply(use_native: bool) -> None:
    ask = native(("WRITE_NOTE", {"title": "t", "body": "b"})) if use_native else \
        calls(("WRITE_NOTE", {"title": "t", "body": "b"}))
    last = native(("WRITE_NOTE", {"title": "t", "body": "b"})) if use_native else {"reply": "Enough notes."}
    session, backend, _ = session_for([ask, ask, ask, last], tool_calls=use_native, max_tool_rounds=3)
    reply = session.respond("note forever")
    assert reply.rounds == 4 and len(reply.tool_calls) == 3
    assert "the most allowed" in backend.requests[-1].messages[-1].content
    assert reply.stopped_early is use_native  # the native model still asked; the JSON one had to reply
    assert reply.text == ("" if use_native else "Enough notes.")


def test_history_is_trimmed_during_a_long_tool_chain_without_splitting_calls() -> None:
    chain = [native(("WRITE_NOTE", {"title": f"n{i}", "body": "b"})) for i in range(9)]
    session, backend, _ = session_for([*chain, "All noted."], tool_calls=True, max_exchanges=4, max_tool_rounds=20)
    reply = session.respond("write nine notes")
    assert reply.text == "All noted."
    stats = session.get_performance_stats()
    assert stats["trims"] >= 1 and stats["exchanges"] <= 6  # trimmed past 1.5 x 4, back to 1.2 x 4
    for request in backend.requests:
        messages = request.messages
        assert messages[0].role == "system"
        assert any(m.role == "user" and m.content == "write nine notes" for m in messages)  # the question stays
        assert sum(1 for m in messages if m.role == "assistant") <= 6
        for i, m in enumerate(messages):
            if m.role == "tool":  # every result right after its call
                assert messages[i - 1].role in ("assistant", "tool")
                owner = next(x for x in reversed(messages[:i]) if x.role == "assistant")
                assert owner.tool_calls and m.tool_call_id in {c.id for c in owner.tool_calls}


def test_timings_are_events_logged_by_threshold_and_reported(caplog: pytest.LogCaptureFixture) -> None:
    session, _, bus = session_for([calls(("WRITE_NOTE", {"title": "a", "body": "b"})), {"reply": "ok"}],
                                  moderate_operation_s=1e-9, slow_operation_s=1e-9)
    timings: list[OperationTimingEvent] = []
    bus.subscribe(timings.append, kinds=["operation_timing"])
    with caplog.at_level(logging.INFO, logger="tinytroupe.chat_session.timings"):
        session.respond("go")
    assert {e.operation for e in timings} == {"model_call", "tool:WRITE_NOTE", "reply"}
    assert all(e.level == "warning" for e in timings)
    assert any(r.levelno == logging.WARNING and "took" in r.getMessage() for r in caplog.records)
    stats = session.get_performance_stats()
    assert stats["timings"]["model_call"]["count"] == 2 and stats["timings"]["reply"]["count"] == 1
    assert stats["history_length"] == len(session.history.messages)
    assert stats["utilisation"] == pytest.approx(stats["exchanges"] / 20)
    assert set(stats["timings"]["model_call"]) >= {"count", "mean_s", "max_s"}


def test_two_tools_with_the_same_action_are_refused() -> None:
    with pytest.raises(InvalidArgument, match="both offer the action"):
        session_for([], tools=[Notes(), Notes()])


async def test_native_tool_calls_through_the_mock_openai_server() -> None:
    replies = [{"tool_calls": [{"name": "WRITE_NOTE", "arguments": {"title": "Trip", "body": "Porto in May"}}]},
               "I saved the trip note."]
    notes = Notes()
    with MockOpenAIServer(replies=replies) as server:
        backend = OpenAIBackend(model="mock", base_url=server.base_url, api_key="k", timeout=5)
        try:
            agent = TinyPerson("Ana", client=LLMClient(backend))
            session = ChatSession(agent, [notes], bus=EventBus(), settings=ChatSettings())
            assert session.native
            reply = await session.arespond("Save the trip")
        finally:
            await backend.aclose()
        first, second = server.chat_requests()
    assert reply.text == "I saved the trip note." and notes.saved == {"Trip": "Porto in May"}
    assert first["tool_choice"] == "auto" and first["tools"][0]["type"] == "function"
    call = second["messages"][-2]["tool_calls"][0]
    assert call["function"]["name"] == "WRITE_NOTE" and second["messages"][-2]["content"] is None
    assert second["messages"][-1] == {"role": "tool", "content": '{"saved":"Trip","words":3}',
                                      "tool_call_id": call["id"]}


def test_the_mock_server_still_forces_the_first_tool_for_structured_output() -> None:
    with MockOpenAIServer(replies=['{"a": 1}']) as server:
        client = LLMClient(OpenAIBackend(model="m", base_url=server.base_url, api_key="k",
                                         structured_output="tools"))

        class A(BaseModel):
            a: int

        assert client.complete([{"role": "user", "content": "x"}], response_model=A).value.a == 1
        client.close()


def test_live_view_shows_each_tool_call_compactly() -> None:
    backend = ScriptedBackend([calls(("WRITE_NOTE", {"title": "Plan", "body": "x"}), ("BREAK", {"label": "y"})),
                               {"reply": "Done."}])
    agent = TinyPerson("Ana", client=LLMClient(backend))
    console = Console(file=io.StringIO(), record=True, width=120, color_system=None)
    lines = iter(["note it", "/quit"])
    assert chat_loop(agent, lambda prompt: next(lines), console, tools=[Notes()]) == 1
    text = console.export_text()
    assert "🔧 Ana WRITE_NOTE(title='Plan', body='x') → ok" in text
    assert "🔧 Ana BREAK(label='y') → error: notes.BREAK (Ana): RuntimeError: the notebook is on fire" in text
    assert "Ana: Done." in text


def test_cli_chat_takes_tools_by_module_and_class() -> None:
    result = CliRunner().invoke(app, ["chat", "lisa", "--backend", "scripted", "--tool", "test_chat_tools:Notes"],
                                input="Hello\n/quit\n")
    assert result.exit_code == 0, result.output
    assert "tools: notes (BREAK, WAIT_TOGETHER, WRITE_NOTE)" in result.output
    assert "Lisa Brennan:" in result.output or "says nothing" in result.output


def test_cli_chat_names_a_tool_it_cannot_load() -> None:
    result = CliRunner().invoke(app, ["chat", "lisa", "--backend", "scripted", "--tool", "nowhere.at.all:Nope"])
    assert result.exit_code != 0
    output = " ".join(result.output.split())
    assert "--tool 'nowhere.at.all:Nope': cannot import nowhere.at.all" in output


def test_requests_with_tools_have_their_own_cache_key() -> None:
    from tinytroupe.llm.types import Message

    plain = LLMRequest(messages=(Message(role="user", content="hi"),))
    offered = LLMRequest(messages=(Message(role="user", content="hi"),), tools=({"type": "function"},))
    assert plain.cache_key() != offered.cache_key()
    assert "tools" not in plain.canonical_json() and "tool_call" not in plain.canonical_json()
