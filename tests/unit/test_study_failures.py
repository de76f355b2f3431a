"""Failed turns and failed extractions: kept answers, no invented ones, rows that say so (issue 9, defects 1, 3)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from helpers import DONE_TURN, agent_of, is_action_request, turn
from typer.testing import CliRunner

from tinytroupe.agent import TinyPerson
from tinytroupe.cli import EXIT_SOME_FAILED, app
from tinytroupe.errors import ExtractionError, LLMOutputError, LLMTransportError
from tinytroupe.events import EventBus
from tinytroupe.extraction import ResultsExtractor
from tinytroupe.llm import LLMClient, LLMRequest, ScriptedBackend
from tinytroupe.scenario import Scenario, arun_scenario

SURVEY = {
    "name": "Survey",
    "seed": 1,
    "population": {"size": 6, "names": ["Ana", "Ben", "Cai", "Dee", "Eli", "Fay"]},
    "script": [{"broadcast": "Remote or office?"}, {"run": 1}],
    "extraction": {"question": "Which do you prefer, and why?",
                   "fields": {"preference": {"type": "str"}, "reason": {"type": "str"}}},
}


def _extracted_agent(request: LLMRequest) -> str:
    """Whose record an extraction request holds (its first user message names them)."""
    text = next(m.content for m in request.messages if m.role == "user")
    return text.split("Interactions of ", 1)[1].split("\n", 1)[0].strip()


def responder(*, turn_fails: set[str] = frozenset(), extraction_fails: set[str] = frozenset()) -> Any:
    def respond(request: LLMRequest) -> Any:
        if is_action_request(request):
            name = agent_of(request)
            if name in turn_fails:
                return LLMTransportError(f"no answer for {name}", retryable=False)
            return turn(("TALK", f"{name} prefers remote", "Moderator"))
        name = _extracted_agent(request)
        if name in extraction_fails:
            return LLMTransportError("the server's answer was cut off in transit", retryable=True)
        return {"preference": "remote", "reason": f"{name}: quiet"}
    return respond


async def _run(**fails: set[str]) -> Any:
    client = LLMClient(ScriptedBackend(responder(**fails)), bus=EventBus())
    return await arun_scenario(Scenario.model_validate(SURVEY), client=client)


async def test_one_failed_extraction_keeps_every_other_answer() -> None:
    _, result = await _run(extraction_fails={"Cai"})
    assert set(result.results) == {"Ana", "Ben", "Cai", "Dee", "Eli", "Fay"}
    assert result.failed == 1
    assert result.results["Cai"]["status"] == "failed"
    assert "LLMTransportError" in result.results["Cai"]["error"]
    assert "preference" not in result.results["Cai"]
    ok = {n: r for n, r in result.results.items() if n != "Cai"}
    assert all(r["status"] == "ok" and r["reason"] == f"{n}: quiet" for n, r in ok.items())


async def test_an_agent_whose_turn_failed_gets_no_invented_answer() -> None:
    _, result = await _run(turn_fails={"Ben", "Eli"})
    assert result.failed == 2
    for name in ("Ben", "Eli"):
        row = result.results[name]
        assert row == {"status": "failed", "error": row["error"]}
        assert "its last turn failed" in row["error"]
    assert sum(r["status"] == "ok" for r in result.results.values()) == 4


async def test_when_every_turn_fails_no_result_is_invented() -> None:
    names = {"Ana", "Ben", "Cai", "Dee", "Eli", "Fay"}
    _, result = await _run(turn_fails=names)
    assert result.failed == 6 and all(r["status"] == "failed" for r in result.results.values())


def _client_with_extraction_failures(fail: set[str]) -> tuple[LLMClient, list[TinyPerson]]:
    def respond(request: LLMRequest) -> Any:
        name = _extracted_agent(request)
        if name in fail:
            return '{"preference": "remote", "reason": "Mo'  # cut off every time
        return {"preference": "office", "reason": f"{name} likes people"}
    client = LLMClient(ScriptedBackend(respond), max_reasks=1)
    agents = []
    for name in ("Ana", "Ben", "Cai"):
        agent = TinyPerson(name, client=client)
        agent.listen("Remote or office?", source="Moderator")
        agents.append(agent)
    return client, agents


def test_extract_results_from_agents_raises_with_the_answers_it_got(tmp_path: Path) -> None:
    client, agents = _client_with_extraction_failures({"Ben"})
    extractor = ResultsExtractor("preference", fields=["preference", "reason"], client=client)
    with pytest.raises(ExtractionError) as info:
        extractor.extract_results_from_agents(agents)
    err = info.value
    assert set(err.results) == {"Ana", "Cai"} and set(err.failures) == {"Ben"}
    assert "LLMOutputError" in err.failures["Ben"]
    assert set(extractor.agent_extraction) == {"Ana", "Cai"}
    df = extractor.to_dataframe()
    assert list(df.columns[:3]) == ["agent", "status", "error"]
    assert df.set_index("agent").loc["Ben", "status"] == "failed"
    assert pd.isna(df.set_index("agent").loc["Ben", "reason"])
    extractor.save_as_csv(tmp_path / "r.csv")
    rows = {r["agent"]: r for r in csv.DictReader((tmp_path / "r.csv").open(encoding="utf-8"))}
    assert rows["Ben"]["status"] == "failed" and rows["Ben"]["reason"] == ""
    assert rows["Ana"]["status"] == "ok" and rows["Ana"]["error"] == ""
    extractor.save_as_json(tmp_path / "r.json")
    assert "Ben" in json.loads((tmp_path / "r.json").read_text())["agent_failures"]


def test_a_later_success_replaces_an_earlier_failure() -> None:
    client, agents = _client_with_extraction_failures({"Ben"})
    extractor = ResultsExtractor("preference", fields=["preference", "reason"], client=client)
    with pytest.raises(LLMOutputError):
        extractor.extract_results_from_agent(agents[1])
    assert "Ben" in extractor.agent_failures
    extractor.mark_failed("Ana", "TimeoutError: no answer")
    assert extractor.result_rows()["Ana"] == {"status": "failed", "error": "TimeoutError: no answer"}
    extractor.extract_results_from_agent(agents[0])
    assert extractor.result_rows()["Ana"]["status"] == "ok" and "Ana" not in extractor.agent_failures


def test_cli_exit_code_and_outputs_when_some_agents_failed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tinytroupe.scenario.study as study

    scenario = tmp_path / "s.yaml"
    scenario.write_text(json.dumps({**SURVEY, "backend": {"api_type": "scripted"}}), encoding="utf-8")

    def fake_client(settings: Any, bus: EventBus, **options: Any) -> LLMClient:
        return LLMClient(ScriptedBackend(responder(turn_fails={"Dee"}, extraction_fails={"Ana"})), bus=bus)

    monkeypatch.setattr(study, "study_client", fake_client)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["run", str(scenario), "-q", "-o", str(out)])
    assert result.exit_code == EXIT_SOME_FAILED, result.output
    assert "2 of 6 agents have no result" in " ".join(result.output.split())
    assert "Traceback" not in result.output
    data = json.loads((out / "results.json").read_text())
    assert data["failed"] == 2 and len(data["results"]) == 6
    rows = {r["agent"]: r for r in csv.DictReader((out / "results.csv").open(encoding="utf-8"))}
    assert {n for n, r in rows.items() if r["status"] == "failed"} == {"Ana", "Dee"}
    assert all(r["error"] for r in rows.values() if r["status"] == "failed")


def test_cli_exits_zero_when_everyone_answered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tinytroupe.scenario.study as study

    scenario = tmp_path / "s.yaml"
    scenario.write_text(json.dumps({**SURVEY, "backend": {"api_type": "scripted"}}), encoding="utf-8")
    monkeypatch.setattr(study, "study_client", lambda s, bus, **_: LLMClient(ScriptedBackend(responder()), bus=bus))
    result = CliRunner().invoke(app, ["run", str(scenario), "-q", "-o", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output


__all__ = ["DONE_TURN"]
