"""Reading rankings from CSV files: one row per respondent, in either of two layouts.

* **One column per option** (``ranking_columns``, or the columns named by ``options``): each holds
  that option's rank, 1 = best. The ranks of a row must be 1, 2, ..., k: a tie, a gap, a rank outside
  1..k or a blank is an error (blanks are allowed with ``allow_partial=True``, where the ranks given
  must still be 1..m).
* **One column of orders** (``ranking_column``): the options best first, joined by ``>``, ``,``,
  ``;``, ``|`` or ``-`` (``"B > A > C"``, ``"B,A,C"``, TinyTroupe's ``"B-A-C"``; see
  :mod:`~tinytroupe.validation.rankings` for how the separator is found, or give ``separator=``).
  Without ``options`` the options are those of the first row, sorted, and every row must rank them.

Every problem is a :class:`~tinytroupe.errors.DataFileError` naming the file, the row (the file's
line, the header being line 1) and the field.

Example:
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "devices.csv"
    >>> _ = path.write_text("who,A,B,C\\nann,2,1,3\\nbob,1,1,3\\n")
    >>> read_rankings_csv(path, ranking_columns=["A", "B", "C"], agent_column="who")
    Traceback (most recent call last):
    ...
    tinytroupe.errors.DataFileError: .../devices.csv, row 3, field 'B': 'A' and 'B' share rank 1: ties are not allowed
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tinytroupe.errors import InvalidArgument
from tinytroupe.validation.data_files import _Csv, _dataset
from tinytroupe.validation.dataset import SimulationExperimentDataset
from tinytroupe.validation.rankings import RankingRecord, check_order, rank_problem, split_ranking


def _rank(data: _Csv, line: int, column: str, text: str) -> int | None:
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value.is_integer():
        raise data.error(f"{text!r} is not a rank (a whole number, 1 = best)", row=line, field=column)
    return int(value)


def _orders_from_columns(data: _Csv, columns: Sequence[str], labels: Sequence[str],
                         allow_partial: bool) -> list[list[str]]:
    column_of = dict(zip(labels, columns, strict=True))
    out = []
    for row in data.rows:
        ranks = {label: _rank(data, row.line, column, row.values.get(column, ""))
                 for label, column in column_of.items()}
        problem = rank_problem(ranks, allow_partial=allow_partial)
        if problem is not None:
            raise data.error(problem[1], row=row.line, field=column_of[problem[0]])
        given = {r: o for o, r in ranks.items() if r is not None}
        out.append([given[r] for r in sorted(given)])
    return out


def _orders_from_text(data: _Csv, column: str, options: Sequence[str] | None, separator: str | None,
                      allow_partial: bool) -> tuple[list[list[str]], list[str]]:
    out = []
    found = list(options) if options is not None else None
    for row in data.rows:
        text = row.values.get(column, "")
        if not text:
            raise data.error("the ranking is blank", row=row.line, field=column)
        names = split_ranking(text, separator)
        if found is None:  # the first row names the options
            found = sorted(n for n in names if n)
            if len(found) < 2 or len(set(found)) != len(found):
                raise data.error(f"{text!r} does not rank two or more distinct options (pass options= and, "
                                 f"if needed, separator=)", row=row.line, field=column)
        try:
            out.append(check_order(names, found, allow_partial=allow_partial))
        except InvalidArgument as exc:
            hint = "" if options is not None else " (the options were taken from the first row; pass options=)"
            raise data.error(f"{text!r}: {exc}{hint}", row=row.line, field=column) from None
    assert found is not None  # the file has rows
    return out, found


def read_rankings_csv(path: str | Path, *, ranking_columns: Sequence[str] | None = None,
                      ranking_column: str | None = None, options: Sequence[str] | None = None,
                      separator: str | None = None, allow_partial: bool = False, agent_column: str | None = None,
                      justification_column: str | None = None, encoding: str = "utf-8-sig",
                      **fields: Any) -> SimulationExperimentDataset:
    """Read rankings, one row per respondent (see the module docstring for the two layouts).

    Args:
        ranking_columns: one column per option holding its rank; the options are these columns'
            names, or ``options`` in the same order when given.
        ranking_column: one column holding each respondent's order, best first.
        options: the options ranked; alone (no ``ranking_columns``) they also name the rank columns.
        separator: the separator of ``ranking_column``'s texts (found in each text when None).
        allow_partial: accept rankings of the best few options only (the others share the unused
            ranks); partial rankings in text need ``options``.
        agent_column, justification_column: a respondent's name and reason.
        **fields: other dataset fields (``name``, ``description``, ``question``, ``source``, ...).

    Raises:
        DataFileError: naming the file, row and field of the first problem found.
        InvalidArgument: a wrong combination of arguments.
    """
    if ranking_column is not None and ranking_columns is not None:
        raise InvalidArgument("name either ranking_columns (one rank per option) or ranking_column (an order "
                              "per row), not both")
    columns = list(ranking_columns) if ranking_columns is not None else None
    if ranking_column is None and columns is None:
        if options is None:
            raise InvalidArgument("name ranking_columns (one rank column per option), ranking_column (one "
                                  "column of orders such as 'B > A > C') or options (naming the rank columns)")
        columns = list(options)
    if columns is not None and options is not None and len(options) != len(columns):
        raise InvalidArgument(f"options {list(options)} must label the {len(columns)} ranking_columns one by one")
    if ranking_column is not None and allow_partial and options is None:
        raise InvalidArgument("partial rankings in text need options=: the first row cannot tell which are left out")
    data = _Csv(path, encoding)
    data.need(*(columns or []), ranking_column, agent_column, justification_column)
    if columns is not None:
        labels = list(options) if options is not None else columns
        orders = _orders_from_columns(data, columns, labels, allow_partial)
    else:
        assert ranking_column is not None
        orders, labels = _orders_from_text(data, ranking_column, options, separator, allow_partial)
    records = [RankingRecord(order=order, agent=row.values.get(agent_column) or None if agent_column else None,
                             justification=row.values.get(justification_column) or None if justification_column
                             else None) for order, row in zip(orders, data.rows, strict=True)]
    fields.setdefault("name", Path(path).stem)
    return _dataset(data, options=labels, rankings=records, partial_rankings=allow_partial,
                    agent_justifications=[r.justification for r in records if r.justification], **fields)


__all__ = ["read_rankings_csv"]
