"""What changed between two :class:`~tinytroupe.agent.state_models.AgentState` s of one agent, as an
:class:`AgentDelta` that turns the older into the newer exactly: ``apply_delta(old, diff(old, new)) == new``.

The Ray executor ships these instead of whole states (``docs/distributed.md``): after a turn an agent
has a few new memories, a new cognitive state and some counters moved, while its state holds its
whole memory. A delta names each changed field by its path (``turns``, ``memory.next_id``,
``long_term_memory.semantic.next_id``) with the new value. Collections change entry by entry, as a
:class:`ListDelta` of entries removed, entries changed in place and entries appended, keyed by what
identifies an entry: the id of a memory item or semantic fact, the key of a dict entry or of a row of
the retrieval index (whose vectors travel as raw bytes). Any change is expressible that way (an entry
moved to the end is removed and appended), but a change that rewrites most of the memory is cheaper
whole: :func:`diff` then returns None and the caller ships the full state.

Example:
    >>> from tinytroupe.agent import TinyPerson
    >>> ana = TinyPerson("Ana").listen("hello")
    >>> before = ana.state_model()
    >>> _ = ana.listen("how are you?")
    >>> delta = diff(before, ana.state_model())
    >>> sorted(delta.lists), sorted(delta.replaced)
    (['memory.items'], ['memory.next_id'])
    >>> [i.content for i in delta.lists["memory.items"].appended]
    ['how are you?']
    >>> apply_delta(before, delta) == ana.state_model()
    True
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any, cast

from pydantic import BaseModel, Field

from tinytroupe.agent.memory.index import INDEX_ARRAYS, IndexState
from tinytroupe.agent.state_models import AgentState
from tinytroupe.errors import InvalidArgument
from tinytroupe.state import STATE_VERSION, StateModel

#: list fields diffed entry by entry, and what identifies an entry (dict fields are diffed by key)
KEYED_LISTS: dict[str, Callable[[Any], Hashable]] = {
    "memory.items": lambda item: item.id,
    "long_term_memory.awaiting": lambda item: item.id,
    "long_term_memory.semantic.facts": lambda fact: fact.id,
    "long_term_memory.importance_cache": lambda entry: entry[0],
}
_INDEX = "long_term_memory.index"
#: a delta shipping more entries than this share of the new state's entries is replaced by the full state
FULL_STATE_SHARE = 0.5

IndexRow = tuple[Any, ...]  # a row of the index: its key, then bytes (see index_rows)


class ListDelta(BaseModel):
    """Changes of a keyed collection: ``removed`` keys, entries ``changed`` in place (their key is
    their own), entries ``appended`` at the end (new ones, and moved ones, which are also removed)."""

    removed: list[Any] = Field(default_factory=list)
    changed: list[Any] = Field(default_factory=list)
    appended: list[Any] = Field(default_factory=list)

    @property
    def shipped(self) -> int:
        """Entries this delta carries (what it costs, in entries)."""
        return len(self.changed) + len(self.appended)


class AgentDelta(BaseModel):
    """The changes from one state of agent ``name`` to a later one: fields ``replaced`` by path, and
    collections changed entry by entry (``lists``, by path)."""

    version: int = STATE_VERSION
    name: str
    replaced: dict[str, Any] = Field(default_factory=dict)
    lists: dict[str, ListDelta] = Field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.replaced and not self.lists


def diff_keyed(old: Sequence[Any], new: Sequence[Any], key: Callable[[Any], Hashable]) -> ListDelta | None:
    """The :class:`ListDelta` from ``old`` to ``new`` (None when they are equal).

    The longest prefix of ``new`` that keeps ``old``'s order is kept in place; the rest is appended.

    Example:
        >>> d = diff_keyed([("a", 1), ("b", 2), ("c", 3)], [("a", 1), ("c", 4), ("b", 2), ("d", 5)], lambda e: e[0])
        >>> d.removed, d.changed, d.appended
        (['b'], [('c', 4)], [('b', 2), ('d', 5)])
    """
    if len(old) == len(new) and old == new:
        return None
    cut = _shifted(old, new)
    if cut is not None:  # the usual case: some entries left the front, some came at the end
        return ListDelta(removed=[key(entry) for entry in old[:cut]], appended=list(new[len(old) - cut:]))
    position = {key(entry): i for i, entry in enumerate(old)}
    last, kept = -1, 0
    changed = []
    for entry in new:
        at = position.get(key(entry))
        if at is None or at <= last:
            break
        last, kept = at, kept + 1
        if old[at] is not entry and old[at] != entry:
            changed.append(entry)
    kept_keys = {key(entry) for entry in new[:kept]}
    removed = [k for k in position if k not in kept_keys]
    if not removed and not changed and kept == len(new):
        return None
    return ListDelta(removed=removed, changed=changed, appended=list(new[kept:]))


def _shifted(old: Sequence[Any], new: Sequence[Any]) -> int | None:
    """``n`` when ``new`` is ``old[n:]`` followed by new entries (the same objects), else None."""
    if not old:
        return 0
    if not new:
        return None
    first = new[0]
    for n, entry in enumerate(old):
        if entry is first:
            rest = len(old) - n
            return n if len(new) >= rest and list(old[n:]) == list(new[:rest]) else None
    return None


def diff_dict(old: dict[Any, Any], new: dict[Any, Any]) -> ListDelta | None:
    """:func:`diff_keyed` for a dict's ``(key, value)`` entries, without building them for unchanged keys."""
    if old == new and list(old) == list(new):  # dicts compare equal whatever their order; the delta keeps it
        return None
    removed = [k for k in old if k not in new]
    gone = set(removed)
    kept = iter(k for k in old if k not in gone)
    changed: list[tuple[Any, Any]] = []
    appended: list[tuple[Any, Any]] = []
    for k, v in new.items():
        if not appended and k in old and k not in gone and next(kept, None) == k:
            if old[k] != v:
                changed.append((k, v))
        else:  # new, or out of old's order: from here on everything goes at the end
            if k in old and k not in gone:
                removed.append(k)
                gone.add(k)
            appended.append((k, v))
    return ListDelta(removed=removed, changed=changed, appended=appended)


