"""Whom a turn may address: the closed set of names its ``target`` takes, and the check of an answer's target.

The people an agent may address (its world's members, its contacts, whoever spoke to it) are listed
in its turn's schema as an ``enum``, so constrained decoding cannot invent a listener, and the same
list is handed to validation in the turn's context (:data:`TARGETS_CONTEXT_KEY`), so one model class
serves every agent. Both are remembered per list of names: every turn asks with the same people as
the last.

Example:
    >>> target_choices(["Ben", "Ana"], exclude="Ana")
    ('', 'Ben')
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import lru_cache
from itertools import repeat
from typing import Any

from pydantic import ValidationInfo

from tinytroupe.errors import InvalidArgumentType

#: most names a turn's ``target`` is constrained to; past it the target is free text, because a
#: schema listing hundreds of names costs more tokens than the turn itself (and strict structured
#: outputs cap the number of enum values)
MAX_TARGET_CHOICES = 100


def target_choices(names: Iterable[str], *, exclude: str | None = None) -> tuple[str, ...] | None:
    """The closed set a turn's ``target`` may take: ``""`` (nobody in particular) and ``names``.

    Names are stripped, de-duplicated and sorted, so the same people give the same schema (and
    cache key) whatever order they were met in. None when there are more than
    :data:`MAX_TARGET_CHOICES`: the target is then left as free text.

    Example:
        >>> target_choices(["Ben", "Ana", "Ana ", "Cai"], exclude="Cai")
        ('', 'Ana', 'Ben')
    """
    return _target_choices(tuple(names), exclude)


@lru_cache(maxsize=4096)
def _target_choices(names: tuple[str, ...], exclude: str | None) -> tuple[str, ...] | None:
    # Every turn asks with the same people as the last (a world's members, the agent's contacts):
    # remembered, the answer is one tuple lookup instead of stripping and sorting them again, and
    # the same tuple object each time (so the checks keyed on it below are remembered too).
    # map over str methods, in C: no Python call per name (a world's members, on an agent's first turns)
    present = set(map(str.strip, filter(None, names)))
    present.discard("")
    present.discard(exclude)
    unique = sorted(present)
    if len(unique) > MAX_TARGET_CHOICES:
        return None
    return ("", *unique)


@lru_cache(maxsize=1024)
def canonical_target(choices: tuple[str, ...]) -> Callable[[Any], Any]:
    """A validator that fixes the spelling of a target to the one in ``choices`` (case, a "(colleague)" suffix).

    Example:
        >>> canonical_target(("", "Ben"))("ben (colleague)")
        'Ben'
    """
    by_folded = dict(zip(map(str.casefold, choices), choices, strict=True))  # as the dict comprehension was, in C

    def canonical(value: Any) -> Any:
        # Only the spelling is fixed ("ben", "Ben (colleague)" as the prompt lists people); a name
        # outside the set stays as written, so validation rejects it and the model is re-asked.
        if not isinstance(value, str):
            return value
        text = value.strip()
        found = by_folded.get(text.casefold())
        if found is None and text.endswith(")") and " (" in text:
            found = by_folded.get(text[: text.index(" (")].strip().casefold())
        return found if found is not None else text

    return canonical


#: the key of :class:`ActionTurnSpec.context` that holds whom a turn may address
TARGETS_CONTEXT_KEY = "targets"
#: the longest free-text target when a turn's people are not listed
MAX_FREE_TARGET_CHARS = 60


def _all_text(choices: tuple[Any, ...]) -> bool:
    try:
        return _all_text_cached(choices)
    except TypeError:  # something unhashable inside: not a tuple of names
        return False


@lru_cache(maxsize=1024)
def _all_text_cached(choices: tuple[Any, ...]) -> bool:
    return all(map(isinstance, choices, repeat(str)))  # no Python call per name


def target_in_context(value: Any, info: ValidationInfo) -> Any:
    """Check an answer's target against the people in the validation context (free text, capped, without them)."""
    # The people a turn may address come in the validation context, so one class serves every agent.
    choices = info.context.get(TARGETS_CONTEXT_KEY) if isinstance(info.context, dict) else None
    if choices is not None and not (isinstance(choices, tuple) and _all_text(choices)):
        if not isinstance(choices, tuple | list | set | frozenset) or not all(isinstance(c, str) for c in choices):
            # A TypeError: pydantic turns ValueErrors into validation errors, which would re-ask the model.
            raise InvalidArgumentType(f"validation_context[{TARGETS_CONTEXT_KEY!r}] must be a tuple of names, "
                                      f"got {type(choices).__name__}")
        choices = tuple(choices)
    if choices is None:
        if isinstance(value, str) and len(value) > MAX_FREE_TARGET_CHARS:
            raise ValueError(f"the target must be at most {MAX_FREE_TARGET_CHARS} characters")
        return value
    canonical = canonical_target(choices)(value)
    if not isinstance(canonical, str) or canonical not in choices:
        shown = ", ".join(repr(c) for c in choices[:12]) + (", ..." if len(choices) > 12 else "")
        raise ValueError(f"the target must be one of the people here ({shown}), or '' for nobody in particular")
    return canonical


__all__ = ["MAX_FREE_TARGET_CHARS", "MAX_TARGET_CHOICES", "TARGETS_CONTEXT_KEY", "canonical_target", "target_choices",
           "target_in_context"]
