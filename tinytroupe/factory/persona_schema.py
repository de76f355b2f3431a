"""The shape a generated persona must have: every field of a TinyTroupe persona, filled in.

This is the structured-output model of the persona writer's call. Unlike
:class:`~tinytroupe.agent.persona.Persona` (where everything but the name is optional, as in hand-written
files), every field here is required and every text must say something, so an answer that leaves a
part out is re-asked by the client, and a person the model never completes is an error, never a
half-empty persona. Lists are bounded, so a runaway answer is re-asked too.

Example:
    >>> person = GeneratedPersona.model_validate(example_persona("Ana Lima"))
    >>> person.name, person.occupation.title
    ('Ana Lima', 'Nurse')
    >>> GeneratedPersona.model_validate({**example_persona("Ana Lima"), "skills": []})
    Traceback (most recent call last):
    ...
    pydantic_core._pydantic_core.ValidationError: 1 validation error for GeneratedPersona
    ...
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from tinytroupe.factory.names import name_problem

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]


def _a_name(value: str) -> str:
    problem = name_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return " ".join(value.split())


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), AfterValidator(_a_name)]


def _texts(low: int, high: int, what: str) -> Any:
    return Field(min_length=low, max_length=high, description=what)


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GeneratedOccupation(_Part):
    """What the person does for a living (or did, or studies)."""

    title: Text = Field(description="job title, or e.g. 'Retired teacher', 'Student'")
    organization: Text = Field(description="where they work or study, or 'Self-employed', 'None'")
    description: Text = Field(description="a few sentences on what the work is like day to day")


class GeneratedBigFive(_Part):
    """The Big Five, each as a level and a short explanation."""

    openness: Text
    conscientiousness: Text
    extraversion: Text
    agreeableness: Text
    neuroticism: Text


class GeneratedPersonality(_Part):
    """Traits and the Big Five."""

    traits: list[Text] = _texts(3, 10, "short sentences on how the person thinks, feels and behaves")
    big_five: GeneratedBigFive


class GeneratedPreferences(_Part):
    """Interests, likes and dislikes."""

    interests: list[Text] = _texts(2, 12, "topics and activities the person is into")
    likes: list[Text] = _texts(2, 12, "specific things the person likes")
    dislikes: list[Text] = _texts(2, 12, "specific things the person dislikes")


class GeneratedRoutines(_Part):
    """A typical day, part by part."""

    morning: list[Text] = _texts(1, 6, "what the person usually does in the morning")
    workday: list[Text] = _texts(1, 6, "on a working (or ordinary) day")
    evening: list[Text] = _texts(1, 6, "in the evening")
    weekend: list[Text] = _texts(1, 6, "at the weekend")


class GeneratedBehaviors(_Part):
    """Habits and routines."""

    general: list[Text] = _texts(2, 12, "habits and typical behaviours")
    routines: GeneratedRoutines


class GeneratedRelationship(_Part):
    """Someone in the person's life."""

    name: Name = Field(description="the other person's name")
    description: Text = Field(description="who they are to this person")


class GeneratedPersona(_Part):
    """A complete persona, as the persona writer must answer it (see the module docstring)."""

    name: Name = Field(description="the person's full name, fitting their nationality, gender and age")
    alternative_names: list[Name] = Field(max_length=5, description="three other full names that would fit this "
                                          "person as well, used if the first is already taken")
    age: int = Field(ge=0, le=120)
    gender: Text
    nationality: Text
    residence: Text = Field(description="city and country where the person lives")
    education: Text = Field(description="highest education and where it was obtained")
    long_term_goals: list[Text] = _texts(1, 8, "what the person wants from life")
    occupation: GeneratedOccupation
    style: Text = Field(description="how the person speaks and comes across")
    personality: GeneratedPersonality
    preferences: GeneratedPreferences
    beliefs: list[Text] = _texts(2, 12, "opinions and convictions, some of them strong")
    skills: list[Text] = _texts(2, 12, "what the person is good at")
    behaviors: GeneratedBehaviors
    health: Text = Field(description="physical and mental health, honestly")
    relationships: list[GeneratedRelationship] = Field(max_length=8, description="important people in their life")
    other_facts: list[Text] = _texts(1, 12, "anything else that makes this person who they are")

    def persona_data(self) -> dict[str, Any]:
        """The persona fields (TinyTroupe's shape), without the alternative names."""
        return self.model_dump(exclude={"alternative_names"})


