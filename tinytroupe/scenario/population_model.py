"""A scenario's ``population:``: hand-made (names, a shared base, options drawn per person), drawn to
match census shares (``from_demographics``) or described in words (``factory``); checked when loaded.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from tinytroupe.agent.persona import persona_problems
from tinytroupe.scenario.model_base import _MAX_REPORTED, Loc, NonEmpty, _Located, _short, _Strict


class FactorySpec(_Strict):
    """A population described in words: one plan call turns ``description`` into dimensions, then
    one call writes each person (:class:`~tinytroupe.factory.TinyPersonFactory`)."""

    description: NonEmpty = Field(description="the sampling space, e.g. 'Adults in Porto who commute by bus'")
    size: int | None = Field(None, ge=1, le=10_000)


class Population(_Strict):
    """A population, in one of three forms:

    * hand-made: ``size`` people built from ``base`` with attributes drawn from ``sample``, named from
      ``names``; checked when loaded, as the people it makes would be (``base`` and every option in
      ``sample`` must give a valid persona, each sampled path must lead through objects in ``base``);
    * ``from_demographics``: a census file (CSV of joint cells or marginals, or YAML/JSON) next to
      the scenario, ``size`` people drawn to match it and written by the factory;
    * ``factory``: ``{description, size}``, a sampling space in words (one plan call, one per person).

    ``context``, ``seed`` (default: the scenario's) and ``detail`` apply to the two generated forms.
    """

    size: int | None = Field(None, ge=1, le=100_000)
    names: list[NonEmpty] | None = Field(None, min_length=1, description="first names; numbered when reused")
    base: dict[str, Any] = Field(default_factory=dict, description="persona fields everyone shares")
    sample: dict[str, list[Any]] = Field(default_factory=dict, description="field path -> options drawn per person")
    from_demographics: NonEmpty | None = Field(None, description="census shares file, relative to the scenario")
    factory: FactorySpec | None = None
    context: str | None = Field(None, description="what the generated people are for (generated forms)")
    seed: int | None = Field(None, description="the draws' seed (generated forms; default the scenario's)")
    detail: Literal["full", "brief"] | None = Field(None, description="persona schema: full, or brief for small models")

    @model_validator(mode="after")
    def _makes_valid_people(self) -> Population:
        problems = _form_problems(self) or (_population_problems(self) if not self.generated else [])
        if problems:
            raise _Located(problems)
        return self

    @property
    def generated(self) -> bool:
        """Whether the factory writes the people (``from_demographics`` or ``factory``)."""
        return self.from_demographics is not None or self.factory is not None

    @property
    def people(self) -> int:
        """How many people the population has."""
        size = self.size if self.size is not None else self.factory.size if self.factory is not None else None
        assert size is not None  # checked when validated
        return size

    def possible_names(self) -> set[str]:
        """Every name a member can get: each first name, and its numbered repeats (none known in
        advance for a generated population)."""
        if self.names is None:
            return set()
        rounds = -(-self.people // len(self.names))
        return {name if r == 1 else f"{name} {r}" for name in self.names for r in range(1, rounds + 1)}


def _form_problems(pop: Population) -> list[tuple[Loc, str]]:
    """One form of population at a time, with the fields that form needs."""
    forms = [k for k in ("from_demographics", "factory") if getattr(pop, k) is not None]
    if len(forms) > 1:
        return [(("factory",), "give either 'from_demographics' or 'factory', not both")]
    if not forms:
        problems: list[tuple[Loc, str]] = [((key,), "applies to a generated population only ('from_demographics' "
                                                   "or 'factory')") for key in ("context", "seed", "detail")
                                           if getattr(pop, key) is not None]
        if pop.names is None:
            problems.append(((), "a population needs 'names' (hand-made), 'from_demographics: <file>' or "
                                 "'factory: {description: ..., size: ...}'"))
        if pop.size is None:
            problems.append(((), "a hand-made population needs 'size'"))
        return problems
    problems = [((key,), f"does not apply with '{forms[0]}': the factory writes each person")
                for key in ("names", "base", "sample") if getattr(pop, key)]
    if pop.factory is not None and pop.factory.size is not None and pop.size is not None:
        problems.append((("factory", "size"), "give the size once: here or as population.size"))
    elif pop.size is None and (pop.factory is None or pop.factory.size is None):
        problems.append(((), "a generated population needs 'size' (how many people)"))
    return problems


def _population_problems(pop: Population) -> list[tuple[Loc, str]]:
    problems: list[tuple[Loc, str]] = []
    first_at: dict[str, int] = {}
    assert pop.names is not None  # a hand-made population, checked by _form_problems
    for j, name in enumerate(pop.names):
        if name in first_at:
            problems.append((("names", j), f"{_short(name)} is listed twice (also item {first_at[name]}); two "
                                           "people would get the same name"))
        first_at.setdefault(name, j)
    if "name" in pop.base:
        problems.append((("base", "name"), "each member is named from population.names; remove this"))
    paths: dict[str, list[str]] = {}
    for path, options in pop.sample.items():
        parts = path.split(".")
        if any(not part.strip() for part in parts):
            problems.append((("sample", path), "not a field path; write one like 'age' or 'occupation.title'"))
        elif parts[0] == "name":
            problems.append((("sample", path), "each member is named from population.names; remove this"))
        elif not options:
            problems.append((("sample", path), "no options to draw from; list at least one"))
        else:
            paths[path] = parts
    for path in paths:
        whole = next((other for other in paths if path.startswith(other + ".")), None)
        if whole is not None:
            problems.append((("sample", path), f"{whole!r} is sampled as a whole too; keep one of the two"))
    if problems:
        return problems
    # Every sampled path must lead through mappings of the base, as build_agents walks it.
    for path, parts in paths.items():
        node = pop.base
        for depth, part in enumerate(parts[:-1]):
            if part not in node:
                break
            if not isinstance(node[part], dict):
                where = ".".join(parts[: depth + 1])
                problems.append((("sample", path), f"population.base.{where} is {_short(node[part])}, not a "
                                                   f"mapping, so it has no field {parts[depth + 1]!r}"))
                break
            node = node[part]
    # The base on its own, and each option on its own at its path: persona fields are checked
    # independently, so this covers every member the draws can make, and stays linear in the file.
    problems += [(("base", *loc), message) for loc, message in persona_problems({**pop.base, "name": pop.names[0]})]
    for path, parts in paths.items():
        for i, option in enumerate(pop.sample[path]):
            single: dict[str, Any] = {"name": pop.names[0]}
            node = single
            for part in parts[:-1]:
                node = node.setdefault(part, {})
            node[parts[-1]] = option
            problems += [(("sample", path, i, *loc[len(parts):]), message)
                         for loc, message in persona_problems(single)]
            if len(problems) > _MAX_REPORTED:
                return problems
    return problems


__all__ = ["FactorySpec", "Population"]
