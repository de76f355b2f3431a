"""A sampling plan: the dimensions a population varies along, and how each is distributed.

A plan has independent :class:`Dimension` s (categorical ones with weighted options, numeric ones
with a range) and, optionally, a :class:`~tinytroupe.factory.cells.JointDistribution` for
dimensions whose combinations are given (a census cross-table). It is made once, by one LLM call
(:mod:`tinytroupe.factory.planner`) or given as data, and people's characteristics are then drawn
from it by code (:mod:`tinytroupe.factory.sampling`). Each dimension writes its drawn value at a
persona path (its ``field``; by default one derived from its name, see
:mod:`tinytroupe.factory.characteristics`).

TinyTroupe's shapes are accepted: ``"values"`` as a list (equal weights) or a ``{value: weight}``
mapping, ``"range"`` as ``[min, max]``, and its ``sampling_space_description`` key.

Example:
    >>> plan = SamplingPlan.model_validate({"dimensions": [
    ...     {"name": "age", "range": [18, 80]},
    ...     {"name": "diet", "values": {"omnivore": 3, "vegetarian": 1}}]})
    >>> plan.dimensions[1].shares()
    {'omnivore': 0.75, 'vegetarian': 0.25}
    >>> plan.fields()
    {'age': 'age', 'diet': 'characteristics.diet'}
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, model_validator

from tinytroupe.factory.cells import SHARE_TOLERANCE, JointDistribution, check_marginals, raise_problems
from tinytroupe.factory.characteristics import default_fields, field_problem

Value = str | int | float
#: most options one categorical dimension may have
MAX_OPTIONS = 200


class Option(BaseModel):
    """One value of a categorical dimension and its weight (weights are relative: 3 and 1 mean 75% and 25%)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    value: Value
    weight: float = Field(1.0, ge=0.0, allow_inf_nan=False)

    @model_validator(mode="after")
    def _usable(self) -> Option:
        if isinstance(self.value, str) and not self.value.strip():
            raise ValueError("an option's value cannot be empty")
        if isinstance(self.value, float) and not math.isfinite(self.value):
            raise ValueError(f"an option's value must be finite, got {self.value}")
        return self


