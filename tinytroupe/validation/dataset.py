"""``SimulationExperimentDataset``: the answers of a real study or of a simulation, ready to compare.

It keeps TinyTroupe's fields (``key_results`` per metric, ``agent_justifications``, ...) and adds one
categorical question answered either as raw answers (``responses``: one option per respondent, with
an optional cell such as a party or age group) or as published option shares per cell
(``option_shares``, with the sample size when known). Options are ordered (a scale) unless
``ordered=False``; ``option_values`` are their numeric values (1, 2, ... by default), used for means,
standard deviations, t and KS tests and the Wasserstein distance. Instead of answers, a dataset may
hold ``rankings`` of its options (:mod:`~tinytroupe.validation.rankings`: each respondent orders them,
best first; partial rankings only with ``partial_rankings=True``).

Example:
    >>> ds = SimulationExperimentDataset.from_responses(
    ...     ["Agree", "agree ", "Disagree"], options=["Disagree", "Agree"], cells=["young", "old", "old"])
    >>> ds.cells(), ds.cell_data("old").counts.tolist(), round(ds.cell_data(None).mean, 3)
    (['young', 'old'], [1.0, 1.0], 1.667)
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tinytroupe.errors import InvalidArgument
from tinytroupe.validation.rankings import RankingRecord, check_order, parse_ranking

#: how far published shares may sum from 1 (rounding) before they are an error
SHARE_TOLERANCE = 0.02


class ResponseRecord(BaseModel):
    """One respondent's answer: the option chosen, and optionally their cell, name and reason."""

    model_config = ConfigDict(extra="forbid")
    option: str
    cell: str | None = None
    agent: str | None = None
    justification: str | None = None


class OptionShares(BaseModel):
    """The published share of each option in one cell (None: the whole sample), and its sample size."""

    model_config = ConfigDict(extra="forbid")
    cell: str | None = None
    shares: dict[str, float]
    n: int | None = Field(default=None, ge=1)


@dataclass(frozen=True)
class CellData:
    """One cell's answers as numbers: shares (summing to 1), counts where known, and summary statistics.

    ``counts`` are exact for raw answers, ``round(share × n)`` for published shares with a sample
    size (``reconstructed``), and None for shares without one. ``mean`` and ``sd`` (the population
    sd of the distribution over ``option_values``) are None for unordered options.
    """

    shares: npt.NDArray[np.float64]
    counts: npt.NDArray[np.float64] | None
    n: int | None
    reconstructed: bool
    mean: float | None
    sd: float | None

    def samples(self, values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64] | None:
        """One value per respondent (from the counts), or None when the counts are unknown."""
        if self.counts is None:
            return None
        return np.repeat(values, self.counts.astype(int))


def match_option(answer: Any, options: Sequence[str]) -> str | None:
    """The option ``answer`` names, ignoring case and surrounding spaces; None when none does.

    Example:
        >>> match_option(" strongly AGREE", ["Agree", "Strongly agree"]), match_option("Maybe", ["Yes", "No"])
        ('Strongly agree', None)
    """
    text = str(answer).strip()
    if text in options:
        return text
    folded = [o for o in options if o.strip().casefold() == text.casefold()]
    return folded[0] if len(folded) == 1 else None


