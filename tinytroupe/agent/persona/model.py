"""Who a simulated person is, as data: the :class:`Persona` model and persona :class:`Fragment` s.

A persona reads and writes TinyTroupe's ``.agent.json`` format::

    {"type": "TinyPerson", "persona": {"name": "...", "age": 31, "occupation": {...}, ...}}

The well-known fields (name, age, occupation, personality, preferences, behaviors, relationships, ...)
are validated; every other key, at any level, is kept as given and written back unchanged, so a
TinyTroupe file survives ``Persona.load(p).save(q)`` intact.

Personas are immutable values: :meth:`Persona.set` and :meth:`Persona.merge` return a *new*
persona. That makes ``agent + fragment`` safe (the fragment and the old persona are never touched)
and lets :meth:`Persona.render` cache its text per instance.

Example:
    >>> p = Persona.from_spec({"type": "TinyPerson", "persona": {"name": "Ana", "age": 40}})
    >>> p.set("occupation.title", "Nurse").minibio()
    'Ana, 40, Nurse.'
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from os import PathLike
from pathlib import Path
from typing import Any, ClassVar

from pydantic import PrivateAttr, ValidationError

from tinytroupe.agent.persona.fields import FRAGMENT_TYPE, PERSONA_TYPE, NonEmptyText, PersonaFields
from tinytroupe.agent.persona.messages import describe, lines_from, problems_of, validation_error, where
from tinytroupe.agent.persona.paths import deep_merge, get_path, set_path
from tinytroupe.agent.persona.rendering import render_text
from tinytroupe.agent.persona.spec import read_spec_file, spec_type, unwrap
from tinytroupe.errors import InvalidArgument, ScenarioError

# render() caches one text per distinct max_chars; a bound keeps odd callers from growing it forever.
_MAX_RENDER_CACHE = 16


class Persona(PersonaFields):
    """A complete persona: ``name`` is required, everything else optional; unknown keys are kept.

    Build one from a spec (:meth:`from_spec`, :meth:`load`) or directly (``Persona(name="Ana")``).
    Values are immutable: :meth:`set` and :meth:`merge` return new personas.

    Example:
        >>> p = Persona.from_dict({"name": "Ana", "personality": {"traits": ["calm"]}})
        >>> p.get("personality.traits")
        ['calm']
        >>> p.merge({"personality": {"traits": ["curious"]}}).get("personality.traits")
        ['calm', 'curious']
    """

    name: NonEmptyText

    # Where the persona came from (a file path), for error messages; not part of the data.
    _source: str | None = PrivateAttr(default=None)
    # Top-level keys of the spec besides "type" and "persona" (TinyTroupe's saved memory, mental
    # state, ...): kept so that to_spec() gives back what from_spec() got.
    _spec_extra: dict[str, Any] = PrivateAttr(default_factory=dict)
    _render_cache: dict[int | None, str] = PrivateAttr(default_factory=dict)

    # A frozen pydantic model would hash its fields; lists make that fail, so say so plainly.
    __hash__: ClassVar[None] = None  # type: ignore[assignment]

    # ------------------------------------------------------------------ construction and IO

    @classmethod
    def from_spec(cls, data: Mapping[str, Any], *, source: str | None = None) -> Persona:
        """Validate a ``{"type": "TinyPerson", "persona": {...}}`` spec.

        Raises :class:`ScenarioError` naming ``source``, the JSON path of a bad field, what was
        expected and what was given.

        Example:
            >>> Persona.from_spec({"type": "TinyPerson", "persona": {"name": "Ana"}}).name
            'Ana'
        """
        body, extra = unwrap(data, source=source, allowed=(PERSONA_TYPE,))
        persona = cls._validated(body, source=source, context="invalid persona")
        persona._spec_extra = copy.deepcopy(extra)
        return persona

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str | None = None) -> Persona:
        """Validate a bare persona dict (the value of a spec's ``"persona"`` key).

        Example:
            >>> Persona.from_dict({"name": "Ana", "age": 40}).age
            40
        """
        return cls._validated(data, source=source, context="invalid persona")

    @classmethod
    def load(cls, path: str | PathLike[str]) -> Persona:
        """Read a ``.agent.json`` file.

        Example:
            >>> from tinytroupe.examples import example_path
            >>> Persona.load(example_path("lisa")).get("occupation.title")
            'Senior Data Scientist'
        """
        loaded = from_any_spec(*read_spec_file(path))
        if not isinstance(loaded, Persona):
            raise ScenarioError(
                f"{path}: this is a {FRAGMENT_TYPE} file, not a {PERSONA_TYPE}; load it with Fragment.load() "
                "and merge it into a persona with Persona.merge()",
                path=str(path),
            )
        return loaded

    def save(self, path: str | PathLike[str]) -> Path:
        """Write the spec as pretty JSON (UTF-8) and return the path written.

        Example:
            >>> import tempfile
            >>> folder = Path(tempfile.mkdtemp())
            >>> Persona(name="Ana").save(folder / "ana.agent.json").name
            'ana.agent.json'
        """
        target = Path(path)
        target.write_text(json.dumps(self.to_spec(), indent=4, ensure_ascii=False) + "\n", encoding="utf-8")
        return target

    def to_dict(self) -> dict[str, Any]:
        """The persona fields as plain JSON data: only what was given (no invented ``None`` s), plus
        unknown keys. A fresh copy every time.

        Example:
            >>> Persona(name="Ana").to_dict()
            {'name': 'Ana'}
        """
        return self.model_dump(exclude_unset=True)

    def to_spec(self) -> dict[str, Any]:
        """The full ``{"type": "TinyPerson", "persona": {...}}`` spec, with any other top-level keys
        the spec was read with.

        Example:
            >>> Persona(name="Ana").to_spec()
            {'type': 'TinyPerson', 'persona': {'name': 'Ana'}}
        """
        return {"type": PERSONA_TYPE, "persona": self.to_dict(), **copy.deepcopy(self._spec_extra)}

    @property
    def source(self) -> str | None:
        """The file this persona was read from, if any."""
        return self._source

    @property
    def spec_extras(self) -> dict[str, Any]:
        """A copy of the spec's top-level keys other than ``type`` and ``persona``."""
        return copy.deepcopy(self._spec_extra)

    # ------------------------------------------------------------------ access and change

    def get(self, path: str, default: Any = None) -> Any:
        """The value at a dot path (``"occupation.title"``, ``"relationships.0.name"`` or
        ``"relationships[0].name"``), as plain data; ``default`` when absent or ``None``.

        Example:
            >>> Persona.from_dict({"name": "Ana", "occupation": "Nurse"}).get("occupation.title")
            'Nurse'
        """
        return get_path(self, path, default)

    def set(self, path: str, value: Any) -> Persona:
        """A new persona with ``value`` at the dot ``path`` (intermediate objects are created).

        The result is validated: a wrong type raises :class:`ScenarioError` naming the path.

        Example:
            >>> Persona(name="Ana").set("personality.big_five.openness", "High").get("personality")
            {'big_five': {'openness': 'High'}}
        """
        data = self.to_dict()
        set_path(data, path, value, source=self._source)
        return self._derived(data, context=f"Persona.set({path!r}) gave an invalid persona")

    def merge(self, fragment: Mapping[str, Any] | Fragment) -> Persona:
        """A new persona with ``fragment`` deep-merged in: objects merge key by key, lists are
        extended with the items they lack, anything else is overwritten.

        ``fragment`` is a partial persona dict, a :class:`Fragment`, or a whole
        ``{"type": "Fragment", "persona": {...}}`` spec.

        Example:
            >>> p = Persona.from_dict({"name": "Ana", "skills": ["sewing"], "age": 40})
            >>> p.merge({"skills": ["sewing", "chess"], "age": 41}).to_dict()
            {'name': 'Ana', 'age': 41, 'skills': ['sewing', 'chess']}
        """
        label = "a fragment"
        if isinstance(fragment, Fragment):
            label = f"fragment {fragment.source}" if fragment.source else label
            update: Mapping[str, Any] = fragment.persona_dict
        elif fragment.get("type") == FRAGMENT_TYPE and isinstance(fragment.get("persona"), Mapping):
            update = fragment["persona"]
        else:
            update = fragment
        merged = deep_merge(self.to_dict(), update, depth=0)
        return self._derived(merged, context=f"merging {label} into {self.name!r} gave an invalid persona")

    # ------------------------------------------------------------------ text

    def minibio(self) -> str:
        """One deterministic sentence from the known facts (no LLM).

        Example:
            >>> Persona.from_dict({"name": "Ana", "age": 40, "residence": "Porto, Portugal",
            ...     "occupation": {"title": "Nurse", "organization": "Hospital de Santo António"}}).minibio()
            'Ana, 40, Nurse at Hospital de Santo António, lives in Porto, Portugal.'
        """
        parts = [self.name]
        if self.age is not None:
            parts.append(str(self.age))
        job = self.occupation
        if job is not None:
            if job.title and job.organization:
                parts.append(f"{job.title} at {job.organization}")
            elif job.title:
                parts.append(job.title)
            elif job.organization:
                parts.append(f"works at {job.organization}")
        if self.residence:
            parts.append(f"lives in {self.residence}")
        return ", ".join(parts).rstrip(".") + "."

    def render(self, max_chars: int | None = None) -> str:
        """A compact, stable text of the persona for prompts, most important fields first.

        Over ``max_chars`` it is cut at a field boundary and ends with a ``…`` line. The text is
        cached per persona (personas are immutable), so calling this every turn costs nothing.

        Example:
            >>> print(Persona.from_dict({"name": "Ana", "age": 40, "skills": ["sewing"]}).render())
            Name: Ana
            Age: 40
            Skills:
            - sewing
        """
        if max_chars is not None and max_chars < 1:
            raise InvalidArgument(f"max_chars must be at least 1 (or None for no limit), got {max_chars}")
        # Through __pydantic_private__: a private attribute read goes through BaseModel.__getattr__,
        # slow enough to show on every turn.
        private = self.__pydantic_private__
        render_cache = private["_render_cache"] if private is not None else self._render_cache
        cached = render_cache.get(max_chars)
        if cached is None:
            cached = render_text(self, max_chars)
            if len(render_cache) < _MAX_RENDER_CACHE:
                render_cache[max_chars] = cached
        return cached

    # ------------------------------------------------------------------ pydantic plumbing

    def __eq__(self, other: object) -> bool:
        # Compare the data only: where a persona came from and its render cache do not matter.
        if not isinstance(other, Persona):
            return NotImplemented
        return self.to_spec() == other.to_spec()

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Persona:
        """pydantic's copy; with ``update`` (which skips validation: prefer :meth:`set`) the render
        cache is dropped, since the text no longer matches."""
        copied = super().model_copy(update=update, deep=deep)
        if update:
            copied._render_cache = {}
        return copied

    @classmethod
    def _validated(cls, data: Any, *, source: str | None, context: str) -> Persona:
        if not isinstance(data, Mapping):
            raise ScenarioError(
                f"{where(source)}{context}: persona: expected an object, got {describe(data)}",
                path=source, field="persona",
            )
        try:
            persona = cls.model_validate(data)
        except ValidationError as exc:
            raise validation_error(exc, source=source, context=context) from exc
        persona._source = source
        return persona

    def _derived(self, data: Mapping[str, Any], *, context: str) -> Persona:
        persona = type(self)._validated(data, source=self._source, context=context)
        persona._spec_extra = copy.deepcopy(self._spec_extra)
        return persona


class Fragment:
    """A partial persona, ``{"type": "Fragment", "persona": {...}}``, meant to be merged into personas.

    Its fields are validated like a persona's (all optional, ``name`` included).

    Example:
        >>> f = Fragment.from_spec({"type": "Fragment", "persona": {"skills": ["haggling"]}})
        >>> Persona(name="Ana").merge(f).get("skills")
        ['haggling']
    """

    __slots__ = ("_data", "_spec_extra", "source")

    def __init__(self, persona: Mapping[str, Any], *, source: str | None = None) -> None:
        if not isinstance(persona, Mapping):
            raise ScenarioError(
                f"{where(source)}invalid fragment: persona: expected an object, got {describe(persona)}",
                path=source, field="persona",
            )
        try:
            self._data = PersonaFields.model_validate(persona)
        except ValidationError as exc:
            raise validation_error(exc, source=source, context="invalid fragment") from exc
        self._spec_extra: dict[str, Any] = {}
        self.source = source

    @classmethod
    def from_spec(cls, data: Mapping[str, Any], *, source: str | None = None) -> Fragment:
        """Validate a ``{"type": "Fragment", "persona": {...}}`` spec."""
        body, extra = unwrap(data, source=source, allowed=(FRAGMENT_TYPE,))
        fragment = cls(body, source=source)
        fragment._spec_extra = copy.deepcopy(extra)
        return fragment

    @classmethod
    def load(cls, path: str | PathLike[str]) -> Fragment:
        """Read a ``.fragment.json`` file.

        Example:
            >>> from tinytroupe.examples import example_path
            >>> "skills" in Fragment.load(example_path("early_adopter")).persona_dict
            True
        """
        loaded = from_any_spec(*read_spec_file(path))
        if not isinstance(loaded, Fragment):
            raise ScenarioError(
                f"{path}: this is a {PERSONA_TYPE} file, not a {FRAGMENT_TYPE}; load it with Persona.load()",
                path=str(path),
            )
        return loaded

    @property
    def persona_dict(self) -> dict[str, Any]:
        """The partial persona as plain data (a fresh copy)."""
        return self._data.model_dump(exclude_unset=True)

    def to_spec(self) -> dict[str, Any]:
        """The ``{"type": "Fragment", "persona": {...}}`` spec."""
        return {"type": FRAGMENT_TYPE, "persona": self.persona_dict, **copy.deepcopy(self._spec_extra)}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Fragment):
            return NotImplemented
        return self.to_spec() == other.to_spec()

    __hash__: ClassVar[None] = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        where = f", source={self.source!r}" if self.source else ""
        return f"Fragment({self.persona_dict!r}{where})"


