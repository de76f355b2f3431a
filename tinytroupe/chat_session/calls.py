"""Running the tool calls a model asked for in one answer: concurrently, each validated against its
tool's schema, every failure turned into a message for the model (never an exception for the chat).

A call whose arguments do not fit is answered with the validation error so the model can correct
it, once per action: an action whose arguments fail twice in one reply is withdrawn for the rest
of that reply (``blocked``). A tool that raises, times out or refuses (permission) is answered with
its error. Each call ends in a :class:`~tinytroupe.events.ToolCallEvent` on the bus.

Example:
    >>> import asyncio
    >>> from pydantic import BaseModel
    >>> from tinytroupe.events import EventBus
    >>> from tinytroupe.tools.base import TinyTool, ToolCall, tool_action
    >>> class Args(BaseModel):
    ...     text: str
    >>> class Out(BaseModel):
    ...     length: int
    >>> class Counter(TinyTool):
    ...     def __init__(self) -> None:
    ...         super().__init__("counter", "counts characters")
    ...     @tool_action("COUNT", "count the characters of text")
    ...     def count(self, call: ToolCall, args: Args) -> Out:
    ...         return Out(length=len(args.text))
    >>> runner = ToolRunner([Counter()], EventBus())
    >>> outcomes = asyncio.run(runner.run([RequestedCall("c1", "COUNT", '{"text": "hello"}')]))
    >>> outcomes[0].ok, outcomes[0].content
    (True, '{"length":5}')
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tinytroupe.errors import InvalidArgument, ToolArgumentError, ToolError
from tinytroupe.events import EventBus, ToolCallEvent
from tinytroupe.tools.base import TinyTool, ToolCall, ToolOperation

if TYPE_CHECKING:
    from tinytroupe.agent.person import TinyPerson

logger = logging.getLogger(__name__)

#: characters of a tool's result sent back to the model, at most (a longer one is cut, and says so)
MAX_RESULT_CHARS = 8_000


@dataclass(frozen=True)
class RequestedCall:
    """One call the model asked for: its id (native calls have one; JSON actions get one), the action
    and the arguments as the model wrote them (JSON text or an object)."""

    call_id: str
    action: str
    arguments: str | Mapping[str, Any]


@dataclass
class CallOutcome:
    """What came of one call: ``content`` is what the model is shown (the result as JSON, or the error)."""

    call: RequestedCall
    ok: bool
    content: str
    duration_s: float
    tool: str | None = None
    error: str | None = None
    error_type: str | None = None
    argument_error: bool = False
    event: ToolCallEvent | None = field(default=None, repr=False)


def summarise(value: str | Mapping[str, Any], limit: int = 80) -> str:
    """A one-line summary of arguments or a result, e.g. ``title='Plan', body='We…'``."""
    data: Any = value
    if isinstance(value, str):
        try:
            data = json.loads(value) if value.strip().startswith("{") else value
        except ValueError:
            data = value
    text = ", ".join(f"{k}={_short(v)}" for k, v in data.items()) if isinstance(data, Mapping) else _short(data, 60)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _short(value: Any, limit: int = 24) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class ToolRunner:
    """The tools of one chat, by action type, and how their calls are run.

    Args:
        tools: the tools (their action types must not clash).
        bus: where :class:`~tinytroupe.events.ToolCallEvent` s go.
        agent: the persona calling (tools see it in :class:`~tinytroupe.tools.base.ToolCall`).
        allow_side_effects: allow operations with real-world side effects.

    Raises:
        InvalidArgument: two tools offer the same action type.
    """

    def __init__(self, tools: Sequence[TinyTool], bus: EventBus, *, agent: TinyPerson | None = None,
                 allow_side_effects: bool = False) -> None:
        self.tools = list(tools)
        self.bus = bus
        self.agent = agent
        self.allow_side_effects = allow_side_effects
        self._by_action: dict[str, tuple[TinyTool, ToolOperation]] = {}
        for tool in self.tools:
            for action, op in tool.operations.items():
                if action in self._by_action:
                    raise InvalidArgument(f"the tools {self._by_action[action][0].name!r} and {tool.name!r} both "
                                          f"offer the action {action}; give a chat only one of them")
                self._by_action[action] = (tool, op)
        #: actions whose arguments were invalid once in the current reply, and those withdrawn after twice
        self.reasked: set[str] = set()
        self.blocked: set[str] = set()

    @property
    def actions(self) -> list[str]:
        return [a for a in self._by_action if a not in self.blocked]

    def operations(self) -> list[tuple[TinyTool, ToolOperation]]:
        """The operations the model may call now (withdrawn ones left out)."""
        return [self._by_action[a] for a in self.actions]

    def new_reply(self) -> None:
        """Forget the re-asks of the previous reply."""
        self.reasked.clear()
        self.blocked.clear()

    async def run(self, calls: Sequence[RequestedCall]) -> list[CallOutcome]:
        """Run ``calls`` concurrently; outcomes in the same order."""
        return list(await asyncio.gather(*(self._one(call) for call in calls)))

    async def _one(self, call: RequestedCall) -> CallOutcome:
        started = time.perf_counter()
        action = call.action.strip().upper()
        found = self._by_action.get(action)
        tool = found[0] if found is not None else None
        try:
            if found is None or action in self.blocked:
                why = "is not one of your tools" if found is None else \
                    "was withdrawn for this reply after its arguments were invalid twice"
                raise ToolArgumentError(f"{call.action!r} {why}; you can call: {', '.join(self.actions) or 'none'}")
            assert tool is not None
            args = tool.parse_arguments(action, call.arguments)
            context = ToolCall(tool.name, action, agent=self.agent,
                               world=self.agent.environment.name if self.agent is not None and
                               self.agent.environment is not None else None)
            result = await tool.acall(action, args, context, allow_side_effects=self.allow_side_effects)
        except asyncio.CancelledError:
            raise
        except ToolArgumentError as exc:
            return self._failed(call, tool, started, exc, argument_error=found is not None)
        except ToolError as exc:
            return self._failed(call, tool, started, exc)
        except Exception as exc:  # a tool's bug must not end the chat: the model and the log are told
            logger.warning("tool call %s failed unexpectedly", action, exc_info=True)
            return self._failed(call, tool, started, exc)
        text = result.model_dump_json()
        if len(text) > MAX_RESULT_CHARS:
            text = text[:MAX_RESULT_CHARS] + f"… (cut: the result has {len(text)} characters)"
        return self._done(CallOutcome(call, True, text, time.perf_counter() - started, tool.name))

    def _failed(self, call: RequestedCall, tool: TinyTool | None, started: float, exc: Exception, *,
                argument_error: bool = False) -> CallOutcome:
        action = call.action.strip().upper()
        message = str(exc) if isinstance(exc, ToolError) else f"{type(exc).__name__}: {exc}"
        if argument_error:
            if action in self.reasked:
                self.blocked.add(action)
                message += f" (invalid twice: {action} is withdrawn for this reply; answer without it)"
            else:
                self.reasked.add(action)
                message += " (correct the arguments and call again)"
        content = json.dumps({"error": message})
        return self._done(CallOutcome(call, False, content, time.perf_counter() - started,
                                      tool.name if tool is not None else None, message, type(exc).__name__,
                                      argument_error))

    def _done(self, outcome: CallOutcome) -> CallOutcome:
        agent = self.agent.name if self.agent is not None else None
        outcome.event = ToolCallEvent(agent=agent, tool=outcome.tool or "?", action=outcome.call.action,
                                      call_id=outcome.call.call_id, duration_s=outcome.duration_s, ok=outcome.ok,
                                      error=outcome.error, error_type=outcome.error_type,
                                      arguments=summarise(outcome.call.arguments),
                                      result=summarise(outcome.content) if outcome.ok else "",
                                      result_chars=len(outcome.content) if outcome.ok else 0)
        self.bus.publish(outcome.event)
        return outcome


__all__ = ["MAX_RESULT_CHARS", "CallOutcome", "RequestedCall", "ToolRunner", "summarise"]
