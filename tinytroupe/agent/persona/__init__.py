"""Who a simulated person is, as data: the :class:`Persona` model and persona :class:`Fragment` s.

A persona reads and writes TinyTroupe's ``.agent.json`` format; every key it does not know is kept
and written back unchanged. One room per concern::

    fields.py     the field models (occupation, personality, ...), strict types, unknown keys kept
    model.py      Persona (immutable: set and merge return new personas) and Fragment
    paths.py      dot paths ("occupation.title") and deep merging
    rendering.py  the persona as compact prompt text, cut to a budget
    spec.py       the {"type", "persona"} envelope: reading, parsing, checking a file
    files.py      load_persona_file, parse_persona_json
    messages.py   validation errors that name the file, the JSON path and the fix

Public names: Persona, Fragment, load_persona_file, parse_persona_json, persona_problems,
PERSONA_TYPE, FRAGMENT_TYPE, and the field models Occupation, Personality, BigFive, Preferences,
Behaviors, Routines, Relationship.
"""

from tinytroupe.agent.persona.fields import (
    FRAGMENT_TYPE,
    PERSONA_TYPE,
    Behaviors,
    BigFive,
    Occupation,
    Personality,
    Preferences,
    Relationship,
    Routines,
)
from tinytroupe.agent.persona.files import load_persona_file, parse_persona_json
from tinytroupe.agent.persona.model import Fragment, Persona, persona_problems

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
    "persona_problems",
]
