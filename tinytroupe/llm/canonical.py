"""The canonical JSON of a request (what its cache key hashes), without re-encoding shared schemas.

A turn's request carries the answer's JSON schema: about 2 KB of small nested objects, the same for
every turn of every agent, and encoding it with sorted keys was most of the cost of a cache key. A
schema that its maker promises never to change again is *frozen* (:func:`freeze_schema`): its
canonical text is computed once and spliced into each request's text. The result is the same text,
character for character, as encoding the whole request at once, so keys (and the caches and replay
recordings they index) do not change. Schemas that were not frozen (a caller's own dict, which it
may change between calls) are encoded afresh every time.

Example:
    >>> schema = freeze_schema({"type": "object", "properties": {"b": {}, "a": {}}})
    >>> frozen_text(schema)
    '{"properties":{"a":{},"b":{}},"type":"object"}'
    >>> frozen_text(dict(schema)) is None  # an equal copy is not the frozen object
    True
    >>> fields = {"messages": [], "model": "m", "seed": None}
    >>> splice(fields, frozen_text(schema), {}) == encode(
    ...     {"backend": {}, "request": {**fields, "response_schema": schema}})
    True
"""

from __future__ import annotations

import json
import threading
from typing import Any

#: json.dumps(..., sort_keys=True, separators=(",", ":"), ensure_ascii=False), built once: json.dumps
#: with any keyword builds a new encoder per call
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
#: frozen schemas remembered at most (the oldest is forgotten first; a forgotten one is encoded afresh)
MAX_FROZEN = 8192
#: where a request's schema sorts among its fields
_SCHEMA_FIELD = "response_schema"

_frozen: dict[int, tuple[dict[str, Any], str]] = {}
_lock = threading.Lock()


def encode(value: Any) -> str:
    """Canonical JSON: sorted keys, no whitespace, non-ASCII characters as they are."""
    return _ENCODER.encode(value)


def freeze_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """Promise that ``schema`` (and everything in it) never changes again; returns it.

    Its canonical text is computed now and used for every request that carries this very object.
    Only callers that own a schema and share it read-only (cached schemas) should freeze it.
    """
    with _lock:
        entry = _frozen.get(id(schema))
        if entry is None or entry[0] is not schema:
            if len(_frozen) >= MAX_FROZEN:
                _frozen.pop(next(iter(_frozen)))
            # The entry holds the schema itself, so its id cannot be reused while it is remembered.
            _frozen[id(schema)] = (schema, encode(schema))
    return schema


def frozen_text(schema: object) -> str | None:
    """The canonical text of ``schema`` if it is a frozen schema (this very object), else None."""
    entry = _frozen.get(id(schema))
    return entry[1] if entry is not None and entry[0] is schema else None


def splice(fields: dict[str, Any], schema_text: str, backend: dict[str, Any]) -> str:
    """``encode({"backend": backend, "request": {**fields, "response_schema": <schema>}})``, given
    the schema's canonical text instead of the schema."""
    # Sorted keys put the schema between the fields that sort before its name and those after.
    before = encode({k: v for k, v in fields.items() if k < _SCHEMA_FIELD})[1:-1]
    after = encode({k: v for k, v in fields.items() if k > _SCHEMA_FIELD})[1:-1]
    parts = [part for part in (before, f'"{_SCHEMA_FIELD}":{schema_text}', after) if part]
    return '{"backend":' + encode(backend) + ',"request":{' + ",".join(parts) + "}}"


__all__ = ["MAX_FROZEN", "encode", "freeze_schema", "frozen_text", "splice"]
