"""Simulated rankings against real ones: mean ranks, Borda counts and first choices, tested per option.

Both sides are summarised (:func:`~tinytroupe.validation.rankings.summarise`: per option the mean
rank with its sd and n, Borda points and shares, first-choice shares). Then:

* per option, the ranks given by real and by simulated respondents are tested: Welch's t-test by
  default, Student's t or the Mann-Whitney U test on request; p-values are given raw and
  Holm-adjusted over the options (one test per option inflates false alarms);
* Spearman's rank correlation between the two sides' mean ranks: do they order the options alike?
* total variation distances between the first-choice shares and between the Borda shares, beside
  the same distances for the *uniform* baseline (rankings drawn at random: every share 1/k).

Example:
    >>> from tinytroupe.validation.dataset import SimulationExperimentDataset as D
    >>> real = D.from_rankings(["A>B>C"] * 6 + ["B>A>C"] * 4, options=["A", "B", "C"])
    >>> sim = D.from_rankings(["A>B>C"] * 3 + ["B>A>C"] * 7, options=["A", "B", "C"])
    >>> v = compare_rankings(real, sim)
    >>> v.simulated.mean_rank["A"], round(v.first_choice_tvd, 3), round(v.borda_tvd, 3)
    (1.7, 0.3, 0.1)
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
from pydantic import BaseModel, ConfigDict

from tinytroupe.errors import InvalidArgument
from tinytroupe.experimentation.hypothesis_tests import StatisticalTestResult, mann_whitney, t_test, welch_t_test
from tinytroupe.validation.dataset import SimulationExperimentDataset
from tinytroupe.validation.metrics import total_variation_distance
from tinytroupe.validation.rankings import RankingSummary, rank_matrix, summarise

RANK_TESTS: dict[str, Callable[..., StatisticalTestResult]] = {
    "welch_t_test": welch_t_test, "t_test": t_test, "mann_whitney": mann_whitney}


class OptionRankTest(BaseModel):
    """One option's ranks, real against simulated: the test, and its Holm-adjusted p-value over the options."""

    model_config = ConfigDict(frozen=True)
    option: str
    test: StatisticalTestResult
    p_holm: float
    significant_holm: bool


class RankingValidation(BaseModel):
    """Real against simulated rankings of the same options (see the module docstring)."""

    model_config = ConfigDict(frozen=True)
    options: list[str]
    real: RankingSummary
    simulated: RankingSummary
    test_type: str
    alpha: float
    option_tests: list[OptionRankTest]
    spearman_rho: float | None
    spearman_p: float | None
    first_choice_tvd: float
    borda_tvd: float
    uniform_first_choice_tvd: float
    uniform_borda_tvd: float
    notes: list[str] = []

    def significant_options(self, *, adjusted: bool = False) -> list[str]:
        """The options whose ranks differ significantly (Holm-adjusted when ``adjusted``)."""
        return [t.option for t in self.option_tests if (t.significant_holm if adjusted else t.test.significant)]


def holm(p_values: list[float]) -> list[float]:
    """Holm's step-down adjustment of ``p_values`` (NaN stays NaN and is not counted).

    Example:
        >>> holm([0.01, 0.04, 0.03])
        [0.03, 0.06, 0.06]
    """
    finite = sorted((p, i) for i, p in enumerate(p_values) if not np.isnan(p))
    out = [float("nan")] * len(p_values)
    running = 0.0
    for step, (p, i) in enumerate(finite):
        running = max(running, min(1.0, (len(finite) - step) * p))
        out[i] = round(running, 15)
    return out


def _spearman(a: list[float], b: list[float], notes: list[str]) -> tuple[float | None, float | None]:
    from scipy import stats

    if np.ptp(a) == 0 or np.ptp(b) == 0:
        notes.append("every option has the same mean rank on one side: no Spearman correlation")
        return None, None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        res = stats.spearmanr(a, b)
    rho, p = float(res.statistic), float(res.pvalue)
    if len(a) < 3:
        notes.append("two options: Spearman's rho is ±1 and has no p-value")
    return rho, None if np.isnan(p) else p


