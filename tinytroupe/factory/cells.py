"""Target shares of a population as data: joint cells over several dimensions, and marginals.

A :class:`JointDistribution` says which share of the population falls in each combination of
values (``sex=female, age=25-34, education=tertiary: 0.061``); marginals say it per dimension
(``sex: female 0.51, male 0.49``). Shares are fractions of one: they must not be negative and must
sum to one within :data:`SHARE_TOLERANCE` (rounded census tables rarely sum to exactly one; the
small difference is spread proportionally when drawing). Problems are collected and reported
together (:class:`Problem`): :mod:`tinytroupe.factory.shares_csv` names the file, line and column.

Example:
    >>> joint = JointDistribution(dimensions=("sex", "age"), cells=(
    ...     Cell(values=("female", "young"), share=0.3), Cell(values=("female", "old"), share=0.2),
    ...     Cell(values=("male", "young"), share=0.5)))
    >>> joint.marginals()
    {'sex': {'female': 0.5, 'male': 0.5}, 'age': {'young': 0.8, 'old': 0.2}}
    >>> check_marginals({"sex": {"female": 0.6, "male": 0.5}})[0].message
    'the shares sum to 1.1, not 1 (tolerance ±0.001)'
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from tinytroupe.errors import InvalidArgument, ScenarioError

#: how far from one the shares of a table (or of one dimension's marginal) may sum
SHARE_TOLERANCE = 1e-3
#: most problems listed in one error (the rest are counted)
MAX_PROBLEMS = 20


@dataclass(frozen=True)
class Problem:
    """One thing wrong with target shares: where (``line`` in a file, or None) in which ``field``."""

    message: str
    field: str
    line: int | None = None


def raise_problems(problems: Sequence[Problem], *, source: str | None, what: str) -> None:
    """One error listing ``problems``: a :class:`ScenarioError` naming the file ``source`` (its first
    problem's line and field as attributes), or an :class:`InvalidArgument` for data given in code."""
    if not problems:
        return
    lines = []
    for p in problems[:MAX_PROBLEMS]:
        if source is not None:
            at = f"{source}:{p.line}" if p.line is not None else source
            lines.append(f"{at}: {p.field}: {p.message}")
        else:
            lines.append(f"{p.field}: {p.message}")
    if len(problems) > MAX_PROBLEMS:
        lines.append(f"... and {len(problems) - MAX_PROBLEMS} more problems")
    message = f"invalid {what}:\n" + "\n".join(lines)
    if source is not None:
        raise ScenarioError(message, path=source, line=problems[0].line, field=problems[0].field)
    raise InvalidArgument(message)


def share_problem(value: Any) -> str | None:
    """Why ``value`` is not a share (a finite number from zero up), or None.

    Example:
        >>> share_problem(-0.1), share_problem("0.2"), share_problem(0.2)
        ('a share cannot be negative, got -0.1', "a share is a number, got '0.2'", None)
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        hint = " (write 12% as 0.12)" if isinstance(value, str) and value.strip().endswith("%") else ""
        return f"a share is a number, got {value!r}{hint}"
    if not math.isfinite(value):
        return f"a share must be a finite number, got {value}"
    if value < 0:
        return f"a share cannot be negative, got {value}"
    return None


def sum_problem(total: float, tolerance: float) -> str | None:
    """Why shares summing to ``total`` are not a distribution, or None when they sum to one.

    Example:
        >>> sum_problem(100.0, 1e-3)
        'the shares sum to 100, not 1: write them as fractions (divide percentages by 100)'
    """
    if abs(total - 1.0) <= tolerance:
        return None
    if abs(total - 100.0) <= 100.0 * tolerance:
        return "the shares sum to 100, not 1: write them as fractions (divide percentages by 100)"
    return f"the shares sum to {total:.6g}, not 1 (tolerance ±{tolerance:g})"


def check_marginals(marginals: Mapping[str, Mapping[Any, Any]], tolerance: float = SHARE_TOLERANCE) -> list[Problem]:
    """What is wrong with per-dimension shares ``{dimension: {value: share}}`` (empty: nothing)."""
    problems: list[Problem] = []
    if not marginals:
        problems.append(Problem("no dimensions given", "marginals"))
    for dim, shares in marginals.items():
        if not isinstance(dim, str) or not dim.strip():
            problems.append(Problem(f"a dimension name is a non-empty text, got {dim!r}", "marginals"))
            continue
        if not isinstance(shares, Mapping) or not shares:
            problems.append(Problem("expected a non-empty mapping of values to shares", dim))
            continue
        bad = [(v, why) for v, s in shares.items() if (why := share_problem(s)) is not None]
        problems += [Problem(why, f"{dim}.{v}") for v, why in bad]
        if not bad and (why := sum_problem(float(sum(shares.values())), tolerance)) is not None:
            problems.append(Problem(why, dim))
    return problems


class Cell(BaseModel):
    """One combination of values (one per dimension of its :class:`JointDistribution`) and its share."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    values: tuple[str, ...]
    share: float = Field(ge=0.0, allow_inf_nan=False)


class JointDistribution(BaseModel):
    """Shares of the population per combination of values of ``dimensions`` (absent combinations: 0).

    Build it from a CSV file (:func:`tinytroupe.factory.shares_csv.read_shares_csv`), a DataFrame
    (:meth:`from_dataframe`) or directly. Validation (pydantic) checks that dimension names are
    unique, each cell has one value per dimension, no cell is listed twice and the shares sum to one
    within :data:`SHARE_TOLERANCE`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    dimensions: tuple[str, ...] = Field(min_length=1)
    cells: tuple[Cell, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> JointDistribution:
        problems = cell_problems(self.dimensions, [(c.values, c.share) for c in self.cells], SHARE_TOLERANCE)
        if problems:
            raise ValueError("; ".join(f"{p.field}: {p.message}" for p in problems[:MAX_PROBLEMS]))
        return self

    def shares(self) -> dict[tuple[str, ...], float]:
        """Each cell's share, scaled so that they sum to exactly one."""
        total = sum(c.share for c in self.cells)
        return {c.values: c.share / total for c in self.cells}

    def marginals(self) -> dict[str, dict[str, float]]:
        """Each dimension's shares (the cells summed over the other dimensions), values in first-seen order."""
        out: dict[str, dict[str, float]] = {d: {} for d in self.dimensions}
        for values, share in self.shares().items():
            for dim, value in zip(self.dimensions, values, strict=True):
                out[dim][value] = out[dim].get(value, 0.0) + share
        return {d: {v: round(s, 12) for v, s in shares.items()} for d, shares in out.items()}

    def to_dataframe(self) -> pd.DataFrame:
        """One row per cell: a column per dimension, then ``share``."""
        rows = [(*c.values, c.share) for c in self.cells]
        return pd.DataFrame(rows, columns=[*self.dimensions, "share"])

    @classmethod
    def from_dataframe(cls, frame: pd.DataFrame, *, share_column: str = "share",
                       tolerance: float = SHARE_TOLERANCE) -> JointDistribution:
        """Cells from a DataFrame with a column per dimension and a ``share_column``.

        Raises:
            InvalidArgument: a missing share column, a bad share, an empty value, a duplicate cell,
                or shares that do not sum to one (all problems listed, by row index and column).

        Example:
            >>> frame = pd.DataFrame({"sex": ["female", "male"], "share": [0.5, 0.5]})
            >>> JointDistribution.from_dataframe(frame).marginals()
            {'sex': {'female': 0.5, 'male': 0.5}}
        """
        if share_column not in frame.columns:
            raise InvalidArgument(f"the DataFrame has no {share_column!r} column; its columns are: "
                                  f"{', '.join(map(str, frame.columns))}")
        columns = [c for c in frame.columns if c != share_column]
        rows = [(tuple("" if pd.isna(v) else str(v).strip() for v in row[:-1]),
                 row[-1].item() if hasattr(row[-1], "item") else row[-1])  # numpy scalars to Python's
                for row in frame[[*columns, share_column]].itertuples(index=False, name=None)]
        dims = tuple(str(c) for c in columns)
        raise_problems(cell_problems(dims, rows, tolerance), source=None, what="joint shares")
        return cls.normalised(dims, rows)

    @classmethod
    def normalised(cls, dimensions: Sequence[str], rows: Sequence[tuple[Sequence[str], float]]) -> JointDistribution:
        """Cells from checked ``(values, share)`` rows (see :func:`cell_problems`), their shares scaled to sum
        to exactly one (so a table accepted with a wider tolerance than :data:`SHARE_TOLERANCE` validates)."""
        total = float(sum(share for _, share in rows))
        return cls(dimensions=tuple(dimensions),
                   cells=tuple(Cell(values=tuple(v), share=float(s) / total) for v, s in rows))


def cell_problems(dimensions: Sequence[str], rows: Sequence[tuple[Sequence[str], Any]],
                  tolerance: float, lines: Sequence[int] | None = None) -> list[Problem]:
    """What is wrong with joint cells ``rows`` of ``(values, share)`` (``lines``: each row's line in its
    file, for messages; else rows are named by position)."""
    problems: list[Problem] = []
    if len(set(dimensions)) != len(dimensions):
        dupes = sorted({d for d in dimensions if list(dimensions).count(d) > 1})
        problems.append(Problem(f"dimension names must be unique; repeated: {', '.join(dupes)}", "dimensions", 1))
    if not rows:
        problems.append(Problem("no cells: give at least one combination of values and its share", "share"))
    seen: dict[tuple[str, ...], int] = {}
    total, shares_ok = 0.0, True
    for i, (values, share) in enumerate(rows):
        line = lines[i] if lines is not None else None
        where = f"row {i}: " if lines is None else ""
        if len(values) != len(dimensions):
            problems.append(Problem(f"{where}expected {len(dimensions)} values, got {len(values)}", "values", line))
            continue
        for dim, value in zip(dimensions, values, strict=True):
            if not str(value).strip():
                problems.append(Problem(f"{where}empty value: every cell names one value of each dimension",
                                        dim, line))
        why = share_problem(share)
        if why is not None:
            shares_ok = False
            problems.append(Problem(where + why, "share", line))
        else:
            total += float(share)
        key = tuple(values)
        if key in seen:
            first = seen[key]
            before = f"line {lines[first]}" if lines is not None else f"row {first}"
            cell = ", ".join(f"{d}={v}" for d, v in zip(dimensions, values, strict=True))
            problems.append(Problem(f"{where}duplicate cell {cell}: it is already on {before}",
                                    ",".join(dimensions), line))
        else:
            seen[key] = i
    if rows and shares_ok and (why := sum_problem(total, tolerance)) is not None:
        problems.append(Problem(why, "share"))
    return problems


__all__ = ["MAX_PROBLEMS", "SHARE_TOLERANCE", "Cell", "JointDistribution", "Problem", "cell_problems",
           "check_marginals", "raise_problems", "share_problem", "sum_problem"]
