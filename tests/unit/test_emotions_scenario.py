"""Emotions in scenario files: the ``emotions:`` key, checked when loaded and applied when the world is
built, and the bundled example run end to end on the scripted backend."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from tinytroupe.agent.emotions import PAD, emotions_of
from tinytroupe.cli import app
from tinytroupe.environment.contagion import EmotionalContagion
from tinytroupe.errors import ScenarioError
from tinytroupe.scenario import build_agents, build_world
from tinytroupe.scenario.model import Scenario

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _scenario(emotions: dict[str, Any] | None) -> Scenario:
    data: dict[str, Any] = {"name": "t", "agents": [{"persona": {"name": "Ana"}}, {"persona": {"name": "Bo"}}],
                            "script": [{"run": 1}]}
    if emotions is not None:
        data["emotions"] = emotions
    return Scenario.model_validate(data)


def test_the_emotions_key_gives_components_baselines_and_contagion(tmp_path: Path) -> None:
    scenario = _scenario({"half_life_minutes": 15.0, "appraisal": "rule", "contagion": 0.25,
                          "baselines": {"Bo": {"pleasure": -0.3, "arousal": 0.2}}})
    agents = build_agents(scenario, tmp_path)
    world = build_world(scenario, agents, None)
    ana, bo = (emotions_of(a) for a in agents)
    assert ana is not None and bo is not None
    assert bo.bind(agents[1]).baseline == PAD(pleasure=-0.3, arousal=0.2)
    assert ana.settings_for(agents[0]).half_life_minutes == 15.0 and ana.settings_for(agents[0]).appraisal == "rule"
    contagion = [i for i in world._interventions if isinstance(i, EmotionalContagion)]
    assert [c.rate for c in contagion] == [0.25]


def test_without_the_key_or_disabled_nobody_gets_emotions(tmp_path: Path) -> None:
    for spec in (None, {"enabled": False, "contagion": 0.1}):
        scenario = _scenario(spec)
        agents = build_agents(scenario, tmp_path)
        world = build_world(scenario, agents, None)
        assert all(emotions_of(a) is None for a in agents) and not world._interventions


@pytest.mark.parametrize(("emotions", "where"), [
    ({"contagion": 0.9}, "contagion"), ({"baselines": {"Ana": {"pleasure": 2.0}}}, "pleasure"),
    ({"appraisal": "llm"}, "appraisal"), ({"half_lif_minutes": 3.0}, "half_lif_minutes"),
])
def test_a_bad_emotions_key_is_refused_with_its_field(emotions: dict[str, Any], where: str) -> None:
    with pytest.raises(ValidationError, match=where):
        _scenario(emotions)


def test_a_baseline_for_a_stranger_is_named(tmp_path: Path) -> None:
    scenario = _scenario({"baselines": {"Cy": {"pleasure": 0.1}}})
    with pytest.raises(ScenarioError, match="'Cy', not among the agents"):
        build_world(scenario, build_agents(scenario, tmp_path), None)


def test_the_example_scenario_runs_and_its_trace_charts_each_agent(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["run", str(EXAMPLES / "heated_meeting.yaml"), "-b", "scripted", "-q",
                                      "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in (tmp_path / "trace.jsonl").read_text().splitlines()]
    emotion = [e for e in events if e["kind"] == "emotion"]
    calls = [e for e in events if e["kind"] == "llm_call" and e["purpose"] == "action"]
    per_agent = {e["agent"] for e in emotion if e["cause"] == "appraisal"}
    assert per_agent == {"Lisa Brennan", "Oscar Villanueva", "Marcos Ferreira"}
    # one appraisal event per turn, and no call of its own
    assert sum(e["cause"] == "appraisal" for e in emotion) == len(calls)
    assert any(e["cause"] == "contagion" for e in emotion)
    assert all(-1 <= e[d] <= 1 for e in emotion for d in ("pleasure", "arousal", "dominance"))