def from_any_spec(data: Any, source: str | None, text: str | None = None) -> Persona | Fragment:
    """A persona or a fragment, as the spec's ``"type"`` says (any other type is a ScenarioError);
    ``text``, the JSON ``data`` was read from, lets a bad field's error give its line."""
    with lines_from(text):
        if spec_type(data, source) == FRAGMENT_TYPE:
            return Fragment.from_spec(data, source=source)
        return Persona.from_spec(data, source=source)


def persona_problems(data: Any, *, partial: bool = False) -> list[tuple[tuple[int | str, ...], str]]:
    """What is wrong with persona fields ``data`` (the value of a spec's ``"persona"`` key), as
    (path inside the persona, message) pairs; empty when it is a valid persona (with ``partial``, a
    valid fragment, where ``name`` may be left out). Scenario files use it to point at the line.

    Example:
        >>> persona_problems({"name": "Ana", "age": "old"})
        [(('age',), 'expected an integer, got "old" (a string)')]
        >>> persona_problems({"name": "Ana", "age": 40})
        []
    """
    if not isinstance(data, Mapping):
        return [((), f"expected an object with the persona's fields, got {describe(data)}")]
    try:
        (PersonaFields if partial else Persona).model_validate(data)
    except ValidationError as exc:
        return problems_of(exc)
    return []


__all__ = ["Fragment", "Persona", "from_any_spec", "persona_problems"]
