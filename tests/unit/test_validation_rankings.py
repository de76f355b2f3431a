"""Ranking data in empirical validation: reading both CSV layouts, every bad input (file, row, field),
mean ranks / Borda / first choice against hand-computed values, the comparison against scipy, and an
end-to-end validation with its report."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from tinytroupe.errors import DataFileError, InvalidArgument
from tinytroupe.validation import (
    SimulationExperimentDataset,
    SimulationExperimentEmpiricalValidator,
    compare_rankings,
    read_rankings_csv,
    validate_simulation_experiment_empirically,
)
from tinytroupe.validation.ranking_comparison import holm
from tinytroupe.validation.rankings import rank_matrix, summarise

OPTIONS = ["A", "B", "C"]
# five respondents; ranks by hand: A 1,1,2,2,1  B 2,3,1,3,2  C 3,2,3,1,3
REAL_ORDERS = [["A", "B", "C"], ["A", "C", "B"], ["B", "A", "C"], ["C", "A", "B"], ["A", "B", "C"]]
SIM_ORDERS = [["B", "A", "C"], ["B", "C", "A"], ["A", "B", "C"], ["B", "A", "C"], ["C", "B", "A"],
              ["B", "A", "C"]]


def _write(tmp_path: Path, text: str, name: str = "ranks.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _orders(ds: SimulationExperimentDataset) -> list[list[str]]:
    return [r.order for r in ds.rankings]


# -- reading -----------------------------------------------------------------------------------------

def test_rank_columns_layout_reads_orders_agents_and_comments(tmp_path: Path) -> None:
    path = _write(tmp_path, "who,A,B,C,why\nann,1,2,3,A is best\nbob,2,3,1,\ncid,2,1,3,B wins\n")
    ds = read_rankings_csv(path, ranking_columns=OPTIONS, agent_column="who", justification_column="why")
    assert ds.options == OPTIONS and ds.name == "ranks"
    assert _orders(ds) == [["A", "B", "C"], ["C", "A", "B"], ["B", "A", "C"]]
    assert [r.agent for r in ds.rankings] == ["ann", "bob", "cid"]
    assert ds.agent_justifications == ["A is best", "B wins"]
    assert ds.has_rankings() and not ds.has_distribution()


def test_rank_columns_labelled_by_options_and_columns_named_by_options(tmp_path: Path) -> None:
    path = _write(tmp_path, "rank_a,rank_b\n2,1\n1.0,2\n")
    ds = read_rankings_csv(path, ranking_columns=["rank_a", "rank_b"], options=["Alpha", "Beta"])
    assert ds.options == ["Alpha", "Beta"] and _orders(ds) == [["Beta", "Alpha"], ["Alpha", "Beta"]]
    path = _write(tmp_path, "Alpha,Beta\n2,1\n", "named.csv")
    assert _orders(read_rankings_csv(path, options=["Alpha", "Beta"])) == [["Beta", "Alpha"]]


@pytest.mark.parametrize("sep", [">", ",", ";", "|", "-"])
def test_order_column_accepts_each_separator_and_discovers_options(tmp_path: Path, sep: str) -> None:
    rows = "\n".join(f'"{f" {sep} ".join(o)}"' for o in REAL_ORDERS)
    ds = read_rankings_csv(_write(tmp_path, f"ranking\n{rows}\n"), ranking_column="ranking")
    assert ds.options == OPTIONS  # from the first row, sorted
    assert _orders(ds) == REAL_ORDERS


def test_order_column_matches_given_options_ignoring_case_and_keeps_dashed_names(tmp_path: Path) -> None:
    path = _write(tmp_path, "ranking\nTABLET > e-reader > Phone\nPhone>Tablet>E-reader\n")
    ds = read_rankings_csv(path, ranking_column="ranking", options=["E-reader", "Tablet", "Phone"])
    assert _orders(ds) == [["Tablet", "E-reader", "Phone"], ["Phone", "Tablet", "E-reader"]]
    path = _write(tmp_path, "ranking\nA/B/C\n", "slash.csv")
    assert _orders(read_rankings_csv(path, ranking_column="ranking", separator="/")) == [["A", "B", "C"]]


def test_validator_readers_csv_and_dataframe_give_the_same_rankings(tmp_path: Path) -> None:
    path = _write(tmp_path, "Agent,Ranking,Comments\na1,B-A-C,B first\na2,A-C-B,A first\n")
    read = SimulationExperimentEmpiricalValidator.read_empirical_data_from_csv
    ds = read(path, experimental_data_type="ordinal_ranking_per_agent", agent_id_column="Agent",
              value_column="Ranking", agent_comments_column="Comments", dataset_name="Real ranking")
    assert ds.name == "Real ranking" and _orders(ds) == [["B", "A", "C"], ["A", "C", "B"]]
    tinytroupe_style = read(path, "ordinal_ranking_per_agent", ordinal_ranking_column="Ranking",
                            ordinal_ranking_separator="-", ordinal_ranking_options=OPTIONS)
    assert _orders(tinytroupe_style) == _orders(ds)
    df = pd.DataFrame({"name": ["x", "y"], "A": [1, 3], "B": [2, 1], "C": [3, 2]})
    from_df = SimulationExperimentEmpiricalValidator.read_empirical_data_from_dataframe(
        df, "ranking_per_agent", agent_id_column="name", ranking_columns=OPTIONS)
    assert _orders(from_df) == [["A", "B", "C"], ["B", "C", "A"]]
    assert [r.agent for r in from_df.rankings] == ["x", "y"]


# -- bad input: file, row and field --------------------------------------------------------------------

@pytest.mark.parametrize(("text", "row", "field", "words"), [
    ("A,B,C\n1,2,3\n1,1,3\n", 3, "B", "share rank 1"),
    ("A,B,C\n1,2,4\n", 2, "C", "outside 1..3"),
    ("A,B,C\n1,3,\n", 2, "C", "no rank for 'C'"),
    ("A,B,C\n1,x,3\n", 2, "B", "is not a rank"),
    ("A,B,C\n1,2.5,3\n", 2, "B", "is not a rank"),
])
def test_rank_columns_refuse_ties_gaps_and_missing(tmp_path: Path, text: str, row: int, field: str,
                                                   words: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(DataFileError, match=words) as info:
        read_rankings_csv(path, ranking_columns=OPTIONS)
    assert (info.value.path, info.value.row, info.value.field) == (str(path), row, field)
    assert str(info.value).startswith(f"{path}, row {row}, field '{field}'")


def test_partial_rank_columns_still_refuse_gaps(tmp_path: Path) -> None:
    path = _write(tmp_path, "A,B,C\n1,,3\n")
    with pytest.raises(DataFileError, match=r"skip \[2\]") as info:
        read_rankings_csv(path, ranking_columns=OPTIONS, allow_partial=True)
    assert (info.value.row, info.value.field) == (2, "C")


@pytest.mark.parametrize(("text", "options", "row", "words"), [
    ("r\nA>B>C\nA>B>D\n", None, 3, "'D' is not one of the options"),
    ("r\nA>B>C\nA>B>D\n", OPTIONS, 3, "'D' is not one of the options"),
    ("r\nA>B>C\nA>A>C\n", None, 3, "ranked twice"),
    ("r\nA>B>C\nA>B\n", None, 3, "leaves out 'C'"),
    ("r\nA>B>C\n\n", None, None, None),  # a wholly blank line is no row: the file reads fine
    ("r,x\nA>B>C,1\n,2\n", None, 3, "blank"),
    ("r\nA\n", None, 2, "two or more distinct options"),
])
def test_order_column_refuses_unknown_repeated_and_missing_options(
        tmp_path: Path, text: str, options: list[str] | None, row: int | None, words: str | None) -> None:
    path = _write(tmp_path, text)
    if words is None:
        assert len(read_rankings_csv(path, ranking_column="r", options=options).rankings) == 1
        return
    with pytest.raises(DataFileError, match=words) as info:
        read_rankings_csv(path, ranking_column="r", options=options)
    assert (info.value.path, info.value.row, info.value.field) == (str(path), row, "r")


def test_empty_file_header_only_and_missing_column_are_refused(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="empty") as info:
        read_rankings_csv(_write(tmp_path, ""), ranking_column="r")
    assert info.value.row == 1
    with pytest.raises(DataFileError, match="no rows"):
        read_rankings_csv(_write(tmp_path, "A,B\n", "head.csv"), ranking_columns=["A", "B"])
    with pytest.raises(DataFileError, match="no such column") as info:
        read_rankings_csv(_write(tmp_path, "A,B\n1,2\n", "cols.csv"), ranking_columns=["A", "B", "C"])
    assert (info.value.row, info.value.field) == (1, "C")
    with pytest.raises(InvalidArgument, match="either ranking_columns"):
        read_rankings_csv(_write(tmp_path, "A,B\n1,2\n", "both.csv"), ranking_columns=["A"], ranking_column="B")
    with pytest.raises(InvalidArgument, match="not supported"):
        SimulationExperimentEmpiricalValidator.read_empirical_data_from_csv(_write(tmp_path, "A\n1\n", "t.csv"),
                                                                           "pairwise", value_column="A")


# -- partial rankings ----------------------------------------------------------------------------------

def test_partial_rankings_share_the_unused_ranks_and_points(tmp_path: Path) -> None:
    path = _write(tmp_path, "r\nB\nC>A\n")
    ds = read_rankings_csv(path, ranking_column="r", options=OPTIONS, allow_partial=True)
    ranks = rank_matrix(_orders(ds), OPTIONS)
    assert ranks.tolist() == [[2.5, 1.0, 2.5], [2.0, 3.0, 1.0]]
    s = summarise(ranks, OPTIONS)
    assert s.partial == 1  # "C>A" of 3 options is complete: B can only be last
    assert s.borda_points == {"A": 0.5 + 1.0, "B": 2.0 + 0.0, "C": 0.5 + 2.0}
    assert sum(s.borda_share.values()) == pytest.approx(1.0)
    with pytest.raises(InvalidArgument, match="need options"):
        read_rankings_csv(path, ranking_column="r", allow_partial=True)


# -- statistics by hand --------------------------------------------------------------------------------

def test_mean_rank_borda_and_first_choice_match_hand_values() -> None:
    s = summarise(rank_matrix(REAL_ORDERS, OPTIONS), OPTIONS)
    assert s.n == 5 and s.partial == 0
    assert s.mean_rank == pytest.approx({"A": 1.4, "B": 2.2, "C": 2.4})
    assert s.sd_rank["A"] == pytest.approx(np.sqrt(0.3))  # deviations -.4,-.4,.6,.6,-.4 over n - 1 = 4
    assert s.borda_points == {"A": 8.0, "B": 4.0, "C": 3.0}
    assert s.borda_share == pytest.approx({"A": 8 / 15, "B": 4 / 15, "C": 3 / 15})
    assert s.first_choice_share == pytest.approx({"A": 0.6, "B": 0.2, "C": 0.2})


def test_holm_adjustment_by_hand() -> None:
    assert holm([0.01, 0.04, 0.03, float("nan")])[:3] == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, 0.9]) == [1.0, 1.0]


# -- the comparison against scipy ----------------------------------------------------------------------

@pytest.mark.parametrize("test_type", ["welch_t_test", "mann_whitney"])
def test_comparison_matches_scipy_on_the_same_ranks(test_type: str) -> None:
    real = SimulationExperimentDataset.from_rankings(REAL_ORDERS, options=OPTIONS, name="real")
    sim = SimulationExperimentDataset.from_rankings(SIM_ORDERS, options=OPTIONS, name="sim")
    v = compare_rankings(real, sim, test_type=test_type)
    a, b = rank_matrix(REAL_ORDERS, OPTIONS), rank_matrix(SIM_ORDERS, OPTIONS)
    for j, t in enumerate(v.option_tests):
        expected = stats.ttest_ind(b[:, j], a[:, j], equal_var=False) if test_type == "welch_t_test" \
            else stats.mannwhitneyu(b[:, j], a[:, j], alternative="two-sided")
        assert t.option == OPTIONS[j]
        assert t.test.statistic == pytest.approx(expected.statistic)
        assert t.test.p_value == pytest.approx(expected.pvalue)
    assert [t.p_holm for t in v.option_tests] == pytest.approx(holm([t.test.p_value for t in v.option_tests]))
    rho = stats.spearmanr(a.mean(axis=0), b.mean(axis=0))
    assert v.spearman_rho == pytest.approx(rho.statistic)
    assert v.spearman_p == pytest.approx(rho.pvalue)
    first_real, first_sim = (a == 1).mean(axis=0), (b == 1).mean(axis=0)
    assert v.first_choice_tvd == pytest.approx(0.5 * np.abs(first_real - first_sim).sum())
    assert v.uniform_first_choice_tvd == pytest.approx(0.5 * np.abs(first_real - 1 / 3).sum())
    borda_real, borda_sim = (3 - a).sum(axis=0) / 15, (3 - b).sum(axis=0) / 18
    assert v.borda_tvd == pytest.approx(0.5 * np.abs(borda_real - borda_sim).sum())


def test_comparison_refuses_different_options_and_one_sided_rankings() -> None:
    real = SimulationExperimentDataset.from_rankings(REAL_ORDERS, options=OPTIONS, name="real")
    other = SimulationExperimentDataset.from_rankings([["A", "D"]], options=["A", "D"], name="other")
    with pytest.raises(InvalidArgument, match=r"rank different options.*only in 'real': \['B', 'C'\]"):
        compare_rankings(real, other)
    answers = SimulationExperimentDataset.from_responses(["A", "B"], options=OPTIONS, name="answers")
    with pytest.raises(InvalidArgument, match="both datasets need rankings"):
        validate_simulation_experiment_empirically(real, answers, ["statistical"])
    reordered = SimulationExperimentDataset.from_rankings(SIM_ORDERS, options=["C", "B", "A"], name="sim")
    assert compare_rankings(real, reordered).options == OPTIONS  # the same options in another order


# -- building from agents' rankings ---------------------------------------------------------------------

def test_from_rankings_takes_lists_and_texts_and_names_bad_positions() -> None:
    ds = SimulationExperimentDataset.from_rankings([["b", "a", "c"], "C, B, A"], options=OPTIONS,
                                                   agents=["x", "y"], justifications=["why", None], name="sim")
    assert _orders(ds) == [["B", "A", "C"], ["C", "B", "A"]] and ds.agent_justifications == ["why"]
    with pytest.raises(InvalidArgument, match=r"rankings\[1\] = \['A', 'Z', 'B'\]: 'Z' is not one of"):
        SimulationExperimentDataset.from_rankings([OPTIONS, ["A", "Z", "B"]], options=OPTIONS)
    with pytest.raises(InvalidArgument, match="agents has 1 entries for 2 rankings"):
        SimulationExperimentDataset.from_rankings([OPTIONS, OPTIONS], options=OPTIONS, agents=["x"])
    with pytest.raises(InvalidArgument, match=r"rankings\[0\].*leaves out"):
        SimulationExperimentDataset.build(options=OPTIONS, rankings=[{"order": ["A", "B"]}])
    with pytest.raises(InvalidArgument, match="not both"):
        SimulationExperimentDataset.build(options=OPTIONS, rankings=[{"order": OPTIONS}],
                                          responses=[{"option": "A"}])


# -- end to end ---------------------------------------------------------------------------------------------

def test_validate_end_to_end_from_csv_with_report(tmp_path: Path) -> None:
    real_csv = "\n".join(["id,ranking", *(f"r{i},{'>'.join(o)}" for i, o in enumerate(REAL_ORDERS))])
    real = SimulationExperimentEmpiricalValidator.read_empirical_data_from_csv(
        _write(tmp_path, real_csv + "\n"), "ordinal_ranking_per_agent", agent_id_column="id",
        value_column="ranking", dataset_name="Real survey")
    sim = SimulationExperimentDataset.from_rankings(SIM_ORDERS, options=OPTIONS, name="Simulation")
    result = validate_simulation_experiment_empirically(real, sim, ["statistical"])
    assert not isinstance(result, str) and result.ranking_results is not None
    v = result.ranking_results
    assert result.overall_score == pytest.approx(1 - v.borda_tvd)
    assert result.score_basis == "1 − TVD of the Borda shares"
    assert "Rankings: Spearman's rho" in result.summary
    md = result.to_markdown()
    assert "## Rankings" in md and "| A | 1.40 (0.55) |" in md and "Borda share" in md
    assert "**Options ranked:** A; B; C" in md
    page = result.to_html()
    assert "<h2>Rankings</h2>" in page and "Mean rank (1 = best)" in page and "<svg" in page
    report = SimulationExperimentEmpiricalValidator().validate(real, sim, ["statistical"], output_format="report")
    assert isinstance(report, str) and "## Rankings" in report
    assert result.model_validate_json(result.model_dump_json()).ranking_results == v


def test_rankings_extracted_from_agents_become_a_dataset() -> None:
    from tinytroupe import ResultsExtractor, TinyPerson
    from tinytroupe.llm import LLMClient, ScriptedBackend

    preferred = {"Ann": ["B", "A", "C"], "Bob": ["c", "b", "a"], "Cid": ["B", "C", "A"]}

    def model(request: object) -> dict[str, object]:
        text = request.messages[-1].content  # type: ignore[attr-defined]
        return {"ranking": next(order for who, order in preferred.items() if f"I am {who}" in text)}

    client = LLMClient(ScriptedBackend(model))
    people = []
    for who in preferred:
        person = TinyPerson(who, client=client)
        person.listen(f"I am {who}. Rank the devices A, B and C.", source="Interviewer")
        people.append(person)
    extractor = ResultsExtractor("The person's ranking of the devices, best first.", client=client,
                                 fields={"ranking": {"type": "list[str]"}})
    rows = extractor.extract_results_from_agents(people)
    sim = SimulationExperimentDataset.from_rankings([r["ranking"] for r in rows], options=OPTIONS,
                                                    agents=[p.name for p in people], name="simulation")
    assert _orders(sim) == [["B", "A", "C"], ["C", "B", "A"], ["B", "C", "A"]]
    real = SimulationExperimentDataset.from_rankings(REAL_ORDERS, options=OPTIONS, name="real")
    v = compare_rankings(real, sim)
    assert v.simulated.first_choice_share == pytest.approx({"A": 0, "B": 2 / 3, "C": 1 / 3})
