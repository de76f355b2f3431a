"""Reading persona files: ``.agent.json`` (a :class:`Persona`) and ``.fragment.json`` (a :class:`Fragment`).

The file's ``"type"`` decides which comes back; every problem is a
:class:`~tinytroupe.errors.ScenarioError` naming the file and the line or field.
"""

from __future__ import annotations

from os import PathLike

from tinytroupe.agent.persona.model import Fragment, Persona, from_any_spec
from tinytroupe.agent.persona.spec import parse_json, read_spec_file


def load_persona_file(path: str | PathLike[str]) -> Persona | Fragment:
    """Read a ``.agent.json`` or ``.fragment.json`` file; its ``"type"`` decides which comes back.

    Example:
        >>> from tinytroupe.examples import example_path
        >>> type(load_persona_file(example_path("skeptic"))).__name__
        'Fragment'
    """
    return from_any_spec(*read_spec_file(path))


def parse_persona_json(text: str, *, source: str | None = None) -> Persona | Fragment:
    """Like :func:`load_persona_file`, from JSON text already read (``source`` names it in errors).

    Example:
        >>> parse_persona_json('{"type": "TinyPerson", "persona": {"name": "Ana"}}').name
        'Ana'
    """
    return from_any_spec(parse_json(text, source), source, text)


__all__ = ["load_persona_file", "parse_persona_json"]
