"""Turning what agents did into results: validated fields, DataFrames, JSON and CSV.

Public names: ResultsExtractor, AgentResults, agent_keys, FieldSpec, results_to_dataframe, save_results_csv.
"""

from tinytroupe.extraction.fields import FieldSpec
from tinytroupe.extraction.results_extractor import (
    AgentResults,
    ResultsExtractor,
    agent_keys,
    results_to_dataframe,
    save_results_csv,
)

__all__ = ["AgentResults", "FieldSpec", "ResultsExtractor", "agent_keys", "results_to_dataframe", "save_results_csv"]
