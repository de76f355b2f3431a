"""The envelope of a persona file: ``{"type": "TinyPerson" | "Fragment", "persona": {...}, ...}``.

Reading a file (bounded, see :mod:`tinytroupe.safe_load`), parsing its JSON, and checking the
envelope before the persona inside is validated; every failure is a
:class:`~tinytroupe.errors.ScenarioError` naming the file, the line or the field, and the fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from os import PathLike
from pathlib import Path
from typing import Any, NoReturn

from tinytroupe.agent.persona.fields import ALLOWED_TYPES
from tinytroupe.agent.persona.messages import describe, quote, where
from tinytroupe.errors import ScenarioError
from tinytroupe.safe_load import PERSONA_LIMITS, InputProblem, check_tree, load_json, read_text


def read_text_file(path: Path) -> str:
    """The text of a persona file, or a ScenarioError naming it."""
    # Bounded (size, UTF-8 with the line of a bad byte): see tinytroupe.safe_load for the limits.
    try:
        return read_text(path, PERSONA_LIMITS)
    except FileNotFoundError as exc:
        raise ScenarioError(
            f"{path}: no such persona file; check the path (bundled examples: "
            "tinytroupe.examples.list_example_personas())",
            path=str(path),
        ) from exc
    except InputProblem as problem:
        at = f":{problem.line}" if problem.line else ""
        raise ScenarioError(f"{path}{at}: {problem.reason}", path=str(path), line=problem.line) from None


def parse_json(text: str, source: str | None) -> Any:
    """The JSON value of ``text``, or a ScenarioError naming ``source`` and the line."""
    try:
        return load_json(text, PERSONA_LIMITS)
    except InputProblem as problem:
        if problem.where is not None:
            raise ScenarioError(f"{where(source)}{problem.where}: {problem.reason}", path=source,
                                field=problem.where) from None
        fix = (". Fix the syntax there (a missing comma or quote is the usual cause)."
               if problem.reason.startswith("invalid JSON") else "")
        raise ScenarioError(f"{where(source)}{problem.reason}{fix}", path=source, line=problem.line) from None


def reject_type(data: Any, source: str | None) -> NoReturn:
    """Raise the ScenarioError that says why ``data`` is neither a TinyPerson nor a Fragment spec."""
    unwrap(data, source=source, allowed=ALLOWED_TYPES)
    raise AssertionError("unreachable: unwrap accepts only the allowed types")  # pragma: no cover


def unwrap(data: Any, *, source: str | None, allowed: tuple[str, ...]) -> tuple[Any, dict[str, Any]]:
    """Check the ``type`` and return (the ``persona`` value, the other top-level keys)."""
    prefix = where(source)
    choices = " or ".join(f'"{t}"' for t in allowed)
    if not isinstance(data, Mapping):
        raise ScenarioError(
            f'{prefix}expected a JSON object like {{"type": {choices}, "persona": {{...}}}}, '
            f"got {describe(data)}",
            path=source, field="(top level)",
        )
    if "type" not in data:
        raise ScenarioError(
            f'{prefix}missing "type": expected {choices} '
            f'(e.g. {{"type": "{allowed[0]}", "persona": {{...}}}})',
            path=source, field="type",
        )
    kind = data["type"]
    if kind not in allowed:
        hint = ""
        if kind in ALLOWED_TYPES:
            hint = f"; this is a {kind} spec, load it as one"
        raise ScenarioError(
            f'{prefix}wrong "type": expected {choices}, got {quote(kind)}{hint}', path=source, field="type",
        )
    if "persona" not in data:
        raise ScenarioError(
            f'{prefix}missing "persona": expected an object with the persona\'s fields', path=source,
            field="persona",
        )
    extra = {k: v for k, v in data.items() if k not in ("type", "persona")}
    try:
        # Kept and written back with the persona, so held to the same bounds (finite numbers above all).
        check_tree(extra, PERSONA_LIMITS, dates=False)
    except InputProblem as problem:
        raise ScenarioError(f"{prefix}{problem.where}: {problem.reason}", path=source, field=problem.where) from None
    return data["persona"], extra


def read_spec_file(path: str | PathLike[str]) -> tuple[Any, str, str]:
    """The JSON value of a persona file, its name for error messages, and its text (to point at lines)."""
    source = str(path)
    text = read_text_file(Path(path))
    return parse_json(text, source), source, text


def spec_type(data: Any, source: str | None) -> str:
    """The ``type`` of a spec when it is one we read (TinyPerson or Fragment); else a ScenarioError."""
    kind = data.get("type") if isinstance(data, Mapping) else None
    if kind in ALLOWED_TYPES:
        return str(kind)
    reject_type(data, source)


__all__ = ["parse_json", "read_spec_file", "read_text_file", "reject_type", "spec_type", "unwrap"]
