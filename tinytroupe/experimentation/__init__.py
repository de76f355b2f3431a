"""Experimentation: A/B experiments on simulations, their statistics, batch runs, and claims judged
against simulations, as TinyTroupe's ``tinytroupe.experimentation``.

:class:`Proposition` has a language model judge a claim about agents or worlds (true/false or 0-9,
with a justification and a confidence); :func:`check_proposition` and :func:`compute_score` are its
one-off shorthands.

:class:`ABRandomizer` shows two options in a seeded random order and decodes the answer;
:class:`InPlaceExperimentRunner` keeps experiment arms in a JSON file (one arm per notebook run, or both
arms in one world); :class:`StatisticalTester` compares a control with treatments (Welch, Student and
paired t, Mann-Whitney U, ANOVA, chi-square, Kolmogorov-Smirnov) with effect sizes and confidence
intervals; :func:`batch_run` runs a model over a parameter grid with explicit seeds into a DataFrame.

Public names: Proposition, check_proposition, compute_score, acheck_proposition, acompute_score,
ABRandomizer, InPlaceExperimentRunner, StatisticalTester, StatisticalTestResult, AssumptionCheck,
NormalityCheck, EffectSize, cohen_d, cohen_d_ci, hedges_g, paired_cohen_d, rank_biserial, eta_squared,
cramers_v, batch_run, abatch_run, replication_seed, TEST_TYPES.

Example:
    >>> from tinytroupe.experimentation import StatisticalTester
    >>> tester = StatisticalTester({"control": {"score": [3, 4, 5, 4]}}, {"new": {"score": [5, 6, 7, 6]}})
    >>> tester.run_test("mann_whitney")["new"]["score"].effect_size.value
    0.9375
"""

from tinytroupe.experimentation.batch import abatch_run, batch_run, replication_seed
from tinytroupe.experimentation.effect_sizes import (
    EffectSize,
    cohen_d,
    cohen_d_ci,
    cramers_v,
    eta_squared,
    hedges_g,
    paired_cohen_d,
    rank_biserial,
)
from tinytroupe.experimentation.hypothesis_tests import StatisticalTestResult
from tinytroupe.experimentation.in_place_experiment_runner import InPlaceExperimentRunner
from tinytroupe.experimentation.proposition import (
    Proposition,
    acheck_proposition,
    acompute_score,
    check_proposition,
    compute_score,
)
from tinytroupe.experimentation.randomization import ABRandomizer
from tinytroupe.experimentation.statistical_tests import (
    TEST_TYPES,
    AssumptionCheck,
    NormalityCheck,
    StatisticalTester,
)

__all__ = [
    "TEST_TYPES",
    "ABRandomizer",
    "AssumptionCheck",
    "EffectSize",
    "InPlaceExperimentRunner",
    "NormalityCheck",
    "Proposition",
    "StatisticalTestResult",
    "StatisticalTester",
    "abatch_run",
    "acheck_proposition",
    "acompute_score",
    "batch_run",
    "check_proposition",
    "cohen_d",
    "cohen_d_ci",
    "compute_score",
    "cramers_v",
    "eta_squared",
    "hedges_g",
    "paired_cohen_d",
    "rank_biserial",
    "replication_seed",
]
