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
import re
import threading
from collections.abc import Callable
from typing import Any

import orjson

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


def encode_floatless(value: Any) -> str:
    """:func:`encode` of a value that holds no float (messages: text, names, lists and objects), faster.

    orjson writes such values exactly as :func:`encode` does (a hypothesis test compares them); only
    floats differ (``1e-05`` against ``0.00001``), so values that may hold one go through :func:`encode`.
    What orjson refuses (a lone surrogate, an integer beyond 64 bits) is encoded by :func:`encode`.

    Example:
        >>> encode_floatless([{"role": "user", "content": "Hé"}])
        '[{"content":"Hé","role":"user"}]'
    """
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    except TypeError:
        return encode(value)


def value_key(value: Any) -> str | bytes:
    """A text that stands for ``value``'s canonical JSON in a memo's keys: equal keys, equal JSON texts.

    orjson's bytes, several times cheaper than ``repr``: they tell apart what JSON writes differently
    (``1``, ``1.0`` and ``true``; ``-0.0`` and ``0.0``), and bytes never equal a ``str``. orjson writes
    NaN and the infinities as ``null``, so a value whose bytes hold a ``null``, and one orjson refuses
    (an integer beyond 64 bits, a key that is not a string), stands as its ``repr`` instead.

    Example:
        >>> value_key({"model": "m", "t": 1}), value_key({"model": "m", "t": 1.0})
        (b'{"model":"m","t":1}', b'{"model":"m","t":1.0}')
        >>> value_key({"t": float("nan")}), value_key({"t": None})
        ("{'t': nan}", "{'t': None}")
    """
    try:
        text = orjson.dumps(value)
    except TypeError:
        return repr(value)
    return repr(value) if b"null" in text else text


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


Fields = dict[str, Any] | Callable[[], dict[str, Any]]


def splice(fields: Fields, schema_text: str | None, backend: dict[str, Any],
           texts: dict[str, str] | None = None, memo: SpliceMemo | None = None,
           fields_key: str | bytes | None = None, backend_key: str | bytes | None = None) -> str:
    """``encode({"backend": backend, "request": {**fields, "response_schema": <schema>}})``, given
    the schema's canonical text instead of the schema (None: the request has no schema field here),
    and ``texts``: fields given as their canonical text already (a request's messages).

    ``memo`` remembers the encoded remainder (everything but the given texts): every turn of a run
    sends the same model, parameters and backend, and encoding them with sorted keys cost more than
    the rest of a cache key's text. ``fields`` may then be a function that makes them, called only
    when the remainder is not remembered, and ``fields_key`` and ``backend_key`` texts that stand for
    them and for the backend (see :meth:`SpliceMemo.pieces`)."""
    given = dict(texts or {})
    if schema_text is not None:
        given[_SCHEMA_FIELD] = schema_text
    names = tuple(given)
    pieces = (memo.pieces(fields, backend, names, fields_key, backend_key) if memo is not None
              else _pieces(_made(fields), backend, names))
    if pieces is None:
        # a field's own value happens to read like a mark: no shortcut
        return _splice_by_parts(_made(fields), given, backend)
    if len(pieces) == 1:
        return pieces[0]
    parts = list(pieces)
    for i in range(1, len(parts), 2):
        parts[i] = given[parts[i]]
    return "".join(parts)


#: what stands for a given text in the remainder: a string no request holds (NUL characters and our name)
_MARK_TEXT = "\x00tinytroupe-canonical:{}\x00"
_MARKS = re.compile(r'"\\u0000tinytroupe-canonical:([a-z_]+)\\u0000"')


def _mark(name: str) -> str:
    return _MARK_TEXT.format(name)


def _made(fields: Fields) -> dict[str, Any]:
    return fields() if callable(fields) else fields


def _pieces(fields: dict[str, Any], backend: dict[str, Any], names: tuple[str, ...]) -> tuple[str, ...] | None:
    """The remainder's text cut at each given field's value: literal text, a field's name, literal text,
    and so on; None when a field's own value reads like a mark (the text is then built by parts)."""
    # The small remainder is encoded once, with a mark where each given text goes (sorted keys put
    # the marks where the texts belong).
    small = encode({"backend": backend, "request": {**fields, **{name: _mark(name) for name in names}}})
    pieces = tuple(_MARKS.split(small))
    found = pieces[1::2]
    if len(found) != len(names) or set(found) != set(names):
        return None
    return pieces


