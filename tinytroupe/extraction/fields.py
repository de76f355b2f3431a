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

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

FieldType = Literal["str", "int", "float", "bool", "list[str]"]
_PY_TYPES: dict[str, Any] = {"str": str, "int": int, "float": float, "bool": bool, "list[str]": list[str]}


class FieldSpec(BaseModel):
    """One field to extract."""

    model_config = ConfigDict(extra="forbid")

    type: FieldType = "str"
    hint: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    choices: list[str] | None = None

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
                out[name] = FieldSpec(type=spec)
            else:
                out[name] = FieldSpec.model_validate(spec)
    else:
        if isinstance(fields, str):
            raise TypeError(f"fields must be a list of names or a mapping, not the string {fields!r}")
        out = {str(name): FieldSpec() for name in fields}
    for name in out:
        if not name.isidentifier():
            raise ValueError(f"field name {name!r} must be a valid identifier (letters, digits, underscores)")
    for name, hint in (hints or {}).items():
        if name not in out:
            raise ValueError(f"fields_hints names {name!r}, which is not among the fields {sorted(out)}")
        out[name] = out[name].model_copy(update={"hint": hint})
    return out


def extraction_model(fields: Mapping[str, FieldSpec | str]) -> type[BaseModel]:
    """A pydantic model with one required field per spec."""
    defs: dict[str, Any] = {}
    for name, raw in fields.items():
        spec = raw if isinstance(raw, FieldSpec) else FieldSpec(type=raw)
        py_type: Any = _PY_TYPES[spec.type]
        if spec.choices:
            py_type = Literal[tuple(spec.choices)]
        constraints: dict[str, Any] = {}
        if spec.minimum is not None:
            constraints["ge"] = spec.minimum
        if spec.maximum is not None:
            constraints["le"] = spec.maximum
        if spec.type == "str" and not spec.choices:
            constraints["max_length"] = 2000
        defs[name] = (py_type, Field(..., description=spec.hint, **constraints))
    return create_model("Extraction", **defs)


__all__ = ["FieldSpec", "FieldType", "FieldsLike", "extraction_model", "normalise_fields"]
