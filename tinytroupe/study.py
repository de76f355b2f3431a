"""Running a scenario file end to end: kept at this import path for scripts that use it; the code lives
in :mod:`tinytroupe.scenario.study` (replace or patch its names there)."""

from tinytroupe.scenario.study import (
    EXECUTORS,
    StudyOutputs,
    results_table,
    run_study,
    study_client,
    study_executor,
    study_settings,
)

__all__ = ["EXECUTORS", "StudyOutputs", "results_table", "run_study", "study_client", "study_executor",
           "study_settings"]
