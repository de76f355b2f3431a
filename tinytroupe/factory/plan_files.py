"""Sampling plans given as data: a :class:`SamplingPlan`, a mapping, a joint table, or a file.

Files: ``.yaml``/``.yml``/``.json`` hold a plan (``dimensions:`` and optionally ``description:``,
as :class:`~tinytroupe.factory.plan.SamplingPlan` reads it, TinyTroupe's shapes included) or
per-dimension shares (``marginals: {sex: {female: 0.51, male: 0.49}}``); ``.csv`` holds target shares
(:mod:`tinytroupe.factory.shares_csv`). A mistake is reported with the file, line and field.

Example:
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "plan.yaml"
    >>> _ = path.write_text("dimensions:\\n  - name: diet\\n    values: {omnivore: 3, vegan: 1}\\n")
    >>> load_plan(path).targets()
    {'diet': {'omnivore': 0.75, 'vegan': 0.25}}
"""

from __future__ import annotations

from collections.abc import Mapping
from os import PathLike
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from tinytroupe.errors import InvalidArgumentType, ScenarioError
from tinytroupe.factory.cells import JointDistribution, Problem, check_marginals, raise_problems
from tinytroupe.factory.plan import SamplingPlan
from tinytroupe.factory.shares_csv import read_shares_csv
from tinytroupe.safe_load import SCENARIO_LIMITS, InputProblem, load_yaml, read_text, yaml_node_line

PlanLike = SamplingPlan | JointDistribution | Mapping[str, Any] | str | PathLike[str]
_PLAN_SUFFIXES = (".yaml", ".yml", ".json")


def _problems(exc: ValidationError) -> list[tuple[tuple[Any, ...], str]]:
    out = []
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        message = err["msg"].removeprefix("Value error, ")
        out.append((loc, message))
    return out


def plan_from_mapping(data: Mapping[str, Any], *, source: str | None = None, root: Any = None) -> SamplingPlan:
    """A plan from plain data: ``{"dimensions": [...]}`` or ``{"marginals": {...}}``.

    Raises:
        InvalidArgument: (data given in code) the data is not a valid plan; the message names each field.
        ScenarioError: (``source`` given) the same, naming the file and line.
    """
    if set(data) == {"marginals"}:
        marginals = data["marginals"]
        if not isinstance(marginals, Mapping):
            raise_problems([Problem("expected a mapping of dimensions to {value: share}", "marginals",
                                    yaml_node_line(root, ("marginals",)))], source=source, what="sampling plan")
        problems = [Problem(p.message, f"marginals.{p.field}",
                            yaml_node_line(root, ("marginals", *p.field.split(".", 1))))
                    for p in check_marginals(marginals)]
        raise_problems(problems, source=source, what="sampling plan")
        return SamplingPlan.from_marginals(marginals)
    try:
        return SamplingPlan.model_validate(dict(data))
    except ValidationError as exc:
        found = [Problem(message, ".".join(map(str, loc)) or "(top level)", yaml_node_line(root, loc))
                 for loc, message in _problems(exc)]
        raise_problems(found, source=source, what="sampling plan")
        raise AssertionError("unreachable: a ValidationError has at least one problem") from exc


def load_plan(path: str | PathLike[str]) -> SamplingPlan:
    """A plan from a ``.yaml``/``.yml``/``.json`` plan file or a ``.csv`` shares file.

    Raises:
        ScenarioError: the file is missing, unreadable or invalid (naming file, line and field), or
            its suffix is none of those.
    """
    p, source = Path(path), str(path)
    suffix = p.suffix.casefold()
    if suffix == ".csv":
        shares = read_shares_csv(p)
        return SamplingPlan.from_joint(shares) if isinstance(shares, JointDistribution) else \
            SamplingPlan.from_marginals(shares)
    if suffix not in _PLAN_SUFFIXES:
        raise ScenarioError(f"{source}: a sampling plan is a .yaml, .yml, .json or .csv file", path=source)
    try:
        data, root = load_yaml(read_text(p, SCENARIO_LIMITS), SCENARIO_LIMITS)
    except FileNotFoundError:
        raise ScenarioError(f"{source}: no such file", path=source) from None
    except InputProblem as problem:
        at = f"{source}:{problem.line}" if problem.line else source
        raise ScenarioError(f"{at}: {problem.reason}", path=source, line=problem.line) from None
    if not isinstance(data, Mapping):
        raise ScenarioError(f"{source}:1: a sampling plan file holds a mapping with 'dimensions' (or 'marginals')",
                            path=source, line=1)
    return plan_from_mapping(data, source=source, root=root)


def coerce_plan(plan: PlanLike) -> SamplingPlan:
    """``plan`` as a :class:`SamplingPlan` (a file path is read with :func:`load_plan`).

    Raises:
        InvalidArgumentType: ``plan`` is none of the accepted kinds.
        InvalidArgument: a mapping that is not a valid plan.
        ScenarioError: a file that is missing or invalid.
    """
    if isinstance(plan, SamplingPlan):
        return plan
    if isinstance(plan, JointDistribution):
        return SamplingPlan.from_joint(plan)
    if isinstance(plan, Mapping):
        return plan_from_mapping(plan)
    if isinstance(plan, str | PathLike):
        return load_plan(plan)
    raise InvalidArgumentType(f"a sampling plan is a SamplingPlan, a JointDistribution, a mapping or a file path, "
                              f"got {type(plan).__name__}")


__all__ = ["PlanLike", "coerce_plan", "load_plan", "plan_from_mapping"]
