"""Sampling plans, target shares (CSV and data), quota draws and calibration reports of populations."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from tinytroupe.errors import InvalidArgument, ScenarioError
from tinytroupe.factory import (
    JointDistribution,
    SamplingPlan,
    calibration_report,
    draw_characteristics,
    load_plan,
    read_shares_csv,
)
from tinytroupe.factory.sampling import quota_counts

# -- plans --------------------------------------------------------------------------------------------


def test_tinytroupe_shapes_of_dimensions_are_read() -> None:
    plan = SamplingPlan.model_validate({"sampling_space_description": "Adults", "dimensions": [
        {"name": "age", "range": [18, 80]},
        {"name": "income", "range": [0.5, 9.5]},
        {"name": "diet", "values": ["omnivore", "vegan"]},
        {"name": "city", "values": {"Porto": 3, "Braga": 1}}]})
    assert plan.description == "Adults"
    age, income, diet, city = plan.dimensions
    assert (age.kind, age.range.integer, income.range.integer) == ("numeric", True, False)  # type: ignore[union-attr]
    assert diet.shares() == {"omnivore": 0.5, "vegan": 0.5}
    assert city.shares() == {"Porto": 0.75, "Braga": 0.25}


@pytest.mark.parametrize(("dimension", "message"), [
    ({"name": "x", "values": ["a"], "range": [1, 2]}, "either 'values'"),
    ({"name": "x"}, "either 'values'"),
    ({"name": "x", "values": ["a", "a"]}, "lists these values twice: a"),
    ({"name": "x", "values": {"a": 0, "b": 0}}, "weights sum to 0"),
    ({"name": "x", "values": {"a": -1}}, "greater than or equal to 0"),
    ({"name": "x", "range": [5, 1]}, "above its max"),
    ({"name": "x", "range": [0.2, 0.8]}, "integer: false"),  # a float range with integer=True holds no whole number
    ({"name": " ", "values": ["a"]}, "cannot be blank"),
])
def test_bad_dimensions_are_refused_with_the_reason(dimension: dict[str, object], message: str) -> None:
    if dimension.get("range") == [0.2, 0.8]:
        dimension = {**dimension, "range": {"min": 0.2, "max": 0.8, "integer": True}}
    with pytest.raises(ValidationError, match=message):
        SamplingPlan.model_validate({"dimensions": [dimension]})


def test_each_dimension_writes_a_persona_path_that_can_hold_its_values() -> None:
    plan = SamplingPlan.model_validate({"dimensions": [
        {"name": "Sex", "values": ["female", "male"]}, {"name": "Age", "range": [18, 90]},
        {"name": "Age group", "values": ["18-34", "35+"]}, {"name": "Gender", "values": ["w", "m"]},
        {"name": "Occupation", "values": ["nurse"]},
        {"name": "hobby", "values": ["chess"], "field": "preferences.hobby"}]})
    assert plan.fields() == {"Sex": "gender", "Age": "age", "Age group": "characteristics.age_group",
                             "Gender": "characteristics.gender", "Occupation": "occupation.title",
                             "hobby": "preferences.hobby"}
    with pytest.raises(ValidationError, match="'age', which cannot hold its values: age: expected an integer"):
        SamplingPlan.model_validate({"dimensions": [{"name": "band", "values": ["young"], "field": "age"}]})
    with pytest.raises(ValidationError, match="'age', which cannot hold its values: age: expected less than or equal"):
        SamplingPlan.model_validate({"dimensions": [{"name": "age", "range": [18, 250]}]})
    with pytest.raises(ValidationError, match="cannot set the name"):
        SamplingPlan.model_validate({"dimensions": [{"name": "n", "values": ["Ana"], "field": "name"}]})
    with pytest.raises(ValidationError, match="several dimensions write the persona path"):
        SamplingPlan.model_validate({"dimensions": [{"name": "a", "values": ["x"], "field": "style"},
                                                    {"name": "b", "values": ["y"], "field": "style"}]})
    with pytest.raises(ValidationError, match="defined twice: a"):
        SamplingPlan.model_validate({"dimensions": [{"name": "a", "values": ["x"]}, {"name": "a", "values": ["y"]}]})


def test_marginals_must_sum_to_one_per_dimension() -> None:
    plan = SamplingPlan.from_marginals({"sex": {"female": 0.5004, "male": 0.5}})  # within the tolerance
    assert plan.targets()["sex"]["female"] == pytest.approx(0.5004 / 1.0004)
    with pytest.raises(InvalidArgument, match=r"sex: the shares sum to 1\.1, not 1"):
        SamplingPlan.from_marginals({"sex": {"female": 0.6, "male": 0.5}})
    with pytest.raises(InvalidArgument, match="divide percentages by 100"):
        SamplingPlan.from_marginals({"sex": {"female": 51, "male": 49}})
    with pytest.raises(InvalidArgument, match=r"sex\.male: a share cannot be negative"):
        SamplingPlan.from_marginals({"sex": {"female": 1.1, "male": -0.1}})


def test_merging_keeps_the_first_plans_dimensions() -> None:
    census = SamplingPlan.from_marginals({"sex": {"female": 0.5, "male": 0.5}})
    proposed = SamplingPlan.model_validate({"dimensions": [
        {"name": "SEX", "values": ["f", "m"]}, {"name": "gender", "values": ["w", "m"]},
        {"name": "diet", "values": ["vegan"]}]})
    assert [d.name for d in census.merged(proposed).dimensions] == ["sex", "diet"]


# -- drawing ------------------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(shares=st.lists(st.floats(0.0, 10.0), min_size=1, max_size=30).filter(lambda s: sum(s) > 0.01),
       n=st.integers(0, 500), seed=st.integers(0, 2**32))
def test_quotas_are_within_one_of_their_expected_count(shares: list[float], n: int, seed: int) -> None:
    counts = quota_counts(shares, n, np.random.default_rng(seed))
    expected = n * np.asarray(shares) / sum(shares)
    assert counts.sum() == n
    assert (counts >= np.floor(expected - 1e-9)).all() and (counts <= np.ceil(expected + 1e-9)).all()


def test_quotas_of_small_batches_are_unbiased() -> None:
    rng = np.random.default_rng(0)
    firsts = sum(int(quota_counts([0.7, 0.2, 0.1], 1, rng)[0]) for _ in range(4000))
    assert abs(firsts / 4000 - 0.7) < 3 * (0.7 * 0.3 / 4000) ** 0.5


def test_draws_repeat_with_the_seed_and_spread_numeric_ranges() -> None:
    plan = SamplingPlan.model_validate({"dimensions": [{"name": "age", "range": [0, 99]},
                                                       {"name": "score", "range": [0.0, 1.0]},
                                                       {"name": "diet", "values": {"a": 1, "b": 3}}]})
    first = draw_characteristics(plan, 100, np.random.default_rng(11))
    assert first == draw_characteristics(plan, 100, np.random.default_rng(11))
    assert first != draw_characteristics(plan, 100, np.random.default_rng(12))
    assert sorted(p["age"] for p in first) == list(range(100))  # one value in each slice of the range
    assert all(isinstance(p["age"], int) and isinstance(p["score"], float) for p in first)
    assert sum(p["diet"] == "a" for p in first) == 25
    assert sorted(int(p["score"] * 10) for p in first) == sorted(list(range(10)) * 10)


def _synthetic_cells(seed: int) -> pd.DataFrame:
    dims = {"sex": ["female", "male"], "age": ["18-24", "25-34", "35-49", "50-64", "65+"],
            "education": ["primary", "secondary", "tertiary"]}
    rng = np.random.default_rng(seed)
    weights = rng.random(30) ** 2
    frame = pd.DataFrame(list(itertools.product(*dims.values())), columns=list(dims))
    frame["share"] = weights / weights.sum()
    return frame


def test_a_population_drawn_from_known_cells_matches_them() -> None:
    frame = _synthetic_cells(3)
    plan = SamplingPlan.from_joint(JointDistribution.from_dataframe(frame))
    people = draw_characteristics(plan, 1000, np.random.default_rng(5))
    counts = pd.DataFrame(people).groupby(["sex", "age", "education"]).size()
    for row in frame.itertuples(index=False):
        expected = 1000 * row.share
        got = counts.get((row.sex, row.age, row.education), 0)
        assert abs(got - expected) < 1.0, (row, got)
    report = calibration_report(people, plan)
    assert report.population_size == 1000
    assert report.max_marginal_error <= 0.02
    assert report.joint_total_variation is not None and report.joint_total_variation <= 30 / 2000
    assert set(report.marginal_errors) == {"sex", "age", "education"}
    assert len(report.to_dataframe()) == 10


def test_the_report_measures_errors_exactly() -> None:
    frame = pd.DataFrame({"sex": ["f", "f", "m"], "age": ["young", "old", "young"], "share": [0.5, 0.25, 0.25]})
    plan = SamplingPlan.from_joint(JointDistribution.from_dataframe(frame))
    people = [{"sex": "f", "age": "young"}] * 3 + [{"sex": "m", "age": "old"}]
    report = calibration_report(people, plan)
    # every marginal is right while the cells are not: f/young .75 vs .5, f/old 0 vs .25, m/young 0 vs .25,
    # m/old .25 vs 0
    assert report.marginal_errors == {"sex": 0.0, "age": 0.0}
    assert report.joint_total_variation == pytest.approx(0.5)
    rows = {(r.dimension, r.value): (r.target, r.observed) for r in report.rows}
    assert rows[("age", "old")] == (0.25, 0.25) and rows[("sex", "m")] == (0.25, 0.25)
    with pytest.raises(InvalidArgument, match="no 'age'"):
        calibration_report([{"sex": "f"}], plan)


# -- shares files -------------------------------------------------------------------------------------


def _csv(tmp_path: Path, text: str, name: str = "cells.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_joint_csv_and_a_marginal_csv_are_read(tmp_path: Path) -> None:
    joint = read_shares_csv(_csv(tmp_path, "sex,age,share\nfemale,young,0.3\nfemale,old,0.2\n\nmale,young,0.5\n"))
    assert isinstance(joint, JointDistribution)
    assert joint.marginals() == {"sex": {"female": 0.5, "male": 0.5}, "age": {"young": 0.8, "old": 0.2}}
    marginals = read_shares_csv(_csv(tmp_path, "dimension,value,share\nsex,f,0.51\nsex,m,0.49\nage,young,1\n", "m.csv"))
    assert marginals == {"sex": {"f": 0.51, "m": 0.49}, "age": {"young": 1.0}}
    plan = load_plan(tmp_path / "m.csv")
    assert plan.targets()["sex"] == {"f": 0.51, "m": 0.49}


@pytest.mark.parametrize(("text", "line", "field", "message"), [
    ("sex,share\nfemale,0.5\nmale,0.6\n", None, "share", "the shares sum to 1.1, not 1"),
    ("sex,share\nfemale,51\nmale,49\n", None, "share", "divide percentages by 100"),
    ("sex,share\nfemale,1.2\nmale,-0.2\n", 3, "share", "a share cannot be negative, got -0.2"),
    ("sex,share\nfemale,half\nmale,0.5\n", 2, "share", "a share is a number, got 'half'"),
    ("sex,share\nfemale,50%\nmale,0.5\n", 2, "share", "write 12% as 0.12"),
    ("sex,share\nfemale,0.5\nfemale,0.5\n", 3, "sex", "duplicate cell sex=female: it is already on line 2"),
    ("sex,age,share\nfemale,old,1\nmale,0\n", 3, "(line)", "expected 3 fields"),
    ("sex,share\n,1\n", 2, "sex", "empty value"),
    ("sex,proportion\nfemale,1\n", 1, "share", "rename 'proportion' to 'share'"),
    ("sex,sex,share\nf,f,1\n", 1, "sex", "this column name appears twice"),
    ("share\n1\n", 1, "share", "no dimension columns"),
    ("\n\n", 1, None, "the file is empty"),
    ("dimension,value,share\nsex,f,0.5\nsex,m,0.6\n", 2, "share", "sex: the shares sum to 1.1"),
    ("dimension,value,share\nsex,f,0.5\nsex,f,0.5\n", 3, "value", "sex=f is already on line 2"),
])
def test_bad_shares_files_name_the_file_line_and_field(tmp_path: Path, text: str, line: int | None,
                                                       field: str | None, message: str) -> None:
    path = _csv(tmp_path, text)
    with pytest.raises(ScenarioError) as info:
        read_shares_csv(path)
    assert (info.value.path, info.value.line, info.value.field) == (str(path), line, field)
    assert message in str(info.value) and str(path) in str(info.value)


def test_domains_catch_unknown_and_missing_columns_and_values(tmp_path: Path) -> None:
    domains = {"sex": ["female", "male"], "age": ["young", "old"]}
    path = _csv(tmp_path, "sex,region,share\nfemale,north,0.5\nmale,south,0.5\n")
    with pytest.raises(ScenarioError) as info:
        read_shares_csv(path, domains=domains)
    text = str(info.value)
    assert f"{path}:1: region: unknown column 'region'; the dimensions are: sex, age" in text
    assert f"{path}:1: age: missing column 'age'" in text
    path = _csv(tmp_path, "sex,age,share\nfemal,young,0.5\nmale,old,0.5\n")
    with pytest.raises(ScenarioError, match=r"cells.csv:2: sex: unknown value 'femal' .*did you mean 'female'\?"):
        read_shares_csv(path, domains=domains)


def test_a_wider_tolerance_accepts_a_rounded_table(tmp_path: Path) -> None:
    path = _csv(tmp_path, "sex,share\nfemale,0.50\nmale,0.49\n")
    with pytest.raises(ScenarioError, match=r"0\.99"):
        read_shares_csv(path)
    joint = read_shares_csv(path, tolerance=0.02)
    assert isinstance(joint, JointDistribution) and joint.shares()[("female",)] == pytest.approx(0.5 / 0.99)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="no such file") as info:
        read_shares_csv(tmp_path / "nope.csv")
    assert info.value.path == str(tmp_path / "nope.csv")


def test_plan_files_name_the_line_of_a_bad_field(tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text("description: Adults\ndimensions:\n  - name: diet\n    values: [a, b]\n"
                    "  - name: age\n    range: [80, 18]\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_plan(path)
    assert (info.value.line, info.value.field) == (6, "dimensions.1.range")
    assert "above its max" in str(info.value)
    path.write_text("marginals:\n  sex: {f: 0.7, m: 0.7}\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"plan.yaml:2: marginals.sex: the shares sum to 1.4") as info:
        load_plan(path)
    path.write_text("dimensions:\n  - name: diet\n    valuez: [a]\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"plan.yaml:3: dimensions.0.valuez: Extra inputs"):
        load_plan(path)
    with pytest.raises(ScenarioError, match=r"plan\.txt: a sampling plan is a \.yaml"):
        load_plan(tmp_path / "plan.txt")


def test_a_dataframe_with_a_bad_row_is_named_by_its_position() -> None:
    frame = pd.DataFrame({"sex": ["f", "m"], "share": [0.5, float("nan")]})
    with pytest.raises(InvalidArgument, match="row 1: a share must be a finite number"):
        JointDistribution.from_dataframe(frame)
    with pytest.raises(InvalidArgument, match="no 'share' column"):
        JointDistribution.from_dataframe(frame.rename(columns={"share": "p"}))
