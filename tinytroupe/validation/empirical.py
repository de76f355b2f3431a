"""Empirical validation: does a simulation answer like the real people it stands for?

:class:`SimulationExperimentEmpiricalValidator` compares a *control* dataset (the real answers) with
a *treatment* dataset (the simulated ones), as TinyTroupe's does:

* ``"statistical"``: for a question with options, the answer distributions per cell and overall
  (:mod:`~tinytroupe.validation.comparison`: mean and sd, Welch's t and KS, total variation,
  Wasserstein-1, Jensen-Shannon), always beside the uniform and the no-persona baselines; for
  rankings of options, mean ranks, Borda counts and first choices with a test per option
  (:mod:`~tinytroupe.validation.ranking_comparison`); for TinyTroupe's ``key_results``, a
  :class:`~tinytroupe.experimentation.StatisticalTester` test per shared metric.
* ``"semantic"``: how close the two sides' justifications are, as the cosine similarity of their
  embeddings (TinyTroupe asked an LLM; an embedder is cheaper, offline and repeatable).

Where we differ on purpose: the overall score is the mean of the parts computed (1 − TVD of the
whole sample; 1 − TVD of the Borda shares for rankings; 1/(1 + |effect size|) averaged over
``key_results`` metrics; the justifications' centroid similarity), and
:attr:`~SimulationExperimentEmpiricalValidationResult.score_basis` says which; a failure of one
metric's test is recorded under ``statistical_results["errors"]`` instead of replacing every result
with one error string; reports come as Markdown and as HTML.

Example:
    >>> from tinytroupe.validation import SimulationExperimentDataset as D
    >>> real = D.from_responses(["Yes"] * 6 + ["No"] * 4, options=["No", "Yes"], name="poll")
    >>> sim = D.from_responses(["Yes"] * 7 + ["No"] * 3, options=["No", "Yes"], name="simulation")
    >>> result = validate_simulation_experiment_empirically(real, sim, validation_types=["statistical"],
    ...                                                     no_persona_baseline={"Yes": 0.9, "No": 0.1})
    >>> result.overall_score, result.score_basis
    (0.9, '1 − TVD of the whole sample')
    >>> "no-persona baseline" in result.to_markdown() and "<svg" in result.to_html()
    True
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from tinytroupe.embeddings.port import Embedder
from tinytroupe.embeddings.usem import USEEmbedder
from tinytroupe.errors import InvalidArgument, InvalidArgumentType
from tinytroupe.experimentation.statistical_tests import TEST_TYPES, StatisticalTester
from tinytroupe.validation import report
from tinytroupe.validation.comparison import DistributionValidation, NoPersonaBaseline, compare_datasets
from tinytroupe.validation.data_files import read_csv, read_values_csv
from tinytroupe.validation.dataset import SimulationExperimentDataset
from tinytroupe.validation.ranking_comparison import RankingValidation, compare_rankings, ranking_summary_line
from tinytroupe.validation.ranking_files import read_rankings_csv

VALIDATION_TYPES = ("statistical", "semantic")
#: TinyTroupe's names of ranking data: one column of orders, or one rank column per option (either layout here)
RANKING_DATA_TYPES = ("ordinal_ranking_per_agent", "ranking_per_agent")


class SimulationExperimentEmpiricalValidationResult(BaseModel):
    """What a validation found. TinyTroupe's fields, plus ``distribution_results`` (per cell and overall,
    with baselines), ``ranking_results`` (rankings of options), ``control_source`` and ``score_basis``."""

    model_config = ConfigDict(extra="forbid")
    validation_type: str
    control_name: str
    treatment_name: str
    control_source: str | None = None
    statistical_results: dict[str, Any] | None = None
    semantic_results: dict[str, Any] | None = None
    distribution_results: DistributionValidation | None = None
    ranking_results: RankingValidation | None = None
    overall_score: float | None = Field(default=None, ge=0.0, le=1.0)
    score_basis: str = ""
    summary: str = ""
    timestamp: str = Field(default_factory=lambda: datetime.now().isoformat(timespec="seconds"))

    def to_markdown(self) -> str:
        """The report as Markdown."""
        return report.to_markdown(self)

    def to_html(self) -> str:
        """The report as one self-contained HTML page (inline SVG charts, nothing fetched)."""
        return report.to_html(self)

    def save_report(self, path: str | Path) -> Path:
        """Write the report to ``path``: HTML for ``.html``/``.htm``, Markdown otherwise."""
        target = Path(path)
        html_suffix = target.suffix.lower() in (".html", ".htm")
        target.write_text(self.to_html() if html_suffix else self.to_markdown(), encoding="utf-8")
        return target


def _dataset(data: SimulationExperimentDataset | Mapping[str, Any], what: str) -> SimulationExperimentDataset:
    if isinstance(data, SimulationExperimentDataset):
        return data
    if isinstance(data, Mapping):
        return SimulationExperimentDataset.build(**data)
    raise InvalidArgumentType(f"{what} must be a SimulationExperimentDataset or a dict of its fields, "
                              f"got {type(data).__name__}")


def _metric_values(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def _key_result_tests(control: SimulationExperimentDataset, treatment: SimulationExperimentDataset, test_type: str,
                      alpha: float) -> dict[str, Any] | None:
    common = [m for m in control.key_results if m in treatment.key_results]
    if not common:
        return None
    results: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for metric in common:  # one metric at a time: one that cannot be tested keeps the others
        tester = StatisticalTester({"control": {metric: _metric_values(control.key_results[metric])}},
                                   {"treatment": {metric: _metric_values(treatment.key_results[metric])}})
        try:
            found = tester.run_test(test_type, alpha)["treatment"]
        except InvalidArgument as exc:
            errors[metric] = str(exc)
            continue
        results.update({m: r.model_dump(mode="json") for m, r in found.items()})
        errors.update(tester.skipped.get("treatment", {}))
    return {"common_metrics": common, "test_type": test_type, "significance_level": alpha,
            "test_results": {treatment.name or "treatment": results}, "errors": errors}


def _texts(ds: SimulationExperimentDataset) -> list[str]:
    texts = [j if isinstance(j, str) else str(j.get("justification", "")) for j in ds.agent_justifications]
    return [t for t in texts if t.strip()]


def _semantic(control: SimulationExperimentDataset, treatment: SimulationExperimentDataset,
              embedder: Embedder) -> dict[str, Any]:
    a, b = _texts(control), _texts(treatment)
    out: dict[str, Any] = {"method": f"cosine similarity of {embedder.name} embeddings"}
    if a and b:
        va, vb = embedder.embed(a), embedder.embed(b)
        ca, cb = va.mean(axis=0), vb.mean(axis=0)
        out.update(average_proximity=float((va @ vb.T).mean()),
                   centroid_similarity=float(ca @ cb / (np.linalg.norm(ca) * np.linalg.norm(cb))),
                   control_justifications=len(a), treatment_justifications=len(b))
    if control.justification_summary and treatment.justification_summary:
        va = embedder.embed([control.justification_summary, treatment.justification_summary])
        out["summary_similarity"] = float(va[0] @ va[1])
    if len(out) == 1:
        out["skipped"] = "no justifications (or summaries) on both sides to compare"
    return out


def _score(result: SimulationExperimentEmpiricalValidationResult) -> tuple[float | None, str]:
    parts: list[tuple[float, str]] = []
    if result.distribution_results is not None:
        parts.append((1 - result.distribution_results.overall.distance.tvd, "1 − TVD of the whole sample"))
    if result.ranking_results is not None:
        parts.append((1 - result.ranking_results.borda_tvd, "1 − TVD of the Borda shares"))
    tests = (result.statistical_results or {}).get("test_results", {})
    effects = [abs(t["effect_size"]["value"]) for by in tests.values() for t in by.values()
               if t.get("effect_size") and math.isfinite(t["effect_size"]["value"])]
    if effects:
        parts.append((float(np.mean([1 / (1 + e) for e in effects])), "mean 1/(1 + |effect size|) of key results"))
    semantic = result.semantic_results or {}
    if "centroid_similarity" in semantic:
        parts.append((min(max(semantic["centroid_similarity"], 0.0), 1.0), "justifications' centroid similarity"))
    if not parts:
        return None, "nothing to score"
    return round(float(np.mean([p for p, _ in parts])), 12), " and ".join(w for _, w in parts)


def _summary(result: SimulationExperimentEmpiricalValidationResult) -> str:
    out = []
    v = result.distribution_results
    if v is not None:
        o = v.overall
        base = ", ".join(f"{b.baseline.replace('_', '-')} {b.distance.tvd:.3f}" for b in o.baselines)
        out.append(f"Whole sample: the simulation's answers are {o.distance.tvd:.3f} from the real ones in total "
                   f"variation ({base}).")
        for name in ("uniform", "no_persona"):
            wins = sum(1 for c in v.cells if (b := c.baseline(name)) is not None and b.simulated_closer.get("tvd"))
            given = sum(1 for c in v.cells if c.baseline(name) is not None)
            if given:
                out.append(f"Closer than the {name.replace('_', '-')} baseline (TVD) in {wins} of {given} cells.")
        if not v.no_persona_given:
            out.append("No no-persona baseline was given: pass no_persona_baseline= to show it.")
    if result.ranking_results is not None:
        out.append(ranking_summary_line(result.ranking_results))
    stats = result.statistical_results or {}
    for by in stats.get("test_results", {}).values():
        significant = [m for m, t in by.items() if t.get("significant")]
        out.append(f"Key results: {len(significant)} of {len(by)} metrics differ significantly.")
    if stats.get("errors"):
        out.append(f"Not tested: {', '.join(stats['errors'])}.")
    similarity = (result.semantic_results or {}).get("centroid_similarity")
    if similarity is not None:
        out.append(f"Justifications: centroid similarity {similarity:.3f}.")
    out.append(f"Overall score {result.overall_score:.3f} ({result.score_basis})." if result.overall_score is not None
               else "No overall score: nothing comparable.")
    return " ".join(out)


class SimulationExperimentEmpiricalValidator:
    """Compares simulated answers with real ones (see the module docstring).

    Args:
        embedder: the embedder of the semantic comparison; default the offline Universal Sentence
            Encoder (loaded only when both sides have justifications).
    """

    def __init__(self, embedder: Embedder | None = None) -> None:
        self._embedder = embedder

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = USEEmbedder()
        return self._embedder

    def validate(self, control: SimulationExperimentDataset, treatment: SimulationExperimentDataset,
                 validation_types: Sequence[str] = VALIDATION_TYPES, statistical_test_type: str = "welch_t_test",
                 significance_level: float = 0.05, output_format: str = "values", *,
                 no_persona_baseline: NoPersonaBaseline | None = None
                 ) -> SimulationExperimentEmpiricalValidationResult | str:
        """Validate ``treatment`` (simulated) against ``control`` (real).

        Args:
            control: the real answers. treatment: the simulated answers.
            validation_types: ``"statistical"`` and/or ``"semantic"``.
            statistical_test_type: the test of ``key_results`` metrics (see ``StatisticalTester``) and of
                each option's ranks (``welch_t_test``, ``t_test`` or ``mann_whitney``; others: Welch).
            significance_level: alpha of every test.
            output_format: ``"values"`` (the result) or ``"report"`` (its Markdown).
            no_persona_baseline: the no-persona answer's shares (see :mod:`~tinytroupe.validation.comparison`).

        Raises:
            InvalidArgument: unknown validation types, test or output format; datasets that answer
                different questions or rank different options; one side with rankings and the other
                without; a baseline with unknown options or shares that do not sum to 1.
        """
        unknown = [t for t in validation_types if t not in VALIDATION_TYPES]
        if unknown or output_format not in ("values", "report") or statistical_test_type not in TEST_TYPES:
            raise InvalidArgument(f"validation_types must be among {VALIDATION_TYPES} (got {list(validation_types)}), "
                                  f"output_format 'values' or 'report' (got {output_format!r}), "
                                  f"statistical_test_type one of {TEST_TYPES} (got {statistical_test_type!r})")
        result = SimulationExperimentEmpiricalValidationResult(
            validation_type=", ".join(validation_types), control_name=control.name or "Control",
            treatment_name=treatment.name or "Treatment", control_source=control.source)
        if "statistical" in validation_types:
            if control.has_rankings() != treatment.has_rankings():
                ranked, other = (control, treatment) if control.has_rankings() else (treatment, control)
                raise InvalidArgument(f"dataset {ranked.name!r} holds rankings and {other.name!r} does not: both "
                                      f"datasets need rankings to be compared")
            if control.has_distribution() or treatment.has_distribution():
                result.distribution_results = compare_datasets(control, treatment, alpha=significance_level,
                                                               no_persona_baseline=no_persona_baseline)
            if control.has_rankings() or treatment.has_rankings():
                result.ranking_results = compare_rankings(control, treatment, alpha=significance_level,
                                                          test_type=statistical_test_type)
            result.statistical_results = _key_result_tests(control, treatment, statistical_test_type,
                                                           significance_level)
        if "semantic" in validation_types:
            result.semantic_results = _semantic(control, treatment, self.embedder) \
                if (_texts(control) and _texts(treatment)) or (control.justification_summary and
                                                             treatment.justification_summary) \
                else {"skipped": "no justifications (or summaries) on both sides to compare"}
        result.overall_score, result.score_basis = _score(result)
        result.summary = _summary(result)
        return result.to_markdown() if output_format == "report" else result

    @classmethod
    def read_empirical_data_from_csv(cls, file_path: str | Path, experimental_data_type: str = "single_value_per_agent",
                                     agent_id_column: str | None = None, agent_comments_column: str | None = None,
                                     agent_attributes_columns: Sequence[str] | None = None,
                                     value_column: str | None = None, dataset_name: str | None = None,
                                     dataset_description: str | None = None, encoding: str = "utf-8-sig", *,
                                     options: Sequence[str] | None = None, cell_column: str | None = None,
                                     ranking_columns: Sequence[str] | None = None,
                                     ordinal_ranking_column: str | None = None,
                                     ordinal_ranking_separator: str | None = None,
                                     ordinal_ranking_options: Sequence[str] | None = None,
                                     allow_partial_rankings: bool = False) -> SimulationExperimentDataset:
        """TinyTroupe's reader: one row per agent.

        ``"single_value_per_agent"``: ``value_column`` is the agent's answer. Without ``options`` the
        values must be numbers (``key_results``); with ``options`` (ours) they are the options chosen,
        read as raw answers with an optional ``cell_column``.

        ``"ordinal_ranking_per_agent"`` or ``"ranking_per_agent"``: the agent's ranking of the options
        (see :func:`~tinytroupe.validation.ranking_files.read_rankings_csv`), either one rank column per
        option (``ranking_columns``, or the columns named by ``options``) or one column of orders such
        as ``"B > A > C"`` (``ordinal_ranking_column`` or ``value_column``; separators ``>``, ``,``,
        ``;``, ``|``, ``-``, or ``ordinal_ranking_separator``). ``ordinal_ranking_options`` is
        TinyTroupe's name for ``options``; partial rankings only with ``allow_partial_rankings=True``.

        ``agent_attributes_columns`` are accepted for TinyTroupe's signature and not used (as there:
        inspection only).

        Raises:
            DataFileError: naming the file, row and field of the first bad value.
            InvalidArgument: no ``value_column`` (single values), or an unknown ``experimental_data_type``.
        """
        options = options if options is not None else ordinal_ranking_options
        name = dataset_name or Path(file_path).stem
        if experimental_data_type in RANKING_DATA_TYPES:
            column = ordinal_ranking_column or (value_column if ranking_columns is None else None)
            return read_rankings_csv(file_path, ranking_columns=ranking_columns, ranking_column=column,
                                     options=options, separator=ordinal_ranking_separator,
                                     allow_partial=allow_partial_rankings, agent_column=agent_id_column,
                                     justification_column=agent_comments_column, encoding=encoding, name=name,
                                     description=dataset_description)
        if experimental_data_type != "single_value_per_agent":
            raise InvalidArgument(f"experimental_data_type {experimental_data_type!r} is not supported; use "
                                  f"'single_value_per_agent' or one of {RANKING_DATA_TYPES}")
        if value_column is None:
            raise InvalidArgument("value_column is needed: the column holding each agent's answer")
        if options is None:
            return read_values_csv(file_path, value_column=value_column, agent_id_column=agent_id_column,
                                   agent_comments_column=agent_comments_column, dataset_name=dataset_name,
                                   dataset_description=dataset_description, encoding=encoding)
        return read_csv(file_path, options=options, answer_column=value_column, cell_column=cell_column,
                        agent_column=agent_id_column, justification_column=agent_comments_column, encoding=encoding,
                        name=name, description=dataset_description)

    @classmethod
    def read_empirical_data_from_dataframe(cls, df: pd.DataFrame,
                                           experimental_data_type: str = "single_value_per_agent",
                                           agent_id_column: str | None = None, agent_comments_column: str | None = None,
                                           value_column: str | None = None, dataset_name: str | None = None,
                                           dataset_description: str | None = None,
                                           **keywords: Any) -> SimulationExperimentDataset:
        """As :meth:`read_empirical_data_from_csv`, from a DataFrame (rows named by their index);
        ``keywords`` are that method's keyword-only arguments (``options``, ``ranking_columns``, ...)."""
        # through the one CSV reader, so a DataFrame is checked exactly as a file is
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / f"{dataset_name or 'dataframe'}.csv"
            df.to_csv(path, index=False)
            return cls.read_empirical_data_from_csv(path, experimental_data_type, agent_id_column,
                                                    agent_comments_column, None, value_column,
                                                    dataset_name or "dataframe", dataset_description, **keywords)


def validate_simulation_experiment_empirically(
        control_data: SimulationExperimentDataset | Mapping[str, Any],
        treatment_data: SimulationExperimentDataset | Mapping[str, Any],
        validation_types: Sequence[str] = VALIDATION_TYPES, statistical_test_type: str = "welch_t_test",
        significance_level: float = 0.05, output_format: str = "values", *,
        no_persona_baseline: NoPersonaBaseline | None = None,
        embedder: Embedder | None = None) -> SimulationExperimentEmpiricalValidationResult | str:
    """Validate simulated data (``treatment_data``) against real data (``control_data``): datasets or dicts
    of their fields. See :meth:`SimulationExperimentEmpiricalValidator.validate`."""
    validator = SimulationExperimentEmpiricalValidator(embedder=embedder)
    return validator.validate(_dataset(control_data, "control_data"), _dataset(treatment_data, "treatment_data"),
                              validation_types, statistical_test_type, significance_level, output_format,
                              no_persona_baseline=no_persona_baseline)


__all__ = ["VALIDATION_TYPES", "SimulationExperimentEmpiricalValidationResult",
           "SimulationExperimentEmpiricalValidator", "validate_simulation_experiment_empirically"]
