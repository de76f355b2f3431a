"""Error messages for persona data: where (file, JSON path), what was expected, what was given.

A pydantic ``ValidationError`` becomes one :class:`~tinytroupe.errors.ScenarioError` listing every
problem by its JSON path (``persona.occupation.title: expected a string, got 3 (an integer)``); read
from a file, each problem also names its line there (``ana.agent.json:6: persona.occupation.title:
...``, see :func:`lines_from`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pydantic import ValidationError

from tinytroupe.agent.persona.fields import _Unstorable
from tinytroupe.errors import ScenarioError
from tinytroupe.safe_load import json_key_lines

# How much of a bad value an error message quotes.
_MAX_QUOTED = 80


def where(source: str | None) -> str:
    return f"{source}: " if source else ""


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


def describe(value: Any) -> str:
    kind = _JSON_TYPE_NAMES.get(type(value), type(value).__name__)
    if value is None:
        return "null"
    return f"{quote(value)} ({kind})"


def quote(value: Any) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        text = object.__repr__(value) if isinstance(value, list | dict) else repr(value)
    return text if len(text) <= _MAX_QUOTED else text[: _MAX_QUOTED - 1] + "…"


def _json_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def _expected(err: Any) -> str:
    kind = err["type"]
    if kind in _EXPECTED_BY_ERROR:
        return _EXPECTED_BY_ERROR[kind]
    if kind == "value_error" and "error" in err.get("ctx", {}):
        return str(err["ctx"]["error"])
    msg: str = err["msg"]
    return msg.removeprefix("Input should be ").removeprefix("input should be ")


def problems_of(exc: ValidationError) -> list[tuple[tuple[int | str, ...], str]]:
    """(path inside the persona, what is wrong) for each error; "is missing ..." for missing fields."""
    problems: list[tuple[tuple[int | str, ...], str]] = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        cause = err.get("ctx", {}).get("error")
        if isinstance(cause, _Unstorable):
            problems.append(((*loc, *cause.loc), cause.reason))
        elif err["type"] == "missing":
            problems.append((loc, f"is missing; expected {_expected(err)}"))
        else:
            problems.append((loc, f"expected {_expected(err)}, got {describe(err['input'])}"))
    return problems


def _problem_text(path: str, message: str) -> str:
    return f"{path} {message}" if message.startswith("is missing") else f"{path}: {message}"


#: how many problems one message lists (the rest are counted)
_MAX_LISTED = 10
_FIX = "tinytroupe/examples/agents/*.agent.json show the expected shapes."


class FieldProblems(ScenarioError):
    """Persona fields that failed validation: a :class:`ScenarioError` that keeps each problem's path
    inside the file (``("persona", "age")``), so that whoever holds the file's text can point at the
    lines (:meth:`located`)."""

    def __init__(self, problems: list[tuple[tuple[int | str, ...], str]], *, source: str | None, context: str,
                 lines: dict[tuple[int | str, ...], int] | None = None) -> None:
        self.problems = problems
        self.context = context
        self.lines = lines or {}
        first_path = _json_path(problems[0][0])
        first_line = self.lines.get(problems[0][0])
        super().__init__(self._render(source), path=source, line=first_line, field=first_path)

    def __reduce__(self) -> tuple[Any, ...]:
        # Exceptions pickle as type(self)(*args); the problems are keyword state, so say how to rebuild.
        return _rebuild, (self.problems, self.path, self.context, self.lines)

    def located(self, text: str) -> FieldProblems:
        """The same problems, each with its line in ``text``, the JSON of the file they came from."""
        lines = json_key_lines(text, [path for path, _ in self.problems[:_MAX_LISTED]])
        return FieldProblems(self.problems, source=self.path, context=self.context, lines=lines)

    def _render(self, source: str | None) -> str:
        texts = [(self.lines.get(loc), _problem_text(_json_path(loc), message))
                 for loc, message in self.problems[:_MAX_LISTED]]
        if source and self.lines:
            # Compiler style, one problem a line, so that editors and terminals can jump to each.
            out = [f"{source}:{line}: {text}" if line else f"{source}: {text}" for line, text in texts]
            fix = f"{self.context[:1].upper()}{self.context[1:]}: fix the field(s) above; {_FIX}"
        else:
            out = [f"{where(source)}{self.context}: {texts[0][1]}"] + [f"  also {text}" for _, text in texts[1:]]
            fix = f"Fix the field(s) above; {_FIX}"
        if len(self.problems) > _MAX_LISTED:
            out.append(f"  ... and {len(self.problems) - _MAX_LISTED} more problems")
        return "\n".join([*out, fix])


def _rebuild(problems: list[tuple[tuple[int | str, ...], str]], source: str | None, context: str,
             lines: dict[tuple[int | str, ...], int]) -> FieldProblems:
    return FieldProblems(problems, source=source, context=context, lines=lines)


def validation_error(exc: ValidationError, *, source: str | None, context: str) -> FieldProblems:
    """The error for persona fields (the value of a spec's ``"persona"``) that failed validation."""
    return FieldProblems([(("persona", *loc), message) for loc, message in problems_of(exc)], source=source,
                         context=context)


@contextmanager
def lines_from(text: str | None) -> Iterator[None]:
    """Inside, a :class:`FieldProblems` comes out pointing at its lines in ``text`` (the file's JSON)."""
    try:
        yield
    except FieldProblems as exc:
        if text is None or exc.lines:
            raise
        raise exc.located(text) from exc.__cause__


__all__ = ["FieldProblems", "describe", "lines_from", "problems_of", "quote", "validation_error", "where"]
