"""Skeleton fill-in: structured answers from a small base model, valid JSON by construction.

Instead of asking the model to write JSON (small base models cannot), the library walks the JSON
schema and writes the structure itself (braces, keys, quotes, commas); the model fills one value at
a time. Each value is a new completion of the prompt extended with the JSON written so far, so a
backend with prefix KV reuse pays only for the new tokens.

The engine is independent of any runtime: it drives a :class:`Generator` (two methods, see there),
which the embedded llama.cpp backend implements and unit tests fake.

Supported schema shapes: objects with ``properties``, strings (``maxLength``/``minLength``),
``enum``/``const`` (any JSON scalars), booleans, integers and numbers (``minimum``/``maximum`` and
their exclusive forms), arrays (``items``, ``prefixItems``, ``minItems``/``maxItems``), ``$ref`` to
``$defs``/``definitions``, ``anyOf``/``oneOf`` with ``null`` (the non-null branch is filled), unions
of objects told apart by their first property (a ``const`` or ``enum`` tag: the tag is chosen among all
branches', the rest follows the chosen branch; a turn's typed tool actions), single ``allOf`` and
``type`` lists. Free-form objects (only ``additionalProperties``) become ``{}`` when the
schema allows an empty object. Constraints the engine does not enforce (``pattern``, ``format``,
``minLength`` beyond one retry) are left to the normal validation path of the client.

Example:
    >>> class Fake:
    ...     def generate(self, prompt: str, max_tokens: int, stop: Sequence[str]) -> str:
    ...         return "42" if prompt.endswith(": ") else "Ana"
    ...     def choose(self, prompt: str, options: Sequence[str]) -> str:
    ...         return options[-1]
    >>> schema = {"type": "object", "properties": {"name": {"type": "string"},
    ...           "age": {"type": "integer", "maximum": 30}}, "required": ["name", "age"]}
    >>> SkeletonFiller(Fake()).fill("Person: ", schema).text
    '{"name": "Ana", "age": 30}'
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from tinytroupe.llm.skeleton_schema import (
    SchemaResolver,
    TaggedUnion,
    UnsupportedSchemaError,
    bounds,
    is_null,
    number_ladder,
)

#: item cap for arrays without ``maxItems`` (agents act a few times per turn, not fifty)
DEFAULT_MAX_ITEMS = 6
#: tokens for a string value without ``maxLength``
DEFAULT_STRING_TOKENS = 48
#: per-key overrides of :data:`DEFAULT_STRING_TOKENS` (spoken or written text needs more room)
DEFAULT_FIELD_TOKENS: Mapping[str, int] = {
    "content": 96, "text": 96, "message": 96, "description": 96, "answer": 96, "reasoning": 96,
    "target": 16, "name": 16, "title": 24,
}
#: nesting beyond this is treated as recursion: nullable values become null, arrays empty
DEFAULT_MAX_DEPTH = 12

_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
_STRING_STOPS = ('"', "\n")
_SCALAR_STOPS = (",", "}", "]", "\n")
_TRUE_WORDS = ("true", "yes", "y", "1")
_FALSE_WORDS = ("false", "no", "n", "0")


@runtime_checkable
class Generator(Protocol):
    """What the filler needs from a language model.

    ``generate`` continues ``prompt`` with at most ``max_tokens`` tokens and stops before any of
    ``stop`` (the stop text itself is not returned). ``choose`` continues ``prompt`` with exactly
    one of ``options`` (a constrained decision) and returns it.
    """

    def generate(self, prompt: str, max_tokens: int, stop: Sequence[str]) -> str: ...

    def choose(self, prompt: str, options: Sequence[str]) -> str: ...


@dataclass
class FillResult:
    """The JSON text written (valid by construction), its parsed value and the number of model calls."""

    text: str
    value: Any
    calls: int = 0
    prompt: str = field(default="", repr=False)


class _Writer:
    """The growing prompt: the caller's prompt plus the JSON written so far."""

    def __init__(self, prompt: str) -> None:
        self.prompt = prompt
        self.start = len(prompt)

    def write(self, text: str) -> None:
        self.prompt += text

    @property
    def json_text(self) -> str:
        return self.prompt[self.start:]


