"""The base of every state model (agent, memory, world, simulation): a ``version`` field and parsing
that turns bad input into a :class:`~tinytroupe.errors.InvalidArgument` naming the field.

State models are plain pydantic models: :meth:`StateModel.to_dict` gives the JSON-ready dict that
checkpoints and ``to_state()`` return, :meth:`StateModel.parse` reads one back (states written before
the models existed, which have no ``version``, read as version 1: their shape is the same).

Example:
    >>> class Counter(StateModel):
    ...     count: int = 0
    >>> Counter.parse({"count": 3}).to_dict()
    {'version': 1, 'count': 3}
    >>> Counter.parse({"count": "many"})
    Traceback (most recent call last):
    ...
    tinytroupe.errors.InvalidArgument: bad Counter: field 'count': Input should be a valid integer, ...
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any, ClassVar, Self, get_args

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from tinytroupe.errors import InvalidArgument

#: the state format this tinytroupe writes; a state with a higher version was written by a newer one
STATE_VERSION = 1


class StateModel(BaseModel):
    """A versioned piece of state. Unknown keys are ignored, so a newer minor addition still loads."""

    model_config = ConfigDict(extra="ignore", arbitrary_types_allowed=True)

    #: fields left out of :meth:`to_dict` while they have these values (keeps older dict shapes)
    omit_when: ClassVar[dict[str, Any]] = {}

    version: int = STATE_VERSION

    @field_validator("version")
    @classmethod
    def _known_version(cls, value: int) -> int:
        if value > STATE_VERSION:
            raise ValueError(f"version {value} was written by a newer tinytroupe (this one reads up to "
                             f"{STATE_VERSION}); upgrade tinytroupe")
        return value

    @classmethod
    def parse(cls, data: Mapping[str, Any] | BaseModel) -> Self:
        """Validate ``data`` (a dict from :meth:`to_dict`, JSON, or an older tinytroupe) into this model.

        Raises:
            InvalidArgument: ``data`` does not fit; the message names the first bad field.
        """
        if isinstance(data, cls):
            return data
        if isinstance(data, BaseModel):
            data = data.model_dump()
        if not isinstance(data, Mapping):
            raise InvalidArgument(f"bad {cls.__name__}: expected a mapping, got {type(data).__name__}")
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise InvalidArgument(f"bad {cls.__name__}: {describe_error(exc)}") from exc

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data (what ``to_state()`` returns); :meth:`parse` reads it back exactly."""
        data = self.model_dump(mode="json")
        _omit(self, data)
        return data


def _omit(model: StateModel, data: dict[str, Any]) -> None:
    # After the dump, not in a wrap serializer: one of those per model made checkpoints twice as slow.
    for name, value in model.omit_when.items():
        if name in data and getattr(model, name) == value:
            del data[name]
    for name in _nested_fields(type(model)):
        value, dumped = getattr(model, name), data.get(name)
        if isinstance(value, StateModel) and isinstance(dumped, dict):
            _omit(value, dumped)
        elif isinstance(value, list) and isinstance(dumped, list):
            for item, item_data in zip(value, dumped, strict=True):
                if isinstance(item, StateModel) and isinstance(item_data, dict):
                    _omit(item, item_data)


@cache
def _nested_fields(cls: type[StateModel]) -> tuple[str, ...]:
    """The fields of ``cls`` whose type names a state model (the only ones :func:`_omit` looks into)."""
    def names_state(tp: Any) -> bool:
        if isinstance(tp, type) and issubclass(tp, StateModel):
            return True
        return any(names_state(arg) for arg in get_args(tp))
    return tuple(name for name, info in cls.model_fields.items() if names_state(info.annotation))


def describe_error(exc: ValidationError) -> str:
    """``field 'a.b': message`` for the first error of ``exc`` (and how many more there are)."""
    errors = exc.errors()
    first = errors[0]
    where = ".".join(str(part) for part in first["loc"]) or "(top level)"
    more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
    return f"field {where!r}: {first['msg']}{more}"


__all__ = ["STATE_VERSION", "StateModel", "describe_error"]
