"""Tool actions in the prompt: each operation's description with its arguments, rendered from the
argument schema compactly and within a token budget.

An operation's arguments are written as a compact signature (``{to: str, subject: str, cc?: list[str]}``:
``?`` marks an optional field). When the descriptions of all of an agent's tool actions do not fit
their budget, detail goes in steps, the same step for every action, so the prompt stays uniform:

====  =========================================================================
step  what each action's description shows
====  =========================================================================
0     the signature with each field's own description (``to: str (the recipient)``)
1     the signature, types and optional marks only
2     the required fields only (``…`` says there are more)
3     the description and tool alone, cut to share the budget (at least
      :data:`MIN_DESCRIPTION_CHARS` each: every action is listed, even past a tiny budget)
====  =========================================================================

Example:
    >>> from pydantic import BaseModel, Field
    >>> class MailArgs(BaseModel):
    ...     to: str = Field(description="the recipient")
    ...     cc: list[str] = []
    >>> signature(MailArgs.model_json_schema(), detail=0)
    '{to: str (the recipient), cc?: list[str]}'
    >>> signature(MailArgs.model_json_schema(), detail=2)
    '{to: str, …}'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from tinytroupe.llm.tokens import CHARS_PER_TOKEN
from tinytroupe.tools.base import ToolOperation
from tinytroupe.tools.prompts import template

#: the steps of detail, richest first (see the module docstring)
DETAIL_STEPS = (0, 1, 2, 3)
#: the longest field description shown at step 0
FIELD_DESCRIPTION_CHARS = 60
#: the shortest description an action keeps at the last step
MIN_DESCRIPTION_CHARS = 12


def type_text(schema: Mapping[str, Any], defs: Mapping[str, Any] | None = None, depth: int = 0) -> str:
    """A short type name for a JSON schema: ``str``, ``int``, ``list[str]``, ``'a'|'b'``, ``{x: int}``.

    Example:
        >>> type_text({"type": "array", "items": {"type": "integer"}})
        'list[int]'
        >>> type_text({"anyOf": [{"type": "string"}, {"type": "null"}]})
        'str|null'
    """
    defs = defs or {}
    if "$ref" in schema:
        target = defs.get(str(schema["$ref"]).rsplit("/", 1)[-1], {})
        return type_text(target, defs, depth)
    if "enum" in schema:
        return "|".join(repr(v) for v in schema["enum"][:8]) + ("|…" if len(schema["enum"]) > 8 else "")
    if "const" in schema:
        return repr(schema["const"])
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return "|".join(type_text(s, defs, depth) for s in schema[key])
    kind = schema.get("type")
    if kind == "array":
        return f"list[{type_text(schema.get('items', {}), defs, depth)}]"
    if kind == "object":
        props = schema.get("properties")
        if props and depth < 1:
            return signature(schema, detail=1, defs=defs, depth=depth + 1)
        extra = schema.get("additionalProperties")
        return f"dict[str, {type_text(extra, defs, depth)}]" if isinstance(extra, dict) else "object"
    names = {"string": "str", "integer": "int", "number": "float", "boolean": "bool", "null": "null"}
    return names.get(str(kind), "any")


def signature(schema: Mapping[str, Any], *, detail: int = 1, defs: Mapping[str, Any] | None = None,
              depth: int = 0) -> str:
    """The compact signature of an object schema at a step of detail (0 to 2; see the module docstring)."""
    defs = {**schema.get("$defs", {}), **(defs or {})}
    required = set(schema.get("required", []))
    parts = []
    left_out = False
    for name, field in schema.get("properties", {}).items():
        optional = name not in required
        if optional and detail >= 2:
            left_out = True
            continue
        text = f"{name}{'?' if optional else ''}: {type_text(field, defs, depth)}"
        described = str(field.get("description", "")).strip()
        if detail == 0 and described:
            if len(described) > FIELD_DESCRIPTION_CHARS:
                described = described[: FIELD_DESCRIPTION_CHARS - 1].rstrip() + "…"
            text += f" ({described})"
        parts.append(text)
    if left_out:
        parts.append("…")
    return "{" + ", ".join(parts) + "}"


def describe_operation(op: ToolOperation, detail: int = 1, max_chars: int | None = None, *,
                       typed: bool = False) -> str:
    """What the prompt says about one tool action at a step of detail (its line after ``- ACTION: ``).

    With ``typed`` the content is described as an object of arguments (the turn schema asks for one:
    :mod:`tinytroupe.agent.action_schema`), else as JSON text or, for one text field, plain text.

    Example:
        >>> from tinytroupe.tools.base import TinyTool, ToolCall, tool_action
        >>> from pydantic import BaseModel
        >>> class Q(BaseModel):
        ...     query: str
        >>> class Hits(BaseModel):
        ...     titles: list[str]
        >>> class Search(TinyTool):
        ...     def __init__(self) -> None:
        ...         super().__init__("search", "finds documents")
        ...     @tool_action("SEARCH", "search the library")
        ...     def search(self, call: ToolCall, args: Q) -> Hits:
        ...         return Hits(titles=[])
        >>> describe_operation(Search().operation("SEARCH"))
        'search the library [tool search]. Content: the query as plain text, or JSON {query: str}'
        >>> describe_operation(Search().operation("SEARCH"), typed=True)
        'search the library [tool search]. Content: an object {query: str}'
    """
    single = op.single_text_field()
    if detail >= 3:
        description = f"{op.description} [tool {op.tool}]"
        if max_chars is not None and len(description) > max_chars:
            description = description[: max(1, max_chars - 1)].rstrip() + "…"
        return description
    return template("tool_action.j2").render(description=op.description, tool=op.tool, single=single, typed=typed,
                                             signature=signature(op.args_schema(), detail=detail)).strip()


def render_operations(operations: Iterable[ToolOperation], budget_tokens: int, *,
                      typed: bool = False) -> dict[str, str]:
    """Action type -> description for each operation, at the richest step of detail whose total fits
    ``budget_tokens`` (estimated); at the last step descriptions are cut to share the budget.

    Example:
        >>> from tinytroupe.tools.base import TinyTool, ToolCall, tool_action
        >>> from pydantic import BaseModel, Field
        >>> class A(BaseModel):
        ...     a: int = Field(description="the first number")
        ...     b: int = 0
        >>> class R(BaseModel):
        ...     total: int
        >>> class Calc(TinyTool):
        ...     def __init__(self) -> None:
        ...         super().__init__("calc", "sums")
        ...     @tool_action("ADD", "add numbers")
        ...     def add(self, call: ToolCall, args: A) -> R:
        ...         return R(total=args.a + args.b)
        >>> ops = list(Calc().operations.values())
        >>> render_operations(ops, 200)["ADD"]
        'add numbers [tool calc]. Content: JSON {a: int (the first number), b?: int}'
        >>> render_operations(ops, 15)["ADD"]
        'add numbers [tool calc]. Content: JSON {a: int, …}'
    """
    ops = list(operations)
    budget_chars = max(0, budget_tokens) * CHARS_PER_TOKEN
    for detail in DETAIL_STEPS[:-1]:
        rendered = {op.action: describe_operation(op, detail, typed=typed) for op in ops}
        # each line costs its name and "- : " in the action list too
        if sum(len(k) + len(v) + 4 for k, v in rendered.items()) <= budget_chars:
            return rendered
    fixed = sum(len(op.action) + 4 for op in ops)
    share = max(MIN_DESCRIPTION_CHARS, (budget_chars - fixed) // max(1, len(ops)))
    return {op.action: describe_operation(op, DETAIL_STEPS[-1], share, typed=typed) for op in ops}


def rules_text(typed: bool = False) -> str:
    """The rule the system prompt adds for tool actions (arguments as JSON, or as an object with
    ``typed``; references between calls)."""
    return template("tool_rules.j2").render(typed=typed).strip()


__all__ = ["DETAIL_STEPS", "MIN_DESCRIPTION_CHARS", "describe_operation", "render_operations", "rules_text",
           "signature", "type_text"]
