"""Reading real answers from CSV files: raw answers, option counts or option shares, per cell.

Everything is checked before anything is compared (or any model is paid for): a missing column, an
answer that is not one of the question's options, a share that is not a number, or shares of a cell
that do not sum to 1 are a :class:`~tinytroupe.errors.DataFileError` naming the file, the row (the
file's line, the header being line 1) and the field.

Example:
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "poll.csv"
    >>> _ = path.write_text("party,answer\\nA,Yes\\nA,No\\nB,Maybe\\n")
    >>> read_csv(path, options=["Yes", "No"], answer_column="answer", cell_column="party")
    Traceback (most recent call last):
    ...
    tinytroupe.errors.DataFileError: .../poll.csv, row 4, field 'answer': 'Maybe' is not one of the options [...]
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from tinytroupe.errors import DataFileError, InvalidArgument
from tinytroupe.validation.dataset import (
    SHARE_TOLERANCE,
    OptionShares,
    ResponseRecord,
    SimulationExperimentDataset,
    match_option,
)


@dataclass(frozen=True)
class _Row:
    line: int
    values: dict[str, str]


class _Csv:
    """A CSV file's rows, each with its line number, and errors that name the file."""

    def __init__(self, path: str | Path, encoding: str) -> None:
        self.path = str(path)
        try:
            with open(path, encoding=encoding, newline="") as handle:
                reader = csv.DictReader(handle)
                self.columns = list(reader.fieldnames or [])
                self.rows = [_Row(reader.line_num, {k: (v or "").strip() for k, v in row.items() if k is not None})
                             for row in reader]
        except FileNotFoundError as exc:
            raise DataFileError("no such file", path=self.path) from exc
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise DataFileError(f"cannot be read as {encoding} CSV: {exc}", path=self.path) from exc
        if not self.columns:
            raise DataFileError("the file is empty: a header row is needed", path=self.path, row=1)
        if not self.rows:
            raise DataFileError("the file has a header but no rows", path=self.path, row=1)

    def error(self, message: str, row: int | None = None, field: str | None = None) -> DataFileError:
        return DataFileError(message, path=self.path, row=row, field=field)

    def need(self, *columns: str | None) -> None:
        for column in columns:
            if column is not None and column not in self.columns:
                raise self.error(f"no such column; the columns are {self.columns}", row=1, field=column)

    def cell(self, row: _Row, column: str | None) -> str | None:
        if column is None:
            return None
        value = row.values.get(column, "")
        if not value:
            raise self.error("the cell is blank", row=row.line, field=column)
        return value

    def number(self, row: _Row, column: str) -> float:
        text = row.values.get(column, "").rstrip("%").strip()
        try:
            value = float(text)
        except ValueError:
            raise self.error(f"{row.values.get(column, '')!r} is not a number", row=row.line, field=column) from None
        if not math.isfinite(value) or value < 0:
            raise self.error(f"{value} must be a finite number of at least 0", row=row.line, field=column)
        return value


def _dataset(data: _Csv, **fields: Any) -> SimulationExperimentDataset:
    try:
        return SimulationExperimentDataset(**fields)
    except ValidationError as exc:  # a check across rows (duplicate options, ...) that the model makes
        raise data.error(str(exc.errors()[0].get("msg", exc)).removeprefix("Value error, ")) from exc


def _responses(data: _Csv, options: Sequence[str], answer_column: str, cell_column: str | None,
               agent_column: str | None, justification_column: str | None,
               skip_blank: bool) -> Iterator[ResponseRecord]:
    for row in data.rows:
        answer = row.values.get(answer_column, "")
        if not answer and skip_blank:
            continue
        option = match_option(answer, options) if answer else None
        if option is None:
            what = "the answer is blank (pass skip_blank=True to leave such rows out)" if not answer else \
                f"{answer!r} is not one of the options {list(options)}"
            raise data.error(what, row=row.line, field=answer_column)
        yield ResponseRecord(option=option, cell=data.cell(row, cell_column),
                             agent=row.values.get(agent_column) if agent_column else None,
                             justification=row.values.get(justification_column) or None if justification_column
                             else None)


