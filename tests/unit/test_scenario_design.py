"""Scenario files' population (demographics, factory), experiment and validation sections: the bad
inputs named by file, line and field before any call; the bundled examples run offline end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from scenario_support import error_of, write
from typer.testing import CliRunner

from tinytroupe.aio import run_sync
from tinytroupe.cli import app
from tinytroupe.config import load_settings, using_settings
from tinytroupe.factory import offline_backend
from tinytroupe.llm import LLMClient
from tinytroupe.llm.demo import demo_backend
from tinytroupe.scenario import load_scenario
from tinytroupe.scenario.design_run import arun_designed
from tinytroupe.scenario.estimate import estimate_scenario
from tinytroupe.scenario.experiment import split_agents

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
ANES = ROOT / "tinytroupe" / "examples" / "data" / "anes1996_self_placement.csv"
OPTIONS = ("[Extremely liberal, Liberal, Slightly liberal, Moderate, Slightly conservative, Conservative, "
           "Extremely conservative]")
HEAD = "name: Design\nseed: 3\n"
SCRIPT = "script:\n  - broadcast: Hello\n  - run: 1\n"
AGENTS = "agents:\n  - example: lisa\n  - example: oscar\n"
EXTRACT = ("extraction:\n  fields:\n    rating: {type: int}\n    buy: {type: str, choices: [buy, wait]}\n"
           "    why: {type: str}\n")


def line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def quiet() -> object:
    return using_settings(load_settings(None, simulation__communication_display=False))


# ----------------------------------------------------------------------------------- population

def test_population_from_demographics_missing_file(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + "population:\n  from_demographics: census.csv\n  size: 4\n" + SCRIPT)
    err = error_of(path)
    assert (err.line, err.field) == (line_of(path, "from_demographics"), "population.from_demographics")
    assert f"{path}:4: population.from_demographics: file 'census.csv' not found next to scenario.yaml" in str(err)


def test_population_from_demographics_bad_shares_names_both_files(tmp_path: Path) -> None:
    (tmp_path / "census.csv").write_text("sex,share\nfemale,0.5\nmale,-0.2\n")
    path = write(tmp_path, HEAD + "population:\n  from_demographics: census.csv\n  size: 4\n" + SCRIPT)
    err = error_of(path)
    assert err.field == "population.from_demographics" and err.line == 4
    assert "census.csv:3: share" in str(err) and "negative" in str(err)


@pytest.mark.parametrize(("body", "field", "needle", "words"), [
    ("population:\n  size: 3\n", "population", "population:", "needs 'names'"),
    ("population:\n  factory: {description: Nurses}\n", "population", "population:", "needs 'size'"),
    ("population:\n  factory: {description: Nurses, size: 2}\n  size: 2\n", "population.factory.size", "factory:",
     "give the size once"),
    ("population:\n  factory: {description: Nurses, size: 2}\n  names: [Ana]\n", "population.names", "names:",
     "does not apply"),
    ("population:\n  size: 2\n  names: [Ana]\n  seed: 4\n", "population.seed", "seed: 4", "generated population"),
    ("population:\n  factory: {description: '  ', size: 2}\n", "population.factory.description", "factory:",
     "must not be empty"),
])
def test_population_form_errors(tmp_path: Path, body: str, field: str, needle: str, words: str) -> None:
    path = write(tmp_path, HEAD + body + SCRIPT)
    err = error_of(path)
    assert err.field == field and err.line == line_of(path, needle), str(err)
    assert words in str(err) and str(path) in str(err)


def test_factory_population_runs_through_the_population_client(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + "population:\n  factory: {description: Nurses in Lisbon, size: 3}\n"
                 "  context: A staffing survey\n" + SCRIPT + "extraction:\n  fields:\n    rating: {type: int}\n")
    scenario = load_scenario(path)
    people = offline_backend()
    with quiet():
        run = run_sync(arun_designed(scenario, client=LLMClient(demo_backend(seed=3)), base_dir=tmp_path,
                                     population_client=LLMClient(people)))
    assert len(run.result.results) == 3 and all(r["status"] == "ok" for r in run.result.results.values())
    assert people.calls == 4  # the plan, then one call per person
    est = estimate_scenario(scenario, base_dir=tmp_path)
    assert next((x.purpose, x.calls) for x in est.by_purpose) == ("population", 4)


# ----------------------------------------------------------------------------------- experiment

@pytest.mark.parametrize(("body", "field", "needle", "words"), [
    ("experiment:\n  arms: {control: {}}\n", "experiment.arms", "arms:", "at least 2"),
    ("experiment:\n  arms: {a: {}, b: {}}\n  replications: 2\n  seeds: [1]\n", "experiment", "experiment:",
     "1 seeds for 2 replications"),
    ("experiment:\n  arms: {a: {}, b: {}}\n  control: c\n", "experiment", "experiment:", "not one of the arms"),
    ("experiment:\n  arms: {a: {}, b: {broadcst: hi}}\n", "experiment.arms.b.broadcst", "broadcst",
     "did you mean 'broadcast'"),
    ("experiment:\n  arms: {a: {}, b: {}}\n  randomisation: coin\n", "experiment.randomisation", "randomisation",
     "split"),
    ("experiment:\n  arms: {a: {}, b: {}}\n  compare: [why]\n", "experiment.compare.0", "compare", "free text"),
    ("experiment:\n  arms: {a: {}, b: {}}\n  compare: [nope]\n", "experiment.compare.0", "compare",
     "no extracted field"),
    ("experiment:\n  arms: {a: {}, b: {persona: {name: Zed}}}\n", "experiment.arms.b", "b: {persona",
     "cannot rename"),
])
def test_experiment_errors(tmp_path: Path, body: str, field: str, needle: str, words: str) -> None:
    path = write(tmp_path, HEAD + AGENTS + SCRIPT + EXTRACT + body)
    err = error_of(path)
    assert err.field == field and err.line == line_of(path, needle), str(err)
    assert words in str(err)


def test_experiment_needs_an_extraction(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + AGENTS + SCRIPT + "experiment:\n  arms: {a: {}, b: {}}\n")
    err = error_of(path)
    assert err.field == "experiment" and "add an 'extraction' section" in str(err)


def test_split_is_balanced_and_seeded() -> None:
    names = [f"p{i}" for i in range(7)]
    split = split_agents(names, ["a", "b", "c"], seed=9)
    assert sorted(list(split.values()).count(arm) for arm in "abc") == [2, 2, 3]
    assert split == split_agents(names, ["a", "b", "c"], seed=9)
    assert split != split_agents(names, ["a", "b", "c"], seed=10)


@pytest.mark.parametrize("randomisation", ["split", "worlds"])
def test_experiment_rows_per_arm_and_replication(tmp_path: Path, randomisation: str) -> None:
    path = write(tmp_path, HEAD + "population:\n  size: 6\n  names: [Ana, Rui, Eva]\n" + SCRIPT + EXTRACT
                 + f"experiment:\n  arms: {{control: {{}}, treatment: {{broadcast: It is free, persona: "
                   f"{{occupation: {{title: judge}}}}}}}}\n  randomisation: {randomisation}\n"
                   "  replications: 2\n  seeds: [4, 8]\n")
    scenario = load_scenario(path)
    with quiet():
        run = run_sync(arun_designed(scenario, client=LLMClient(demo_backend(seed=3)), base_dir=tmp_path))
    rows = run.result.results
    per_world = 6 if randomisation == "split" else 12
    assert len(rows) == 2 * per_world
    assert {(r["replication"], r["seed"]) for r in rows.values()} == {(1, 4), (2, 8)}
    assert run.experiment is not None
    sizes = run.experiment.arm_sizes
    assert sizes == ({"control": 6, "treatment": 6} if randomisation == "split" else {"control": 12, "treatment": 12})
    tested = {c.field: c for c in run.experiment.comparisons}
    assert set(tested) == {"rating", "buy"}
    assert tested["rating"].kind == "numeric" and (tested["rating"].test is None or
                                                   tested["rating"].test.test_type == "welch_t_test")
    assert len(tested["rating"].control_values) == sizes["control"]


# ----------------------------------------------------------------------------------- validation

def validation(data: str = "real.csv", extra: str = "") -> str:
    return (f"validation:\n  data: {data}\n  answer_column: answer\n  question: Agree or not?\n"
            f"  options: [Agree, Disagree]\n{extra}")


def test_validation_missing_data_file(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + AGENTS + SCRIPT + validation())
    err = error_of(path)
    assert err.field == "validation.data" and err.line == line_of(path, "data:")
    assert "file 'real.csv' not found next to scenario.yaml" in str(err)


def test_validation_option_not_in_data_names_row_and_column(tmp_path: Path) -> None:
    (tmp_path / "real.csv").write_text("answer\nAgree\nMaybe\n")
    path = write(tmp_path, HEAD + AGENTS + SCRIPT + validation())
    err = error_of(path)
    assert err.field == "validation.data" and err.line == line_of(path, "data:")
    assert "real.csv, row 3, field 'answer'" in str(err) and "Maybe" in str(err)


@pytest.mark.parametrize(("extra", "field", "words"), [
    ("  metrics: [tvd, kl]\n", "validation.metrics.1", "'tvd', 'wasserstein_1' or 'js_divergence'"),
    ("  option_column: answer\n", "validation", "name either answer_column"),
    ("  cell_column: party\n", "validation", "cell_field"),
    ("  mode: answers\n", "validation", "needs 'field'"),
    ("  mode: answers\n  field: nope\n", "validation.field", "no extracted field"),
    ("  mode: answers\n  field: buy\n", "validation.field", "choices equal to validation.options"),
])
def test_validation_errors(tmp_path: Path, extra: str, field: str, words: str) -> None:
    (tmp_path / "real.csv").write_text("answer\nAgree\nDisagree\n")
    path = write(tmp_path, HEAD + AGENTS + SCRIPT + EXTRACT + validation(extra=extra))
    err = error_of(path)
    assert err.field == field, str(err)
    assert words in str(err) and str(path) in str(err)


def test_validation_with_experiment_is_refused(tmp_path: Path) -> None:
    (tmp_path / "real.csv").write_text("answer\nAgree\nDisagree\n")
    path = write(tmp_path, HEAD + AGENTS + SCRIPT + EXTRACT + "experiment:\n  arms: {a: {}, b: {}}\n" + validation())
    assert error_of(path).field == "validation"


def test_validation_answers_mode_per_cell(tmp_path: Path) -> None:
    (tmp_path / "real.csv").write_text("answer,job\nAgree,nurse\nDisagree,nurse\nAgree,clerk\nAgree,clerk\n")
    path = write(tmp_path, HEAD + "population:\n  size: 4\n  names: [Ana, Rui]\n  sample:\n"
                 "    occupation.title: [nurse, clerk]\n" + SCRIPT
                 + "extraction:\n  fields:\n    choice: {type: str, choices: [Agree, Disagree]}\n"
                 + validation(extra="  cell_column: job\n  cell_field: occupation.title\n  mode: answers\n"
                                    "  field: choice\n  metrics: [tvd]\n"))
    scenario = load_scenario(path)
    with quiet():
        run = run_sync(arun_designed(scenario, client=LLMClient(demo_backend(seed=3)), base_dir=tmp_path))
    assert run.validation is not None and run.validation.metrics == ["tvd"]
    v = run.validation.result.distribution_results
    assert v is not None and v.overall.real.n == 4 and v.overall.simulated.n == 4
    assert {c.cell for c in v.cells} <= {"nurse", "clerk"}
    assert [b.baseline for b in v.overall.baselines] == ["uniform"]


# ------------------------------------------------------------------------------------- examples

def test_ab_test_example_runs_offline(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["run", str(EXAMPLES / "ab_test.yaml"), "-b", "scripted", "-q", "-o", str(out)],
                                env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "Arms compared" in result.output and "likelihood" in result.output and "would_buy" in result.output
    comparison = json.loads((out / "comparison.json").read_text())
    assert comparison["seeds"] == [5, 6] and comparison["arm_sizes"] == {"control": 16, "treatment": 16}
    rows = json.loads((out / "results.json").read_text())["results"]
    assert len(rows) == 32 and {r["arm"] for r in rows.values()} == {"control", "treatment"}


def test_anes_survey_example_runs_offline(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["run", str(EXAMPLES / "anes_survey.yaml"), "-b", "scripted", "-q", "-o",
                                      str(out)], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert "Validation against the real answers" in result.output and "Strong Democrat" in result.output
    report = (out / "validation.md").read_text()
    assert "no-persona baseline" in report and "Cell: Weak Republican" in report
    assert (out / "validation.html").read_text().startswith("<!DOCTYPE html>")
    saved = json.loads((out / "validation.json").read_text())
    overall = saved["result"]["distribution_results"]["overall"]
    assert overall["real"]["n"] == 944 and overall["simulated"]["n"] == 28
    assert {b["baseline"] for b in overall["baselines"]} == {"uniform", "no_persona"}
    assert ANES.is_file()


def test_metric_names_are_the_validation_metrics() -> None:
    from typing import get_args

    from tinytroupe.scenario.design import Metric
    from tinytroupe.validation.metrics import METRICS

    assert get_args(Metric) == METRICS
