"""Scenarios that steer with a story (``story`` script steps) and report their results at a glance:
``tinytroupe run`` prints the summary before the per-agent table, cuts the table to its first rows, and
the files keep every row."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from helpers import agent_of, turn
from typer.testing import CliRunner

from tinytroupe.cli import app
from tinytroupe.errors import ScenarioError
from tinytroupe.llm import LLMClient, LLMRequest, ScriptedBackend
from tinytroupe.scenario import arun_scenario, load_scenario
from tinytroupe.scenario.estimate import estimate_scenario
from tinytroupe.scenario.study import TABLE_ROWS

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
runner = CliRunner()

STORY = """
name: Steered
description: Test how people cope with a setback.
seed: 1
max_actions_per_turn: 1
agents: [{example: lisa}, {example: oscar}]
script:
  - broadcast: "Plan a picnic."
  - run: 1
  - story: {requirements: "Give them a setback.", number_of_words: 40}
  - run: 1
  - story: {number_of_words: 30, plot_twist: true}
  - run: 1
extraction:
  fields: {plan: {type: str}}
"""


def write(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


async def test_story_steps_start_then_continue_and_the_narrator_tells_everyone(tmp_path: Path) -> None:
    stories: list[LLMRequest] = []

    def respond(request: LLMRequest) -> Any:
        if request.schema_name == "StoryPassage":
            stories.append(request)
            return {"text": f"Beat {len(stories)}: rain starts."}
        if request.schema_name == "Extraction":
            return {"plan": "go inside"}
        return turn(("TALK", f"{agent_of(request)} talks"))

    scenario = load_scenario(write(tmp_path, STORY))
    world, result = await arun_scenario(scenario, client=LLMClient(ScriptedBackend(respond)))
    assert len(stories) == 2
    first_system, first_user = (m.content for m in stories[0].messages[:2])
    assert "opening" in first_system and "Test how people cope with a setback." in first_system
    assert "Give them a setback." in first_user and "about 40 words" in first_user
    assert "Lisa Brennan talks" in first_user  # the trajectory so far
    second_user = stories[1].messages[1].content
    assert "Beat 1: rain starts." in second_user and "plot twist" in second_user
    assert "Continue the story in an interesting way." in second_user
    heard = [(i.source, i.content) for i in world.agents[0].memory.items()]
    assert ("Narrator", "Beat 1: rain starts.") in heard and ("Narrator", "Beat 2: rain starts.") in heard
    assert result.story.startswith("## The story begins") and "Beat 2: rain starts." in result.story
    assert result.steps == 3 and result.failed == 0


def test_the_estimate_counts_story_calls_exactly_as_the_run_makes_them(tmp_path: Path) -> None:
    path = write(tmp_path, STORY.replace("name: Steered", "name: Steered\nbackend: {api_type: scripted}"))
    est = estimate_scenario(path)
    assert {line.purpose: line.calls for line in est.by_purpose} == {"action": 6, "story": 2, "extraction": 2}
    result = runner.invoke(app, ["run", str(path), "-q", "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "out" / "results.json").read_text())["cost"]["calls"] == est.calls


def test_bad_story_steps_are_refused_with_their_line(tmp_path: Path) -> None:
    bad = STORY.replace("number_of_words: 40", "number_of_words: 0")
    with pytest.raises(ScenarioError) as err:
        load_scenario(write(tmp_path, bad))
    assert ":10:" in str(err.value) and "number_of_words" in str(err.value)
    two = STORY.replace("  - story: {number_of_words: 30, plot_twist: true}",
                        "  - {story: {number_of_words: 30}, run: 1}")
    with pytest.raises(ScenarioError, match="exactly one of"):
        load_scenario(write(tmp_path, two))


def test_segments_must_be_sampled_population_fields(tmp_path: Path) -> None:
    survey = (EXAMPLES / "survey.yaml").read_text(encoding="utf-8")
    assert load_scenario(EXAMPLES / "survey.yaml").extraction.segment_by == ["age"]  # type: ignore[union-attr]
    bad = survey.replace("segment_by: [age]", "segment_by: [age, religion]")
    with pytest.raises(ScenarioError) as err:
        load_scenario(write(tmp_path, bad))
    line = next(i for i, text in enumerate(bad.splitlines(), 1) if "segment_by" in text)
    assert f":{line}:" in str(err.value) and "'religion' is not drawn in population.sample" in str(err.value)


def test_run_shows_the_population_at_a_glance_then_the_first_rows(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", str(EXAMPLES / "survey.yaml"), "-b", "scripted", "-q", "-o", str(out)])
    assert result.exit_code == 0, result.output
    text = result.output
    assert text.index("Results at a glance") < text.index("24 agents · 24 answered · 0 failed") < \
        text.index("By age") < text.index(f"(first {TABLE_ROWS} of 24)")
    assert "(4 more in the file results.csv)" in text
    data = json.loads((out / "results.json").read_text())
    rows = list(csv.DictReader((out / "results.csv").open(encoding="utf-8")))
    assert len(rows) == len(data["results"]) == 24  # the files keep every row
    assert set(data["segments"]) == set(data["results"]) and all("age" in v for v in data["segments"].values())
    shown = sum(1 for name in data["results"] if f"│ {name} " in text)
    assert shown == TABLE_ROWS
    summary = (out / "summary.md").read_text(encoding="utf-8")
    assert "## Results at a glance · Remote work survey" in summary and "By age:" in summary
    assert sum(1 for line in summary.splitlines() if line.startswith("| ") and " | ok | " in line) == 24
    prefs = [r["preference"] for r in rows]
    for choice in ("remote", "office", "hybrid"):
        share = prefs.count(choice) / 24
        assert f"| {choice} | {prefs.count(choice)} | {share:.1%} |" in summary
    assert "summary.md" in text


def test_a_small_group_shows_its_table_without_the_summary(tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", str(EXAMPLES / "focus_group.yaml"), "-b", "scripted", "-q",
                                 "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "Results at a glance" not in result.output and "more in the file" not in result.output
    assert "Lisa Brennan" in result.output
    assert "rating" in (tmp_path / "summary.md").read_text(encoding="utf-8")  # the file has it all the same


def test_the_steered_story_example_runs_offline(tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", str(EXAMPLES / "steered_story.yaml"), "-b", "scripted", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert result.output.count("Narrator (to everyone):") == 2
    story = json.loads((tmp_path / "results.json").read_text())["story"]
    assert story.count("## The story") == 2
