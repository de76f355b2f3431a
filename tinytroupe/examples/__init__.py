"""Ready-made personas and fragments that ship with tinytroupe.

Four personas (``lisa`` a data scientist in Dublin, ``oscar`` an architect in Valparaíso, ``marcos``
a family doctor in the Alentejo, ``lila`` a linguist in Montreal) and a few fragments to merge into
them (``travel_enthusiast``, ``budget_conscious``, ``early_adopter``, ``skeptic``). The files live in
``agents/*.agent.json`` and ``fragments/*.fragment.json`` next to this module, in TinyTroupe's format.

Public names: list_example_personas, load_example_persona, list_example_fragments,
load_example_fragment, example_path, ExampleNotFoundError, and TinyTroupe-style constructors of
ready agents: create_lisa_the_data_scientist, create_oscar_the_architect, create_marcos_the_physician,
create_lila_the_linguist.

Example:
    >>> from tinytroupe.examples import load_example_persona, load_example_fragment
    >>> lisa = load_example_persona("lisa")
    >>> lisa.merge(load_example_fragment("skeptic")).minibio().startswith("Lisa Brennan, 31")
    True
"""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from tinytroupe.agent.person import TinyPerson
from tinytroupe.agent.persona import Fragment, Persona, parse_persona_json
from tinytroupe.errors import ScenarioError

_PERSONAS = ("agents", ".agent.json")
_FRAGMENTS = ("fragments", ".fragment.json")


class ExampleNotFoundError(ScenarioError, KeyError):
    """No bundled example has that name. It is a :class:`KeyError` too, so ``except KeyError`` works."""

    def __str__(self) -> str:
        # KeyError would quote the whole message; show it as written.
        return str(self.args[0]) if self.args else ""


def _folder(kind: tuple[str, str]) -> Traversable:
    return resources.files(__name__).joinpath(kind[0])


def _names(kind: tuple[str, str]) -> list[str]:
    suffix = kind[1]
    return sorted(e.name[: -len(suffix)] for e in _folder(kind).iterdir() if e.name.endswith(suffix))


def _find(name: str, kind: tuple[str, str]) -> Traversable:
    stem = name.removesuffix(kind[1])
    entry = _folder(kind).joinpath(stem + kind[1])
    if not entry.is_file():
        what = "persona" if kind is _PERSONAS else "fragment"
        raise ExampleNotFoundError(
            f"no example {what} named {name!r}; available: {', '.join(_names(kind))}",
            field=name,
        )
    return entry


def list_example_personas() -> list[str]:
    """Names of the bundled personas, sorted.

    Example:
        >>> list_example_personas()
        ['lila', 'lisa', 'marcos', 'oscar']
    """
    return _names(_PERSONAS)


def list_example_fragments() -> list[str]:
    """Names of the bundled fragments, sorted.

    Example:
        >>> "skeptic" in list_example_fragments()
        True
    """
    return _names(_FRAGMENTS)


def load_example_persona(name: str) -> Persona:
    """A bundled persona by name (``"lisa"``; the ``.agent.json`` suffix is optional).

    Example:
        >>> load_example_persona("oscar").get("occupation.organization").startswith("Taller Quebrada")
        True
    """
    entry = _find(name, _PERSONAS)
    loaded = parse_persona_json(entry.read_text(encoding="utf-8"), source=str(entry))
    if not isinstance(loaded, Persona):  # a bundled file of the wrong type is our bug; say so clearly
        raise ScenarioError(f"{entry}: bundled persona file holds a {type(loaded).__name__}", path=str(entry))
    return loaded


def load_example_fragment(name: str) -> Fragment:
    """A bundled fragment by name (``"travel_enthusiast"``; the ``.fragment.json`` suffix is optional).

    Example:
        >>> "beliefs" in load_example_fragment("skeptic").persona_dict
        True
    """
    entry = _find(name, _FRAGMENTS)
    loaded = parse_persona_json(entry.read_text(encoding="utf-8"), source=str(entry))
    if not isinstance(loaded, Fragment):
        raise ScenarioError(f"{entry}: bundled fragment file holds a {type(loaded).__name__}",
                            path=str(entry))
    return loaded


def example_path(name: str) -> Path:
    """The file of a bundled persona or fragment (personas are looked up first).

    Example:
        >>> example_path("lisa").name
        'lisa.agent.json'
    """
    for kind in (_PERSONAS, _FRAGMENTS):
        if name.removesuffix(kind[1]) in _names(kind):
            return Path(str(_find(name, kind)))
    raise ExampleNotFoundError(
        f"no example persona or fragment named {name!r}; personas: {', '.join(list_example_personas())}; "
        f"fragments: {', '.join(list_example_fragments())}",
        field=name,
    )


# --- TinyTroupe-style constructors -------------------------------------------------------------

def _agent(name: str, **kwargs: Any) -> TinyPerson:
    persona = load_example_persona(name)
    return TinyPerson(persona.name, persona=persona, **kwargs)


def create_lisa_the_data_scientist(**kwargs: Any) -> TinyPerson:
    """Lisa Brennan, a data scientist in Dublin, as a ready agent (kwargs go to TinyPerson)."""
    return _agent("lisa", **kwargs)


def create_oscar_the_architect(**kwargs: Any) -> TinyPerson:
    """Oscar Villanueva, an architect in Valparaíso, as a ready agent (kwargs go to TinyPerson)."""
    return _agent("oscar", **kwargs)


def create_marcos_the_physician(**kwargs: Any) -> TinyPerson:
    """Marcos Ferreira, a family doctor in the Alentejo, as a ready agent (kwargs go to TinyPerson)."""
    return _agent("marcos", **kwargs)


def create_lila_the_linguist(**kwargs: Any) -> TinyPerson:
    """Lila Haddad, a linguist in Montreal, as a ready agent (kwargs go to TinyPerson)."""
    return _agent("lila", **kwargs)


__all__ = [
    "ExampleNotFoundError",
    "create_lila_the_linguist",
    "create_lisa_the_data_scientist",
    "create_marcos_the_physician",
    "create_oscar_the_architect",
    "example_path",
    "list_example_fragments",
    "list_example_personas",
    "load_example_fragment",
    "load_example_persona",
]
