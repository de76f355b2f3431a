"""Results at a glance: each extracted field summarised, overall and by segment, computed (no LLM).

Categorical fields (choices, true/false, or text with few distinct answers) get counts and shares;
numeric ones mean, standard deviation (sample, ``ddof=1`` as pandas), median, minimum, maximum and a
histogram; list fields the share of people who named each item; free text the number of answers.
With ``segment_by`` (columns such as a population's sampled ``nationality``) each field is also
broken down by segment. Failed rows (``status == "failed"``) count as agents, never as answers.

Example:
    >>> rows = {"Ana": {"status": "ok", "rating": 8, "pick": "tea"},
    ...         "Ben": {"status": "ok", "rating": 5, "pick": "tea"},
    ...         "Cy": {"status": "ok", "rating": 6, "pick": "coffee"}, "Di": {"status": "failed", "error": "cut off"}}
    >>> summary = summarize_results(rows)
    >>> summary.agents, summary.ok, summary.failed
    (4, 3, 1)
    >>> [(c.value, c.count, round(c.share, 3)) for c in summary.field("pick").categories]
    [('tea', 2, 0.667), ('coffee', 1, 0.333)]
    >>> rating = summary.field("rating")
    >>> rating.kind, round(rating.mean, 4), round(rating.sd, 4), rating.minimum, rating.maximum
    ('numeric', 6.3333, 1.5275, 5.0, 8.0)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from tinytroupe.errors import InvalidArgument, InvalidArgumentType, NotFound
from tinytroupe.extraction.fields import RESERVED_FIELD_NAMES, FieldSpec
from tinytroupe.extraction.results_extractor import results_to_dataframe

#: a text field with at most this many distinct answers (and some repeated) is summarised as categories
MAX_CATEGORIES = 12
#: integer answers spanning at most this many values get one histogram bar per value
MAX_INTEGER_BARS = 20
#: otherwise the histogram has at most this many bins
MAX_BINS = 10

Kind = Literal["categorical", "numeric", "list", "text"]
ResultsLike = pd.DataFrame | Mapping[str, Mapping[str, Any]] | Sequence[Mapping[str, Any]]


class Category(BaseModel):
    """One answer (or list item) and how many gave it; ``share`` is of the answers (for a list field,
    of the people who answered, so shares may add up to more than 1)."""

    value: str
    count: int
    share: float


class Bin(BaseModel):
    """One histogram bar: values from ``low`` to ``high`` (one integer when they are equal)."""

    low: float
    high: float
    count: int


class FieldSummary(BaseModel):
    """One field, over some rows."""

    name: str
    kind: Kind
    answered: int = Field(description="rows with a value")
    missing: int = Field(description="rows without one (failed agents included)")
    categories: list[Category] = Field(default_factory=list)
    distinct: int | None = None
    mean: float | None = None
    sd: float | None = Field(None, description="sample standard deviation (ddof=1); None under 2 answers")
    median: float | None = None
    minimum: float | None = None
    maximum: float | None = None
    histogram: list[Bin] = Field(default_factory=list)


class SegmentSummary(BaseModel):
    """The fields over one segment's rows."""

    segment: dict[str, str]
    agents: int
    fields: dict[str, FieldSummary]


class ResultsSummary(BaseModel):
    """Every field at a glance, overall and (with ``segment_by``) per segment."""

    agents: int
    ok: int
    failed: int
    fields: list[FieldSummary]
    segment_by: list[str] = Field(default_factory=list)
    segments: list[SegmentSummary] = Field(default_factory=list)

    def field(self, name: str) -> FieldSummary:
        """The summary of field ``name``.

        Raises:
            NotFound: no field has that name.
        """
        for f in self.fields:
            if f.name == name:
                return f
        raise NotFound(f"no field {name!r} in the summary; fields: {', '.join(f.name for f in self.fields)}")