def apply_dict(old: dict[Any, Any], delta: ListDelta) -> dict[Any, Any]:
    """``old`` with a :func:`diff_dict` delta applied (a new dict)."""
    removed = set(delta.removed)
    new = {k: v for k, v in old.items() if k not in removed} if removed else dict(old)
    new.update(delta.changed)
    new.update(delta.appended)
    return new


def apply_keyed(old: Sequence[Any], delta: ListDelta, key: Callable[[Any], Hashable]) -> list[Any]:
    """``old`` with ``delta`` applied (see :func:`diff_keyed`)."""
    removed = set(delta.removed)
    changed = {key(entry): entry for entry in delta.changed}
    kept = [changed.get(k, entry) for entry in old if (k := key(entry)) not in removed]
    return kept + list(delta.appended)


def _row_key(row: IndexRow) -> Hashable:
    return row[0]


def index_rows(state: IndexState) -> tuple[list[IndexRow], list[IndexRow]]:
    """The rows of an index state, in key order: ``(key, importance bytes, created_h bytes, ...)`` (one per
    :data:`~tinytroupe.agent.memory.index.INDEX_ARRAYS` entry) and ``(key, vector bytes)``.

    Apart, because retrieval touches rows (access time and count) but never changes a vector.
    """
    columns: list[list[bytes]] = []
    for name, dtype in INDEX_ARRAYS.items():
        data, size = getattr(state, name), int(dtype[2:])
        columns.append([data[i:i + size] for i in range(0, len(data), size)])
    width = state.dim * 4
    vectors = state.vectors or b""
    return (list(zip(state.keys, *columns, strict=True)),
            [(key, vectors[i * width:(i + 1) * width]) for i, key in enumerate(state.keys)])


def index_from_rows(template: IndexState, rows: Sequence[IndexRow], vectors: Sequence[IndexRow],
                    seq_counter: int) -> IndexState:
    """An index state of ``template``'s dimension holding ``rows`` and ``vectors`` (see :func:`index_rows`)."""
    fields: dict[str, Any] = {name: b"".join(row[1 + n] for row in rows) for n, name in enumerate(INDEX_ARRAYS)}
    joined = b"".join(row[1] for row in vectors) if template.vectors is not None else None
    return IndexState.model_construct(dim=template.dim, keys=[row[0] for row in rows], seq_counter=seq_counter,
                                      vectors=joined, **fields)


def _index_comparable(old: Any, new: Any) -> bool:
    return (isinstance(old, IndexState) and isinstance(new, IndexState) and old.dim == new.dim
            and (old.vectors is None) == (new.vectors is None))


