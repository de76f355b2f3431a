"""The persona's fields as pydantic models: strict where the vocabulary is known, open elsewhere.

Every part keeps unknown keys as given (held to the JSON bounds of :mod:`tinytroupe.safe_load`) and
writes back the shapes TinyTroupe's files use (a plain-string occupation, capitalised relationship
keys), so a file survives a round trip unchanged. :class:`PersonaFields` is the shape of a fragment
(every field optional); :class:`~tinytroupe.agent.persona.model.Persona` adds a required name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    Strict,
    ValidatorFunctionWrapHandler,
    model_serializer,
    model_validator,
)

from tinytroupe.safe_load import PERSONA_LIMITS, InputProblem, check_tree

PERSONA_TYPE = "TinyPerson"
FRAGMENT_TYPE = "Fragment"
ALLOWED_TYPES = (PERSONA_TYPE, FRAGMENT_TYPE)


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("a non-empty string")
    return value


Text = Annotated[str, Strict()]
NonEmptyText = Annotated[str, Strict(), AfterValidator(_not_blank)]
TextList = list[Text]
Age = Annotated[int, Strict(), Field(ge=0, le=200)]


class _Unstorable(ValueError):
    """A value JSON cannot hold (Infinity, NaN) or nesting past the limits, at ``loc`` below the field."""

    def __init__(self, reason: str, loc: tuple[int | str, ...]) -> None:
        super().__init__(reason)
        self.reason = reason
        self.loc = loc


class _Open(BaseModel):
    """Base of every persona part: unknown keys are kept, values are never changed after validation."""

    model_config = ConfigDict(extra="allow", frozen=True)

    @model_validator(mode="after")
    def _extras_are_storable(self) -> Any:
        # Known fields are strict text and integers; only unknown keys can carry floats, dates, other
        # objects or deep structures, and one Infinity or date there would make every later save and
        # checkpoint fail: a persona is JSON data.
        if self.model_extra:
            try:
                check_tree(self.model_extra, PERSONA_LIMITS, dates=False)
            except InputProblem as problem:
                raise _Unstorable(problem.reason, problem.parts) from None
        return self


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


class PersonaFields(_Open):
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


__all__ = ["ALLOWED_TYPES", "FRAGMENT_TYPE", "PERSONA_TYPE", "Age", "Behaviors", "BigFive", "NonEmptyText",
           "Occupation", "PersonaFields", "Personality", "Preferences", "Relationship", "Routines", "Text",
           "TextList"]
