"""A chat with one persona that may use tools: :class:`ChatSession`.

Each message the user types is answered in *rounds*: the model either replies or asks for tool
calls; the calls run concurrently (:class:`~tinytroupe.chat_session.calls.ToolRunner`), their
results go back to the model, and the next round begins, up to ``[Chat] MAX_TOOL_ROUNDS`` rounds
with tools, after which the model is told to reply. Backends with native tool calls
(``LLMClient.supports_tool_calls``: OpenAI-compatible servers) get the tools' JSON schemas as
``tools`` and answer with ``tool_calls``; others (the embedded model, the scripted one) answer with a
JSON action, ``{"reply": ...}`` or ``{"tool_calls": [{"action": ..., "arguments": {...}}]}``.

Example:
    >>> from tinytroupe.agent import TinyPerson
    >>> from tinytroupe.llm import LLMClient, ScriptedBackend
    >>> agent = TinyPerson("Ana", client=LLMClient(ScriptedBackend([{"reply": "Hi there!"}])))
    >>> session = ChatSession(agent)
    >>> session.respond("Hello").text
    'Hi there!'
    >>> session.get_performance_stats()["exchanges"]
    1
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tinytroupe.aio import run_sync
from tinytroupe.chat_session.calls import CallOutcome, RequestedCall, ToolRunner
from tinytroupe.chat_session.history import ChatHistory
from tinytroupe.chat_session.prompts import render
from tinytroupe.chat_session.timings import OperationTimings
from tinytroupe.config import ChatSettings, current_settings
from tinytroupe.events import EventBus, ToolCallEvent
from tinytroupe.llm.client import LLMClient
from tinytroupe.llm.types import Message
from tinytroupe.tools.base import TinyTool

if TYPE_CHECKING:
    from tinytroupe.agent.person import TinyPerson

#: characters of the persona's description in the system message, at most
PERSONA_CHARS = 4_000


class JsonToolCall(BaseModel):
    """One tool call in a JSON action."""

    model_config = ConfigDict(extra="forbid")

    action: str = Field(description="the action type, e.g. WRITE_DOCUMENT")
    arguments: dict[str, Any] = Field(default_factory=dict)


class ChatAction(BaseModel):
    """A JSON action: tool calls to make first, or the reply."""

    model_config = ConfigDict(extra="forbid")

    reply: str | None = Field(None, description="what you say (when you call no tool)")
    tool_calls: list[JsonToolCall] = Field(default_factory=list, max_length=16)

    @model_validator(mode="after")
    def _does_something(self) -> ChatAction:
        if not self.tool_calls and not (self.reply or "").strip():
            raise ValueError("give either 'reply' (what you say) or 'tool_calls'")
        return self


class FinalReply(BaseModel):
    """The reply after the last round of tools."""

    reply: str = Field(min_length=1)


class ChatReply(BaseModel):
    """What one message got: the ``text`` said, the tool calls made (their events), the model calls
    (``rounds``), and whether the model was still asking for tools when the rounds ran out."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    text: str
    tool_calls: list[ToolCallEvent] = Field(default_factory=list)
    rounds: int = 0
    stopped_early: bool = False