def as_results_frame(data: ResultsLike) -> pd.DataFrame:
    """Results as a DataFrame with an ``agent`` column: a DataFrame as given, ``{agent: row}`` or a list of rows.

    Raises:
        InvalidArgumentType: ``data`` is none of these.
    """
    if isinstance(data, pd.DataFrame):
        return data.copy()
    if isinstance(data, Mapping) or (isinstance(data, Sequence) and not isinstance(data, str | bytes)):
        return results_to_dataframe(data)
    raise InvalidArgumentType(f"results are a DataFrame, {{agent: row}} or a list of rows, got {type(data).__name__}")


def _missing(value: Any) -> bool:
    if isinstance(value, list | tuple | np.ndarray):
        return False
    return value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value))


def _label(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value))
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    return str(value)


def _natural(label: Any) -> tuple[int, float, str]:
    # Segments in reading order: 9 before 10, numbers before words, "(none)" last.
    try:
        return (0, float(label), "")
    except (TypeError, ValueError):
        return (2 if label == "(none)" else 1, 0.0, str(label))


def _kind(values: pd.Series, spec: FieldSpec | None) -> Kind:
    present = [v for v in values if not _missing(v)]
    if spec is not None and spec.type in ("int", "float"):
        return "numeric"
    if (spec is not None and (spec.type == "bool" or spec.choices)) or (
            present and all(isinstance(v, bool | np.bool_) for v in present)):
        return "categorical"
    if (spec is not None and spec.type == "list[str]") or any(isinstance(v, list | tuple) for v in present):
        return "list"
    if spec is None and present and all(isinstance(v, int | float | np.number) for v in present):
        return "numeric"
    distinct = len({_label(v) for v in present})
    return "categorical" if distinct <= MAX_CATEGORIES and distinct < len(present) else "text"


def _histogram(values: np.ndarray) -> list[Bin]:
    if values.size == 0:
        return []
    low, high = float(values.min()), float(values.max())
    if np.all(values == np.round(values)) and high - low < MAX_INTEGER_BARS:
        return [Bin(low=v, high=v, count=int(np.count_nonzero(values == v))) for v in np.arange(low, high + 1)]
    edges = np.histogram_bin_edges(values, bins="auto")
    if len(edges) - 1 > MAX_BINS:
        edges = np.histogram_bin_edges(values, bins=MAX_BINS)
    counts, edges = np.histogram(values, bins=edges)
    return [Bin(low=float(a), high=float(b), count=int(c))
            for a, b, c in zip(edges[:-1], edges[1:], counts, strict=True)]


def _categories(labels: list[str], denominator: int, order: Sequence[str] = ()) -> list[Category]:
    counts = pd.Series(labels, dtype=object).value_counts(sort=False) if labels else pd.Series(dtype=int)
    known = list(order) + sorted((v for v in counts.index if v not in order), key=lambda v: (-counts[v], v))
    return [Category(value=v, count=int(counts.get(v, 0)), share=float(counts.get(v, 0)) / denominator
                     if denominator else 0.0) for v in known]


def summarize_field(name: str, values: pd.Series, kind: Kind, spec: FieldSpec | None = None) -> FieldSummary:
    """One field over ``values`` (one per row, missing ones included), summarised as ``kind``."""
    present = [v for v in values if not _missing(v)]
    out = FieldSummary(name=name, kind=kind, answered=len(present), missing=len(values) - len(present))
    if kind == "numeric":
        numbers = pd.to_numeric(pd.Series(present, dtype=object), errors="coerce").dropna().astype(float)
        if len(numbers):
            out.mean, out.median = float(numbers.mean()), float(numbers.median())
            out.minimum, out.maximum = float(numbers.min()), float(numbers.max())
            out.sd = float(numbers.std(ddof=1)) if len(numbers) > 1 else None
        out.histogram = _histogram(numbers.to_numpy())
    elif kind == "list":
        items = [_label(item) for v in present for item in (v if isinstance(v, list | tuple) else [v])]
        out.categories = _categories(items, len(present))
    else:
        labels = [_label(v) for v in present]
        out.distinct = len(set(labels))
        if kind == "categorical":
            out.categories = _categories(labels, len(present), spec.choices or () if spec is not None else ())
    return out


