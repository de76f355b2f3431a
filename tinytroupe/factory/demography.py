"""What ``TinyPersonFactory.create_factory_from_demography`` makes of its demography argument.

* target shares (a ``.csv`` file, or a mapping / ``.yaml`` / ``.json`` file with ``marginals`` or
  ``dimensions``): the plan is that data, and people are drawn to match it (calibration); with an
  ``additional_demographic_specification`` one LLM call adds the dimensions it asks for;
* any other mapping or JSON file (TinyTroupe's free-form demography files, such as its
  ``usa.json``): it is put in a description for the one plan call, which is asked to keep its
  proportions (see ``prompts/demography.j2``).

Example:
    >>> description, plan = demography_inputs({"marginals": {"sex": {"female": 0.5, "male": 0.5}}})
    >>> description, plan.targets()
    (None, {'sex': {'female': 0.5, 'male': 0.5}})
    >>> description, plan = demography_inputs({"country": "Portugal", "median_age": 46})
    >>> plan is None and '"median_age": 46' in description
    True
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from os import PathLike
from pathlib import Path
from typing import Any

from tinytroupe.errors import InvalidArgumentType, ScenarioError
from tinytroupe.factory.plan import SamplingPlan
from tinytroupe.factory.plan_files import load_plan, plan_from_mapping
from tinytroupe.factory.prompts import template
from tinytroupe.safe_load import SCENARIO_LIMITS, InputProblem, load_json, read_text

Demography = Mapping[str, Any] | str | PathLike[str]


def _is_plan(data: Mapping[str, Any]) -> bool:
    keys = set(data)
    return keys == {"marginals"} or ("dimensions" in keys and keys <= {"dimensions", "description",
                                                                       "sampling_space_description", "joint",
                                                                       "joint_fields"})


def _read_json(path: Path) -> Any:
    source = str(path)
    try:
        return load_json(read_text(path, SCENARIO_LIMITS), SCENARIO_LIMITS)
    except FileNotFoundError:
        raise ScenarioError(f"{source}: no such file", path=source) from None
    except InputProblem as problem:
        at = f"{source}:{problem.line}" if problem.line else source
        raise ScenarioError(f"{at}: {problem.reason}", path=source, line=problem.line) from None


def describe_demography(data: Mapping[str, Any], additional: str | None = None) -> str:
    """The plan call's description of a free-form demography (TinyTroupe's demography files)."""
    return template("demography.j2").render(additional=additional or "",
                                            data=json.dumps(data, indent=2, ensure_ascii=False))


def demography_inputs(demography: Demography, additional: str | None = None) -> tuple[str | None, SamplingPlan | None]:
    """``(sampling space description, sampling plan)`` for a factory of ``demography`` (see the module docstring).

    Raises:
        InvalidArgumentType: ``demography`` is neither a mapping nor a file path.
        ScenarioError: the file is missing or invalid (naming file, line and field).
        InvalidArgument: a mapping of target shares that is not valid.
    """
    if isinstance(demography, Mapping):
        if _is_plan(demography):
            return additional, plan_from_mapping(demography)
        return describe_demography(demography, additional), None
    if not isinstance(demography, str | PathLike):
        raise InvalidArgumentType("demography_description_or_file_path must be a mapping or a file path, got "
                                  f"{type(demography).__name__}")
    path = Path(demography)
    if path.suffix.casefold() in (".csv", ".yaml", ".yml"):
        return additional, load_plan(path)
    data = _read_json(path)
    if not isinstance(data, Mapping):
        raise ScenarioError(f"{path}:1: a demography file holds a JSON object", path=str(path), line=1)
    if _is_plan(data):
        return additional, load_plan(path)
    return describe_demography(data, additional), None


__all__ = ["Demography", "demography_inputs", "describe_demography"]
