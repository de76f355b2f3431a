"""Reading target shares from a CSV file, every problem named by file, line and column.

Two layouts, told apart by the header:

* joint cells: a column per dimension, then ``share`` (in any position)::

      sex,age,education,share
      female,18-34,tertiary,0.061
      ...

* marginals: exactly the columns ``dimension,value,share``, one line per value of each dimension.

Shares are fractions summing to one (within the tolerance; within it they are scaled to exactly
one). With ``domains`` (each dimension's allowed values) a column or value outside them is an error,
with a did-you-mean. All problems are listed in one :class:`~tinytroupe.errors.ScenarioError`, whose
``path``, ``line`` and ``field`` are those of the first.

Example:
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "cells.csv"
    >>> _ = path.write_text("sex,share\\nfemale,0.5\\nmale,0.6\\n")
    >>> try:
    ...     read_shares_csv(path)
    ... except ScenarioError as exc:
    ...     print(str(exc).splitlines()[1].split(": ", 1)[1])
    share: the shares sum to 1.1, not 1 (tolerance ±0.001)
"""

from __future__ import annotations

import csv
import difflib
import io
from collections.abc import Mapping, Sequence
from os import PathLike
from pathlib import Path
from typing import Any

from tinytroupe.errors import ScenarioError
from tinytroupe.factory.cells import (
    SHARE_TOLERANCE,
    JointDistribution,
    Problem,
    cell_problems,
    raise_problems,
    share_problem,
    sum_problem,
)
from tinytroupe.safe_load import InputProblem, Limits, read_text

#: bounds on a shares file: big enough for a fine census cross-table
SHARES_LIMITS = Limits(max_bytes=16 * 1024 * 1024, max_items=1_000_000)
_MARGINAL_COLUMNS = ("dimension", "value", "share")
_SHARE_LOOKALIKES = ("proportion", "percent", "percentage", "pct", "weight", "fraction", "prob", "probability")

Domains = Mapping[str, Sequence[str]]


def _records(path: str | PathLike[str]) -> list[tuple[int, list[str]]]:
    """The file's non-blank CSV records, each with the line it starts on, fields stripped."""
    source = str(path)
    try:
        text = read_text(Path(path), SHARES_LIMITS)
    except FileNotFoundError:
        raise ScenarioError(f"{source}: no such file", path=source) from None
    except InputProblem as problem:
        at = f"{source}:{problem.line}" if problem.line else source
        raise ScenarioError(f"{at}: {problem.reason}", path=source, line=problem.line) from None
    reader = csv.reader(io.StringIO(text))
    out: list[tuple[int, list[str]]] = []
    start = 1
    try:
        for row in reader:
            fields = [f.strip() for f in row]
            if any(fields):
                out.append((start, fields))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise ScenarioError(f"{source}:{reader.line_num}: not valid CSV: {exc}", path=source,
                            line=reader.line_num) from None
    if not out:
        raise ScenarioError(f"{source}: the file is empty; expected a header line such as 'sex,age,share'",
                            path=source, line=1)
    return out


def _near(word: str, choices: Sequence[str]) -> str:
    match = difflib.get_close_matches(word, list(choices), n=1) if len(word) <= 100 else []
    return f"; did you mean {match[0]!r}?" if match else ""


def _number(text: str) -> float | str:
    """The share in ``text`` as a number, or the text itself when it is none (reported by the checks)."""
    try:
        return float(text)
    except ValueError:
        return text


def _header_problems(header: list[str], share_at: int | None, domains: Domains | None) -> list[Problem]:
    problems = [Problem(f"column {i + 1} has no name", f"column {i + 1}", 1) for i, n in enumerate(header) if not n]
    named = [n for n in header if n]
    twice = sorted({n for n in named if named.count(n) > 1})
    problems += [Problem("this column name appears twice", n, 1) for n in twice]
    if share_at is None:
        near = [c for c in named if c.casefold() in _SHARE_LOOKALIKES]
        hint = f"; rename {near[0]!r} to 'share'" if near else ""
        problems.append(Problem(f"no 'share' column (the columns are: {', '.join(named)}): add one with each "
                                f"line's share of the population, as fractions summing to 1{hint}", "share", 1))
    dims = [n for i, n in enumerate(header) if i != share_at and n]
    if share_at is not None and not dims:
        problems.append(Problem("no dimension columns besides 'share'", "share", 1))
    if domains is not None:
        known = list(domains)
        problems += [Problem(f"unknown column {d!r}; the dimensions are: {', '.join(known)}{_near(d, known)}", d, 1)
                     for d in dims if d not in domains]
        problems += [Problem(f"missing column {d!r}, a dimension of the target", d, 1) for d in known if d not in dims]
    return problems


