"""What a settings field accepts and how text becomes its value, and how values and typos are
shown in messages (``Expected an integer >= 1 and <= 20 (default 5)``, ``Did you mean MODEL?``).
"""

from __future__ import annotations

import difflib
import typing
from dataclasses import dataclass
from typing import Any, Literal

import annotated_types
from pydantic import SecretStr
from pydantic.fields import FieldInfo

from tinytroupe.config.models import SECTIONS, _members

_TRUE = frozenset({"true", "yes", "on", "1", "y", "t"})
_FALSE = frozenset({"false", "no", "off", "0", "n", "f"})
_NONE_WORDS = frozenset({"", "none", "null"})
_UNLIMITED_WORDS = frozenset({"0", "none", "off", "unlimited"})


@dataclass(frozen=True)
class _FieldShape:
    """What a field accepts, read from its annotation (drives string conversion and messages)."""

    base: Any
    optional: bool
    choices: tuple[str, ...]
    info: FieldInfo

    @classmethod
    def of(cls, section: str, name: str) -> _FieldShape:
        info = SECTIONS[section].model_fields[name]
        members = _members(info.annotation)
        base = next(m for m in members if m is not type(None))
        choices = typing.get_args(base) if typing.get_origin(base) is Literal else ()
        return cls(base=base, optional=type(None) in members, choices=choices, info=info)

    def describe(self, section: str, name: str) -> str:
        """'an integer >= 1 and <= 20 (default 5)' and the like."""
        if self.base is bool:
            text = "true or false (also yes/no, on/off, 1/0)"
        elif self.choices:
            text = "one of " + ", ".join(self.choices)
        else:
            text = {int: "an integer", float: "a number", str: "text", SecretStr: "a secret"}.get(
                self.base, getattr(self.base, "__name__", str(self.base)))
        bounds = []
        for meta in self.info.metadata:
            for attr, sign in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
                if isinstance(meta, getattr(annotated_types, attr.capitalize())):
                    bounds.append(f"{sign} {getattr(meta, attr)}")
        if bounds:
            text += " " + " and ".join(bounds)
        if (section, name) == ("openai", "max_concurrent_model_calls"):
            text += " (0, NONE or OFF: unlimited)"
        elif self.optional:
            text += ", or None"
        return f"{text} (default {self.info.default!r})"


class _BadValue(Exception):
    """A string that cannot become the field's type; the message says why."""


def _coerce(section: str, name: str, value: Any) -> Any:
    """Turn text from an INI file or a variable into the field's type (other values pass through).

    pydantic would accept most text too, but doing booleans, None and choices here lets the
    message list exactly what is allowed, and makes choices case-insensitive as in TinyTroupe.
    """
    shape = _FieldShape.of(section, name)
    # TOML and arguments give typed values; pydantic would read true as 1 and 1 as true.
    if isinstance(value, bool) and shape.base in (int, float):
        raise _BadValue("true/false is not a number")
    if shape.base is bool and isinstance(value, int | float) and not isinstance(value, bool):
        raise _BadValue("a number is not true or false; write true or false")
    if not isinstance(value, str) or shape.base is SecretStr:
        return value
    text = value.strip()
    low = text.lower()
    if (section, name) == ("openai", "max_concurrent_model_calls") and low in _UNLIMITED_WORDS:
        return 0
    if shape.optional and low in _NONE_WORDS:
        return None
    if not text:
        raise _BadValue("empty value; remove it to use the default")
    if shape.base is bool:
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise _BadValue("not a boolean")
    if shape.choices:
        for choice in shape.choices:
            if low == choice.lower():
                return choice
        close = difflib.get_close_matches(low, [c.lower() for c in shape.choices], n=1)
        raise _BadValue("not an allowed value" + (f"; did you mean {close[0]}?" if close else ""))
    return text



def _did_you_mean(word: str, candidates: list[str], *, fmt: str = "{}") -> str:
    if len(word) > 100:  # difflib is quadratic in the word's length; no typo of a real name is that long
        return ""
    close = difflib.get_close_matches(word.lower(), [c.lower() for c in candidates], n=1, cutoff=0.6)
    if not close:
        return ""
    original = next(c for c in candidates if c.lower() == close[0])
    return " Did you mean " + fmt.format(original) + "?"



def _clip(name: str) -> str:
    return name if len(name) <= 80 else name[:79] + "…"


def _shown(value: Any) -> str:
    """A value for a message: its repr, cut short (a file may hold a megabyte in one value)."""
    try:
        text = repr(value)
    except RecursionError:
        text = f"<{type(value).__name__}>"
    return text if len(text) <= 80 else text[:79] + "…"

