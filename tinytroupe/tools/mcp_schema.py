"""MCP tools' JSON schemas as pydantic models, and the model of an MCP tool's result.

An MCP server describes each tool's arguments with a JSON schema; :func:`model_from_schema` turns it
into a pydantic model, so a call is validated (and refused with a clear
:class:`~tinytroupe.errors.ToolArgumentError`) before anything is sent. Handled: ``string``,
``integer``, ``number``, ``boolean``, ``null``, arrays (of any handled item type), objects (a nested
object is a ``dict``), ``enum`` and ``const`` (a ``Literal``), a list of types, ``anyOf``/``oneOf``
(a union), local ``$ref`` to ``$defs``, the usual bounds (``minimum``, ``maxLength``, ``pattern`` ...),
``default``, and required versus optional properties. Anything else accepts any value (``Any``) and
is listed in the returned notes. Property names that are not Python names keep their JSON name as
the alias.

Example:
    >>> Model, notes = model_from_schema("Add", {"type": "object", "properties": {
    ...     "a": {"type": "integer"}, "b": {"type": "integer", "default": 1},
    ...     "unit": {"enum": ["kg", "lb"]}}, "required": ["a"]})
    >>> Model.model_validate({"a": 2, "unit": "kg"}).model_dump()
    {'a': 2, 'b': 1, 'unit': 'kg'}
    >>> notes
    []
"""

from __future__ import annotations

import keyword
import re
from typing import Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, create_model

_SIMPLE: dict[str, Any] = {"string": str, "integer": int, "number": float, "boolean": bool, "null": type(None)}
_BOUNDS = {"minimum": "ge", "maximum": "le", "exclusiveMinimum": "gt", "exclusiveMaximum": "lt",
           "minLength": "min_length", "maxLength": "max_length", "minItems": "min_length",
           "maxItems": "max_length", "pattern": "pattern"}
_RESERVED = frozenset(dir(BaseModel))


class MCPContent(BaseModel):
    """One content block of an MCP result: ``text`` for text blocks; others keep their type and fields."""

    model_config = ConfigDict(extra="allow")

    type: str
    text: str | None = None


class MCPToolResult(BaseModel):
    """What an MCP tool returned: its text blocks joined, every block, and structured content if any."""

    text: str
    content: list[MCPContent]
    structured: dict[str, Any] | None = None


class _Converter:
    def __init__(self, root: dict[str, Any]) -> None:
        self.defs = {**root.get("definitions", {}), **root.get("$defs", {})}
        self.notes: list[str] = []
        self._resolving: set[str] = set()

    def type_of(self, schema: Any, where: str) -> Any:
        if schema is True or schema == {}:
            return Any
        if not isinstance(schema, dict):
            return self._unknown(where, f"schema {schema!r:.40}")
        if "$ref" in schema:
            return self._ref(schema["$ref"], where)
        if "const" in schema:
            return Literal[schema["const"]]
        if "enum" in schema:
            values = tuple(schema["enum"])
            return Literal[values] if values else self._unknown(where, "an empty enum")
        for key in ("anyOf", "oneOf"):
            if key in schema:
                return self._union([self.type_of(s, where) for s in schema[key]])
        kind = schema.get("type")
        if isinstance(kind, list):
            return self._union([self.type_of({**schema, "type": k}, where) for k in kind])
        if kind in _SIMPLE:
            return _SIMPLE[kind]
        if kind == "array":
            return list[self.type_of(schema.get("items", {}), f"{where}[]")]  # type: ignore[misc]
        if kind == "object" or (kind is None and "properties" in schema):
            extra = schema.get("additionalProperties")
            value = self.type_of(extra, f"{where}.*") if isinstance(extra, dict) else Any
            return dict[str, value]  # type: ignore[valid-type]
        if kind is None and "allOf" not in schema:
            return Any  # no constraint at all: any JSON value, which is what the schema says
        return self._unknown(where, f"'{kind or 'allOf'}'")

    def _ref(self, ref: str, where: str) -> Any:
        name = ref.rsplit("/", 1)[-1]
        if not ref.startswith("#/") or name not in self.defs or name in self._resolving:
            return self._unknown(where, f"the reference {ref}")
        self._resolving.add(name)
        try:
            return self.type_of(self.defs[name], where)
        finally:
            self._resolving.discard(name)

    @staticmethod
    def _union(types: list[Any]) -> Any:
        distinct = list(dict.fromkeys(types))
        return distinct[0] if len(distinct) == 1 else Union[tuple(distinct)]  # noqa: UP007 (built at run time)

    def _unknown(self, where: str, what: str) -> Any:
        self.notes.append(f"{where}: {what} is not checked here (any value is accepted; the server checks it)")
        return Any


def _python_name(name: str, taken: set[str]) -> str:
    base = re.sub(r"\W", "_", name) or "field"
    if base[0].isdigit() or keyword.iskeyword(base) or base in _RESERVED or base.startswith("_"):
        base = f"f_{base.lstrip('_')}"
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}_{n}", n + 1
    taken.add(candidate)
    return candidate


def model_from_schema(name: str, schema: dict[str, Any] | None) -> tuple[type[BaseModel], list[str]]:
    """A pydantic model of the arguments ``schema`` describes (an object schema), and notes on what
    it could not express. ``model_dump(by_alias=True)`` gives the arguments under their JSON names."""
    schema = schema or {"type": "object"}
    conv = _Converter(schema)
    required = set(schema.get("required", []))
    taken: set[str] = set()
    fields: dict[str, Any] = {}
    for prop, sub in (schema.get("properties") or {}).items():
        annotation = conv.type_of(sub, prop)
        sub = sub if isinstance(sub, dict) else {}
        kwargs: dict[str, Any] = {"alias": prop, "description": sub.get("description")}
        kwargs.update({_BOUNDS[k]: v for k, v in sub.items() if k in _BOUNDS and not isinstance(v, bool)})
        if prop in required:
            fields[_python_name(prop, taken)] = (annotation, Field(..., **kwargs))
        elif "default" in sub:
            fields[_python_name(prop, taken)] = (annotation, Field(sub["default"], **kwargs))
        else:
            fields[_python_name(prop, taken)] = (annotation | None if annotation is not Any else Any,
                                                 Field(None, **kwargs))
    extra: Literal["forbid", "allow"] = "forbid" if schema.get("additionalProperties") is False else "allow"
    config = ConfigDict(populate_by_name=True, extra=extra)
    model = create_model(name, __config__=config, **fields)
    return model, conv.notes


def arguments_of(args: BaseModel) -> dict[str, Any]:
    """The arguments to send: JSON names, and the optional ones the caller left out dropped."""
    return args.model_dump(mode="json", by_alias=True, exclude_unset=True)


__all__ = ["MCPContent", "MCPToolResult", "arguments_of", "model_from_schema"]