class NumericRange(BaseModel):
    """A numeric dimension's range, both ends included; ``integer`` draws whole numbers."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    min: float = Field(allow_inf_nan=False)
    max: float = Field(allow_inf_nan=False)
    integer: bool = True

    @model_validator(mode="after")
    def _ordered(self) -> NumericRange:
        if self.min > self.max:
            raise ValueError(f"a range's min ({self.min:g}) is above its max ({self.max:g})")
        if self.integer and math.ceil(self.min) > math.floor(self.max):
            raise ValueError(f"the range {self.min:g}..{self.max:g} holds no whole number; set integer: false")
        return self


class Dimension(BaseModel):
    """One way people of the population differ: ``values`` (categorical) or ``range`` (numeric).

    ``field`` is the persona path the drawn value is written to (None: derived from ``name``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    description: str = ""
    values: tuple[Option, ...] | None = Field(None, max_length=MAX_OPTIONS)
    range: NumericRange | None = None
    field: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _tinytroupe_shapes(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        data = dict(data)
        if data.get("range") is not None and data.get("values") in ([], ()):
            del data["values"]  # a numeric dimension written with an empty list of values (the plan call's shape)
        values = data.get("values")
        if isinstance(values, Mapping):
            data["values"] = [{"value": v, "weight": w} for v, w in values.items()]
        elif isinstance(values, list | tuple):
            data["values"] = [v if isinstance(v, Mapping | Option) else {"value": v} for v in values]
        span = data.get("range")
        if isinstance(span, list | tuple) and len(span) == 2:
            low, high = span
            whole = all(isinstance(x, int) and not isinstance(x, bool) for x in span)
            data["range"] = {"min": low, "max": high, "integer": whole}
        return data

    @model_validator(mode="after")
    def _one_kind(self) -> Dimension:
        if not self.name.strip():
            raise ValueError("a dimension's name cannot be blank")
        if (self.values is None) == (self.range is None):
            raise ValueError(f"dimension {self.name!r} needs either 'values' (categorical) or 'range' (numeric), "
                             "not both and not neither")
        if self.values is not None:
            if not self.values:
                raise ValueError(f"dimension {self.name!r} has no values")
            seen = [o.value for o in self.values]
            dupes = sorted({str(v) for v in seen if seen.count(v) > 1})
            if dupes:
                raise ValueError(f"dimension {self.name!r} lists these values twice: {', '.join(dupes)}")
            if sum(o.weight for o in self.values) <= 0:
                raise ValueError(f"dimension {self.name!r}: the weights sum to 0; give at least one a positive weight")
        return self

    @property
    def kind(self) -> Literal["categorical", "numeric"]:
        """``categorical`` (drawn from ``values``) or ``numeric`` (drawn from ``range``)."""
        return "categorical" if self.values is not None else "numeric"

    def shares(self) -> dict[Value, float]:
        """Each value's share (the weights scaled to sum to one); empty for a numeric dimension."""
        if self.values is None:
            return {}
        total = sum(o.weight for o in self.values)
        return {o.value: o.weight / total for o in self.values}

    def examples(self) -> list[Value]:
        """Values of each type this dimension can draw, and a numeric range's ends (to check that its
        persona path takes them)."""
        if self.values is not None:
            by_type: dict[type, Value] = {}
            for option in self.values:
                by_type.setdefault(type(option.value), option.value)
            return list(by_type.values())
        assert self.range is not None
        if self.range.integer:
            return [math.ceil(self.range.min), math.floor(self.range.max)]
        return [self.range.min, self.range.max]


class SamplingPlan(BaseModel):
    """The dimensions of a population and how each is distributed (see the module docstring).

    Raises (on validation, as pydantic's ``ValidationError``; the factory and the loaders turn it into
    :class:`~tinytroupe.errors.InvalidArgument` or :class:`~tinytroupe.errors.ScenarioError`): a dimension
    named twice, two dimensions writing the same persona path, or a path that cannot hold the values.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    description: str = Field("", validation_alias=AliasChoices("description", "sampling_space_description"))
    dimensions: tuple[Dimension, ...] = ()
    joint: JointDistribution | None = None
    #: persona paths of the joint table's dimensions (None or a missing name: derived from the name)
    joint_fields: dict[str, str] | None = None

    @model_validator(mode="after")
    def _coherent(self) -> SamplingPlan:
        names = self.dimension_names()
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"these dimensions are defined twice: {', '.join(dupes)}")
        unknown = sorted(set(self.joint_fields or {}) - set(self.joint.dimensions if self.joint else ()))
        if unknown:
            raise ValueError(f"joint_fields names {', '.join(unknown)}, not dimensions of the joint table")
        fields = self.fields()
        paths = list(fields.values())
        clashes = sorted({p for p in paths if paths.count(p) > 1})
        if clashes:
            raise ValueError(f"several dimensions write the persona path(s) {', '.join(clashes)}; give them "
                             "different 'field's")
        examples = self._examples()
        for name, path in fields.items():
            why = field_problem(path, examples[name])
            if why is not None:
                raise ValueError(f"dimension {name!r} writes persona path {path!r}, which cannot hold its "
                                 f"values: {why}")
        return self

    def _examples(self) -> dict[str, list[Value]]:
        out: dict[str, list[Value]] = {}
        if self.joint is not None:
            for dim, shares in self.joint.marginals().items():
                out[dim] = [next(iter(shares))]
        for d in self.dimensions:
            out[d.name] = d.examples()
        return out

    def dimension_names(self) -> list[str]:
        """Every dimension's name: the joint table's first, then the independent ones."""
        return [*(self.joint.dimensions if self.joint else ()), *(d.name for d in self.dimensions)]

    def fields(self) -> dict[str, str]:
        """The persona path each dimension's drawn value is written to."""
        explicit = {d.name: d.field for d in self.dimensions if d.field}
        explicit.update(self.joint_fields or {})
        examples = self._examples()
        return default_fields(((n, examples[n]) for n in self.dimension_names()), explicit)

    def targets(self) -> dict[str, dict[Value, float]]:
        """The intended share of each value of each categorical dimension (what calibration is measured against)."""
        out: dict[str, dict[Value, float]] = {}
        if self.joint is not None:
            for dim, shares in self.joint.marginals().items():
                out[dim] = {value: share for value, share in shares.items()}
        out.update({d.name: d.shares() for d in self.dimensions if d.kind == "categorical"})
        return out

    def merged(self, other: SamplingPlan) -> SamplingPlan:
        """This plan plus ``other``'s dimensions that this one does not already have (by name or path).

        Example:
            >>> a = SamplingPlan.from_marginals({"sex": {"female": 0.5, "male": 0.5}})
            >>> b = SamplingPlan.model_validate({"dimensions": [{"name": "Gender", "values": ["f", "m"]},
            ...                                                  {"name": "hobby", "values": ["chess"]}]})
            >>> [d.name for d in a.merged(b).dimensions]
            ['sex', 'hobby']
        """
        names = {n.casefold() for n in self.dimension_names()}
        paths = set(self.fields().values())
        extra: list[Dimension] = []
        for d in other.dimensions:
            # the path the dimension would write on its own: a synonym of a dimension here writes the same
            path = d.field or default_fields([(d.name, d.examples())])[d.name]
            if d.name.casefold() not in names and path not in paths:
                extra.append(d)
                names.add(d.name.casefold())
                paths.add(path)
        description = "\n\n".join(t for t in (self.description, other.description) if t)
        return SamplingPlan(description=description, dimensions=(*self.dimensions, *extra), joint=self.joint,
                            joint_fields=self.joint_fields)

    @classmethod
    def from_marginals(cls, marginals: Mapping[str, Mapping[Any, float]], *, tolerance: float = SHARE_TOLERANCE,
                       fields: Mapping[str, str] | None = None) -> SamplingPlan:
        """A plan of independent categorical dimensions with the given shares (each dimension's
        shares must sum to one within ``tolerance``).

        Raises:
            InvalidArgument: a share is negative or not a number, or a dimension's shares do not sum to one.

        Example:
            >>> SamplingPlan.from_marginals({"sex": {"female": 0.52, "male": 0.48}}).targets()
            {'sex': {'female': 0.52, 'male': 0.48}}
        """
        raise_problems(check_marginals(marginals, tolerance), source=None, what="marginal shares")
        fields = dict(fields or {})
        dims = [{"name": dim, "values": [{"value": v, "weight": s} for v, s in shares.items()],
                 **({"field": fields[dim]} if dim in fields else {})} for dim, shares in marginals.items()]
        return cls.model_validate({"dimensions": dims})

    @classmethod
    def from_joint(cls, joint: JointDistribution, *, fields: Mapping[str, str] | None = None) -> SamplingPlan:
        """A plan whose people are drawn from the cells of ``joint`` (see :mod:`tinytroupe.factory.shares_csv`)."""
        return cls(joint=joint, joint_fields=dict(fields) if fields else None)


__all__ = ["MAX_OPTIONS", "Dimension", "NumericRange", "Option", "SamplingPlan", "Value"]
