"""Rankings: each respondent orders a set of options from best to worst.

A ranking is stored as the options in order, best first (:class:`RankingRecord`). For statistics it
becomes a row of ranks (1 = best). A ranking is *complete* when it orders every option; datasets
may allow *partial* rankings (the best few only), where the options left out share the remaining
places: each gets the mean of the unused ranks (ranking 2 of 4 options gives the other two rank
3.5 each), so they also share the remaining Borda points equally.

Written as text, a ranking is the options joined by one separator: ``>`` (``"B > A > C"``), ``,``,
``;``, ``|`` or ``-`` (TinyTroupe's ``"B-A-C"``). Without an explicit separator the first of these
found in the text is used, in that order, so an option named ``"E-reader"`` is read correctly in
``"E-reader > Tablet"`` but needs ``separator=">"`` (or another one) if ``-`` is the only one present.

Example:
    >>> parse_ranking("b > A > c", ["A", "B", "C"])
    ['B', 'A', 'C']
    >>> summary = summarise(rank_matrix([["B", "A", "C"], ["A", "B", "C"]], ["A", "B", "C"]), ["A", "B", "C"])
    >>> summary.mean_rank, summary.borda_points, summary.first_choice_share
    ({'A': 1.5, 'B': 1.5, 'C': 3.0}, {'A': 3.0, 'B': 3.0, 'C': 0.0}, {'A': 0.5, 'B': 0.5, 'C': 0.0})
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict

from tinytroupe.errors import InvalidArgument

#: separators of rankings written as text, in the order they are looked for
SEPARATORS = (">", ",", ";", "|", "-")


class RankingRecord(BaseModel):
    """One respondent's ranking: the options from best to worst (the best few only when partial)."""

    model_config = ConfigDict(extra="forbid")
    order: list[str]
    agent: str | None = None
    justification: str | None = None


class RankingSummary(BaseModel):
    """Per option: the mean rank (1 = best), its sample sd (None for fewer than 2 rankings), the Borda
    points (k − rank per ranking, summed), their share of all points, and the share ranking it first."""

    model_config = ConfigDict(frozen=True)
    n: int
    options: list[str]
    mean_rank: dict[str, float]
    sd_rank: dict[str, float | None]
    borda_points: dict[str, float]
    borda_share: dict[str, float]
    first_choice_share: dict[str, float]
    partial: int = 0


def _match(name: str, options: Sequence[str]) -> str | None:
    text = name.strip()
    if text in options:
        return text
    folded = [o for o in options if o.strip().casefold() == text.casefold()]
    return folded[0] if len(folded) == 1 else None


def split_ranking(text: str, separator: str | None = None) -> list[str]:
    """The names of a ranking written as text, best first (see the module docstring for separators).

    Example:
        >>> split_ranking("B-A-C"), split_ranking("Tablet, E-reader"), split_ranking("A / B", "/")
        (['B', 'A', 'C'], ['Tablet', 'E-reader'], ['A', 'B'])
    """
    sep = separator if separator is not None else next((s for s in SEPARATORS if s in text), None)
    parts = [text] if sep is None else text.split(sep)
    return [p.strip() for p in parts]


def check_order(names: Sequence[str], options: Sequence[str], *, allow_partial: bool = False) -> list[str]:
    """``names`` matched to ``options`` (ignoring case and surrounding spaces), checked as a ranking.

    Raises:
        InvalidArgument: a blank or unknown name, an option named twice, or (unless ``allow_partial``)
            an option left out.

    Example:
        >>> check_order(["a", "c"], ["A", "B", "C"])
        Traceback (most recent call last):
        ...
        tinytroupe.errors.InvalidArgument: the ranking leaves out 'B': rank every option (or allow partial rankings)
    """
    order: list[str] = []
    for name in names:
        if not str(name).strip():
            raise InvalidArgument(f"the ranking {list(names)} has a blank place")
        option = _match(str(name), options)
        if option is None:
            raise InvalidArgument(f"{str(name).strip()!r} is not one of the options {list(options)}")
        if option in order:
            raise InvalidArgument(f"{option!r} is ranked twice (a tie?): each option takes one place")
        order.append(option)
    missing = [o for o in options if o not in order]
    if not order:
        raise InvalidArgument("the ranking is empty")
    if missing and not allow_partial:
        raise InvalidArgument(f"the ranking leaves out {', '.join(map(repr, missing))}: rank every option "
                              f"(or allow partial rankings)")
    return order


def parse_ranking(value: str | Sequence[str], options: Sequence[str], *, separator: str | None = None,
                  allow_partial: bool = False) -> list[str]:
    """A ranking given as text (``"B > A > C"``) or as a list of names, checked against ``options``.

    Example:
        >>> parse_ranking(["C", "a"], ["A", "B", "C"], allow_partial=True)
        ['C', 'A']
    """
    names = split_ranking(value, separator) if isinstance(value, str) else list(value)
    return check_order(names, options, allow_partial=allow_partial)


