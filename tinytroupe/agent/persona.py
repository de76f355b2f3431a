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
import re
from collections.abc import Mapping
from os import PathLike
from pathlib import Path
from typing import Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    Strict,
    ValidationError,
    ValidatorFunctionWrapHandler,
    model_serializer,
    model_validator,
)

from tinytroupe.errors import ScenarioError

PERSONA_TYPE = "TinyPerson"
FRAGMENT_TYPE = "Fragment"
_ALLOWED_TYPES = (PERSONA_TYPE, FRAGMENT_TYPE)

# How much of a bad value an error message quotes.
_MAX_QUOTED = 80
# render() caches one text per distinct max_chars; a bound keeps odd callers from growing it forever.
_MAX_RENDER_CACHE = 16
_TRUNCATION_MARKER = "…"


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("a non-empty string")
    return value


Text = Annotated[str, Strict()]
NonEmptyText = Annotated[str, Strict(), AfterValidator(_not_blank)]
TextList = list[Text]
Age = Annotated[int, Strict(), Field(ge=0, le=200)]


class _Open(BaseModel):
    """Base of every persona part: unknown keys are kept, values are never changed after validation."""

    model_config = ConfigDict(extra="allow", frozen=True)


class Occupation(_Open):
    """What the person does. A plain string in a file (``"occupation": "Nurse"``) is accepted as the
    title, and written back as the same plain string while nothing else is added."""

    title: Text | None = None
    organization: Text | None = None
    description: Text | None = None

    # True when the file said just ``"occupation": "<title>"``; keeps the round trip exact.
    _plain: bool = PrivateAttr(default=False)

    @model_validator(mode="wrap")
    @classmethod
    def _accept_plain_string(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        if isinstance(data, str):
            result = handler({"title": data})
            result._plain = True
            return result
        return handler(data)

    @model_serializer(mode="wrap")
    def _write_plain_string(self, handler: SerializerFunctionWrapHandler, info: SerializationInfo) -> Any:
        dumped = handler(self)
        if self._plain and isinstance(dumped, dict) and set(dumped) <= {"title"} and self.title is not None:
            return self.title
        return dumped


class BigFive(_Open):
    """The Big Five personality dimensions, each a free text such as ``"High. Curious about ..."``."""

    openness: Text | None = None
    conscientiousness: Text | None = None
    extraversion: Text | None = None
    agreeableness: Text | None = None
    neuroticism: Text | None = None


class Personality(_Open):
    """Traits (short sentences) and the Big Five."""

    traits: TextList | None = None
    big_five: BigFive | None = None


class Preferences(_Open):
    """What the person is into, likes and dislikes."""

    interests: TextList | None = None
    likes: TextList | None = None
    dislikes: TextList | None = None


class Routines(_Open):
    """What a typical day looks like, part by part."""

    morning: TextList | None = None
    workday: TextList | None = None
    evening: TextList | None = None
    weekend: TextList | None = None


class Behaviors(_Open):
    """General habits plus daily routines."""

    general: TextList | None = None
    routines: Routines | None = None


class Relationship(_Open):
    """Someone the person knows. TinyTroupe writes ``name``/``description`` in its files but
    ``Name``/``Description`` from ``related_to()``; both are read, and written back as they came."""

    name: NonEmptyText
    description: Text | None = None

    _capitalised: bool = PrivateAttr(default=False)

    @model_validator(mode="wrap")
    @classmethod
    def _accept_capitalised_keys(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        if isinstance(data, Mapping) and "name" not in data and "Name" in data:
            renamed = {{"Name": "name", "Description": "description"}.get(k, k): v for k, v in data.items()}
            result = handler(renamed)
            result._capitalised = True
            return result
        return handler(data)

    @model_serializer(mode="wrap")
    def _write_original_keys(self, handler: SerializerFunctionWrapHandler, info: SerializationInfo) -> Any:
        dumped = handler(self)
        if self._capitalised and isinstance(dumped, dict):
            return {{"name": "Name", "description": "Description"}.get(k, k): v for k, v in dumped.items()}
        return dumped


class _PersonaData(_Open):
    """The persona fields, all optional: the shape of a fragment. :class:`Persona` requires a name."""

    name: NonEmptyText | None = None
    age: Age | None = None
    gender: Text | None = None
    nationality: Text | None = None
    residence: Text | None = None
    education: Text | None = None
    long_term_goals: TextList | None = None
    occupation: Occupation | None = None
    style: Text | None = None
    personality: Personality | None = None
    preferences: Preferences | None = None
    skills: TextList | None = None
    beliefs: TextList | None = None
    behaviors: Behaviors | None = None
    health: Text | None = None
    relationships: list[Relationship] | None = None
    other_facts: TextList | None = None


class Persona(_PersonaData):
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
        body, extra = _unwrap(data, source=source, allowed=(PERSONA_TYPE,))
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
        loaded = load_persona_file(path)
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
        node: Any = self
        for key in _split_path(path):
            if isinstance(node, BaseModel):
                if key in type(node).model_fields:
                    node = getattr(node, key)
                elif node.model_extra is not None and key in node.model_extra:
                    node = node.model_extra[key]
                else:
                    return default
            elif isinstance(node, Mapping):
                if key not in node:
                    return default
                node = node[key]
            elif isinstance(node, list) and _is_index(key) and int(key) < len(node):
                node = node[int(key)]
            else:
                return default
            if node is None:
                return default
        return _plain(node)

    def set(self, path: str, value: Any) -> Persona:
        """A new persona with ``value`` at the dot ``path`` (intermediate objects are created).

        The result is validated: a wrong type raises :class:`ScenarioError` naming the path.

        Example:
            >>> Persona(name="Ana").set("personality.big_five.openness", "High").get("personality")
            {'big_five': {'openness': 'High'}}
        """
        keys = _split_path(path)
        data = self.to_dict()
        node: Any = data
        for depth, key in enumerate(keys[:-1]):
            child = _child(node, key, path, depth)
            if child is None:
                child = {}
                _assign(node, key, child, path, depth)
            elif isinstance(child, str) and depth == 0 and key in _STRING_SHORTHANDS:
                child = {_STRING_SHORTHANDS[key]: child}
                _assign(node, key, child, path, depth)
            elif not isinstance(child, dict | list):
                where = ".".join(keys[: depth + 1])
                raise ScenarioError(
                    f"Persona.set({path!r}): {where} holds {_describe(child)}, not an object, so it has no "
                    f"field {keys[depth + 1]!r}; set {where!r} itself instead",
                    path=self._source, field=path,
                )
            node = child
        _assign(node, keys[-1], copy.deepcopy(value), path, len(keys) - 1)
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
        merged = _deep_merge(self.to_dict(), update, depth=0)
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
            raise ValueError(f"max_chars must be at least 1 (or None for no limit), got {max_chars}")
        cached = self._render_cache.get(max_chars)
        if cached is None:
            cached = _fit(_render_blocks(self), max_chars)
            if len(self._render_cache) < _MAX_RENDER_CACHE:
                self._render_cache[max_chars] = cached
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
                f"{_where(source)}{context}: persona: expected an object, got {_describe(data)}",
                path=source, field="persona",
            )
        try:
            persona = cls.model_validate(data)
        except ValidationError as exc:
            raise _validation_error(exc, source=source, context=context) from exc
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
                f"{_where(source)}invalid fragment: persona: expected an object, got {_describe(persona)}",
                path=source, field="persona",
            )
        try:
            self._data = _PersonaData.model_validate(persona)
        except ValidationError as exc:
            raise _validation_error(exc, source=source, context="invalid fragment") from exc
        self._spec_extra: dict[str, Any] = {}
        self.source = source

    @classmethod
    def from_spec(cls, data: Mapping[str, Any], *, source: str | None = None) -> Fragment:
        """Validate a ``{"type": "Fragment", "persona": {...}}`` spec."""
        body, extra = _unwrap(data, source=source, allowed=(FRAGMENT_TYPE,))
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
        loaded = load_persona_file(path)
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