class SpliceMemo:
    """Remembered remainders for :func:`splice`, by the fields' and backend's values (at most
    ``max_entries``: the oldest is forgotten first, and a forgotten one is encoded afresh).

    Values are told apart by their ``repr``: equal reprs of JSON values (the only values a request's
    text holds) are equal texts, where ``==`` would take ``1`` for ``1.0`` and ``0.0`` for ``-0.0``.

    Example:
        >>> memo = SpliceMemo()
        >>> memo.pieces({"model": "m"}, {}, ("messages",))
        ('{"backend":{},"request":{"messages":', 'messages', ',"model":"m"}}')
        >>> splice({"model": "m"}, None, {}, {"messages": "[]"}, memo)
        '{"backend":{},"request":{"messages":[],"model":"m"}}'
    """

    def __init__(self, max_entries: int = 64, max_texts: int = 2048) -> None:
        self.max_entries = max_entries
        self.max_texts = max_texts
        self._entries: dict[tuple[str | bytes, str | bytes, tuple[str, ...]], tuple[str, ...] | None] = {}
        self._texts: dict[int, tuple[object, str]] = {}
        self._lock = threading.Lock()

    def pieces(self, fields: Fields, backend: dict[str, Any], names: tuple[str, ...],
               fields_key: str | bytes | None = None,
               backend_key: str | bytes | None = None) -> tuple[str, ...] | None:
        """:func:`_pieces` of these values, remembered.

        ``fields_key``: a text that stands for the fields (``repr(fields)`` when None), one that
        never stands for other fields' text: a request's own values, whose dump the fields are.
        Whoever passes one keeps its keys apart from ``repr``'s (bytes, or a tuple's repr, never a dict's).
        ``backend_key``: :func:`value_key` of the backend, when the caller has it already."""
        key = (fields_key if fields_key is not None else repr(_made(fields)),
               backend_key if backend_key is not None else value_key(backend), names)
        try:
            return self._entries[key]
        except KeyError:
            pass
        pieces = _pieces(_made(fields), backend, names)
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.pop(next(iter(self._entries)))
            self._entries[key] = pieces
        return pieces

    def text_of(self, value: object, make: Callable[[], str]) -> str:
        """``make()``, the canonical text of ``value``, remembered for this very object (at most
        ``max_texts``: the oldest is forgotten first).

        Only for values that never change and come back again and again (an agent's system message
        is rendered once and sent with each of its turns): the entry keeps the object, so its id is
        not reused while remembered.

        Example:
            >>> memo, shared = SpliceMemo(), ("a", "b")
            >>> memo.text_of(shared, lambda: encode(shared)), memo.text_of(shared, lambda: "not asked")
            ('["a","b"]', '["a","b"]')
        """
        entry = self._texts.get(id(value))
        if entry is not None and entry[0] is value:
            return entry[1]
        text = make()
        with self._lock:
            if len(self._texts) >= self.max_texts:
                self._texts.pop(next(iter(self._texts)))
            self._texts[id(value)] = (value, text)
        return text


def _splice_by_parts(fields: dict[str, Any], given: dict[str, str], backend: dict[str, Any]) -> str:
    parts: list[str] = []
    run: dict[str, Any] = {}  # plain fields between two given ones, encoded together (sorted keys)
    for name in sorted({*fields, *given}):
        if name in given:
            if run:
                parts.append(encode(run)[1:-1])
                run = {}
            parts.append(f'"{name}":{given[name]}')
        else:
            run[name] = fields[name]
    if run:
        parts.append(encode(run)[1:-1])
    return '{"backend":' + encode(backend) + ',"request":{' + ",".join(parts) + "}}"


__all__ = ["MAX_FROZEN", "SpliceMemo", "encode", "encode_floatless", "freeze_schema", "frozen_text", "splice",
           "value_key"]