def _field_specs(frame: pd.DataFrame, fields: Mapping[str, FieldSpec | str] | Sequence[str] | None,
                 segment_by: list[str]) -> dict[str, FieldSpec | None]:
    if fields is None:
        return {c: None for c in frame.columns if c not in RESERVED_FIELD_NAMES and c not in segment_by}
    if isinstance(fields, str):
        raise InvalidArgumentType("fields is a list of names or a mapping of names to field specs, not one string")
    specs: dict[str, FieldSpec | None] = {}
    for name in fields:
        spec = fields[name] if isinstance(fields, Mapping) else None
        specs[name] = FieldSpec.model_validate({"type": spec}) if isinstance(spec, str) else spec
        if name not in frame.columns:
            frame[name] = None  # a field nobody answered: every row is missing it
    return specs


def _segment_columns(frame: pd.DataFrame, segment_by: str | Sequence[str] | None) -> list[str]:
    columns = [segment_by] if isinstance(segment_by, str) else list(segment_by or [])
    for c in columns:
        if c not in frame.columns:
            raise InvalidArgument(f"segment_by names {c!r}, which is not a column of the results; columns: "
                                  f"{', '.join(map(str, frame.columns))}")
    return columns


def summarize_results(data: ResultsLike, fields: Mapping[str, FieldSpec | str] | Sequence[str] | None = None,
                      segment_by: str | Sequence[str] | None = None) -> ResultsSummary:
    """Each field of ``data`` summarised (see the module), overall and per segment of ``segment_by``.

    ``fields`` (names, or names to :class:`FieldSpec` s / type names) chooses the fields and how to
    read them (choices list every option, even unchosen ones); by default every column but
    ``agent``, ``status``, ``error`` and the segment columns, read from its values.

    Raises:
        InvalidArgument: ``segment_by`` names a column the results do not have.
        InvalidArgumentType: ``data`` or ``fields`` has an unusable type.
    """
    frame = as_results_frame(data)
    by = _segment_columns(frame, segment_by)
    specs = _field_specs(frame, fields, by)
    failed = frame["status"].eq("failed") if "status" in frame.columns else pd.Series(False, index=frame.index)
    answered = frame[~failed]
    kinds = {name: _kind(answered[name], spec) for name, spec in specs.items()}
    # Failed agents' rows stay in the counts of agents: they are missing answers, not fewer people.
    overall = [summarize_field(n, frame[n].where(~failed, None), kinds[n], specs[n]) for n in specs]
    segments: list[SegmentSummary] = []
    if by:
        keys = frame[by].map(lambda v: "(none)" if _missing(v) else _label(v))
        groups = [(v if isinstance(v, tuple) else (v,), g) for v, g in frame.groupby([keys[c] for c in by])]
        for values, group in sorted(groups, key=lambda vg: tuple(map(_natural, vg[0]))):
            ok = ~failed.loc[group.index]
            segments.append(SegmentSummary(
                segment=dict(zip(by, map(str, values), strict=True)), agents=len(group),
                fields={n: summarize_field(n, group[n].where(ok, None), kinds[n], specs[n]) for n in specs}))
    return ResultsSummary(agents=len(frame), ok=int((~failed).sum()), failed=int(failed.sum()), fields=overall,
                          segment_by=by, segments=segments)


__all__ = ["MAX_BINS", "MAX_CATEGORIES", "MAX_INTEGER_BARS", "Bin", "Category", "FieldSummary", "Kind",
           "ResultsLike", "ResultsSummary", "SegmentSummary", "as_results_frame", "summarize_field",
           "summarize_results"]