def load_persona_file(path: str | PathLike[str]) -> Persona | Fragment:
    """Read a ``.agent.json`` or ``.fragment.json`` file; its ``"type"`` decides which comes back.

    Example:
        >>> from tinytroupe.examples import example_path
        >>> type(load_persona_file(example_path("skeptic"))).__name__
        'Fragment'
    """
    source = str(path)
    return parse_persona_json(_read_text(Path(path)), source=source)


def parse_persona_json(text: str, *, source: str | None = None) -> Persona | Fragment:
    """Like :func:`load_persona_file`, from JSON text already read (``source`` names it in errors).

    Example:
        >>> parse_persona_json('{"type": "TinyPerson", "persona": {"name": "Ana"}}').name
        'Ana'
    """
    data = _parse_json(text, source)
    kind = data.get("type") if isinstance(data, Mapping) else None
    if kind == FRAGMENT_TYPE:
        return Fragment.from_spec(data, source=source)
    if kind == PERSONA_TYPE:
        return Persona.from_spec(data, source=source)
    return _reject_type(data, source)


# ---------------------------------------------------------------------- helpers: files and specs


def _where(source: str | None) -> str:
    return f"{source}: " if source else ""


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ScenarioError(
            f"{path}: no such persona file; check the path (bundled examples: "
            "tinytroupe.examples.list_example_personas())",
            path=str(path),
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path}: cannot read the file as UTF-8 text: {exc}", path=str(path)) from exc