def rank_problem(ranks: Mapping[str, int | None], *, allow_partial: bool = False) -> tuple[str, str] | None:
    """What is wrong with the ranks of the options (1 = best; None: not ranked), as (the option at fault,
    the message), or None when they form a ranking: 1, 2, ..., m without tie or gap, m the number of
    options unless partial (and at least 1).

    Example:
        >>> rank_problem({"A": 1, "B": 3, "C": None}, allow_partial=True)
        ('B', 'ranks [1, 3] skip [2]: the ranks given must be 1, 2, ... without gaps')
    """
    k = len(ranks)
    missing = [o for o, r in ranks.items() if r is None]
    if missing and not allow_partial:
        return missing[0], f"no rank for {missing[0]!r}: rank every option (or allow partial rankings)"
    by_rank: dict[int, str] = {}
    for option, rank in ranks.items():
        if rank is None:
            continue
        if not 1 <= rank <= k:
            return option, f"rank {rank} of {option!r} is outside 1..{k}"
        if rank in by_rank:
            return option, f"{by_rank[rank]!r} and {option!r} share rank {rank}: ties are not allowed"
        by_rank[rank] = option
    if not by_rank:
        return next(iter(ranks)), "no option is ranked"
    gaps = [r for r in range(1, len(by_rank) + 1) if r not in by_rank]
    if gaps:
        culprit = by_rank[max(by_rank)]
        return culprit, f"ranks {sorted(by_rank)} skip {gaps}: the ranks given must be 1, 2, ... without gaps"
    return None


def order_from_ranks(ranks: Mapping[str, int | None], *, allow_partial: bool = False) -> list[str]:
    """The order given by each option's rank (1 = best; None: not ranked, partial rankings only).

    Raises:
        InvalidArgument: a tie, a gap, a rank out of range, or a missing rank when not partial
            (see :func:`rank_problem`).

    Example:
        >>> order_from_ranks({"A": 2, "B": 1, "C": 3})
        ['B', 'A', 'C']
        >>> order_from_ranks({"A": 1, "B": 1, "C": 3})
        Traceback (most recent call last):
        ...
        tinytroupe.errors.InvalidArgument: 'A' and 'B' share rank 1: ties are not allowed
    """
    problem = rank_problem(ranks, allow_partial=allow_partial)
    if problem is not None:
        raise InvalidArgument(problem[1])
    given = {r: o for o, r in ranks.items() if r is not None}
    return [given[r] for r in sorted(given)]


def rank_matrix(orders: Sequence[Sequence[str]], options: Sequence[str]) -> npt.NDArray[np.float64]:
    """One row per ranking, one column per option: its rank (1 = best; options left out of a partial
    ranking share the mean of the unused ranks).

    Example:
        >>> rank_matrix([["B", "A", "C"], ["C"]], ["A", "B", "C"]).tolist()
        [[2.0, 1.0, 3.0], [2.5, 2.5, 1.0]]
    """
    k = len(options)
    column = {o: j for j, o in enumerate(options)}
    out = np.empty((len(orders), k), dtype=float)
    for i, order in enumerate(orders):
        m = len(order)
        out[i, :] = (m + 1 + k) / 2
        for place, option in enumerate(order):
            out[i, column[option]] = place + 1
    return out


def summarise(ranks: npt.NDArray[np.float64], options: Sequence[str]) -> RankingSummary:
    """Mean ranks, Borda points and shares, and first-choice shares of a rank matrix (see :func:`rank_matrix`).

    Example:
        >>> s = summarise(rank_matrix([["A", "B"], ["A", "B"], ["B", "A"]], ["A", "B"]), ["A", "B"])
        >>> round(s.mean_rank["A"], 3), round(s.sd_rank["A"], 3), s.borda_share, round(s.first_choice_share["A"], 3)
        (1.333, 0.577, {'A': 0.6666666666666666, 'B': 0.3333333333333333}, 0.667)
    """
    n, k = ranks.shape
    if n == 0:
        raise InvalidArgument("no rankings to summarise")
    points = (k - ranks).sum(axis=0)
    total = n * k * (k - 1) / 2
    first = (ranks == 1).sum(axis=0) / n
    sd = ranks.std(axis=0, ddof=1) if n > 1 else [math.nan] * k
    partial = int(((ranks != np.round(ranks)) | (np.sort(ranks, axis=1) != np.arange(1, k + 1))).any(axis=1).sum())
    return RankingSummary(
        n=n, options=list(options), mean_rank={o: float(v) for o, v in zip(options, ranks.mean(axis=0), strict=True)},
        sd_rank={o: None if n < 2 else float(v) for o, v in zip(options, sd, strict=True)},
        borda_points={o: float(v) for o, v in zip(options, points, strict=True)},
        borda_share={o: float(v / total) for o, v in zip(options, points, strict=True)},
        first_choice_share={o: float(v) for o, v in zip(options, first, strict=True)}, partial=partial)


__all__ = ["SEPARATORS", "RankingRecord", "RankingSummary", "check_order", "order_from_ranks", "parse_ranking",
           "rank_matrix", "rank_problem", "split_ranking", "summarise"]
