"""Reading a response schema for the skeleton filler: ``$ref`` to ``$defs``/``definitions``, single
``allOf``, nullable unions and ``type`` lists resolved to one concrete schema, the kind of value it asks
for, and numeric bounds with a ladder of plausible numbers inside them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from tinytroupe.errors import LLMError


class UnsupportedSchemaError(LLMError):
    """The response schema has a shape the skeleton filler cannot write a valid value for."""


#: a union of objects told apart by their first property: that key, and each branch with its values of it
TaggedUnion = tuple[str, list[tuple[list[Any], Mapping[str, Any]]]]


class SchemaResolver:
    r"""Resolves schemas against the root schema their local ``$ref``\ s point into."""

    def __init__(self, root: Mapping[str, Any]) -> None:
        self.root = root

    def resolve(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        """Follow ``$ref``, single ``allOf`` and nullable unions down to one concrete schema."""
        seen = 0
        while True:
            seen += 1
            if seen > 64:
                raise UnsupportedSchemaError(f"the schema's $ref chain does not end: {dict(schema)!r:.200}")
            if "$ref" in schema:
                schema = {**self.lookup(schema["$ref"]),
                          **{k: v for k, v in schema.items() if k != "$ref"}}
                continue
            if "allOf" in schema and len(schema["allOf"]) == 1:
                schema = {**schema["allOf"][0], **{k: v for k, v in schema.items() if k != "allOf"}}
                continue
            for union in ("anyOf", "oneOf"):
                if union in schema:
                    branches = [b for b in schema[union] if not is_null(self.deref(b))]
                    if not branches:
                        return {"type": "null"}
                    # Several non-null branches: the first one is as good as any and always valid.
                    schema = {**branches[0], **{k: v for k, v in schema.items() if k != union}}
                    break
            else:
                types = schema.get("type")
                if isinstance(types, list):
                    concrete = [t for t in types if t != "null"] or ["null"]
                    schema = {**schema, "type": concrete[0]}
                return schema

    def tagged_union(self, schema: Mapping[str, Any]) -> TaggedUnion | None:
        """A union (``anyOf``/``oneOf``) of two or more objects told apart by their first property, the
        same key in every branch with a ``const`` or ``enum`` value; None for any other schema.

        Example:
            >>> union = SchemaResolver({}).tagged_union({"anyOf": [
            ...     {"type": "object", "properties": {"kind": {"enum": ["a", "b"]}}},
            ...     {"type": "object", "properties": {"kind": {"const": "c"}, "n": {"type": "integer"}}}]})
            >>> union[0], [values for values, _ in union[1]]
            ('kind', [['a', 'b'], ['c']])
        """
        node = self.deref(schema)
        branches = node.get("anyOf") or node.get("oneOf")
        if not isinstance(branches, list):
            return None
        objects = [self.resolve(b) for b in branches if not is_null(self.deref(b))]
        if len(objects) < 2:
            return None
        found: list[tuple[list[Any], Mapping[str, Any]]] = []
        keys = set()
        for branch in objects:
            properties = branch.get("properties")
            if self.kind(branch) != "object" or not isinstance(properties, Mapping) or not properties:
                return None
            key = next(iter(properties))
            tag = self.resolve(properties[key])
            values = [tag["const"]] if "const" in tag else tag.get("enum")
            if not isinstance(values, list) or not values:
                return None
            keys.add(key)
            found.append((values, branch))
        return (keys.pop(), found) if len(keys) == 1 else None

    def deref(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        return self.lookup(schema["$ref"]) if "$ref" in schema else schema

    def lookup(self, ref: str) -> Mapping[str, Any]:
        if not ref.startswith("#/"):
            raise UnsupportedSchemaError(f"only local $ref ('#/$defs/...') is supported, got {ref!r}")
        node: Any = self.root
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, Mapping) or part not in node:
                raise UnsupportedSchemaError(f"$ref {ref!r} points at nothing in the response schema")
            node = node[part]
        return node

    @staticmethod
    def kind(schema: Mapping[str, Any]) -> str:
        if "const" in schema:
            return "const"
        if "enum" in schema:
            return "enum"
        kind = schema.get("type")
        if isinstance(kind, str):
            return kind
        if "properties" in schema or "additionalProperties" in schema:
            return "object"
        if "items" in schema or "prefixItems" in schema:
            return "array"
        return "string"  # an unconstrained value ("Any"): text is the most useful answer


def is_null(schema: Mapping[str, Any]) -> bool:
    return schema.get("type") == "null" or ("const" in schema and schema["const"] is None)


def bounds(schema: Mapping[str, Any], *, integer: bool) -> tuple[float | None, float | None]:
    low = schema.get("minimum")
    high = schema.get("maximum")
    step = 1 if integer else 1e-9
    ex_low, ex_high = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    if isinstance(ex_low, int | float):
        low = ex_low + step if low is None else max(low, ex_low + step)
    if isinstance(ex_high, int | float):
        high = ex_high - step if high is None else min(high, ex_high - step)
    return low, high


def number_ladder(low: float | None, high: float | None, *, integer: bool) -> list[float]:
    """At most a dozen plausible values inside ``[low, high]`` for a constrained choice."""
    lo = low if low is not None else (0.0 if high is None or high >= 0 else high - 10)
    hi = high if high is not None else max(lo + 100, 100.0)
    if integer and hi - lo <= 11:
        return [float(v) for v in range(math.ceil(lo), math.floor(hi) + 1)]
    steps = 10
    values = sorted({lo + (hi - lo) * i / steps for i in range(steps + 1)})
    return [float(round(v)) if integer else v for v in values]


__all__ = ["SchemaResolver", "TaggedUnion", "UnsupportedSchemaError", "bounds", "is_null", "number_ladder"]