def _value_problem(dim: str, value: str, domains: Domains | None, line: int) -> Problem | None:
    if domains is None or dim not in domains or not value or value in domains[dim]:
        return None
    allowed = [str(v) for v in domains[dim]]
    return Problem(f"unknown value {value!r} (the values of {dim} are: {', '.join(allowed)}){_near(value, allowed)}",
                   dim, line)


def read_shares_csv(path: str | PathLike[str], *, domains: Domains | None = None,
                    tolerance: float = SHARE_TOLERANCE) -> JointDistribution | dict[str, dict[str, float]]:
    """Target shares from a CSV file: a :class:`JointDistribution` (joint layout) or
    ``{dimension: {value: share}}`` (marginal layout, columns ``dimension,value,share``).

    Raises:
        ScenarioError: the file is missing, unreadable, not CSV, or its header, a share, a value or
            the sum of the shares is wrong; the message lists every problem as ``file:line: column: why``.
    """
    records = _records(path)
    source = str(path)
    (_, header), body = records[0], records[1:]
    if sorted(c.casefold() for c in header) == sorted(_MARGINAL_COLUMNS):
        return _marginals(source, [c.casefold() for c in header], body, domains, tolerance)
    share_at = next((i for i, c in enumerate(header) if c.casefold() == "share"), None)
    problems = _header_problems(header, share_at, domains)
    raise_problems(problems, source=source, what="shares file")
    assert share_at is not None
    dims = [c for i, c in enumerate(header) if i != share_at]
    rows: list[tuple[tuple[str, ...], Any]] = []
    lines: list[int] = []
    for line, fields in body:
        if len(fields) != len(header):
            problems.append(Problem(f"expected {len(header)} fields ({', '.join(header)}), got {len(fields)}",
                                    "(line)", line))
            continue
        values = tuple(f for i, f in enumerate(fields) if i != share_at)
        problems += [p for d, v in zip(dims, values, strict=True) if (p := _value_problem(d, v, domains, line))]
        rows.append((values, _number(fields[share_at])))
        lines.append(line)
    problems += cell_problems(dims, rows, tolerance, lines)
    raise_problems(sorted(problems, key=lambda p: (p.line is None, p.line or 0)), source=source, what="shares file")
    return JointDistribution.normalised(dims, rows)


def _marginals(source: str, header: list[str], body: list[tuple[int, list[str]]], domains: Domains | None,
               tolerance: float) -> dict[str, dict[str, float]]:
    at = {name: header.index(name) for name in _MARGINAL_COLUMNS}
    problems: list[Problem] = []
    shares: dict[str, dict[str, float]] = {}
    first_line: dict[tuple[str, str], int] = {}
    for line, fields in body:
        if len(fields) != 3:
            problems.append(Problem(f"expected 3 fields (dimension, value, share), got {len(fields)}", "(line)", line))
            continue
        dim, value = fields[at["dimension"]], fields[at["value"]]
        share = _number(fields[at["share"]])
        why = share_problem(share)
        if not dim or not value:
            problems.append(Problem("empty: every line names a dimension and one of its values",
                                    "dimension" if not dim else "value", line))
            continue
        if domains is not None and dim not in domains:
            problems.append(Problem(f"unknown dimension {dim!r}; the dimensions are: {', '.join(domains)}"
                                    f"{_near(dim, list(domains))}", "dimension", line))
        elif (bad := _value_problem(dim, value, domains, line)) is not None:
            problems.append(Problem(bad.message, "value", line))
        if (dim, value) in first_line:
            problems.append(Problem(f"{dim}={value} is already on line {first_line[(dim, value)]}", "value", line))
            continue
        first_line[(dim, value)] = line
        if why is not None:
            problems.append(Problem(why, "share", line))
        else:
            shares.setdefault(dim, {})[value] = float(share)
    if domains is not None:
        problems += [Problem(f"no shares for dimension {d!r}", "dimension") for d in domains if d not in shares]
    if not problems:
        for dim, values in shares.items():
            if (why := sum_problem(sum(values.values()), tolerance)) is not None:
                problems.append(Problem(f"{dim}: {why}", "share", first_line[(dim, next(iter(values)))]))
    if not shares and not problems:
        problems.append(Problem("no lines after the header", "value"))
    raise_problems(problems, source=source, what="shares file")
    return {d: {v: s / sum(vs.values()) for v, s in vs.items()} for d, vs in shares.items()}


__all__ = ["SHARES_LIMITS", "read_shares_csv"]