class SimulationExperimentDataset(BaseModel):
    """A study's or a simulation's results (see the module docstring); the fields above ``question`` are
    TinyTroupe's, the rest are ours."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    description: str | None = None
    key_results: dict[str, float | int | bool | list[float | int | bool | None] | None] = Field(default_factory=dict)
    result_types: dict[str, Literal["aggregate", "per_agent"]] = Field(default_factory=dict)
    agent_names: list[str | None] | None = None
    agent_justifications: list[str | dict[str, str | int]] = Field(default_factory=list)
    justification_summary: str | None = None
    question: str | None = None
    options: list[str] | None = None
    ordered: bool = True
    option_values: list[float] | None = None
    responses: list[ResponseRecord] = Field(default_factory=list)
    option_shares: list[OptionShares] = Field(default_factory=list)
    rankings: list[RankingRecord] = Field(default_factory=list)
    partial_rankings: bool = False
    cell_order: list[str] | None = None
    source: str | None = None

    @model_validator(mode="after")
    def _check(self) -> SimulationExperimentDataset:
        label = f"dataset {self.name!r}" if self.name else "dataset"
        if self.responses and self.option_shares:
            raise InvalidArgument(f"{label}: give raw responses or option shares, not both")
        if self.rankings and (self.responses or self.option_shares):
            raise InvalidArgument(f"{label}: give rankings of the options or answers choosing one, not both")
        if not (self.responses or self.option_shares or self.rankings):
            return self
        options = self._check_options(label)
        for i, ranking in enumerate(self.rankings):
            try:
                check_order(ranking.order, options, allow_partial=self.partial_rankings)
            except InvalidArgument as exc:
                raise InvalidArgument(f"{label}: rankings[{i}]: {exc}") from None
        for i, r in enumerate(self.responses):
            if r.option not in options:
                raise InvalidArgument(f"{label}: responses[{i}].option {r.option!r} is not one of {options}")
        seen: set[str | None] = set()
        for i, row in enumerate(self.option_shares):
            if row.cell in seen:
                raise InvalidArgument(f"{label}: option_shares[{i}]: cell {row.cell!r} is given twice")
            seen.add(row.cell)
            check_shares(row.shares, options, f"{label}: option_shares[{i}] (cell {row.cell!r})")
        return self

    def _check_options(self, label: str) -> list[str]:
        options = self.options or []
        if len(options) < 2 or len(set(options)) != len(options) or any(not o.strip() for o in options):
            raise InvalidArgument(f"{label}: options must be two or more distinct, non-blank names, got {options}")
        if self.option_values is not None:
            values = self.option_values
            if len(values) != len(options) or not all(map(math.isfinite, values)):
                raise InvalidArgument(f"{label}: option_values needs one finite number per option, got {values}")
            if any(b <= a for a, b in itertools.pairwise(values)):
                raise InvalidArgument(f"{label}: option_values must increase with the options' order, got {values}")
        return options

    # -- building ------------------------------------------------------------------------------------

    @classmethod
    def from_responses(cls, answers: Sequence[Any], *, options: Sequence[str],
                       cells: Sequence[str | None] | None = None, agents: Sequence[str | None] | None = None,
                       justifications: Sequence[str | None] | None = None,
                       **fields: Any) -> SimulationExperimentDataset:
        """A dataset of raw answers (matched to ``options`` ignoring case and spaces); ``fields`` are other fields.

        Raises:
            InvalidArgument: an answer that is no option (naming its position), or lists of unequal length.
        """
        n = len(answers)
        for what, seq in (("cells", cells), ("agents", agents), ("justifications", justifications)):
            if seq is not None and len(seq) != n:
                raise InvalidArgument(f"{what} has {len(seq)} entries for {n} answers")
        records = []
        for i, answer in enumerate(answers):
            option = match_option(answer, options)
            if option is None:
                raise InvalidArgument(f"answers[{i}] = {answer!r} is not one of the options {list(options)}")
            records.append(ResponseRecord(option=option, cell=None if cells is None else cells[i],
                                          agent=None if agents is None else agents[i],
                                          justification=None if justifications is None else justifications[i]))
        extra = {"agent_justifications": [j for j in justifications if j]} if justifications is not None else {}
        return cls.build(options=list(options), responses=records, **{**extra, **fields})

    @classmethod
    def from_rankings(cls, rankings: Sequence[str | Sequence[str]], *, options: Sequence[str],
                      agents: Sequence[str | None] | None = None, justifications: Sequence[str | None] | None = None,
                      separator: str | None = None, allow_partial: bool = False,
                      **fields: Any) -> SimulationExperimentDataset:
        """A dataset of rankings, each a list of options best first (e.g. a list field extracted from each
        agent by ``ResultsExtractor``) or a text such as ``"B > A > C"`` (separators: see
        :mod:`~tinytroupe.validation.rankings`); names match ``options`` ignoring case and spaces.

        Example:
            >>> ds = SimulationExperimentDataset.from_rankings([["B", "A", "C"], "a > b > c"], options=["A", "B", "C"])
            >>> [r.order for r in ds.rankings]
            [['B', 'A', 'C'], ['A', 'B', 'C']]

        Raises:
            InvalidArgument: a ranking with an unknown, repeated or (unless ``allow_partial``) missing
                option, naming its position; lists of unequal length.
        """
        n = len(rankings)
        for what, seq in (("agents", agents), ("justifications", justifications)):
            if seq is not None and len(seq) != n:
                raise InvalidArgument(f"{what} has {len(seq)} entries for {n} rankings")
        records = []
        for i, value in enumerate(rankings):
            try:
                order = parse_ranking(value, options, separator=separator, allow_partial=allow_partial)
            except InvalidArgument as exc:
                raise InvalidArgument(f"rankings[{i}] = {value!r}: {exc}") from None
            records.append(RankingRecord(order=order, agent=None if agents is None else agents[i],
                                         justification=None if justifications is None else justifications[i]))
        extra = {"agent_justifications": [j for j in justifications if j]} if justifications is not None else {}
        return cls.build(options=list(options), rankings=records, partial_rankings=allow_partial,
                         **{**extra, **fields})

    @classmethod
    def from_shares(cls, shares: Mapping[str, float] | Mapping[str | None, Mapping[str, float]], *,
                    options: Sequence[str], n: int | Mapping[str | None, int] | None = None,
                    **fields: Any) -> SimulationExperimentDataset:
        """A dataset of option shares: ``{option: share}`` for the whole sample, or ``{cell: {option: share}}``.

        Example:
            >>> ds = SimulationExperimentDataset.from_shares({"Yes": 0.6, "No": 0.4}, options=["No", "Yes"], n=10)
            >>> ds.cell_data(None).counts.tolist()
            [4.0, 6.0]

        Raises:
            InvalidArgument: a share of no option, a negative share, or shares of a cell not summing to 1.
        """
        flat = all(not isinstance(v, Mapping) for v in shares.values())
        per_cell = cast(dict[str | None, Mapping[str, float]], {None: shares} if flat else dict(shares))
        rows = []
        for cell, cell_shares in per_cell.items():
            size = n.get(cell) if isinstance(n, Mapping) else n
            matched = {}
            for option, share in cell_shares.items():
                found = match_option(option, options)
                if found is None:
                    raise InvalidArgument(f"shares of cell {cell!r}: {option!r} is not one of the options "
                                          f"{list(options)}")
                matched[found] = share
            rows.append(OptionShares(cell=cell, shares=matched, n=size))
        return cls.build(options=list(options), option_shares=rows, **fields)

    @classmethod
    def build(cls, **fields: Any) -> SimulationExperimentDataset:
        """The dataset of ``fields``; a bad field is an :class:`~tinytroupe.errors.InvalidArgument` naming it
        (not pydantic's ValidationError).

        Raises:
            InvalidArgument: the first bad field, named by its path.

        Example:
            >>> SimulationExperimentDataset.build(options=["A"], responses=[{"option": "A"}])
            Traceback (most recent call last):
            ...
            tinytroupe.errors.InvalidArgument: dataset: options must be two or more distinct, non-blank names, got ['A']
        """
        try:
            return cls(**fields)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ()))
            message = str(first.get("msg", exc)).removeprefix("Value error, ")
            raise InvalidArgument(f"{where}: {message}" if where else message) from exc

    # -- reading -------------------------------------------------------------------------------------

    @property
    def values(self) -> npt.NDArray[np.float64]:
        """The options' numeric values: ``option_values``, or 1, 2, ..., k."""
        k = len(self.options or [])
        return np.asarray(self.option_values if self.option_values is not None else range(1, k + 1), dtype=float)

    def has_distribution(self) -> bool:
        """Whether the dataset holds answers to its question (raw or as shares)."""
        return bool(self.responses or self.option_shares)

    def has_rankings(self) -> bool:
        """Whether the dataset holds rankings of its options."""
        return bool(self.rankings)

    def cells(self) -> list[str]:
        """The named cells: those of ``cell_order`` first, in its order, then others as they first appear
        (the whole sample, None, is not listed)."""
        found = [r.cell for r in self.responses] if self.responses else [s.cell for s in self.option_shares]
        present = [c for c in dict.fromkeys(found) if c is not None]
        first = [c for c in self.cell_order or [] if c in present]
        return first + [c for c in present if c not in first]

    def cell_data(self, cell: str | None) -> CellData | None:
        """The answers of one cell (None: the whole sample) as numbers; None when the dataset has none.

        For shares, the whole sample is its own row when given, else the cells weighted by their sample
        sizes (None when a size is missing: nothing is guessed).
        """
        options = self.options or []
        if self.responses:
            chosen = [r.option for r in self.responses if cell is None or r.cell == cell]
            if not chosen:
                return None
            counts = np.array([chosen.count(o) for o in options], dtype=float)
            return self._summarise(counts / counts.sum(), counts, len(chosen), reconstructed=False)
        rows = {s.cell: s for s in self.option_shares}
        if cell in rows:
            return self._from_share_row(rows[cell])
        if cell is None and rows and all(r.n for r in rows.values()):
            total = np.sum([np.array([r.shares.get(o, 0.0) for o in options]) / sum(r.shares.values()) * (r.n or 0)
                            for r in rows.values()], axis=0)
            size = sum(r.n or 0 for r in rows.values())
            return self._from_share_row(OptionShares(shares=dict(zip(options, total / size, strict=True)), n=size))
        return None

    def _from_share_row(self, row: OptionShares) -> CellData:
        shares = np.array([row.shares.get(o, 0.0) for o in self.options or []], dtype=float)
        shares = shares / shares.sum()  # rounding in published tables: renormalised, within SHARE_TOLERANCE
        counts = np.round(shares * row.n) if row.n else None
        return self._summarise(shares, counts, row.n, reconstructed=counts is not None)

    def _summarise(self, shares: npt.NDArray[np.float64], counts: npt.NDArray[np.float64] | None, n: int | None,
                   *, reconstructed: bool) -> CellData:
        mean = sd = None
        if self.ordered:
            mean = float(shares @ self.values)
            sd = float(math.sqrt(max(float(shares @ (self.values - mean) ** 2), 0.0)))
        return CellData(shares=shares, counts=counts, n=n, reconstructed=reconstructed, mean=mean, sd=sd)


def check_shares(shares: Mapping[str, float], options: Sequence[str], where: str) -> dict[str, float]:
    """Shares keyed by options, non-negative, summing to 1 within :data:`SHARE_TOLERANCE`; returns them.

    Example:
        >>> check_shares({"Yes": 0.5, "No": 0.5}, ["Yes", "No"], "baseline")
        {'Yes': 0.5, 'No': 0.5}
    """
    for option, share in shares.items():
        if option not in options:
            raise InvalidArgument(f"{where}: {option!r} is not one of the options {list(options)}")
        if isinstance(share, bool) or not isinstance(share, int | float) or not math.isfinite(share) or share < 0:
            raise InvalidArgument(f"{where}: the share of {option!r} must be a number of at least 0, got {share!r}")
    total = float(sum(shares.values()))
    if abs(total - 1.0) > SHARE_TOLERANCE:
        raise InvalidArgument(f"{where}: shares sum to {total:.4g}, not 1 (within {SHARE_TOLERANCE}); "
                              f"give proportions, not percentages or counts")
    return {o: float(s) for o, s in shares.items()}


__all__ = ["SHARE_TOLERANCE", "CellData", "OptionShares", "ResponseRecord", "SimulationExperimentDataset",
           "check_shares", "match_option"]
