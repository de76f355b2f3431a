"""Turning a model's text into a validated pydantic object: parse strictly, repair, validate.

Never returns ``{}`` or ``None`` for a bad answer: :func:`parse_answer` either returns a valid
object or raises :class:`InvalidAnswer` listing what was wrong, which the client uses to re-ask.
"""

from __future__ import annotations

import json
import threading
import weakref
from collections import OrderedDict
from typing import Any, TypeVar

import json_repair
import orjson
from pydantic import BaseModel, ValidationError

from tinytroupe.llm.canonical import freeze_schema
from tinytroupe.llm.types import Completion, LLMRequest

T = TypeVar("T", bound=BaseModel)

DEFAULT_MAX_ANSWER_CHARS = 200_000
DEFAULT_MAX_DEPTH = 32


class InvalidAnswer(Exception):
    """A model answer that failed parsing or validation; ``problems`` are human-readable lines."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _depth(value: Any, limit: int, level: int = 0) -> int:
    """How many containers deep ``value`` goes (``{"a": 1}`` is 1), counting no further than ``limit + 1``."""
    if isinstance(value, dict | list):
        level += 1
        if level > limit:
            return level
        children = value.values() if isinstance(value, dict) else value
        return max((_depth(v, limit, level) for v in children), default=level)
    return level


def _json_slice(text: str) -> str:
    """The part of ``text`` from the first ``{`` or ``[`` on, without markdown fences around it."""
    stripped = text.strip()
    if stripped[:1] in ("{", "["):
        return stripped  # the usual answer: the JSON itself (what the search below would find)
    if stripped.startswith("```"):
        stripped = stripped.split("\n", 1)[1] if "\n" in stripped else ""
        if stripped.rstrip().endswith("```"):
            stripped = stripped.rstrip()[:-3]
    starts = [i for i in (stripped.find("{"), stripped.find("[")) if i >= 0]
    return stripped[min(starts):] if starts else stripped


_CLOSERS = {"{": "}", "[": "]"}


def cut_off_problem(candidate: str, max_depth: int = DEFAULT_MAX_DEPTH) -> str | None:
    """Why ``candidate`` (JSON text from its first bracket on) cannot be repaired, or None.

    An answer that stops inside a string or before its brackets are closed was cut off (by a token
    limit, a dropped connection or a server bug). Repairing it would invent the missing end, e.g.
    ``{"reason": "Mo`` would become ``{"reason": "Mo"}``, so such answers are re-asked instead.
    Text nested deeper than ``max_depth`` is refused too, before a recursive repair walks it.

    Example:
        >>> cut_off_problem('{"preference": "remote", "reason": "Mo')
        'the answer stops inside a string: it was cut off'
        >>> cut_off_problem('{"a": [1, 2], "b": "x}"}') is None
        True
    """
    stack: list[str] = []
    in_string = False
    escaped = False
    for ch in candidate:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in _CLOSERS:
            stack.append(_CLOSERS[ch])
            if len(stack) > max_depth:
                return f"the answer is nested more than {max_depth} levels deep"
        elif stack and ch == stack[-1]:
            stack.pop()
            if not stack:
                # The first complete value ends here; what follows is prose, not more of the answer.
                return None
    if in_string:
        return "the answer stops inside a string: it was cut off"
    if stack:
        missing = "".join(reversed(stack))
        return f"the answer stops before its brackets were closed ({missing!r} missing): it was cut off"
    return None


def _loads(text: str) -> Any:
    # orjson first (several times faster on a turn's answer); whatever it refuses (NaN, integers
    # beyond 64 bits, lone surrogates, its own nesting limit) json parses or rejects as it always did.
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def load_json(text: str, *, max_chars: int = DEFAULT_MAX_ANSWER_CHARS,
              max_depth: int = DEFAULT_MAX_DEPTH, allow_repair: bool = True) -> tuple[Any, bool]:
    """Parse ``text`` as JSON; returns ``(value, repaired)``.

    Strict parsing first (prose or markdown fences around the object are dropped); when that fails
    and ``allow_repair`` is true, ``json_repair`` fixes syntax (trailing commas, single quotes). An
    answer that was cut off is never repaired (see :func:`cut_off_problem`). Raises
    :class:`InvalidAnswer` when the text is too long, too deeply nested, cut off, or not JSON even
    after repair.
    """
    if len(text) > max_chars:
        raise InvalidAnswer([f"the answer is {len(text)} characters long; the limit is {max_chars}"])
    candidate = _json_slice(text)
    repaired = False
    try:
        value = _loads(candidate)
    except RecursionError as exc:
        # Thousands of nested brackets overflow the parser's stack before our depth check runs.
        raise InvalidAnswer([f"the answer is nested more than {max_depth} levels deep"]) from exc
    except json.JSONDecodeError as exc:
        strict_error = f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        unrepairable = cut_off_problem(candidate, max_depth)
        if unrepairable is not None:
            raise InvalidAnswer([strict_error, unrepairable]) from exc
        if not allow_repair:
            raise InvalidAnswer([strict_error]) from exc
        try:
            value = json_repair.loads(candidate)
        except Exception as repair_exc:  # json_repair raises assorted errors on hopeless input
            raise InvalidAnswer([strict_error, f"repair failed: {repair_exc}"]) from repair_exc
        repaired = True
        if value in ("", None) or (value == {} and "{" not in candidate) or (
            value == [] and "[" not in candidate
        ):
            raise InvalidAnswer([strict_error, "no JSON object could be recovered from the answer"]) from exc
    # Every container in strictly parsed JSON was opened by a bracket in the text, so a text with no
    # more brackets than the limit cannot nest deeper: typical answers skip the walk.
    few_brackets = not repaired and candidate.count("{") + candidate.count("[") <= max_depth
    if not few_brackets and _depth(value, max_depth) > max_depth:
        raise InvalidAnswer([f"the answer is nested more than {max_depth} levels deep"])
    return value, repaired


def validation_problems(error: ValidationError) -> list[str]:
    """One readable line per pydantic error: ``field.path: message (got value)``."""
    lines = []
    for err in error.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        got = repr(err.get("input"))
        if len(got) > 80:
            got = got[:77] + "..."
        lines.append(f"{where}: {err['msg']} (got {got})")
    return lines


def parse_answer(text: str, model: type[T], *, max_chars: int = DEFAULT_MAX_ANSWER_CHARS,
                 max_depth: int = DEFAULT_MAX_DEPTH, context: dict[str, Any] | None = None) -> T:
    """Parse and validate ``text`` into ``model``; raise :class:`InvalidAnswer` when impossible.

    Example:
        >>> from pydantic import BaseModel
        >>> class Rating(BaseModel):
        ...     score: int
        >>> parse_answer('{"score": 7,}', Rating).score
        7
    """
    value, _ = load_json(text, max_chars=max_chars, max_depth=max_depth)
    try:
        return model.model_validate(value, context=context)
    except ValidationError as exc:
        raise InvalidAnswer(validation_problems(exc)) from exc


def strict_value(text: str, model: type[T], *, max_chars: int = DEFAULT_MAX_ANSWER_CHARS,
                 max_depth: int = DEFAULT_MAX_DEPTH, context: dict[str, Any] | None = None) -> T | None:
    """``text`` validated into ``model`` if it is a valid answer as it stands (no repair), else None.

    Only such answers may be stored in a response cache: a repaired one is a guess about what the
    model meant, and a cache would serve that guess as if the model had said it.

    Example:
        >>> from pydantic import BaseModel
        >>> class Rating(BaseModel):
        ...     score: int
        >>> strict_value('{"score": 7}', Rating).score, strict_value('{"score": 7,}', Rating)
        (7, None)
    """
    try:
        value, _ = load_json(text, max_chars=max_chars, max_depth=max_depth, allow_repair=False)
        return model.model_validate(value, context=context)
    except (InvalidAnswer, ValidationError):
        return None


def storable(request: LLMRequest, completion: Completion) -> bool:
    """Whether a response cache may keep ``completion`` as the answer to ``request``.

    Free text always; a structured answer only when it was not cut off and is valid as it stands
    (:func:`strict_value`). A repaired or invalid answer is never stored: a re-run would be served
    the same bad answer, or a guess at it, as if the model had given it. The validated value is
    remembered on the completion so the client does not parse it again.
    """
    model = request.response_model
    if model is None:
        return True
    if completion.cut_off:
        return False
    value = strict_value(completion.text, model, context=request.validation_context)
    if value is None:
        return False
    completion.mark_checked(model, request.validation_context, value)
    return True


# Building a JSON schema costs about a millisecond, more than a whole cache hit; a class's schema
# never changes, so build it once per class (weak keys: classes made at run time can still go).
_SCHEMAS: weakref.WeakKeyDictionary[type[BaseModel], dict[str, Any]] = weakref.WeakKeyDictionary()


def schema_for(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON schema sent to servers for ``model`` (pydantic's, with titles kept).

    Built once per class; the result is shared, so treat it as read-only (copy before changing it).
    """
    schema = _SCHEMAS.get(model)
    if schema is None:
        schema = _SCHEMAS[model] = freeze_schema(model.model_json_schema())
    return schema


def strict_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``schema`` in the form OpenAI's strict structured outputs accept.

    Strict mode wants every object closed (``additionalProperties: false``) with all properties
    listed as required; optional fields stay optional through their ``null`` branch.

    Example:
        >>> strict_schema({"type": "object", "title": "A", "properties": {"x": {"type": "integer"}}})
        {'type': 'object', 'properties': {'x': {'type': 'integer'}}, 'additionalProperties': False, 'required': ['x']}
    """

    def fix(node: Any, names: bool = False) -> Any:
        if isinstance(node, dict):
            if names:  # a "properties" mapping: its keys are field names (a field may be called "title")
                return {k: fix(v) for k, v in node.items()}
            out = {k: fix(v, names=k in ("properties", "$defs")) for k, v in node.items()
                   if k not in ("default", "title")}
            if out.get("type") == "object" and "properties" in out:
                out["additionalProperties"] = False
                out["required"] = list(out["properties"].keys())
            return out
        if isinstance(node, list):
            return [fix(v) for v in node]
        return node

    result: dict[str, Any] = fix(schema)
    return result


# Rewriting a schema for strict mode costs about 0.2 ms (more with a long enum of names), paid on
# every structured call when not remembered. Requests carry copies of their schema dict, so the
# result is remembered by the schema's content (a bounded table; orjson makes the key in microseconds).
_STRICT: OrderedDict[bytes, dict[str, Any]] = OrderedDict()
_STRICT_MAX = 2048
_STRICT_LOCK = threading.Lock()


def strict_schema_cached(schema: dict[str, Any]) -> dict[str, Any]:
    """:func:`strict_schema` of ``schema``, remembered by content (shared: treat as read-only).

    Example:
        >>> a = strict_schema_cached({"type": "object", "properties": {"x": {"type": "string"}}})
        >>> a is strict_schema_cached({"type": "object", "properties": {"x": {"type": "string"}}})
        True
    """
    import orjson

    try:
        key = orjson.dumps(schema, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # an integer beyond 64 bits: json writes it
        key = json.dumps(schema, sort_keys=True).encode("utf-8")
    with _STRICT_LOCK:
        found = _STRICT.get(key)
        if found is not None:
            _STRICT.move_to_end(key)
            return found
    made = strict_schema(schema)
    with _STRICT_LOCK:
        _STRICT[key] = made
        if len(_STRICT) > _STRICT_MAX:
            _STRICT.popitem(last=False)
    return made


def reask_message(problems: list[str], schema: dict[str, Any] | None) -> str:
    """The user message that shows the model what was wrong with its last answer."""
    lines = ["Your last answer could not be used:", *(f"- {p}" for p in problems[:10])]
    lines.append("Answer again with one JSON object only, no other text.")
    if schema is not None:
        lines.append("It must match this JSON schema: " + json.dumps(schema, separators=(",", ":")))
    return "\n".join(lines)


__all__ = [
    "InvalidAnswer",
    "cut_off_problem",
    "load_json",
    "parse_answer",
    "reask_message",
    "schema_for",
    "storable",
    "strict_schema",
    "strict_schema_cached",
    "strict_value",
    "validation_problems",
]