class GeneratedBriefPersona(_Part):
    """A short persona (``persona_detail="brief"``): who the person is, in a dozen fields.

    For small local models, which cannot fill the full schema in reasonable time; the same rules
    apply (every field required, every text non-empty, lists bounded).
    """

    name: Name = Field(description="the person's full name, fitting their nationality, gender and age")
    alternative_names: list[Name] = Field(max_length=3, description="other full names that would fit this "
                                          "person as well, used if the first is already taken")
    age: int = Field(ge=0, le=120)
    gender: Text
    nationality: Text
    residence: Text = Field(description="city and country where the person lives")
    education: Text = Field(description="highest education")
    occupation: Text = Field(description="job title, or e.g. 'Retired teacher', 'Student'")
    traits: list[Text] = _texts(1, 5, "short phrases on how the person thinks and behaves")
    beliefs: list[Text] = _texts(1, 5, "opinions and convictions")

    def persona_data(self) -> dict[str, Any]:
        """The persona fields in TinyTroupe's shape (occupation and personality as nested objects)."""
        data = self.model_dump(exclude={"alternative_names", "occupation", "traits"})
        return data | {"occupation": {"title": self.occupation}, "personality": {"traits": list(self.traits)}}


#: the persona schema of each ``persona_detail``
PERSONA_DETAILS: dict[str, type[GeneratedPersona] | type[GeneratedBriefPersona]] = {
    "full": GeneratedPersona, "brief": GeneratedBriefPersona}


def example_persona(name: str, age: int = 41, **changes: Any) -> dict[str, Any]:
    """A small valid answer (for documentation and tests), with top-level fields replaced by ``changes``.

    Example:
        >>> example_persona("Ana Lima")["occupation"]["title"]
        'Nurse'
        >>> example_persona("Rui Costa", 35, gender="male")["gender"]
        'male'
    """
    two = ["one", "two"]
    return {
        "name": name, "alternative_names": [f"{name} Second", f"{name} Third"], "age": age, "gender": "female",
        "nationality": "Brazilian", "residence": "Recife, Brazil",
        "education": "Nursing degree", "long_term_goals": ["Open a clinic"],
        "occupation": {"title": "Nurse", "organization": "City hospital", "description": "Night shifts."},
        "style": "Warm and direct.",
        "personality": {"traits": ["Patient.", "Stubborn.", "Funny."],
                        "big_five": {k: "Medium." for k in ("openness", "conscientiousness", "extraversion",
                                                            "agreeableness", "neuroticism")}},
        "preferences": {"interests": two, "likes": two, "dislikes": two},
        "beliefs": two, "skills": two,
        "behaviors": {"general": two,
                      "routines": {k: ["Coffee."] for k in ("morning", "workday", "evening", "weekend")}},
        "health": "Good.", "relationships": [], "other_facts": ["Has a cat."],
    } | changes


def example_brief_persona(name: str, age: int = 41, **changes: Any) -> dict[str, Any]:
    """A valid brief answer (``persona_detail="brief"``), with fields replaced by ``changes``.

    Example:
        >>> GeneratedBriefPersona.model_validate(example_brief_persona("Ana Lima")).persona_data()["occupation"]
        {'title': 'Nurse'}
    """
    return {"name": name, "alternative_names": [f"{name} Second"], "age": age, "gender": "female",
            "nationality": "Brazilian", "residence": "Recife, Brazil", "education": "Nursing degree",
            "occupation": "Nurse", "traits": ["Patient."], "beliefs": ["Health care is a right."]} | changes


__all__ = ["PERSONA_DETAILS", "GeneratedBriefPersona", "GeneratedPersona", "example_brief_persona", "example_persona"]
