"""Typed arguments in a turn's schema: tool actions whose ``content`` is an object, not text.

An agent's faculties may say, per action type, what its ``content`` holds as a JSON schema
(:meth:`~tinytroupe.agent.faculties.MentalFaculty.action_argument_schemas`; ``TinyToolUse`` gives its
operations' argument schemas). The turn schema then offers, for each action, a choice (``anyOf``)
between the plain action (the other types, ``content`` a string, as before) and one variant per
typed action whose ``content`` is that schema::

    {"type": {"const": "SEND_EMAIL"}, "content": {<the arguments' schema>}, "target": ...}

With constrained decoding (structured outputs, the embedded model's skeleton fill-in, llama.cpp
grammars) a small model then writes the arguments as JSON values, not JSON text inside a string,
which it cannot. The answer's object is turned back into compact JSON text when it is validated
(:func:`content_text`), so ``Action.content`` stays a string everywhere downstream. Text content is
still accepted for a typed action (older recordings, servers that ignore the schema).

An agent that has been shown document passages (chunk ids, see
:meth:`~tinytroupe.agent.faculties.MentalFaculty.citable_ids`) gets a third kind of variant
(:func:`with_citations`): TALK and THINK with a ``cites`` list whose items are an ``enum`` of those
ids and ``""`` (no passage). Constrained decoding can then only cite ids the agent was shown; the
answer's ids arrive in ``Action.cites``.

Schemas are made compact for the prompt: titles, defaults and the root description go, field
descriptions are cut to :data:`DESCRIPTION_CHARS`, ``$defs`` of an argument schema are hoisted into
the turn schema's under a name prefixed with the action's.

Example:
    >>> typed = typed_argument_key({"ADD": {"title": "AddArgs", "type": "object",
    ...     "properties": {"a": {"title": "A", "type": "integer"}}, "required": ["a"]}})
    >>> typed
    (('ADD', '{"type":"object","properties":{"a":{"type":"integer"}},"required":["a"]}'),)
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import ValidationInfo

from tinytroupe.errors import InvalidArgument

#: the longest field description kept in a typed action's schema
DESCRIPTION_CHARS = 80
#: the key of a turn's validation context that names the actions whose content may be an object
TYPED_CONTEXT_KEY = "typed_actions"
#: the ``$defs`` names of a typed action's variant (``Action_SEND_EMAIL``) and of the target all share
_VARIANT_PREFIX = "Action_"
TARGET_DEF = "ActionTarget"

#: the actions that may cite passages (what is said or thought), their variant's name, and most ids per action
CITING_TYPES = ("TALK", "THINK")
CITING_DEF = "CitingAction"
MAX_CITES = 3

#: a faculty's typed arguments as the turn spec's caches take them: (action, canonical JSON schema) pairs
TypedArguments = tuple[tuple[str, str], ...]


def compact_json(value: Any) -> str:
    """``value`` as JSON without whitespace, keys in their order (a schema's fields stay in the order the
    model should write them; an answer's arguments in the order it wrote them).

    Example:
        >>> compact_json({"to": ["Ana"], "body": "Hé"})
        '{"to":["Ana"],"body":"Hé"}'
    """
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def compact_schema(schema: Mapping[str, Any], action: str) -> dict[str, Any]:
    """``schema`` without titles, defaults or root description, field descriptions cut short, and its
    ``$defs`` renamed ``<action>__<name>`` (so two actions' definitions never clash in one turn schema).

    Example:
        >>> compact_schema({"title": "T", "description": "Arguments of X.", "type": "object",
        ...                 "properties": {"n": {"type": "integer", "default": 1, "description": "how many"}}}, "X")
        {'type': 'object', 'properties': {'n': {'type': 'integer', 'description': 'how many'}}}
    """
    prefix = f"{action}__"

    def fix(node: Any, in_properties: bool = False) -> Any:
        if isinstance(node, list):
            return [fix(v) for v in node]
        if not isinstance(node, Mapping):
            return node
        if in_properties:  # keys are field names here, not keywords
            return {k: fix(v) for k, v in node.items()}
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in ("title", "default", "examples"):
                continue
            if key == "$ref" and isinstance(value, str) and value.startswith("#/$defs/"):
                out[key] = "#/$defs/" + prefix + value[len("#/$defs/"):]
            elif key == "description" and isinstance(value, str):
                out[key] = value if len(value) <= DESCRIPTION_CHARS else value[: DESCRIPTION_CHARS - 1].rstrip() + "…"
            else:
                out[key] = fix(value, in_properties=key in ("properties", "$defs"))
        return out

    root = {k: v for k, v in schema.items() if k != "description"}
    fixed: dict[str, Any] = fix(root)
    if "$defs" in fixed:
        fixed["$defs"] = {prefix + name: value for name, value in fixed["$defs"].items()}
    return fixed


def typed_argument_key(schemas: Mapping[str, Mapping[str, Any]],
                       action_types: Iterable[str] | None = None) -> TypedArguments:
    """The hashable form of ``schemas`` (action -> argument schema) a turn spec is built from: one
    ``(action, canonical JSON of the compact schema)`` pair per action, in ``action_types`` order (only
    those listed; sorted by name without it). A schema object is compacted once and remembered, so
    a faculty should return the same (unchanging) dicts every time.

    Raises:
        InvalidArgument: an argument schema is not an object schema with properties.
    """
    order = list(action_types) if action_types is not None else sorted(schemas)
    pairs = []
    for action in order:
        schema = schemas.get(action)
        if schema is None:
            continue
        if schema.get("type") != "object" or not isinstance(schema.get("properties"), Mapping):
            raise InvalidArgument(f"the argument schema of {action} must be an object schema with properties, "
                                  f"got {compact_json(dict(schema))[:120]}")
        pairs.append((action, _compact_text(schema, action)))
    return tuple(pairs)


#: compact texts remembered per schema object (faculties hand out the same dicts every turn); an entry
#: holds its schema, so the id cannot be reused while it is remembered
_COMPACT: dict[tuple[int, str], tuple[Mapping[str, Any], str]] = {}
_COMPACT_MAX = 4096


def _compact_text(schema: Mapping[str, Any], action: str) -> str:
    key = (id(schema), action)
    entry = _COMPACT.get(key)
    if entry is not None and entry[0] is schema:
        return entry[1]
    text = compact_json(compact_schema(schema, action))
    if len(_COMPACT) >= _COMPACT_MAX:
        _COMPACT.pop(next(iter(_COMPACT)), None)
    _COMPACT[key] = (schema, text)
    return text


def with_typed_variants(base: Mapping[str, Any], typed: TypedArguments, max_content_chars: int) -> dict[str, Any]:
    """The turn schema ``base`` with its action items made a choice between the plain action (the
    untyped types) and one variant per typed action (see the module docstring).

    The target's schema is shared by all of them (``$defs/ActionTarget``: a list of a hundred people
    is written once), and no string inside the arguments may be longer than ``max_content_chars``,
    the limit of the whole content's JSON text.
    """
    defs = dict(base["$defs"])
    plain = dict(defs["LLMAction"])
    props = dict(plain["properties"])
    typed_names = [action for action, _ in typed]
    defs[TARGET_DEF] = props["target"]
    props["type"] = {**props["type"], "enum": [t for t in props["type"]["enum"] if t not in typed_names]}
    props["target"] = {"$ref": f"#/$defs/{TARGET_DEF}"}
    defs["LLMAction"] = {**plain, "properties": props}
    branches: list[dict[str, Any]] = [{"$ref": "#/$defs/LLMAction"}]
    for action, text in typed:
        args = _capped(json.loads(text), max_content_chars)
        defs.update(args.pop("$defs", {}))
        args.setdefault("description", f"the arguments of {action}, as an object")
        name = _VARIANT_PREFIX + action
        defs[name] = {"type": "object", "properties": {"type": {"const": action}, "content": args,
                                                       "target": props["target"]},
                      "required": ["type", "content"]}
        branches.append({"$ref": f"#/$defs/{name}"})
    actions = {**base["properties"]["actions"], "items": {"anyOf": branches}}
    return {**base, "$defs": defs, "properties": {**base["properties"], "actions": actions}}


def _capped(node: Any, limit: int) -> Any:
    if isinstance(node, list):
        return [_capped(v, limit) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _capped(v, limit) for k, v in node.items()}
    if isinstance(out.get("maxLength"), int) and out["maxLength"] > limit:
        out["maxLength"] = limit
    return out


def with_citations(schema: Mapping[str, Any], citable: tuple[str, ...]) -> dict[str, Any]:
    """The turn schema ``schema`` with TALK and THINK made a variant of their own whose ``cites`` lists
    ids of ``citable`` (or ``""``: the skeleton fill-in writes at least one item, so not citing must
    be a choice). The other actions are as they were; ``schema`` may already have typed variants.

    Example:
        >>> base = {"$defs": {"LLMAction": {"type": "object", "properties": {"type": {"enum": ["TALK", "DONE"]},
        ...         "content": {"type": "string"}}}}, "properties": {"actions": {"type": "array",
        ...         "items": {"$ref": "#/$defs/LLMAction"}}}}
        >>> cited = with_citations(base, ("menu.md#1",))
        >>> cited["$defs"]["CitingAction"]["properties"]["cites"]["items"]
        {'enum': ['', 'menu.md#1']}
        >>> cited["$defs"]["LLMAction"]["properties"]["type"]["enum"]
        ['DONE']
    """
    defs = dict(schema["$defs"])
    plain = defs["LLMAction"]
    props = plain["properties"]
    types = list(props["type"]["enum"])
    citing = [t for t in CITING_TYPES if t in types]
    if not citable or not citing:
        return dict(schema)
    cites = {"type": "array", "items": {"enum": ["", *citable]}, "maxItems": MAX_CITES,
             "description": "ids of the passages this action uses; empty if none"}
    defs["LLMAction"] = {**plain, "properties": {**props, "type": {**props["type"], "enum": [
        t for t in types if t not in citing]}}}
    defs[CITING_DEF] = {**plain, "properties": {**props, "type": {**props["type"], "enum": citing}, "cites": cites}}
    items = schema["properties"]["actions"]["items"]
    branches = list(items["anyOf"]) if "anyOf" in items else [items]
    actions = {**schema["properties"]["actions"], "items": {"anyOf": [
        branches[0], {"$ref": f"#/$defs/{CITING_DEF}"}, *branches[1:]]}}
    return {**schema, "$defs": defs, "properties": {**schema["properties"], "actions": actions}}


def with_variants(schema: dict[str, Any], typed: TypedArguments, citable: tuple[str, ...],
                  max_content_chars: int) -> dict[str, Any]:
    """``schema`` with the typed variants of ``typed`` (:func:`with_typed_variants`) and the citing variant
    of ``citable`` (:func:`with_citations`); ``schema`` itself, unchanged, without either."""
    schema = with_typed_variants(schema, typed, max_content_chars) if typed else schema
    return with_citations(schema, citable) if citable else schema


def cited_list(value: Any) -> Any:
    """An action's ``cites`` as a list of ids: ``""`` (no passage) and repeats dropped, brackets around
    an id (``[menu.md#1]``) taken off, at most :data:`MAX_CITES`; one id as text is a list of one.
    Ids are not checked here: the faculty that showed the passages warns of ids it never showed.

    Example:
        >>> cited_list(["[menu.md#1]", "", "menu.md#1", "menu.md#2"])
        ['menu.md#1', 'menu.md#2']
    """
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple):
        return value  # the list[str] field rejects it
    ids = [v.strip().removeprefix("[").removesuffix("]").strip() if isinstance(v, str) else v for v in value]
    return list(dict.fromkeys(i for i in ids if i != ""))[:MAX_CITES]


def content_text(value: Any, info: ValidationInfo) -> Any:
    """An action's content as text: an object given for a typed action (one the validation context
    lists) becomes its JSON text (:func:`compact_json`); anything else is left for the ``str`` field to judge."""
    if not isinstance(value, dict):
        return value
    typed = info.context.get(TYPED_CONTEXT_KEY) if isinstance(info.context, dict) else None
    action = info.data.get("type")
    if typed and action in typed:
        return compact_json(value)
    raise InvalidArgument(f"the content of a {action or 'plain'} action must be text, not an object")


__all__ = ["CITING_TYPES", "DESCRIPTION_CHARS", "MAX_CITES", "TYPED_CONTEXT_KEY", "TypedArguments", "cited_list",
           "compact_json", "compact_schema", "content_text", "typed_argument_key", "with_citations",
           "with_typed_variants", "with_variants"]
