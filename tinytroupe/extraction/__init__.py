"""Turning what agents did into results, as TinyTroupe's ``tinytroupe.extraction``: validated fields
(:class:`ResultsExtractor`), rule-based rows (:class:`ResultsReducer`), reports and the results at a
glance (:class:`ResultsReporter`, :func:`summarize_results`), free text grouped into categories
(:class:`Normalizer`), DataFrames, JSON and CSV; and asking a population for the probability of each
option of a question (:func:`ask_population_distribution`).

Public names: ResultsExtractor, ResultsReducer, ResultsReporter, Normalizer, AgentResults, agent_keys,
FieldSpec, results_to_dataframe, save_results_csv, summarize_results, ResultsSummary, FieldSummary,
results_markdown, PopulationDistribution, ask_population_distribution, aask_population_distribution,
ask_distribution_baseline, aask_distribution_baseline; QuizGrader (a classroom's quizzes, by answer key or rubric).
"""

from tinytroupe.extraction.distribution import (
    PopulationDistribution,
    aask_distribution_baseline,
    aask_population_distribution,
    ask_distribution_baseline,
    ask_population_distribution,
)
from tinytroupe.extraction.fields import FieldSpec
from tinytroupe.extraction.normalizer import Normalizer
from tinytroupe.extraction.quiz_grading import QuizGrader
from tinytroupe.extraction.results_extractor import (
    AgentResults,
    ResultsExtractor,
    agent_keys,
    results_to_dataframe,
    save_results_csv,
)
from tinytroupe.extraction.results_reducer import ResultsReducer
from tinytroupe.extraction.results_reporter import ResultsReporter
from tinytroupe.extraction.summary import FieldSummary, ResultsSummary, summarize_results
from tinytroupe.extraction.summary_markdown import results_markdown

__all__ = ["AgentResults", "FieldSpec", "FieldSummary", "Normalizer", "PopulationDistribution", "QuizGrader",
           "ResultsExtractor", "ResultsReducer", "ResultsReporter", "ResultsSummary", "aask_distribution_baseline",
           "aask_population_distribution", "agent_keys", "ask_distribution_baseline", "ask_population_distribution",
           "results_markdown", "results_to_dataframe", "save_results_csv", "summarize_results"]
