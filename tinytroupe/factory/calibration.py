"""How close a population is to its targets: a :class:`CalibrationReport`.

For each categorical dimension of the plan, the share of people with each value is compared with the
target share; a dimension's *marginal error* is the largest absolute difference over its values (a
value nobody was meant to have counts with target 0). When the plan has joint cells, the *joint
error* is the total variation distance between the cells' target shares and the population's
(half the sum of absolute differences: the share of people who would have to change cell). Numeric
dimensions have no shares to compare and are not in the report.

Example:
    >>> from tinytroupe.factory.plan import SamplingPlan
    >>> plan = SamplingPlan.from_marginals({"sex": {"female": 0.5, "male": 0.5}})
    >>> report = calibration_report([{"sex": "female"}] * 3 + [{"sex": "male"}], plan)
    >>> report.max_marginal_error, report.marginal_errors
    (0.25, {'sex': 0.25})
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict

from tinytroupe.errors import InvalidArgument
from tinytroupe.factory.plan import SamplingPlan, Value


class ShareRow(BaseModel):
    """One value of one dimension: its target share, the share observed, and the difference."""

    model_config = ConfigDict(frozen=True)

    dimension: str
    value: Value
    target: float
    observed: float
    error: float


class CalibrationReport(BaseModel):
    """Marginal and joint errors of a population against its sampling plan (see the module docstring)."""

    model_config = ConfigDict(frozen=True)

    population_size: int
    #: per categorical dimension: the largest |observed share - target share| over its values
    marginal_errors: dict[str, float]
    #: the largest of :attr:`marginal_errors` (0 when the plan has no categorical dimension)
    max_marginal_error: float
    #: total variation distance over the joint cells; None when the plan has no joint table
    joint_total_variation: float | None = None
    rows: list[ShareRow]

    def to_dataframe(self) -> pd.DataFrame:
        """One row per dimension and value: ``dimension``, ``value``, ``target``, ``observed``, ``error``."""
        return pd.DataFrame([r.model_dump() for r in self.rows],
                            columns=["dimension", "value", "target", "observed", "error"])

    def summary(self) -> str:
        """A few lines for people: the size, the worst dimension, the joint error.

        Example:
            >>> CalibrationReport(population_size=4, marginal_errors={"sex": 0.25}, max_marginal_error=0.25,
            ...                   rows=[]).summary()
            '4 people; largest marginal error 0.2500 (sex)'
        """
        text = f"{self.population_size} people; largest marginal error {self.max_marginal_error:.4f}"
        if self.marginal_errors:
            text += f" ({max(self.marginal_errors, key=lambda d: self.marginal_errors[d])})"
        if self.joint_total_variation is not None:
            text += f"; joint total variation {self.joint_total_variation:.4f}"
        return text


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value  # numpy scalars from pandas to Python's


def _observed(frame: pd.DataFrame, columns: list[str]) -> dict[Any, float]:
    """Each value (one column) or combination of values (several) and its share of ``frame``'s rows."""
    if frame.empty:
        return {}
    counts = frame.groupby(columns, sort=False, dropna=False).size() / len(frame)
    keys = [tuple(map(_plain, k)) if isinstance(k, tuple) else (_plain(k),) for k in counts.index]
    return {(k if len(columns) > 1 else k[0]): float(v) for k, v in zip(keys, counts.tolist(), strict=True)}


def calibration_report(population: Sequence[Mapping[str, Any]] | pd.DataFrame, plan: SamplingPlan) -> CalibrationReport:
    """Compare ``population`` (one mapping of characteristics per person, or a DataFrame with a column
    per dimension) with ``plan``'s targets.

    Raises:
        InvalidArgument: a dimension of the plan is missing from the population.
    """
    frame = population if isinstance(population, pd.DataFrame) else pd.DataFrame(list(population))
    targets = plan.targets()
    missing = [d for d in targets if d not in frame.columns] if len(frame) else []
    if missing:
        raise InvalidArgument(f"the population has no {', '.join(map(repr, missing))} characteristic(s) to compare "
                              "with the plan; pass the characteristics drawn for each person")
    rows: list[ShareRow] = []
    errors: dict[str, float] = {}
    for dim, shares in targets.items():
        observed = _observed(frame, [dim])
        values = list(shares) + [v for v in observed if v not in shares]
        dim_rows = [ShareRow(dimension=dim, value=v, target=shares.get(v, 0.0), observed=float(observed.get(v, 0.0)),
                             error=abs(float(observed.get(v, 0.0)) - shares.get(v, 0.0))) for v in values]
        rows += dim_rows
        errors[dim] = max((r.error for r in dim_rows), default=0.0)
    joint_tv = None
    if plan.joint is not None:
        target_cells = plan.joint.shares()
        observed_cells = _observed(frame, list(plan.joint.dimensions))
        keys = set(target_cells) | set(observed_cells)
        joint_tv = 0.5 * sum(abs(observed_cells.get(k, 0.0) - target_cells.get(k, 0.0)) for k in keys)
    return CalibrationReport(population_size=len(frame), marginal_errors=errors,
                             max_marginal_error=max(errors.values(), default=0.0), joint_total_variation=joint_tv,
                             rows=rows)


__all__ = ["CalibrationReport", "ShareRow", "calibration_report"]