class SkeletonFiller:
    """Writes a JSON value for a schema, asking ``generator`` for one value at a time.

    Args:
        generator: the model (see :class:`Generator`).
        max_items: cap for arrays without ``maxItems``.
        string_tokens: tokens for a string without ``maxLength``.
        field_tokens: per-property-name token budgets that override ``string_tokens``.
        max_depth: nesting limit (protects against recursive schemas).

    Example:
        >>> class Always:
        ...     def generate(self, prompt, max_tokens, stop): return "THINK"
        ...     def choose(self, prompt, options): return options[0]
        >>> schema = {"type": "object", "properties": {"type": {"enum": ["TALK", "THINK", "DONE"]}}}
        >>> SkeletonFiller(Always()).fill("", schema).value
        {'type': 'THINK'}
    """

    def __init__(self, generator: Generator, *, max_items: int = DEFAULT_MAX_ITEMS,
                 string_tokens: int = DEFAULT_STRING_TOKENS,
                 field_tokens: Mapping[str, int] | None = None,
                 max_depth: int = DEFAULT_MAX_DEPTH) -> None:
        self.generator = generator
        self.max_items = max_items
        self.string_tokens = string_tokens
        self.field_tokens = dict(DEFAULT_FIELD_TOKENS if field_tokens is None else field_tokens)
        self.max_depth = max_depth
        self._calls = 0
        self._schemas = SchemaResolver({})

    # ------------------------------------------------------------------ entry point
    def fill(self, prompt: str, schema: Mapping[str, Any]) -> FillResult:
        """Write a value for ``schema`` after ``prompt``; returns the JSON text and value."""
        self._calls = 0
        self._schemas = SchemaResolver(schema)
        writer = _Writer(prompt)
        value = self._value(writer, schema, key=None, depth=0)
        text = writer.json_text
        # The text is built to be valid; this check guards the engine itself, never the model.
        if json.loads(text) != value:
            raise AssertionError(f"skeleton filler wrote inconsistent JSON: {text[:200]!r}")
        return FillResult(text=text, value=value, calls=self._calls, prompt=writer.prompt)

    # ------------------------------------------------------------------ values
    def _value(self, w: _Writer, schema: Mapping[str, Any], *, key: str | None, depth: int,
               fixed: Mapping[str, Any] | None = None) -> Any:
        raw = schema
        union = self._schemas.tagged_union(schema)
        if union is not None and depth <= self.max_depth:
            return self._union_object(w, union, depth, fixed or {})
        schema = self._schemas.resolve(schema)
        kind = SchemaResolver.kind(schema)
        if depth > self.max_depth and kind in ("object", "array"):
            return self._too_deep(w, raw, schema)
        if kind == "const":
            return self._literal(w, schema["const"])
        if kind == "enum":
            return self._enum(w, list(schema["enum"]))
        if kind == "null":
            return self._literal(w, None)
        if kind == "string":
            return self._string(w, schema, key)
        if kind == "boolean":
            return self._boolean(w)
        if kind in ("integer", "number"):
            return self._number(w, schema, integer=kind == "integer")
        if kind == "array":
            return self._array(w, schema, key, depth)
        if kind == "object":
            return self._object(w, schema, depth, fixed or {})
        raise UnsupportedSchemaError(f"unknown JSON schema type {kind!r} in {dict(schema)!r:.200}")

    def _too_deep(self, w: _Writer, raw: Mapping[str, Any], schema: Mapping[str, Any]) -> Any:
        branches = raw.get("anyOf") or raw.get("oneOf") or []
        if any(is_null(self._schemas.deref(b)) for b in branches) or schema.get("type") == "null":
            return self._literal(w, None)
        if SchemaResolver.kind(schema) == "array" and not schema.get("minItems"):
            return self._literal(w, [])
        raise UnsupportedSchemaError(
            f"the response schema nests deeper than {self.max_depth} levels with no way to stop "
            f"(no nullable branch or empty array) at {dict(schema)!r:.200}; simplify the schema"
        )

    def _literal(self, w: _Writer, value: Any) -> Any:
        w.write(json.dumps(value, ensure_ascii=False))
        return value

    def _gen(self, w: _Writer, max_tokens: int, stop: Sequence[str]) -> str:
        self._calls += 1
        return self.generator.generate(w.prompt, max_tokens, stop)

    def _choose(self, w: _Writer, options: Sequence[str]) -> str:
        self._calls += 1
        picked = self.generator.choose(w.prompt, options)
        if picked not in options:
            raise AssertionError(f"generator.choose returned {picked!r}, not one of {list(options)!r}")
        return picked

    def _string(self, w: _Writer, schema: Mapping[str, Any], key: str | None) -> str:
        max_len = schema.get("maxLength")
        if isinstance(max_len, int):
            # About 3 characters per token for English; at least one token so "" is not forced.
            budget = max(1, min(math.ceil(max_len / 3) + 2, 512))
        else:
            budget = self.field_tokens.get(key or "", self.string_tokens)
        w.write('"')
        text = self._gen(w, budget, _STRING_STOPS).strip()
        min_len = schema.get("minLength")
        if isinstance(min_len, int) and len(text) < min_len:
            text = self._gen(w, budget, _STRING_STOPS).strip()  # one more try; validation judges the rest
        if isinstance(max_len, int) and len(text) > max_len:
            text = text[:max_len].rstrip() if max_len else ""
        w.write(json.dumps(text, ensure_ascii=False)[1:])  # the opening quote is already written
        return text

    def _enum(self, w: _Writer, options: list[Any]) -> Any:
        if len(options) == 1:
            return self._literal(w, options[0])
        if all(isinstance(o, str) for o in options):
            w.write('"')
            longest = max(len(o) for o in options)
            guess = self._gen(w, min(8, max(2, longest // 2 + 1)), _STRING_STOPS)
            picked = _match_option(guess, options)
            if picked is None:
                picked = self._choose(w, [json.dumps(o, ensure_ascii=False)[1:-1] for o in options])
                picked = options[[json.dumps(o, ensure_ascii=False)[1:-1] for o in options].index(picked)]
            w.write(json.dumps(picked, ensure_ascii=False)[1:])
            return picked
        texts = [json.dumps(o, ensure_ascii=False) for o in options]
        guess = self._gen(w, 4, _SCALAR_STOPS)
        found = _match_option(guess, texts)
        chosen = found if found is not None else self._choose(w, texts)
        value = options[texts.index(chosen)]
        return self._literal(w, value)

    def _boolean(self, w: _Writer) -> bool:
        guess = self._gen(w, 3, _SCALAR_STOPS).strip().strip('"').lower()
        if guess in _TRUE_WORDS or (guess and "true".startswith(guess)):
            value = True
        elif guess in _FALSE_WORDS or (guess and "false".startswith(guess)):
            value = False
        else:
            value = self._choose(w, ["true", "false"]) == "true"
        return bool(self._literal(w, value))

    def _number(self, w: _Writer, schema: Mapping[str, Any], *, integer: bool) -> int | float:
        low, high = bounds(schema, integer=integer)
        match = _NUMBER.search(self._gen(w, 8, _SCALAR_STOPS))
        number: float
        if match is not None:
            number = float(match.group())
            if not math.isfinite(number):
                match = None
        if match is None:
            # Nothing numeric came out: pick from a small ladder of values inside the bounds.
            ladder = number_ladder(low, high, integer=integer)
            number = float(self._choose(w, [_format_number(v, integer) for v in ladder]))
        if low is not None:
            number = max(number, low)
        if high is not None:
            number = min(number, high)
        value: int | float = round(number) if integer else number
        if integer and low is not None and value < low:
            value = math.ceil(low)
        if integer and high is not None and value > high:
            value = math.floor(high)
        return self._literal(w, value)

    def _array(self, w: _Writer, schema: Mapping[str, Any], key: str | None, depth: int) -> list[Any]:
        prefix = list(schema.get("prefixItems") or [])
        items = schema.get("items")
        # items: a schema, False (only the prefix items are allowed) or absent (anything goes).
        items_schema: Mapping[str, Any] | None = (
            items if isinstance(items, Mapping) else None if items is False else {})
        min_items = int(schema.get("minItems") or 0)
        max_items = schema.get("maxItems")
        cap = int(max_items) if isinstance(max_items, int) else max(self.max_items, min_items, len(prefix))
        if items_schema is None:
            cap = min(cap, len(prefix))
        done_marker = items_schema is not None and self._has_done_type(items_schema)
        values: list[Any] = []
        w.write("[")
        while len(values) < cap:
            index = len(values)
            item_schema = prefix[index] if index < len(prefix) else items_schema
            assert item_schema is not None  # cap <= len(prefix) when there is no items schema
            if index:
                w.write(", ")
            # With a DONE marker the last allowed item is forced to be DONE, so lists always end well.
            fixed = {"type": "DONE"} if done_marker and index == cap - 1 else None
            value = self._value(w, item_schema, key=key, depth=depth + 1, fixed=fixed)
            values.append(value)
            if done_marker:
                if isinstance(value, dict) and value.get("type") == "DONE":
                    break
                continue
            if len(values) < max(min_items, len(prefix)):
                continue
            if len(values) >= cap or self._choose(w, [",", "]"]) == "]":
                break
        w.write("]")
        return values

    def _has_done_type(self, items_schema: Mapping[str, Any]) -> bool:
        union = self._schemas.tagged_union(items_schema)
        if union is not None:
            return union[0] == "type" and any("DONE" in values for values, _ in union[1])
        resolved = self._schemas.resolve(items_schema)
        if SchemaResolver.kind(resolved) != "object":
            return False
        type_schema = (resolved.get("properties") or {}).get("type")
        if not isinstance(type_schema, Mapping):
            return False
        type_schema = self._schemas.resolve(type_schema)
        return "DONE" in (type_schema.get("enum") or []) or type_schema.get("const") == "DONE"

    def _object(self, w: _Writer, schema: Mapping[str, Any], depth: int,
                fixed: Mapping[str, Any]) -> dict[str, Any]:
        properties: Mapping[str, Any] = schema.get("properties") or {}
        if not properties:
            min_props = int(schema.get("minProperties") or 0)
            required = schema.get("required") or []
            if min_props or required:
                raise UnsupportedSchemaError(
                    "the skeleton filler cannot invent keys for a free-form object that must not be "
                    f"empty (schema {schema.get('title') or dict(schema)!r:.200}); give the object "
                    "named properties, or use an API model for this request"
                )
            w.write("{}")
            return {}
        out: dict[str, Any] = {}
        w.write("{")
        self._properties(w, list(properties.items()), depth, fixed, out)
        w.write("}")
        return out

    def _properties(self, w: _Writer, properties: list[tuple[str, Any]], depth: int, fixed: Mapping[str, Any],
                    out: dict[str, Any]) -> None:
        for name, prop in properties:
            w.write((", " if out else "") + json.dumps(name, ensure_ascii=False) + ": ")
            if name in fixed:
                out[name] = self._literal(w, fixed[name])
            else:
                out[name] = self._value(w, prop, key=name, depth=depth + 1)

    def _union_object(self, w: _Writer, union: TaggedUnion, depth: int, fixed: Mapping[str, Any]) -> dict[str, Any]:
        # The tag is chosen among every branch's values; the rest of the object follows that branch.
        key, options = union
        choices = list(dict.fromkeys(v for values, _ in options for v in values))
        w.write("{" + json.dumps(key, ensure_ascii=False) + ": ")
        tag = self._literal(w, fixed[key]) if key in fixed and fixed[key] in choices else self._enum(w, choices)
        branch = next(b for values, b in options if tag in values)
        out: dict[str, Any] = {key: tag}
        self._properties(w, list(branch["properties"].items())[1:], depth, fixed, out)
        w.write("}")
        return out


def _match_option(text: str, options: Sequence[str]) -> str | None:
    """The option ``text`` names: exact, then prefix either way, then a close fuzzy match."""
    guess = text.strip().strip('"').strip().lower()
    if not guess:
        return None
    lowered = [o.lower() for o in options]
    if guess in lowered:
        return options[lowered.index(guess)]
    starts = [o for o, low in zip(options, lowered, strict=True) if low.startswith(guess)]
    if len(starts) == 1:
        return starts[0]
    # The model wrote more than the option ("TALKING", "think about it"): longest option it starts with.
    # An empty option ("no target") is a prefix of every text, so it never matches this way: nonsense
    # such as "my-phone" goes to the constrained choice instead of silently becoming "".
    within = [o for o, low in zip(options, lowered, strict=True) if low and guess.startswith(low)]
    if within:
        return max(within, key=len)
    close = difflib.get_close_matches(guess, lowered, n=1, cutoff=0.6)
    return options[lowered.index(close[0])] if close else None


def _format_number(value: float, integer: bool) -> str:
    return str(round(value)) if integer else repr(round(value, 6))


__all__ = ["DEFAULT_FIELD_TOKENS", "DEFAULT_MAX_ITEMS", "DEFAULT_STRING_TOKENS", "FillResult", "Generator",
           "SkeletonFiller", "UnsupportedSchemaError"]