class _Differ:
    """Walks two states field by field, collecting an :class:`AgentDelta`'s parts."""

    def __init__(self) -> None:
        self.replaced: dict[str, Any] = {}
        self.lists: dict[str, ListDelta] = {}
        self.entries = 0  # entries of the new state's collections (to judge a delta against the full state)

    def model(self, old: BaseModel, new: BaseModel, prefix: str) -> None:
        for name in type(new).model_fields:
            path = f"{prefix}{name}"
            a, b = getattr(old, name), getattr(new, name)
            if path == _INDEX and _index_comparable(a, b):
                self.index(a, b)
            elif path == _INDEX:  # appeared, went, or changed its dimension: whole
                if a != b:
                    self.replaced[path] = b
            elif isinstance(a, StateModel) and type(a) is type(b):
                self.model(a, b, path + ".")
            elif path in KEYED_LISTS:
                self.collection(path, a, b, KEYED_LISTS[path])
            elif isinstance(a, dict) and isinstance(b, dict) and path != "persona":
                self.entries += len(b)
                changes = diff_dict(a, b)
                if changes is not None:
                    self.lists[path] = changes
            elif a is not b and a != b:
                self.replaced[path] = b

    def collection(self, path: str, old: Sequence[Any], new: Sequence[Any], key: Callable[[Any], Hashable]) -> None:
        self.entries += len(new)
        changes = diff_keyed(old, new, key)
        if changes is not None:
            self.lists[path] = changes

    def index(self, old: IndexState, new: IndexState) -> None:
        if old.seq_counter != new.seq_counter:
            self.replaced[f"{_INDEX}.seq_counter"] = new.seq_counter
        if old.keys == new.keys and all(getattr(old, f) == getattr(new, f) for f in (*INDEX_ARRAYS, "vectors")):
            self.entries += len(new.keys)
            return
        (old_rows, old_vectors), (new_rows, new_vectors) = index_rows(old), index_rows(new)
        self.collection(f"{_INDEX}.rows", old_rows, new_rows, _row_key)
        self.collection(f"{_INDEX}.vectors", old_vectors, new_vectors, _row_key)
        self.entries -= len(new_rows)  # one entry per key, not two


def diff(old: AgentState, new: AgentState) -> AgentDelta | None:
    """The delta from ``old`` to ``new`` (two states of one agent), or None when shipping ``new`` whole
    is as cheap: the delta would carry more than :data:`FULL_STATE_SHARE` of its entries.

    Raises:
        InvalidArgument: the states are of different agents.
    """
    if old.name != new.name:
        raise InvalidArgument(f"no delta between states of different agents ({old.name!r}, {new.name!r})")
    differ = _Differ()
    differ.model(old, new, "")
    delta = AgentDelta(name=new.name, replaced=differ.replaced, lists=differ.lists)
    shipped = sum(changes.shipped for changes in delta.lists.values())
    if shipped > max(8, FULL_STATE_SHARE * differ.entries):
        return None
    return delta


def _apply(model: BaseModel, delta: AgentDelta, prefix: str) -> BaseModel:
    updates: dict[str, Any] = {}
    for name in type(model).model_fields:
        path = f"{prefix}{name}"
        value = getattr(model, name)
        if path in delta.replaced:
            updates[name] = delta.replaced[path]
        elif path == _INDEX and isinstance(value, IndexState):
            row_changes, vector_changes = delta.lists.get(f"{path}.rows"), delta.lists.get(f"{path}.vectors")
            seq = delta.replaced.get(f"{path}.seq_counter", value.seq_counter)
            if row_changes is not None or vector_changes is not None or seq != value.seq_counter:
                rows, vectors = index_rows(value)
                if row_changes is not None:
                    rows = apply_keyed(rows, row_changes, _row_key)
                if vector_changes is not None:
                    vectors = apply_keyed(vectors, vector_changes, _row_key)
                updates[name] = index_from_rows(value, rows, vectors, seq)
        elif path in delta.lists:
            if path in KEYED_LISTS:
                updates[name] = apply_keyed(value, delta.lists[path], KEYED_LISTS[path])
            else:
                updates[name] = apply_dict(value, delta.lists[path])
        elif isinstance(value, StateModel) and any(p.startswith(path + ".") for p in (*delta.replaced, *delta.lists)):
            updates[name] = _apply(value, delta, path + ".")
    return model.model_copy(update=updates) if updates else model


def apply_delta(old: AgentState, delta: AgentDelta) -> AgentState:
    """The state ``delta`` turns ``old`` into (``old`` itself is left as it is).

    Raises:
        InvalidArgument: the delta is another agent's.
    """
    if delta.name != old.name:
        raise InvalidArgument(f"a delta of agent {delta.name!r} cannot apply to the state of {old.name!r}")
    return cast(AgentState, _apply(old, delta, ""))


__all__ = [
    "FULL_STATE_SHARE",
    "KEYED_LISTS",
    "AgentDelta",
    "ListDelta",
    "apply_delta",
    "apply_dict",
    "apply_keyed",
    "diff",
    "diff_dict",
    "diff_keyed",
    "index_from_rows",
    "index_rows",
]
