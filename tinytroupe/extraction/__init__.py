"""Turning what agents did into results: validated fields, DataFrames, JSON and CSV.

Public names: ResultsExtractor, FieldSpec, results_to_dataframe, save_results_csv.
"""

from tinytroupe.extraction.fields import FieldSpec
from tinytroupe.extraction.results_extractor import ResultsExtractor, results_to_dataframe, save_results_csv

__all__ = ["FieldSpec", "ResultsExtractor", "results_to_dataframe", "save_results_csv"]