def _parse_json(text: str, source: str | None) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ScenarioError(
            f"{_where(source)}invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}. "
            "Fix the syntax there (a missing comma or quote is the usual cause).",
            path=source, line=exc.lineno,
        ) from exc


def _reject_type(data: Any, source: str | None) -> Persona | Fragment:
    _unwrap(data, source=source, allowed=_ALLOWED_TYPES)
    raise AssertionError("unreachable: _unwrap accepts only the allowed types")  # pragma: no cover


def _unwrap(data: Any, *, source: str | None, allowed: tuple[str, ...]) -> tuple[Any, dict[str, Any]]:
    """Check the ``type`` and return (the ``persona`` value, the other top-level keys)."""
    where = _where(source)
    choices = " or ".join(f'"{t}"' for t in allowed)
    if not isinstance(data, Mapping):
        raise ScenarioError(
            f'{where}expected a JSON object like {{"type": {choices}, "persona": {{...}}}}, '
            f"got {_describe(data)}",
            path=source,
        )
    if "type" not in data:
        raise ScenarioError(
            f'{where}missing "type": expected {choices} '
            f'(e.g. {{"type": "{allowed[0]}", "persona": {{...}}}})',
            path=source, field="type",
        )
    kind = data["type"]
    if kind not in allowed:
        hint = ""
        if kind in _ALLOWED_TYPES:
            hint = f"; this is a {kind} spec, load it as one"
        raise ScenarioError(
            f'{where}wrong "type": expected {choices}, got {_quote(kind)}{hint}', path=source, field="type",
        )
    if "persona" not in data:
        raise ScenarioError(
            f'{where}missing "persona": expected an object with the persona\'s fields', path=source,
            field="persona",
        )
    extra = {k: v for k, v in data.items() if k not in ("type", "persona")}
    return data["persona"], extra


# ---------------------------------------------------------------------- helpers: error messages

_JSON_TYPE_NAMES = {
    str: "a string", int: "an integer", float: "a number", bool: "a boolean", list: "a list",
    tuple: "a list", dict: "an object", type(None): "null",
}

_EXPECTED_BY_ERROR = {
    "string_type": "a string",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "list_type": "a list",
    "dict_type": "an object",
    "model_type": "an object",
    "model_attributes_type": "an object",
    "missing": "a value (this field is required)",
}


def _describe(value: Any) -> str:
    kind = _JSON_TYPE_NAMES.get(type(value), type(value).__name__)
    if value is None:
        return "null"
    return f"{_quote(value)} ({kind})"


def _quote(value: Any) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= _MAX_QUOTED else text[: _MAX_QUOTED - 1] + "…"


