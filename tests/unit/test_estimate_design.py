"""--estimate counts what a study design adds: experiment runs, validation questions and baselines,
action quality checks, brief personas; checked against the calls a scripted run really makes."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from textwrap import dedent

from typer.testing import CliRunner

from tinytroupe.cli import app
from tinytroupe.config import load_settings
from tinytroupe.scenario.estimate import estimate_scenario

ROOT = Path(__file__).resolve().parents[2]
HEAD = "name: Design\nseed: 3\nbackend: {api_type: scripted}\nmax_actions_per_turn: 1\n"
AGENTS = "agents:\n  - example: lisa\n  - example: oscar\n"
SCRIPT = "script:\n  - broadcast: Hello\n  - run: 2\n"
EXTRACT = "extraction:\n  fields:\n    rating: {type: int}\n"


def write(folder: Path, text: str) -> Path:
    path = folder / "study.yaml"
    path.write_text(dedent(text), encoding="utf-8")
    return path


def calls_of(path: Path) -> dict[str, int]:
    return {x.purpose: x.calls for x in estimate_scenario(path).by_purpose}


def traced_calls(out: Path) -> Counter[str]:
    events = (json.loads(line) for line in (out / "trace.jsonl").read_text().splitlines())
    return Counter(e.get("purpose") for e in events if e["kind"] == "llm_call")


def test_an_experiment_multiplies_the_runs_it_makes(tmp_path: Path) -> None:
    base = HEAD + AGENTS + SCRIPT + EXTRACT
    plain = calls_of(write(tmp_path, base))
    worlds = calls_of(write(tmp_path, base + "experiment:\n  arms: {a: {}, b: {}, c: {}}\n  randomisation: worlds\n"
                                             "  replications: 2\n"))
    split = calls_of(write(tmp_path, base + "experiment:\n  arms: {a: {}, b: {}}\n  replications: 2\n"))
    assert plain == {"action": 4, "extraction": 2}
    assert worlds == {"action": 24, "extraction": 12}  # 3 worlds of both agents, twice
    assert split == {"action": 8, "extraction": 4}  # the agents split between arms in one world, twice


def test_the_estimate_of_a_validation_matches_the_calls_a_scripted_run_makes(tmp_path: Path) -> None:
    out = tmp_path / "out"
    example = ROOT / "examples" / "anes_survey.yaml"
    settings = load_settings(None, openai__api_type="scripted")
    est = {x.purpose: x.calls for x in estimate_scenario(example, settings=settings).by_purpose}
    result = CliRunner().invoke(app, ["run", str(example), "-b", "scripted", "-q", "-o", str(out)])
    assert result.exit_code == 0, result.output
    made = traced_calls(out)
    assert est["action"] == made["action"] == 28
    # the scripted backend has no log-probabilities: each answer is 10 sampled ones
    assert est["distribution"] + est["baseline"] == made["distribution"] == 360
    assert est["baseline"] == 80  # the whole population and each of its 7 parties, 10 samples each


def test_with_log_probabilities_each_answer_is_one_call(tmp_path: Path) -> None:
    example = ROOT / "examples" / "anes_survey.yaml"
    settings = load_settings(None, openai__api_type="local")
    est = {x.purpose: x.calls for x in estimate_scenario(example, settings=settings).by_purpose}
    assert (est["distribution"], est["baseline"]) == (28, 8)


def test_quality_checks_add_one_judge_call_per_enabled_check_per_turn(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + AGENTS + SCRIPT)
    settings = load_settings(None, openai__api_type="scripted", actiongenerator__enable_quality_checks=True,
                             actiongenerator__enable_quality_check_for_fluency=True)
    est = {x.purpose: x.calls for x in estimate_scenario(path, settings=settings).by_purpose}
    assert est["quality_check"] == 2 * 4  # persona adherence and fluency, 4 turns
    assert "quality_check" not in calls_of(path)


def test_brief_personas_cost_fewer_tokens(tmp_path: Path) -> None:
    shares = tmp_path / "shares.csv"
    shares.write_text("sex,share\nfemale,0.5\nmale,0.5\n")
    pop = "population:\n  from_demographics: shares.csv\n  size: 10\n"
    paid = load_settings(None, openai__api_type="openai", openai__model="gpt-4.1-mini")
    full = estimate_scenario(write(tmp_path, HEAD + pop + SCRIPT), settings=paid).by_purpose[0]
    brief = estimate_scenario(write(tmp_path, HEAD + pop + "  detail: brief\n" + SCRIPT), settings=paid).by_purpose[0]
    assert full.purpose == brief.purpose == "population" and full.calls == brief.calls == 10
    # offline, the population model writes the people: no model call
    assert "population" not in calls_of(write(tmp_path, HEAD + pop + SCRIPT))
    assert brief.prompt_tokens < full.prompt_tokens / 4 and brief.completion_tokens < full.completion_tokens / 4


def test_an_activity_schedule_is_replayed_for_each_replications_seed(tmp_path: Path) -> None:
    # Half the agents' turns are drawn away, with other draws in each replication: the estimate replays
    # the schedule (routines, seeded draws, an event that wakes its attendees) and matches the run exactly.
    path = write(tmp_path, HEAD + dedent("""\
        world: {initial_datetime: 2025-01-06T08:00:00, minutes_per_step: 60}
        agents: [{example: lisa}, {example: oscar}, {example: marcos}]
        schedule:
          routine: {hours: ["09:00-13:00"]}
          activity: 0.5
          events: [{title: Review, start: 2025-01-06T12:00:00, attendees: [Oscar Villanueva]}]
        script: [{broadcast: Hello}, {run: 6}]
        extraction: {question: How was it?, fields: {rating: {type: int}}}
        experiment: {arms: {a: {}, b: {}}, replications: 3}
        """))
    est = calls_of(path)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["run", str(path), "-b", "scripted", "-q", "-o", str(out)])
    assert result.exit_code == 0, result.output
    made = traced_calls(out)
    assert est == dict(made) and est["extraction"] == 9
    assert 9 < est["action"] < 3 * (3 * 6 + 3)  # some idle turns, the question's step everyone's
