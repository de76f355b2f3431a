"""Empirical validation: datasets, CSV errors (file, row, field), distances against scipy, the two
baselines, TinyTroupe's key-results path, the semantic comparison and the reports."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial import distance

from tinytroupe.embeddings import HashingEmbedder
from tinytroupe.errors import DataFileError, InvalidArgument
from tinytroupe.validation import (
    SimulationExperimentDataset,
    SimulationExperimentEmpiricalValidationResult,
    SimulationExperimentEmpiricalValidator,
    compare_datasets,
    distances,
    read_csv,
    validate_simulation_experiment_empirically,
)

OPTIONS = ["Strongly disagree", "Disagree", "Neutral", "Agree", "Strongly agree"]


def _answers(counts: list[int], cell: str | None = None) -> tuple[list[str], list[str | None]]:
    answers = [o for o, k in zip(OPTIONS, counts, strict=True) for _ in range(k)]
    return answers, [cell] * len(answers)


def _dataset(by_cell: dict[str, list[int]], name: str) -> SimulationExperimentDataset:
    answers: list[str] = []
    cells: list[str | None] = []
    for cell, counts in by_cell.items():
        a, c = _answers(counts, cell)
        answers += a
        cells += c
    return SimulationExperimentDataset.from_responses(answers, options=OPTIONS, cells=cells, name=name)


REAL = {"young": [2, 4, 10, 20, 14], "old": [10, 15, 10, 10, 5]}
SIM = {"young": [0, 2, 8, 30, 10], "old": [5, 20, 15, 8, 2]}


# -- distances against scipy -----------------------------------------------------------------------

def test_distances_match_scipy_and_hand_values() -> None:
    p = np.array(REAL["young"]) / 50
    q = np.array(SIM["young"]) / 50
    d = distances(p, q, values=[1, 2, 3, 4, 5])
    assert d.tvd == pytest.approx(0.5 * np.abs(p - q).sum())
    assert d.wasserstein_1 == pytest.approx(stats.wasserstein_distance([1, 2, 3, 4, 5], [1, 2, 3, 4, 5], p, q))
    assert d.js_distance == pytest.approx(distance.jensenshannon(p, q, base=2))
    assert d.js_divergence == pytest.approx(d.js_distance ** 2)
    # hand values: W1 of all mass moved from option 1 to option 5 is 4 steps; disjoint supports: TVD 1, JS 1 bit
    far = distances([1, 0, 0, 0, 0], [0, 0, 0, 0, 1], values=[1, 2, 3, 4, 5])
    assert (far.tvd, far.wasserstein_1, far.js_divergence) == (1.0, 4.0, pytest.approx(1.0))
    assert distances([0.5, 0.5], [0.5, 0.5]).wasserstein_1 is None  # unordered: not computed


# -- per cell and overall, with baselines ------------------------------------------------------------

def test_cells_overall_tests_and_both_baselines() -> None:
    real, sim = _dataset(REAL, "survey"), _dataset(SIM, "simulation")
    no_persona = {None: {"Agree": 0.6, "Neutral": 0.4}, "young": {"Agree": 1.0}, "old": {"Disagree": 1.0}}
    v = compare_datasets(real, sim, no_persona_baseline=no_persona)
    assert [c.cell for c in v.cells] == ["young", "old"] and v.overall.cell is None
    young = v.cells[0]
    values = np.array([1, 2, 3, 4, 5], dtype=float)
    real_young = np.repeat(values, REAL["young"])
    sim_young = np.repeat(values, SIM["young"])
    assert young.real.mean == pytest.approx(real_young.mean()) and young.real.sd == pytest.approx(real_young.std())
    assert young.welch_t is not None and young.welch_t.p_value == pytest.approx(
        stats.ttest_ind(sim_young, real_young, equal_var=False).pvalue)
    assert young.ks is not None and young.ks.statistic == pytest.approx(stats.ks_2samp(sim_young, real_young).statistic)
    uniform = young.baseline("uniform")
    assert uniform is not None
    assert uniform.distance.tvd == pytest.approx(0.5 * np.abs(np.array(REAL["young"]) / 50 - 0.2).sum())
    assert uniform.distribution.mean == 3.0 and uniform.distribution.sd == pytest.approx(math.sqrt(2))
    assert uniform.simulated_closer["tvd"] == (young.distance.tvd < uniform.distance.tvd)
    assert set(uniform.simulated_closer) == {"tvd", "wasserstein_1", "js_divergence"}
    no_p = young.baseline("no_persona")
    assert no_p is not None and no_p.distribution.shares["Agree"] == 1.0
    overall_real = np.array(REAL["young"]) + np.array(REAL["old"])
    assert v.overall.real.n == 100 and v.overall.real.shares["Agree"] == pytest.approx(overall_real[3] / 100)


def test_flat_and_callable_no_persona_baselines() -> None:
    real, sim = _dataset(REAL, "survey"), _dataset(SIM, "simulation")
    flat = compare_datasets(real, sim, no_persona_baseline={"agree": 0.5, "Neutral": 0.5})
    assert flat.overall.baseline("no_persona") is not None  # the whole sample
    assert flat.cells[0].baseline("no_persona") is None and "not given" in flat.cells[0].notes[-1]
    asked: list[str | None] = []

    def ask(cell: str | None) -> dict[str, float]:
        asked.append(cell)
        if cell == "old":
            raise RuntimeError("model unavailable")
        return {"Agree": 1.0}

    called = compare_datasets(real, sim, no_persona_baseline=ask)
    assert asked == [None, "young", "old"]
    assert called.cells[1].baseline("no_persona") is None
    assert any("failed: RuntimeError: model unavailable" in n for n in called.cells[1].notes)
    assert called.cells[1].baseline("uniform") is not None  # the cell's other results are kept
    assert not compare_datasets(real, sim).no_persona_given


@pytest.mark.parametrize(("baseline", "match"), [
    ({"Maybe": 1.0}, "'Maybe' is not one of the options"),
    ({"Agree": 60, "Neutral": 40}, "sum to 100"),
    ({"Agree": -0.5, "Neutral": 1.5}, "at least 0"),
])
def test_bad_no_persona_baselines_are_errors(baseline: dict[str, float], match: str) -> None:
    with pytest.raises(InvalidArgument, match=match):
        compare_datasets(_dataset(REAL, "a"), _dataset(SIM, "b"), no_persona_baseline=baseline)


def test_shares_with_and_without_sample_sizes() -> None:
    real = SimulationExperimentDataset.from_shares(
        {"young": {"Agree": 0.5, "Neutral": 0.5}, "old": {"Disagree": 0.4, "Neutral": 0.6}},
        options=OPTIONS, n={"young": 10, "old": 30}, name="published")
    sim = SimulationExperimentDataset.from_shares({"young": {"Agree": 1.0}, "old": {"Neutral": 1.0}},
                                                  options=OPTIONS, name="simulated shares")
    assert real.cell_data(None) is not None and real.cell_data(None).n == 40  # type: ignore[union-attr]
    with pytest.raises(InvalidArgument, match="need a sample size"):
        compare_datasets(real, sim)  # no whole sample for the simulation: nothing is guessed
    sim = SimulationExperimentDataset.from_shares({None: {"Agree": 1.0}, "young": {"Agree": 1.0}}, options=OPTIONS)
    v = compare_datasets(real, sim)
    assert v.overall.welch_t is None and any("no sample size" in n for n in v.overall.notes)
    assert v.notes == ["cell 'old' has no simulated answers"]
    assert v.overall.real.counts_reconstructed


def test_datasets_for_different_questions_are_refused() -> None:
    other = SimulationExperimentDataset.from_responses(["Yes"], options=["Yes", "No"], name="other")
    with pytest.raises(InvalidArgument, match=r"'survey' and 'other' answer different questions"):
        compare_datasets(_dataset(REAL, "survey"), other)


def test_unordered_options_skip_ordered_metrics() -> None:
    real = SimulationExperimentDataset.from_responses(["red", "blue", "red"], options=["red", "blue"], ordered=False)
    sim = SimulationExperimentDataset.from_responses(["blue", "blue"], options=["red", "blue"], ordered=False)
    v = compare_datasets(real, sim)
    assert v.overall.distance.wasserstein_1 is None and v.overall.welch_t is None and v.overall.real.mean is None


# -- CSV files: every error names the file, the row and the field -------------------------------------

def _write(tmp_path: Path, text: str, name: str = "real.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(("text", "kwargs", "row", "field", "match"), [
    ("cell,answer\nyoung,Agree\nold,Perhaps\n", {"answer_column": "answer", "cell_column": "cell"}, 3, "answer",
     "'Perhaps' is not one of the options"),
    ("cell,answer\nyoung,Agree\n,Agree\n", {"answer_column": "answer", "cell_column": "cell"}, 3, "cell", "blank"),
    ("cell,answer\nyoung,\n", {"answer_column": "answer"}, 2, "answer", "skip_blank"),
    ("cell,reply\nyoung,Agree\n", {"answer_column": "answer"}, 1, "answer", "no such column"),
    ("option,share\nAgree,0.6\nNeutral,abc\n", {"option_column": "option", "share_column": "share"}, 3, "share",
     "not a number"),
    ("option,share\nAgree,0.6\nNeutral,0.6\n", {"option_column": "option", "share_column": "share"}, 2, "share",
     "sum to 1.2"),
    ("option,share\nAgree,60\nNeutral,40\n", {"option_column": "option", "share_column": "share"}, 2, "share",
     "percent=True"),
    ("option,share\nAgree,0.6\nAgree,0.4\n", {"option_column": "option", "share_column": "share"}, 3, "option",
     "appears twice"),
    ("option,share\nAgree,0.6\nYes,0.4\n", {"option_column": "option", "share_column": "share"}, 3, "option",
     "'Yes' is not one of the options"),
    ("option,share,n\nAgree,0.6,10\nNeutral,0.4,12\n",
     {"option_column": "option", "share_column": "share", "n_column": "n"}, 3, "n", "the same on every row"),
])
def test_csv_errors_name_file_row_and_field(tmp_path: Path, text: str, kwargs: dict[str, Any], row: int,
                                             field: str, match: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(DataFileError, match=match) as info:
        read_csv(path, options=OPTIONS, **kwargs)
    assert (info.value.path, info.value.row, info.value.field) == (str(path), row, field)
    assert str(info.value).startswith(f"{path}, row {row}, field '{field}': ")


def test_csv_file_level_errors(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="no such file") as info:
        read_csv(tmp_path / "missing.csv", options=OPTIONS, answer_column="a")
    assert info.value.path == str(tmp_path / "missing.csv")
    with pytest.raises(DataFileError, match="empty"):
        read_csv(_write(tmp_path, ""), options=OPTIONS, answer_column="a")
    with pytest.raises(InvalidArgument, match="either answer_column"):
        read_csv(_write(tmp_path, "a\nb\n"), options=OPTIONS, answer_column="a", share_column="b")


def test_csv_layouts_read_the_same_numbers(tmp_path: Path) -> None:
    raw = "cell,answer,why\n" + "".join(f"{c},{a},because {i}\n" for i, (a, c) in enumerate(
        zip(*_answers(REAL["young"], "young"), strict=True)))
    from_raw = read_csv(_write(tmp_path, raw, "raw.csv"), options=OPTIONS, answer_column="answer", cell_column="cell",
                        justification_column="why")
    counts = "cell,option,count\n" + "".join(f"young,{o},{k}\n" for o, k in zip(OPTIONS, REAL["young"], strict=True))
    from_counts = read_csv(_write(tmp_path, counts, "counts.csv"), options=OPTIONS, option_column="option",
                           count_column="count", cell_column="cell")
    shares = "option,pct\n" + "".join(f"{o},{k * 2}%\n" for o, k in zip(OPTIONS, REAL["young"], strict=True))
    from_shares = read_csv(_write(tmp_path, shares, "shares.csv"), options=OPTIONS, option_column="option",
                           share_column="pct", percent=True)
    a, b, c = from_raw.cell_data("young"), from_counts.cell_data("young"), from_shares.cell_data(None)
    assert a is not None and b is not None and c is not None
    assert a.shares.tolist() == b.shares.tolist() == pytest.approx(c.shares.tolist())
    assert (a.n, b.n, c.n) == (50, 50, None) and len(from_raw.agent_justifications) == 50
    assert from_raw.name == "raw"


# -- TinyTroupe's key-results path, reports, semantic ------------------------------------------------

def test_key_results_path_and_tinytroupe_reader(tmp_path: Path) -> None:
    path = _write(tmp_path, "agent,score,comment\nAna,4,liked it\nBo,3,\nCy,,skipped\nDi,4,fine\n")
    real = SimulationExperimentEmpiricalValidator.read_empirical_data_from_csv(
        path, agent_id_column="agent", value_column="score", agent_comments_column="comment", dataset_name="real")
    assert real.key_results == {"score": [4, 3, None, 4]} and real.agent_names == ["Ana", "Bo", "Cy", "Di"]
    sim = {"name": "sim", "key_results": {"score": [2, 1, 2, 1], "only_here": 3},
           "result_types": {"score": "per_agent"}}
    result = validate_simulation_experiment_empirically(real, sim, validation_types=["statistical"])
    assert isinstance(result, SimulationExperimentEmpiricalValidationResult)
    assert result.statistical_results is not None
    tested = result.statistical_results["test_results"]["sim"]["score"]
    assert tested["p_value"] == pytest.approx(stats.ttest_ind([2, 1, 2, 1], [4, 3, 4], equal_var=False).pvalue)
    assert result.overall_score == pytest.approx(1 / (1 + abs(tested["effect_size"]["value"])))
    with pytest.raises(DataFileError, match=r"row 2, field 'comment'"):
        SimulationExperimentEmpiricalValidator.read_empirical_data_from_csv(path, value_column="comment")
    df = pd.DataFrame({"answer": ["Agree", "Neutral"], "cell": ["x", "y"]})
    from_df = SimulationExperimentEmpiricalValidator.read_empirical_data_from_dataframe(
        df, value_column="answer", options=OPTIONS, cell_column="cell")
    assert from_df.cells() == ["x", "y"]


def test_reports_are_complete_and_self_contained(tmp_path: Path) -> None:
    real, sim = _dataset(REAL, "survey"), _dataset(SIM, "simulation")
    real = real.model_copy(update={"source": "Example survey (made up for this test)", "question": "Agree?"})
    result = SimulationExperimentEmpiricalValidator().validate(
        real, sim, ["statistical"], no_persona_baseline=lambda cell: {"Agree": 1.0})
    assert isinstance(result, SimulationExperimentEmpiricalValidationResult)
    md = result.to_markdown()
    for text in ("## Whole sample", "## Cell: young", "## Cell: old", "uniform baseline", "no-persona baseline",
                 "Welch t-test", "Kolmogorov-Smirnov", "JS divergence (bits)", "Example survey (made up"):
        assert text in md, text
    page = result.to_html()
    assert page.count("<svg") == 3 and "<script" not in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)  # nothing fetched
    assert not re.search(r"url\(", page)
    saved = result.save_report(tmp_path / "report.html")
    assert saved.read_text(encoding="utf-8") == page
    assert validate_simulation_experiment_empirically(real, sim, ["statistical"], output_format="report") \
        .startswith("# Simulation experiment empirical validation")


def test_semantic_comparison_uses_the_embedder() -> None:
    real = SimulationExperimentDataset(name="r", agent_justifications=["too expensive for me", "price is high"])
    sim = SimulationExperimentDataset(name="s", agent_justifications=["price is high", "too expensive"])
    far = SimulationExperimentDataset(name="f", agent_justifications=["love the colour", "nice design"])
    embedder = HashingEmbedder(dim=64)
    near = validate_simulation_experiment_empirically(real, sim, ["semantic"], embedder=embedder)
    away = validate_simulation_experiment_empirically(real, far, ["semantic"], embedder=embedder)
    assert isinstance(near, SimulationExperimentEmpiricalValidationResult)
    assert isinstance(away, SimulationExperimentEmpiricalValidationResult)
    assert near.semantic_results and away.semantic_results
    assert near.semantic_results["centroid_similarity"] > away.semantic_results["centroid_similarity"]
    none = validate_simulation_experiment_empirically({"name": "a"}, {"name": "b"}, ["semantic"], embedder=embedder)
    assert isinstance(none, SimulationExperimentEmpiricalValidationResult)
    assert none.semantic_results == {"skipped": "no justifications (or summaries) on both sides to compare"}
    assert none.overall_score is None
    with pytest.raises(InvalidArgument, match="validation_types"):
        validate_simulation_experiment_empirically(real, sim, ["vibes"])