def _json_path(prefix: str, loc: tuple[int | str, ...]) -> str:
    path = prefix
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _expected(err: Any) -> str:
    kind = err["type"]
    if kind in _EXPECTED_BY_ERROR:
        return _EXPECTED_BY_ERROR[kind]
    if kind == "value_error" and "error" in err.get("ctx", {}):
        return str(err["ctx"]["error"])
    msg: str = err["msg"]
    return msg.removeprefix("Input should be ").removeprefix("input should be ")


def _validation_error(exc: ValidationError, *, source: str | None, context: str) -> ScenarioError:
    problems: list[tuple[str, str]] = []
    for err in exc.errors(include_url=False):
        path = _json_path("persona", tuple(err["loc"]))
        if err["type"] == "missing":
            problems.append((path, f"{path} is missing; expected {_expected(err)}"))
        else:
            problems.append((path, f"{path}: expected {_expected(err)}, got {_describe(err['input'])}"))
    first_path, first = problems[0]
    lines = [f"{_where(source)}{context}: {first}"]
    lines += [f"  also {text}" for _, text in problems[1:10]]
    if len(problems) > 10:
        lines.append(f"  ... and {len(problems) - 10} more problems")
    lines.append("Fix the field(s) above; tinytroupe/examples/agents/*.agent.json show the expected shapes.")
    return ScenarioError("\n".join(lines), path=source, field=first_path)


# ---------------------------------------------------------------------- helpers: paths and merging

# Fields a file may give as a plain string standing for one of their sub-fields.
_STRING_SHORTHANDS = {"occupation": "title"}

_INDEX = re.compile(r"\[(\d+)\]")


def _split_path(path: str) -> list[str]:
    keys = _INDEX.sub(r".\1", path).split(".")
    if not path or any(k == "" for k in keys):
        raise ValueError(f"bad persona path {path!r}: use dot-separated keys like 'occupation.title'")
    return keys


def _is_index(key: str) -> bool:
    return key.isdigit()


def _child(node: Any, key: str, path: str, depth: int) -> Any:
    if isinstance(node, dict):
        return node.get(key)
    if _is_index(key) and int(key) < len(node):
        return node[int(key)]
    raise ScenarioError(
        f"Persona.set({path!r}): step {depth + 1} ({key!r}) is not a valid index into a list of "
        f"{len(node)} items",
        field=path,
    )


def _assign(node: Any, key: str, value: Any, path: str, depth: int) -> None:
    if isinstance(node, dict):
        node[key] = value
    elif _is_index(key) and int(key) < len(node):
        node[int(key)] = value
    else:
        raise ScenarioError(
            f"Persona.set({path!r}): step {depth + 1} ({key!r}) is not a valid index into a list of "
            f"{len(node)} items; to add an item, set the whole list",
            field=path,
        )


def _deep_merge(base: dict[str, Any], update: Mapping[str, Any], *, depth: int) -> dict[str, Any]:
    result = dict(base)
    for key, new in update.items():
        old = result.get(key)
        if depth == 0 and key in _STRING_SHORTHANDS and isinstance(old, str) and isinstance(new, Mapping):
            old = {_STRING_SHORTHANDS[key]: old}
        if isinstance(old, dict) and isinstance(new, Mapping):
            result[key] = _deep_merge(old, new, depth=depth + 1)
        elif isinstance(old, list) and isinstance(new, list | tuple):
            extended = list(old)
            for item in new:
                if item not in extended:
                    extended.append(copy.deepcopy(item))
            result[key] = extended
        else:
            result[key] = copy.deepcopy(new)
    return result


def _plain(node: Any) -> Any:
    """Model objects to plain data, and a copy of containers, so callers cannot change a persona."""
    if isinstance(node, BaseModel):
        return node.model_dump(exclude_unset=True)
    if isinstance(node, list):
        return [_plain(item) for item in node]
    if isinstance(node, dict):
        return {k: _plain(v) for k, v in node.items()}
    return node


# ---------------------------------------------------------------------- helpers: rendering