def _option_tests(real: np.ndarray, sim: np.ndarray, options: list[str], test_type: str, alpha: float,
                  notes: list[str]) -> list[OptionRankTest]:
    test = RANK_TESTS[test_type]
    if min(len(real), len(sim)) < 2 and test_type != "mann_whitney":
        notes.append("fewer than 2 rankings on one side: no t-test of the ranks")
        return []
    found: list[tuple[str, StatisticalTestResult]] = []
    for j, option in enumerate(options):
        try:
            found.append((option, test(real[:, j], sim[:, j], alpha)))
        except InvalidArgument as exc:
            notes.append(f"{option!r}: not tested ({exc})")
    adjusted = holm([r.p_value for _, r in found])
    return [OptionRankTest(option=o, test=r, p_holm=p, significant_holm=bool(p < alpha))
            for (o, r), p in zip(found, adjusted, strict=True)]


def compare_rankings(real: SimulationExperimentDataset, simulated: SimulationExperimentDataset, *,
                     alpha: float = 0.05, test_type: str = "welch_t_test") -> RankingValidation:
    """Compare simulated rankings with real ones of the same options (in any order).

    Args:
        test_type: ``"welch_t_test"`` (default), ``"t_test"`` or ``"mann_whitney"``; other
            ``StatisticalTester`` types fall back to Welch's t-test, with a note.

    Raises:
        InvalidArgument: a side without rankings, or rankings of different options.
    """
    if not (real.has_rankings() and simulated.has_rankings()):
        raise InvalidArgument(f"both datasets need rankings: {real.name!r} has {len(real.rankings)}, "
                              f"{simulated.name!r} has {len(simulated.rankings)}")
    options = list(real.options or [])
    if sorted(options) != sorted(simulated.options or []):
        only_a = [o for o in options if o not in (simulated.options or [])]
        only_b = [o for o in simulated.options or [] if o not in options]
        raise InvalidArgument(f"datasets {real.name!r} and {simulated.name!r} rank different options (only in "
                              f"{real.name!r}: {only_a}; only in {simulated.name!r}: {only_b})")
    notes: list[str] = []
    if test_type not in RANK_TESTS:
        notes.append(f"ranks are tested with Welch's t-test ({test_type!r} does not apply to ranks)")
        test_type = "welch_t_test"
    a = rank_matrix([r.order for r in real.rankings], options)
    b = rank_matrix([r.order for r in simulated.rankings], options)
    sa, sb = summarise(a, options), summarise(b, options)
    for side, s in (("real", sa), ("simulated", sb)):
        if s.partial:
            notes.append(f"{s.partial} {side} rankings are partial: unranked options share the unused ranks")
    uniform = [1 / len(options)] * len(options)
    fa, fb = [sa.first_choice_share[o] for o in options], [sb.first_choice_share[o] for o in options]
    ba, bb = [sa.borda_share[o] for o in options], [sb.borda_share[o] for o in options]
    rho, p = _spearman([sa.mean_rank[o] for o in options], [sb.mean_rank[o] for o in options], notes)
    return RankingValidation(
        options=options, real=sa, simulated=sb, test_type=test_type, alpha=alpha,
        option_tests=_option_tests(a, b, options, test_type, alpha, notes), spearman_rho=rho, spearman_p=p,
        first_choice_tvd=total_variation_distance(fa, fb), borda_tvd=total_variation_distance(ba, bb),
        uniform_first_choice_tvd=total_variation_distance(fa, uniform),
        uniform_borda_tvd=total_variation_distance(ba, uniform), notes=notes)


def ranking_summary_line(v: RankingValidation) -> str:
    """One sentence for the validation's summary."""
    differ = v.significant_options()
    rho = "no Spearman correlation" if v.spearman_rho is None else f"Spearman's rho of mean ranks {v.spearman_rho:.3f}"
    return (f"Rankings: {rho}; first-choice shares {v.first_choice_tvd:.3f} apart in total variation (uniform "
            f"baseline {v.uniform_first_choice_tvd:.3f}), Borda shares {v.borda_tvd:.3f} (uniform "
            f"{v.uniform_borda_tvd:.3f}); ranks differ significantly for "
            f"{', '.join(differ) if differ else 'no option'} of {len(v.options)}.")


__all__ = ["RANK_TESTS", "OptionRankTest", "RankingValidation", "compare_rankings", "holm", "ranking_summary_line"]
