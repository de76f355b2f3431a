"""Field specifications for extraction, and the pydantic model built from them.

A field is a name plus a type (``str``, ``int``, ``float``, ``bool``, ``list[str]``), an optional
hint for the model, optional numeric bounds and optional choices. The LLM must return exactly those
fields, validated; nothing is guessed by the library.

Example:
    >>> model = extraction_model({"rating": FieldSpec(type="int", minimum=1, maximum=10), "reason": "str"})
    >>> model.model_validate({"rating": 7, "reason": "useful"}).rating
    7
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, create_model, model_validator

from tinytroupe.errors import InvalidArgument, InvalidArgumentType

FieldType = Literal["str", "int", "float", "bool", "list[str]"]
_PY_TYPES: dict[str, Any] = {"str": str, "int": int, "float": float, "bool": bool, "list[str]": list[str]}

#: column names every results row carries (who answered, whether they did, why not), so no field may use them
RESERVED_FIELD_NAMES = frozenset({"agent", "status", "error"})
#: longest field name accepted: it becomes a JSON key and a CSV/DataFrame column
MAX_FIELD_NAME = 64
#: text fields that name the agent whose result it is: filled in from the agent, not asked of the model,
#: unless they carry a hint (then they mean something else, e.g. "the product's name", and are asked)
#: (TinyTroupe's examples ask for ``fields=["name", "response", ...]``)
AGENT_NAME_FIELDS = frozenset({"name", "agent_name"})


@functools.lru_cache(maxsize=1024)  # building a model costs a millisecond; the same names recur
def field_name_problem(name: str) -> str | None:
    """Why ``name`` cannot name an extraction field, or None when it can.

    A name must be an identifier (letters, digits, underscores; no leading underscore), at most
    :data:`MAX_FIELD_NAME` characters, not one of :data:`RESERVED_FIELD_NAMES`, and must build a
    pydantic model without shadowing one of its attributes (``json``, ``copy``, ``model_dump``, ...).
    Scenario files check this at load time, before anything is paid for.

    Example:
        >>> field_name_problem("rating") is None
        True
        >>> field_name_problem("my field")
        "'my field' must be a valid identifier (letters, digits, underscores), e.g. 'my_field'"
    """
    if not isinstance(name, str):
        return f"a field name is text, not {type(name).__name__}"
    shown = repr(name) if len(name) <= 40 else repr(name[:39] + "…")
    if not name.isidentifier():
        suggestion = "_".join(part for part in "".join(c if c.isalnum() else " " for c in name).split())
        hint = f", e.g. {suggestion!r}" if suggestion.isidentifier() else ""
        return f"{shown} must be a valid identifier (letters, digits, underscores){hint}"
    if len(name) > MAX_FIELD_NAME:
        return f"{shown} is longer than {MAX_FIELD_NAME} characters"
    if name.startswith("_"):
        return f"{shown} must not start with an underscore"
    if name in RESERVED_FIELD_NAMES:
        return (f"{shown} is reserved: every results row has the columns "
                f"{', '.join(sorted(RESERVED_FIELD_NAMES))}; pick another name, e.g. '{name}_answer'")
    # Build the one-field model now, so that a name pydantic refuses or warns about (it would shadow a
    # model attribute) fails here and not when the results are extracted, after the run was paid for.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            definition: dict[str, Any] = {name: (str, Field(...))}
            create_model("Extraction", **definition)
        except Exception as exc:  # pydantic raises several types here; all mean "not usable"
            return f"{shown} cannot name a field: {exc}"
    if caught:
        return f"{shown} cannot name a field: it is the name of a pydantic model attribute; pick another name"
    return None


def _usable_choice(value: str) -> str:
    if not value.strip():
        raise ValueError("a choice must not be empty")
    return value


class FieldSpec(BaseModel):
    """One field to extract.

    Strict: ``maximum: true`` or ``minimum: "3"`` is an error, not 1 or 3, and bounds are finite.
    """

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)

    type: FieldType = "str"
    hint: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    choices: list[Annotated[str, AfterValidator(_usable_choice)]] | None = None

    @model_validator(mode="after")
    def _check(self) -> FieldSpec:
        if (self.minimum is not None or self.maximum is not None) and self.type not in ("int", "float"):
            raise ValueError(f"minimum/maximum apply to int and float fields, not {self.type}")
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise ValueError(f"minimum {self.minimum} is greater than maximum {self.maximum}")
        if self.choices is not None and self.type != "str":
            raise ValueError("choices apply to str fields only")
        if self.choices is not None and not self.choices:
            raise ValueError("choices must list at least one option")
        return self

    @property
    def type_label(self) -> str:
        if self.choices:
            return "one of: " + ", ".join(repr(c) for c in self.choices)
        label = {"str": "text", "int": "integer", "float": "number", "bool": "true or false",
                 "list[str]": "list of short texts"}[self.type]
        if self.minimum is not None or self.maximum is not None:
            label += f" from {self.minimum if self.minimum is not None else '-inf'}"
            label += f" to {self.maximum if self.maximum is not None else 'inf'}"
        return label


FieldsLike = Sequence[str] | Mapping[str, FieldSpec | str | Mapping[str, Any]]


def normalise_fields(fields: FieldsLike | None, hints: Mapping[str, str] | None = None) -> dict[str, FieldSpec]:
    """Turn a list of names, or a mapping of names to specs / type names / dicts, into FieldSpecs."""
    if fields is None or len(fields) == 0:
        fields = {"main_points": FieldSpec(type="list[str]", hint="the main points, one short sentence each")}
    out: dict[str, FieldSpec] = {}
    if isinstance(fields, Mapping):
        for name, spec in fields.items():
            if isinstance(spec, FieldSpec):
                out[name] = spec
            elif isinstance(spec, str):
                out[name] = FieldSpec.model_validate({"type": spec})
            else:
                out[name] = FieldSpec.model_validate(spec)
    else:
        if isinstance(fields, str):
            raise InvalidArgumentType(f"fields must be a list of names or a mapping, not the string {fields!r}")
        out = {str(name): FieldSpec() for name in fields}
    for name in out:
        problem = field_name_problem(name)
        if problem is not None:
            raise InvalidArgument(f"field name {problem}")
    for name, hint in (hints or {}).items():
        if name not in out:
            raise InvalidArgument(f"fields_hints names {name!r}, which is not among the fields {sorted(out)}")
        out[name] = out[name].model_copy(update={"hint": hint})
    return out


def is_agent_name_field(name: str, spec: FieldSpec) -> bool:
    """Whether ``name`` asks for the agent's own name (see :data:`AGENT_NAME_FIELDS`): a free-text
    field called ``name`` or ``agent_name`` with no hint. Extraction from an agent fills it in, not
    the model. A hint (``fields_hints={"name": "the product's name"}``) says the field is something
    else, so it is asked of the model like any other field; so is one with choices.

    Example:
        >>> is_agent_name_field("name", FieldSpec()), is_agent_name_field("product_name", FieldSpec())
        (True, False)
        >>> is_agent_name_field("name", FieldSpec(hint="the product's name"))
        False
    """
    return (name in AGENT_NAME_FIELDS and spec.type == "str" and not spec.choices
            and not (spec.hint and spec.hint.strip()))


def _not_a_bool(value: Any) -> Any:
    # pydantic's lax mode reads true as 1: a model answering true for a rating gave no number.
    if isinstance(value, bool):
        raise ValueError("expected a number, not true or false")
    return value


def extraction_model(fields: Mapping[str, FieldSpec | str]) -> type[BaseModel]:
    """A pydantic model with one required field per spec.

    Numbers are numbers: ``"7"`` becomes 7, while ``"seven"``, ``"7/10"``, ``7.5`` for an integer,
    ``true`` and ``"NaN"`` are rejected, so the client re-asks instead of guessing.

    Example:
        >>> extraction_model({"rating": "int"}).model_validate({"rating": "7"}).rating
        7
    """
    defs: dict[str, Any] = {}
    for name, raw in fields.items():
        spec = raw if isinstance(raw, FieldSpec) else FieldSpec.model_validate({"type": raw})
        py_type: Any = _PY_TYPES[spec.type]
        if spec.choices:
            py_type = Literal[tuple(spec.choices)]
        elif spec.type in ("int", "float"):
            py_type = Annotated[py_type, BeforeValidator(_not_a_bool)]
        constraints: dict[str, Any] = {}
        if spec.minimum is not None:
            constraints["ge"] = spec.minimum
        if spec.maximum is not None:
            constraints["le"] = spec.maximum
        if spec.type == "str" and not spec.choices:
            constraints["max_length"] = 2000
        defs[name] = (py_type, Field(..., description=spec.hint, **constraints))
    return create_model("Extraction", __config__=ConfigDict(allow_inf_nan=False), **defs)


__all__ = [
    "AGENT_NAME_FIELDS",
    "MAX_FIELD_NAME",
    "RESERVED_FIELD_NAMES",
    "FieldSpec",
    "FieldType",
    "FieldsLike",
    "extraction_model",
    "field_name_problem",
    "is_agent_name_field",
    "normalise_fields",
]