def _label(key: str) -> str:
    text = key.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def _inline(value: Any) -> str:
    """One line for any JSON value, stable for the same input."""
    if isinstance(value, BaseModel):
        value = value.model_dump(exclude_unset=True)
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return "; ".join(f"{k}: {_inline(v)}" for k, v in value.items() if v is not None)
    if isinstance(value, list | tuple):
        items = [_inline(v) for v in value]
        # Sentences read best run together; short phrases need a separator.
        sentences = all(item.rstrip().endswith((".", "!", "?")) for item in items)
        return (" " if sentences else "; ").join(items)
    return json.dumps(value, ensure_ascii=False)


def _block(label: str, value: Any) -> str | None:
    """``Label: value``, or a bulleted list under ``Label:``; None when there is nothing to say."""
    if value is None or value == [] or value == {}:
        return None
    if isinstance(value, BaseModel):
        value = value.model_dump(exclude_unset=True)
    if isinstance(value, list | tuple):
        return f"{label}:\n" + "\n".join(f"- {_inline(item)}" for item in value)
    if isinstance(value, Mapping):
        lines = [f"- {k.replace('_', ' ')}: {_inline(v)}" for k, v in value.items() if v is not None]
        return f"{label}:\n" + "\n".join(lines) if lines else None
    return f"{label}: {_inline(value)}"


def _extras_blocks(model: BaseModel | None, prefix: str = "") -> list[str | None]:
    if model is None or not model.model_extra:
        return []
    return [_block(prefix + _label(k), v) for k, v in model.model_extra.items()]


def _render_blocks(p: Persona) -> list[str]:
    blocks: list[str | None] = [
        _block("Name", p.name),
        _block("Age", p.age),
        _block("Gender", p.gender),
        _block("Nationality", p.nationality),
    ]
    job = p.occupation
    if job is not None:
        head = " at ".join(x for x in (job.title, job.organization) if x)
        # Title and description are separate blocks so that a tight budget keeps at least the title.
        blocks += [_block("Occupation", head or None), _block("Job description", job.description)]
        blocks += _extras_blocks(job, "Occupation ")
    blocks += [_block("Residence", p.residence), _block("Education", p.education)]
    if p.personality is not None:
        blocks.append(_block("Personality traits", p.personality.traits))
        big_five = p.personality.big_five
        if big_five is not None:
            blocks.append(_block("Big Five", big_five))
        blocks += _extras_blocks(p.personality)
    blocks += [_block("Style", p.style), _block("Long-term goals", p.long_term_goals)]
    if p.preferences is not None:
        prefs = p.preferences
        blocks += [_block("Interests", prefs.interests), _block("Likes", prefs.likes),
                   _block("Dislikes", prefs.dislikes)]
        blocks += _extras_blocks(prefs)
    blocks += [_block("Beliefs", p.beliefs), _block("Skills", p.skills)]
    if p.behaviors is not None:
        blocks.append(_block("Behaviors", p.behaviors.general))
        if p.behaviors.routines is not None:
            blocks.append(_block("Routines", p.behaviors.routines))
        blocks += _extras_blocks(p.behaviors)
    blocks.append(_block("Health", p.health))
    if p.relationships:
        blocks.append("Relationships:\n" + "\n".join(
            f"- {r.name}: {r.description}" if r.description else f"- {r.name}" for r in p.relationships
        ))
    blocks.append(_block("Other facts", p.other_facts))
    blocks += _extras_blocks(p)
    return [b for b in blocks if b]


def _fit(blocks: list[str], max_chars: int | None) -> str:
    full = "\n".join(blocks)
    if max_chars is None or len(full) <= max_chars:
        return full
    marker = "\n" + _TRUNCATION_MARKER
    kept: list[str] = []
    used = 0
    for block in blocks:
        needed = used + (1 if kept else 0) + len(block)
        if needed + len(marker) > max_chars:
            break
        kept.append(block)
        used = needed
    if not kept:
        # Not even the first field fits: cut it, since a prompt needs at least the name.
        return full[: max_chars - 1] + _TRUNCATION_MARKER
    return "\n".join(kept) + marker


__all__ = [
    "FRAGMENT_TYPE",
    "PERSONA_TYPE",
    "Behaviors",
    "BigFive",
    "Fragment",
    "Occupation",
    "Persona",
    "Personality",
    "Preferences",
    "Relationship",
    "Routines",
    "load_persona_file",
    "parse_persona_json",
]