def _share_rows(data: _Csv, options: Sequence[str], option_column: str, amount_column: str, counts: bool,
                cell_column: str | None, n_column: str | None, percent: bool) -> list[OptionShares]:
    cells: dict[str | None, dict[str, tuple[float, _Row]]] = {}
    sizes: dict[str | None, int] = {}
    for row in data.rows:
        cell = data.cell(row, cell_column)
        option = match_option(row.values.get(option_column, ""), options)
        if option is None:
            raise data.error(f"{row.values.get(option_column, '')!r} is not one of the options {list(options)}",
                             row=row.line, field=option_column)
        if option in cells.setdefault(cell, {}):
            raise data.error(f"option {option!r} appears twice in cell {cell!r} (first at row "
                             f"{cells[cell][option][1].line})", row=row.line, field=option_column)
        amount = data.number(row, amount_column)
        cells[cell][option] = (amount / 100 if percent and not counts else amount, row)
        if n_column is not None:
            n = data.number(row, n_column)
            if n < 1 or n != int(n) or sizes.setdefault(cell, int(n)) != int(n):
                raise data.error(f"sample size {n:g} must be a whole number of at least 1, the same on every row "
                                 f"of cell {cell!r}", row=row.line, field=n_column)
    out = []
    for cell, by_option in cells.items():
        total = sum(a for a, _ in by_option.values())
        first = min(r.line for _, r in by_option.values())
        if counts:
            if total <= 0:
                raise data.error(f"cell {cell!r} has no answers (every count is 0)", row=first, field=amount_column)
            out.append(OptionShares(cell=cell, shares={o: a / total for o, (a, _) in by_option.items()},
                                    n=round(total)))
            continue
        if abs(total - 1) > SHARE_TOLERANCE:
            unit = " (percentages: pass percent=True)" if 90 <= total <= 110 and not percent else ""
            raise data.error(f"the shares of cell {cell!r} sum to {total:.4g}, not 1{unit}; rows "
                             f"{sorted(r.line for _, r in by_option.values())}", row=first, field=amount_column)
        out.append(OptionShares(cell=cell, shares={o: a for o, (a, _) in by_option.items()}, n=sizes.get(cell)))
    return out


def read_csv(path: str | Path, *, options: Sequence[str], answer_column: str | None = None,
             option_column: str | None = None, share_column: str | None = None, count_column: str | None = None,
             cell_column: str | None = None, n_column: str | None = None, agent_column: str | None = None,
             justification_column: str | None = None, percent: bool = False, skip_blank: bool = False,
             encoding: str = "utf-8-sig", **fields: Any) -> SimulationExperimentDataset:
    """Read real (or simulated) answers to one question from a CSV file.

    Three layouts, chosen by the columns named:

    * raw answers, ``answer_column``: one row per respondent, the option they chose;
    * counts, ``option_column`` + ``count_column``: one row per (cell, option), how many chose it;
    * shares, ``option_column`` + ``share_column``: one row per (cell, option), the share that chose
      it (``percent=True`` for 0–100), with the cell's sample size in ``n_column`` when known.

    Args:
        path: the CSV file (UTF-8, a header row).
        options: the question's options, in order; every answer must be one of them (case and
            surrounding spaces do not matter).
        cell_column: the column of the cell (segment) each row belongs to, if any.
        agent_column, justification_column: a respondent's name and reason (raw answers only).
        skip_blank: leave out rows whose answer is blank (else they are an error).
        encoding: the file's encoding.
        **fields: other dataset fields (``name``, ``question``, ``source``, ``option_values``, ...).

    Raises:
        DataFileError: naming the file, row and field of the first problem found.
        InvalidArgument: a wrong combination of column arguments.
    """
    raw, amount = answer_column is not None, share_column or count_column
    if raw == bool(option_column) or (raw and amount) or (option_column and (share_column is None) == (
            count_column is None)):
        raise InvalidArgument("name either answer_column (raw answers), or option_column with exactly one of "
                              "share_column and count_column")
    data = _Csv(path, encoding)
    data.need(answer_column, option_column, share_column, count_column, cell_column, n_column, agent_column,
              justification_column)
    fields.setdefault("name", Path(path).stem)
    if answer_column is not None:
        records = list(_responses(data, options, answer_column, cell_column, agent_column, justification_column,
                                  skip_blank))
        if not records:
            raise data.error("every answer is blank", field=answer_column)
        justified = [r.justification for r in records if r.justification]
        return _dataset(data, options=list(options), responses=records, agent_justifications=justified, **fields)
    assert option_column is not None and amount is not None  # checked above
    rows = _share_rows(data, options, option_column, amount, count_column is not None, cell_column, n_column, percent)
    return _dataset(data, options=list(options), option_shares=rows, **fields)


def read_values_csv(path: str | Path, *, value_column: str, agent_id_column: str | None = None,
                    agent_comments_column: str | None = None, dataset_name: str | None = None,
                    dataset_description: str | None = None, encoding: str = "utf-8-sig") -> SimulationExperimentDataset:
    """TinyTroupe's layout: one row per agent with a numeric value (``key_results[value_column]``, per agent),
    the agent's name and comment. A blank value is kept as missing (None); text is an error.

    Raises:
        DataFileError: naming the file, row and field of a value that is not a number.
    """
    data = _Csv(path, encoding)
    data.need(value_column, agent_id_column, agent_comments_column)
    values: list[float | int | bool | None] = []
    for row in data.rows:
        text = row.values.get(value_column, "")
        if not text:
            values.append(None)
            continue
        try:
            number = float(text)
        except ValueError:
            raise data.error(f"{text!r} is not a number; for answers given as options use read_csv(options=...)",
                             row=row.line, field=value_column) from None
        values.append(int(number) if number.is_integer() else number)
    names = [row.values.get(agent_id_column) or None for row in data.rows] if agent_id_column else None
    comments = [c for row in data.rows if (c := row.values.get(agent_comments_column or "", ""))]
    return _dataset(data, name=dataset_name or Path(path).stem, description=dataset_description,
                    key_results={value_column: values}, result_types={value_column: "per_agent"}, agent_names=names,
                    agent_justifications=comments if agent_comments_column else [])


__all__ = ["read_csv", "read_values_csv"]
