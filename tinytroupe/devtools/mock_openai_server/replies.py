"""What the mock server answers and records: scripted replies, an example built from a requested JSON
schema, token counts, and the record of each request.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel

from tinytroupe.devtools.mock_openai_server.vision import ReceivedImage, content_problem, received_images
from tinytroupe.llm.tokens import estimate_tokens

Reply = str | dict[str, Any] | list[Any] | BaseModel
ReplyFunction = Callable[[dict[str, Any]], Reply] | Callable[[dict[str, Any]], Awaitable[Reply]]

DEFAULT_TEXT_REPLY = "This is a mock reply."


class RecordedRequest(BaseModel):
    """One request the server received: path, JSON body, headers (lower-case), the client's port,
    and the label of the fault injected into its answer (None: answered normally)."""

    path: str
    body: dict[str, Any]
    headers: dict[str, str]
    client_port: int | None = None
    fault: str | None = None

    def images(self) -> list[ReceivedImage]:
        """The image parts the request carried (content parts of type ``image_url``), in order."""
        return received_images(self.body) if content_problem(self.body) is None else []


def _render(reply: Reply) -> str:
    if isinstance(reply, BaseModel):
        return reply.model_dump_json()
    if isinstance(reply, dict | list):
        return json.dumps(reply)
    return reply


def example_for_schema(schema: dict[str, Any], root: dict[str, Any] | None = None, depth: int = 0) -> Any:
    """A small value that validates against ``schema`` (enough for pydantic-generated schemas).

    Example:
        >>> example_for_schema({"type": "object", "properties": {"n": {"type": "integer", "minimum": 3}}})
        {'n': 3}
    """
    root = root if root is not None else schema
    if depth > 20:
        return None
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return example_for_schema(root.get("$defs", {}).get(name, {}), root, depth + 1)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if schema.get(key):
            options = [s for s in schema[key] if s.get("type") != "null"] or schema[key]
            return example_for_schema(options[0], root, depth + 1)
    kind = schema.get("type", "object" if "properties" in schema else "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        return {name: example_for_schema(sub, root, depth + 1)
                for name, sub in schema.get("properties", {}).items()}
    if kind == "array":
        count = max(1, int(schema.get("minItems", 1)))
        return [example_for_schema(schema.get("items", {}), root, depth + 1) for _ in range(count)]
    if kind == "integer":
        return int(schema.get("minimum", schema.get("exclusiveMinimum", -1) + 1))
    if kind == "number":
        return float(schema.get("minimum", 0.0))
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    return "x" * max(1, int(schema.get("minLength", 4)))


def requested_schema(body: dict[str, Any]) -> dict[str, Any] | None:
    """The JSON schema a chat request asks its answer to follow (response_format or the first tool), or None.

    Example:
        >>> requested_schema({"response_format": {"type": "json_object"}})
        {'type': 'object', 'properties': {}}
    """
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        schema = (fmt.get("json_schema") or {}).get("schema")
        return schema if isinstance(schema, dict) else None
    if fmt.get("type") == "json_object":
        schema = fmt.get("schema")
        return schema if isinstance(schema, dict) else {"type": "object", "properties": {}}
    tools = body.get("tools") or []
    if tools and body.get("tool_choice") != "auto":  # tools offered with "auto" ask for no schema
        params = tools[0].get("function", {}).get("parameters")
        return params if isinstance(params, dict) else None
    return None


def scripted_tool_calls(text: str, number: int) -> list[dict[str, Any]] | None:
    """The native tool calls a scripted reply asks for: a reply that is a JSON object with only the key
    ``tool_calls``, a list of ``{"name": ..., "arguments": {...} or "json text"}``; else None.

    Example:
        >>> scripted_tool_calls('{"tool_calls": [{"name": "ADD", "arguments": {"a": 1}}]}', 7)[0]["function"]
        {'name': 'ADD', 'arguments': '{"a": 1}'}
        >>> scripted_tool_calls("plain text", 7) is None
        True
    """
    if not text.lstrip().startswith("{"):
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict) or list(data) != ["tool_calls"] or not isinstance(data["tool_calls"], list):
        return None
    calls = []
    for i, item in enumerate(data["tool_calls"]):
        arguments = item.get("arguments", {})
        calls.append({"id": item.get("id") or f"call_mock_{number}_{i}", "type": "function",
                      "function": {"name": item["name"], "arguments": arguments if isinstance(arguments, str)
                                   else json.dumps(arguments)}})
    return calls


def _tokens(text: str) -> int:
    # tinytroupe's one estimate: the point is that usage is present and grows with size (never zero).
    return max(1, estimate_tokens(text))


__all__ = ["DEFAULT_TEXT_REPLY", "RecordedRequest", "Reply", "ReplyFunction", "example_for_schema", "requested_schema",
           "scripted_tool_calls"]
