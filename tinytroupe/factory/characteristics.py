"""Where a drawn characteristic lands in a persona.

Each dimension of a sampling plan writes its drawn value at a persona path, after the model has
written the rest of the person, so the value drawn is the value the person has (a population
calibrated to census shares stays calibrated). The path is the dimension's ``field`` when given,
otherwise:

* a well-known persona field, when the dimension's name says it and its values have that field's
  type: ``gender`` (also ``sex``), ``nationality``, ``residence`` (also ``location``), ``education``
  (also ``education_level``), ``occupation.title`` (also ``occupation``, ``profession``, ``job``),
  ``style``, ``health`` for text values, and ``age`` for whole numbers;
* otherwise ``characteristics.<name>``, the name in snake case: one object of the persona holding
  everything else drawn (``"Income level"`` becomes ``characteristics.income_level``). Unknown keys
  are kept by personas, saved in ``.agent.json`` files and shown in the agent's prompt.

Example:
    >>> default_fields([("Sex", ["female", "male"]), ("Age", [18, 64]), ("Income level", ["low", "high"])])
    {'Sex': 'gender', 'Age': 'age', 'Income level': 'characteristics.income_level'}
    >>> apply_characteristics({"name": "Ana", "gender": "F"}, {"Sex": "female"}, {"Sex": "gender"})
    {'name': 'Ana', 'gender': 'female'}
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from tinytroupe.agent.persona import persona_problems
from tinytroupe.agent.persona.paths import set_path
from tinytroupe.errors import TinyTroupeError

#: the persona object holding drawn characteristics that have no field of their own
CHARACTERISTICS_KEY = "characteristics"

_TEXT_FIELDS = {
    "gender": "gender", "sex": "gender", "nationality": "nationality", "residence": "residence",
    "location": "residence", "place_of_residence": "residence", "education": "education",
    "education_level": "education", "educational_attainment": "education", "occupation": "occupation.title",
    "profession": "occupation.title", "job": "occupation.title", "job_title": "occupation.title",
    "style": "style", "health": "health",
}
_NUMBER_FIELDS = {"age": "age"}
#: paths a plan may not write: the writer chooses the name, and relationships name other people
_RESERVED_ROOTS = ("name", "relationships")


def snake_key(name: str) -> str:
    """``name`` as a persona key: lower case, runs of other characters turned into one ``_``.

    Example:
        >>> snake_key("Income level (monthly)")
        'income_level_monthly'
    """
    key = re.sub(r"[^0-9a-z]+", "_", name.casefold()).strip("_")
    return key or "dimension"


def _well_known(name: str, values: Sequence[Any]) -> str | None:
    key = snake_key(name)
    if key in _TEXT_FIELDS and values and all(isinstance(v, str) for v in values):
        return _TEXT_FIELDS[key]
    if key in _NUMBER_FIELDS and values and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return _NUMBER_FIELDS[key]
    return None


def default_fields(dimensions: Iterable[tuple[str, Sequence[Any]]],
                   explicit: Mapping[str, str] | None = None) -> dict[str, str]:
    """The persona path of each ``(name, example values)`` dimension, in order.

    ``explicit`` paths are kept as given; a default never takes a path another dimension already
    writes (the later dimension goes under ``characteristics`` instead, numbered if need be).

    Example:
        >>> default_fields([("Sex", ["f"]), ("Gender", ["woman"])])
        {'Sex': 'gender', 'Gender': 'characteristics.gender'}
    """
    dims = list(dimensions)
    explicit = dict(explicit or {})
    taken = set(explicit.values())
    out: dict[str, str] = {}
    for name, values in dims:
        if name in explicit:
            out[name] = explicit[name]
            continue
        field = _well_known(name, values)
        if field is None or field in taken:
            base = f"{CHARACTERISTICS_KEY}.{snake_key(name)}"
            field, n = base, 1
            while field in taken:
                n += 1
                field = f"{base}_{n}"
        taken.add(field)
        out[name] = field
    return out


def field_problem(field: str, examples: Sequence[Any]) -> str | None:
    """Why the values ``examples`` cannot be written at persona path ``field``, or None when they can.

    Example:
        >>> field_problem("age", ["young"])
        'age: expected an integer, got "young" (a string)'
        >>> field_problem("name", ["x"])
        'a sampling plan cannot set the name (the writer chooses a unique one)'
    """
    root = re.split(r"[.\[]", field, maxsplit=1)[0]
    if root in _RESERVED_ROOTS:
        what = "the name (the writer chooses a unique one)" if root == "name" else "relationships"
        return f"a sampling plan cannot set {what}"
    for value in examples:
        data: dict[str, Any] = {"name": "Example"}
        try:
            set_path(data, field, value, source=None)
        except TinyTroupeError as exc:
            return str(exc)
        problems = persona_problems(data)
        if problems:
            where, message = problems[0]
            return f"{'.'.join(map(str, where))}: {message}"
    return None


def apply_characteristics(persona: Mapping[str, Any], characteristics: Mapping[str, Any],
                          fields: Mapping[str, str]) -> dict[str, Any]:
    """A copy of plain persona data with each drawn value written at its dimension's path (the objects
    on each path are copied, the rest is shared with ``persona``).

    Example:
        >>> apply_characteristics({"name": "Ana"}, {"Income": "low"}, {"Income": "characteristics.income"})
        {'name': 'Ana', 'characteristics': {'income': 'low'}}
    """
    data = dict(persona)
    for name, value in characteristics.items():
        field = fields.get(name)
        if field is not None:
            # copy only the objects on the path (a deep copy of the whole persona costs far more)
            node = data
            for key in field.split(".")[:-1]:
                child = node.get(key)
                if not isinstance(child, dict):
                    break  # set_path creates what is missing from here (or says why it cannot)
                node[key] = child = dict(child)
                node = child
            set_path(data, field, value, source=None)
    return data


__all__ = ["CHARACTERISTICS_KEY", "apply_characteristics", "default_fields", "field_problem", "snake_key"]
