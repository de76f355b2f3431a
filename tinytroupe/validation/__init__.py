"""Validation: checking simulations against reality and simulated people against expectations, as
TinyTroupe's ``tinytroupe.validation``.

``TinyPersonValidator`` interviews one simulated person and scores it (0.0-1.0, with a justification);
:mod:`tinytroupe.validation.propositions` holds the predefined propositions (persona adherence,
self-consistency, fluency, task completion, divergence, ...).

Empirical validation compares simulated answers with real ones (raw answers or option shares from a
CSV file), per cell and overall, always beside a uniform and a no-persona baseline, and writes a
Markdown or self-contained HTML report. Rankings of options (each respondent orders them) are
compared by mean rank, Borda count and first choice, with a test per option. A small real public
dataset ships as an example.

Public names: TinyPersonValidator, propositions, SimulationExperimentDataset, SimulationExperimentEmpiricalValidator,
SimulationExperimentEmpiricalValidationResult, validate_simulation_experiment_empirically,
ResponseRecord, OptionShares, read_csv, read_values_csv, compare_datasets, DistributionValidation,
CellComparison, BaselineComparison, DistributionSummary, DistributionDistance, distances,
total_variation_distance, wasserstein_1, jensen_shannon, load_anes1996_self_placement,
example_data_path, ANES1996_OPTIONS, ANES1996_PARTY_IDS, ANES1996_QUESTION, RankingRecord,
RankingSummary, RankingValidation, OptionRankTest, compare_rankings, read_rankings_csv.

Example:
    >>> from tinytroupe.validation import load_anes1996_self_placement, SimulationExperimentDataset
    >>> real = load_anes1996_self_placement(cell_column=None)
    >>> sim = SimulationExperimentDataset.from_shares(  # a made-up simulation, for the example only
    ...     {"Moderate": 0.5, "Conservative": 0.5}, options=real.options, n=20, name="made-up simulation")
    >>> result = SimulationExperimentEmpiricalValidator().validate(real, sim, ["statistical"])
    >>> round(result.distribution_results.overall.distance.tvd, 3)
    0.498
"""

from tinytroupe.validation import propositions
from tinytroupe.validation.comparison import (
    BaselineComparison,
    CellComparison,
    DistributionSummary,
    DistributionValidation,
    compare_datasets,
)
from tinytroupe.validation.data_files import read_csv, read_values_csv
from tinytroupe.validation.dataset import OptionShares, ResponseRecord, SimulationExperimentDataset
from tinytroupe.validation.empirical import (
    SimulationExperimentEmpiricalValidationResult,
    SimulationExperimentEmpiricalValidator,
    validate_simulation_experiment_empirically,
)
from tinytroupe.validation.example_data import (
    ANES1996_OPTIONS,
    ANES1996_PARTY_IDS,
    ANES1996_QUESTION,
    example_data_path,
    load_anes1996_self_placement,
)
from tinytroupe.validation.metrics import (
    DistributionDistance,
    distances,
    jensen_shannon,
    total_variation_distance,
    wasserstein_1,
)
from tinytroupe.validation.ranking_comparison import OptionRankTest, RankingValidation, compare_rankings
from tinytroupe.validation.ranking_files import read_rankings_csv
from tinytroupe.validation.rankings import RankingRecord, RankingSummary
from tinytroupe.validation.tiny_person_validator import TinyPersonValidator

__all__ = [
    "ANES1996_OPTIONS",
    "ANES1996_PARTY_IDS",
    "ANES1996_QUESTION",
    "BaselineComparison",
    "CellComparison",
    "DistributionDistance",
    "DistributionSummary",
    "DistributionValidation",
    "OptionRankTest",
    "OptionShares",
    "RankingRecord",
    "RankingSummary",
    "RankingValidation",
    "ResponseRecord",
    "SimulationExperimentDataset",
    "SimulationExperimentEmpiricalValidationResult",
    "SimulationExperimentEmpiricalValidator",
    "TinyPersonValidator",
    "compare_datasets",
    "compare_rankings",
    "distances",
    "example_data_path",
    "jensen_shannon",
    "load_anes1996_self_placement",
    "propositions",
    "read_csv",
    "read_rankings_csv",
    "read_values_csv",
    "total_variation_distance",
    "validate_simulation_experiment_empirically",
    "wasserstein_1",
]
