"""Experimentation: A/B experiments on simulations, their statistics, and batch runs, as TinyTroupe's
``tinytroupe.experimentation``.

:class:`ABRandomizer` shows two options in a seeded random order and decodes the answer;
:class:`InPlaceExperimentRunner` keeps experiment arms in a JSON file (one arm per notebook run, or both
arms in one world); :class:`StatisticalTester` compares a control with treatments (Welch, Student and
paired t, Mann-Whitney U, ANOVA, chi-square, Kolmogorov-Smirnov) with effect sizes and confidence
intervals; :func:`batch_run` runs a model over a parameter grid with explicit seeds into a DataFrame.

Public names: ABRandomizer, InPlaceExperimentRunner, StatisticalTester, StatisticalTestResult,
AssumptionCheck, NormalityCheck, EffectSize, cohen_d, cohen_d_ci, hedges_g, paired_cohen_d,
rank_biserial, eta_squared, cramers_v, batch_run, abatch_run, replication_seed, TEST_TYPES.

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
    "StatisticalTestResult",
    "StatisticalTester",
    "abatch_run",
    "batch_run",
    "cohen_d",
    "cohen_d_ci",
    "cramers_v",
    "eta_squared",
    "hedges_g",
    "paired_cohen_d",
    "rank_biserial",
    "replication_seed",
]