class ChatSession:
    """One persona, its tools and the conversation so far.

    Args:
        agent: the persona (its client and bus are used unless given).
        tools: tools it may use (their action types must differ).
        settings: ``[Chat]`` settings (default: the settings in force).
        client, bus: override the agent's.
        allow_side_effects: allow tool operations with real-world side effects.
        native: use native tool calls (default: when the backend has them).
        speaker: how the user is called in the prompt.

    Raises:
        InvalidArgument: two tools offer the same action type.
    """

    def __init__(self, agent: TinyPerson, tools: Sequence[TinyTool] = (), *, settings: ChatSettings | None = None,
                 client: LLMClient | None = None, bus: EventBus | None = None, allow_side_effects: bool = False,
                 native: bool | None = None, speaker: str = "You") -> None:
        self.agent = agent
        self.settings = settings if settings is not None else current_settings().chat
        self.client = client if client is not None else agent.client
        self.bus = bus if bus is not None else agent.bus
        self.speaker = speaker
        self.runner = ToolRunner(tools, self.bus, agent=agent, allow_side_effects=allow_side_effects)
        self.native = self.client.supports_tool_calls if native is None else native
        self.timings = OperationTimings(self.bus, moderate_s=self.settings.moderate_operation_s,
                                        slow_s=self.settings.slow_operation_s, agent=agent.name)
        self.history = ChatHistory(self.settings.max_exchanges, system=self._system_messages())

    @property
    def tools(self) -> list[TinyTool]:
        return self.runner.tools

    def _system_messages(self) -> list[Message]:
        listed = [{"action": op.action, "tool": tool.name, "description": op.description,
                   "schema": json.dumps(op.args_schema(), separators=(",", ":"))}
                  for tool, op in self.runner.operations()]
        system = [Message(role="system", content=render(
            "chat_system.j2", name=self.agent.name, speaker=self.speaker,
            persona=self.agent.persona.render(PERSONA_CHARS), tools=listed))]
        if not self.native:
            system.append(Message(role="system", content=render("chat_json_actions.j2", speaker=self.speaker,
                                                                 tools=listed)))
        return system

    def _tool_specs(self) -> list[dict[str, Any]]:
        return [{"type": "function", "function": {"name": op.action, "description": f"{tool.description}: "
                                                  f"{op.description}"[:1024], "parameters": op.args_schema()}}
                for tool, op in self.runner.operations()]

    def respond(self, text: str) -> ChatReply:
        """Sync twin of :meth:`arespond`."""
        return run_sync(self.arespond(text))

    async def arespond(self, text: str) -> ChatReply:
        """Answer one message, using tools as the model asks.

        Raises:
            LLMError: the model could not be reached or gave no usable answer; the message stays in
                the history (the user may go on or retry). Tool failures never raise: the model is
                shown them.
        """
        started = time.perf_counter()
        self.runner.new_reply()
        self._add([Message(role="user", content=text)], exchange=False)
        reply = ChatReply(text="")
        try:
            for round_ in range(self.settings.max_tool_rounds + 1):
                last = round_ == self.settings.max_tool_rounds
                done = await (self._native_round(reply, last) if self.native else self._json_round(reply, last))
                if done:
                    return reply
            raise AssertionError("unreachable: the last round always ends the reply")  # pragma: no cover
        finally:
            self.timings.record("reply", time.perf_counter() - started)

    async def _ask(self, last: bool, **params: Any) -> Any:
        messages = self.history.messages
        if last:
            messages.append(Message(role="system", content=render(
                "chat_last_round.j2", rounds=self.settings.max_tool_rounds, speaker=self.speaker)))
        with self.timings.measure("model_call"):
            return await self.client.acomplete(messages, purpose="chat", agent=self.agent.name, bus=self.bus,
                                               **params)

    async def _native_round(self, reply: ChatReply, last: bool) -> bool:
        specs = self._tool_specs()
        result = await self._ask(last, tools=specs or None)
        reply.rounds += 1
        calls = result.tool_calls or ()
        if not calls or last:
            reply.stopped_early = bool(calls)
            reply.text = result.text
            self._add([Message(role="assistant", content=result.text)], exchange=True)
            return True
        outcomes = await self._run(reply, [RequestedCall(c.id, c.name, c.arguments) for c in calls])
        self._add([Message(role="assistant", content=result.text, tool_calls=tuple(calls)),
                   *(Message(role="tool", content=o.content, tool_call_id=o.call.call_id) for o in outcomes)],
                  exchange=True)
        return False

    async def _json_round(self, reply: ChatReply, last: bool) -> bool:
        result = await self._ask(last, response_model=FinalReply if last else ChatAction)
        reply.rounds += 1
        action = result.value
        if last or not action.tool_calls:
            reply.text = action.reply or ""
            self._add([Message(role="assistant", content=result.text)], exchange=True)
            return True
        numbered = [RequestedCall(f"{reply.rounds}.{i + 1}", c.action, c.arguments)
                    for i, c in enumerate(action.tool_calls)]
        outcomes = await self._run(reply, numbered)
        self._add([Message(role="assistant", content=result.text),
                   Message(role="user", content=render("chat_tool_results.j2", outcomes=outcomes,
                                                       speaker=self.speaker))], exchange=True)
        return False

    async def _run(self, reply: ChatReply, calls: list[RequestedCall]) -> list[CallOutcome]:
        outcomes = await self.runner.run(calls)
        for outcome in outcomes:
            self.timings.record(f"tool:{outcome.call.action}", outcome.duration_s)
            if outcome.event is not None:
                reply.tool_calls.append(outcome.event)
        return outcomes

    def _add(self, messages: list[Message], *, exchange: bool) -> None:
        started = time.perf_counter()
        if self.history.add(messages, exchange=exchange):
            self.timings.record("history_trim", time.perf_counter() - started)

    def get_performance_stats(self) -> dict[str, Any]:
        """History length (messages and exchanges), its limit and utilisation (exchanges / limit), the
        trims so far, and per operation (``model_call``, ``tool:<ACTION>``, ``history_trim``,
        ``reply``) the count, mean and maximum duration in seconds."""
        history = self.history
        return {"history_length": len(history), "exchanges": history.exchanges,
                "max_exchanges": history.max_exchanges,
                "utilisation": history.exchanges / history.max_exchanges,
                "trims": history.trims, "trimmed_messages": history.trimmed_messages,
                "native_tool_calls": self.native, "timings": self.timings.stats()}


__all__ = ["ChatAction", "ChatReply", "ChatSession", "FinalReply", "JsonToolCall"]
