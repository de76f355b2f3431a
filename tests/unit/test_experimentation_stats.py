"""StatisticalTester and the effect sizes: checked against scipy directly and against published values.

Known values: Student's sleep data (Cushny & Peebles, as in R's ``datasets::sleep``) with R's
``t.test`` outputs (Welch: t = -1.8608, df = 17.776, p = 0.07939; paired: t = -4.0621, df = 9,
p = 0.002833) and ``wilcox.test`` (W = 25.5, p = 0.06933); the other "known" values are worked by hand
in the comments.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from tinytroupe.errors import InvalidArgument, InvalidArgumentType, NotFound
from tinytroupe.experimentation import (
    StatisticalTester,
    cohen_d,
    cohen_d_ci,
    cramers_v,
    eta_squared,
    hedges_g,
    paired_cohen_d,
    rank_biserial,
)
from tinytroupe.experimentation import hypothesis_tests as ht

SLEEP_1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0]
SLEEP_2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4]


def _random_samples(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(5, 1.5, 23), rng.normal(5.8, 2.5, 31)


# -- textbook values --------------------------------------------------------------------------------

def test_welch_t_matches_r_on_the_sleep_data() -> None:
    r = ht.welch_t_test(SLEEP_1, SLEEP_2)
    # R reports group 1 minus group 2; ours is treatment (2) minus control (1): the sign flips.
    assert r.statistic == pytest.approx(1.8608, abs=5e-5)
    assert r.degrees_of_freedom == pytest.approx(17.776, abs=5e-4)
    assert r.p_value == pytest.approx(0.07939, abs=5e-6)
    assert r.confidence_interval == pytest.approx((-0.2054832, 3.3654832), abs=1e-6)
    assert r.mean_difference == pytest.approx(1.58)
    assert not r.significant


def test_paired_t_matches_r_on_the_sleep_data() -> None:
    r = ht.paired_t_test(SLEEP_1, SLEEP_2)
    assert (r.statistic, r.degrees_of_freedom) == (pytest.approx(4.0621, abs=5e-5), 9.0)
    assert r.p_value == pytest.approx(0.002833, abs=5e-7)
    assert r.confidence_interval == pytest.approx((0.7001142, 2.4598858), abs=1e-6)
    assert r.significant and r.effect_size is not None and r.effect_size.name == "cohen_dz"


def test_mann_whitney_matches_r_on_the_sleep_data() -> None:
    r = ht.mann_whitney(SLEEP_1, SLEEP_2)
    # R's W is the first group's U (25.5); ours is the treatment's: n1*n2 - 25.5.
    assert r.statistic == 100 - 25.5
    assert r.p_value == pytest.approx(0.06933, abs=5e-6)
    assert r.effect_size is not None and r.effect_size.value == pytest.approx(2 * 74.5 / 100 - 1)


def test_hand_worked_values() -> None:
    # means 2 and 4, both sd 1: d = 2; J = 1 - 3/(4*6 - 9) = 0.8; se(d) = sqrt(6/9 + 4/12) = 1.
    assert cohen_d([1, 2, 3], [3, 4, 5]) == 2.0
    assert hedges_g([1, 2, 3], [3, 4, 5]).value == pytest.approx(1.6)
    d = cohen_d_ci([1, 2, 3], [3, 4, 5])
    z = stats.norm.ppf(0.975)
    assert (d.ci_low, d.ci_high) == (pytest.approx(2 - z), pytest.approx(2 + z))
    # paired differences 1, 2, 3: mean 2, sd 1, so d_z = 2
    assert paired_cohen_d([1, 2, 3], [2, 4, 6]).value == pytest.approx(2.0)
    # 2x2 table of 100 answers with every expected count 25: chi2 = 4 * 5**2 / 25 = 4, V = sqrt(4/100)
    r = ht.chi_square([20, 30], [30, 20], correction=False)
    assert (r.statistic, r.degrees_of_freedom) == (pytest.approx(4.0), 1.0)
    assert r.p_value == pytest.approx(2 * stats.norm.sf(2))  # chi2(1) = z**2
    assert r.effect_size is not None and r.effect_size.value == pytest.approx(0.2)
    # Yates: (|5| - 0.5)**2 / 25 * 4 = 3.24
    assert ht.chi_square([20, 30], [30, 20]).statistic == pytest.approx(3.24)
    # groups with means 2, 5, 8: SSB = 3*(9 + 0 + 9) = 54, SSW = 6, F = 27 / 1, eta² = 54/60
    a = ht.anova({"a": [1, 2, 3], "b": [4, 5, 6], "c": [7, 8, 9]})
    assert (a.statistic, a.effect_size.value if a.effect_size else None) == (pytest.approx(27.0), pytest.approx(0.9))
    # fully separated samples of 3: exact two-sided p = 2 / C(6, 3)
    assert ht.mann_whitney([1, 2, 3], [4, 5, 6]).p_value == pytest.approx(0.1)
    assert ht.ks_test([1, 2, 3], [4, 5, 6]).p_value == pytest.approx(0.1)


# -- against scipy directly -------------------------------------------------------------------------

@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_test_agrees_with_scipy(seed: int) -> None:
    c, t = _random_samples(seed)
    welch, student = stats.ttest_ind(t, c, equal_var=False), stats.ttest_ind(t, c)
    assert ht.welch_t_test(c, t).statistic == pytest.approx(welch.statistic)
    assert ht.welch_t_test(c, t).p_value == pytest.approx(welch.pvalue)
    assert ht.t_test(c, t).p_value == pytest.approx(student.pvalue)
    assert ht.t_test(c, t).degrees_of_freedom == len(c) + len(t) - 2
    paired = stats.ttest_rel(t[:20], c[:20])
    assert ht.paired_t_test(c[:20], t[:20]).p_value == pytest.approx(paired.pvalue)
    mwu = stats.mannwhitneyu(t, c, alternative="two-sided")
    assert (ht.mann_whitney(c, t).statistic, ht.mann_whitney(c, t).p_value) == (mwu.statistic,
                                                                                 pytest.approx(mwu.pvalue))
    f = stats.f_oneway(c, t, c + 1)
    assert ht.anova({"c": c, "t": t, "c1": c + 1}).p_value == pytest.approx(f.pvalue)
    ks = stats.ks_2samp(t, c)
    assert (ht.ks_test(c, t).statistic, ht.ks_test(c, t).p_value) == (ks.statistic, pytest.approx(ks.pvalue))
    table = np.array([[12, 30, 9], [20, 14, 17]])
    chi = stats.chi2_contingency(table)
    got = ht.chi_square(table[0], table[1])
    assert (got.statistic, got.p_value, got.degrees_of_freedom) == (pytest.approx(chi.statistic),
                                                                     pytest.approx(chi.pvalue), chi.dof)
    assert cramers_v(table).value == pytest.approx(stats.contingency.association(table, method="cramer"))


def test_effect_sizes_agree_with_their_definitions() -> None:
    c, t = _random_samples(7)
    pooled = math.sqrt(((len(c) - 1) * c.var(ddof=1) + (len(t) - 1) * t.var(ddof=1)) / (len(c) + len(t) - 2))
    assert cohen_d(c, t) == pytest.approx((t.mean() - c.mean()) / pooled)
    u = stats.mannwhitneyu(t, c).statistic
    assert rank_biserial(c, t).value == pytest.approx(2 * u / (len(c) * len(t)) - 1)
    every = np.concatenate([c, t])
    ssb = len(c) * (c.mean() - every.mean()) ** 2 + len(t) * (t.mean() - every.mean()) ** 2
    assert eta_squared(c, t).value == pytest.approx(ssb / ((every - every.mean()) ** 2).sum())


def test_bootstrap_intervals_are_seeded_and_cover_the_estimate() -> None:
    c, t = _random_samples(11)
    first, again, other = (rank_biserial(c, t, seed=5), rank_biserial(c, t, seed=5), rank_biserial(c, t, seed=6))
    assert first == again and first != other
    assert first.ci_low is not None and first.ci_high is not None
    assert first.ci_low < first.value < first.ci_high
    assert "2000 resamples, seed 5" in first.ci_method
    v = cramers_v([[12, 30, 9], [20, 14, 17]], seed=3, n_resamples=500)
    assert v.ci_low is not None and v.ci_high is not None and v.ci_low < v.value < v.ci_high
    e = eta_squared(c, t, c + 2, seed=1)
    assert e.ci_low is not None and e.ci_high is not None and e.ci_low <= e.value <= e.ci_high


def test_degenerate_data_give_nan_not_zero() -> None:
    assert math.isnan(cohen_d([3, 3, 3], [3, 3, 3]))  # undefined, not "no effect"
    assert math.isnan(paired_cohen_d([1, 2], [2, 3]).value)  # the differences have no spread


# -- StatisticalTester ----------------------------------------------------------------------------

def test_tester_shapes_and_tinytroupe_style_access() -> None:
    tester = StatisticalTester({"control": {"rating": SLEEP_1, "other": [1, 2, 3]}},
                               {"treatment": {"rating": SLEEP_2}, "second": {"rating": [x + 1 for x in SLEEP_1]}})
    results = tester.run_test("welch_t_test", alpha=0.1)
    assert set(results) == {"treatment", "second"} and set(results["treatment"]) == {"rating"}
    r = results["treatment"]["rating"]
    assert r["t_statistic"] == r.statistic and r["p_value"] == r.p_value
    assert r["effect_size"] == pytest.approx(cohen_d(SLEEP_1, SLEEP_2)) and r["effect_size_type"] == "cohen_d"
    assert r.significant and r.confidence_level == pytest.approx(0.9)  # p = 0.079 < 0.1
    assert tester.skipped == {"treatment": {"other": "not measured in this treatment"},
                              "second": {"other": "not measured in this treatment"}}
    with pytest.raises(NotFound):
        r["no_such_key"]


def test_tester_results_key_missing_values_and_options() -> None:
    tester = StatisticalTester({"c": {"results": {"m": [1, 2, None, 4, 5]}}},
                               {"t": {"results": {"m": [3, 4, 5, None, 7]}}}, results_key="results")
    r = tester.run_test("mann_whitney", seed=3, n_resamples=200)["t"]["m"]
    assert (r.control_sample_size, r.treatment_sample_size) == (4, 4)
    assert "2 missing values (None) dropped" in r.notes
    assert "200 resamples, seed 3" in (r.effect_size.ci_method if r.effect_size else "")
    raw = StatisticalTester({"c": {"choice": ["A", "A", "B"]}}, {"t": {"choice": ["B", "B", "A"]}})
    chi = raw.run_test("chi_square", data="raw")["t"]["choice"]
    assert (chi.control_sample_size, chi.treatment_sample_size) == (3, 3)


def test_tester_omnibus_anova_and_assumptions() -> None:
    tester = StatisticalTester({"c": {"m": [1, 2, 3]}}, {"b": {"m": [4, 5, 6]}, "a": {"m": [7, 8, 9]}})
    assert tester.anova("m").statistic == pytest.approx(27.0)
    pairwise = tester.run_test("anova")
    assert pairwise["b"]["m"].statistic == pytest.approx(ht.welch_t_test([1, 2, 3], [4, 5, 6]).statistic ** 2)
    c, t = _random_samples(4)
    checks = StatisticalTester({"c": {"m": list(c)}}, {"t": {"m": list(t)}}).check_assumptions("m")
    check = checks["t"]
    assert check.levene_p_value == pytest.approx(stats.levene(c, t).pvalue)
    assert check.control_normality.p_value == pytest.approx(stats.shapiro(c).pvalue)
    assert check.recommended_test in ("t_test", "welch_t_test", "mann_whitney")
    with pytest.raises(NotFound):
        tester.check_assumptions("nope")


@pytest.mark.parametrize(("control", "treatments", "error"), [
    ({}, {"t": {"m": [1]}}, InvalidArgument),
    ({"a": {"m": [1]}, "b": {"m": [1]}}, {"t": {"m": [1]}}, InvalidArgument),
    ({"c": {"m": [1, 2]}}, {}, InvalidArgument),
    ({"c": {"m": "1, 2"}}, {"t": {"m": [1, 2]}}, InvalidArgumentType),
    ({"c": []}, {"t": {"m": [1, 2]}}, InvalidArgument),
    ("not a dict", {"t": {"m": [1, 2]}}, InvalidArgumentType),
])
def test_tester_rejects_bad_shapes(control: object, treatments: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        StatisticalTester(control, treatments)  # type: ignore[arg-type]


def test_tester_errors_name_the_metric() -> None:
    tester = StatisticalTester({"c": {"m": [1, 2, 3]}}, {"t": {"m": [1, "two", 3]}})
    with pytest.raises(InvalidArgument, match=r"treatment 't', metric 'm': treatment\[1\] is 'two'"):
        tester.run_test()
    with pytest.raises(InvalidArgument, match="unknown test_type"):
        tester.run_test("z_test")
    with pytest.raises(InvalidArgument, match="alpha"):
        tester.run_test(alpha=1.5)
    with pytest.raises(InvalidArgument, match="unknown test options"):
        tester.run_test(sed=1)
    unequal = StatisticalTester({"c": {"m": [1, 2, 3]}}, {"t": {"m": [1, 2]}})
    with pytest.raises(InvalidArgument, match="paired t-test needs as many"):
        unequal.run_test("paired_t_test")
