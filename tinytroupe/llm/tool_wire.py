"""Messages on the OpenAI wire: messages with ``tool_calls``, ``tool`` answers and images (content
parts) out, the calls a model asked for back in.

Example:
    >>> from tinytroupe.llm.types import Message, ToolCallRequest
    >>> call = ToolCallRequest(id="c1", name="ADD", arguments='{"a": 1}')
    >>> wire_message(Message(role="assistant", content="", tool_calls=(call,)))["tool_calls"][0]["function"]
    {'name': 'ADD', 'arguments': '{"a": 1}'}
    >>> parse_tool_calls([{"id": "c1", "type": "function", "function": {"name": "ADD", "arguments": "{}"}}])
    (ToolCallRequest(id='c1', name='ADD', arguments='{}'),)
"""

from __future__ import annotations

import json
from typing import Any

from tinytroupe.errors import InvalidArgument
from tinytroupe.llm.types import Message, ToolCallRequest


def wire_message(message: Message) -> dict[str, Any]:
    """``message`` as the chat completions API takes it."""
    out: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.images:
        # OpenAI's content parts: the text first, then each image
        out["content"] = [{"type": "text", "text": message.content}, *(image.wire() for image in message.images)]
    if message.tool_calls:
        # OpenAI's own clients send null content beside tool calls; some servers refuse "" there
        out["content"] = message.content or None
        out["tool_calls"] = [{"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                             for c in message.tool_calls]
    if message.tool_call_id is not None:
        out["tool_call_id"] = message.tool_call_id
    return out


def parse_tool_calls(raw: Any) -> tuple[ToolCallRequest, ...] | None:
    """The calls in an answer's ``tool_calls`` (None when it has none).

    Arguments given as an object (some servers do) are turned into JSON text, as OpenAI sends them.

    Raises:
        InvalidArgument: ``raw`` does not have the shape of a list of function calls (the backend reports
            the envelope as unusable).
    """
    if not raw:
        return None
    if not isinstance(raw, list):
        raise InvalidArgument(f"tool_calls is a {type(raw).__name__}, not a list")
    calls = []
    for i, item in enumerate(raw):
        function = item.get("function") if isinstance(item, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise InvalidArgument(f"tool_calls[{i}] has no function name")
        arguments = function.get("arguments", "{}")
        if not isinstance(arguments, str):
            arguments = json.dumps(arguments)
        calls.append(ToolCallRequest(id=str(item.get("id") or f"call_{i}"), name=function["name"],
                                     arguments=arguments))
    return tuple(calls)


def split_answer(message: dict[str, Any], *, forced: bool,
                 offered: bool) -> tuple[Any, tuple[ToolCallRequest, ...] | None]:
    """The text of an answer's ``message`` and the tool calls it asks for.

    ``forced``: the request forced a call of its one function to get structured output, whose
    arguments are then the text; ``offered``: the request offered native tools (the text may then be
    missing beside the calls: it is then ""). A message may be any JSON value; the caller checks types.

    Raises:
        KeyError, TypeError, ValueError: the message does not have the expected shape.
    """
    text, calls = message.get("content"), message.get("tool_calls")
    if forced and calls:
        return calls[0]["function"]["arguments"], None
    asked = parse_tool_calls(calls) if offered else None
    return ("" if text is None and asked else text), asked


__all__ = ["parse_tool_calls", "split_answer", "wire_message"]
