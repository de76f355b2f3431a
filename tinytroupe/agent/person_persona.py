"""Editing a :class:`~tinytroupe.agent.person.TinyPerson`'s persona, TinyTroupe's way.

``define``/``get`` by dot path, ``agent + fragment``, ``related_to`` and ``minibio``; every change
replaces the agent's (immutable) :class:`~tinytroupe.agent.persona.Persona` with a new one.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Self

from tinytroupe.agent.person_core import PersonCore
from tinytroupe.agent.persona import Fragment, load_persona_file
from tinytroupe.compat import ignored_argument
from tinytroupe.errors import InvalidArgument, InvalidArgumentType, ScenarioError


def _merged(old: Any, new: Any) -> Any:
    """``new`` deep-merged into ``old``: dicts key by key, lists gain the items they lack."""
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        out = dict(old)
        for key, value in new.items():
            out[key] = _merged(out[key], value) if key in out else value
        return out
    if isinstance(old, list) and isinstance(new, list | tuple):
        return old + [v for v in new if v not in old]
    return new


def _first(values: Any, n: int = 3) -> str:
    items = [str(v).strip().rstrip(".") for v in (values or []) if str(v).strip()]
    return ", ".join(items[:n])


class PersonaMethods(PersonCore):
    """The persona part of :class:`~tinytroupe.agent.person.TinyPerson`."""

    def define(self, key: str, value: Any, merge: bool = False, overwrite_scalars: bool = True) -> Self:
        """Set a persona field by dot path (``define("occupation.title", "Architect")``), as TinyTroupe does.

        Text is dedented, so an indented triple-quoted block reads as written. A dict or list replaces
        the current value, or with ``merge=True`` is deep-merged into it (dicts key by key, lists gain
        the items they lack). Any other value overwrites the current one, unless
        ``overwrite_scalars=False`` and the field is already set.

        Raises:
            InvalidArgument: the name would change, or ``overwrite_scalars=False`` and the field is set
                (also a ``ValueError``).
            ScenarioError: the result is not a valid persona.

        Example:
            >>> from tinytroupe.agent import TinyPerson
            >>> lisa = TinyPerson("Lisa").define("skills", ["sewing"])
            >>> lisa.define("skills", ["chess"], merge=True).get("skills")
            ['sewing', 'chess']
            >>> lisa.define("skills", ["chess"]).get("skills")
            ['chess']
        """
        if isinstance(value, str):
            value = textwrap.dedent(value)
        if key == "name" and value != self.name:
            raise InvalidArgument("an agent's name cannot be redefined; create a new TinyPerson instead")
        with self._lock:
            current = self.persona.get(key)
            if isinstance(value, Mapping | list | tuple):
                if merge:
                    value = _merged(current, value)
            elif not overwrite_scalars and current is not None:
                raise InvalidArgument(f"{self.name}'s persona already has {key} = {current!r}; pass "
                                      "overwrite_scalars=True to replace it")
            self.persona = self.persona.set(key, value)
        return self

    def get(self, key: str, default: Any = None) -> Any:
        """A persona field by dot path (``get("personality.big_five.openness")``)."""
        return self.persona.get(key, default)

    def __getitem__(self, key: str) -> Any:
        return self.get(key)

    def __setitem__(self, key: str, value: Any) -> None:
        self.define(key, value)

    def include_persona_definitions(self, definitions: Mapping[str, Any]) -> Self:
        """Deep-merge ``definitions`` into the persona."""
        with self._lock:
            self.persona = self.persona.merge(dict(definitions))
        return self

    def import_fragment(self, path: str | Path) -> Self:
        """Merge a ``{"type": "Fragment", "persona": {...}}`` file into the persona.

        Raises:
            ScenarioError: the file cannot be read, is not valid, or holds a whole agent, not a fragment.
        """
        loaded = load_persona_file(path)
        if not isinstance(loaded, Fragment):
            raise ScenarioError(f"{path}: expected a Fragment file, found a TinyPerson spec", path=str(path))
        return self.include_persona_definitions(loaded.persona_dict)

    def __add__(self, other: Fragment | Mapping[str, Any] | str | Path) -> Self:
        if isinstance(other, Fragment):
            return self.include_persona_definitions(other.persona_dict)
        if isinstance(other, Mapping):
            return self.include_persona_definitions(other)
        if isinstance(other, str | Path):
            return self.import_fragment(other)
        return NotImplemented

    def define_relationships(self, relationships: list[Mapping[str, Any]] | Mapping[str, Any],
                             replace: bool = True) -> Self:
        """Set (``replace=True``) or extend (``replace=False``) the persona's relationships, as TinyTroupe does.

        ``relationships`` is a list of ``{"Name": ..., "Description": ...}`` dicts (lowercase keys too,
        as in TinyTroupe's files), one such dict, or a dict of names to descriptions
        (``{"Ben": "my brother"}``). TinyTroupe refuses a single dict with ``replace=True``; here it
        replaces the relationships with that one.

        Raises:
            InvalidArgumentType: ``relationships`` is neither a list nor a dict, or a list item is not a dict.
            ScenarioError: an entry has no name.

        Example:
            >>> from tinytroupe.agent import TinyPerson
            >>> lisa = TinyPerson("Lisa").define_relationships([{"Name": "Ben", "Description": "brother"}])
            >>> lisa.define_relationships({"Ana": "colleague"}, replace=False).get("relationships")
            [{'Name': 'Ben', 'Description': 'brother'}, {'name': 'Ana', 'description': 'colleague'}]
            >>> lisa.clear_relationships().get("relationships")
            []
        """
        if isinstance(relationships, Mapping):
            if {"name", "Name"} & set(relationships):
                entries: list[Any] = [dict(relationships)]
            else:
                entries = [{"name": str(n), "description": str(d)} for n, d in relationships.items()]
        elif isinstance(relationships, list | tuple):
            entries = list(relationships)
        else:
            raise InvalidArgumentType("relationships must be a list of {'Name': ..., 'Description': ...} dicts or "
                                      f"a dict, got {type(relationships).__name__}")
        for entry in entries:
            if not isinstance(entry, Mapping):
                raise InvalidArgumentType(f"each relationship must be a dict with a name, got {type(entry).__name__}")
        with self._lock:
            current = [] if replace else list(self.persona.get("relationships") or [])
            self.persona = self.persona.set("relationships", current + [dict(e) for e in entries])
        return self

    def clear_relationships(self) -> Self:
        """Remove every relationship from the persona (see :meth:`define_relationships`)."""
        with self._lock:
            self.persona = self.persona.set("relationships", [])
        return self

    def related_to(self, other: PersonaMethods, description: str,
                   symmetric_description: str | None = None) -> Self:
        """Record a relationship (and the reverse one when ``symmetric_description`` is given)."""
        rels = list(self.persona.get("relationships") or [])
        rels.append({"name": other.name, "description": description})
        self.define("relationships", rels)
        if symmetric_description is not None:
            other.related_to(self, symmetric_description)
        return self

    def minibio(self, extended: bool = True, requirements: str | None = None) -> str:
        """A short biography, built from the persona without an LLM call.

        ``extended=False`` gives one sentence (name, age, occupation, residence); ``extended=True``
        (TinyTroupe's default) adds the first few personality traits, interests, skills and goals.
        TinyTroupe writes the extension with an LLM call steered by ``requirements``; here it is
        deterministic and free, so ``requirements`` is accepted with a warning and has no effect.

        Example:
            >>> from tinytroupe.agent import TinyPerson
            >>> lisa = TinyPerson("Lisa", persona={"age": 28, "personality": {"traits": ["curious", "calm"]}})
            >>> lisa.minibio(extended=False)
            'Lisa, 28.'
            >>> lisa.minibio()
            'Lisa, 28. Personality: curious, calm.'
        """
        if requirements is not None:
            ignored_argument("TinyPerson.minibio", "requirements",
                             "the biography is built from the persona without an LLM call")
        bio = self.persona.minibio()
        if not extended:
            return bio
        parts = [bio]
        for label, path in (("Personality", "personality.traits"), ("Interests", "preferences.interests"),
                            ("Skills", "skills"), ("Goals", "long_term_goals")):
            listed = _first(self.persona.get(path))
            if listed:
                parts.append(f"{label}: {listed}.")
        return " ".join(parts)


__all__ = ["PersonaMethods"]
