"""Results at a glance as Markdown: the field summaries of :mod:`tinytroupe.extraction.summary`, then
the per-agent table cut to its first rows (the files keep every row).

Example:
    >>> rows = {"Ana": {"status": "ok", "pick": "tea"}, "Ben": {"status": "ok", "pick": "tea"},
    ...         "Cy": {"status": "ok", "pick": "coffee"}}
    >>> print(results_markdown(rows, max_rows=2, results_file="results.csv"))
    ## Results at a glance
    <BLANKLINE>
    3 agents · 3 answered · 0 failed
    <BLANKLINE>
    ### pick
    <BLANKLINE>
    categorical · 3 answers
    <BLANKLINE>
    | pick | count | share |
    |---|--:|--:|
    | tea | 2 | 66.7% |
    | coffee | 1 | 33.3% |
    <BLANKLINE>
    ## Per agent (first 2 of 3)
    <BLANKLINE>
    | agent | status | pick |
    |---|---|---|
    | Ana | ok | tea |
    | Ben | ok | tea |
    <BLANKLINE>
    (1 more in the file results.csv)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from tinytroupe.errors import InvalidArgument
from tinytroupe.extraction.fields import FieldSpec
from tinytroupe.extraction.summary import (
    Bin,
    FieldSummary,
    ResultsLike,
    ResultsSummary,
    as_results_frame,
    summarize_results,
)

#: rows of the per-agent table shown before the rest is left to the files
DEFAULT_MAX_ROWS = 20
#: the longest histogram bar, in characters
BAR_WIDTH = 30
#: categories shown as columns of a by-segment table (the rest are summed as "other")
SEGMENT_COLUMNS = 8
#: longest cell of the per-agent table (answers are cut there; the files have them whole)
CELL_CHARS = 120


def _cell(value: Any, limit: int | None = None) -> str:
    if isinstance(value, list | tuple):
        value = "; ".join(map(str, value))
    elif value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return ""
    text = " ".join(str(value).split()).replace("\\", "\\\\").replace("|", "\\|")
    return text if limit is None or len(text) <= limit else text[: limit - 1] + "…"


def _num(x: float | None) -> str:
    if x is None:
        return "–"
    return f"{x:.0f}" if float(x).is_integer() else f"{x:.2f}"


def _share(share: float) -> str:
    return f"{share:.1%}"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], align: Sequence[str] | None = None) -> list[str]:
    align = align or ["---"] * len(header)
    return ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|",
            *("| " + " | ".join(r) + " |" for r in rows)]


def _bar_label(b: Bin) -> str:
    return _num(b.low) if b.low == b.high else f"{_num(b.low)}–{_num(b.high)}"


def _histogram(bins: Sequence[Bin]) -> list[str]:
    if not bins:
        return []
    top = max(b.count for b in bins) or 1
    width = max(len(_bar_label(b)) for b in bins)
    return ["```", *(f"{_bar_label(b):>{width}} | {'█' * round(BAR_WIDTH * b.count / top)} {b.count}" for b in bins),
            "```"]


def _segment_label(segment: Mapping[str, str]) -> str:
    return ", ".join(_cell(v) for v in segment.values())


def _by_segment(summary: ResultsSummary, f: FieldSummary) -> list[str]:
    if not summary.segments or f.kind == "text":
        return []
    head = ", ".join(summary.segment_by)
    lines = [f"By {head}:", ""]
    if f.kind == "numeric":
        rows = [[_segment_label(s.segment), str(s.fields[f.name].answered), _num(s.fields[f.name].mean),
                 _num(s.fields[f.name].sd), _num(s.fields[f.name].minimum), _num(s.fields[f.name].maximum)]
                for s in summary.segments]
        return lines + _table([head, "n", "mean", "sd", "min", "max"], rows, ["---"] + ["--:"] * 5)
    shown = [c.value for c in f.categories[:SEGMENT_COLUMNS]]
    other = len(f.categories) > SEGMENT_COLUMNS
    rows = []
    for s in summary.segments:
        part = s.fields[f.name]
        counts = {c.value: c for c in part.categories}
        cells = [f"{counts[v].count} ({_share(counts[v].share)})" if v in counts and counts[v].count else "0"
                 for v in shown]
        if other:
            cells.append(str(sum(c.count for c in part.categories if c.value not in shown)))
        rows.append([_segment_label(s.segment), str(part.answered), *cells])
    header = [head, "n", *(_cell(v) for v in shown), *(["other"] if other else [])]
    return lines + _table(header, rows, ["---"] + ["--:"] * (len(header) - 1))


def field_markdown(summary: ResultsSummary, f: FieldSummary) -> list[str]:
    """The Markdown lines of one field: its kind and answers, its figures, then its segments."""
    missing = f" · {f.missing} without an answer" if f.missing else ""
    lines = [f"### {_cell(f.name)}", "", f"{f.kind} · {f.answered} answer{'s' if f.answered != 1 else ''}{missing}", ""]
    if f.kind == "numeric":
        lines += [f"mean {_num(f.mean)} · sd {_num(f.sd)} · median {_num(f.median)} · min {_num(f.minimum)} · "
                  f"max {_num(f.maximum)}", "", *_histogram(f.histogram)]
    elif f.kind == "text":
        lines.append(f"free text, {f.distinct} distinct answers: one per agent in the results table")
    else:
        what = "share of those who answered" if f.kind == "list" else "share"
        lines += _table([_cell(f.name), "count", what], [[_cell(c.value), str(c.count), _share(c.share)]
                                                         for c in f.categories], ["---", "--:", "--:"])
    segment = _by_segment(summary, f)
    return lines + (["", *segment] if segment else [])


def summary_markdown(summary: ResultsSummary, title: str | None = "Results at a glance") -> str:
    """The summary as Markdown: a heading, the agent counts, then one section per field."""
    lines = [f"## {title}", ""] if title else []
    lines.append(f"{summary.agents} agents · {summary.ok} answered · {summary.failed} failed")
    for f in summary.fields:
        lines += ["", *field_markdown(summary, f)]
    return "\n".join(lines)


def agent_table_markdown(data: ResultsLike, max_rows: int | None = DEFAULT_MAX_ROWS,
                         results_file: str | None = None) -> str:
    """One row per agent, the first ``max_rows`` of them (None: all), with a note on how many more the
    file has.

    Raises:
        InvalidArgument: ``max_rows`` is below 1.
    """
    if max_rows is not None and max_rows < 1:
        raise InvalidArgument(f"max_rows must be at least 1 (or None for every row), got {max_rows}")
    frame = as_results_frame(data)
    if "error" in frame.columns and frame["error"].map(_cell).eq("").all():
        frame = frame.drop(columns="error")  # nobody failed: an empty column says nothing
    total = len(frame)
    shown = frame if max_rows is None else frame.head(max_rows)
    heading = f"## Per agent (first {len(shown)} of {total})" if len(shown) < total else "## Per agent"
    rows = [[_cell(v, CELL_CHARS) for v in row] for row in shown.itertuples(index=False)]
    lines = [heading, "", *_table([_cell(c) for c in frame.columns], rows)]
    if len(shown) < total:
        where = f"the file {results_file}" if results_file else "the file"
        lines += ["", f"({total - len(shown)} more in {where})"]
    return "\n".join(lines)


def results_markdown(data: ResultsLike, fields: Mapping[str, FieldSpec | str] | Sequence[str] | None = None,
                     segment_by: str | Sequence[str] | None = None, max_rows: int | None = DEFAULT_MAX_ROWS,
                     title: str | None = "Results at a glance", results_file: str | None = None) -> str:
    """:func:`summary_markdown` of the results, then :func:`agent_table_markdown`."""
    return summary_markdown(summarize_results(data, fields, segment_by), title) + "\n\n" + \
        agent_table_markdown(data, max_rows, results_file)


__all__ = ["BAR_WIDTH", "DEFAULT_MAX_ROWS", "agent_table_markdown", "field_markdown", "results_markdown",
           "summary_markdown"]
