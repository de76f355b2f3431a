"""Turning what agents did into results: validated fields, DataFrames, JSON and CSV; and asking a
population for the probability of each option of a question.

Public names: ResultsExtractor, AgentResults, agent_keys, FieldSpec, results_to_dataframe, save_results_csv,
PopulationDistribution, ask_population_distribution, aask_population_distribution, ask_distribution_baseline,
aask_distribution_baseline.
"""

from tinytroupe.extraction.distribution import (
    PopulationDistribution,
    aask_distribution_baseline,
    aask_population_distribution,
    ask_distribution_baseline,
    ask_population_distribution,
)
from tinytroupe.extraction.fields import FieldSpec
from tinytroupe.extraction.results_extractor import (
    AgentResults,
    ResultsExtractor,
    agent_keys,
    results_to_dataframe,
    save_results_csv,
)

__all__ = [
    "AgentResults",
    "FieldSpec",
    "PopulationDistribution",
    "ResultsExtractor",
    "aask_distribution_baseline",
    "aask_population_distribution",
    "agent_keys",
    "ask_distribution_baseline",
    "ask_population_distribution",
    "results_to_dataframe",
    "save_results_csv",
]
