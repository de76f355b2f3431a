"""Keeping what many memories hold alike once: identical texts, and the bookkeeping of frozen items.

A world of 10,000 agents holds millions of :class:`~tinytroupe.agent.memory.episodic.MemoryItem` s,
and many of them repeat one another: a broadcast is the same text in every listener's memory, a
remark is the same text in the speaker's memory and the listener's, and an agent that repeats
itself holds the same text once per turn. Measured (``benchmarks/memory.py --breakdown``), a
pydantic item cost about 1.1 KB, two thirds of it the ``__pydantic_fields_set__`` set each instance
carries (a 728-byte set of field names).

:func:`compact_item` makes an item share:

* its field-name set with every item constructed with the same fields (one set per distinct
  combination; items are frozen, so pydantic never changes the set in place: ``model_copy`` copies
  it first);
* its strings (content, source, target, type) with equal strings already held, through a bounded
  process-wide table (:class:`TextTable`). Strings are immutable, so sharing one can never let one
  agent's memory change another's. Python's own ``sys.intern`` is not used: on Python 3.12 the
  strings it interns are never freed.

Example:
    >>> from tinytroupe.agent.memory.episodic import MemoryItem
    >>> a = compact_item(MemoryItem(id=1, kind="stimulus", type="CONVERSATION", content="Hi " + "all"))
    >>> b = compact_item(MemoryItem(id=7, kind="stimulus", type="CONVERSATION", content="Hi all"))
    >>> a.content is b.content, a.__pydantic_fields_set__ is b.__pydantic_fields_set__
    (True, True)
"""

from __future__ import annotations

import threading
from typing import TypeVar

from pydantic import BaseModel

#: fields of a memory item whose text is shared
_TEXT_FIELDS = ("content", "source", "target", "type")


class TextTable:
    """A bounded table of shared strings: :meth:`share` returns the held string equal to its argument.

    When full (``max_entries``) it starts over empty: strings already shared stay shared (their
    holders keep them alive), later ones are shared from then on. So the table itself never keeps
    more than ``max_entries`` strings alive that nobody else holds. Texts longer than
    ``max_chars`` are not shared (long documents rarely repeat, and would fill the table).

    Example:
        >>> table = TextTable(max_entries=2)
        >>> x = table.share("".join(["a", "b"]))
        >>> table.share("ab") is x
        True
    """

    def __init__(self, max_entries: int = 100_000, max_chars: int = 2_000) -> None:
        self.max_entries = max_entries
        self.max_chars = max_chars
        self._table: dict[str, str] = {}
        self._lock = threading.Lock()

    def share(self, text: str) -> str:
        if len(text) > self.max_chars:
            return text
        held = self._table.get(text)
        if held is not None:
            return held
        with self._lock:
            if len(self._table) >= self.max_entries:
                self._table = {}
            return self._table.setdefault(text, text)

    def __len__(self) -> int:
        return len(self._table)


#: the process's shared texts (immutable strings only; bounded, see :class:`TextTable`)
TEXTS = TextTable()
# One field-name set per combination of fields set (a handful: which optional fields were given).
_FIELD_SETS: dict[frozenset[str], set[str]] = {}
_FIELD_SETS_LOCK = threading.Lock()

M = TypeVar("M", bound=BaseModel)


def _shared_fields_set(names: set[str]) -> set[str]:
    key = frozenset(names)
    held = _FIELD_SETS.get(key)
    if held is None:
        with _FIELD_SETS_LOCK:
            held = _FIELD_SETS.setdefault(key, set(key))
    return held


def compact_item(item: M) -> M:
    """``item`` (a frozen model), made to share its strings and field-name set; returns it.

    The item's values do not change (only equal objects replace them), so equality, dumps and
    pickles are as before.
    """
    values = item.__dict__
    for name in _TEXT_FIELDS:
        value = values.get(name)
        if type(value) is str:
            values[name] = TEXTS.share(value)
    object.__setattr__(item, "__pydantic_fields_set__", _shared_fields_set(item.__pydantic_fields_set__))
    return item


__all__ = ["TEXTS", "TextTable", "compact_item"]
